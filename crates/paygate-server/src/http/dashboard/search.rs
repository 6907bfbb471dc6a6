//! The search form shared by the payin and payout lists: status, merchant,
//! order id, currency, amount range (in the currency's units, so it needs a
//! currency), days; 50 rows a page, and a next-page link that keeps every
//! filter.

use super::layout::esc;
use crate::state::AppState;
use paygate_core::money::parse_positive_minor;
use paygate_store::payments::ListFilter;
use std::collections::HashMap;

pub const PAGE: usize = 50;

/// The filter a query asks for, and the form that shows it (with a note on
/// what could not be used).
pub fn search(state: &AppState, q: &HashMap<String, String>, statuses: &[&str]) -> (ListFilter, String) {
    let text = |k: &str| q.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let status = text("status").filter(|v| statuses.contains(&v.as_str()));
    let currency = text("currency").map(|c| c.to_uppercase()).filter(|c| state.currencies.exponent(c).is_some());
    let mut notes = Vec::new();
    let mut amount = |key: &str| {
        let raw = text(key)?;
        let Some(exp) = currency.as_deref().and_then(|c| state.currencies.exponent(c)) else {
            notes.push("an amount range needs a currency");
            return None;
        };
        let parsed = parse_positive_minor(&raw, exp).ok();
        if parsed.is_none() {
            notes.push("an amount is not a positive number in the currency's units");
        }
        parsed
    };
    let (amount_min, amount_max) = (amount("amount_min"), amount("amount_max"));
    let filter = ListFilter {
        merchant_id: text("merchant_id"),
        statuses: status.iter().cloned().collect(),
        currency,
        created_from: day(q, "date_from", false),
        created_to: day(q, "date_to", true),
        amount_min,
        amount_max,
        merchant_order_id: text("order_id"),
        before_id: text("cursor"),
        limit: PAGE as i64 + 1,
        ..Default::default()
    };
    let form = form(q, statuses, status.as_deref(), &notes);
    (filter, form)
}

/// A `YYYY-MM-DD` day's start (UTC) in µs; `next` gives the next day's.
fn day(q: &HashMap<String, String>, key: &str, next: bool) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(q.get(key)?.trim(), "%Y-%m-%d").ok()?;
    let d = if next { d.succ_opt()? } else { d };
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

fn form(q: &HashMap<String, String>, statuses: &[&str], status: Option<&str>, notes: &[&str]) -> String {
    let kept = |k: &str| esc(q.get(k).map(String::as_str).unwrap_or(""));
    let mut b = String::from(
        "<form method=\"get\" class=\"filters\"><label>Status <select name=\"status\"><option value=\"\">any</option>",
    );
    for st in statuses {
        let sel = if status == Some(*st) { " selected" } else { "" };
        b += &format!("<option{sel}>{st}</option>");
    }
    b += "</select></label>";
    for (key, label, attrs) in [
        ("merchant_id", "Merchant", ""),
        ("order_id", "Order id", ""),
        ("currency", "Currency", " size=\"5\""),
        ("amount_min", "Amount from", " size=\"8\" inputmode=\"decimal\""),
        ("amount_max", "to", " size=\"8\" inputmode=\"decimal\""),
        ("date_from", "From", " type=\"date\""),
        ("date_to", "To", " type=\"date\""),
    ] {
        b += &format!("<label>{label} <input name=\"{key}\"{attrs} value=\"{}\"></label>", kept(key));
    }
    b += "<button>Search</button></form>";
    for n in notes {
        b += &format!("<p class=\"error\">Not applied: {n}.</p>");
    }
    b
}

/// Trims the rows to a page and gives the next page's link when there is one.
pub fn next_page<T>(path: &str, q: &HashMap<String, String>, rows: &mut Vec<T>, id: impl Fn(&T) -> String) -> String {
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let Some(last) = rows.last().filter(|_| more) else { return String::new() };
    let mut next = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in q.iter().filter(|(k, _)| k.as_str() != "cursor") {
        next.append_pair(k, v);
    }
    next.append_pair("cursor", &id(last));
    format!("<p><a href=\"{path}?{}\">Next page</a></p>", esc(&next.finish()))
}
