//! Folding the grouped rows of one payment kind into per-currency figures,
//! and rendering them with each currency's exponent. All sums are `i128`
//! minor units; the rounding rules live in `paygate_core::statistics`.

use super::schema::{StatsFiguresOut, StatsStatusOut};
use super::series_out::SeriesOut;
use paygate_core::money::{format_minor, format_minor_wide};
use paygate_core::statistics::{
    average_minor, conversion_rate_e4, micros_to_millis, seconds_text, Granularity, RATE_DECIMALS,
};
use paygate_store::statistics::PaymentGroup;
use paygate_store::statistics_series::{CurrencySeries, SeriesPoint};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// The status both kinds count as success (and as turnover).
pub const SUCCESS: &str = "success";

/// Everything known about one currency of one kind.
#[derive(Default, Debug)]
pub struct Tally {
    /// (count, Σ amount) per status.
    by_status: HashMap<String, (i64, i128)>,
    success_fees: i128,
    /// Successful payments with a `completed_at`: what the median is over.
    pub success_timed: i64,
    /// The series' points, in bucket order.
    series: Vec<SeriesPoint>,
    /// Median time to complete, µs, once fetched.
    pub median_micros: Option<i64>,
}

/// The parts of an entry that do not depend on the kind.
pub struct Common {
    pub count: i64,
    pub figures: StatsFiguresOut,
    pub series: Option<SeriesOut>,
}

/// Per currency, in code order. `only` (the requested currency) always has
/// an entry, with zeros when nothing matched.
pub fn fold(groups: Vec<PaymentGroup>, only: Option<&str>) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    if let Some(c) = only {
        out.entry(c.to_string()).or_default();
    }
    for g in groups {
        let t = out.entry(g.currency).or_default();
        let success = g.status == SUCCESS;
        let entry = t.by_status.entry(g.status).or_default();
        entry.0 += g.count;
        entry.1 += g.amount;
        if success {
            t.success_fees += g.fee;
            t.success_timed += g.timed;
        }
    }
    out
}

/// Each currency's series into its tally.
pub fn add_series(tallies: &mut BTreeMap<String, Tally>, series: Vec<CurrencySeries>) {
    for s in series {
        tallies.entry(s.currency).or_default().series = s.points;
    }
}

impl Tally {
    /// Payments in any status.
    fn count(&self) -> i64 {
        self.by_status.values().map(|(n, _)| n).sum()
    }

    /// Statuses seen that the kind does not have (a corrupt row).
    pub fn unknown_statuses<'a>(&'a self, known: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
        self.by_status.keys().map(String::as_str).filter(|s| !known.contains(s))
    }

    pub fn status(&self, status: &str, exp: u8) -> StatsStatusOut {
        let (count, amount) = self.by_status.get(status).copied().unwrap_or_default();
        StatsStatusOut { count, amount: format_minor_wide(amount, exp) }
    }

    /// What an entry of either kind has: the count, the figures and, with
    /// a granularity, the series (bucket starts written by `start_text`).
    pub fn render(
        &mut self,
        exp: u8,
        granularity: Granularity,
        is_final: impl Fn(&str) -> bool,
        start_text: fn(i64) -> String,
    ) -> Common {
        let series = std::mem::take(&mut self.series);
        Common {
            count: self.count(),
            figures: self.figures(exp, is_final),
            series: granularity.width_micros().map(|_| SeriesOut::new(series, exp, start_text)),
        }
    }

    /// fees, turnover and the derived figures; `is_final` tells which
    /// statuses count as finished for the conversion rate.
    fn figures(&self, exp: u8, is_final: impl Fn(&str) -> bool) -> StatsFiguresOut {
        let (successes, turnover) = self.by_status.get(SUCCESS).copied().unwrap_or_default();
        let finished: i64 = self.by_status.iter().filter(|(s, _)| is_final(s)).map(|(_, (n, _))| n).sum();
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let median = self.median_micros.map(|us| seconds_text(micros_to_millis(us)));
        StatsFiguresOut {
            fees: format_minor_wide(self.success_fees, exp),
            turnover: format_minor_wide(turnover, exp),
            average_amount: average_minor(turnover, count(successes)).map(|a| format_minor_wide(a, exp)),
            conversion_rate: conversion_rate_e4(count(successes), count(finished))
                .map(|r| format_minor(r, RATE_DECIMALS)),
            // The text is a JSON number by construction: digits, one dot, maybe a sign.
            median_seconds_to_complete: median.and_then(|text| RawValue::from_string(text).ok()),
        }
    }
}
