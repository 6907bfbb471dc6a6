//! Roles hold in the admin API as in the dashboard: a named operator's
//! `opk_…` key carries their role, a refused call changes nothing and is
//! audited under their name, a replaced key or a disabled operator stops
//! working; and wrong sign-ins are throttled. Both databases.

use crate::dashboard::{csrf, get, operator, session_of, sign_in};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn call(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

/// Signs the operator in and issues their key from the account page.
async fn key_from_dashboard(app: &TestApp, email: &str, password: &str) -> String {
    let (_, set) = sign_in(app, &[("email", email), ("password", password)]).await;
    let cookie = session_of(&set.unwrap());
    let (_, html) = get(app, &cookie, "/dashboard/account").await;
    assert!(html.contains("Issue a new API key"), "{html}");
    let r = app
        .http
        .post(app.url("/dashboard/account/api-key"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let at = html.find("id=\"api-key\">").expect("the key is shown") + "id=\"api-key\">".len();
    html[at..at + 52].to_string()
}

async fn admin_api_keys_carry_the_operators_role(app: TestApp) {
    let reqs =
        json!([{"method": "card", "currency": "RUB", "details": {"type": "card", "card_number": "2200000000000000"}}]);
    assert_eq!(app.admin(Method::PUT, "/admin/v1/requisites", Some(reqs)).await.0, 200);
    let body = json!({"email": "live@example.com", "name": "Live", "mode": "live"});
    let (_, live) = app.admin(Method::POST, "/admin/v1/merchants", Some(body)).await;
    let m = Merchant::from_json(&live["data"]);
    let (s, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("key-1", "300.00")).await;
    assert_eq!(s, 201, "{p}");
    let id = p["data"]["id"].as_str().unwrap().to_string();
    operator(&app, "viewer@example.com", "viewer", "viewer password 1").await;
    operator(&app, "ops@example.com", "operator", "operator password 1").await;
    let viewer = key_from_dashboard(&app, "viewer@example.com", "viewer password 1").await;
    let ops = key_from_dashboard(&app, "ops@example.com", "operator password 1").await;
    assert!(viewer.starts_with("opk_") && ops.starts_with("opk_") && viewer != ops, "{viewer} {ops}");

    // A viewer reads, and is refused a confirmation that then changes nothing.
    let (s, list) = call(&app, &viewer, Method::GET, "/admin/v1/payins", None).await;
    assert_eq!((s, list["data"]["items"][0]["id"].as_str()), (200, Some(id.as_str())), "{list}");
    let before = app.snapshot().await;
    let confirm = format!("/admin/v1/payins/{id}/confirm");
    let (s, refused) = call(&app, &viewer, Method::POST, &confirm, Some(json!({}))).await;
    assert_eq!((s, refused["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{refused}");
    assert_eq!(app.snapshot().await, before, "a refused call changes nothing");
    // An operator confirms, but may not change configuration.
    let (s, done) = call(&app, &ops, Method::POST, &confirm, Some(json!({"amount": "290.00"}))).await;
    assert_eq!((s, done["data"]["status"].as_str()), (200, Some("success")), "{done}");
    let rates = json!({"rates": [{"name": "BTC-USD", "bid": "1", "ask": "2"}]});
    assert_eq!(call(&app, &ops, Method::PUT, "/admin/v1/rates", Some(rates)).await.0, 403);
    let adjust = json!({"currency": "RUB", "amount": "1000000.00", "reason": "gift"});
    let path = format!("/admin/v1/balances/{}/adjust", m.id);
    assert_eq!(call(&app, &ops, Method::POST, &path, Some(adjust)).await.0, 403);
    let (_, balance) = app.admin(Method::GET, &format!("/admin/v1/balances/{}", m.id), None).await;
    assert!(!balance.to_string().contains("1000000"), "{balance}");

    // Unknown, replaced and disabled keys are refused.
    let unknown = format!("opk_{}", "0".repeat(48));
    assert_eq!(call(&app, &unknown, Method::GET, "/admin/v1/payins", None).await.0, 401);
    let newer = key_from_dashboard(&app, "viewer@example.com", "viewer password 1").await;
    assert_eq!(call(&app, &viewer, Method::GET, "/admin/v1/payins", None).await.0, 401, "the old key is replaced");
    assert_eq!(call(&app, &newer, Method::GET, "/admin/v1/payins", None).await.0, 200);
    sqlx::query("UPDATE operators SET enabled = 0 WHERE email = 'viewer@example.com'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(call(&app, &newer, Method::GET, "/admin/v1/payins", None).await.0, 401, "a disabled operator");

    // The audit log names who called, with the answer.
    let (_, audit) = app.admin(Method::GET, "/admin/v1/audit?limit=100", None).await;
    let items = audit["data"]["items"].as_array().unwrap();
    let has = |action: &str, actor: &str, role: &str, outcome: &str| {
        items.iter().any(|e| {
            e["action"] == action
                && e["actor"] == actor
                && e["role"] == role
                && e["outcome"] == outcome
                && e["via"] == "admin-api"
        })
    };
    let confirm_route = "POST /admin/v1/payins/{id}/confirm";
    assert!(has(confirm_route, "viewer@example.com", "viewer", "403"), "{audit}");
    assert!(has(confirm_route, "ops@example.com", "operator", "200"), "{audit}");
    assert!(has("PUT /admin/v1/rates", "ops@example.com", "operator", "403"), "{audit}");
    assert!(items.iter().any(|e| e["action"] == "operator.api-key" && e["actor"] == "ops@example.com"), "{audit}");
    assert!(!audit.to_string().contains(&ops), "keys never reach the log");
    app.assert_ledger_ok().await;
}

async fn wrong_sign_ins_are_throttled(app: TestApp) {
    operator(&app, "ops@example.com", "operator", "operator password 1").await;
    let wrong = [("email", "ops@example.com"), ("password", "not the password")];
    for _ in 0..10 {
        assert_eq!(sign_in(&app, &wrong).await.0, 401);
    }
    // Now even the right password waits, without being checked.
    let right = [("email", "ops@example.com"), ("password", "operator password 1")];
    let r = app.http.post(app.url("/dashboard/sign-in")).form(&right).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(r.text().await.unwrap().contains("Too many wrong sign-ins"));
    // So does another account from the same address, and the admin token.
    operator(&app, "other@example.com", "viewer", "other password 1").await;
    assert_eq!(sign_in(&app, &[("email", "other@example.com"), ("password", "other password 1")]).await.0, 429);
    assert_eq!(sign_in(&app, &[("admin_token", ADMIN_TOKEN)]).await.0, 429);
    // The admin API is not the sign-in form: its token still works.
    assert_eq!(app.admin(Method::GET, "/admin/v1/merchants", None).await.0, 200);
    let (_, audit) = app.admin(Method::GET, "/admin/v1/audit?limit=100", None).await;
    assert!(audit["data"]["items"].as_array().unwrap().iter().any(|e| e["outcome"] == "throttled"), "{audit}");
}

crate::both_backends!(admin_api_keys_carry_the_operators_role, wrong_sign_ins_are_throttled);
