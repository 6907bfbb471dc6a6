//! The overview: today's and this month's volumes, the success rate, open
//! disputes, the webhook backlog, and successful payins per day as an SVG
//! chart drawn on the server.

use super::layout::{error_page, esc, page};
use super::session::Session;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::money::format_minor;
use paygate_store::time::now_micros;

const DAY: i64 = 86_400_000_000;
const DAYS: i64 = 14;

fn chart(per_day: &[(i64, i64)], from: i64) -> String {
    let counts: Vec<i64> =
        (0..DAYS).map(|i| per_day.iter().find(|(d, _)| *d == from + i * DAY).map_or(0, |(_, n)| *n)).collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from(
        "<svg class=\"chart\" viewBox=\"0 0 280 124\" role=\"img\" aria-label=\"Successful payins per day, last 14 days\">",
    );
    for (i, n) in counts.iter().enumerate() {
        let h = n * 100 / max;
        svg += &format!(
            "<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{h}\"><title>{n}</title></rect>",
            i * 20 + 2,
            110 - h
        );
    }
    // The first, middle and last day, as month-day.
    for i in [0, DAYS / 2, DAYS - 1] {
        let label = chrono::DateTime::from_timestamp_micros(from + i * DAY)
            .map(|d| d.format("%m-%d").to_string())
            .unwrap_or_default();
        svg += &format!("<text x=\"{}\" y=\"120\">{label}</text>", i * 20 + 2);
    }
    svg + "<line x1=\"0\" y1=\"110\" x2=\"280\" y2=\"110\"/></svg>"
}

pub async fn overview(State(state): State<AppState>, s: Session) -> Response {
    let now = now_micros();
    let today = now - now.rem_euclid(DAY);
    let month = today - 29 * DAY;
    let from = today - (DAYS - 1) * DAY;
    let o = match state.db.overview(today, month, from).await {
        Ok(o) => o,
        Err(e) => return error_page(&s, &e.into()),
    };
    let mut b = String::from("<section class=\"cards\">");
    let permille = (o.ended > 0).then(|| o.succeeded * 1000 / o.ended);
    let rate = permille.map_or("—".to_string(), |p| format!("{}.{} %", p / 10, p % 10));
    b += &format!("<div><h2>Success rate, 30 days</h2><p>{rate}</p></div>");
    b += &format!("<div><h2>Open disputes</h2><p>{}</p></div>", o.open_disputes);
    b += &format!("<div><h2>Webhook backlog</h2><p>{}</p></div>", o.webhook_backlog);
    b += "</section><h2>Volume (successful payins)</h2><table><tr><th>Currency</th><th>Today</th><th>30 days</th></tr>";
    for (cur, day, month) in &o.volumes {
        let exp = state.currencies.exponent(cur).unwrap_or(0);
        b += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(cur),
            format_minor(*day, exp),
            format_minor(*month, exp)
        );
    }
    b += "</table><h2>Successful payins per day, last 14 days</h2>";
    b += &chart(&o.per_day, from);
    page(&s, "Overview", &b)
}
