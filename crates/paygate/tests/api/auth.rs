//! Merchant authentication, API.md section 2 [fixed]: one test per error
//! code, each also proving the request changed nothing; the published
//! vectors and Python's own `hmac` accepted end to end.

use crate::both_backends;
use crate::helpers::*;
use serde_json::json;

const BALANCE: &str = "/api/v1/balance";

both_backends!(
    valid_signature_is_accepted_with_empty_balance,
    missing_each_header_is_auth_missing_headers,
    unknown_token_is_auth_unknown_token,
    stale_or_future_or_malformed_ts_is_auth_ts_expired,
    wrong_signature_is_auth_bad_signature,
    upper_case_hex_is_accepted,
    disabled_merchant_is_refused_only_after_a_valid_signature,
    ip_allowlist_is_enforced,
    vector_secrets_and_emails_are_accepted_end_to_end,
    python_hmac_snippet_is_accepted,
    rotated_secret_keeps_working_during_grace,
    body_signing_mode_covers_the_body,
    bad_json_and_wrong_types_get_documented_codes,
);

async fn valid_signature_is_accepted_with_empty_balance(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let (status, body) = app.signed(&m, BALANCE, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"success": true, "data": {"balances": []}}));
}

async fn missing_each_header_is_auth_missing_headers(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email);
    let all = auth_triplet(&m.public_token, &ts, &sig);
    let before = app.snapshot().await;
    for skip in 0..3 {
        let headers: Vec<_> = all.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, h)| *h).collect();
        let got = app.post_with_headers(BALANCE, &headers, "{}").await;
        assert_error(&got, 401, "AUTH_MISSING_HEADERS");
        assert!(got.1["error"]["message"].as_str().unwrap().contains(&all[skip].0.to_ascii_lowercase()), "{}", got.1);
        // An empty value counts as missing.
        let mut blank: Vec<_> = headers.clone();
        blank.push((all[skip].0, ""));
        assert_error(&app.post_with_headers(BALANCE, &blank, "{}").await, 401, "AUTH_MISSING_HEADERS");
    }
    assert_error(&app.post_with_headers(BALANCE, &[], "{}").await, 401, "AUTH_MISSING_HEADERS");
    assert_eq!(app.snapshot().await, before);
}

async fn unknown_token_is_auth_unknown_token(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email);
    let before = app.snapshot().await;
    let forged = format!("{}x", m.public_token);
    for token in [forged.as_str(), "pk_test_00000000000000000000000000000000", &m.secret] {
        let got = app.post_with_headers(BALANCE, &auth_triplet(token, &ts, &sig), "{}").await;
        assert_error(&got, 401, "AUTH_UNKNOWN_TOKEN");
    }
    assert_eq!(app.snapshot().await, before);
}

async fn stale_or_future_or_malformed_ts_is_auth_ts_expired(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let before = app.snapshot().await;
    let now = now_secs();
    // Default window is 300 s; a few seconds of margin for a slow test run.
    for ts in [
        (now - 310).to_string(),
        (now + 310).to_string(),
        "0".into(),
        "abc".into(),
        "1.7e9".into(),
        format!("{now}000"),
    ] {
        let sig = sign(&m.secret, &ts, &m.email);
        let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &sig), "{}").await;
        assert_error(&got, 401, "AUTH_TS_EXPIRED");
    }
    // A timestamp in milliseconds (a common slip) is named as such, with the fix.
    let millis = format!("{now}123");
    let sig = sign(&m.secret, &millis, &m.email);
    let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &millis, &sig), "{}").await;
    assert_error(&got, 401, "AUTH_TS_EXPIRED");
    let message = got.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("milliseconds") && message.contains(&format!("send {now}")), "{message}");
    // Inside the window either way is fine.
    for ts in [(now - 280).to_string(), (now + 280).to_string()] {
        let sig = sign(&m.secret, &ts, &m.email);
        let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &sig), "{}").await;
        assert_eq!(got.0, 200, "{}", got.1);
    }
    assert_eq!(app.snapshot().await, before);
}

async fn wrong_signature_is_auth_bad_signature(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let other = app.create_merchant("other@example.com").await;
    let now = now_secs();
    let ts = now.to_string();
    let good = sign(&m.secret, &ts, &m.email);
    let mut flipped = good.clone().into_bytes();
    flipped[10] = if flipped[10] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();
    let before = app.snapshot().await;
    let cases = [
        flipped,                                           // one character of the signature
        sign(&m.secret, &ts, "Shop@example.com"),          // e-mail case matters
        sign(&m.secret, &(now - 1).to_string(), &m.email), // another timestamp than sent
        sign(&other.secret, &ts, &m.email),                // another merchant's secret
        sign(&m.secret, &ts, &format!("{} ", m.email)),    // a stray space
        good[..63].to_string(),                            // truncated
        "zz".repeat(32),                                   // not hex
    ];
    for sig in &cases {
        let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, sig), "{}").await;
        assert_error(&got, 401, "AUTH_BAD_SIGNATURE");
    }
    assert_eq!(app.snapshot().await, before);
}

async fn upper_case_hex_is_accepted(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email).to_uppercase();
    let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &sig), "{}").await;
    assert_eq!(got.0, 200, "{}", got.1);
}

async fn disabled_merchant_is_refused_only_after_a_valid_signature(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let (s, _) = app
        .admin(reqwest::Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"enabled": false})))
        .await;
    assert_eq!(s, 200);
    let before = app.snapshot().await;
    assert_error(&app.signed(&m, BALANCE, json!({})).await, 403, "MERCHANT_DISABLED");
    // A caller without the secret learns nothing about the merchant's state.
    let ts = now_secs().to_string();
    let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &"0".repeat(64)), "{}").await;
    assert_error(&got, 401, "AUTH_BAD_SIGNATURE");
    assert_eq!(app.snapshot().await, before);
    app.admin(reqwest::Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"enabled": true}))).await;
    assert_eq!(app.signed(&m, BALANCE, json!({})).await.0, 200);
}

async fn ip_allowlist_is_enforced(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let path = format!("/admin/v1/merchants/{}", m.id);
    let (s, _) = app.admin(reqwest::Method::PATCH, &path, Some(json!({"ip_allowlist": ["203.0.113.0/24"]}))).await;
    assert_eq!(s, 200);
    let before = app.snapshot().await;
    assert_error(&app.signed(&m, BALANCE, json!({})).await, 403, "FORBIDDEN");
    assert_eq!(app.snapshot().await, before);
    let (s, body) =
        app.admin(reqwest::Method::PATCH, &path, Some(json!({"ip_allowlist": ["203.0.113.0/24", "127.0.0.1"]}))).await;
    assert_eq!(s, 200);
    assert_eq!(body["data"]["ip_allowlist"], json!(["203.0.113.0/24", "127.0.0.1/32"]));
    assert_eq!(app.signed(&m, BALANCE, json!({})).await.0, 200);
}

async fn vector_secrets_and_emails_are_accepted_end_to_end(app: TestApp) {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../paygate-core/tests/data/signatures.json")).unwrap();
    for v in vectors["merchant_auth"].as_array().unwrap() {
        let m =
            app.insert_merchant_with_secret(v["email"].as_str().unwrap(), v["secret_token"].as_str().unwrap()).await;
        let (status, body) = app.signed(&m, BALANCE, json!({})).await;
        assert_eq!(status, 200, "{} {body}", m.email);
        // The vector's own timestamp is long past: same signature, refused as stale.
        let ts = v["timestamp"].as_str().unwrap();
        let sig = v["x_app_access_sig"].as_str().unwrap();
        let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, ts, sig), "{}").await;
        assert_error(&got, 401, "AUTH_TS_EXPIRED");
    }
}

/// What a merchant following the documentation writes, run by Python itself.
const PYTHON_CLIENT: &str = r#"
import hashlib, hmac, json, sys, time, urllib.request, urllib.error
base, token, secret, email = sys.argv[1:5]
ts = str(int(time.time()))
sig = hmac.new(secret.encode(), (ts + email).encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(base + "/api/v1/balance", data=b"{}", method="POST", headers={
    "Content-Type": "application/json", "Accept": "application/json, text/plain",
    "X-App-Token": token, "X-App-Access-Ts": ts, "X-App-Access-Sig": sig})
try:
    with urllib.request.urlopen(req) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"#;

async fn python_hmac_snippet_is_accepted(app: TestApp) {
    for (email, _) in [("shop@example.com", 0), ("üser@exämple.org", 1)] {
        let m = app.create_merchant(email).await;
        let out = tokio::process::Command::new("python3")
            .args(["-c", PYTHON_CLIENT, &app.base, &m.public_token, &m.secret, &m.email])
            .output()
            .await
            .expect("python3 is installed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(stdout.trim(), r#"200 {"success":true,"data":{"balances":[]}}"#, "{email}");
    }
}

async fn rotated_secret_keeps_working_during_grace(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let (s, body) =
        app.admin(reqwest::Method::POST, &format!("/admin/v1/merchants/{}/rotate-secret", m.id), None).await;
    assert_eq!(s, 200, "{body}");
    let new_secret = body["data"]["secret_token"].as_str().unwrap().to_string();
    assert_ne!(new_secret, m.secret);
    assert!(body["data"]["previous_secret_valid_until"].is_string());
    let rotated = Merchant { secret: new_secret, ..m.clone() };
    assert_eq!(app.signed(&rotated, BALANCE, json!({})).await.0, 200);
    assert_eq!(app.signed(&m, BALANCE, json!({})).await.0, 200, "old secret within grace");
    // A second rotation retires the first secret for good.
    let (_, body) =
        app.admin(reqwest::Method::POST, &format!("/admin/v1/merchants/{}/rotate-secret", m.id), None).await;
    let third = Merchant { secret: body["data"]["secret_token"].as_str().unwrap().into(), ..m.clone() };
    assert_error(&app.signed(&m, BALANCE, json!({})).await, 401, "AUTH_BAD_SIGNATURE");
    assert_eq!(app.signed(&rotated, BALANCE, json!({})).await.0, 200);
    assert_eq!(app.signed(&third, BALANCE, json!({})).await.0, 200);
}

async fn body_signing_mode_covers_the_body(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    app.admin(reqwest::Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"sign_body": true}))).await;
    let ts = now_secs().to_string();
    let body = r#"{"currency":"RUB"}"#;
    // The plain scheme is no longer enough.
    let plain = sign(&m.secret, &ts, &m.email);
    let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &plain), body).await;
    assert_error(&got, 401, "AUTH_BAD_SIGNATURE");
    let full = sign_with_body(&m.secret, &ts, &m.email, body.as_bytes());
    let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &full), body).await;
    assert_eq!(got.0, 200, "{}", got.1);
    // The same signature on a different body fails.
    let got = app.post_with_headers(BALANCE, &auth_triplet(&m.public_token, &ts, &full), r#"{"currency":"USD"}"#).await;
    assert_error(&got, 401, "AUTH_BAD_SIGNATURE");
}

async fn bad_json_and_wrong_types_get_documented_codes(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email);
    let h = auth_triplet(&m.public_token, &ts, &sig);
    let before = app.snapshot().await;
    assert_error(&app.post_with_headers(BALANCE, &h, "{not json").await, 400, "BAD_JSON");
    let got = app.post_with_headers(BALANCE, &h, r#"{"currency": 5}"#).await;
    assert_error(&got, 422, "VALIDATION_ERROR");
    assert_eq!(got.1["error"]["details"][0]["field"], "currency");
    let got = app.post_with_headers(BALANCE, &h, r#"{"curency": "RUB"}"#).await;
    assert_error(&got, 422, "VALIDATION_ERROR");
    assert_error(&app.post_with_headers(BALANCE, &h, r#"{"currency": "XXX"}"#).await, 422, "UNSUPPORTED_CURRENCY");
    let got = app
        .http
        .post(app.url(BALANCE))
        .headers(auth_headers(&m.public_token, &ts, &sig))
        .header("content-type", "text/xml")
        .body("<a/>")
        .send()
        .await
        .unwrap();
    assert_error(&read(got).await, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(app.snapshot().await, before);
}
