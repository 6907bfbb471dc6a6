//! `GET /admin/v1/audit`: the audit log, newest first. Admin API requests
//! are written to it by [`super::gate`].

use crate::error::ApiResult;
use crate::http::auth::{Admin, QueryParams};
use crate::http::envelope::{ok, rfc3339, Envelope, Page};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
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
