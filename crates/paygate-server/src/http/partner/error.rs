//! Errors of the Switchere-compatible API (API.md section 9): the statuses
//! and codes of section 1, in Switchere's shape
//! `{"success":0,"error":{"code":"…","message":"…"}}`.

use crate::error::ApiError;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub struct PartnerError(pub ApiError);

impl<E: Into<ApiError>> From<E> for PartnerError {
    fn from(e: E) -> Self {
        PartnerError(e.into())
    }
}

pub type PartnerResult<T> = Result<T, PartnerError>;

#[derive(Serialize, ToSchema)]
pub struct PartnerErrorBody {
    #[schema(example = "PAIR_NOT_AVAILABLE")]
    pub code: &'static str,
    pub message: String,
}

/// `{"success": 0, "error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
pub struct PartnerErrorEnvelope {
    #[schema(example = 0)]
    pub success: u8,
    pub error: PartnerErrorBody,
}

impl IntoResponse for PartnerError {
    fn into_response(self) -> Response {
        let (status, code) = self.0.status_and_code();
        let message = match &self.0 {
            ApiError::AuthUnknownToken => "unknown API-Key".to_string(),
            ApiError::AuthBadSignature => "API-Signature does not match".to_string(),
            ApiError::Validation(issues) => {
                issues.iter().map(|i| format!("{}: {}", i.field, i.issue)).collect::<Vec<_>>().join("; ")
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        let body = PartnerErrorEnvelope { success: 0, error: PartnerErrorBody { code, message } };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match self.0 {
            ApiError::RateLimited(seconds) => Some(seconds),
            ApiError::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
