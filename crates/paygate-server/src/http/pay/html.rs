//! The hosted page's HTML: server-rendered, every value escaped, styles and
//! the small script served from this binary (the page's Content-Security-
//! Policy allows nothing else). It works without the script (a form posts,
//! the page reloads); with it, the countdown runs and the status updates
//! without a reload.

use super::model::{Instructions, Phase, View};
use qrcode::render::svg;
use qrcode::QrCode;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><link rel=\"icon\" href=\"data:,\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/assets/pay.css\"></head><body><main>{body}</main>\
         <script src=\"/assets/pay.js\" defer></script></body></html>",
        escape(title)
    )
}

pub fn not_found() -> String {
    page("Payment not found", "<h1>Payment not found</h1><p>This payment link is unknown or no longer valid.</p>")
}

/// A QR code of `text` as inline SVG (no image request, no script).
fn qr(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<svg::Color<'_>>().min_dimensions(180, 180).quiet_zone(true).build();
            // An XML declaration means nothing inside HTML.
            match svg.find("<svg") {
                Some(start) => svg[start..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

fn copyable(id: &str, value: &str) -> String {
    format!(
        "<span class=\"value\"><code id=\"{id}\">{v}</code> \
         <button type=\"button\" class=\"copy\" data-copy=\"{id}\">Copy</button></span>",
        v = escape(value)
    )
}

fn phase_text(phase: Phase) -> &'static str {
    match phase {
        Phase::Waiting => "Waiting for your payment",
        Phase::Paid => "Payment received. Thank you!",
        Phase::Failed => "The payment did not go through",
        Phase::Gone => "This payment is no longer open",
    }
}

pub fn render(token: &str, v: &View) -> String {
    let mut b = String::new();
    match (&v.amount, &v.currency) {
        (Some(a), Some(c)) => {
            b += &format!("<h1>Pay <span id=\"amount\">{}</span> {}</h1>", escape(a), escape(c));
        }
        _ => b += "<h1>Choose how to pay</h1>",
    }
    let waiting = v.phase == Phase::Waiting;
    if waiting {
        match &v.instructions {
            Instructions::Requisites(list) => {
                b += "<dl class=\"requisites\">";
                for (i, (label, value)) in list.iter().enumerate() {
                    b += &format!("<dt>{}</dt><dd>{}</dd>", escape(label), copyable(&format!("r{i}"), value));
                }
                b += "</dl>";
            }
            Instructions::Address { address, network } => {
                b += "<p>Send exactly the amount above to this address";
                if let Some(n) = network {
                    b += &format!(" on <strong>{}</strong>", escape(n));
                }
                b += &format!(":</p><p>{}</p><div class=\"qr\">{}</div>", copyable("address", address), qr(address));
            }
            Instructions::Choose(choices) if choices.is_empty() => {
                b += "<p>No currency is available for this payment right now.</p>";
            }
            Instructions::Choose(choices) => {
                b += &format!("<form method=\"post\" action=\"/pay/{token}/currency\" class=\"choose\">");
                for c in choices {
                    b += &format!(
                        "<button name=\"currency\" value=\"{cur}\">{amt} {cur}</button>",
                        cur = escape(&c.currency),
                        amt = escape(&c.amount)
                    );
                }
                b += "</form>";
            }
        }
        b += &format!(
            "<p>Time left: <span id=\"countdown\" data-expires=\"{}\">{}</span></p>",
            v.expires_at / 1_000_000,
            "until the deadline"
        );
    }
    b += &format!(
        "<p class=\"status\" role=\"status\">Status: <strong id=\"status\" data-phase=\"{}\">{}</strong></p>",
        serde_json::to_value(v.phase).ok().and_then(|p| p.as_str().map(str::to_string)).unwrap_or_default(),
        phase_text(v.phase)
    );
    let paying = !matches!(v.instructions, Instructions::Choose(_));
    if v.test && waiting && paying {
        b += &format!(
            "<form method=\"post\" action=\"/pay/{token}/simulate\" id=\"simulate\" class=\"test\">\
             <p>Test mode: no real money moves.</p><button>Simulate the payment</button></form>"
        );
    }
    if let Some(url) = v.return_url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        b += &format!("<p><a id=\"return\" href=\"{}\">Back to the shop</a></p>", escape(url));
    }
    b += &format!("<span id=\"token\" hidden>{token}</span>");
    page("Payment", &b)
}
