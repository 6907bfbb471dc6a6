//! The dashboard's page shell and the helpers every page uses: escaping,
//! forms with their CSRF token, the security headers and form bodies.

use super::session::{Role, Session};
use crate::http::pay::escape;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

pub use crate::http::pay::escape as esc;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-src 'self'; \
                   frame-ancestors 'none'";

pub fn respond(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

fn shell(title: &str, nav: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">\
         <title>{} · paygate</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>\
         <body>{nav}<main>{body}</main></body></html>",
        escape(title)
    )
}

/// A signed-in page with the navigation.
pub fn page(s: &Session, title: &str, body: &str) -> Response {
    let links = [
        ("/dashboard", "Overview"),
        ("/dashboard/merchants", "Merchants"),
        ("/dashboard/payins", "Payins"),
        ("/dashboard/payouts", "Payouts"),
        ("/dashboard/disputes", "Disputes"),
        ("/dashboard/deliveries", "Deliveries"),
        ("/dashboard/exchange", "Exchange"),
        ("/dashboard/requisites", "Requisites"),
        ("/dashboard/providers", "Providers"),
        ("/dashboard/ledger", "Ledger"),
        ("/dashboard/audit", "Audit log"),
    ];
    let mut nav = String::from("<nav><strong>paygate</strong>");
    for (href, label) in links {
        nav += &format!("<a href=\"{href}\">{label}</a>");
    }
    nav += &format!(
        "<a class=\"who\" href=\"/dashboard/account\">{} ({})</a>{}</nav>",
        escape(&s.actor),
        s.role.as_str(),
        form(s, "/dashboard/sign-out", "", "Sign out", "link")
    );
    respond(StatusCode::OK, shell(title, &nav, &format!("<h1>{}</h1>{body}", escape(title))))
}

/// A page for someone not signed in.
pub fn public_page(status: StatusCode, title: &str, body: &str) -> Response {
    respond(status, shell(title, "", &format!("<h1>{}</h1>{body}", escape(title))))
}

/// A POST form with the session's CSRF token; `fields` is extra inputs.
pub fn form(s: &Session, action: &str, fields: &str, button: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\" class=\"{class}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}\
         <button>{}</button></form>",
        escape(action),
        escape(&s.csrf),
        escape(button)
    )
}

/// Only shown to roles that may use it (the handler checks again).
pub fn form_for(s: &Session, needed: Role, action: &str, fields: &str, button: &str) -> String {
    if s.role >= needed {
        form(s, action, fields, button, "inline")
    } else {
        String::new()
    }
}

/// A payment's fields as a definition list, every value escaped.
pub fn details(rows: &[(&str, String)]) -> String {
    let mut b = String::from("<dl class=\"detail\">");
    for (k, v) in rows {
        b += &format!("<dt>{k}</dt><dd>{}</dd>", escape(v));
    }
    b + "</dl>"
}

/// A form's `reason`: 1-500 characters once trimmed.
pub fn reason(f: &HashMap<String, String>) -> Result<String, crate::error::ApiError> {
    f.get("reason")
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty() && r.chars().count() <= 500)
        .ok_or_else(|| crate::error::ApiError::validation("reason", "must be 1-500 characters"))
}

pub fn fields(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn error_page(s: &Session, e: &crate::error::ApiError) -> Response {
    let (status, code) = e.status_and_code();
    let mut r = page(
        s,
        "Not done",
        &format!(
            "<p class=\"error\">{}: {}</p><p><a href=\"/dashboard\">Back to the overview</a></p>",
            code,
            escape(&e.to_string())
        ),
    );
    *r.status_mut() = status;
    r
}
