//! Every dashboard form post goes through [`perform`]: the CSRF token and
//! `Origin` checks, the role the action needs, the action itself, its audit
//! entry (done or refused), and the answer: back to a page, or the error
//! page. (Actions that show a page of their own, such as a secret shown
//! once, keep their own handlers.)

use super::audit::record;
use super::layout::{error_page, fields};
use super::session::{check_form, Role, Session};
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::future::Future;

/// What a form post is, for its checks and its audit entry.
pub struct Action {
    pub needed: Role,
    /// The audit log's name for it (`payin.confirm`, …).
    pub name: String,
    pub target: Option<String>,
    /// Where to go when it is done.
    pub back: String,
}

/// How an action that went through is answered.
pub enum Done {
    /// Back to [`Action::back`].
    Back,
}

pub async fn perform<F, Fut>(
    state: &AppState,
    s: &Session,
    headers: &HeaderMap,
    body: &[u8],
    a: Action,
    run: F,
) -> Response
where
    F: FnOnce(HashMap<String, String>) -> Fut,
    Fut: Future<Output = Result<Done, ApiError>>,
{
    let f = fields(body);
    let checked = check_form(state, s, headers, f.get("csrf").map(String::as_str)).and_then(|()| s.require(a.needed));
    let done = match checked {
        Ok(()) => run(f).await,
        Err(e) => Err(e),
    };
    let outcome = if done.is_ok() { "ok" } else { "refused" };
    record(state, &s.actor, s.role.as_str(), "dashboard", &a.name, a.target, outcome, s.ip.clone()).await;
    match done {
        Ok(Done::Back) => (StatusCode::SEE_OTHER, [(header::LOCATION, a.back)]).into_response(),
        Err(e) => error_page(s, &e),
    }
}
