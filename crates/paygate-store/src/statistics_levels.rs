//! Which rollup answers which part of a statistics period. The rollups
//! (migrations 0017 and 0018) come in levels of nested widths, each
//! aligned to the epoch (so to UTC hours and days): figures per hour and
//! per day, completion-time histograms per day and per 32 days. A period
//! is read from the coarsest level for the whole spans it contains, from
//! the next finer level for what is left at either end, and from the
//! payments themselves for the partial hours (or days) at the very ends;
//! every part is exact, and a year is a few thousand rollup rows.

use paygate_core::statistics::{MICROS_PER_DAY, MICROS_PER_HOUR};

/// One rollup table: its name, its time column (the start of the span a
/// row sums) and the span's width, µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub table: &'static str,
    pub time: &'static str,
    pub width: i64,
}

/// Count, amount and fee sums per hour and per day, finest first.
pub const FIGURES: [Level; 2] = [
    Level { table: "stats_hourly", time: "hour", width: MICROS_PER_HOUR },
    Level { table: "stats_daily", time: "day", width: MICROS_PER_DAY },
];

/// Completion-time histograms per day and per 32 days, finest first.
pub const DURATIONS: [Level; 2] = [
    Level { table: "stats_durations", time: "day", width: MICROS_PER_DAY },
    Level { table: "stats_durations_32d", time: "block", width: 32 * MICROS_PER_DAY },
];

/// One part of a period: `[from, to)` read from a rollup level, or from
/// the payments when `level` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub level: Option<Level>,
    pub from: i64,
    pub to: i64,
}

/// The levels a series of `bucket_width` may read: those whose spans fit
/// inside one bucket (a daily row cannot be split into hours). Without a
/// series, all of them.
pub fn usable(levels: &[Level], bucket_width: Option<i64>) -> Vec<Level> {
    levels.iter().copied().filter(|l| bucket_width.is_none_or(|w| w % l.width == 0)).collect()
}

/// `[from, to)` cut into parts: whole spans of the coarsest of `levels`
/// (finest first, widths nested), then of finer ones for the ends, then
/// the payments. The parts are disjoint, in time order, and cover the
/// period exactly.
pub fn plan(from: i64, to: i64, levels: &[Level]) -> Vec<Part> {
    let mut parts = Vec::new();
    cut(from, to, levels, &mut parts);
    parts
}

fn cut(from: i64, to: i64, levels: &[Level], parts: &mut Vec<Part>) {
    if from >= to {
        return;
    }
    let Some((coarsest, finer)) = levels.split_last() else {
        parts.push(Part { level: None, from, to });
        return;
    };
    let w = coarsest.width;
    let first = from + (w - from.rem_euclid(w)) % w;
    let last = to - to.rem_euclid(w);
    if first >= last {
        cut(from, to, finer, parts);
        return;
    }
    cut(from, first, finer, parts);
    parts.push(Part { level: Some(*coarsest), from: first, to: last });
    cut(last, to, finer, parts);
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = MICROS_PER_HOUR;
    const D: i64 = MICROS_PER_DAY;

    fn check_cover(from: i64, to: i64, parts: &[Part]) {
        let mut at = from;
        for p in parts {
            assert_eq!(p.from, at, "{parts:?}");
            assert!(p.from < p.to, "{parts:?}");
            if let Some(l) = p.level {
                assert_eq!(p.from.rem_euclid(l.width), 0);
                assert_eq!(p.to.rem_euclid(l.width), 0);
            }
            at = p.to;
        }
        assert_eq!(at, to.max(from));
    }

    #[test]
    fn a_year_from_midnight_is_days_and_nothing_else() {
        let from = 20_000 * D;
        let parts = plan(from, from + 366 * D, &FIGURES);
        assert_eq!(parts, vec![Part { level: Some(FIGURES[1]), from, to: from + 366 * D }]);
    }

    #[test]
    fn ends_inside_hours_come_from_the_payments_and_hours() {
        let from = 20_000 * D + 5 * H + 17;
        let to = 20_010 * D + 2 * H + 3;
        let parts = plan(from, to, &FIGURES);
        check_cover(from, to, &parts);
        let levels: Vec<_> = parts.iter().map(|p| p.level.map(|l| l.table)).collect();
        assert_eq!(levels, [None, Some("stats_hourly"), Some("stats_daily"), Some("stats_hourly"), None], "{parts:?}");
    }

    #[test]
    fn every_period_is_covered_exactly() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |m: i64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as i64
        };
        for _ in 0..10_000 {
            let from = next(400 * D) - 40 * D;
            let to = from + next(100 * D);
            check_cover(from, to, &plan(from, to, &FIGURES));
            check_cover(from, to, &plan(from, to, &DURATIONS));
        }
    }

    #[test]
    fn an_hourly_series_reads_no_daily_rows() {
        assert_eq!(usable(&FIGURES, Some(H)), vec![FIGURES[0]]);
        assert_eq!(usable(&FIGURES, Some(D)), FIGURES.to_vec());
        assert_eq!(usable(&FIGURES, None), FIGURES.to_vec());
    }
}
