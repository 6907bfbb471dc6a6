//! Filters and paging shared by the merchant list endpoints.

use crate::error::{ApiError, ApiResult};
use crate::http::envelope::Page;
use crate::payments::input::{currency_exponent, parse_time};
use crate::state::AppState;
use paygate_store::payments::ListFilter;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ListIn {
    /// Any of the kind's statuses.
    #[serde(default, rename = "status")]
    pub statuses: Vec<String>,
    pub currency: Option<String>,
    /// RFC 3339; created at or after.
    pub date_from: Option<String>,
    /// RFC 3339; created before.
    pub date_to: Option<String>,
    /// 1-100, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn list_filter(
    state: &AppState,
    input: &ListIn,
    merchant_id: Option<&str>,
    status_ok: impl Fn(&str) -> bool,
) -> ApiResult<ListFilter> {
    let limit = input.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    if let Some(bad) = input.statuses.iter().find(|s| !status_ok(s)) {
        return Err(ApiError::validation("status", format!("unknown status {bad:?}")));
    }
    // Every entry is a known status, so after this at most five remain.
    let mut statuses = input.statuses.clone();
    statuses.sort();
    statuses.dedup();
    if let Some(c) = &input.currency {
        currency_exponent(&state.currencies, c)?;
    }
    let time = |v: &Option<String>, field: &str| -> ApiResult<Option<i64>> {
        v.as_deref()
            .map(|t| parse_time(t).ok_or_else(|| ApiError::validation(field, "must be an RFC 3339 time")))
            .transpose()
    };
    Ok(ListFilter {
        merchant_id: merchant_id.map(str::to_string),
        statuses,
        currency: input.currency.clone(),
        created_from: time(&input.date_from, "date_from")?,
        created_to: time(&input.date_to, "date_to")?,
        before_id: input.cursor.clone(),
        limit: limit + 1,
        ..Default::default()
    })
}

/// Trims the look-ahead row (queries ask for `limit + 1`) into a cursor.
pub fn page<R, T>(mut rows: Vec<R>, limit_plus_one: i64, id: impl Fn(&R) -> String, view: impl Fn(&R) -> T) -> Page<T> {
    let limit = (limit_plus_one - 1) as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(&id) } else { None };
    Page { items: rows.iter().map(view).collect(), next_cursor }
}
