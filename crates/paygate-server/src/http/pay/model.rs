//! What a hosted page shows, from a payin or an exchange order found by its
//! token: only that payment's amount, where to pay, its deadline and status.

use crate::exchange::terms::{self, Asked, PairIn};
use crate::state::AppState;
use paygate_core::exchange::groups::pairs;
use paygate_core::exchange::lifecycle::OrderStatus;
use paygate_core::exchange::quote::minor_decimal;
use paygate_core::payments::PayInStatus;
use paygate_core::tokens::Mode;
use paygate_store::exchange::orders::OrderRow;
use paygate_store::payments::PayInRow;

/// The payment behind a token.
pub enum Payment {
    PayIn(Box<PayInRow>),
    Order(Box<OrderRow>),
}

/// Where the customer sends the money.
pub enum Instructions {
    /// Requisites as label → value (card number, bank, holder, …).
    Requisites(Vec<(String, String)>),
    Address {
        address: String,
        network: Option<String>,
    },
    /// A `purchase_url` order: the customer first picks the currency.
    Choose(Vec<Choice>),
}

/// One currency a purchase can be paid in, with its exact amount.
pub struct Choice {
    pub currency: String,
    pub amount: String,
}

/// How the page sees the payment's state.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Waiting for the customer.
    Waiting,
    /// The money arrived.
    Paid,
    /// Failed, refunded or in error: the page says so.
    Failed,
    /// Expired or cancelled: the token no longer opens a page.
    Gone,
}

pub struct View {
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub instructions: Instructions,
    pub expires_at: i64,
    pub phase: Phase,
    pub return_url: Option<String>,
    /// Test merchants and partners get a button that simulates the payment.
    pub test: bool,
}

pub async fn find(state: &AppState, token: &str) -> Result<Option<Payment>, crate::error::ApiError> {
    if !paygate_core::tokens::is_pay_token(token) {
        return Ok(None);
    }
    if let Some(p) = state.db.payin_by_token(token).await? {
        return Ok(Some(Payment::PayIn(Box::new(p))));
    }
    Ok(state.db.exchange_order_by_token(token).await?.map(|o| Payment::Order(Box::new(o))))
}

fn amount(state: &AppState, currency: &str, units: i64) -> String {
    minor_decimal(units, state.currencies.exponent(currency).unwrap_or(0)).to_string()
}

pub fn payin_phase(s: PayInStatus) -> Phase {
    match s {
        PayInStatus::Pending => Phase::Waiting,
        PayInStatus::Success => Phase::Paid,
        PayInStatus::Failed => Phase::Failed,
        PayInStatus::Expired | PayInStatus::Cancelled => Phase::Gone,
    }
}

pub fn order_phase(s: OrderStatus) -> Phase {
    use OrderStatus::*;
    match s {
        PayinPending | ConfirmationPending => Phase::Waiting,
        AuthSuccess | Processing | ProcessingPayout | Finished => Phase::Paid,
        Error | Refunded => Phase::Failed,
        Canceled | Expired => Phase::Gone,
    }
}

fn requisites(json: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let Some(map) = v.as_object() else { return vec![] };
    map.iter()
        .filter(|(k, _)| k.as_str() != "type")
        .map(|(k, v)| (k.replace('_', " "), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect()
}

pub async fn view(state: &AppState, payment: &Payment) -> View {
    match payment {
        Payment::PayIn(p) => {
            let instructions = requisites(&p.requisites);
            let address = instructions.iter().find(|(k, _)| k == "address").map(|(_, v)| v.clone());
            View {
                amount: Some(amount(state, &p.currency, p.amount)),
                currency: Some(p.currency.to_string()),
                instructions: match address {
                    Some(address) => Instructions::Address {
                        network: instructions.iter().find(|(k, _)| k == "network").map(|(_, v)| v.clone()),
                        address,
                    },
                    None => Instructions::Requisites(instructions),
                },
                expires_at: p.expires_at,
                phase: payin_phase(p.status),
                return_url: p.return_url.clone(),
                test: p.mode == Mode::Test && p.provider == crate::providers::SANDBOX,
            }
        }
        Payment::Order(o) => {
            let instructions = match (&o.payin_currency, &o.crypto_address) {
                (None, _) => Instructions::Choose(choices(state, o).await),
                (Some(_), Some(address)) => {
                    Instructions::Address { address: address.clone(), network: o.crypto_network.clone() }
                }
                (Some(_), None) => {
                    Instructions::Requisites(vec![("method".into(), o.payin_group.clone().unwrap_or_default())])
                }
            };
            View {
                amount: o.payin_currency.as_deref().zip(o.payin_amount).map(|(c, a)| amount(state, c, a)),
                currency: o.payin_currency.clone(),
                instructions,
                expires_at: o.expires_at,
                phase: order_phase(o.status),
                return_url: o.website.clone(),
                test: o.mode == Mode::Test,
            }
        }
    }
}

/// The currencies a purchase order can be paid in, each with the smallest
/// payin that buys the purchase at today's rate and the partner's fees.
async fn choices(state: &AppState, o: &OrderRow) -> Vec<Choice> {
    let (Ok(book), Ok(Some(partner)), Some(expected)) =
        (terms::load_book(state).await, state.db.partner(&o.merchant_id).await, o.expected_payout_amount)
    else {
        return vec![];
    };
    let fees = terms::partner_fees(Some(&partner));
    let mut out = Vec::new();
    for (payin, outs) in pairs(&book.methods, &book.rates) {
        if !outs.contains(&o.payout_currency) {
            continue;
        }
        let pair = PairIn {
            payin_currency: &payin,
            payout_currency: &o.payout_currency,
            payin_group: None,
            payout_group: Some("balance"),
        };
        if let Ok(t) = terms::terms(state, &book, &fees, &pair) {
            if let Ok(q) = terms::quote(&t, &Asked::Payout(expected)) {
                out.push(Choice { amount: amount(state, &payin, q.payin), currency: payin });
            }
        }
    }
    out
}
