//! The `paygate` command. Everything lives in the library; this only parses
//! arguments and reports a failure as a non-zero exit.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    paygate::cli::main()
}
