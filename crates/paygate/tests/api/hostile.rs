//! Nothing a client can send gets a 5xx. Every operation of the published
//! OpenAPI document is called, as the merchant or the operator it is for,
//! with each field of its request schema replaced in turn by values of the
//! wrong type, out of range, huge or malformed; with whole bodies that are
//! not the documented object; with hostile ids in the path; and with hostile
//! values of each documented query filter. Every answer must be below 500,
//! every refusal must carry the documented error envelope, and the ledger
//! must still check out afterwards.

use crate::both_backends;
use crate::helpers::*;
use crate::spec;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

both_backends!(hostile_input_never_gets_a_5xx);

/// How many requests are in flight at once.
const PARALLEL: usize = 16;

/// Field values a schema is unlikely to expect, of every JSON type.
fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e308),
        json!(-0.0),
        json!(1.5),
        json!(""),
        json!(" "),
        json!("-1"),
        json!("-0.00"),
        json!("1e9"),
        json!("NaN"),
        json!("99999999999999999999999999999999.99"),
        json!("0.000000001"),
        json!("１２３"),
        json!("\u{0000}"),
        json!("'; DROP TABLE payins; --"),
        json!("x".repeat(70_000)),
        json!("../../etc/passwd"),
        json!("2026-13-45T25:61:61Z"),
        json!("9999-12-31T23:59:59Z"),
        json!([]),
        json!([null, 1, "x"]),
        json!({}),
        json!({"a": {"b": [1]}}),
    ]
}

/// Whole bodies that are not the object the schema describes.
fn hostile_bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> =
        ["", " ", "null", "[]", "\"text\"", "42", "{", "{\"a\":}", "{\"a\":1,\"a\":2}", "\u{feff}{}", "{}{}"]
            .iter()
            .map(|b| b.as_bytes().to_vec())
            .collect();
    bodies.push(b"{\"currency\":\"\xff\xfe\"}".to_vec());
    bodies.push(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes());
    bodies.push(format!("{{\"a\":{}1{}}}", "{\"b\":".repeat(300), "}".repeat(300)).into_bytes());
    bodies
}

/// Path ids: a real one of the right kind is added per route.
fn hostile_ids() -> Vec<String> {
    vec![
        "x".into(),
        "pi_00000000000000000000000000".into(),
        "%FF".into(),
        "%00".into(),
        "a".repeat(3000),
        "..%2F..%2Fetc".into(),
    ]
}

/// Query filter values.
const HOSTILE_QUERY: &[&str] =
    &["-1", "abc", "", "99999999999999999999999", "%FF", "1e400", "null", "2026-02-30T00:00:00Z"];

/// `base` with one field replaced by each hostile value or left out, for
/// every field, and one level down into objects (and into the first element
/// of an array of objects): `(what was changed, the body)`.
fn mutations(base: &Value, depth: usize) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    match base {
        Value::Object(fields) => {
            for (field, value) in fields {
                let with = |v: Value| {
                    let mut body = fields.clone();
                    body.insert(field.clone(), v);
                    Value::Object(body)
                };
                for v in hostile_values() {
                    out.push((format!("{field}={}", v.to_string().chars().take(30).collect::<String>()), with(v)));
                }
                let mut without = fields.clone();
                without.remove(field);
                out.push((format!("without {field}"), Value::Object(without)));
                if depth == 0 {
                    for (what, inner) in mutations(value, depth + 1) {
                        out.push((format!("{field}.{what}"), with(inner)));
                    }
                }
            }
        }
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            for (what, first) in mutations(&items[0], depth) {
                let mut body = items.clone();
                body[0] = first;
                out.push((format!("[0].{what}"), Value::Array(body)));
            }
        }
        _ => {}
    }
    out
}

/// One request to make, and what it is for the failure report.
#[derive(Clone)]
struct Case {
    method: Method,
    path: String,
    query: Option<(String, String)>,
    body: Option<Vec<u8>>,
    label: String,
    /// The operation's known-good request itself, unchanged.
    base: bool,
}

/// Statuses that mean a request got past validation: done, or refused for
/// the state of things (funds, an object already moved on).
fn past_validation(status: u16) -> bool {
    status < 400 || status == 402 || status == 409
}

async fn hostile_input_never_gets_a_5xx(app: TestApp) {
    let app = app.restart_with(|s| s.rate_limit_per_second = 0).await;
    let m = app.create_merchant("hostile@example.com").await;
    // The operator's calls on a merchant go to another one, so that a rotated
    // secret or a disabled flag does not end the merchant's half of the sweep.
    let victim = app.create_merchant("victim@example.com").await;
    let known = spec::furnish(&app, &m, "h", "cust-1").await;
    // The victim is a partner too, so reads of its partner settings succeed.
    let made = app.admin(reqwest::Method::POST, &format!("/admin/v1/merchants/{}/partner", victim.id), None).await;
    assert_eq!(made.0, 201, "{}", made.1);
    let real_id = |template: &str| match template {
        t if t.contains("/merchants/") || t.contains("/balances/") => victim.id.clone(),
        t if t.contains("/payins/") => known.pending.clone(),
        t if t.contains("/payouts/") => known.payout.clone(),
        t if t.contains("/disputes/") => known.dispute.clone(),
        t if t.contains("/exchange/orders/") => known.exchange_order.clone(),
        _ => known.event.clone(),
    };

    let (doc, mut operations) = spec::operations(&app).await;
    // The exchange's rates and methods, and the providers and routes, go
    // last: the sweep leaves them in any valid state (a route to an upstream
    // that is not there, say), and the calls before them need the real ones.
    let last = ["/admin/v1/rates", "/admin/v1/exchange/methods", "/admin/v1/providers", "/admin/v1/routes"];
    operations.sort_by_key(|op| last.contains(&op.template.as_str()));
    // Each operation's good request, unchanged, goes first and one at a time:
    // it shows that the bodies changed one field at a time below do get past
    // validation, so each change meets its own field's check.
    let mut per_operation = Vec::new();
    for op in &operations {
        let mut cases = Vec::new();
        let template = op.template.as_str();
        let with_id = |id: &str| {
            let fixed = template.replace("{direction}", "payin").replace("{pair}", "ETH-BTC");
            fixed.replace("{id}", id).replace("{merchant_id}", id).replace("{client_order_id}", id)
        };
        let path = with_id(&real_id(template));
        let schema = &op.body_schema;
        let base = spec::good_body(template, &known).unwrap_or_else(|| spec::sample(&doc, schema, 0));
        let base_bytes = (!schema.is_null()).then(|| base.to_string().into_bytes());
        let label = format!("{} {path} (good request)", op.method);
        let good = Case {
            method: op.method.clone(),
            path: path.clone(),
            query: None,
            body: base_bytes.clone(),
            label,
            base: true,
        };
        let mut add = |path: &str, query: Option<(String, String)>, body: Option<Vec<u8>>, what: String| {
            let label = format!("{} {path} {what}", op.method);
            cases.push(Case { method: op.method.clone(), path: path.to_string(), query, body, label, base: false });
        };
        if template.contains('{') {
            for id in hostile_ids() {
                add(&with_id(&id), None, base_bytes.clone(), format!("id={}", id.chars().take(20).collect::<String>()));
            }
        }
        for name in &op.query {
            for v in HOSTILE_QUERY {
                add(&path, Some((name.to_string(), v.to_string())), None, format!("?{name}={v}"));
            }
        }
        if !schema.is_null() {
            for body in hostile_bodies() {
                let what = format!("body {:?}", String::from_utf8_lossy(&body).chars().take(20).collect::<String>());
                add(&path, None, Some(body), what);
            }
            for (what, body) in mutations(&base, 0) {
                add(&path, None, Some(body.to_string().into_bytes()), what);
            }
        }
        per_operation.push((good, cases));
    }
    let total: usize = per_operation.iter().map(|(_, cases)| 1 + cases.len()).sum();
    assert!(total > 2000, "the sweep covers the document: {total} requests");

    let (app, m) = (Arc::new(app), Arc::new(m));
    let mut failures = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut checked_unchanged = 0;
    for (good, cases) in &per_operation {
        for (status, failure) in send_all(&app, &m, std::slice::from_ref(good)).await {
            *statuses.entry(status).or_insert(0) += 1;
            failures.extend(failure);
        }
        // Each chunk of hostile requests runs between two snapshots: when
        // every request of it was refused, the database must be as it was.
        for chunk in cases.chunks(PARALLEL) {
            let before = app.snapshot().await;
            let mut all_refused = true;
            for (status, failure) in send_all(&app, &m, chunk).await {
                all_refused &= status >= 400;
                *statuses.entry(status).or_insert(0) += 1;
                failures.extend(failure);
            }
            if all_refused {
                checked_unchanged += 1;
                if app.snapshot().await != before {
                    failures.push(format!("{}: refused requests changed the database", chunk[0].label));
                }
            }
        }
    }
    let shown: Vec<&String> = failures.iter().take(20).collect();
    assert!(failures.is_empty(), "{} of {total} requests were mishandled:\n{shown:#?}", failures.len());
    assert!(checked_unchanged >= 80, "only {checked_unchanged} chunks were refused whole");
    eprintln!("hostile sweep: {total} requests, statuses {statuses:?}, {checked_unchanged} chunks refused whole and changed nothing");
    // Every request was authenticated, so each one reached its handler's own
    // checks: some were refused by them and some went through.
    assert!(!statuses.contains_key(&401) && !statuses.contains_key(&403), "{statuses:?}");
    for status in [200, 400, 404, 422] {
        assert!(statuses.get(&status).is_some_and(|n| *n > 0), "no {status} in {statuses:?}");
    }
    app.assert_ledger_ok().await;
}

/// Sends `cases` at once; each answer's status and, when it is wrong, why.
async fn send_all(app: &Arc<TestApp>, m: &Arc<Merchant>, cases: &[Case]) -> Vec<(u16, Option<String>)> {
    let mut set = tokio::task::JoinSet::new();
    for case in cases {
        let (app, m) = (app.clone(), m.clone());
        let Case { method, path, query, body, label, base } = case.clone();
        set.spawn(async move {
            let query = query.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
            let (status, answer) = spec::call(&app, &m, method, &path, query, body).await;
            let mut verdict = verdict(status, &answer);
            if base && verdict.is_ok() && !past_validation(status) {
                verdict = Err(format!("the good request was refused: {status} {answer}"));
            }
            (status, verdict.err().map(|why| format!("{label}: {why}")))
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// Below 500, and a refusal in the documented envelope.
fn verdict(status: u16, body: &Value) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("{status} {body}"));
    }
    if status >= 400 {
        let code = body["error"]["code"].as_str().unwrap_or("");
        let message = body["error"]["message"].as_str().unwrap_or("");
        // Switchere's shape on its API: `"success": 0`.
        let refused = body["success"] == false || body["success"] == 0;
        if !refused || code.is_empty() || message.is_empty() {
            return Err(format!("{status} without the error envelope: {body}"));
        }
    }
    Ok(())
}
