//! Partner authentication, API.md 9.1 [fixed]: the published vectors
//! accepted in every base64 form and refused after any one-character
//! change, PHP's own signing code accepted end to end, and one test per
//! error code, each proving the request changed nothing.

use crate::helpers::*;
use crate::partner_support::*;
use crate::php_endpoint::php_partner_post;
use paygate_server::exchange::partners::{seal_callback_secret, seal_request_secret};
use paygate_store::exchange::partners::PartnerRecord;
use reqwest::Method;
use serde_json::{json, Value};

fn vectors() -> Vec<Value> {
    let text = include_str!("../../../paygate-core/tests/data/signatures.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v["partner_request"].as_array().unwrap().clone()
}

/// A partner whose request secret is `secret` (the vectors' own).
async fn partner_with_secret(app: &TestApp, email: &str, secret: &str) -> Partner {
    let merchant = app.create_merchant(email).await;
    let now = paygate_store::time::now_micros();
    let api_key = format!("ak_vector_{}", hex::encode(rand_bytes::<8>()));
    let record = PartnerRecord {
        merchant_id: merchant.id.clone(),
        api_key: api_key.clone(),
        secret_sealed: seal_request_secret(&app.state, &merchant.id, secret),
        prev_secret_sealed: None,
        prev_secret_expires_at: None,
        callback_secret_sealed: seal_callback_secret(&app.state, &merchant.id, "callback"),
        signature_padding: "padded".into(),
        callback_url: None,
        enabled: true,
        exchange_fees: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    app.state.db.insert_partner(&record).await.unwrap().unwrap();
    Partner { merchant, api_key, secret: secret.into(), callback_secret: "callback".into() }
}

fn method_of(content: &str) -> Method {
    if content.is_empty() {
        Method::GET
    } else {
        Method::POST
    }
}

/// One-character changes of `s`: replaced, removed and appended.
fn mutations(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in [0, s.len() / 2, s.len() - 1] {
        let mut b = s.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        out.push(String::from_utf8(b).unwrap());
        let mut removed = s.to_string();
        removed.remove(i);
        out.push(removed);
    }
    out.push(format!("{s}="));
    out.push(format!("{s}A"));
    out
}

async fn published_vectors_authenticate_in_every_form_and_nothing_else(app: TestApp) {
    app.configure_exchange().await;
    for (n, v) in vectors().iter().enumerate() {
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        let p = partner_with_secret(&app, &format!("vector{n}@example.com"), &s("secret")).await;
        let (path, content) = (s("path"), s("content"));
        for form in ["api_signature_php_padded", "api_signature_php_trimmed", "api_signature_perl"] {
            let got = app.partner_raw(&p.api_key, &s(form), method_of(&content), &path, &content).await;
            assert!(got.0 == 200 || got.0 == 201, "{path} with {form}: {got:?}");
        }
        let before = app.snapshot().await;
        for bad in mutations(&s("api_signature_php_padded")).into_iter().chain(mutations(&s("api_signature_perl"))) {
            let got = app.partner_raw(&p.api_key, &bad, method_of(&content), &path, &content).await;
            assert_partner_error(&got, 401, "AUTH_BAD_SIGNATURE");
        }
        if !content.is_empty() {
            let changed = content.replacen('1', "2", 1);
            let got = app.partner_raw(&p.api_key, &s("api_signature_php_padded"), Method::POST, &path, &changed).await;
            assert_partner_error(&got, 401, "AUTH_BAD_SIGNATURE");
        }
        assert_eq!(app.snapshot().await, before, "{path}");
    }
}

async fn php_documentation_code_signs_a_create_with_trimmed_base64(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("php@example.com", json!({})).await;
    let body = json!({"partner_order_id": "php-1", "payin_currency": "ETH", "payout_currency": "BTC",
                      "payin_amount": 0.5, "dst_address": BTC_ADDRESS})
    .to_string();
    let got = php_partner_post(&app.base, &p.api_key, &p.secret, "/api/v2/partner/order/create", &body).await;
    assert_eq!(got.0, 201, "{}", got.1);
    assert_eq!(got.1["payin_amount"], "0.500000000000000000");
    let again = php_partner_post(&app.base, &p.api_key, &p.secret, "/api/v2/partner/order/create", &body).await;
    assert_eq!(again.0, 200, "{}", again.1);
    let wrong = php_partner_post(&app.base, &p.api_key, "not-the-secret", "/api/v2/partner/order/create", &body).await;
    assert_partner_error(&wrong, 401, "AUTH_BAD_SIGNATURE");
}

async fn each_failure_has_its_code_and_changes_nothing(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("codes@example.com", json!({})).await;
    let path = "/api/v2/partner/order/create";
    let body = json!({"partner_order_id": "x", "payin_currency": "ETH", "payout_currency": "BTC", "payin_amount": "1",
                      "dst_address": BTC_ADDRESS})
    .to_string();
    let sig = paygate_core::signature::partner_signature(
        p.secret.as_bytes(),
        format!("{path}{body}").as_bytes(),
        paygate_core::signature::Base64Padding::Padded,
    );
    let before = app.snapshot().await;
    let send = |headers: Vec<(&'static str, String)>| {
        let mut req = app.http.post(app.url(path)).body(body.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { read(req.send().await.unwrap()).await }
    };
    let missing_sig = send(vec![("API-Key", p.api_key.clone())]).await;
    assert_partner_error(&missing_sig, 401, "AUTH_MISSING_HEADERS");
    assert!(missing_sig.1["error"]["message"].as_str().unwrap().contains("API-Signature"));
    assert_partner_error(&send(vec![("API-Signature", sig.clone())]).await, 401, "AUTH_MISSING_HEADERS");
    assert_partner_error(
        &send(vec![("API-Key", "ak_nobody".into()), ("API-Signature", sig.clone())]).await,
        401,
        "AUTH_UNKNOWN_TOKEN",
    );
    // A merchant's own tokens are no partner credentials.
    let not_a_key = send(vec![("API-Key", p.merchant.public_token.clone()), ("API-Signature", sig.clone())]).await;
    assert_partner_error(&not_a_key, 401, "AUTH_UNKNOWN_TOKEN");
    // The signature over the path with the wrong path.
    let (s, _) = app.partner_raw(&p.api_key, &sig, Method::POST, "/api/v2/partner/order/fee", &body).await;
    assert_eq!(s, 401);
    // A disabled partner, then a disabled merchant: 403 after a valid signature.
    let partner_path = format!("/admin/v1/merchants/{}/partner", p.merchant.id);
    let patch = |b: Value| app.admin(Method::PATCH, &partner_path, Some(b));
    assert_eq!(patch(json!({"enabled": false})).await.0, 200);
    assert_partner_error(
        &send(vec![("api-key", p.api_key.clone()), ("api-signature", sig.clone())]).await,
        403,
        "MERCHANT_DISABLED",
    );
    assert_eq!(patch(json!({"enabled": true})).await.0, 200);
    let merchant_off = json!({"enabled": false});
    assert_eq!(
        app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", p.merchant.id), Some(merchant_off)).await.0,
        200
    );
    assert_partner_error(
        &send(vec![("API-KEY", p.api_key.clone()), ("API-SIGNATURE", sig.clone())]).await,
        403,
        "MERCHANT_DISABLED",
    );
    // Partner settings changed (updated_at), nothing else.
    assert_eq!(app.exchange_order_count().await, 0);
    let after = app.snapshot().await;
    assert_eq!(
        after.iter().filter(|(k, _)| k == "events" || k == "ledger_entries").collect::<Vec<_>>(),
        before.iter().filter(|(k, _)| k == "events" || k == "ledger_entries").collect::<Vec<_>>()
    );
}

async fn path_with_query_and_rotation_grace(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("rotate@example.com", json!({"signature_padding": "unpadded"})).await;
    let list = "/api/v1/partner/order/list?page=1&rows=5";
    // Signed over the path alone, and over the path with its query.
    assert_eq!(app.partner_call(&p, Method::GET, list, None).await.0, 200);
    let sig = paygate_core::signature::partner_signature(
        p.secret.as_bytes(),
        list.as_bytes(),
        paygate_core::signature::Base64Padding::Padded,
    );
    assert_eq!(app.partner_raw(&p.api_key, &sig, Method::GET, list, "").await.0, 200);
    let (s, rotated) =
        app.admin(Method::POST, &format!("/admin/v1/merchants/{}/partner/rotate", p.merchant.id), None).await;
    assert_eq!(s, 200, "{rotated}");
    let new_secret = rotated["data"]["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, p.secret);
    assert_eq!(rotated["data"]["api_key"].as_str().unwrap(), p.api_key, "the key stays");
    // The old secret works during the grace period, the new one at once.
    assert_eq!(app.partner_call(&p, Method::GET, "/api/v2/partner/healthcheck", None).await.0, 200);
    let renewed = Partner { secret: new_secret, ..p };
    assert_eq!(app.partner_call(&renewed, Method::GET, "/api/v2/partner/healthcheck", None).await.0, 200);
    // Secrets never appear in reads.
    let (_, read_back) =
        app.admin(Method::GET, &format!("/admin/v1/merchants/{}/partner", renewed.merchant.id), None).await;
    let text = read_back.to_string();
    assert!(!text.contains(&renewed.secret) && !text.contains(&renewed.callback_secret), "{text}");
    assert_eq!(read_back["data"]["signature_padding"], "unpadded");
}

async fn the_merchants_allow_list_and_rate_limit_apply_to_its_partner_calls(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("limits@example.com", json!({})).await;
    let merchant_path = format!("/admin/v1/merchants/{}", p.merchant.id);
    let health = "/api/v2/partner/healthcheck";
    assert_eq!(app.admin(Method::PATCH, &merchant_path, Some(json!({"ip_allowlist": ["10.0.0.0/8"]}))).await.0, 200);
    assert_partner_error(&app.partner_call(&p, Method::GET, health, None).await, 403, "FORBIDDEN");
    assert_eq!(app.admin(Method::PATCH, &merchant_path, Some(json!({"ip_allowlist": ["127.0.0.1/32"]}))).await.0, 200);
    assert_eq!(app.partner_call(&p, Method::GET, health, None).await.0, 200);
    // One request a second, a burst of two: the third at once is 429 with Retry-After.
    assert_eq!(app.admin(Method::PATCH, &merchant_path, Some(json!({"rate_limit_per_second": 1}))).await.0, 200);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let sig = paygate_core::signature::partner_signature(
            p.secret.as_bytes(),
            health.as_bytes(),
            paygate_core::signature::Base64Padding::Padded,
        );
        let resp = app
            .http
            .get(app.url(health))
            .header("API-Key", &p.api_key)
            .header("API-Signature", sig)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            assert_partner_error(&read(resp).await, 429, "RATE_LIMITED");
            statuses.push(429);
        } else {
            statuses.push(resp.status().as_u16());
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
}

crate::both_backends!(
    the_merchants_allow_list_and_rate_limit_apply_to_its_partner_calls,
    published_vectors_authenticate_in_every_form_and_nothing_else,
    php_documentation_code_signs_a_create_with_trimmed_base64,
    each_failure_has_its_code_and_changes_nothing,
    path_with_query_and_rotation_grace,
);
