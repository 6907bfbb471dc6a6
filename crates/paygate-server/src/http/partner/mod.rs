//! The Switchere-compatible exchange API (API.md section 9): public reads
//! and quotes, and the partner's signed calls. Bodies keep Switchere's
//! shapes (no `{success, data}` envelope) and errors its
//! `{"success":0,"error":{…}}`.

pub mod auth;
pub mod error;
mod input;
pub use input::text as input_text;
pub mod list;
pub mod orders;
pub mod quote;
pub mod reads;
pub mod sandbox;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reads::healthcheck))
        .routes(routes!(reads::healthcheck_v1))
        .routes(routes!(reads::currency_public))
        .routes(routes!(reads::currency_public_v1))
        .routes(routes!(reads::currency_partner))
        .routes(routes!(reads::methods_public))
        .routes(routes!(reads::methods_public_v1))
        .routes(routes!(reads::methods_partner))
        .routes(routes!(reads::tickers_public))
        .routes(routes!(reads::tickers_partner))
        .routes(routes!(reads::ticker_public))
        .routes(routes!(reads::ticker_partner))
        .routes(routes!(quote::fee_partner))
        .routes(routes!(quote::fee_public))
        .routes(routes!(quote::fee_public_v1))
        .routes(routes!(orders::create))
        .routes(routes!(orders::purchase_url))
        .routes(routes!(orders::order_v2))
        .routes(routes!(orders::order_v1))
        .routes(routes!(list::list_v1))
        .routes(routes!(sandbox::sandbox_pay))
}
