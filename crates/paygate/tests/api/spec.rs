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

/// Who calls an operation, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Signed with X-App-* (API.md section 2).
    Merchant,
    /// Signed with API-Key/API-Signature (the Switchere-compatible API).
    Partner,
    /// The Switchere-compatible API's public paths: no credentials.
    Public,
    /// Bearer admin token.
    Operator,
}

pub fn audience(path: &str) -> Audience {
    if path.starts_with("/admin/") {
        Audience::Operator
    } else if path.contains("/partner/") {
        Audience::Partner
    } else if path.contains("/public/") {
        Audience::Public
    } else {
        Audience::Merchant
    }
}

impl Operation {
    /// A merchant call (signed) rather than a partner's or an operator's.
    pub fn is_merchant(&self) -> bool {
        audience(&self.template) == Audience::Merchant
    }
}

/// Partner credentials of merchants that are partners, for [`call`]:
/// merchant id → (API key, request secret).
static PARTNERS: std::sync::Mutex<Vec<(String, String, String)>> = std::sync::Mutex::new(Vec::new());

pub fn register_partner(merchant_id: &str, api_key: &str, secret: &str) {
    PARTNERS.lock().unwrap().push((merchant_id.into(), api_key.into(), secret.into()));
}

fn partner_of(merchant_id: &str) -> Option<(String, String)> {
    PARTNERS.lock().unwrap().iter().find(|(m, ..)| m == merchant_id).map(|(_, k, s)| (k.clone(), s.clone()))
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
    match audience(path) {
        Audience::Merchant => {
            let ts = now_secs().to_string();
            req = req.headers(auth_headers(&m.public_token, &ts, &sign(&m.secret, &ts, &m.email)));
        }
        Audience::Partner => {
            let (key, secret) = partner_of(&m.id).expect("the merchant was made a partner (furnish)");
            let mut message = path.as_bytes().to_vec();
            message.extend_from_slice(body.as_deref().unwrap_or_default());
            let sig = paygate_core::signature::partner_signature(
                secret.as_bytes(),
                &message,
                paygate_core::signature::Base64Padding::Padded,
            );
            req = req.header("API-Key", key).header("API-Signature", sig);
        }
        Audience::Public => {}
        Audience::Operator => req = req.bearer_auth(ADMIN_TOKEN),
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
    /// An exchange order of the merchant as a partner (USD by card → BTC).
    pub exchange_order: String,
    pub partner_order_id: String,
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
    // The merchant is a partner too, with an order.
    app.configure_exchange().await;
    let (s, made) = app.admin(Method::POST, &format!("/admin/v1/merchants/{}/partner", m.id), Some(json!({}))).await;
    assert_eq!(s, 201, "{made}");
    register_partner(&m.id, made["data"]["api_key"].as_str().unwrap(), made["data"]["secret"].as_str().unwrap());
    let partner_order_id = format!("{prefix}-exchange");
    let body = json!({"partner_order_id": partner_order_id, "payin_currency": "USD", "payout_currency": "BTC",
                      "payin_amount": "100", "dst_address": crate::partner_support::BTC_ADDRESS, "client_email": customer.to_string() + "@example.com"});
    let (s, order) =
        call(app, m, Method::POST, "/api/v2/partner/order/create", None, Some(body.to_string().into_bytes())).await;
    assert_eq!(s, 201, "{order}");
    let exchange_order = order["client_order_id"].as_str().unwrap().to_string();
    Known { paid, pending, payout, dispute, event, exchange_order, partner_order_id }
}

/// A USD → BTC card order's body (no crypto address needed).
fn exchange_body(id: &str) -> Value {
    json!({"partner_order_id": id, "payin_currency": "USD", "payout_currency": "BTC", "payin_amount": "100",
           "dst_address": crate::partner_support::BTC_ADDRESS})
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
        "/api/v2/partner/order/fee" | "/api/v2/public/order/fee" | "/api/v1/public/order/fee" => {
            json!({"payin_currency": "ETH", "payout_currency": "BTC", "payin_amount": "1", "partner_order_id": "q-1"})
        }
        "/api/v2/partner/order/create" => exchange_body("good-exchange"),
        "/api/v2/partner/ecommerce/purchase_url" => {
            json!({"partner_order_id": "good-purchase", "purchase_currency": "EUR", "purchase_amount": "25.00"})
        }
        "/api/v2/partner/order" | "/api/v1/partner/order" => json!({"partner_order_id": k.partner_order_id}),
        "/api/v2/partner/sandbox/order/pay" => json!({"client_order_id": k.exchange_order}),
        "/admin/v1/exchange/methods" => json!({
            "payin": [{"group": "crypto", "title": "Crypto", "currencies": ["ETH", "BTC"]},
                      {"group": "card", "title": "Card", "currencies": ["USD"]}],
            "payout": [{"group": "crypto", "title": "Crypto", "currencies": ["BTC", "ETH"]},
                       {"group": "balance", "title": "Balance", "currencies": ["USD", "EUR"]}]}),
        "/admin/v1/rates" => json!({"rates": [{"name": "ETH-BTC", "bid": "0.05", "ask": "0.051"},
            {"name": "BTC-USD", "bid": "29000", "ask": "31000"}, {"name": "ETH-EUR", "bid": "1800", "ask": "1850"}]}),
        "/admin/v1/exchange/orders/{client_order_id}/status" => json!({"status": "confirmation_pending"}),
        "/admin/v1/merchants/{id}/partner" => json!({"callback_url": null}),
        "/admin/v1/providers" => json!({"providers": [{"id": "sweep-upstream", "type": "switchere", "config": {
            "base_url": "http://127.0.0.1:1", "api_key": "k", "secret": "s", "callback_secret": "c",
            "payout_currency": "EUR"}}]}),
        "/admin/v1/routes" => {
            json!({"routes": [{"kind": "payin", "currency": "RUB", "method": "card", "provider_id": "manual", "priority": 1}]})
        }
        _ => return None,
    })
}
