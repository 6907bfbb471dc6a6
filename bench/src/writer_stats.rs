//! The gateway's own view of a scenario: how many commands its batching
//! writer put in each transaction and how long a batch took, read from
//! `/metrics` before and after. It tells a writer-bound run (large, slow
//! batches) from one bound elsewhere (small batches).

use reqwest::Client;

#[derive(Clone, Default, Debug)]
pub struct WriterTotals {
    batches: f64,
    commands: f64,
    seconds: f64,
    /// Seconds spent per phase of a batch (begin, load_rows, …, commit).
    phases: Vec<(String, f64)>,
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn read(client: &Client, base: &str) -> WriterTotals {
    let Ok(resp) = client.get(format!("{base}/metrics")).send().await else { return WriterTotals::default() };
    let text = resp.text().await.unwrap_or_default();
    WriterTotals {
        batches: metric(&text, "paygate_writer_batch_size_count"),
        commands: metric(&text, "paygate_writer_batch_size_sum"),
        seconds: metric(&text, "paygate_writer_batch_seconds_sum"),
        phases: ["begin", "load_rows", "load_accounts", "decide", "persist", "commit"]
            .iter()
            .map(|p| (p.to_string(), metric(&text, &format!("paygate_writer_phase_seconds_sum{{phase=\"{p}\"}}"))))
            .collect(),
    }
}

/// `writer: 412 batches, 48.5 commands/batch, 9.81 ms/batch`, or None when
/// the scenario wrote nothing.
pub fn describe(before: &WriterTotals, after: &WriterTotals) -> Option<String> {
    let batches = after.batches - before.batches;
    if batches < 1.0 {
        return None;
    }
    let per_batch = (after.commands - before.commands) / batches;
    let ms = (after.seconds - before.seconds) * 1000.0 / batches;
    let phases: Vec<String> = after
        .phases
        .iter()
        .zip(&before.phases)
        .map(|((name, a), (_, b))| format!("{name} {:.2}", (a - b) * 1000.0 / batches))
        .collect();
    Some(format!("writer {per_batch:.1} cmds/batch, {ms:.2} ms/batch ({} ms)", phases.join(", ")))
}
