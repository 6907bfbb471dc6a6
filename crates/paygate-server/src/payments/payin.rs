//! Creating a payin: validate, price, then route (`super::routing`).

use super::input::{currency, metadata, request_digest, AmountIn, Issues};
use crate::error::ApiError;
use crate::providers::ProviderKind;
use crate::state::AppState;
use paygate_core::callback_url::CallbackUrl;
use paygate_core::email::Email;
use paygate_core::fees::{FeeSchedule, Kind, Limits};
use paygate_core::ids::{MerchantId, PayInId};
use paygate_core::money::format_minor;
use paygate_core::payments::{MerchantOrderId, Method, PayInStatus};
use paygate_core::routing::Wanted;
use paygate_store::merchants::MerchantRecord;
use paygate_store::payments::PayInRow;
use paygate_store::time::now_micros;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PayInCreateIn {
    /// Your order id, unique per merchant.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,128}$")]
    pub merchant_order_id: String,
    /// Decimal string or number, at most the currency's decimals.
    pub amount: AmountIn,
    #[schema(example = "RUB")]
    pub currency: String,
    /// card, sbp, bank_transfer, iban, crypto
    pub method: String,
    /// 1-128 printable characters.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,128}$")]
    pub customer_id: String,
    pub customer_ip: Option<String>,
    pub customer_email: Option<String>,
    /// Webhooks for this payin go here instead of the merchant's webhook URL.
    pub callback_url: Option<String>,
    pub return_url: Option<String>,
    /// Default 1800.
    #[serde(default, deserialize_with = "crate::http::body::whole_number")]
    #[schema(minimum = 60, maximum = 86400)]
    pub ttl_seconds: Option<i64>,
    /// Any JSON object up to 4 KiB, returned as given.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

pub fn parse_method(text: &str) -> Result<Method, ApiError> {
    Method::parse(text)
        .ok_or_else(|| ApiError::Unprocessable("UNSUPPORTED_METHOD", format!("method {text:?} is not supported")))
}

/// The merchant's fee schedule and limits; stored JSON was validated on
/// the way in, so a parse failure is corruption, not client error.
pub fn merchant_rules(m: &MerchantRecord) -> Result<(FeeSchedule, Limits), ApiError> {
    let fees = serde_json::from_str(&m.fees)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("merchant {} fees: {e}", m.id)))?;
    let limits = serde_json::from_str(&m.limits)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("merchant {} limits: {e}", m.id)))?;
    Ok((fees, limits))
}

pub fn check_limits(limits: &Limits, kind: Kind, currency: &str, exp: u8, amount: i64) -> Result<(), ApiError> {
    limits
        .check(kind, currency, exp, amount)
        .map_err(|why| ApiError::Unprocessable("AMOUNT_OUT_OF_LIMITS", format!("amount is {why}")))
}

pub fn callback_url(state: &AppState, value: &Option<String>, field: &str, issues: &mut Issues) -> Option<String> {
    let v = value.as_ref()?;
    match CallbackUrl::parse(v, state.settings.allow_private_callbacks) {
        Ok(u) => Some(u.as_str().to_string()),
        Err(e) => {
            issues.add(field, e.to_string());
            None
        }
    }
}

/// Validates and creates (or finds, for a repeated order id) a payin.
/// Returns the row and whether it was created now.
pub async fn create(state: &AppState, m: &MerchantRecord, input: PayInCreateIn) -> Result<(PayInRow, bool), ApiError> {
    let (currency, exp) = currency(&state.currencies, &input.currency)?;
    let method = parse_method(&input.method)?;
    let mut issues = Issues::default();
    let order_id = MerchantOrderId::parse(&input.merchant_order_id);
    issues.check(order_id.is_some(), "merchant_order_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
    let amount = input.amount.minor(exp, &input.currency).map_err(|e| issues.add("amount", e)).ok();
    issues.check(
        !input.customer_id.is_empty()
            && input.customer_id.chars().count() <= 128
            && !input.customer_id.chars().any(char::is_control),
        "customer_id",
        "must be 1-128 printable characters",
    );
    if let Some(ip) = &input.customer_ip {
        issues.check(ip.parse::<std::net::IpAddr>().is_ok(), "customer_ip", "must be an IPv4 or IPv6 address");
    }
    let email = match input.customer_email.as_deref().map(Email::parse) {
        Some(Ok(e)) => Some(e.as_str().to_string()),
        Some(Err(_)) => {
            issues.add("customer_email", "must be an e-mail address");
            None
        }
        None => None,
    };
    let callback = callback_url(state, &input.callback_url, "callback_url", &mut issues);
    let return_url = match &input.return_url {
        // A browser redirect, not a server-side request: private targets are fine.
        Some(u) => CallbackUrl::parse(u, true)
            .map(|u| u.as_str().to_string())
            .map_err(|e| issues.add("return_url", e.to_string()))
            .ok(),
        None => None,
    };
    let ttl = input.ttl_seconds.unwrap_or(1800);
    issues.check((60..=86400).contains(&ttl), "ttl_seconds", "must be between 60 and 86400");
    let meta = metadata(&input.metadata, &mut issues);
    issues.into_result()?;
    let amount = amount.expect("no issues means the amount parsed");

    let (fees, limits) = merchant_rules(m)?;
    check_limits(&limits, Kind::PayIn, &input.currency, exp, amount)?;
    let rule = fees
        .resolve(Kind::PayIn, &input.currency, exp)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("fee rule: {e}")))?;
    let fee = rule.payin_fee(amount).ok_or_else(|| ApiError::validation("amount", "is too large"))?;

    let digest = request_digest(&[
        Some(&input.merchant_order_id),
        Some(&amount.to_string()),
        Some(&input.currency),
        Some(method.as_str()),
        Some(&input.customer_id),
        input.customer_ip.as_deref(),
        email.as_deref(),
        callback.as_deref(),
        return_url.as_deref(),
        Some(&ttl.to_string()),
        meta.as_deref(),
    ]);
    let wanted = Wanted { merchant_id: &m.id, kind: "payin", currency: &input.currency, method: method.as_str() };
    let plan = crate::providers::plan(state, &wanted, m.mode).await?;
    if plan.is_empty() || plan.iter().any(|p| !matches!(p.kind, ProviderKind::Sandbox)) {
        // A repeat must not take requisites or open an upstream order of
        // its own: answer it from the existing payin before anything else.
        if let Some(existing) = state.db.payin(Some(&m.id), None, Some(&input.merchant_order_id)).await? {
            return if existing.request_digest == digest {
                Ok((existing, false))
            } else {
                Err(ApiError::Conflict(
                    "DUPLICATE_ORDER_ID",
                    "merchant_order_id was already used with different parameters".into(),
                ))
            };
        }
    }
    let now = now_micros();
    let draft = PayInRow {
        id: PayInId::new(),
        merchant_id: MerchantId::from_stored(m.id.clone()),
        merchant_order_id: order_id.clone().expect("no issues means the order id parsed"),
        status: PayInStatus::Pending,
        amount,
        original_amount: amount,
        fee,
        fee_percent_e4: rule.percent_e4,
        fee_fixed: rule.fixed_minor,
        currency: currency.clone(),
        method,
        mode: m.mode,
        provider: String::new(),
        requisite_id: None,
        requisites: "{}".into(),
        customer_id: input.customer_id.clone(),
        customer_ip: input.customer_ip.clone(),
        customer_email: email.clone(),
        callback_url: callback.clone(),
        return_url: return_url.clone(),
        ttl_seconds: ttl,
        metadata: meta.clone(),
        request_digest: digest.clone(),
        has_open_dispute: false,
        failure_reason: None,
        expires_at: now + ttl * 1_000_000,
        created_at: now,
        updated_at: now,
        completed_at: None,
        pay_token: Some(paygate_core::tokens::new_pay_token()),
        provider_ref: None,
        provider_pay_url: None,
        provider_check_at: None,
    };
    let (row, created) = super::routing::place_payin(state, draft, &plan).await?;
    if created {
        tracing::info!(payin_id = %row.id, merchant_id = %m.id, provider = %row.provider, amount = %format_minor(row.amount, exp), currency = %row.currency, "payin created");
    }
    Ok((row, created))
}
