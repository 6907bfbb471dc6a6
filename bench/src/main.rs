//! paygate-bench: starts the release `paygate` binary on a fresh database per
//! backend, runs the chosen scenarios against that one server (so each reads
//! as a ratio to `healthz` on the same process), and prints a markdown table.
//! See bench/README.md.

#![forbid(unsafe_code)]

/// `println!` that ignores a closed stdout (`| head`): losing the rest of the
/// report is fine, panicking with the gateway still to be stopped is not.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod api;
mod cli;
mod exchange;
mod load;
mod money;
mod reads;
mod report;
mod rollups_ab;
mod scenarios;
mod server;
mod statistics;
mod stats;
mod upstream;
mod webhooks;
mod writer_stats;

use clap::Parser;
use cli::{Args, Backend};
use report::Row;
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = Args::parse();
    // Each scenario creates its merchants by fixed e-mail; a repeat on the
    // same server would collide (and would not measure anything new).
    let mut seen = Vec::new();
    args.scenarios.retain(|s| {
        if seen.contains(s) {
            false
        } else {
            seen.push(*s);
            true
        }
    });
    // On Ctrl-C the run future is dropped, and with it the gateway (killed on
    // drop) and its database (temp dir removed, PostgreSQL database dropped).
    let outcome = tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("paygate-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(false) when some scenario failed or a check did not hold; the table is
/// printed either way so partial results are not lost.
async fn run(args: Args) -> anyhow::Result<bool> {
    let bin = server::locate_binary(args.paygate_bin.clone())?;
    let duration = Duration::from_secs(args.duration);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    say!(
        "paygate-bench: {} | {} connections | {} s measured after {} s warm-up | {cores} cores shared by server and load",
        bin.display(),
        args.connections,
        args.duration,
        load::WARMUP.as_secs()
    );
    let mut rows = Vec::new();
    for backend in args.backend.backends() {
        rows.extend(run_backend(&args, &bin, backend, duration).await);
    }
    report::fill_ratios(&mut rows);
    say!("\n{}", report::table(&rows, &args));
    Ok(rows.iter().all(|r| r.ok()))
}

async fn run_backend(args: &Args, bin: &std::path::Path, backend: Backend, duration: Duration) -> Vec<Row> {
    let fail_all =
        |msg: String| args.scenarios.iter().map(|s| Row::failed(backend, *s, msg.clone())).collect::<Vec<_>>();
    let gateway = match server::Gateway::start(bin, backend).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("\n{}: cannot start the gateway: {e:#}", backend.name());
            return fail_all(format!("gateway did not start: {e:#}"));
        }
    };
    say!("\n## {} — {} on {}", backend.name(), gateway.base, gateway.database_label());
    let ctx = scenarios::Ctx {
        base: &gateway.base,
        admin_token: &gateway.admin_token,
        connections: args.connections,
        duration,
        merchants: args.merchants,
        database_url: gateway.database_url(),
        stats_payins: args.stats_payins,
        stats_runs: args.stats_runs,
        webhook_rate: args.webhook_rate,
        bin,
        backend,
    };
    let mut rows: Vec<Row> = Vec::new();
    for &scenario in &args.scenarios {
        say!("\n### {} / {}", backend.name(), scenario.name());
        let row = match scenarios::run(scenario, &ctx).await {
            Ok(outcome) => Row::done(backend, scenario, outcome),
            Err(e) => Row::failed(backend, scenario, format!("{}: {e:#}", scenario.name())),
        };
        // The first healthz of this backend, which may be this very row.
        let healthz_rps = rows.iter().chain(std::iter::once(&row)).find_map(Row::healthz_rps);
        report::print_row(&row, healthz_rps);
        rows.push(row);
    }
    if let Err(e) = gateway.stop().await {
        eprintln!("{}: {e:#}", backend.name());
    }
    rows
}
