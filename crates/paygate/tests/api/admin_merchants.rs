//! The operator's merchant endpoints: bearer auth, creation, reading without
//! secrets, paging, validation that changes nothing, rotation.

use crate::both_backends;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

both_backends!(
    admin_api_requires_the_bearer_token,
    create_shows_secret_once_and_read_never,
    duplicate_email_is_409_and_changes_nothing,
    invalid_create_is_422_and_changes_nothing,
    patch_validates_every_field_and_changes_nothing_on_error,
    patch_applies_fields,
    list_pages_with_cursor,
    unknown_merchant_is_404,
);

async fn admin_api_requires_the_bearer_token(app: TestApp) {
    let before = app.snapshot().await;
    for auth in [
        None,
        Some("Bearer wrong-token-wrong-token!!"),
        Some("Basic dGVzdDp0ZXN0"),
        Some(&format!("Bearer {ADMIN_TOKEN}x")[..]),
    ] {
        let mut req = app.http.post(app.url("/admin/v1/merchants")).json(&json!({"email": "a@b.co", "name": "A"}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap()), Some("Bearer"));
        assert_error(&read(resp).await, 401, "UNAUTHORIZED");
    }
    assert_eq!(app.snapshot().await, before);
}

async fn create_shows_secret_once_and_read_never(app: TestApp) {
    let (s, body) = app
        .admin(
            Method::POST,
            "/admin/v1/merchants",
            Some(json!({"email": "shop@example.com", "name": "Shop", "mode": "live"})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let d = &body["data"];
    assert!(d["id"].as_str().unwrap().starts_with("mch_"));
    assert!(d["public_token"].as_str().unwrap().starts_with("pk_live_"));
    let secret = d["secret_token"].as_str().unwrap();
    assert!(secret.starts_with("sk_live_") && secret.len() > 40);
    assert_eq!(d["mode"], "live");
    assert_eq!(d["enabled"], true);
    let (s, got) = app.admin(Method::GET, &format!("/admin/v1/merchants/{}", d["id"].as_str().unwrap()), None).await;
    assert_eq!(s, 200);
    assert!(got["data"].get("secret_token").is_none());
    assert!(!got.to_string().contains(secret));
    let (_, list) = app.admin(Method::GET, "/admin/v1/merchants", None).await;
    assert!(!list.to_string().contains(secret));
}

async fn duplicate_email_is_409_and_changes_nothing(app: TestApp) {
    app.create_merchant("shop@example.com").await;
    let before = app.snapshot().await;
    let got = app
        .admin(Method::POST, "/admin/v1/merchants", Some(json!({"email": "shop@example.com", "name": "Again"})))
        .await;
    assert_error(&got, 409, "EMAIL_TAKEN");
    assert_eq!(app.snapshot().await, before);
}

async fn invalid_create_is_422_and_changes_nothing(app: TestApp) {
    let before = app.snapshot().await;
    for (body, field) in [
        (json!({"email": "not-an-email", "name": "A"}), "email"),
        (json!({"email": "a@b.co", "name": ""}), "name"),
        (json!({"email": "a@b.co", "name": "A", "mode": "prod"}), "mode"),
        (json!({"email": "a@b.co"}), "name"),
        (json!({"email": "a@b.co", "name": "A", "extra": 1}), "extra"),
    ] {
        let got = app.admin(Method::POST, "/admin/v1/merchants", Some(body.clone())).await;
        assert_error(&got, 422, "VALIDATION_ERROR");
        let details = got.1["error"]["details"].to_string();
        assert!(details.contains(field), "{body} → {details}");
    }
    let resp = app
        .http
        .post(app.url("/admin/v1/merchants"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 400, "BAD_JSON");
    assert_eq!(app.snapshot().await, before);
}

async fn patch_validates_every_field_and_changes_nothing_on_error(app: TestApp) {
    // Private callback targets must be refused here, so use a strict app.
    let strict = app.restart_with(|s| s.allow_private_callbacks = false).await;
    let m = strict.create_merchant("shop@example.com").await;
    let path = format!("/admin/v1/merchants/{}", m.id);
    let before = strict.snapshot().await;
    for (body, field) in [
        (json!({"webhook_url": "ftp://example.com/x"}), "webhook_url"),
        (json!({"webhook_url": "http://127.0.0.1:9000/hook"}), "webhook_url"),
        (json!({"webhook_url": "http://169.254.169.254/latest"}), "webhook_url"),
        (json!({"webhook_url": "http://localhost/x"}), "webhook_url"),
        (json!({"ip_allowlist": ["300.1.1.1"]}), "ip_allowlist"),
        (json!({"mode": "sandbox"}), "mode"),
        (json!({"enabled": "yes"}), "enabled"),
        (json!({"fees": {"payin": {"percent": "101"}}}), "fees.payin.percent"),
        (
            json!({"fees": {"payin": {"percent": "1", "currencies": {"XXX": {"percent": "1"}}}}}),
            "fees.payin.currencies.XXX",
        ),
        (json!({"fees": {"payin": {"percent": "1", "fixed": "0.5"}}}), "fees.payin.fixed"),
        (json!({"limits": {"payin": {"RUB": {"min": "10.001"}}}}), "limits.payin.RUB"),
        (json!({"limits": {"payin": {"RUB": {"min": "10", "max": "5"}}}}), "limits.payin.RUB"),
    ] {
        let got = strict.admin(Method::PATCH, &path, Some(body.clone())).await;
        assert_error(&got, 422, "VALIDATION_ERROR");
        assert!(got.1["error"]["details"].to_string().contains(field), "{body} → {}", got.1);
    }
    assert_eq!(strict.snapshot().await, before);
}

async fn patch_applies_fields(app: TestApp) {
    let m = app.create_merchant("shop@example.com").await;
    let path = format!("/admin/v1/merchants/{}", m.id);
    let fees = json!({"payin": {"percent": "1.5", "fixed": "0", "currencies": {"RUB": {"percent": "2", "fixed": "10.00"}}}, "payout": {"percent": "0.5"}});
    let limits = json!({"payin": {"RUB": {"min": "100", "max": "500000.00"}}});
    let (s, body) = app
        .admin(Method::PATCH, &path, Some(json!({"webhook_url": "https://shop.example.com/hook", "fees": fees, "limits": limits, "name": "Renamed", "mode": "live"})))
        .await;
    assert_eq!(s, 200, "{body}");
    let d = &body["data"];
    assert_eq!(d["webhook_url"], "https://shop.example.com/hook");
    assert_eq!(d["fees"], fees);
    assert_eq!(d["limits"], limits);
    assert_eq!(d["name"], "Renamed");
    assert_eq!(d["mode"], "live");
    // Absent fields stay; explicit null clears the URL.
    let (_, body) = app.admin(Method::PATCH, &path, Some(json!({"webhook_url": null}))).await;
    assert_eq!(body["data"]["webhook_url"], serde_json::Value::Null);
    assert_eq!(body["data"]["fees"], fees);
    assert_eq!(body["data"]["name"], "Renamed");
}

async fn list_pages_with_cursor(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_merchant(&format!("shop{i}@example.com")).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/merchants?limit=2&cursor={c}"),
            None => "/admin/v1/merchants?limit=2".into(),
        };
        let (s, body) = app.admin(Method::GET, &path, None).await;
        assert_eq!(s, 200, "{body}");
        let items = body["data"]["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        match body["data"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.into()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_error(&app.admin(Method::GET, "/admin/v1/merchants?limit=0", None).await, 422, "VALIDATION_ERROR");
    assert_error(&app.admin(Method::GET, "/admin/v1/merchants?limit=abc", None).await, 400, "BAD_REQUEST");
}

async fn unknown_merchant_is_404(app: TestApp) {
    for (method, path) in [
        (Method::GET, "/admin/v1/merchants/mch_nope"),
        (Method::PATCH, "/admin/v1/merchants/mch_nope"),
        (Method::POST, "/admin/v1/merchants/mch_nope/rotate-secret"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"enabled": false}));
        assert_error(&app.admin(method, path, body).await, 404, "NOT_FOUND");
    }
}
