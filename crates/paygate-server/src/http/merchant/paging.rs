//! Filters and paging shared by the merchant list endpoints.

use crate::error::ApiResult;
use crate::http::envelope::Page;
use crate::http::filters;
use crate::payments::input::currency_exponent;
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
    #[serde(default, deserialize_with = "crate::http::body::whole_number")]
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
    if let Some(c) = &input.currency {
        currency_exponent(&state.currencies, c)?;
    }
    Ok(ListFilter {
        merchant_id: merchant_id.map(str::to_string),
        statuses: filters::statuses(input.statuses.clone(), status_ok)?,
        currency: input.currency.clone(),
        created_from: filters::time(&input.date_from, "date_from")?,
        created_to: filters::time(&input.date_to, "date_to")?,
        before_id: input.cursor.clone(),
        limit: filters::limit_plus_one(input.limit)?,
        ..Default::default()
    })
}

/// Trims the look-ahead row (queries ask for `limit + 1`) into a cursor.
/// The items may borrow from `rows`.
pub fn page<'r, R, T>(
    rows: &'r [R],
    limit_plus_one: i64,
    id: impl Fn(&R) -> String,
    view: impl Fn(&'r R) -> T,
) -> Page<T> {
    let limit = (limit_plus_one - 1) as usize;
    let shown = &rows[..rows.len().min(limit)];
    let next_cursor = if rows.len() > limit { shown.last().map(id) } else { None };
    Page { items: shown.iter().map(view).collect(), next_cursor }
}
