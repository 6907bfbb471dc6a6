//! The operator's other lists: webhook and partner-callback deliveries (and resending an event), exchange orders,
//! rates and the book's positions, the requisites pool, and the ledger
//! check.

use super::action::{perform, Action, Done};
use super::layout::{error_page, esc, form_for, page};
use super::search::{next_page, PAGE};
use super::session::{Role, Session};
use crate::error::ApiError;
use crate::http::envelope::rfc3339;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use paygate_core::money::format_minor;
use paygate_store::events::DeliveryFilter;
use paygate_store::exchange::orders::OrderFilter;
use std::collections::HashMap;

pub(super) fn table(head: &[&str], rows: Vec<String>) -> String {
    let mut t = String::from("<table><tr>");
    for h in head {
        t += &format!("<th>{h}</th>");
    }
    t += "</tr>";
    for r in rows {
        t += &format!("<tr>{r}</tr>");
    }
    t + "</table>"
}

/// Delivery outcomes as the webhook worker records them.
const DELIVERY_OUTCOMES: [&str; 3] = ["success", "failed", "error"];

pub async fn deliveries(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let text = |k: &str| q.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let filter = DeliveryFilter {
        merchant_id: text("merchant_id"),
        event_id: text("event_id"),
        object_id: text("object_id"),
        status: text("status").filter(|v| DELIVERY_OUTCOMES.contains(&v.as_str())),
        before_id: text("cursor"),
        limit: PAGE as i64 + 1,
    };
    let mut rows = match state.db.deliveries(&filter).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    let next = next_page("/dashboard/deliveries", &q, &mut rows, |d| d.id.to_string());
    let mut b = String::from(
        "<form method=\"get\" class=\"filters\"><label>Outcome <select name=\"status\"><option value=\"\">any</option>",
    );
    for o in DELIVERY_OUTCOMES {
        let sel = if filter.status.as_deref() == Some(o) { " selected" } else { "" };
        b += &format!("<option{sel}>{o}</option>");
    }
    b += "</select></label>";
    for (key, label) in [("merchant_id", "Merchant"), ("object_id", "Payment or order"), ("event_id", "Event")] {
        let kept = esc(q.get(key).map(String::as_str).unwrap_or(""));
        b += &format!("<label>{label} <input name=\"{key}\" value=\"{kept}\"></label>");
    }
    b += "<button>Search</button></form>";
    let rows = rows
        .iter()
        .map(|d| {
            format!(
                "<td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                rfc3339(d.created_at),
                esc(&d.event_type),
                esc(&d.object_id),
                d.attempt,
                esc(&d.status),
                d.http_status.map(|h| h.to_string()).unwrap_or_default(),
                esc(d.error.as_deref().unwrap_or("")),
                form_for(&s, Role::Operator, &format!("/dashboard/events/{}/resend", d.event_id), "", "Resend")
            )
        })
        .collect();
    b += &table(&["When", "Event", "Object", "Attempt", "Outcome", "HTTP", "Error", ""], rows);
    page(&s, "Webhook and callback deliveries", &(b + &next))
}

pub async fn resend(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a = Action {
        needed: Role::Operator,
        name: "event.resend".into(),
        target: Some(id.clone()),
        back: "/dashboard/deliveries".into(),
    };
    let (state_ref, id_ref) = (&state, &id);
    perform(&state, &s, &headers, &body, a, |_f| async move {
        let (state, id) = (state_ref, id_ref);
        if !state.db.requeue_event(id, None, paygate_store::time::now_micros()).await? {
            return Err(ApiError::NotFound);
        }
        state.wake_deliveries();
        Ok(Done::Back)
    })
    .await
}

pub async fn exchange(State(state): State<AppState>, s: Session) -> Response {
    let orders = state.db.search_exchange_orders(&OrderFilter { limit: 100, ..Default::default() }).await;
    let (rates, positions) = (state.db.rates().await, state.db.exchange_positions().await);
    let (Ok((orders, _)), Ok(rates), Ok(positions)) = (orders, rates, positions) else {
        return error_page(&s, &ApiError::Unavailable("the database did not answer".into()));
    };
    let amount = |cur: Option<&str>, units: Option<i64>| match (cur, units) {
        (Some(c), Some(u)) => format!("{} {}", format_minor(u, state.currencies.exponent(c).unwrap_or(0)), esc(c)),
        _ => "—".into(),
    };
    let mut b = String::from("<h2>Positions</h2>");
    b += &table(
        &["Mode", "Currency", "Book"],
        positions
            .iter()
            .map(|(m, c, v)| {
                format!(
                    "<td>{m}</td><td>{}</td><td>{}</td>",
                    esc(c),
                    format_minor(*v, state.currencies.exponent(c).unwrap_or(0))
                )
            })
            .collect(),
    );
    b += "<h2>Payment methods</h2>";
    b += &super::settings::methods_form(&state, &s).await;
    b += "<h2>Rates</h2>";
    b += &super::settings::rates_form(&state, &s).await;
    b += &table(
        &["Pair", "Bid", "Ask"],
        rates
            .iter()
            .map(|r| format!("<td>{}</td><td>{}</td><td>{}</td>", esc(&r.name), esc(&r.bid), esc(&r.ask)))
            .collect(),
    );
    b += "<h2>Orders</h2>";
    b += &table(
        &["Id", "Partner", "Order", "Pays", "Gets", "Status"],
        orders
            .iter()
            .map(|o| {
                format!(
                    "<td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    esc(&o.id),
                    esc(&o.merchant_id),
                    esc(&o.partner_order_id),
                    amount(o.payin_currency.as_deref(), o.payin_amount),
                    amount(Some(&o.payout_currency), o.payout_amount.or(o.expected_payout_amount)),
                    o.status.as_str()
                )
            })
            .collect(),
    );
    page(&s, "Exchange", &b)
}

pub async fn requisites(State(state): State<AppState>, s: Session) -> Response {
    let rows = match state.db.list_requisites().await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    let rows = rows
        .iter()
        .map(|r| {
            format!(
                "<td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>",
                esc(&r.id),
                esc(&r.method),
                esc(&r.currency),
                esc(&r.purpose),
                esc(&r.details),
                if r.enabled { "yes" } else { "no" }
            )
        })
        .collect();
    let edit = super::settings::requisites_form(&state, &s).await;
    page(
        &s,
        "Requisites and addresses",
        &(table(&["Id", "Method", "Currency", "Purpose", "Details", "Enabled"], rows) + &edit),
    )
}

pub async fn ledger(State(state): State<AppState>, s: Session) -> Response {
    match state.db.ledger_check().await {
        Ok(r) => {
            let verdict = if r.ok {
                "Every balance equals the sum of its entries, every transaction balances."
            } else {
                "DIFFERENCES FOUND"
            };
            let mut b = format!(
                "<p id=\"ledger\" data-ok=\"{}\">{verdict}</p><p>{} accounts, {} transactions checked.</p>",
                r.ok, r.checked, r.transactions
            );
            for d in &r.differences {
                b += &format!("<p class=\"error\">{}</p>", esc(&serde_json::to_string(d).unwrap_or_default()));
            }
            page(&s, "Ledger check", &b)
        }
        Err(e) => error_page(&s, &e.into()),
    }
}
