//! What the dispute tests share: receipts, request bodies, and payins in the
//! states a dispute needs.

use crate::helpers::{Merchant, TestApp};
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn dispute_body(payin_id: &str, amount: &str, receipt: &[u8]) -> Value {
    json!({"payin_id": payin_id, "amount": amount, "comment": "customer sent a bank statement",
           "receipt": {"filename": "statement.pdf", "content_type": "application/pdf", "data_base64": b64(receipt)}})
}

pub(crate) async fn payin(app: &TestApp, m: &Merchant, order: &str, amount: &str) -> String {
    let (s, body) = app.signed(m, "/api/v1/payin/create", TestApp::payin_body(order, amount)).await;
    assert_eq!(s, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

pub(crate) async fn paid_payin(app: &TestApp, m: &Merchant, order: &str, amount: &str) -> String {
    let id = payin(app, m, order, amount).await;
    let (s, body) = app.signed(m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await;
    assert_eq!(s, 200, "{body}");
    id
}

pub(crate) async fn open(app: &TestApp, m: &Merchant, payin_id: &str, amount: &str) -> Value {
    let (s, body) = app.signed(m, "/api/v1/dispute/create", dispute_body(payin_id, amount, PDF)).await;
    assert_eq!(s, 201, "{body}");
    body["data"].clone()
}

pub(crate) async fn get_payin(app: &TestApp, m: &Merchant, id: &str) -> Value {
    let (s, body) = app.signed(m, "/api/v1/payin/get", json!({"id": id})).await;
    assert_eq!(s, 200, "{body}");
    body["data"].clone()
}

pub(crate) async fn expire(app: &TestApp, m: &Merchant, id: &str) {
    sqlx::query("UPDATE payins SET expires_at = $1 WHERE id = $2")
        .bind(paygate_store::time::now_micros() - 1_000_000)
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    for _ in 0..100 {
        if get_payin(app, m, id).await["status"] == "expired" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("payin {id} did not expire");
}

pub(crate) async fn admin_ok(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let (s, got) = app.admin(method, path, body).await;
    assert_eq!(s, 200, "{path}: {got}");
    got["data"].clone()
}
