//! The operator API, behind `Authorization: Bearer <admin token>` or a
//! named operator's key, with roles enforced by [`gate`].

pub mod audit;
pub mod disputes;
pub mod exchange;
pub mod gate;
pub mod merchants;
pub mod money;
pub mod partners;
pub mod payments;
pub mod providers;
pub mod webhooks;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(merchants::router())
        .merge(audit::router())
        .merge(payments::router())
        .merge(money::router())
        .merge(webhooks::router())
        .merge(disputes::router())
        .merge(partners::router())
        .merge(exchange::router())
        .merge(providers::router())
}
