//! Parsing the partner API's request fields: clear 4xx errors naming the
//! field, nothing changed. JSON numbers and strings are both accepted for
//! amounts and tags, parsed exactly.

use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::callback_url::CallbackUrl;
use paygate_core::email::Email;
use paygate_core::payments::valid_merchant_order_id;
use serde_json::value::RawValue;

pub fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, ApiError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::validation(field, "is required")),
    }
}

pub fn partner_order_id(v: &Option<String>) -> Result<String, ApiError> {
    let id = required("partner_order_id", v)?;
    if !valid_merchant_order_id(id) {
        return Err(ApiError::validation("partner_order_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -"));
    }
    Ok(id.to_string())
}

pub fn group(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|g| !g.is_empty()).map(str::to_string)
}

pub fn email(v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(e) => Email::parse(e)
            .map(|e| Some(e.as_str().to_string()))
            .map_err(|e| ApiError::validation("client_email", e.to_string())),
    }
}

pub fn callback_url(state: &AppState, v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(u) => CallbackUrl::parse(u, state.settings.allow_private_callbacks)
            .map(|u| Some(u.as_str().to_string()))
            .map_err(|e| ApiError::validation("callback_url", e.to_string())),
    }
}

/// `dst_tag`: 0–4294967295, as a JSON number or a string of digits.
pub fn dst_tag(v: Option<&RawValue>) -> Result<Option<i64>, ApiError> {
    let Some(raw) = v else { return Ok(None) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let digits = if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|_| ApiError::validation("dst_tag", "must be a number"))?
    } else {
        text.to_string()
    };
    let invalid = || ApiError::validation("dst_tag", "must be a whole number from 0 to 4294967295");
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let tag: i64 = digits.parse().map_err(|_| invalid())?;
    if tag > i64::from(u32::MAX) {
        return Err(invalid());
    }
    Ok(Some(tag))
}

/// Free text of at most `max` characters, or nothing.
pub fn text(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(ApiError::validation(field, format!("must be at most {max} printable characters")))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// `free_first`: 0 or 1 (accepted for compatibility; paygate has no
/// first-order promotion, so it changes nothing).
pub fn free_first(v: Option<&RawValue>) -> Result<(), ApiError> {
    match v.map(|r| r.get().trim().trim_matches('"')) {
        None | Some("0" | "1" | "null" | "true" | "false") => Ok(()),
        Some(_) => Err(ApiError::validation("free_first", "must be 0 or 1")),
    }
}
