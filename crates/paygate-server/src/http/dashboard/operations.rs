//! The operator's other lists: payouts (and moving one along), webhook and
//! partner-callback deliveries (and resending an event), exchange orders,
//! rates and the book's positions, the requisites pool, and the ledger
//! check.

use super::action::{perform, Action, Done};
use super::layout::{error_page, esc, form_for, page};
use super::session::{Role, Session};
use crate::error::ApiError;
use crate::http::envelope::rfc3339;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use paygate_core::money::format_minor;
use paygate_core::payments::PayOutStatus;
use paygate_store::events::DeliveryFilter;
use paygate_store::exchange::orders::OrderFilter;
use paygate_store::payments::ListFilter;
use paygate_store::writer::PayOutChange;

fn table(head: &[&str], rows: Vec<String>) -> String {
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

pub async fn payouts(State(state): State<AppState>, s: Session) -> Response {
    let filter = ListFilter { limit: 100, ..ListFilter::one(None, None, None) };
    let rows = match state.db.list_payouts(&filter).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    let rows = rows
        .iter()
        .map(|p| {
            let exp = state.currencies.exponent(&p.currency).unwrap_or(0);
            let base = format!("/dashboard/payouts/{}", p.id.as_str());
            let moves = match p.status {
                PayOutStatus::Pending => form_for(&s, Role::Operator, &format!("{base}/processing"), "", "Processing"),
                PayOutStatus::Processing => {
                    form_for(&s, Role::Operator, &format!("{base}/success"), "", "Paid")
                        + &form_for(
                            &s,
                            Role::Operator,
                            &format!("{base}/fail"),
                            "<input name=\"reason\" placeholder=\"reason\" required>",
                            "Failed",
                        )
                }
                _ => String::new(),
            };
            format!(
                "<td><code>{}</code></td><td><code>{}</code></td><td>{} {}</td><td>{}</td><td>{}</td><td>{moves}</td>",
                esc(p.id.as_str()),
                esc(p.merchant_id.as_str()),
                format_minor(p.amount, exp),
                esc(p.currency.as_str()),
                p.status.as_str(),
                rfc3339(p.created_at)
            )
        })
        .collect();
    page(&s, "Payouts", &table(&["Id", "Merchant", "Amount", "Status", "Created", ""], rows))
}

pub async fn move_payout(
    State(state): State<AppState>,
    s: Session,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a = Action {
        needed: Role::Operator,
        name: format!("payout.{what}"),
        target: Some(id.clone()),
        back: "/dashboard/payouts".into(),
    };
    let (state_ref, id_ref, what_ref) = (&state, &id, &what);
    perform(&state, &s, &headers, &body, a, |f| async move {
        let (state, id, what) = (state_ref, id_ref, what_ref);
        let (to, reason) = match what.as_str() {
            "processing" => (PayOutStatus::Processing, None),
            "success" => (PayOutStatus::Success, None),
            "fail" => {
                let r =
                    f.get("reason").map(|r| r.trim().to_string()).filter(|r| !r.is_empty() && r.chars().count() <= 500);
                (
                    PayOutStatus::Failed,
                    Some(r.ok_or_else(|| ApiError::validation("reason", "must be 1-500 characters"))?),
                )
            }
            _ => return Err(ApiError::NotFound),
        };
        let change = PayOutChange { id: id.clone(), merchant_id: None, path: vec![to], reason };
        state.writer.move_payout(change).await.map_err(crate::payments::api_error)?;
        Ok(Done::Back)
    })
    .await
}

pub async fn deliveries(State(state): State<AppState>, s: Session) -> Response {
    let rows = match state.db.deliveries(&DeliveryFilter { limit: 100, ..Default::default() }).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    let rows = rows
        .iter()
        .map(|d| {
            format!(
                "<td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                rfc3339(d.created_at),
                esc(&d.event_type),
                esc(&d.object_id),
                d.attempt,
                esc(&d.status),
                d.http_status.map(|h| h.to_string()).unwrap_or_default(),
                form_for(&s, Role::Operator, &format!("/dashboard/events/{}/resend", d.event_id), "", "Resend")
            )
        })
        .collect();
    page(
        &s,
        "Webhook and callback deliveries",
        &table(&["When", "Event", "Object", "Attempt", "Outcome", "HTTP", ""], rows),
    )
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
        state.writer.events_ready.notify_one();
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
