//! What a dispute may carry: receipts judged by their content and size,
//! comments without control characters, and a bounded number of disputes
//! per payin.

use crate::both_backends;
use crate::dispute_support::*;
use crate::helpers::{assert_error, TestApp};
use reqwest::Method;
use serde_json::json;

both_backends!(receipts_are_judged_by_content_and_size, hostile_text_and_endless_disputes_are_refused);

async fn receipts_are_judged_by_content_and_size(app: TestApp) {
    let m = app.create_merchant("receipts@example.com").await;
    let id = paid_payin(&app, &m, "r-1", "10.00").await;
    let before = app.snapshot().await;
    let with = |data: String, name: &str| {
        json!({"payin_id": id, "amount": "10.00",
               "receipt": {"filename": name, "content_type": "application/pdf", "data_base64": data}})
    };
    // Named and declared as a PDF, but not one.
    for fake in [&b"GIF89a\x01\0\x01\0"[..], b"<html><script>alert(1)</script>%PDF-", b"PK\x03\x04zip", b"\0\0\0\0"] {
        let got = app.signed(&m, "/api/v1/dispute/create", with(b64(fake), "receipt.pdf")).await;
        assert_error(&got, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
    // Over 5 MiB decoded.
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(5 * 1024 * 1024 + 1, b'x');
    assert_error(&app.signed(&m, "/api/v1/dispute/create", with(b64(&big), "big.pdf")).await, 413, "PAYLOAD_TOO_LARGE");
    assert_error(
        &app.signed(&m, "/api/v1/dispute/create", with("not base64!".into(), "x.pdf")).await,
        422,
        "VALIDATION_ERROR",
    );
    assert_error(
        &app.signed(&m, "/api/v1/dispute/create", with(String::new(), "x.pdf")).await,
        422,
        "VALIDATION_ERROR",
    );
    assert_eq!(app.snapshot().await, before, "refused receipts store nothing");

    // Exactly 5 MiB is accepted; a PNG named .pdf is stored as a PNG, under a safe name.
    big.truncate(5 * 1024 * 1024);
    let (s, body) = app.signed(&m, "/api/v1/dispute/create", with(b64(&big), "big.pdf")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["receipt"]["size"], 5 * 1024 * 1024);
    let (s, c) = app.signed(&m, "/api/v1/dispute/cancel", json!({"id": body["data"]["id"]})).await;
    assert_eq!(s, 200, "{c}");
    let (s, body) = app.signed(&m, "/api/v1/dispute/create", with(b64(PNG), "../../etc/\"x\".pdf")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["receipt"]["content_type"], "image/png");
    assert_eq!(body["data"]["receipt"]["filename"], "x.pdf.png", "the real type's extension is appended");
}

async fn hostile_text_and_endless_disputes_are_refused(app: TestApp) {
    let m = app.create_merchant("hostile@example.com").await;
    let id = paid_payin(&app, &m, "h-1", "10.00").await;
    let before = app.snapshot().await;
    // PostgreSQL cannot store NUL: refused up front, never a 500 or a failed batch.
    let mut body = dispute_body(&id, "10.00", PDF);
    body["comment"] = json!("a\u{0}b");
    assert_error(&app.signed(&m, "/api/v1/dispute/create", body).await, 422, "VALIDATION_ERROR");
    let mut body = dispute_body(&id, "10.00", PDF);
    body["comment"] = json!("bell\u{7}");
    assert_error(&app.signed(&m, "/api/v1/dispute/create", body).await, 422, "VALIDATION_ERROR");
    for path in ["/api/v1/dispute/get", "/api/v1/dispute/cancel", "/api/v1/payin/get"] {
        let got = app.signed(&m, path, json!({"id": "dp_\u{0}"})).await;
        assert_error(&got, 422, "VALIDATION_ERROR");
    }
    for path in ["/admin/v1/disputes/dp_%00", "/admin/v1/disputes?merchant_id=%00", "/admin/v1/payins?id=%00x"] {
        let (s, body) = app.admin(Method::GET, path, None).await;
        assert!(s < 500, "{path}: a client error, never a 500: {s} {body}");
    }
    assert_eq!(app.snapshot().await, before);

    // Open and withdraw in a loop: five disputes per payin, then no more receipts.
    for _ in 0..5 {
        let d = open(&app, &m, &id, "10.00").await;
        let (s, b) = app.signed(&m, "/api/v1/dispute/cancel", json!({"id": d["id"]})).await;
        assert_eq!(s, 200, "{b}");
    }
    let before = app.snapshot().await;
    assert_error(
        &app.signed(&m, "/api/v1/dispute/create", dispute_body(&id, "10.00", PDF)).await,
        409,
        "INVALID_STATE",
    );
    assert_eq!(app.snapshot().await, before);
}
