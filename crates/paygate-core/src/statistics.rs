//! The arithmetic behind `/api/v1/statistics` (API.md 3.5): periods and
//! buckets, exact sums wider than `i64`, and the rounding rules of the
//! derived figures. Everything is integer arithmetic; the only decimal text
//! is produced here, digit by digit.

use serde::{Deserialize, Serialize};

pub const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// The longest period one request may cover: 366 days, a leap year.
pub const MAX_SPAN_MICROS: i64 = 366 * MICROS_PER_DAY;

/// Sums are computed in SQL as `SUM(x / SPLIT)` and `SUM(x % SPLIT)`: each
/// part stays far inside `i64` however many rows are summed (SQLite's `SUM`
/// fails on `i64` overflow, and PostgreSQL's `SUM(bigint)` is a NUMERIC the
/// `Any` driver cannot decode), and [`join_split`] puts them back together.
pub const SPLIT: i64 = 1_000_000_000;

/// `high * SPLIT + low`: the exact sum from its two SQL parts.
pub fn join_split(high: i64, low: i64) -> i128 {
    i128::from(high) * i128::from(SPLIT) + i128::from(low)
}

/// How the period is cut into a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// No series.
    #[default]
    None,
    /// UTC hours.
    Hour,
    /// UTC days.
    Day,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::None => "none",
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }

    /// Bucket width in microseconds; `None` when there is no series.
    pub fn width_micros(self) -> Option<i64> {
        match self {
            Granularity::None => None,
            Granularity::Hour => Some(MICROS_PER_HOUR),
            Granularity::Day => Some(MICROS_PER_DAY),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("must be after date_from")]
    NotAfter,
    #[error("the period may span at most 366 days")]
    TooLong,
    #[error("the period must lie between 1970-01-01 and 9999-12-31 (UTC)")]
    OutOfRange,
}

/// 9999-12-31T23:59:59.999999Z + 1 µs: the first instant RFC 3339 cannot write.
const END_OF_YEAR_9999_MICROS: i64 = 253_402_300_800_000_000;

/// The half-open period `[from, to)` must be non-empty and at most
/// [`MAX_SPAN_MICROS`] long.
pub fn check_period(from: i64, to: i64) -> Result<(), PeriodError> {
    let span = i128::from(to) - i128::from(from);
    if from < 0 || to > END_OF_YEAR_9999_MICROS {
        // No payment predates 1970, and the answer echoes both bounds in UTC.
        Err(PeriodError::OutOfRange)
    } else if span <= 0 {
        Err(PeriodError::NotAfter)
    } else if span > i128::from(MAX_SPAN_MICROS) {
        Err(PeriodError::TooLong)
    } else {
        Ok(())
    }
}

/// Start of the bucket of `width` µs that holds `t` (UTC-aligned, since the
/// epoch is midnight UTC). Floors for times before 1970 too.
pub fn bucket_start(t: i64, width: i64) -> i64 {
    t - t.rem_euclid(width)
}

/// `a / b` rounded half up (ties towards +∞); `b > 0`.
fn div_half_up(a: i128, b: i128) -> i128 {
    (2 * a + b).div_euclid(2 * b)
}

/// Mean amount of `count` payments totalling `total` minor units, rounded
/// half up to the minor unit; `None` when there are none.
pub fn average_minor(total: i128, count: u64) -> Option<i128> {
    (count > 0).then(|| div_half_up(total, i128::from(count)))
}

/// Decimals of the conversion rate.
pub const RATE_DECIMALS: u8 = 4;

/// `success / finished` in units of 10⁻⁴, rounded half up; `None` when
/// nothing finished. Format with `format_minor(rate, RATE_DECIMALS)`.
pub fn conversion_rate_e4(success: u64, finished: u64) -> Option<i64> {
    if finished == 0 {
        return None;
    }
    let scaled = div_half_up(i128::from(success) * 10_000, i128::from(finished));
    // success ≤ finished keeps this ≤ 10000; clamp rather than trust callers.
    Some(i64::try_from(scaled).unwrap_or(i64::MAX))
}

/// Which sorted values a median of `n` needs: `(offset, how many)`: the
/// middle one, or the two middle ones when `n` is even. `None` when `n = 0`.
pub fn median_window(n: u64) -> Option<(u64, u64)> {
    match n {
        0 => None,
        n => Some(((n - 1) / 2, if n % 2 == 0 { 2 } else { 1 })),
    }
}

/// The median from the values [`median_window`] selected: the middle value,
/// or the floor of the mean of the two middle values.
pub fn median_of_middle(middle: &[i64]) -> Option<i64> {
    match middle {
        [one] => Some(*one),
        [a, b] => Some(i64::try_from((i128::from(*a) + i128::from(*b)).div_euclid(2)).unwrap_or(i64::MAX)),
        _ => None,
    }
}

/// Lower bounds (µs) of the completion-time histogram's buckets, as the
/// database's `stats_buckets` has them (migration 0017, the same integer
/// recurrence): bucket 0 is everything under a second; bucket k ≥ 1 starts
/// at `low_k` and ends where bucket k + 1 starts, `low_k + low_k / 25`
/// (4% wider).
pub fn duration_buckets() -> &'static [i64] {
    static LOWS: std::sync::OnceLock<Vec<i64>> = std::sync::OnceLock::new();
    LOWS.get_or_init(|| {
        let mut lows = vec![i64::MIN, 1_000_000];
        while *lows.last().expect("not empty") < 40_000_000_000_000 {
            let low = *lows.last().expect("not empty");
            lows.push(low + low / 25);
        }
        lows
    })
}

/// The bucket of a completion time of `micros`.
pub fn duration_bucket(micros: i64) -> usize {
    duration_buckets().partition_point(|low| *low <= micros) - 1
}

/// The value a bucket stands for: its middle (0.5 s for bucket 0). Every
/// time in bucket k ≥ 1 is within 2% of it; in bucket 0, within 0.5 s.
pub fn bucket_value(bucket: usize) -> i64 {
    let lows = duration_buckets();
    match bucket {
        0 => 500_000,
        k if k + 1 < lows.len() => lows[k] + (lows[k + 1] - lows[k]) / 2,
        k => lows[lows.len() - 1].max(lows[k.min(lows.len() - 1)]),
    }
}

/// The median completion time from a histogram `(bucket, count)`: each
/// middle value (the two middle ones for an even count, averaged as
/// [`median_of_middle`] does) is taken as its bucket's [`bucket_value`],
/// each within 2% of the value it stands for, or 0.5 s in bucket 0, so the
/// answer is within 2% of the exact median plus 0.5 s. `None` for an empty
/// histogram.
pub fn histogram_median(histogram: &std::collections::BTreeMap<usize, i64>) -> Option<i64> {
    let total: i64 = histogram.values().sum();
    let (offset, take) = median_window(u64::try_from(total).ok()?)?;
    let nth = |i: u64| {
        let mut seen = 0u64;
        histogram.iter().find_map(|(b, n)| {
            seen += u64::try_from(*n).unwrap_or(0);
            (seen > i).then(|| bucket_value(*b))
        })
    };
    let middle: Vec<i64> = (offset..offset + take).filter_map(nth).collect();
    median_of_middle(&middle)
}

/// Microseconds to whole milliseconds, rounded half up.
pub fn micros_to_millis(us: i64) -> i64 {
    i64::try_from(div_half_up(i128::from(us), 1000)).unwrap_or(i64::MAX)
}

/// Milliseconds as an exact decimal number of seconds for JSON: `42500` →
/// `42.5`, `3000` → `3.0`, `1` → `0.001`, `-1500` → `-1.5`.
pub fn seconds_text(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let abs = millis.unsigned_abs();
    let frac = format!("{:03}", abs % 1000);
    let frac = frac.trim_end_matches('0');
    format!("{sign}{}.{}", abs / 1000, if frac.is_empty() { "0" } else { frac })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn periods() {
        assert_eq!(check_period(0, 1), Ok(()));
        assert_eq!(check_period(5, 5), Err(PeriodError::NotAfter));
        assert_eq!(check_period(-1, 5), Err(PeriodError::OutOfRange));
        assert_eq!(check_period(END_OF_YEAR_9999_MICROS - 5, END_OF_YEAR_9999_MICROS), Ok(()));
        assert_eq!(check_period(END_OF_YEAR_9999_MICROS, END_OF_YEAR_9999_MICROS + 1), Err(PeriodError::OutOfRange));
        assert_eq!(check_period(6, 5), Err(PeriodError::NotAfter));
        assert_eq!(check_period(0, MAX_SPAN_MICROS), Ok(()));
        assert_eq!(check_period(0, MAX_SPAN_MICROS + 1), Err(PeriodError::TooLong));
        assert_eq!(check_period(i64::MIN, i64::MAX), Err(PeriodError::OutOfRange));
        assert_eq!(check_period(i64::MAX, i64::MIN), Err(PeriodError::NotAfter));
        assert_eq!(check_period(10, 5), Err(PeriodError::NotAfter));
    }

    #[test]
    fn duration_buckets_are_four_percent_wide() {
        let lows = duration_buckets();
        assert_eq!((lows[0], lows[1], lows[2]), (i64::MIN, 1_000_000, 1_040_000));
        assert!(*lows.last().unwrap() >= 40_000_000_000_000, "beyond a year");
        assert!(lows.len() < 500, "{} buckets", lows.len());
        for w in lows[1..].windows(2) {
            assert!(w[1] > w[0] && (w[1] - w[0]) * 25 <= w[0], "{w:?}");
        }
        assert_eq!(duration_bucket(0), 0);
        assert_eq!(duration_bucket(-5), 0);
        assert_eq!(duration_bucket(999_999), 0);
        assert_eq!(duration_bucket(1_000_000), 1);
        assert_eq!(duration_bucket(1_039_999), 1);
        assert_eq!(duration_bucket(1_040_000), 2);
    }

    proptest! {
        /// The histogram's median stays within its documented bound of the
        /// exact one, on random data of every scale.
        #[test]
        fn histogram_median_is_within_two_percent(times in proptest::collection::vec(0i64..40_000_000_000_000, 1..400),
                                                    scale in 0u32..8) {
            let times: Vec<i64> = times.iter().map(|t| t / 10i64.pow(scale)).collect();
            let mut sorted = times.clone();
            sorted.sort();
            let (offset, take) = median_window(sorted.len() as u64).unwrap();
            let exact = median_of_middle(&sorted[offset as usize..(offset + take) as usize]).unwrap();
            let mut histogram = std::collections::BTreeMap::new();
            for t in &times {
                *histogram.entry(duration_bucket(*t)).or_insert(0i64) += 1;
            }
            let approx = histogram_median(&histogram).unwrap();
            let bound = exact / 50 + 500_000 + 1;
            prop_assert!((approx - exact).abs() <= bound, "exact {exact}, histogram {approx}");
        }
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket_start(MICROS_PER_DAY, MICROS_PER_DAY), MICROS_PER_DAY);
        assert_eq!(bucket_start(MICROS_PER_DAY - 1, MICROS_PER_DAY), 0);
        assert_eq!(bucket_start(-1, MICROS_PER_HOUR), -MICROS_PER_HOUR);
        assert_eq!(Granularity::None.width_micros(), None);
        assert_eq!(Granularity::Hour.width_micros(), Some(MICROS_PER_HOUR));
    }

    #[test]
    fn rounding() {
        assert_eq!(average_minor(0, 0), None);
        assert_eq!(average_minor(120_000, 8), Some(15_000));
        assert_eq!(average_minor(5, 2), Some(3), "2.5 rounds up");
        assert_eq!(average_minor(7, 3), Some(2), "2.33 rounds down");
        assert_eq!(average_minor(8, 3), Some(3), "2.67 rounds up");
        assert_eq!(average_minor(i128::from(i64::MAX) * 10, 10), Some(i128::from(i64::MAX)));
        assert_eq!(conversion_rate_e4(0, 0), None);
        assert_eq!(conversion_rate_e4(8, 11), Some(7273));
        assert_eq!(conversion_rate_e4(1, 3), Some(3333));
        assert_eq!(conversion_rate_e4(2, 3), Some(6667));
        assert_eq!(conversion_rate_e4(1, 20_000), Some(1), "0.00005 rounds up");
        assert_eq!(conversion_rate_e4(0, 5), Some(0));
        assert_eq!(conversion_rate_e4(5, 5), Some(10_000));
        assert_eq!(micros_to_millis(42_499_499), 42_499);
        assert_eq!(micros_to_millis(42_499_500), 42_500);
        assert_eq!(micros_to_millis(-1_500), -1, "-1.5 ms rounds up to -1");
        assert_eq!(seconds_text(42_500), "42.5");
        assert_eq!(seconds_text(3_000), "3.0");
        assert_eq!(seconds_text(1), "0.001");
        assert_eq!(seconds_text(0), "0.0");
        assert_eq!(seconds_text(-1_500), "-1.5");
        assert_eq!(seconds_text(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn medians() {
        assert_eq!(median_window(0), None);
        assert_eq!(median_window(1), Some((0, 1)));
        assert_eq!(median_window(4), Some((1, 2)));
        assert_eq!(median_window(5), Some((2, 1)));
        assert_eq!(median_of_middle(&[]), None);
        assert_eq!(median_of_middle(&[3, 4]), Some(3), "floor of 3.5");
        assert_eq!(median_of_middle(&[-4, -3]), Some(-4), "floor of -3.5");
        assert_eq!(median_of_middle(&[i64::MAX, i64::MAX]), Some(i64::MAX));
    }

    proptest! {
        #[test]
        fn average_is_the_nearest_with_ties_up(total in 0i128..=i128::from(i64::MAX) * 1000, count in 1u64..1_000_000) {
            let r = average_minor(total, count).unwrap();
            let c = i128::from(count);
            // r = floor(total / count + 1/2)  ⇔  2rc ≤ 2·total + c < 2rc + 2c
            prop_assert!(2 * r * c <= 2 * total + c && 2 * total + c < 2 * r * c + 2 * c);
        }

        #[test]
        fn rate_is_within_half_a_unit(finished in 1u64..10_000_000, frac in 0.0f64..=1.0) {
            let success = (finished as f64 * frac) as u64;
            let r = i128::from(conversion_rate_e4(success, finished).unwrap());
            let (s, f) = (i128::from(success) * 10_000, i128::from(finished));
            prop_assert!(2 * r * f <= 2 * s + f && 2 * s + f < 2 * r * f + 2 * f);
            prop_assert!((0..=10_000).contains(&r));
        }

        #[test]
        fn median_matches_the_definition(mut v in proptest::collection::vec(-1_000_000i64..1_000_000, 1..60)) {
            v.sort();
            let (offset, take) = median_window(v.len() as u64).unwrap();
            let middle = &v[offset as usize..(offset + take) as usize];
            let n = v.len();
            let expected = if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]).div_euclid(2)
            };
            prop_assert_eq!(median_of_middle(middle), Some(expected));
        }

        #[test]
        fn bucket_holds_the_time(t in any::<i64>(), hourly in any::<bool>()) {
            let w = if hourly { MICROS_PER_HOUR } else { MICROS_PER_DAY };
            let start = bucket_start(t, w);
            prop_assert!(i128::from(start) <= i128::from(t) && i128::from(t) < i128::from(start) + i128::from(w));
            prop_assert_eq!(start.rem_euclid(w), 0);
        }

        #[test]
        fn split_sums_are_exact(values in proptest::collection::vec(1i64..=i64::MAX, 0..50)) {
            let high: i64 = values.iter().map(|v| v / SPLIT).sum();
            let low: i64 = values.iter().map(|v| v % SPLIT).sum();
            prop_assert_eq!(join_split(high, low), values.iter().map(|v| i128::from(*v)).sum::<i128>());
        }

        #[test]
        fn millis_round_half_up(us in any::<i64>()) {
            let ms = i128::from(micros_to_millis(us));
            let us = i128::from(us);
            prop_assert!(2 * ms * 1000 <= 2 * us + 1000 && 2 * us + 1000 < 2 * ms * 1000 + 2000);
        }

        #[test]
        fn seconds_text_is_exact(ms in any::<i64>()) {
            let text = seconds_text(ms);
            let (int, frac) = text.trim_start_matches('-').split_once('.').unwrap();
            let back = i128::from(int.parse::<u64>().unwrap()) * 1000 + format!("{frac:0<3}").parse::<i128>().unwrap();
            prop_assert_eq!(if text.starts_with('-') { -back } else { back }, i128::from(ms));
        }
    }
}
