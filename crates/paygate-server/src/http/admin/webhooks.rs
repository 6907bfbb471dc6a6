//! Operator view of webhook deliveries, and resending any event.

use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, PathParam, QueryParams};
use crate::http::envelope::{ok, Envelope, Page};
use crate::http::merchant::paging::page;
use crate::http::merchant::webhooks::{delivery_filter, delivery_out, DeliveriesIn, DeliveryOut, ResendOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_store::time::now_micros;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_deliveries)).routes(routes!(resend_event))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    pub merchant_id: Option<String>,
    pub event_id: Option<String>,
    pub object_id: Option<String>,
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Delivery attempts across merchants, newest first.
#[utoipa::path(get, path = "/admin/v1/webhooks/deliveries", tag = "admin", security(("admin" = [])), params(DeliveryParams),
    responses((status = 200, body = inline(Envelope<Page<DeliveryOut>>))))]
async fn list_deliveries(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<DeliveryParams>,
) -> ApiResult<Response> {
    let input = DeliveriesIn {
        event_id: p.event_id,
        object_id: p.object_id,
        status: p.status,
        limit: p.limit,
        cursor: p.cursor,
    };
    let filter = delivery_filter(p.merchant_id, input)?;
    let rows = state.db.deliveries(&filter).await?;
    Ok(ok(page(&rows, filter.limit, |d| d.id.clone(), delivery_out)))
}

/// Queue any event for delivery again, now.
#[utoipa::path(post, path = "/admin/v1/events/{id}/resend", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = inline(Envelope<ResendOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
async fn resend_event(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    if !state.db.requeue_event(&id, None, now_micros()).await? {
        return Err(ApiError::NotFound);
    }
    state.wake_deliveries();
    Ok(ok(ResendOut { event_id: id, queued: true }))
}
