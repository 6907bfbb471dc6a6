//! The success envelope of API.md section 1 and time formatting.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// `{"success": true, "data": …}`.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    #[schema(example = true)]
    pub success: bool,
    pub data: T,
}

/// 200 with the envelope.
pub fn ok<T: Serialize>(data: T) -> Response {
    Json(Envelope { success: true, data }).into_response()
}

/// 200 with an envelope rendered already (a shared list page, a payment's
/// kept body).
pub fn ok_rendered(body: axum::body::Bytes) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// 201 with the envelope.
pub fn created<T: Serialize>(data: T) -> Response {
    (StatusCode::CREATED, Json(Envelope { success: true, data })).into_response()
}

/// RFC 3339 UTC with second precision (`2026-11-22T10:15:30Z`). Every
/// response carries three or four of these, so the fields are written
/// directly instead of through a `strftime` pattern parsed on each call.
/// Years outside 0–9999 (which chrono writes with a sign) take the pattern.
pub fn rfc3339(micros: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    let mut out = [0u8; 20];
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, t.year() as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    for (at, sep) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'Z')] {
        out[at] = sep;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A page of results (`{"items": […], "next_cursor": …}`).
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_matches_the_strftime_pattern() {
        let pattern = |m: i64| {
            chrono::DateTime::from_timestamp_micros(m).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string()
        };
        let samples = [
            0,
            1_795_000_000_123_456,
            951_782_400_000_000,     // 2000-02-29
            253_402_300_799_999_999, // 9999-12-31T23:59:59
            253_402_300_800_000_000, // year 10000: signed
            -1,
            -62_167_219_200_000_000, // 0000-01-01
            -62_167_219_200_000_001, // year -1: signed
            i64::MAX / 2,
            i64::MIN,
        ];
        for m in samples {
            assert_eq!(rfc3339(m), pattern(m), "{m}");
        }
        assert_eq!(rfc3339(1_795_000_000_123_456), "2026-11-18T11:06:40Z");
        // A pseudo-random sweep over 1970-2100.
        let mut x: i64 = 0x2545_f491;
        for _ in 0..10_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let m = x.rem_euclid(4_102_444_800_000_000);
            assert_eq!(rfc3339(m), pattern(m), "{m}");
        }
    }
}
