//! The version-1 order list (API.md 9.5): the partner's orders, newest
//! first, paged, optionally from a Unix timestamp on.

use super::auth::PartnerCall;
use super::error::{PartnerErrorEnvelope, PartnerResult};
use crate::error::ApiError;
use crate::exchange::view::unix_six;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::Json;
use paygate_store::exchange::orders::OrderFilter;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ListEntry {
    #[schema(example = "1621409585.000000")]
    pub created_at: String,
    pub id: String,
    pub partner_order_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ListOut {
    pub rows: i64,
    pub total: i64,
    pub data: Vec<ListEntry>,
}

fn query_int(
    q: &HashMap<String, String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            ApiError::validation(name, format!("must be a whole number from {} to {}", range.start(), range.end()))
        }),
    }
}

/// The partner's orders, newest first: `page` from 1, `rows` up to 100,
/// `timestamp` (Unix seconds) keeps orders created at or after it.
#[utoipa::path(get, path = "/api/v1/partner/order/list", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    params(("page" = Option<i64>, Query, minimum = 1, maximum = 1_000_000), ("rows" = Option<i64>, Query, minimum = 1, maximum = 100),
           ("timestamp" = Option<i64>, Query, minimum = 0, maximum = 9223372036854.0)),
    responses((status = 200, body = ListOut), (status = 422, body = PartnerErrorEnvelope)))]
pub async fn list_v1(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    call: PartnerCall,
) -> PartnerResult<Json<ListOut>> {
    let page = query_int(&q, "page", 1, 1..=1_000_000)?;
    let rows = query_int(&q, "rows", 50, 1..=100)?;
    let since = q.get("timestamp").map(|_| query_int(&q, "timestamp", 0, 0..=i64::MAX / 1_000_000)).transpose()?;
    let filter = OrderFilter {
        merchant_id: Some(call.partner.merchant_id.clone()),
        created_from: since.map(|s| s * 1_000_000),
        limit: rows,
        offset: (page - 1) * rows,
        with_total: true,
        ..OrderFilter::default()
    };
    let (found, total) = state.db.search_exchange_orders(&filter).await?;
    let data = found
        .iter()
        .map(|o| ListEntry {
            created_at: unix_six(o.created_at),
            id: o.id.clone(),
            partner_order_id: o.partner_order_id.clone(),
        })
        .collect();
    Ok(Json(ListOut { rows, total: total.unwrap_or(0), data }))
}
