//! Operator endpoints for exchange partners (API.md 9.1): issuing
//! credentials, changing the callback and fees, rotating secrets.

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::exchange::fees::ExchangeFeesIn;
use crate::exchange::partners::{self, parse_padding, PartnerOut, PartnerWithSecretsOut};
use crate::http::auth::{Admin, JsonBody, PathParam};
use crate::http::envelope::{created, ok, Envelope};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::callback_url::CallbackUrl;
use paygate_store::exchange::partners::{PartnerPatch, PartnerRecord};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enable_partner, update_partner, get_partner)).routes(routes!(rotate_partner))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EnableIn {
    /// Where callbacks go unless an order names its own.
    pub callback_url: Option<String>,
    /// `padded` (default, PHP's form) or `unpadded` (Perl's form) base64 in
    /// the callbacks' `API-Signature`.
    pub signature_padding: Option<String>,
}

/// Makes a merchant an exchange partner. The answer shows `secret` and
/// `callback_secret` once; 409 `PARTNER_EXISTS` if it already is one.
#[utoipa::path(post, path = "/admin/v1/merchants/{id}/partner", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), request_body = EnableIn,
    responses((status = 201, body = inline(Envelope<PartnerWithSecretsOut>)), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "PARTNER_EXISTS", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn enable_partner(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<EnableIn>,
) -> ApiResult<Response> {
    let padding = parse_padding(input.signature_padding.as_deref().unwrap_or("padded"))?;
    Ok(created(partners::enable(&state, &id, input.callback_url, padding).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerPatchIn {
    /// A URL, or `null` to clear it.
    #[serde(default, deserialize_with = "crate::http::admin::merchants::double_option")]
    #[schema(value_type = Option<String>)]
    pub callback_url: Option<Option<String>>,
    pub signature_padding: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::body::object_only")]
    pub exchange_fees: Option<ExchangeFeesIn>,
}

/// Changes a partner's callback URL, signature padding, access or fees.
#[utoipa::path(patch, path = "/admin/v1/merchants/{id}/partner", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), request_body = PartnerPatchIn,
    responses((status = 200, body = inline(Envelope<PartnerOut>)), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn update_partner(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<PartnerPatchIn>,
) -> ApiResult<Response> {
    let p = apply_patch(&state, &id, input).await?;
    Ok(ok(PartnerOut::from(&p)))
}

/// Checks and applies a partner change (the dashboard uses it too): the
/// callback URL as every callback target is checked, the padding, the fees.
pub async fn apply_patch(state: &AppState, id: &str, input: PartnerPatchIn) -> Result<PartnerRecord, ApiError> {
    let callback_url = match input.callback_url {
        Some(Some(u)) => Some(Some(
            CallbackUrl::parse(&u, state.settings.allow_private_callbacks)
                .map_err(|e| ApiError::validation("callback_url", e.to_string()))?
                .as_str()
                .to_string(),
        )),
        other => other,
    };
    let signature_padding = input.signature_padding.as_deref().map(parse_padding).transpose()?.map(str::to_string);
    let exchange_fees = match &input.exchange_fees {
        Some(f) => {
            f.validate(&state.currencies)?;
            Some(serde_json::to_string(f).map_err(ApiError::internal)?)
        }
        None => None,
    };
    let patch = PartnerPatch { callback_url, signature_padding, enabled: input.enabled, exchange_fees };
    let p = state.db.update_partner(id, patch).await?.ok_or(ApiError::NotFound)?;
    crate::exchange::cache::forget_partner(state, id);
    if p.callback_url.is_some() {
        state.wake_deliveries();
    }
    Ok(p)
}

/// A partner's settings (never its secrets).
#[utoipa::path(get, path = "/admin/v1/merchants/{id}/partner", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), responses((status = 200, body = inline(Envelope<PartnerOut>)), (status = 404, body = ErrorEnvelope)))]
async fn get_partner(_: Admin, State(state): State<AppState>, PathParam(id): PathParam<String>) -> ApiResult<Response> {
    let p = state.db.partner(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(PartnerOut::from(&p)))
}

/// New request and callback secrets, shown once; the old request secret
/// keeps working for the grace period.
#[utoipa::path(post, path = "/admin/v1/merchants/{id}/partner/rotate", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), responses((status = 200, body = inline(Envelope<PartnerWithSecretsOut>)), (status = 404, body = ErrorEnvelope)))]
async fn rotate_partner(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    let rotated = partners::rotate(&state, &id).await?;
    crate::exchange::cache::forget_partner(&state, &id);
    Ok(ok(rotated))
}
