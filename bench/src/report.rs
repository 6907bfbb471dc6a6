//! Printing: a block per scenario as it finishes, and one markdown table at the
//! end, shaped to be pasted into bench/README.md as is.

use crate::cli::{Args, Backend, Scenario};
use crate::scenarios::Outcome;
use crate::stats::Summary;
use std::fmt::Write;

pub struct Row {
    backend: Backend,
    scenario: Scenario,
    result: Result<Done, String>,
    /// Throughput over the same backend's healthz throughput.
    ratio: Option<f64>,
}

struct Done {
    summary: Summary,
    lines: Vec<String>,
    note: String,
    check_ok: bool,
}

impl Row {
    pub fn done(backend: Backend, scenario: Scenario, o: Outcome) -> Row {
        let summary = Summary::of(&o.run);
        let done = Done { summary, lines: o.lines, note: o.note, check_ok: o.check_ok };
        Row { backend, scenario, result: Ok(done), ratio: None }
    }

    pub fn failed(backend: Backend, scenario: Scenario, msg: String) -> Row {
        Row { backend, scenario, result: Err(msg), ratio: None }
    }

    /// Ran, no request failed, and every check held.
    pub fn ok(&self) -> bool {
        matches!(&self.result, Ok(d) if d.check_ok && d.summary.error_count() == 0)
    }

    pub fn healthz_rps(&self) -> Option<f64> {
        match &self.result {
            Ok(d) if self.scenario == Scenario::Healthz => Some(d.summary.rps),
            _ => None,
        }
    }
}

/// Ratios are filled at the end so that `healthz` need not run first.
pub fn fill_ratios(rows: &mut [Row]) {
    for i in 0..rows.len() {
        let base = rows.iter().filter(|r| r.backend == rows[i].backend).find_map(Row::healthz_rps);
        rows[i].ratio = match (&rows[i].result, base) {
            (Ok(d), Some(h)) if h > 0.0 => Some(d.summary.rps / h),
            _ => None,
        };
    }
}

pub fn print_row(row: &Row, healthz_rps: Option<f64>) {
    let d = match &row.result {
        Ok(d) => d,
        Err(msg) => {
            say!("FAILED: {msg}");
            return;
        }
    };
    let s = &d.summary;
    let ratio = match healthz_rps {
        Some(h) if h > 0.0 => format!("{:.3} × healthz", s.rps / h),
        _ => "no healthz run before it".into(),
    };
    say!("requests:   {} ({} errors: {})", s.requests, s.error_count(), s.errors_by_code());
    say!("throughput: {:.0} req/s ({ratio})", s.rps);
    say!(
        "latency:    p50 {:.2} ms | p99 {:.2} ms | p99.9 {:.2} ms | max {:.2} ms",
        s.p50_ms,
        s.p99_ms,
        s.p999_ms,
        s.max_ms
    );
    for line in &d.lines {
        say!("{line}");
    }
}

pub fn table(rows: &[Row], args: &Args) -> String {
    let scenarios: Vec<&str> = args.scenarios.iter().map(|s| s.name()).collect();
    let backend = match args.backend.backends().as_slice() {
        [one] => one.name(),
        _ => "both",
    };
    let mut out = String::new();
    let stats = if args.scenarios.contains(&Scenario::Statistics) {
        format!(" --stats-payins {} --stats-runs {}", args.stats_payins, args.stats_runs)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "`cargo run --release -p paygate-bench -- --backend {backend} --scenarios {} --duration {} --connections {} --merchants {}{stats}`\n",
        scenarios.join(","),
        args.duration,
        args.connections,
        args.merchants
    );
    out.push_str("| backend | scenario | requests | errors | req/s | × healthz | p50 ms | p99 ms | p99.9 ms | max ms | notes |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let (b, sc) = (r.backend.name(), r.scenario.name());
        match &r.result {
            Err(msg) => {
                let _ = writeln!(out, "| {b} | {sc} | – | – | – | – | – | – | – | – | FAILED: {} |", cell(msg));
            }
            Ok(d) => {
                let s = &d.summary;
                let ratio = r.ratio.map_or("–".into(), |x| format!("{x:.3}"));
                let mut notes = d.note.clone();
                if s.error_count() > 0 {
                    notes = [notes, format!("errors {}", s.errors_by_code())]
                        .into_iter()
                        .filter(|n| !n.is_empty())
                        .collect::<Vec<_>>()
                        .join("; ");
                }
                let _ = writeln!(
                    out,
                    "| {b} | {sc} | {} | {} | {:.0} | {ratio} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                    s.requests,
                    s.error_count(),
                    s.rps,
                    s.p50_ms,
                    s.p99_ms,
                    s.p999_ms,
                    s.max_ms,
                    cell(&notes)
                );
            }
        }
    }
    out
}

/// Keeps a message inside one table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
