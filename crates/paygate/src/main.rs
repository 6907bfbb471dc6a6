//! The `paygate` command. Everything lives in the library; this only parses
//! arguments and reports a failure as a non-zero exit.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    paygate::cli::main()
}

/// mimalloc instead of glibc's malloc. A request allocates and frees many
/// small objects across threads (the HTTP workers build a payin, the writer
/// thread frees it), and glibc spent about a quarter of the gateway's CPU in
/// `malloc`, `free`, `malloc_consolidate` and `unlink_chunk` in a profile
/// of payin-create. With mimalloc the gateway's CPU per payin fell from
/// 81–83 µs to 54–55 µs (`bench/cpu-per-process.sh --backend postgres
/// --scenarios payin-create --duration 30`, two alternating pairs); see
/// bench/README.md. The load generator keeps the system allocator, so its
/// figures stay comparable with earlier runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
