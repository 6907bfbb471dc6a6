//! Creating exchange orders and moving them: the plans handed to the store,
//! which locks the order, applies the plan and writes the postings and the
//! callback that `paygate_core::exchange::lifecycle` says the move implies.

use super::terms::{Asked, Terms};
use super::view::{callback_body, price_of};
use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::exchange::lifecycle::{MoveError, OrderStatus};
use paygate_core::exchange::quote::{self, parse_decimal, Exponents, Fees, Quote, QuoteError};
use paygate_core::ids::{new_monotonic_id, IdKind};
use paygate_core::money::Currencies;
use paygate_store::exchange::moves::{Chosen, MoveOrderError};
use paygate_store::exchange::orders::{AddressOffer, CreateOrderError, CreatedOrder, OrderRow};
use paygate_store::exchange::partners::PartnerRecord;
use paygate_store::merchants::MerchantRecord;
use paygate_store::time::now_micros;

impl From<MoveError> for ApiError {
    fn from(e: MoveError) -> Self {
        ApiError::Conflict("INVALID_STATE", e.to_string())
    }
}

fn store_error(e: MoveOrderError<ApiError>) -> ApiError {
    match e {
        MoveOrderError::NotFound => ApiError::NotFound,
        MoveOrderError::Refused(e) => e,
        MoveOrderError::Store(e) => e.into(),
    }
}

pub fn sandbox_txid() -> String {
    format!("sandbox_{}", paygate_core::tokens::new_pay_token())
}

fn log_with(log: &str, at: i64, status: OrderStatus) -> String {
    let mut entries: Vec<serde_json::Value> = serde_json::from_str(log).unwrap_or_default();
    entries.push(serde_json::json!({"at": at, "status": status.as_str()}));
    serde_json::Value::Array(entries).to_string()
}

/// The fields of a create request besides the pair and amount.
pub struct OrderExtras {
    pub partner_order_id: String,
    pub digest: String,
    pub dst_address: Option<String>,
    pub dst_tag: Option<i64>,
    pub memo: Option<String>,
    pub client_email: Option<String>,
    pub callback_url: Option<String>,
    pub website: Option<String>,
    pub plugin_name: Option<String>,
}

/// What a new order is.
pub enum NewOrder<'a> {
    /// An API order: its terms and quote are known and locked now.
    Exchange { terms: &'a Terms, quote: &'a Quote },
    /// A `purchase_url` order: `amount` of `currency` to the partner's
    /// balance; the customer picks the payin currency later.
    Purchase { currency: &'a str, amount: i64, fees: Fees },
}

/// A new order of `merchant` (a partner).
pub fn new_row(state: &AppState, merchant: &MerchantRecord, kind: NewOrder<'_>, extras: OrderExtras) -> OrderRow {
    let now = now_micros();
    let window = state.settings.exchange_payin_window_secs as i64;
    let terms = match kind {
        NewOrder::Exchange { terms, quote } => Some((terms, quote)),
        NewOrder::Purchase { .. } => None,
    };
    let (payout_currency, payout_group, fees, expected) = match kind {
        NewOrder::Exchange { terms: t, quote: q } => {
            (t.payout_currency.clone(), t.payout_method.group.clone(), t.fees, q.payout)
        }
        NewOrder::Purchase { currency, amount, fees } => (currency.to_string(), "balance".to_string(), fees, amount),
    };
    let crypto = terms.is_some_and(|(t, _)| t.payin_method.group == "crypto");
    OrderRow {
        id: new_monotonic_id(IdKind::Exchange),
        merchant_id: merchant.id.clone(),
        partner_order_id: extras.partner_order_id,
        request_digest: extras.digest,
        mode: merchant.mode,
        kind: if terms.is_some() { "order" } else { "purchase" }.into(),
        status: OrderStatus::PayinPending,
        status_log: log_with("[]", now, OrderStatus::PayinPending),
        payin_currency: terms.map(|(t, _)| t.payin_currency.clone()),
        payin_group: terms.map(|(t, _)| t.payin_method.group.clone()),
        payin_amount: terms.map(|(_, q)| q.payin),
        payin_fee: terms.map_or(0, |(_, q)| q.payin_fee),
        margin_fee: terms.map_or(0, |(_, q)| q.margin_fee),
        payout_currency,
        payout_group,
        payout_amount: terms.map(|(_, q)| q.payout),
        expected_payout_amount: Some(expected),
        payout_fee: fees.payout_fixed,
        rate_side: terms.map(|(t, _)| t.price.side.as_str().to_string()),
        rate_value: terms.map(|(t, _)| t.price.value.to_string()),
        payin_percent: fees.payin_percent.to_string(),
        margin_percent: fees.margin_percent.to_string(),
        dst_address: extras.dst_address,
        dst_tag: extras.dst_tag,
        memo: extras.memo,
        client_email: extras.client_email,
        callback_url: extras.callback_url,
        website: extras.website,
        plugin_name: extras.plugin_name,
        requisite_id: None,
        crypto_address: None,
        crypto_network: None,
        crypto_delay: crypto.then_some(window.min(900)),
        payin_txid: None,
        payout_txid: None,
        card_number: None,
        error_message: None,
        pay_token: paygate_core::tokens::new_pay_token(),
        expires_at: now + window * 1_000_000,
        created_at: now,
        updated_at: now,
        finished_at: None,
    }
}

/// The pool's crypto addresses for a payin of `amount` in `currency`.
pub async fn address_offers(state: &AppState, currency: &str, amount: i64) -> Result<Vec<AddressOffer>, ApiError> {
    let pool = state.db.usable_requisites("exchange", "crypto", currency, amount).await?;
    Ok(pool
        .into_iter()
        .filter_map(|r| {
            let d: serde_json::Value = serde_json::from_str(&r.details).ok()?;
            Some(AddressOffer {
                requisite_id: r.id,
                address: d["address"].as_str()?.to_string(),
                network: d["network"].as_str().map(str::to_string),
            })
        })
        .collect())
}

pub async fn create(state: &AppState, row: OrderRow) -> Result<CreatedOrder, ApiError> {
    let crypto = row.crypto_delay.is_some();
    let offers = match (&row.payin_currency, row.payin_amount) {
        (Some(cur), Some(amount)) if crypto => {
            let offers = address_offers(state, cur, amount).await?;
            if offers.is_empty() {
                return Err(ApiError::Unprocessable(
                    "PAIR_NOT_AVAILABLE",
                    format!("no crypto address is configured for {cur}"),
                ));
            }
            offers
        }
        _ => Vec::new(),
    };
    state.db.create_exchange_order(row, &offers).await.map_err(|e| match e {
        CreateOrderError::Duplicate => {
            ApiError::Conflict("DUPLICATE_ORDER_ID", "partner_order_id already used with different parameters".into())
        }
        CreateOrderError::NoAddress => {
            ApiError::Unavailable("every crypto address for this currency is serving an open order".into())
        }
        CreateOrderError::Store(e) => e.into(),
    })
}

/// What a move asks for besides the status.
#[derive(Default, Clone)]
pub struct MoveRequest {
    pub payin_amount: Option<i64>,
    pub payin_txid: Option<String>,
    pub payout_txid: Option<String>,
    pub error_message: Option<String>,
}

/// The order's terms as locked in it.
fn locked(c: &Currencies, o: &OrderRow) -> Option<(quote::Price, Fees, Exponents)> {
    let price = price_of(o)?;
    let fees = Fees {
        payin_percent: parse_decimal(&o.payin_percent)?,
        margin_percent: parse_decimal(&o.margin_percent)?,
        payout_fixed: o.payout_fee,
    };
    let exps = Exponents { payin: c.exponent(o.payin_currency.as_deref()?)?, payout: c.exponent(&o.payout_currency)? };
    Some((price, fees, exps))
}

/// The order after moving to `to`, or why it cannot move.
pub fn plan(c: &Currencies, now: i64, o: &OrderRow, to: OrderStatus, req: &MoveRequest) -> Result<OrderRow, ApiError> {
    if !o.status.can_become(to) {
        return Err(MoveError::InvalidState { from: o.status.as_str(), to: to.as_str() }.into());
    }
    let mut next = o.clone();
    next.status = to;
    next.status_log = log_with(&o.status_log, now, to);
    next.updated_at = now;
    if let Some(received) = req.payin_amount {
        if o.status.payin_received() {
            return Err(ApiError::validation("payin_amount", "the payin was already received"));
        }
        let (price, fees, exps) = locked(c, o)
            .ok_or_else(|| ApiError::validation("payin_currency", "the customer has not chosen a payin currency"))?;
        // What arrived decides the payout, at the rate locked at creation.
        let q = quote::from_payin(received, price, fees, exps).map_err(|e| match e {
            QuoteError::TooSmall => {
                ApiError::Unprocessable("AMOUNT_OUT_OF_LIMITS", "the payin does not cover the fees".into())
            }
            QuoteError::Overflow => ApiError::Unprocessable("AMOUNT_OUT_OF_LIMITS", "the payin is too large".into()),
        })?;
        (next.payin_amount, next.payin_fee, next.margin_fee, next.payout_amount) =
            (Some(q.payin), q.payin_fee, q.margin_fee, Some(q.payout));
    }
    if to.payin_received() && (next.payin_currency.is_none() || next.payin_amount.is_none()) {
        return Err(ApiError::validation("payin_currency", "the customer has not chosen a payin currency"));
    }
    if let Some(t) = &req.payin_txid {
        next.payin_txid = Some(t.clone());
    }
    if let Some(t) = &req.payout_txid {
        next.payout_txid = Some(t.clone());
    }
    if to == OrderStatus::Error {
        next.error_message = Some(req.error_message.clone().unwrap_or_else(|| "error".into()));
    }
    if to == OrderStatus::Finished && next.payout_group != "balance" && next.payout_txid.is_none() {
        return Err(ApiError::validation("payout_txid", "is required to finish a payout to the outside"));
    }
    if to.is_final() {
        next.finished_at = Some(now);
    }
    Ok(next)
}

/// Moves order `id` (scoped to `merchant` when given) to `to`.
pub async fn move_order(
    state: &AppState,
    id: &str,
    merchant: Option<&str>,
    to: OrderStatus,
    req: MoveRequest,
) -> Result<OrderRow, ApiError> {
    let currencies = state.currencies.clone();
    let render = move |o: &OrderRow| callback_body(&currencies, o);
    let now = now_micros();
    let c = state.currencies.clone();
    let moved = state.db.move_exchange_order(id, merchant, now, |o| plan(&c, now, o, to, &req), &render).await;
    let row = moved.map_err(store_error)?;
    state.wake_deliveries();
    Ok(row)
}

/// A `purchase_url` order gets its payin currency: the smallest payin in it
/// whose payout reaches the purchase amount, at today's rate, locked now.
pub async fn choose_payin_currency(
    state: &AppState,
    partner: &PartnerRecord,
    id: &str,
    currency: &str,
) -> Result<OrderRow, ApiError> {
    let order = state.db.exchange_order(id).await?.ok_or(ApiError::NotFound)?;
    let book = super::terms::load_book(state).await?;
    let fees = super::terms::partner_fees(Some(partner));
    let pair = super::terms::PairIn {
        payin_currency: currency,
        payout_currency: &order.payout_currency,
        payin_group: None,
        payout_group: Some("balance"),
    };
    let t = super::terms::terms(state, &book, &fees, &pair)?;
    let expected = order.expected_payout_amount.ok_or(ApiError::NotFound)?;
    let q = super::terms::quote(&t, &Asked::Payout(expected))?;
    let crypto = t.payin_method.group == "crypto";
    let offers = if crypto { address_offers(state, currency, q.payin).await? } else { vec![] };
    if crypto && offers.is_empty() {
        return Err(ApiError::Unprocessable(
            "PAIR_NOT_AVAILABLE",
            format!("no crypto address is configured for {currency}"),
        ));
    }
    let window = state.settings.exchange_payin_window_secs as i64;
    let plan = |o: &OrderRow| {
        if o.status != OrderStatus::PayinPending || o.payin_currency.is_some() {
            return None;
        }
        let mut next = o.clone();
        next.payin_currency = Some(t.payin_currency.clone());
        next.payin_group = Some(t.payin_method.group.clone());
        (next.payin_amount, next.payin_fee, next.margin_fee, next.payout_amount) =
            (Some(q.payin), q.payin_fee, q.margin_fee, Some(q.payout));
        next.payout_fee = t.fees.payout_fixed;
        next.rate_side = Some(t.price.side.as_str().into());
        next.rate_value = Some(t.price.value.to_string());
        next.payin_percent = t.fees.payin_percent.to_string();
        next.margin_percent = t.fees.margin_percent.to_string();
        next.crypto_delay = crypto.then_some(window.min(900));
        Some(next)
    };
    match state.db.choose_exchange_payin(id, &partner.merchant_id, plan, &offers).await? {
        Chosen::Done(order) => Ok(*order),
        Chosen::NotFound => Err(ApiError::NotFound),
        Chosen::Declined => Err(ApiError::Conflict("INVALID_STATE", "the payin currency is already chosen".into())),
        Chosen::NoAddress => {
            Err(ApiError::Unavailable("every crypto address for this currency is serving an open order".into()))
        }
    }
}
