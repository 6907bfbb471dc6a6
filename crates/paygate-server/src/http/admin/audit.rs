//! `GET /admin/v1/audit`: the audit log, newest first, and the middleware
//! that records every state-changing admin API request in it.

use crate::error::ApiResult;
use crate::http::auth::{Admin, QueryParams};
use crate::http::envelope::{ok, rfc3339, Envelope, Page};
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: String,
    pub at: String,
    /// `admin token`, or the operator's e-mail.
    pub actor: String,
    pub role: String,
    /// `dashboard`, `admin-api` or `cli`.
    pub via: String,
    #[schema(example = "POST /admin/v1/payins/{id}/confirm")]
    pub action: String,
    pub target: Option<String>,
    /// `ok`, `refused`, or the admin API's HTTP status.
    pub outcome: String,
    pub ip: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// 1-100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every state-changing operator action, from the dashboard or this API,
/// newest first.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin", security(("admin" = [])), params(AuditQuery),
    responses((status = 200, body = inline(Envelope<Page<AuditOut>>))))]
async fn audit_log(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<Response> {
    let limit = crate::http::filters::limit_plus_one(q.limit)?;
    let mut rows = state.db.audit_entries(q.cursor.as_deref(), limit).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| {
        rows.pop();
        rows.last().map(|r| r.id.clone())
    });
    let items = rows
        .into_iter()
        .map(|r| AuditOut {
            at: rfc3339(r.at),
            id: r.id,
            actor: r.actor,
            role: r.role,
            via: r.via,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            ip: r.ip,
        })
        .collect();
    Ok(ok(Page { items, next_cursor: next_cursor.flatten() }))
}

/// Records each admin API request that may change something (any method
/// but GET and HEAD), with its route, object and answer.
pub async fn record_admin_api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let writes = path.starts_with("/admin/") && method != Method::GET && method != Method::HEAD;
    if !writes {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| path.clone());
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical().to_string());
    let resp = next.run(req).await;
    let outcome = resp.status().as_u16().to_string();
    let target = (route != path).then_some(path);
    crate::http::dashboard::record(
        &state,
        "admin token",
        "admin",
        "admin-api",
        &format!("{method} {route}"),
        target,
        &outcome,
        ip,
    )
    .await;
    resp
}
