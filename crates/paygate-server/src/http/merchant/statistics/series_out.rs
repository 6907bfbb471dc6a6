//! A currency's series as JSON, written from its points: an hourly year is
//! 26k buckets, and building a [`StatsBucketOut`] for each (three Strings,
//! a date conversion) was a fifth of paygate's time for the answer. The
//! text is exactly what serialising the `StatsBucketOut`s gives (a test
//! compares them), so the schema documents it.
//!
//! [`StatsBucketOut`]: super::schema::StatsBucketOut

use crate::http::envelope::rfc3339;
use paygate_core::money::write_minor_wide;
use paygate_store::statistics_series::SeriesPoint;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// The buckets of one currency, with its exponent; `start_text` writes a
/// bucket start that is not a whole second (never, for UTC hours and days).
pub struct SeriesOut {
    points: Vec<SeriesPoint>,
    exp: u8,
    start_text: fn(i64) -> String,
}

impl SeriesOut {
    pub fn new(points: Vec<SeriesPoint>, exp: u8, start_text: fn(i64) -> String) -> SeriesOut {
        SeriesOut { points, exp, start_text }
    }
}

impl Serialize for SeriesOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.points.len()))?;
        // `YYYY-MM-DDT` of the last day written: hours of one day share it.
        let mut day: Option<(i64, String)> = None;
        let mut start = String::with_capacity(32);
        for p in &self.points {
            start.clear();
            if !write_start(&mut start, p.bucket, &mut day) {
                start = (self.start_text)(p.bucket);
            }
            seq.serialize_element(&Bucket { start: &start, point: p, exp: self.exp })?;
        }
        seq.end()
    }
}

/// Writes a whole-second time as RFC 3339 from the cached date; false
/// (nothing written) when it is not a whole second or its year is outside
/// 0–9999 (signed years).
fn write_start(out: &mut String, micros: i64, day: &mut Option<(i64, String)>) -> bool {
    if micros % MICROS_PER_SECOND != 0 {
        return false;
    }
    let seconds = micros / MICROS_PER_SECOND;
    let (days, of_day) = (seconds.div_euclid(SECONDS_PER_DAY), seconds.rem_euclid(SECONDS_PER_DAY));
    let date = match day {
        Some((d, date)) if *d == days => date,
        _ => {
            let Some(midnight) = days.checked_mul(SECONDS_PER_DAY * MICROS_PER_SECOND) else { return false };
            // Beyond chrono's range `rfc3339` would write the epoch, a
            // well-formed wrong date (unreachable: periods are checked to
            // years 1970–9999).
            if chrono::DateTime::from_timestamp_micros(midnight).is_none() {
                return false;
            }
            let text = rfc3339(midnight);
            // Anything but the 20-byte form (a signed year) goes the long way.
            if text.len() != 20 {
                return false;
            }
            &mut day.insert((days, text[..11].to_string())).1
        }
    };
    out.push_str(date);
    for (value, sep) in [(of_day / 3600, ':'), (of_day / 60 % 60, ':'), (of_day % 60, 'Z')] {
        out.push(char::from(b'0' + (value / 10) as u8));
        out.push(char::from(b'0' + (value % 10) as u8));
        out.push(sep);
    }
    true
}

/// One bucket, with the fields and order of `StatsBucketOut`.
struct Bucket<'a> {
    start: &'a str,
    point: &'a SeriesPoint,
    exp: u8,
}

impl Serialize for Bucket<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("StatsBucketOut", 5)?;
        s.serialize_field("start", self.start)?;
        s.serialize_field("count", &self.point.count)?;
        s.serialize_field("success_count", &self.point.success_count)?;
        s.serialize_field("turnover", &Amount(self.point.turnover, self.exp))?;
        s.serialize_field("fees", &Amount(self.point.fees, self.exp))?;
        s.end()
    }
}

/// An exact sum as its decimal string.
struct Amount(i128, u8);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_minor_wide(f, self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::StatsBucketOut;
    use super::super::utc;
    use super::*;
    use paygate_core::money::format_minor_wide;
    use rand::{Rng, SeedableRng};

    /// What the answer held before: a `StatsBucketOut` per point.
    fn built(points: &[SeriesPoint], exp: u8) -> String {
        let buckets: Vec<StatsBucketOut> = points
            .iter()
            .map(|p| StatsBucketOut {
                start: utc(p.bucket),
                count: p.count,
                success_count: p.success_count,
                turnover: format_minor_wide(p.turnover, exp),
                fees: format_minor_wide(p.fees, exp),
            })
            .collect();
        serde_json::to_string(&buckets).unwrap()
    }

    #[test]
    fn the_series_is_written_as_its_buckets_would_be_serialised() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        const HOUR: i64 = 3_600_000_000;
        let mut points = Vec::new();
        // Hours across day, month and leap-year boundaries, days, odd
        // microseconds, the epoch, and years outside 0–9999.
        let mut t = 951_696_000_000_000 - 30 * HOUR; // 2000-02-27T18:00Z
        for _ in 0..3000 {
            t += HOUR * rng.gen_range(1..30);
            points.push(t);
        }
        points.extend([
            0,
            -HOUR,
            1_795_000_000_123_456,
            253_402_300_800_000_000,
            -62_167_219_200_000_000, // 0000-01-01T00:00:00Z
            -62_167_219_200_000_001,
            i64::MIN,
            i64::MIN / MICROS_PER_SECOND * MICROS_PER_SECOND,
        ]);
        let points: Vec<SeriesPoint> = points
            .into_iter()
            .map(|bucket| SeriesPoint {
                bucket,
                count: rng.gen_range(0..1_000_000),
                success_count: rng.gen_range(0..1000),
                turnover: rng.gen_range(-(1i128 << 80)..(1i128 << 80)),
                fees: rng.gen_range(-10_000..10_000_000),
            })
            .collect();
        for exp in [0, 2, 8] {
            let written = serde_json::to_string(&SeriesOut::new(points.clone(), exp, utc)).unwrap();
            assert_eq!(written, built(&points, exp), "exponent {exp}");
        }
    }
}
