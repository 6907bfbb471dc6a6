//! How orders look on the Switchere-compatible wire (API.md 9.5, 9.6 and
//! section 8): amounts as 18-decimal strings (JSON numbers, written exactly,
//! in version 1), times as Unix seconds with six decimals.

use paygate_core::exchange::quote::{eighteen, minor_decimal, minor_eighteen, Price, Side};
use paygate_core::money::Currencies;
use paygate_store::exchange::orders::OrderRow;
use serde::Serialize;
use utoipa::ToSchema;

/// `"1678454217.164354"`.
pub fn unix_six(micros: i64) -> String {
    format!("{}.{:06}", micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000))
}

/// `"2020-11-10 13:51:34.864116"` (UTC), the create answer's format.
pub fn spaced_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

fn amount(currencies: &Currencies, currency: Option<&str>, units: Option<i64>) -> Option<String> {
    let exp = currencies.exponent(currency?)?;
    Some(minor_eighteen(units?, exp))
}

pub fn price_of(o: &OrderRow) -> Option<Price> {
    Some(Price { side: Side::parse(o.rate_side.as_deref()?)?, value: o.rate_value.as_deref()?.parse().ok()? })
}

#[derive(Serialize, ToSchema)]
pub struct StatusLogEntry {
    pub at: String,
    pub status: String,
}

/// The order object of API.md 9.6.
#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub client_order_id: String,
    pub partner_order_id: String,
    #[schema(example = "payin_pending")]
    pub status: String,
    pub status_log: Vec<StatusLogEntry>,
    #[schema(example = "1678454217.164354")]
    pub created_at: String,
    pub finished_at: Option<String>,
    pub client_email: Option<String>,
    pub card_number: Option<String>,
    #[schema(example = "1.000000000000000000")]
    pub payin_amount: Option<String>,
    pub payin_currency: Option<String>,
    pub payin_group: Option<String>,
    pub payin_txid: Option<String>,
    pub payout_amount: Option<String>,
    pub expected_payout_amount: Option<String>,
    pub payout_currency: String,
    pub payout_group: String,
    pub payout_txid: Option<String>,
    pub dst_address: Option<String>,
    pub dst_tag: Option<String>,
    pub memo_id: Option<String>,
    pub memo_value: Option<String>,
    /// Payout currency per unit of payin currency, locked at creation.
    pub rate: Option<String>,
    pub service_fee_amount: Option<String>,
    pub service_fee_currency: Option<String>,
    pub error_message: Option<String>,
}

pub fn order_out(c: &Currencies, o: &OrderRow) -> OrderOut {
    let log: Vec<serde_json::Value> = serde_json::from_str(&o.status_log).unwrap_or_default();
    let status_log = log
        .iter()
        .map(|e| StatusLogEntry {
            at: unix_six(e["at"].as_i64().unwrap_or(0)),
            status: e["status"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    let payin_cur = o.payin_currency.as_deref();
    let payout_cur = Some(o.payout_currency.as_str());
    OrderOut {
        client_order_id: o.id.clone(),
        partner_order_id: o.partner_order_id.clone(),
        status: o.status.as_str().into(),
        status_log,
        created_at: unix_six(o.created_at),
        finished_at: o.finished_at.map(unix_six),
        client_email: o.client_email.clone(),
        card_number: o.card_number.clone(),
        payin_amount: amount(c, payin_cur, o.payin_amount),
        payin_currency: o.payin_currency.clone(),
        payin_group: o.payin_group.clone(),
        payin_txid: o.payin_txid.clone(),
        payout_amount: amount(c, payout_cur, o.payout_amount),
        expected_payout_amount: amount(c, payout_cur, o.expected_payout_amount),
        payout_currency: o.payout_currency.clone(),
        payout_group: o.payout_group.clone(),
        payout_txid: o.payout_txid.clone(),
        dst_address: o.dst_address.clone(),
        dst_tag: o.dst_tag.map(|t| t.to_string()),
        memo_id: o.dst_tag.map(|t| t.to_string()),
        memo_value: o.memo.clone(),
        rate: price_of(o).and_then(|p| p.rate()).map(eighteen),
        service_fee_amount: o.payin_amount.and(amount(c, payin_cur, Some(o.payin_fee + o.margin_fee))),
        service_fee_currency: o.payin_amount.and(o.payin_currency.clone()),
        error_message: o.error_message.clone(),
    }
}

/// The callback body (section 8), compact.
pub fn callback_body(c: &Currencies, o: &OrderRow) -> String {
    #[derive(Serialize)]
    struct Callback {
        client_order: OrderOut,
        r#type: &'static str,
        version: u8,
    }
    serde_json::to_string(&Callback { client_order: order_out(c, o), r#type: "client_order", version: 2 })
        .expect("an order serialises")
}

/// The version-1 flat order (API.md 9.5), written by hand so its amounts are
/// JSON numbers with exactly their decimal digits (`0.00378315`), never a
/// float's approximation.
pub fn v1_order_json(c: &Currencies, o: &OrderRow) -> String {
    let number = |currency: Option<&str>, units: Option<i64>| match (currency.and_then(|cur| c.exponent(cur)), units) {
        (Some(exp), Some(u)) => minor_decimal(u, exp).to_string(),
        _ => "null".to_string(),
    };
    let text = |v: Option<&str>| serde_json::to_string(&v).expect("a string serialises");
    let fields = [
        ("partner_order_id", text(Some(&o.partner_order_id))),
        ("payin_amount", number(o.payin_currency.as_deref(), o.payin_amount)),
        ("payout_amount", number(Some(&o.payout_currency), o.payout_amount)),
        ("payin_currency", text(o.payin_currency.as_deref())),
        ("payout_currency", text(Some(&o.payout_currency))),
        ("payout_txid", text(o.payout_txid.as_deref())),
        ("status", text(Some(o.status.as_str()))),
        ("dst_address", text(o.dst_address.as_deref())),
        ("dst_tag", o.dst_tag.map(|t| t.to_string()).unwrap_or_else(|| "null".into())),
        ("memo_id", text(o.dst_tag.map(|t| t.to_string()).as_deref())),
        ("memo_value", text(o.memo.as_deref())),
    ];
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}
