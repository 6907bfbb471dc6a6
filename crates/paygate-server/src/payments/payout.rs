//! Creating a payout: validate (destination checks and masking), price,
//! route, and submit; the writer holds amount + fee in the same transaction
//! that stores the payout, or refuses with INSUFFICIENT_FUNDS.

use super::input::{canonical_json, currency, metadata, request_digest, AmountIn, Issues};
use super::payin::{callback_url, check_limits, merchant_rules, parse_method};
use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::destination;
use paygate_core::fees::Kind;
use paygate_core::ids::{MerchantId, PayOutId};
use paygate_core::money::format_minor;
use paygate_core::payments::{MerchantOrderId, PayOutStatus};
use paygate_core::routing::Wanted;
use paygate_store::merchants::MerchantRecord;
use paygate_store::payments::PayOutRow;
use paygate_store::time::now_micros;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PayOutCreateIn {
    /// Your order id, unique per merchant.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,128}$")]
    pub merchant_order_id: String,
    pub amount: AmountIn,
    pub currency: String,
    /// card, sbp, bank_transfer, iban, crypto
    pub method: String,
    /// By method: card `{card_number}`; sbp `{phone, bank_code}`; bank_transfer
    /// `{account_number, bank_code, holder_name}`; iban `{iban, holder_name}`;
    /// crypto `{address, network, memo?}`.
    #[schema(value_type = Object)]
    pub destination: Value,
    /// 1-128 printable characters.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,128}$")]
    pub customer_id: Option<String>,
    pub callback_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

pub async fn create(
    state: &AppState,
    m: &MerchantRecord,
    input: PayOutCreateIn,
) -> Result<(PayOutRow, bool), ApiError> {
    let (currency, exp) = currency(&state.currencies, &input.currency)?;
    let method = parse_method(&input.method)?;
    let mut issues = Issues::default();
    let order_id = MerchantOrderId::parse(&input.merchant_order_id);
    issues.check(order_id.is_some(), "merchant_order_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
    let amount = input.amount.minor(exp, &input.currency).map_err(|e| issues.add("amount", e)).ok();
    let dest = destination::parse(method, &input.destination).map_err(|e| issues.add(&e.field, e.issue)).ok();
    if let Some(c) = &input.customer_id {
        issues.check(
            !c.is_empty() && c.chars().count() <= 128 && !c.chars().any(char::is_control),
            "customer_id",
            "must be 1-128 printable characters",
        );
    }
    let callback = callback_url(state, &input.callback_url, "callback_url", &mut issues);
    let meta = metadata(&input.metadata, &mut issues);
    issues.into_result()?;
    let (amount, dest) = (amount.expect("validated"), dest.expect("validated"));

    let (fees, limits) = merchant_rules(m)?;
    check_limits(&limits, Kind::PayOut, &input.currency, exp, amount)?;
    let rule = fees
        .resolve(Kind::PayOut, &input.currency, exp)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("fee rule: {e}")))?;
    let fee = rule.payout_fee(amount).ok_or_else(|| ApiError::validation("amount", "is too large"))?;
    amount.checked_add(fee).ok_or_else(|| ApiError::validation("amount", "is too large"))?;

    let full = canonical_json(&dest.full);
    let digest = request_digest(&[
        Some(&input.merchant_order_id),
        Some(&amount.to_string()),
        Some(&input.currency),
        Some(method.as_str()),
        Some(&full),
        input.customer_id.as_deref(),
        callback.as_deref(),
        meta.as_deref(),
    ]);
    let id = PayOutId::new();
    let now = now_micros();
    let row = PayOutRow {
        destination_sealed: state.master_key.seal(&id, &full),
        id,
        merchant_id: MerchantId::from_stored(m.id.clone()),
        merchant_order_id: order_id.clone().expect("no issues means the order id parsed"),
        status: PayOutStatus::Pending,
        amount,
        fee,
        currency: currency.clone(),
        method,
        mode: m.mode,
        provider: String::new(),
        destination_masked: canonical_json(&dest.masked),
        customer_id: input.customer_id.clone(),
        callback_url: callback,
        metadata: meta,
        request_digest: digest,
        failure_reason: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        provider_ref: None,
        provider_check_at: None,
    };
    let wanted = Wanted { merchant_id: &m.id, kind: "payout", currency: &input.currency, method: method.as_str() };
    let plan = crate::providers::plan(state, &wanted, m.mode).await?;
    let (row, created) = super::payout_routing::place_payout(state, row, &dest.full, &plan).await?;
    if created {
        tracing::info!(payout_id = %row.id, merchant_id = %m.id, amount = %format_minor(row.amount, exp), currency = %row.currency, destination = %row.destination_masked, "payout created");
    }
    Ok((row, created))
}
