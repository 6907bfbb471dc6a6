//! The operator dashboard (API.md section 11): server-rendered pages behind
//! a sign-in, with CSRF-checked forms, roles on every action and an audit
//! log. No JavaScript build, nothing from other origins.
//!
//! So far: sign-in (admin token or named operators), the overview, merchants,
//! payins, payouts, disputes (with their receipts), deliveries, exchange
//! orders with rates and positions, requisites, the ledger check, the
//! audit log and each operator's account (their admin API key).

pub mod account;
mod action;
mod audit;
mod disputes;
mod layout;
mod merchants;
mod operations;
mod overview;
mod partner;
mod payins;
mod payouts;
mod providers;
mod search;
pub mod session;
mod settings;
pub mod signin;
pub mod throttle;

pub use audit::record;

use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(overview::overview))
        .route("/dashboard/sign-in", get(signin::sign_in_page).post(signin::sign_in))
        .route("/dashboard/sign-out", post(signin::sign_out))
        .route("/dashboard/merchants", get(merchants::list).post(merchants::create))
        .route("/dashboard/merchants/{id}/settings", get(settings::merchant_page).post(settings::save_merchant))
        .route("/dashboard/merchants/{id}/partner", get(partner::show).post(partner::save))
        .route("/dashboard/merchants/{id}/partner/{what}", post(partner::credentials))
        .route("/dashboard/merchants/{id}/{what}", post(merchants::manage))
        .route("/dashboard/exchange/rates", post(settings::save_rates))
        .route("/dashboard/exchange/methods", post(settings::save_methods))
        .route("/dashboard/payins", get(payins::list))
        .route("/dashboard/payins/{id}", get(payins::detail))
        .route("/dashboard/payins/{id}/{what}", post(payins::act))
        .route("/dashboard/disputes", get(disputes::list))
        .route("/dashboard/disputes/{id}", get(disputes::detail))
        .route("/dashboard/disputes/{id}/receipt", get(disputes::receipt))
        .route("/dashboard/disputes/{id}/{what}", post(disputes::act))
        .route("/dashboard/payouts", get(payouts::list))
        .route("/dashboard/payouts/{id}", get(payouts::detail))
        .route("/dashboard/payouts/{id}/{what}", post(payouts::act))
        .route("/dashboard/deliveries", get(operations::deliveries))
        .route("/dashboard/events/{id}/resend", post(operations::resend))
        .route("/dashboard/exchange", get(operations::exchange))
        .route("/dashboard/requisites", get(operations::requisites).post(settings::save_requisites))
        .route("/dashboard/ledger", get(operations::ledger))
        .route("/dashboard/providers", get(providers::providers))
        .route("/dashboard/providers/{what}", post(providers::save))
        .route("/dashboard/audit", get(audit::audit_page))
        .route("/dashboard/account", get(account::account))
        .route("/dashboard/account/api-key", post(account::new_api_key))
        .route("/assets/dashboard.css", get(css))
}

async fn css() -> Response {
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
    ];
    (headers, include_str!("../../../assets/dashboard.css")).into_response()
}
