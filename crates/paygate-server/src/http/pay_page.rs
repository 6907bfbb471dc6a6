//! `GET /pay/{token}`: the customer's page of an exchange order, reached
//! from `redirect`/`url`. Until the full hosted page (API.md section 11)
//! lands, it is a plain server-rendered page with the payment instructions
//! and the order's status; it reveals nothing beyond that one order.

use crate::exchange::view::unix_six;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use paygate_core::exchange::quote::minor_decimal;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pay_page))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The hosted page of an exchange order: what to pay, where, and its status.
#[utoipa::path(get, path = "/pay/{token}", tag = "operations", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html"), (status = 404, content_type = "text/html")))]
async fn pay_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let html = |status: StatusCode, body: String| {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Payment</title></head>\
             <body style=\"font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem\">{body}</body></html>"
        );
        let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")];
        (status, headers, page).into_response()
    };
    let valid = token.len() == 48 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let order = match valid {
        true => state.db.exchange_order_by_token(&token).await.ok().flatten(),
        false => None,
    };
    let Some(o) = order else {
        return html(StatusCode::NOT_FOUND, "<h1>Payment not found</h1>".into());
    };
    let amount = |cur: Option<&str>, units: Option<i64>| match (cur.and_then(|c| state.currencies.exponent(c)), units) {
        (Some(exp), Some(u)) => format!("{} {}", minor_decimal(u, exp), escape(cur.unwrap_or(""))),
        _ => "—".to_string(),
    };
    let mut body = format!("<h1>Order {}</h1>", escape(&o.partner_order_id));
    body += &format!("<p>Status: <strong id=\"status\">{}</strong></p>", escape(o.status.as_str()));
    if o.status.awaits_payin() {
        match (&o.payin_currency, &o.crypto_address) {
            (None, _) => body += "<p>Choose the currency you pay in (on the full page, coming soon).</p>",
            (Some(_), Some(addr)) => {
                body += &format!(
                    "<p>Send exactly <strong>{}</strong> to</p><p><code id=\"address\">{}</code>{}</p>",
                    amount(o.payin_currency.as_deref(), o.payin_amount),
                    escape(addr),
                    o.crypto_network.as_deref().map(|n| format!(" ({})", escape(n))).unwrap_or_default()
                )
            }
            (Some(_), None) => {
                body += &format!("<p>Pay <strong>{}</strong>.</p>", amount(o.payin_currency.as_deref(), o.payin_amount))
            }
        }
        body += &format!("<p>Pay before {} (Unix time).</p>", unix_six(o.expires_at));
    }
    body += &format!(
        "<p>You receive: {}</p>",
        amount(Some(&o.payout_currency), o.payout_amount.or(o.expected_payout_amount))
    );
    html(StatusCode::OK, body)
}
