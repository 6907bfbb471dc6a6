//! Operator endpoints for merchants (API.md section 5).

use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, JsonBody, PathParam, QueryParams};
use crate::http::envelope::{created, ok, rfc3339, Page};
use crate::merchants::{self, WithSecret};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::callback_url::CallbackUrl;
use paygate_core::fees::{FeeSchedule, Limits};
use paygate_core::tokens::Mode;
use paygate_store::merchants::{MerchantPatch, MerchantRecord};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_merchant, list_merchants))
        .routes(routes!(get_merchant, patch_merchant))
        .routes(routes!(rotate_secret))
}

/// A merchant as the operator sees it. Never contains a secret.
#[derive(Serialize, ToSchema)]
pub struct MerchantOut {
    #[schema(example = "mch_01jb3k5v7q8r9s0t1v2w3x4y5z")]
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(example = "test")]
    pub mode: String,
    pub enabled: bool,
    pub public_token: String,
    /// When true, `X-App-Access-Sig` must cover `ts + email + raw body`.
    pub sign_body: bool,
    pub webhook_url: Option<String>,
    pub ip_allowlist: Vec<String>,
    #[schema(value_type = Object)]
    pub fees: serde_json::Value,
    #[schema(value_type = Object)]
    pub limits: serde_json::Value,
    /// Requests per second this merchant may make on each node (burst twice
    /// that); `null`: the node's `rate_limit_per_second`; 0: no limit.
    pub rate_limit_per_second: Option<i64>,
    /// Until when the secret replaced by the last rotation is still accepted.
    pub previous_secret_valid_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&MerchantRecord> for MerchantOut {
    fn from(m: &MerchantRecord) -> Self {
        MerchantOut {
            id: m.id.clone(),
            email: m.email.clone(),
            name: m.name.clone(),
            mode: m.mode.as_str().into(),
            enabled: m.enabled,
            public_token: m.public_token.clone(),
            sign_body: m.sign_body,
            webhook_url: m.webhook_url.clone(),
            ip_allowlist: serde_json::from_str(&m.ip_allowlist).unwrap_or_default(),
            fees: serde_json::from_str(&m.fees).unwrap_or_default(),
            limits: serde_json::from_str(&m.limits).unwrap_or_default(),
            rate_limit_per_second: m.rate_limit_per_second,
            previous_secret_valid_until: m.prev_secret_expires_at.map(rfc3339),
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

/// A merchant with its credentials: only in the create and rotate answers.
#[derive(Serialize, ToSchema)]
pub struct MerchantWithSecretOut {
    #[serde(flatten)]
    pub merchant: MerchantOut,
    /// Shown once. Store it now: paygate keeps it only encrypted.
    pub secret_token: String,
}

impl From<WithSecret> for MerchantWithSecretOut {
    fn from(w: WithSecret) -> Self {
        MerchantWithSecretOut {
            merchant: MerchantOut::from(&w.merchant),
            secret_token: w.secret_token.expose_secret().to_string(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchantIn {
    pub email: String,
    pub name: String,
    /// `test` (default) or `live`.
    #[serde(default)]
    pub mode: Option<String>,
}

pub fn parse_mode(text: &str) -> Result<Mode, ApiError> {
    Mode::parse(text).ok_or_else(|| ApiError::validation("mode", "must be test or live"))
}

/// Create a merchant; the answer holds its `secret_token`, shown only here.
#[utoipa::path(post, path = "/admin/v1/merchants", tag = "admin", security(("admin" = [])),
    request_body = CreateMerchantIn,
    responses((status = 201, body = inline(crate::http::envelope::Envelope<MerchantWithSecretOut>)),
              (status = 409, description = "EMAIL_TAKEN", body = crate::error::ErrorEnvelope),
              (status = 422, body = crate::error::ErrorEnvelope)))]
async fn create_merchant(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CreateMerchantIn>,
) -> ApiResult<Response> {
    let mode = input.mode.as_deref().map(parse_mode).transpose()?.unwrap_or(Mode::Test);
    let made = merchants::create(&state, &input.email, &input.name, mode).await?;
    tracing::info!(merchant_id = %made.merchant.id, mode = mode.as_str(), "merchant created");
    Ok(created(MerchantWithSecretOut::from(made)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List merchants in creation order.
#[utoipa::path(get, path = "/admin/v1/merchants", tag = "admin", security(("admin" = [])), params(ListParams),
    responses((status = 200, body = inline(crate::http::envelope::Envelope<Page<MerchantOut>>))))]
async fn list_merchants(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<ListParams>,
) -> ApiResult<Response> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    let rows = state.db.list_merchants(p.cursor.as_deref(), limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<MerchantOut> = rows.iter().take(limit as usize).map(MerchantOut::from).collect();
    let next_cursor = has_more.then(|| items.last().map(|m| m.id.clone())).flatten();
    Ok(ok(Page { items, next_cursor }))
}

/// Read one merchant.
#[utoipa::path(get, path = "/admin/v1/merchants/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = inline(crate::http::envelope::Envelope<MerchantOut>)),
              (status = 404, body = crate::error::ErrorEnvelope)))]
async fn get_merchant(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    let m = state.db.merchant(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(MerchantOut::from(&m)))
}

/// Fields to change; absent fields stay as they are. `webhook_url: null`
/// clears the URL.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchMerchantIn {
    pub name: Option<String>,
    pub mode: Option<String>,
    pub enabled: Option<bool>,
    pub sign_body: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub webhook_url: Option<Option<String>>,
    /// Networks in CIDR form or single addresses; empty allows any.
    pub ip_allowlist: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::http::body::object_only")]
    #[schema(value_type = Option<Object>)]
    pub fees: Option<FeeSchedule>,
    #[serde(default, deserialize_with = "crate::http::body::object_only")]
    #[schema(value_type = Option<Object>)]
    pub limits: Option<Limits>,
    /// Requests per second on each node, 0-1,000,000,000 (0: no limit);
    /// `null` goes back to the node's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000)]
    pub rate_limit_per_second: Option<Option<i64>>,
    /// An exchange partner's fees (API.md 9.2); the merchant must be a partner.
    #[serde(default, deserialize_with = "crate::http::body::object_only")]
    pub exchange_fees: Option<crate::exchange::fees::ExchangeFeesIn>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Turns the request into a validated patch.
pub fn validate_patch(state: &AppState, input: PatchMerchantIn) -> Result<MerchantPatch, ApiError> {
    let allow_private = state.settings.allow_private_callbacks;
    let webhook_url = match input.webhook_url {
        Some(Some(url)) => {
            let parsed = CallbackUrl::parse(&url, allow_private)
                .map_err(|e| ApiError::validation("webhook_url", e.to_string()))?;
            Some(Some(parsed.as_str().to_string()))
        }
        Some(None) => Some(None),
        None => None,
    };
    let ip_allowlist = input
        .ip_allowlist
        .map(|list| {
            let nets = list
                .iter()
                .map(|s| {
                    parse_net(s).ok_or_else(|| {
                        ApiError::validation("ip_allowlist", format!("{s:?} is not an address or CIDR network"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if nets.len() > 100 {
                return Err(ApiError::validation("ip_allowlist", "at most 100 entries"));
            }
            Ok(serde_json::to_string(&nets).expect("networks serialise"))
        })
        .transpose()?;
    let fees = input
        .fees
        .map(|f| {
            f.validate(&state.currencies).map_err(|e| ApiError::validation(&e.field, e.issue))?;
            Ok::<_, ApiError>(serde_json::to_string(&f).expect("fees serialise"))
        })
        .transpose()?;
    let limits = input
        .limits
        .map(|l| {
            l.validate(&state.currencies).map_err(|e| ApiError::validation(&e.field, e.issue))?;
            Ok::<_, ApiError>(serde_json::to_string(&l).expect("limits serialise"))
        })
        .transpose()?;
    if let Some(Some(rate)) = input.rate_limit_per_second {
        if !(0..=MAX_RATE_LIMIT).contains(&rate) {
            return Err(ApiError::validation("rate_limit_per_second", "must be between 0 and 1000000000, or null"));
        }
    }
    Ok(MerchantPatch {
        name: input.name.as_deref().map(merchants::validate_name).transpose()?,
        mode: input.mode.as_deref().map(parse_mode).transpose()?,
        enabled: input.enabled,
        sign_body: input.sign_body,
        webhook_url,
        ip_allowlist,
        fees,
        limits,
        rate_limit_per_second: input.rate_limit_per_second,
    })
}

/// A billion requests a second is no limit in practice; anything larger is
/// a typo.
const MAX_RATE_LIMIT: i64 = 1_000_000_000;

fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// Change a merchant: webhook URL, IP allow-list, enabled, mode, fees, limits,
/// request rate limit.
#[utoipa::path(patch, path = "/admin/v1/merchants/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), request_body = PatchMerchantIn,
    responses((status = 200, body = inline(crate::http::envelope::Envelope<MerchantOut>)),
              (status = 404, body = crate::error::ErrorEnvelope),
              (status = 422, body = crate::error::ErrorEnvelope)))]
async fn patch_merchant(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(mut input): JsonBody<PatchMerchantIn>,
) -> ApiResult<Response> {
    let exchange_fees = match input.exchange_fees.take() {
        Some(fees) => {
            fees.validate(&state.currencies)?;
            if state.db.merchant(&id).await?.is_some() && state.db.partner(&id).await?.is_none() {
                return Err(ApiError::validation("exchange_fees", "the merchant is not an exchange partner"));
            }
            Some(serde_json::to_string(&fees).map_err(ApiError::internal)?)
        }
        None => None,
    };
    let patch = validate_patch(&state, input)?;
    let m = state.db.update_merchant(&id, patch).await?.ok_or(ApiError::NotFound)?;
    if let Some(fees) = exchange_fees {
        let patch = paygate_store::exchange::partners::PartnerPatch { exchange_fees: Some(fees), ..Default::default() };
        state.db.update_partner(&id, patch).await?;
    }
    state.forget_merchant(&m);
    crate::exchange::cache::forget_partner(&state, &m.id);
    tracing::info!(merchant_id = %m.id, enabled = m.enabled, "merchant updated");
    Ok(ok(MerchantOut::from(&m)))
}

/// Issue a new SecretToken. The previous one keeps working for the grace
/// period (`secret_grace_secs`, default 24 h) so merchants can roll over.
#[utoipa::path(post, path = "/admin/v1/merchants/{id}/rotate-secret", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = inline(crate::http::envelope::Envelope<MerchantWithSecretOut>)),
              (status = 404, body = crate::error::ErrorEnvelope)))]
async fn rotate_secret(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    let rotated = merchants::rotate_secret(&state, &id).await?;
    Ok(ok(MerchantWithSecretOut::from(rotated)))
}
