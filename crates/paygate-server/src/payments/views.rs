//! How payins, payouts and ledger entries look on the wire (API.md 3.1-3.3),
//! shared by responses and webhook bodies.

use crate::http::envelope::rfc3339;
use paygate_core::money::{format_minor, Currencies};
use paygate_store::ledger::EntryRow;
use paygate_store::payments::{PayInRow, PayOutRow};
use paygate_store::writer::{EventObject, Render};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use utoipa::ToSchema;

/// A payin on the wire, borrowing the row's text: a list page renders 20
/// or more, and copying each row's strings first was a visible part of
/// its cost (bench/README.md, "List pages").
#[derive(Serialize, ToSchema, Debug)]
pub struct PayInOut<'a> {
    #[schema(example = "pi_01jb3k5v7q8r9s0t1v2w3x4y5z")]
    pub id: &'a str,
    pub merchant_order_id: &'a str,
    /// pending, success, failed, expired, cancelled
    pub status: &'a str,
    #[schema(example = "1500.00")]
    pub amount: String,
    pub original_amount: String,
    pub fee: String,
    pub net_amount: String,
    pub currency: &'a str,
    pub method: &'a str,
    #[schema(value_type = Object)]
    pub requisites: &'a RawValue,
    #[schema(value_type = Option<String>)]
    pub pay_url: Option<Cow<'a, str>>,
    pub customer_id: &'a str,
    pub customer_email: Option<&'a str>,
    pub callback_url: Option<&'a str>,
    pub return_url: Option<&'a str>,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub failure_reason: Option<&'a str>,
    pub has_open_dispute: bool,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<&'a RawValue>,
    pub mode: &'a str,
    /// Which provider took it (`sandbox`, `manual`, or an upstream's id).
    pub provider: &'a str,
    /// The provider's own reference (an upstream order id), when it has one.
    pub provider_ref: Option<&'a str>,
    /// Operator views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
}

/// A stored JSON document, sent as stored rather than parsed into a `Value`
/// and written out again (it was written compact, with sorted keys, by
/// `canonical_json`, which is what re-serialising would give). `null` if the
/// stored text is not JSON.
fn raw_json_ref(text: &str) -> &RawValue {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::from_str("null").expect("null is JSON"))
}

/// [`raw_json_ref`], owned.
fn raw_json(text: &str) -> Box<RawValue> {
    raw_json_ref(text).to_owned()
}

/// `public_base`: where customers reach this gateway (the hosted page's
/// `pay_url` is under it).
pub fn payin_out<'a>(r: &'a PayInRow, currencies: &Currencies, public_base: &str) -> PayInOut<'a> {
    let exp = currencies.exponent(&r.currency).unwrap_or(0);
    PayInOut {
        id: r.id.as_str(),
        merchant_order_id: r.merchant_order_id.as_str(),
        status: r.status.as_str(),
        amount: format_minor(r.amount, exp),
        original_amount: format_minor(r.original_amount, exp),
        fee: format_minor(r.fee, exp),
        net_amount: format_minor(r.amount - r.fee, exp),
        currency: r.currency.as_str(),
        method: r.method.as_str(),
        requisites: raw_json_ref(&r.requisites),
        // An upstream's own page when the payin went there, else ours.
        pay_url: match (&r.provider_pay_url, &r.pay_token) {
            (Some(url), _) => Some(Cow::Borrowed(url.as_str())),
            (None, Some(t)) => Some(Cow::Owned(format!("{}/pay/{t}", public_base.trim_end_matches('/')))),
            (None, None) => None,
        },
        customer_id: &r.customer_id,
        customer_email: r.customer_email.as_deref(),
        callback_url: r.callback_url.as_deref(),
        return_url: r.return_url.as_deref(),
        expires_at: rfc3339(r.expires_at),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        completed_at: r.completed_at.map(rfc3339),
        failure_reason: r.failure_reason.as_deref(),
        has_open_dispute: r.has_open_dispute,
        metadata: r.metadata.as_deref().map(raw_json_ref),
        mode: r.mode.as_str(),
        provider: &r.provider,
        provider_ref: r.provider_ref.as_deref(),
        merchant_id: None,
    }
}

#[derive(Serialize, ToSchema, Debug)]
pub struct PayOutOut {
    #[schema(example = "po_01jb3k5v7q8r9s0t1v2w3x4y5z")]
    pub id: String,
    pub merchant_order_id: String,
    /// pending, processing, success, failed, cancelled
    pub status: String,
    pub amount: String,
    pub fee: String,
    /// amount + fee: what the payout takes from the balance.
    pub total: String,
    pub currency: String,
    pub method: String,
    /// Masked: `{"card_number": "411111******1111"}`.
    #[schema(value_type = Object)]
    pub destination: Box<RawValue>,
    pub customer_id: Option<String>,
    pub callback_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub failure_reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Box<RawValue>>,
    pub mode: String,
    /// Which provider took it (`sandbox`, `manual`, or an upstream's id).
    pub provider: String,
    /// The provider's own reference (an upstream order id), when it has one.
    pub provider_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// Operator's single-payout view only: the unmasked destination the
    /// manual provider pays to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub destination_full: Option<Value>,
}

pub fn payout_out(r: &PayOutRow, currencies: &Currencies) -> PayOutOut {
    let exp = currencies.exponent(&r.currency).unwrap_or(0);
    PayOutOut {
        id: r.id.to_string(),
        merchant_order_id: r.merchant_order_id.to_string(),
        status: r.status.as_str().into(),
        amount: format_minor(r.amount, exp),
        fee: format_minor(r.fee, exp),
        total: format_minor(r.amount + r.fee, exp),
        currency: r.currency.to_string(),
        method: r.method.as_str().into(),
        destination: raw_json(&r.destination_masked),
        customer_id: r.customer_id.clone(),
        callback_url: r.callback_url.clone(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        completed_at: r.completed_at.map(rfc3339),
        failure_reason: r.failure_reason.clone(),
        metadata: r.metadata.as_deref().map(raw_json),
        mode: r.mode.as_str().into(),
        provider: r.provider.clone(),
        provider_ref: r.provider_ref.clone(),
        merchant_id: None,
        destination_full: None,
    }
}

/// One ledger entry as `/api/v1/balance/history` shows it.
#[derive(Serialize, ToSchema)]
pub struct EntryOut {
    pub id: String,
    pub created_at: String,
    pub currency: String,
    /// available, hold or frozen.
    pub bucket: String,
    /// Signed: `-100.00` leaves the bucket.
    pub amount: String,
    pub balance_after: String,
    pub reason: String,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
}

pub fn entry_out(e: &EntryRow, currencies: &Currencies) -> EntryOut {
    let exp = currencies.exponent(&e.currency).unwrap_or(0);
    EntryOut {
        id: e.id.clone(),
        created_at: rfc3339(e.created_at),
        currency: e.currency.clone(),
        bucket: e.bucket.clone(),
        amount: format_minor(e.amount, exp),
        balance_after: format_minor(e.balance_after, exp),
        reason: e.reason.clone(),
        ref_type: e.ref_type.clone(),
        ref_id: e.ref_id.clone(),
    }
}

/// Webhook bodies: `{"event_id","event","sequence","created_at","data"}`,
/// compact, with `data` exactly as the object's `/get` returns it.
/// `sequence` numbers the events of one object 1, 2, … in the order they
/// happened, so a receiver can drop a state older than one it has.
pub struct EventRenderer {
    pub currencies: Currencies,
    /// For the `pay_url` of payins in webhook bodies.
    pub public_base: String,
}

#[derive(Serialize)]
struct EventBody<'a> {
    event_id: &'a str,
    event: &'a str,
    sequence: i64,
    created_at: String,
    data: EventData<'a>,
}

/// The object an event is about, serialised as the object itself.
#[derive(Serialize)]
#[serde(untagged)]
enum EventData<'a> {
    PayIn(PayInOut<'a>),
    PayOut(PayOutOut),
    Dispute(super::disputes::DisputeOut),
}

impl Render for EventRenderer {
    fn event_body(
        &self,
        event_id: &str,
        event: &str,
        sequence: i64,
        created_at: i64,
        object: EventObject<'_>,
    ) -> String {
        let data = match object {
            EventObject::PayIn(r) => EventData::PayIn(payin_out(r, &self.currencies, &self.public_base)),
            EventObject::PayOut(r) => EventData::PayOut(payout_out(r, &self.currencies)),
            EventObject::Dispute(r) => EventData::Dispute(super::disputes::dispute_out(r, &self.currencies)),
        };
        let body = EventBody { event_id, event, sequence, created_at: rfc3339(created_at), data };
        serde_json::to_string(&body).expect("plain structs serialise")
    }
}
