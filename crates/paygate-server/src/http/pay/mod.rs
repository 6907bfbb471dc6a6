//! The hosted payment page (API.md section 11): `GET /pay/{token}` for a
//! payin's `pay_url` and an exchange order's `redirect`/`url`. The token is
//! random and the page's only key: it reveals that one payment and nothing
//! else, and an unknown token (or a payment that expired or was cancelled)
//! is a plain 404 page. Test merchants and partners get a button that
//! simulates the payment; a `purchase_url` order first asks the customer
//! which currency to pay in.

mod html;
pub use html::escape;
mod model;

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use model::{find, order_phase, payin_phase, view, Payment, Phase};
use paygate_core::payments::PayInStatus;
use paygate_core::tokens::Mode;
use paygate_store::writer::PayInChange;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pay_page))
        .routes(routes!(pay_status))
        .routes(routes!(simulate))
        .routes(routes!(choose_currency))
        .routes(routes!(pay_css))
        .routes(routes!(pay_js))
}

/// Nothing but this origin's own styles, script and requests; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

fn phase_of(p: &Payment) -> Phase {
    match p {
        Payment::PayIn(p) => payin_phase(p.status),
        Payment::Order(o) => order_phase(o.status),
    }
}

/// The page, or `None` when the token opens none.
async fn open(state: &AppState, token: &str) -> Result<Option<Payment>, ApiError> {
    Ok(find(state, token).await?.filter(|p| phase_of(p) != Phase::Gone))
}

/// The customer's page of a payment: amount, where to pay (requisites, or a
/// crypto address with its QR code), the time left and the live status.
#[utoipa::path(get, path = "/pay/{token}", tag = "pages", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html"), (status = 404, content_type = "text/html")))]
async fn pay_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    Ok(match open(&state, &token).await? {
        Some(p) => html(StatusCode::OK, html::render(&token, &view(&state, &p).await)),
        None => html(StatusCode::NOT_FOUND, html::not_found()),
    })
}

#[derive(Serialize, ToSchema)]
pub struct PayStatusOut {
    /// The payment's own status (`pending`, `success`, `payin_pending`, …).
    pub status: String,
    /// `waiting`, `paid`, `failed` or `gone`: what the page shows.
    #[schema(value_type = String, example = "waiting")]
    pub phase: Phase,
}

fn status_of(p: &Payment) -> PayStatusOut {
    let status = match p {
        Payment::PayIn(p) => p.status.as_str(),
        Payment::Order(o) => o.status.as_str(),
    };
    PayStatusOut { status: status.into(), phase: phase_of(p) }
}

/// The page's live status (polled by its script).
#[utoipa::path(get, path = "/pay/{token}/status", tag = "pages", params(("token" = String, Path)),
    responses((status = 200, body = PayStatusOut), (status = 404, body = crate::error::ErrorEnvelope)))]
async fn pay_status(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let p = find(&state, &token).await?.ok_or(ApiError::NotFound)?;
    let mut r = axum::Json(status_of(&p)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// A form post must come from this gateway's own pages: a browser sends
/// `Origin` with every POST, and another site's is refused.
fn same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => Ok(()),
        Some(origin) if state.public_base().trim_end_matches('/') == origin => Ok(()),
        Some(_) => Err(ApiError::Forbidden("this form only accepts posts from its own page".into())),
    }
}

/// Answers a form post: JSON to the page's script, else back to the page.
fn after_post(headers: &HeaderMap, token: &str, p: &Payment) -> Response {
    let wants_json = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("json"));
    if wants_json {
        axum::Json(status_of(p)).into_response()
    } else {
        (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/pay/{token}"))]).into_response()
    }
}

/// Test mode only: the customer "pays" (the sandbox), as the merchant's or
/// partner's own sandbox call would.
#[utoipa::path(post, path = "/pay/{token}/simulate", tag = "pages", params(("token" = String, Path)),
    responses((status = 303, description = "Back to the page"), (status = 200, body = PayStatusOut),
              (status = 403, body = crate::error::ErrorEnvelope), (status = 404, body = crate::error::ErrorEnvelope),
              (status = 409, body = crate::error::ErrorEnvelope)))]
async fn simulate(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&state, &headers)?;
    let payment = open(&state, &token).await?.ok_or(ApiError::NotFound)?;
    let after = match payment {
        Payment::PayIn(p) => {
            if p.mode != Mode::Test || p.provider != "sandbox" {
                return Err(ApiError::Forbidden("only test payments can be simulated".into()));
            }
            let change = PayInChange {
                id: p.id.to_string(),
                merchant_id: None,
                to: PayInStatus::Success,
                amount: None,
                reason: None,
            };
            let row = state.writer.move_payin(change).await.map_err(crate::payments::api_error)?;
            Payment::PayIn(Box::new(row))
        }
        Payment::Order(o) => {
            if o.mode != Mode::Test {
                return Err(ApiError::Forbidden("only test payments can be simulated".into()));
            }
            Payment::Order(Box::new(crate::exchange::sandbox::pay(&state, &o.id, None).await?))
        }
    };
    Ok(after_post(&headers, &token, &after))
}

/// A `purchase_url` order: the customer picks the currency to pay in
/// (`currency=ETH`, form-encoded); the amount is locked then.
#[utoipa::path(post, path = "/pay/{token}/currency", tag = "pages", params(("token" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "currency=ETH"),
    responses((status = 303, description = "Back to the page"), (status = 404, body = crate::error::ErrorEnvelope),
              (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
async fn choose_currency(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&state, &headers)?;
    let Some(Payment::Order(o)) = open(&state, &token).await? else { return Err(ApiError::NotFound) };
    let text = std::str::from_utf8(&body).unwrap_or("");
    let currency = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("currency="))
        .filter(|c| !c.is_empty() && c.len() <= 10 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or_else(|| ApiError::validation("currency", "pick one of the currencies shown"))?;
    let partner = state.db.partner(&o.merchant_id).await?.ok_or(ApiError::NotFound)?;
    let chosen = crate::exchange::orders::choose_payin_currency(&state, &partner, &o.id, currency).await?;
    Ok(after_post(&headers, &token, &Payment::Order(Box::new(chosen))))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

/// The page's styles, served from the binary.
#[utoipa::path(get, path = "/assets/pay.css", tag = "pages", responses((status = 200, content_type = "text/css")))]
async fn pay_css() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../../assets/pay.css"))
}

/// The page's script, served from the binary.
#[utoipa::path(get, path = "/assets/pay.js", tag = "pages", responses((status = 200, content_type = "text/javascript")))]
async fn pay_js() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../../assets/pay.js"))
}
