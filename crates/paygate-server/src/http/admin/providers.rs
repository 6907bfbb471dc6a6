//! Operator endpoints for providers and routing (API.md section 7):
//! provider instances (credentials sealed, never returned), routing rules,
//! each provider's health and the refusals log.

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::http::auth::{Admin, JsonBody, QueryParams};
use crate::http::envelope::{ok, rfc3339, Envelope, Page};
use crate::providers::breaker::Condition;
use crate::providers::registry::{binding, forget, SwitchereSecrets, SwitchereSettings};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::payments::Method;
use paygate_core::routing::RouteRule;
use paygate_store::merchants::Sealed;
use paygate_store::providers::{ProviderRow, ReplaceError, BUILT_IN};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_providers, put_providers))
        .routes(routes!(get_routes, put_routes))
        .routes(routes!(health))
        .routes(routes!(refusals))
}

/// A provider as the operator writes it. For `switchere`, `config` holds
/// `base_url`, `api_key`, `secret`, `callback_secret`, `signature_padding`,
/// `payout_currency`, `payout_group`, `payin_group` and `timeout_ms`; the
/// three credentials may be left out to keep the stored ones.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderIn {
    #[schema(example = "upstream-b")]
    pub id: String,
    /// `sandbox`, `manual` or `switchere`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidersIn {
    pub providers: Vec<ProviderIn>,
}

/// A provider as the operator reads it: never a credential.
#[derive(Serialize, ToSchema)]
pub struct ProviderOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub enabled: bool,
    #[schema(value_type = Object)]
    pub config: Value,
    /// Whether credentials are stored (they are never shown).
    pub has_credentials: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ProvidersOut {
    pub providers: Vec<ProviderOut>,
}

/// Every provider, the built-ins `sandbox` and `manual` included.
#[utoipa::path(get, path = "/admin/v1/providers", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<ProvidersOut>))))]
async fn get_providers(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let rows = state.db.providers().await?;
    let providers = rows
        .into_iter()
        .map(|r| ProviderOut {
            config: serde_json::from_str(&r.config).unwrap_or_default(),
            has_credentials: r.secrets_sealed.is_some(),
            id: r.id,
            kind: r.kind,
            enabled: r.enabled,
        })
        .collect();
    Ok(ok(ProvidersOut { providers }))
}

/// Replaces the providers (the built-ins stay, and may be disabled). A
/// provider still named by a route, or holding open payments, cannot be
/// left out: 409 `PROVIDER_IN_USE` (disable it instead).
#[utoipa::path(put, path = "/admin/v1/providers", tag = "admin", security(("admin" = [])), request_body = ProvidersIn,
    responses((status = 200, body = inline(Envelope<ProvidersOut>)), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn put_providers(
    caller: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<ProvidersIn>,
) -> ApiResult<Response> {
    replace_providers(&state, input).await?;
    get_providers(caller, State(state)).await
}

/// Checks and stores a whole set of providers (the dashboard uses it too).
pub async fn replace_providers(state: &AppState, input: ProvidersIn) -> Result<(), ApiError> {
    let existing = state.db.providers().await?;
    let mut rows = Vec::new();
    for (i, p) in input.providers.into_iter().enumerate() {
        let field = |name: &str| format!("providers[{i}].{name}");
        if rows.iter().any(|r: &ProviderRow| r.id == p.id) {
            return Err(ApiError::validation(&field("id"), "is given twice"));
        }
        let before = existing.iter().find(|r| r.id == p.id);
        rows.push(provider_row(state, p, before, &field)?);
    }
    match state.db.replace_providers(&rows).await {
        Ok(()) => {}
        Err(ReplaceError::InUse(id)) => {
            return Err(ApiError::Conflict(
                "PROVIDER_IN_USE",
                format!("provider {id} is named by a route or holds open payments"),
            ))
        }
        Err(ReplaceError::Store(e)) => return Err(e.into()),
    }
    forget(state);
    Ok(())
}

fn provider_row(
    state: &AppState,
    p: ProviderIn,
    before: Option<&ProviderRow>,
    field: &dyn Fn(&str) -> String,
) -> Result<ProviderRow, ApiError> {
    let id_ok = !p.id.is_empty()
        && p.id.len() <= 40
        && p.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err(ApiError::validation(&field("id"), "must be 1-40 characters of a-z 0-9 -"));
    }
    let now = paygate_store::time::now_micros();
    let builtin = BUILT_IN.contains(&p.id.as_str());
    let (config, secrets_sealed) = match p.kind.as_str() {
        "sandbox" | "manual" if builtin && p.id == p.kind => ("{}".to_string(), None),
        "sandbox" | "manual" => {
            return Err(ApiError::validation(
                &field("type"),
                "sandbox and manual are the built-in providers of those ids",
            ))
        }
        "switchere" if !builtin => switchere_config(state, &p.id, p.config.unwrap_or_default(), before, field)?,
        "switchere" => return Err(ApiError::validation(&field("id"), "is a built-in provider's")),
        _ => return Err(ApiError::validation(&field("type"), "must be sandbox, manual or switchere")),
    };
    Ok(ProviderRow {
        id: p.id,
        kind: p.kind,
        enabled: p.enabled,
        config,
        secrets_sealed,
        created_at: before.map_or(now, |b| b.created_at),
        updated_at: now,
    })
}

/// Splits a `switchere` config into its stored settings and its sealed
/// credentials (the stored ones kept when none are given).
fn switchere_config(
    state: &AppState,
    id: &str,
    mut config: Value,
    before: Option<&ProviderRow>,
    field: &dyn Fn(&str) -> String,
) -> Result<(String, Option<Sealed>), ApiError> {
    let obj = config.as_object_mut().ok_or_else(|| ApiError::validation(&field("config"), "must be an object"))?;
    let mut take = |k: &str| obj.remove(k).and_then(|v| v.as_str().map(str::to_string)).filter(|v| !v.is_empty());
    let given = (take("api_key"), take("secret"), take("callback_secret"));
    let settings: SwitchereSettings =
        serde_json::from_value(config).map_err(|e| ApiError::validation(&field("config"), e.to_string()))?;
    let url = url::Url::parse(&settings.base_url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
    if url.is_none() {
        return Err(ApiError::validation(&field("config.base_url"), "must be an http or https URL"));
    }
    if !matches!(settings.signature_padding.as_str(), "padded" | "unpadded") {
        return Err(ApiError::validation(&field("config.signature_padding"), "must be padded or unpadded"));
    }
    if state.currencies.exponent(&settings.payout_currency).is_none() {
        return Err(ApiError::validation(&field("config.payout_currency"), "is not a known currency"));
    }
    if !(100..=30_000).contains(&settings.timeout_ms) {
        return Err(ApiError::validation(&field("config.timeout_ms"), "must be between 100 and 30000"));
    }
    let sealed = match given {
        (Some(api_key), Some(secret), Some(callback_secret)) => {
            let text = serde_json::to_string(&SwitchereSecrets { api_key, secret, callback_secret })
                .map_err(ApiError::internal)?;
            Sealed(state.master_key.seal(&binding(id), &text))
        }
        (None, None, None) => match before.and_then(|b| b.secrets_sealed.clone()) {
            Some(kept) if before.is_some_and(|b| b.kind == "switchere") => kept,
            _ => return Err(ApiError::validation(&field("config"), "needs api_key, secret and callback_secret")),
        },
        _ => return Err(ApiError::validation(&field("config"), "give api_key, secret and callback_secret together")),
    };
    Ok((serde_json::to_string(&settings).map_err(ApiError::internal)?, Some(sealed)))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesIn {
    pub routes: Vec<RouteIn>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteIn {
    pub merchant_id: Option<String>,
    /// `payin` or `payout`.
    pub kind: String,
    pub currency: Option<String>,
    pub method: Option<String>,
    pub provider_id: String,
    /// Lowest first within the most specific matching set; default 0.
    #[serde(default)]
    pub priority: i64,
}

/// The routing rules in the operator's order. No rules: test merchants use
/// `sandbox` and live merchants `manual`.
#[utoipa::path(get, path = "/admin/v1/routes", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<RoutesIn>))))]
async fn get_routes(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let routes = state
        .db
        .routes()
        .await?
        .into_iter()
        .map(|r| RouteIn {
            merchant_id: r.merchant_id,
            kind: r.kind,
            currency: r.currency,
            method: r.method,
            provider_id: r.provider_id,
            priority: r.priority,
        })
        .collect();
    Ok(ok(RoutesIn { routes }))
}

/// Replaces every rule: each names a known provider, merchant, currency
/// and method.
#[utoipa::path(put, path = "/admin/v1/routes", tag = "admin", security(("admin" = [])), request_body = RoutesIn,
    responses((status = 200, body = inline(Envelope<RoutesIn>)), (status = 422, body = ErrorEnvelope)))]
async fn put_routes(
    caller: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<RoutesIn>,
) -> ApiResult<Response> {
    replace_routes(&state, input).await?;
    get_routes(caller, State(state)).await
}

/// Checks and stores a whole set of routing rules (the dashboard uses it too).
pub async fn replace_routes(state: &AppState, input: RoutesIn) -> Result<(), ApiError> {
    let providers = state.db.providers().await?;
    let mut rules = Vec::new();
    for (i, r) in input.routes.into_iter().enumerate() {
        let field = |name: &str| format!("routes[{i}].{name}");
        if !matches!(r.kind.as_str(), "payin" | "payout") {
            return Err(ApiError::validation(&field("kind"), "must be payin or payout"));
        }
        if !providers.iter().any(|p| p.id == r.provider_id) {
            return Err(ApiError::validation(&field("provider_id"), "names no provider"));
        }
        if r.provider_id == crate::providers::SANDBOX {
            return Err(ApiError::validation(
                &field("provider_id"),
                "sandbox serves test merchants, always, and no one else",
            ));
        }
        if r.currency.as_deref().is_some_and(|c| state.currencies.exponent(c).is_none()) {
            return Err(ApiError::validation(&field("currency"), "is not a known currency"));
        }
        if r.method.as_deref().is_some_and(|m| Method::parse(m).is_none()) {
            return Err(ApiError::validation(&field("method"), "must be card, sbp, bank_transfer, iban or crypto"));
        }
        if let Some(m) = &r.merchant_id {
            state
                .db
                .merchant(m)
                .await?
                .ok_or_else(|| ApiError::validation(&field("merchant_id"), "names no merchant"))?;
        }
        rules.push(RouteRule {
            merchant_id: r.merchant_id,
            kind: r.kind,
            currency: r.currency,
            method: r.method,
            provider_id: r.provider_id,
            priority: r.priority,
        });
    }
    state.db.replace_routes(&rules).await?;
    forget(state);
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct HealthOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub enabled: bool,
    /// This node's circuit breaker: `closed`, `open` (skipped) or
    /// `half_open` (the next request probes).
    pub breaker: Condition,
    pub consecutive_failures: u32,
    pub refusals_last_hour: i64,
}

/// Each provider's condition on this node and its recent refusals.
#[utoipa::path(get, path = "/admin/v1/providers/health", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<Vec<HealthOut>>))))]
async fn health(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let since = paygate_store::time::now_micros() - 3600 * 1_000_000;
    let mut out = Vec::new();
    for p in state.db.providers().await? {
        let (breaker, consecutive_failures) = state.breaker.condition(&p.id);
        let refusals_last_hour = state.db.count_refusals_since(&p.id, since).await?;
        out.push(HealthOut {
            id: p.id,
            kind: p.kind,
            enabled: p.enabled,
            breaker,
            consecutive_failures,
            refusals_last_hour,
        });
    }
    Ok(ok(out))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RefusalQuery {
    pub provider_id: Option<String>,
    /// 1-100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RefusalOut {
    pub id: String,
    pub at: String,
    pub provider_id: String,
    pub kind: String,
    pub merchant_id: String,
    pub merchant_order_id: String,
    pub reason: String,
}

/// Every refusal, newest first: which provider, for which payment, why.
#[utoipa::path(get, path = "/admin/v1/providers/refusals", tag = "admin", security(("admin" = [])), params(RefusalQuery),
    responses((status = 200, body = inline(Envelope<Page<RefusalOut>>))))]
async fn refusals(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<RefusalQuery>,
) -> ApiResult<Response> {
    let limit = crate::http::filters::limit_plus_one(q.limit)?;
    let rows = state.db.refusals(q.provider_id.as_deref(), q.cursor.as_deref(), limit).await?;
    Ok(ok(crate::http::merchant::paging::page(
        &rows,
        limit,
        |r| r.id.clone(),
        |r| RefusalOut {
            at: rfc3339(r.at),
            id: r.id.clone(),
            provider_id: r.provider_id.clone(),
            kind: r.kind.clone(),
            merchant_id: r.merchant_id.clone(),
            merchant_order_id: r.merchant_order_id.clone(),
            reason: r.reason.clone(),
        },
    )))
}
