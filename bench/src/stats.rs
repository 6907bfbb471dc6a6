//! Turning a run into the figures we print: throughput of successful requests
//! and nearest-rank latency percentiles over the sorted samples (exact; at a
//! few hundred thousand samples a sorted Vec is cheaper than a histogram crate).

use crate::load::Run;
use std::collections::BTreeMap;

pub struct Summary {
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
    /// Successful requests per second of the measured window.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    pub fn of(run: &Run) -> Summary {
        let ok = run.completed - run.error_count();
        let secs = run.elapsed.as_secs_f64();
        let ms = |q| percentile(&run.latencies_us, q).map_or(f64::NAN, |us| f64::from(us) / 1000.0);
        Summary {
            requests: run.completed,
            errors: run.errors.clone(),
            rps: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: ms(1.0),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// `404×12, timeout×1`, or `none`.
    pub fn errors_by_code(&self) -> String {
        if self.errors.is_empty() {
            return "none".into();
        }
        self.errors.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(", ")
    }
}

/// Nearest-rank percentile of sorted samples: the smallest value with at least
/// `q` of the samples at or below it.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), Some(500));
        assert_eq!(percentile(&v, 0.99), Some(990));
        assert_eq!(percentile(&v, 0.999), Some(999));
        assert_eq!(percentile(&v, 1.0), Some(1000));
        assert_eq!(percentile(&[7], 0.5), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
