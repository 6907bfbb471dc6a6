//! Operator money endpoints: balance adjustments, a merchant's balances, the
//! ledger check, and the manual provider's requisites pool.

use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, JsonBody, PathParam};
use crate::http::envelope::{ok, Envelope};
use crate::http::merchant::balance::{balances_out, BalancesOut};
use crate::payments::api_error;
use crate::payments::input::currency;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::ids::{new_id, IdKind, MerchantId};
use paygate_core::money::{format_minor, parse_minor, parse_signed_minor};
use paygate_core::payments::Method;
use paygate_store::ledger::LedgerReport;
use paygate_store::requisites::RequisiteRow;
use paygate_store::writer::{Adjusted, Adjustment, WriteError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(adjust))
        .routes(routes!(merchant_balances))
        .routes(routes!(ledger_check))
        .routes(routes!(get_requisites, put_requisites))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustIn {
    pub currency: String,
    /// `test` or `live` ledger; the merchant's current mode when absent.
    pub mode: Option<String>,
    /// Signed decimal: positive credits `available`, negative debits it
    /// (a settlement); a debit larger than `available` is 402.
    #[schema(example = "-250.00")]
    pub amount: String,
    pub reason: String,
    /// Makes the request safe to retry: a repeat with the same key (per
    /// merchant) returns the first posting instead of moving money again;
    /// the same key with another amount, currency or mode is 409.
    pub idempotency_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustOut {
    pub ledger_transaction_id: String,
    pub currency: String,
    pub amount: String,
    pub available_after: String,
}

/// Manual credit or settlement of a merchant's `available` balance, as a
/// balanced ledger transaction against the system `adjustments` account.
#[utoipa::path(post, path = "/admin/v1/balances/{merchant_id}/adjust", tag = "admin", security(("admin" = [])),
    params(("merchant_id" = String, Path)), request_body = AdjustIn,
    responses((status = 200, body = inline(Envelope<AdjustOut>)), (status = 402, description = "INSUFFICIENT_FUNDS", body = crate::error::ErrorEnvelope),
              (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
async fn adjust(
    _: Admin,
    State(state): State<AppState>,
    PathParam(merchant_id): PathParam<String>,
    JsonBody(input): JsonBody<AdjustIn>,
) -> ApiResult<Response> {
    let (currency, exp) = currency(&state.currencies, &input.currency)?;
    let amount = parse_signed_minor(&input.amount, exp).map_err(|e| ApiError::validation("amount", e.to_string()))?;
    if amount == 0 {
        return Err(ApiError::validation("amount", "must not be zero"));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::validation("reason", "must be 1-500 characters"));
    }
    if let Some(k) = &input.idempotency_key {
        if !paygate_core::payments::valid_merchant_order_id(k) {
            return Err(ApiError::validation("idempotency_key", "must be 1-128 characters of A-Z a-z 0-9 . _ : -"));
        }
    }
    let merchant = state.db.merchant(&merchant_id).await?.ok_or(ApiError::NotFound)?;
    let mode = match input.mode.as_deref() {
        Some(m) => crate::http::admin::merchants::parse_mode(m)?,
        None => merchant.mode,
    };
    let adjustment = Adjustment {
        idempotency_key: input.idempotency_key.clone(),
        mode,
        merchant_id: MerchantId::from_stored(merchant_id.clone()),
        currency: currency.clone(),
        amount,
        reason: reason.into(),
    };
    let refused = |e| match e {
        WriteError::DuplicateOrderId => ApiError::Conflict(
            "DUPLICATE_ORDER_ID",
            "idempotency_key was already used with another amount, currency or mode".into(),
        ),
        other => api_error(other),
    };
    let Adjusted { tx_id, available_after } = state.writer.adjust(adjustment).await.map_err(refused)?;
    tracing::info!(merchant_id = %merchant_id, currency = %input.currency, amount = %format_minor(amount, exp), "balance adjusted");
    Ok(ok(AdjustOut {
        ledger_transaction_id: tx_id,
        currency: input.currency,
        amount: format_minor(amount, exp),
        available_after: format_minor(available_after, exp),
    }))
}

/// A merchant's balances in its current mode, as the merchant sees them.
#[utoipa::path(get, path = "/admin/v1/balances/{merchant_id}", tag = "admin", security(("admin" = [])),
    params(("merchant_id" = String, Path)), responses((status = 200, body = inline(Envelope<BalancesOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
async fn merchant_balances(
    _: Admin,
    State(state): State<AppState>,
    PathParam(merchant_id): PathParam<String>,
) -> ApiResult<Response> {
    let merchant = state.db.merchant(&merchant_id).await?.ok_or(ApiError::NotFound)?;
    let rows = state.db.merchant_balances(&merchant_id, merchant.mode.as_str(), None).await?;
    Ok(ok(balances_out(&state, rows)?))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerCheckOut {
    pub ok: bool,
    /// Accounts recomputed from their entries.
    pub checked: i64,
    pub transactions: i64,
    #[schema(value_type = Vec<Object>)]
    pub differences: Vec<paygate_store::ledger::Difference>,
}

/// Recompute every balance from the entries; `ok` when all match, every
/// transaction is balanced and no merchant bucket is negative.
#[utoipa::path(get, path = "/admin/v1/ledger/check", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<LedgerCheckOut>))))]
async fn ledger_check(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let LedgerReport { ok: good, checked, transactions, differences } = state.db.ledger_check().await?;
    Ok(ok(LedgerCheckOut { ok: good, checked, transactions, differences }))
}

/// One entry of the manual provider's pool.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequisiteIo {
    /// Kept when given; a new one is made otherwise.
    pub id: Option<String>,
    pub method: String,
    pub currency: String,
    /// What payers are shown, e.g. `{"type":"card","card_number":"…","bank_name":"…","holder_name":"…"}`.
    #[schema(value_type = Object)]
    pub details: Value,
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    /// `payins` (default: the manual provider's payins) or `exchange`
    /// (crypto addresses handed to exchange orders, `method: "crypto"` only).
    /// An entry serves one of the two, so a waiting payin and a waiting
    /// order never share an address.
    #[schema(example = "payins")]
    pub purpose: Option<String>,
}

fn yes() -> bool {
    true
}

pub fn requisite_out(state: &AppState, r: &RequisiteRow) -> RequisiteIo {
    let exp = state.currencies.exponent(&r.currency).unwrap_or(0);
    RequisiteIo {
        id: Some(r.id.clone()),
        method: r.method.clone(),
        currency: r.currency.clone(),
        details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
        label: r.label.clone(),
        enabled: r.enabled,
        min_amount: r.min_amount.map(|v| format_minor(v, exp)),
        max_amount: r.max_amount.map(|v| format_minor(v, exp)),
        purpose: Some(r.purpose.clone()),
    }
}

/// The manual provider's requisites pool.
#[utoipa::path(get, path = "/admin/v1/requisites", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<Vec<RequisiteIo>>))))]
async fn get_requisites(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let rows = state.db.list_requisites().await?;
    Ok(ok(rows.iter().map(|r| requisite_out(&state, r)).collect::<Vec<_>>()))
}

/// Replace the pool: listed entries are created or updated, unlisted ones
/// removed (payins keep the details they were shown).
#[utoipa::path(put, path = "/admin/v1/requisites", tag = "admin", security(("admin" = [])), request_body = Vec<RequisiteIo>,
    responses((status = 200, body = inline(Envelope<Vec<RequisiteIo>>)), (status = 422, body = crate::error::ErrorEnvelope)))]
async fn put_requisites(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(items): JsonBody<Vec<RequisiteIo>>,
) -> ApiResult<Response> {
    let saved = apply_requisites(&state, &items).await?;
    Ok(ok(saved.iter().map(|r| requisite_out(&state, r)).collect::<Vec<_>>()))
}

/// Validates the whole pool and replaces it (also the dashboard's form).
pub async fn apply_requisites(state: &AppState, items: &[RequisiteIo]) -> ApiResult<Vec<RequisiteRow>> {
    if items.len() > 10_000 {
        return Err(ApiError::validation("requisites", "at most 10000 entries"));
    }
    let mut rows = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let field = |f: &str| format!("[{i}].{f}");
        Method::parse(&it.method).ok_or_else(|| ApiError::validation(&field("method"), "unknown method"))?;
        let exp = state
            .currencies
            .exponent(&it.currency)
            .ok_or_else(|| ApiError::validation(&field("currency"), "unsupported currency"))?;
        if !it.details.is_object() || it.details.to_string().len() > 4096 {
            return Err(ApiError::validation(&field("details"), "must be an object of at most 4 KiB"));
        }
        let purpose = match it.purpose.as_deref().unwrap_or("payins") {
            "payins" => "payins",
            "exchange" if it.method == "crypto" => "exchange",
            "exchange" => return Err(ApiError::validation(&field("purpose"), "exchange entries are crypto addresses")),
            _ => return Err(ApiError::validation(&field("purpose"), "payins or exchange")),
        };
        if it.method == "crypto" {
            // Exchange orders hand this address to customers: it must be one.
            let address = it.details["address"].as_str().unwrap_or("");
            let network = it.details["network"].as_str();
            paygate_core::exchange::address::check(&it.currency, network, address)
                .map_err(|e| ApiError::validation(&field("details.address"), e.to_string()))?;
        }
        let amount = |v: &Option<String>, f: &str| -> ApiResult<Option<i64>> {
            v.as_deref()
                .map(|t| parse_minor(t, exp).map_err(|e| ApiError::validation(&field(f), e.to_string())))
                .transpose()
        };
        let (min_amount, max_amount) = (amount(&it.min_amount, "min_amount")?, amount(&it.max_amount, "max_amount")?);
        let id = match &it.id {
            Some(id) if !id.is_empty() && id.len() <= 64 => id.clone(),
            Some(_) => return Err(ApiError::validation(&field("id"), "must be 1-64 characters")),
            None => new_id(IdKind::Requisite),
        };
        if rows.iter().any(|r: &RequisiteRow| r.id == id) {
            return Err(ApiError::validation(&field("id"), "duplicate id"));
        }
        rows.push(RequisiteRow {
            id,
            method: it.method.clone(),
            currency: it.currency.clone(),
            details: crate::payments::input::canonical_json(&it.details),
            label: it.label.clone(),
            enabled: it.enabled,
            min_amount,
            max_amount,
            purpose: purpose.into(),
            created_at: 0,
            updated_at: 0,
        });
    }
    Ok(state.db.replace_requisites(&rows).await?)
}
