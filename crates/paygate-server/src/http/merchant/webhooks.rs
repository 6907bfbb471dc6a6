//! `/api/v1/webhook/*`: the merchant's callback URL, the log of delivery
//! attempts, and resending an event (API.md sections 3 and 4).

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{ok, rfc3339, Envelope, Page};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::callback_url::CallbackUrl;
use paygate_store::events::{DeliveryFilter, DeliveryRow};
use paygate_store::merchants::MerchantPatch;
use paygate_store::time::now_micros;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsIn {
    /// Absent: read. A URL: set it. `null`: clear it.
    #[serde(default, deserialize_with = "crate::http::admin::merchants::double_option")]
    #[schema(value_type = Option<String>)]
    pub webhook_url: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct SettingsOut {
    pub webhook_url: Option<String>,
}

/// Read (`{}`) or set (`{webhook_url}`) where webhooks go when an object has
/// no `callback_url` of its own.
///
/// Webhook bodies are compact JSON `{"event_id","event","sequence","created_at","data"}`
/// signed with `X-Signature`; `sequence` counts one object's events 1, 2, … and each
/// object's events are delivered in that order (a later one waits until the earlier one
/// is delivered or has finally failed). Events produced while there is nowhere to send
/// them (no `callback_url`, no `webhook_url`) wait, without counting as failed attempts,
/// and are delivered in order as soon as a `webhook_url` is set. A loopback or private
/// URL is refused unless paygate runs with `PAYGATE_ALLOW_PRIVATE_CALLBACKS=true`.
#[utoipa::path(post, path = "/api/v1/webhook/settings", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = SettingsIn, responses((status = 200, body = inline(Envelope<SettingsOut>)), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn settings(State(state): State<AppState>, req: Signed<SettingsIn>) -> ApiResult<Response> {
    let Some(wanted) = req.body.webhook_url else {
        return Ok(ok(SettingsOut { webhook_url: req.merchant.webhook_url.clone() }));
    };
    let url = match wanted {
        Some(u) => Some(
            CallbackUrl::parse(&u, state.settings.allow_private_callbacks)
                .map_err(|e| ApiError::validation("webhook_url", e.to_string()))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let patch = MerchantPatch { webhook_url: Some(url), ..Default::default() };
    let m = state.db.update_merchant(&req.merchant.id, patch).await?.ok_or(ApiError::NotFound)?;
    state.forget_merchant(&m);
    Ok(ok(SettingsOut { webhook_url: m.webhook_url }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesIn {
    pub event_id: Option<String>,
    /// A payin, payout or dispute id.
    pub object_id: Option<String>,
    #[schema(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "crate::http::body::whole_number")]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// How a delivery attempt ended: 2xx, another status, or no answer.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the `status` filters, which are read as text
pub enum DeliveryStatus {
    Success,
    Failed,
    Error,
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: String,
    pub event_id: String,
    pub event: String,
    pub object_id: String,
    pub url: Option<String>,
    pub attempt: i64,
    pub status: String,
    pub http_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub created_at: String,
}

pub fn delivery_out(d: &DeliveryRow) -> DeliveryOut {
    DeliveryOut {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        event: d.event_type.clone(),
        object_id: d.object_id.clone(),
        url: d.url.clone(),
        attempt: d.attempt,
        status: d.status.clone(),
        http_status: d.http_status,
        latency_ms: d.latency_ms,
        error: d.error.clone(),
        response_excerpt: d.response_excerpt.clone(),
        created_at: rfc3339(d.created_at),
    }
}

pub fn delivery_filter(merchant_id: Option<String>, input: DeliveriesIn) -> ApiResult<DeliveryFilter> {
    let limit = input.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    if input.status.as_deref().is_some_and(|s| !matches!(s, "success" | "failed" | "error")) {
        return Err(ApiError::validation("status", "must be success, failed or error"));
    }
    Ok(DeliveryFilter {
        merchant_id,
        event_id: input.event_id,
        object_id: input.object_id,
        status: input.status,
        before_id: input.cursor,
        limit: limit + 1,
    })
}

/// Every delivery attempt of your webhooks, newest first.
#[utoipa::path(post, path = "/api/v1/webhook/deliveries", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = DeliveriesIn, responses((status = 200, body = inline(Envelope<Page<DeliveryOut>>))))]
pub async fn deliveries(State(state): State<AppState>, req: Signed<DeliveriesIn>) -> ApiResult<Response> {
    let filter = delivery_filter(Some(req.merchant.id.clone()), req.body)?;
    let rows = state.db.deliveries(&filter).await?;
    Ok(ok(super::paging::page(&rows, filter.limit, |d| d.id.clone(), delivery_out)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendIn {
    pub event_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResendOut {
    pub event_id: String,
    pub queued: bool,
}

/// Queue one of your events for delivery again, now (same `event_id`, same body).
#[utoipa::path(post, path = "/api/v1/webhook/resend", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = ResendIn, responses((status = 200, body = inline(Envelope<ResendOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn resend(State(state): State<AppState>, req: Signed<ResendIn>) -> ApiResult<Response> {
    if !state.db.requeue_event(&req.body.event_id, Some(&req.merchant.id), now_micros()).await? {
        return Err(ApiError::NotFound);
    }
    state.wake_deliveries();
    Ok(ok(ResendOut { event_id: req.body.event_id, queued: true }))
}
