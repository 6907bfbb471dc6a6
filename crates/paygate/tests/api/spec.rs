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

/// Known-good bodies where a schema sample alone would stop at the first check.
pub fn good_body(path: &str, payin_id: &str) -> Option<Value> {
    Some(match path {
        "/api/v1/payin/create" => TestApp::payin_body("h-1", "10.00"),
        "/api/v1/payout/create" => TestApp::payout_body("h-2", "1.00"),
        "/api/v1/statistics" => json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"}),
        "/api/v1/dispute/create" => json!({"payin_id": payin_id, "amount": "10.00", "comment": "c",
            "receipt": {"filename": "r.pdf", "content_type": "application/pdf", "data_base64": "JVBERi0xLjQK"}}),
        _ => return None,
    })
}
