//! Reading and parsing request bodies into our error envelope: a body that
//! is too large is 413, a body that is not JSON is 400 `BAD_JSON`, JSON of
//! the wrong shape is 422 `VALIDATION_ERROR` naming the field.

use crate::error::{ApiError, FieldIssue};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

/// Reads the whole body, enforcing `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // The only failure of a buffered read we can attribute to the client
        // is its size; anything else is a broken connection.
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut too_large = false;
        while let Some(c) = cause {
            too_large |= c.is::<http_body_util::LengthLimitError>();
            cause = c.source();
        }
        if too_large {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("could not read request body".into())
        }
    })
}

/// Refuses an explicit non-JSON `Content-Type`; a missing one is tolerated
/// because many HTTP clients omit it on small POSTs.
pub fn require_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("Content-Type must be application/json".into()))
    }
}

/// Parses JSON; an empty body counts as `{}` so that calls without
/// parameters (`/api/v1/balance`) need not send one.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    if has_nul_escape(bytes) {
        // PostgreSQL cannot store NUL in text; refusing it here keeps such a
        // request from ever reaching (and failing) a shared write batch.
        return Err(ApiError::validation("body", "strings must not contain NUL characters (\\u0000)"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { missing_field_name(&inner.to_string()) } else { path };
                ApiError::Validation(vec![FieldIssue::new(field, strip_position(&inner.to_string()))])
            }
            _ => ApiError::BadJson(strip_position(&inner.to_string())),
        }
    })?;
    de.end().map_err(|e| ApiError::BadJson(strip_position(&e.to_string())))?;
    Ok(value)
}

/// For `#[serde(default, deserialize_with = "whole_number")]` on an
/// optional integer: JSON Schema counts `59.0` as the integer 59, and so
/// does the server (serde alone refuses any number written with a point).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(n) = <Option<serde_json::Number> as serde::Deserialize>::deserialize(d)? else { return Ok(None) };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    // Within ±2^63, where an f64 that is whole converts exactly.
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!("invalid value: {n}, expected a whole number"))),
    }
}

/// For `#[serde(default, deserialize_with = "object_only")]` on an optional
/// structure: a JSON object or `null`. serde alone would also read a struct
/// from an array of its fields in order (`[null, null]`), which the
/// document does not allow and no client means.
pub fn object_only<'de, T: serde::de::DeserializeOwned, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    use serde::de::Error;
    match <Option<serde_json::Value> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(v @ serde_json::Value::Object(_)) => serde_json::from_value(v).map(Some).map_err(D::Error::custom),
        Some(_) => Err(D::Error::custom("invalid type: expected an object")),
    }
}

/// Whether the JSON text holds the escape `\u0000` (a backslash that is
/// itself escaped, as in `\\u0000`, does not count). Raw control bytes are
/// invalid JSON and fail parsing anyway.
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'\\') {
        let start = i + offset;
        let run = bytes[start..].iter().take_while(|&&b| b == b'\\').count();
        let after = start + run;
        if run % 2 == 1 && bytes[after..].starts_with(b"u0000") {
            return true;
        }
        i = after;
    }
    false
}

/// serde reports a missing field at the parent path ("."); pull the name
/// out of its message so the client sees which field.
fn missing_field_name(message: &str) -> String {
    message.split('`').nth(1).filter(|_| message.starts_with("missing field")).unwrap_or("body").to_string()
}

/// Drops serde's " at line 1 column 7" suffix, which means nothing to a
/// client that built the JSON programmatically.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct In {
        amount: String,
        n: Option<u32>,
    }

    #[test]
    fn classifies_errors() {
        assert!(matches!(parse_json::<In>(b"{"), Err(ApiError::BadJson(_))));
        assert!(matches!(parse_json::<In>(br#"{"amount":"1"} x"#), Err(ApiError::BadJson(_))));
        match parse_json::<In>(b"{}") {
            Err(ApiError::Validation(d)) => assert_eq!(d[0].field, "amount"),
            other => panic!("{other:?}"),
        }
        match parse_json::<In>(br#"{"amount":"1","n":"x"}"#) {
            Err(ApiError::Validation(d)) => assert_eq!(d[0].field, "n"),
            other => panic!("{other:?}"),
        }
        match parse_json::<In>(br#"{"amount":"1","zz":1}"#) {
            Err(ApiError::Validation(d)) => assert!(d[0].issue.contains("zz"), "{d:?}"),
            other => panic!("{other:?}"),
        }
        assert!(parse_json::<In>(br#" {"amount":"1"} "#).is_ok());
    }

    #[test]
    fn nul_escapes_are_refused_but_escaped_backslashes_are_not() {
        assert!(has_nul_escape(br#"{"a":"x\u0000"}"#));
        assert!(has_nul_escape(br#"{"a":"\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"plain"}"#));
        assert!(matches!(parse_json::<In>(br#"{"amount":"1\u0000"}"#), Err(ApiError::Validation(_))));
    }
}
