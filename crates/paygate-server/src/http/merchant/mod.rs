//! The merchant API (API.md section 3): signed `POST`s with JSON bodies.

pub mod balance;
pub mod disputes;
pub mod history;
pub mod paging;
pub mod payins;
pub mod payouts;
pub mod sandbox;
pub mod statistics;
pub mod webhooks;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(balance::balance))
        .routes(routes!(history::history))
        .routes(routes!(payins::create_payin))
        .routes(routes!(payins::get_payin))
        .routes(routes!(payins::list_payins))
        .routes(routes!(payins::cancel_payin))
        .routes(routes!(payouts::create_payout))
        .routes(routes!(payouts::get_payout))
        .routes(routes!(payouts::list_payouts))
        .routes(routes!(payouts::cancel_payout))
        .routes(routes!(disputes::create_dispute))
        .routes(routes!(disputes::get_dispute))
        .routes(routes!(disputes::list_disputes))
        .routes(routes!(disputes::cancel_dispute))
        .routes(routes!(sandbox::sandbox_pay))
        .routes(routes!(sandbox::sandbox_settle))
        .routes(routes!(statistics::statistics))
        .routes(routes!(webhooks::settings))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::resend))
}
