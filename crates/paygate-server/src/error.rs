//! The one API error type. It renders the envelope of API.md section 1 and
//! logs internal causes without ever sending them to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One field-level problem inside a `VALIDATION_ERROR`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub issue: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, issue: impl Into<String>) -> Self {
        FieldIssue { field: field.into(), issue: issue.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request body is not valid JSON: {0}")]
    BadJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("missing authentication header {0}")]
    AuthMissingHeaders(&'static str),
    #[error("unknown X-App-Token")]
    AuthUnknownToken,
    /// The message says what is wrong with the timestamp (milliseconds
    /// instead of seconds, or how far off it is).
    #[error("{0}")]
    AuthTsExpired(String),
    #[error("X-App-Access-Sig does not match")]
    AuthBadSignature,
    /// An upstream provider's callback whose `API-Signature` is missing or
    /// does not match its callback secret.
    #[error("API-Signature is missing or does not match the provider's callback secret")]
    CallbackBadSignature,
    #[error("admin token missing or wrong")]
    AdminUnauthorized,
    #[error("merchant is disabled")]
    MerchantDisabled,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 with one of the documented codes (`DUPLICATE_ORDER_ID`,
    /// `INVALID_STATE`, `DISPUTE_ALREADY_OPEN`, `EMAIL_TAKEN`).
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request body stopped arriving (`crate::http::stall`).
    #[error("the request body stopped arriving; send it again on a new connection")]
    RequestTimeout,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request is invalid")]
    Validation(Vec<FieldIssue>),
    /// 422 with a specific code (`UNSUPPORTED_CURRENCY`, `UNSUPPORTED_METHOD`,
    /// `AMOUNT_OUT_OF_LIMITS`, `PAIR_NOT_AVAILABLE`).
    #[error("{1}")]
    Unprocessable(&'static str, String),
    #[error("{0}")]
    InsufficientFunds(String),
    /// 429; the number is the `Retry-After` in seconds.
    #[error("too many requests; retry after {0} s")]
    RateLimited(u64),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The `error` object of the envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code from API.md section 1.
    #[schema(example = "VALIDATION_ERROR")]
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldIssue>,
}

/// `{"success": false, "error": {...}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    #[schema(example = false)]
    pub success: bool,
    pub error: ErrorBody,
}

impl ApiError {
    pub fn validation(field: &str, issue: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldIssue::new(field, issue)])
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(e.into())
    }

    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ApiError::*;
        match self {
            BadJson(_) => (StatusCode::BAD_REQUEST, "BAD_JSON"),
            BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            AuthMissingHeaders(_) => (StatusCode::UNAUTHORIZED, "AUTH_MISSING_HEADERS"),
            AuthUnknownToken => (StatusCode::UNAUTHORIZED, "AUTH_UNKNOWN_TOKEN"),
            AuthTsExpired(_) => (StatusCode::UNAUTHORIZED, "AUTH_TS_EXPIRED"),
            AuthBadSignature => (StatusCode::UNAUTHORIZED, "AUTH_BAD_SIGNATURE"),
            CallbackBadSignature => (StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE"),
            AdminUnauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            MerchantDisabled => (StatusCode::FORBIDDEN, "MERCHANT_DISABLED"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            Conflict(code, _) => (StatusCode::CONFLICT, code),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT"),
            UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
            Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            Unprocessable(code, _) => (StatusCode::UNPROCESSABLE_ENTITY, code),
            InsufficientFunds(_) => (StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_FUNDS"),
            RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }
}

impl From<paygate_store::StoreError> for ApiError {
    fn from(e: paygate_store::StoreError) -> Self {
        ApiError::not_ours(&e).unwrap_or_else(|| ApiError::Internal(e.into()))
    }
}

impl ApiError {
    /// A store failure that one batched read shares with all its readers
    /// (`crate::reads`): answered as [`From<StoreError>`] would.
    pub fn from_shared_store(e: &paygate_store::StoreError) -> ApiError {
        ApiError::not_ours(e).unwrap_or_else(|| ApiError::internal(anyhow::anyhow!("{e}")))
    }

    /// The store failures that are not a fault of paygate: the client's
    /// text, or the database going away.
    fn not_ours(e: &paygate_store::StoreError) -> Option<ApiError> {
        match e {
            paygate_store::StoreError::InvalidText => {
                Some(ApiError::BadRequest("text must not contain NUL characters".into()))
            }
            // A restart or failover of the database, not a fault of the
            // request: 503 says "retry", and the pool replaces the connection.
            other if other.is_connection_failure() => {
                tracing::warn!(error = %other, "database connection failed");
                Some(ApiError::Unavailable("the database is unavailable or busy; retry shortly".into()))
            }
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(cause) = &self {
            // The cause goes to the log, chained; the client gets a generic line.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let details = match &self {
            ApiError::Validation(d) => d.clone(),
            _ => Vec::new(),
        };
        let message = match &self {
            ApiError::Validation(d) if d.len() == 1 => format!("{}: {}", d[0].field, d[0].issue),
            other => other.to_string(),
        };
        let body = ErrorEnvelope { success: false, error: ErrorBody { code, message, details } };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED && code == "UNAUTHORIZED" {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // 503s are all worth retrying (a timeout, a lost or exhausted
        // database connection, busy requisites, a stopped writer) after a moment.
        let retry_after = match self {
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

pub type ApiResult<T> = Result<T, ApiError>;
