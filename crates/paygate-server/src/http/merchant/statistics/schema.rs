//! The request and response of `/api/v1/statistics`, documented field by
//! field: this is what `/openapi.json` shows merchants.

use super::series_out::SeriesOut;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_core::statistics::Granularity;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatisticsIn {
    /// Start of the period, inclusive. RFC 3339 with any UTC offset
    /// (`2026-11-01T00:00:00+03:00`); statistics work in UTC.
    #[schema(format = DateTime, example = "2026-11-01T00:00:00Z")]
    pub date_from: String,
    /// End of the period, exclusive. Must be after `date_from`, at most
    /// 366 days later.
    #[schema(format = DateTime, example = "2026-11-02T00:00:00Z")]
    pub date_to: String,
    /// Only this currency: the answer then has exactly one entry per kind,
    /// with zeros when nothing happened in it.
    #[schema(example = "RUB")]
    pub currency: Option<String>,
    /// Which payments: `payin`, `payout` or `all` (default).
    #[serde(default)]
    pub kind: StatsKind,
    /// `none` (default: no `series`), `hour` or `day` (UTC buckets).
    #[serde(default)]
    pub granularity: StatsGranularity,
}

// Both enums are read through a string: serde_json reports a number or null
// where a unit enum is expected as a syntax error (400 BAD_JSON) although the
// body is valid JSON; as a string it is a 422 naming the field.
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum StatsKind {
    Payin,
    Payout,
    #[default]
    All,
}

impl TryFrom<String> for StatsKind {
    type Error = String;
    fn try_from(s: String) -> Result<StatsKind, String> {
        one_of(&s, [("payin", StatsKind::Payin), ("payout", StatsKind::Payout), ("all", StatsKind::All)])
    }
}

/// The value named `text`, or an error listing the names.
fn one_of<T: Copy, const N: usize>(text: &str, choices: [(&str, T); N]) -> Result<T, String> {
    choices.iter().find(|(name, _)| *name == text).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        format!("unknown value {text:?}, expected one of: {}", names.join(", "))
    })
}

impl StatsKind {
    pub fn payin(self) -> bool {
        self != StatsKind::Payout
    }

    pub fn payout(self) -> bool {
        self != StatsKind::Payin
    }
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum StatsGranularity {
    #[default]
    None,
    Hour,
    Day,
}

impl TryFrom<String> for StatsGranularity {
    type Error = String;
    fn try_from(s: String) -> Result<StatsGranularity, String> {
        one_of(&s, [("none", StatsGranularity::None), ("hour", StatsGranularity::Hour), ("day", StatsGranularity::Day)])
    }
}

impl From<StatsGranularity> for Granularity {
    fn from(g: StatsGranularity) -> Granularity {
        match g {
            StatsGranularity::None => Granularity::None,
            StatsGranularity::Hour => Granularity::Hour,
            StatsGranularity::Day => Granularity::Day,
        }
    }
}

/// Statistics of the merchant's payments created in `[date_from, date_to)`,
/// in its current mode (test and live are separate).
#[derive(Serialize, ToSchema)]
pub struct StatisticsOut {
    /// The period's start, in UTC.
    #[schema(format = DateTime, example = "2026-11-01T00:00:00Z")]
    pub date_from: String,
    /// The period's end (exclusive), in UTC.
    #[schema(format = DateTime, example = "2026-11-02T00:00:00Z")]
    pub date_to: String,
    /// The `kind` asked for.
    pub kind: StatsKind,
    /// The `granularity` asked for.
    pub granularity: StatsGranularity,
    /// PayIns per currency, sorted by code: every currency with payins
    /// created in the period (or just `currency` when one was asked for).
    /// Absent when `kind` is `payout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub payin: Option<Vec<PayInStatsOut>>,
    /// PayOuts per currency, as for `payin`. Absent when `kind` is `payin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub payout: Option<Vec<PayOutStatsOut>>,
}

/// Payments in one status.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct StatsStatusOut {
    /// How many payments created in the period are in this status now.
    #[schema(example = 8)]
    pub count: i64,
    /// Σ of their `amount`.
    #[schema(example = "1200.00")]
    pub amount: String,
}

/// By current status; every status is always present.
#[derive(Serialize, ToSchema)]
pub struct PayInByStatusOut {
    pub pending: StatsStatusOut,
    pub success: StatsStatusOut,
    pub failed: StatsStatusOut,
    pub expired: StatsStatusOut,
    pub cancelled: StatsStatusOut,
}

impl PayInByStatusOut {
    /// Each status's figures from `of(status name)`.
    pub fn new(of: impl Fn(&str) -> StatsStatusOut) -> Self {
        use PayInStatus::*;
        let of = |s: PayInStatus| of(s.as_str());
        PayInByStatusOut {
            pending: of(Pending),
            success: of(Success),
            failed: of(Failed),
            expired: of(Expired),
            cancelled: of(Cancelled),
        }
    }
}

/// By current status; every status is always present.
#[derive(Serialize, ToSchema)]
pub struct PayOutByStatusOut {
    pub pending: StatsStatusOut,
    pub processing: StatsStatusOut,
    pub success: StatsStatusOut,
    pub failed: StatsStatusOut,
    pub cancelled: StatsStatusOut,
}

impl PayOutByStatusOut {
    /// Each status's figures from `of(status name)`.
    pub fn new(of: impl Fn(&str) -> StatsStatusOut) -> Self {
        use PayOutStatus::*;
        let of = |s: PayOutStatus| of(s.as_str());
        PayOutByStatusOut {
            pending: of(Pending),
            processing: of(Processing),
            success: of(Success),
            failed: of(Failed),
            cancelled: of(Cancelled),
        }
    }
}

/// Figures derived from the successful payments of one currency.
#[derive(Serialize, ToSchema)]
pub struct StatsFiguresOut {
    /// Σ `fee` of the successful payments.
    #[schema(example = "12.00")]
    pub fees: String,
    /// Σ `amount` of the successful payments.
    #[schema(example = "1200.00")]
    pub turnover: String,
    /// `turnover / success count`, rounded half up to the minor unit; null
    /// when none succeeded.
    #[schema(required = true, example = "150.00")]
    pub average_amount: Option<String>,
    /// `success / finished`, 4 decimals rounded half up, where finished is
    /// every final status (payins: success, failed, expired, cancelled;
    /// payouts: success, failed, cancelled); null when none finished.
    #[schema(required = true, example = "0.7273")]
    pub conversion_rate: Option<String>,
    /// Median of `completed_at − created_at` over the successful payments,
    /// in seconds with millisecond precision (rounded half up; for an even
    /// count, the lower mean of the two middle values); null when none
    /// succeeded.
    #[schema(value_type = Option<f64>, required = true, example = 42.5)]
    pub median_seconds_to_complete: Option<Box<RawValue>>,
}

/// Dispute activity about this currency's payins in the period.
#[derive(Serialize, ToSchema, Clone, Debug, Default)]
pub struct StatsDisputesOut {
    /// Disputes created in the period.
    pub opened: i64,
    /// Disputes accepted in the period (`resolved_at` in it).
    pub accepted: i64,
    /// Disputes rejected in the period (`resolved_at` in it).
    pub rejected: i64,
}

/// One bucket of the series.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct StatsBucketOut {
    /// Start of the UTC hour or day.
    #[schema(format = DateTime, example = "2026-11-01T00:00:00Z")]
    pub start: String,
    /// Payments created in the bucket, any status.
    pub count: i64,
    /// Of those, how many are successful now.
    pub success_count: i64,
    /// Σ `amount` of those successful ones.
    pub turnover: String,
    /// Σ `fee` of those successful ones.
    pub fees: String,
}

/// PayIns of one currency.
#[derive(Serialize, ToSchema)]
pub struct PayInStatsOut {
    #[schema(example = "RUB")]
    pub currency: String,
    /// PayIns created in the period, any status.
    #[schema(example = 12)]
    pub count: i64,
    pub by_status: PayInByStatusOut,
    #[serde(flatten)]
    pub figures: StatsFiguresOut,
    pub disputes: StatsDisputesOut,
    /// Non-empty buckets, oldest first; only when `granularity` is not `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<StatsBucketOut>>, nullable = false)]
    pub series: Option<SeriesOut>,
}

/// PayOuts of one currency.
#[derive(Serialize, ToSchema)]
pub struct PayOutStatsOut {
    #[schema(example = "RUB")]
    pub currency: String,
    /// PayOuts created in the period, any status.
    pub count: i64,
    pub by_status: PayOutByStatusOut,
    #[serde(flatten)]
    pub figures: StatsFiguresOut,
    /// Non-empty buckets, oldest first; only when `granularity` is not `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<StatsBucketOut>>, nullable = false)]
    pub series: Option<SeriesOut>,
}
