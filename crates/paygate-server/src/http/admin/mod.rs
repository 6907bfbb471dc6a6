//! The operator API, behind `Authorization: Bearer <admin token>`.

pub mod merchants;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(merchants::router())
}
