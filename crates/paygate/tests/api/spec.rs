//! Walking the published OpenAPI document: every operation with its request
//! schema and query filters, plausible bodies for them, and one way to call
//! any of them as the party it is for. Sweeps built on it cover every
//! endpoint, including ones added after the sweep was written.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

/// One documented operation.
pub struct Operation {
    pub method: Method,
    /// As documented, e.g. `/admin/v1/payins/{id}`.
    pub template: String,
    /// The JSON request body's schema; `Value::Null` when it takes none.
    pub body_schema: Value,
    /// Names of its query parameters.
    pub query: Vec<String>,
}

impl Operation {
    /// A merchant call (signed) rather than an operator's (bearer token).
    pub fn is_merchant(&self) -> bool {
        self.template.starts_with("/api/")
    }
}

/// The document the app serves and its merchant and operator operations.
pub async fn operations(app: &TestApp) -> (Value, Vec<Operation>) {
    let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut ops = Vec::new();
    for (template, methods) in doc["paths"].as_object().unwrap() {
        if !template.starts_with("/api/") && !template.starts_with("/admin/") {
            continue;
        }
        for (method, op) in methods.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            ops.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                template: template.clone(),
                body_schema: op["requestBody"]["content"]["application/json"]["schema"].clone(),
                query: params
                    .iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().into())
                    .collect(),
            });
        }
    }
    assert!(ops.len() >= 40, "the document lists the API: {} operations", ops.len());
    (doc, ops)
}

/// Calls `path` (with `query` appended as written) as `m` when it is a
/// merchant path, else as the operator; `body` is sent as JSON bytes.
pub async fn call(
    app: &TestApp,
    m: &Merchant,
    method: Method,
    path: &str,
    query: Option<(&str, &str)>,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut url = app.url(path);
    if let Some((k, v)) = query {
        // Not encoded: "%FF" must reach the server as it is.
        url = format!("{url}?{k}={v}");
    }
    let mut req = app.http.request(method, url);
    if path.starts_with("/api/") {
        let ts = now_secs().to_string();
        req = req.headers(auth_headers(&m.public_token, &ts, &sign(&m.secret, &ts, &m.email)));
    } else {
        req = req.bearer_auth(ADMIN_TOKEN);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    read(req.send().await.unwrap()).await
}

/// The property names of an object schema (following a `$ref`).
pub fn properties(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return properties(doc, &doc["components"]["schemas"][name]);
    }
    schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// A plausible instance of `schema`: its example where it has one, else the
/// simplest value of its type, so that replacing one field at a time reaches
/// the checks behind the first one.
pub fn sample(doc: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return sample(doc, &doc["components"]["schemas"][name], depth);
    }
    if !schema["example"].is_null() {
        return schema["example"].clone();
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
        t => t.clone(),
    };
    match ty.as_str() {
        Some("object") if depth < 4 => {
            let props = schema["properties"].as_object().cloned().unwrap_or_default();
            Value::Object(props.iter().map(|(k, v)| (k.clone(), sample(doc, v, depth + 1))).collect())
        }
        Some("object") => json!({}),
        // An array of objects gets one element for `mutations` to work on.
        Some("array") if depth < 4 && schema["items"]["$ref"].is_string() => {
            json!([sample(doc, &schema["items"], depth + 1)])
        }
        Some("array") => json!([]),
        Some("string") => json!("x"),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        _ => Value::Null,
    }
}

/// A merchant's objects of every kind, for bodies and paths to refer to.
pub struct Known {
    /// Paid (and disputed).
    pub paid: String,
    pub pending: String,
    pub payout: String,
    pub dispute: String,
    pub event: String,
}

/// Gives `m` a balance and one object of every kind: a paid payin with an
/// open dispute, a pending payin, a pending payout and their webhook events.
/// Order ids start with `prefix`; `customer` is the customer id of the
/// payments and the comment of the dispute.
pub async fn furnish(app: &TestApp, m: &Merchant, prefix: &str, customer: &str) -> Known {
    app.fund(m, "RUB", "1000.00").await;
    let mut payin = TestApp::payin_body(&format!("{prefix}-paid"), "10.00");
    payin["customer_id"] = json!(customer);
    let paid = id_of(app.signed(m, "/api/v1/payin/create", payin.clone()).await);
    id_of(app.signed(m, "/api/v1/sandbox/payin/pay", json!({"id": paid})).await);
    payin["merchant_order_id"] = json!(format!("{prefix}-pending"));
    let pending = id_of(app.signed(m, "/api/v1/payin/create", payin).await);
    let mut payout = TestApp::payout_body(&format!("{prefix}-payout"), "5.00");
    payout["customer_id"] = json!(customer);
    let payout = id_of(app.signed(m, "/api/v1/payout/create", payout).await);
    let mut dispute = dispute_body(&paid, "10.00");
    dispute["comment"] = json!(customer);
    let dispute = id_of(app.signed(m, "/api/v1/dispute/create", dispute).await);
    let event = sqlx::query_scalar("SELECT id FROM events WHERE merchant_id = $1 ORDER BY id")
        .bind(&m.id)
        .fetch_one(app.state.db.pool())
        .await
        .expect("the paid payin made a webhook event");
    Known { paid, pending, payout, dispute, event }
}

/// A dispute of `payin_id` claiming `amount`, with a minimal PDF receipt.
pub fn dispute_body(payin_id: &str, amount: &str) -> Value {
    json!({"payin_id": payin_id, "amount": amount, "comment": "c",
           "receipt": {"filename": "r.pdf", "content_type": "application/pdf", "data_base64": "JVBERi0xLjQK"}})
}

/// A body each operation accepts for `k`'s merchant (or, on operator paths,
/// for the object in the path), so that changing one field of it reaches
/// that field's own check rather than stopping at another one.
pub fn good_body(template: &str, k: &Known) -> Option<Value> {
    Some(match template {
        "/api/v1/payin/create" => TestApp::payin_body("good-payin", "10.00"),
        "/api/v1/payout/create" => TestApp::payout_body("good-payout", "1.00"),
        "/api/v1/payin/get" | "/api/v1/payin/cancel" | "/api/v1/sandbox/payin/pay" => json!({"id": k.pending}),
        "/api/v1/payout/get" | "/api/v1/payout/cancel" => json!({"id": k.payout}),
        "/api/v1/sandbox/payout/settle" => json!({"id": k.payout, "outcome": "success"}),
        "/api/v1/dispute/create" => dispute_body(&k.paid, "10.00"),
        "/api/v1/dispute/get" | "/api/v1/dispute/cancel" => json!({"id": k.dispute}),
        "/api/v1/webhook/resend" => json!({"event_id": k.event}),
        "/api/v1/statistics" => json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"}),
        "/api/v1/balance"
        | "/api/v1/balance/history"
        | "/api/v1/payin/list"
        | "/api/v1/payout/list"
        | "/api/v1/dispute/list"
        | "/api/v1/webhook/deliveries"
        | "/api/v1/webhook/settings" => json!({}),
        "/admin/v1/merchants" => json!({"email": "made-by-a-sweep@example.com", "name": "Sweep"}),
        "/admin/v1/merchants/{id}" => json!({"name": "Renamed"}),
        "/admin/v1/balances/{merchant_id}/adjust" => json!({"currency": "RUB", "amount": "1.00", "reason": "sweep"}),
        "/admin/v1/payins/{id}/confirm" => json!({}),
        "/admin/v1/payins/{id}/fail" | "/admin/v1/payouts/{id}/fail" => json!({"reason": "sweep"}),
        "/admin/v1/disputes/{id}/accept" => json!({"resolved_amount": "10.00"}),
        "/admin/v1/disputes/{id}/reject" => json!({"reason": "other"}),
        "/admin/v1/requisites" => json!([{"method": "card", "currency": "RUB",
            "details": {"type": "card", "card_number": "2200000000000000"}}]),
        _ => return None,
    })
}
