//! The HTTP surface: routers by audience, merged into one app with the
//! cross-cutting layers (request ids, logs, metrics, timeouts, panics).

mod access_responses;
pub mod admin;
mod answer_rules;
pub mod auth;
pub mod body;
pub mod callbacks;
pub mod dashboard;
pub mod envelope;
pub mod filters;
pub mod merchant;
pub mod ops;
pub mod partner;
pub mod pay;
mod request_rules;
mod retry_responses;
pub mod roles;
mod stall;

use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;
use crate::telemetry::{track_metrics, RandomRequestId, REQUEST_ID_HEADER};
use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "paygate",
        description = "Self-hosted payment gateway. Merchant calls are signed with X-App-Token, \
                       X-App-Access-Ts and X-App-Access-Sig = hex(HMAC-SHA256(SecretToken, ts + email)). \
                       Admin calls use Authorization: Bearer <admin token>, or a named operator's opk_ key \
                       with their role (viewer: reads; operator: also payin, payout, dispute, event and \
                       exchange order actions; admin: everything), FORBIDDEN (403) otherwise. Every error is \
                       {\"success\": false, \"error\": {\"code\", \"message\", \"details\"}}; beyond the codes \
                       of the contract paygate uses UNAUTHORIZED (admin token), METHOD_NOT_ALLOWED (405), \
                       EMAIL_TAKEN (409), PARTNER_EXISTS (409), PROVIDER_IN_USE (409), PROVIDER_REFUSED \
                       (422) and, on upstream callbacks, INVALID_SIGNATURE (401). The Switchere-compatible exchange API \
                       (tag partner) keeps Switchere's shapes: no envelope, amounts as 18-decimal strings, \
                       errors as {\"success\": 0, \"error\": {\"code\", \"message\"}}; partner calls carry \
                       API-Key and API-Signature = base64(HMAC-SHA512(secret, SHA-256(path + raw body)))."
    ),
    // Served by Swagger UI's router, documented here.
    paths(openapi_json, docs),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorEnvelope)),
    tags((name = "merchant", description = "Signed merchant API"),
         (name = "admin", description = "Operator API"),
         (name = "partner", description = "Switchere-compatible exchange API (public and partner paths)"),
         (name = "operations", description = "Health, metrics and documentation"),
         (name = "pages", description = "The hosted payment page customers pay on"),
         (name = "providers", description = "Callbacks from upstream providers (API.md section 7)"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        let header =
            |name: &str, what: &str| SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)));
        c.add_security_scheme("app_token", header("X-App-Token", "The merchant's PublicToken"));
        c.add_security_scheme("app_ts", header("X-App-Access-Ts", "Current Unix time in seconds"));
        c.add_security_scheme(
            "app_sig",
            header("X-App-Access-Sig", "lowercase hex(HMAC-SHA256(key=SecretToken, msg=ts + email))"),
        );
        c.add_security_scheme("partner_key", header("API-Key", "The partner's API key"));
        c.add_security_scheme(
            "partner_signature",
            header(
                "API-Signature",
                "base64(HMAC-SHA512(key=secret, msg=SHA-256(path + raw body) as 32 raw bytes)), padded or unpadded",
            ),
        );
        c.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token (role admin), or a named operator's opk_ key (`paygate operator api-key`, \
                         or the dashboard's account page) with that operator's role",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of every route the app serves, for the default
/// currencies (a running server documents its configured ones).
pub fn openapi() -> serde_json::Value {
    routes_with_doc(&paygate_core::money::Currencies::default()).1
}

/// The routes and their document. The last passes work on the document as
/// JSON: some rules are JSON Schema keywords utoipa's types cannot hold.
fn routes_with_doc(currencies: &paygate_core::money::Currencies) -> (Router<AppState>, serde_json::Value) {
    let (routes, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::router())
        .merge(merchant::router())
        .merge(admin::router())
        .merge(partner::router())
        .merge(pay::router())
        .merge(callbacks::router())
        .split_for_parts();
    retry_responses::document(&mut doc);
    access_responses::document(&mut doc);
    let mut doc = request_rules::document(&doc, currencies);
    answer_rules::document(&mut doc);
    (routes, doc)
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, content_type = "application/json")))]
#[allow(dead_code)]
fn openapi_json() {}

/// Interactive API reference (Swagger UI, served from the binary).
#[utoipa::path(get, path = "/docs", tag = "operations", responses((status = 200, content_type = "text/html")))]
#[allow(dead_code)]
fn docs() {}

/// The whole application, ready to serve.
pub fn app(state: AppState) -> Router {
    let (routes, doc) = routes_with_doc(&state.currencies);
    let swagger: Router<AppState> = SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", doc).into();
    let timeout = Duration::from_secs(state.settings.request_timeout_secs);
    let body_stall = Duration::from_secs(state.settings.request_body_timeout_secs);
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let audited = from_fn_with_state(state.clone(), admin::gate::admin_api_gate);
    // Inside the admin gate, so that its audit log records the 408 the
    // client gets; the dashboard's forms get the same guard.
    let stall = from_fn_with_state(body_stall, stall::answer_stalled_bodies);
    routes
        .layer(stall.clone())
        .layer(audited)
        .merge(swagger)
        .merge(dashboard::router().layer(stall))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn(track_metrics))
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
                }))
                .layer(SetRequestIdLayer::new(request_id.clone(), RandomRequestId))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let rid = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                            // Path only: never the query string, never headers.
                            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %rid)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(from_fn_with_state(Arc::new(timeout), enforce_timeout)),
        )
        .with_state(state)
}

/// Answers 503 when a request outlives the configured timeout. The handler
/// future is dropped: an open database transaction rolls back, and a writer
/// command that has not started is skipped; one already in a batch may still
/// commit. Creates are idempotent on `merchant_order_id` and transitions are
/// state-checked, so retrying is safe; for a balance adjustment the operator
/// checks the balance history before repeating it.
async fn enforce_timeout(State(limit): State<Arc<Duration>>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(*limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Unavailable("request timed out".into()).into_response(),
    }
}
