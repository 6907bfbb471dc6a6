//! The audit log: every state-changing operator action, from the dashboard
//! or the admin API, appended with who, what, when and from where.

use super::layout::{esc, page};
use super::session::Session;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::ids::{new_monotonic_id, IdKind};
use paygate_store::operators::AuditRow;
use paygate_store::time::now_micros;

/// Appends an entry. A failure to write it is logged, not raised: the
/// action itself already happened (or was refused) by then.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    state: &AppState,
    actor: &str,
    role: &str,
    via: &str,
    action: &str,
    target: Option<String>,
    outcome: &str,
    ip: Option<String>,
) {
    let row = AuditRow {
        id: new_monotonic_id(IdKind::Audit),
        at: now_micros(),
        actor: actor.chars().take(200).collect(),
        role: role.into(),
        via: via.into(),
        action: action.into(),
        target,
        outcome: outcome.into(),
        ip,
    };
    if let Err(e) = state.db.audit(&row).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}

pub async fn audit_page(State(state): State<AppState>, s: Session) -> Response {
    let rows = match state.db.audit_entries(None, 100).await {
        Ok(r) => r,
        Err(e) => return super::layout::error_page(&s, &e.into()),
    };
    let mut t = String::from("<table><tr><th>When</th><th>Who</th><th>Via</th><th>What</th><th>Target</th><th>Outcome</th><th>From</th></tr>");
    for r in rows {
        t += &format!(
            "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            crate::http::envelope::rfc3339(r.at),
            esc(&r.actor),
            esc(&r.role),
            esc(&r.via),
            esc(&r.action),
            esc(r.target.as_deref().unwrap_or("")),
            esc(&r.outcome),
            esc(r.ip.as_deref().unwrap_or(""))
        );
    }
    t += "</table>";
    page(&s, "Audit log", &t)
}
