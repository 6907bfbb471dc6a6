//! `POST /callbacks/switchere/{provider_id}`: an upstream exchange's news
//! about the orders paygate opened there (API.md section 7). The
//! `API-Signature` (either base64 form) is checked against the provider's
//! callback secret, in constant time, before the body is parsed; a bad or
//! missing one is 401 and changes nothing. A replay, or news older than
//! what the payment knows, changes nothing (`providers::outcome`).

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::http::auth::PathParam;
use crate::http::body::read_limited;
use crate::providers::outcome::{apply, Applied, News};
use crate::providers::switchere::exact_decimal;
use crate::providers::{registry, ProviderKind};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_core::signature::verify_partner_signature;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(switchere_callback))
}

#[derive(Deserialize)]
struct Callback<'a> {
    #[serde(borrow)]
    client_order: Order<'a>,
}

#[derive(Deserialize)]
struct Order<'a> {
    partner_order_id: String,
    status: String,
    #[serde(borrow, default)]
    payin_amount: Option<&'a RawValue>,
    #[serde(default)]
    error_message: Option<String>,
}

/// An upstream's callback about one order (`{"client_order": {…}, "type":
/// "client_order", "version": 2}`), signed in the `API-Signature` header
/// with the provider's callback secret: base64(HMAC-SHA512(callback secret,
/// SHA-256(raw body))), padded or unpadded. Answers `{"success": 1,
/// "changed": true|false}`.
#[utoipa::path(post, path = "/callbacks/switchere/{provider_id}", tag = "providers",
    params(("provider_id" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Taken (or already known)", body = Object),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn switchere_callback(
    State(state): State<AppState>,
    PathParam(provider_id): PathParam<String>,
    req: Request,
) -> ApiResult<Response> {
    let registry = registry::load(&state).await?;
    let provider = registry.providers.iter().find(|p| p.id == provider_id).ok_or(ApiError::NotFound)?;
    let ProviderKind::Switchere(cfg) = &provider.kind else { return Err(ApiError::NotFound) };
    let signature = req.headers().get("api-signature").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = read_limited(req.into_body(), state.settings.max_body_bytes).await?;
    let signed = signature
        .is_some_and(|s| verify_partner_signature(cfg.callback_secret.expose_secret().as_bytes(), &body, s.trim()));
    if !signed {
        tracing::warn!(provider = %provider_id, "upstream callback with a bad or missing signature");
        return Err(ApiError::CallbackBadSignature);
    }
    let callback: Callback =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadJson(format!("not a client_order callback: {e}")))?;
    let order = callback.client_order;
    let news = News {
        status: order.status,
        payin_amount: order.payin_amount.and_then(|r| exact_decimal(r.get())),
        error_message: order.error_message,
    };
    let applied = apply(&state, &provider_id, &order.partner_order_id, &news).await?;
    tracing::info!(provider = %provider_id, payment = %order.partner_order_id, status = %news.status, changed = (applied == Applied::Changed), "upstream callback");
    Ok(Json(serde_json::json!({"success": 1, "changed": applied == Applied::Changed})).into_response())
}
