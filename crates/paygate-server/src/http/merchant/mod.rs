//! The merchant API (API.md section 3): signed `POST`s with JSON bodies.

pub mod balance;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(balance::balance))
}
