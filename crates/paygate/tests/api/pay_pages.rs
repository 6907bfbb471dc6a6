//! The hosted payment page without a browser (the browser flow is
//! scripts/browser_check.py): tokens are the only key, each reveals one
//! payment, forms refuse other origins and change nothing then, and test
//! payments are simulated from the page on both databases.

use crate::helpers::*;
use crate::partner_support::*;
use reqwest::Method;
use serde_json::{json, Value};

fn token_of(pay_url: &str) -> String {
    pay_url.rsplit('/').next().unwrap().to_string()
}

async fn page(app: &TestApp, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.text().await.unwrap(), headers)
}

async fn post(app: &TestApp, path: &str, origin: Option<&str>, body: &str) -> (u16, Value) {
    let mut req =
        app.http.post(app.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body.to_string());
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    read(req.send().await.unwrap()).await
}

async fn a_payins_page_is_its_own_and_nothing_else(app: TestApp) {
    let m = app.create_merchant("page@example.com").await;
    let (_, a) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("page-a", "1500.00")).await;
    let (_, b) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("page-b", "777.00")).await;
    let (a, b) = (&a["data"], &b["data"]);
    let url = a["pay_url"].as_str().unwrap();
    assert_eq!(url, format!("{}/pay/{}", app.base, token_of(url)), "under public_url");
    assert!(!url.contains(a["id"].as_str().unwrap()), "the token is not the id");
    let (s, html, headers) = page(&app, &format!("/pay/{}", token_of(url))).await;
    assert_eq!(s, 200);
    assert!(html.contains("1500") && !html.contains("777"), "one payment only: {html}");
    for secret in [m.public_token.as_str(), m.id.as_str(), a["id"].as_str().unwrap(), "page-a", m.email.as_str()] {
        assert!(!html.contains(secret), "the page shows {secret}");
    }
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    // Ids and made-up tokens open nothing.
    for path in [format!("/pay/{}", a["id"].as_str().unwrap()), format!("/pay/{}", "a".repeat(48)), "/pay/x".into()] {
        assert_eq!(page(&app, &path).await.0, 404, "{path}");
    }
    let (s, st) = read(
        app.http
            .get(app.url(&format!("/pay/{}/status", token_of(b["pay_url"].as_str().unwrap()))))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, st["status"].as_str(), st["phase"].as_str()), (200, Some("pending"), Some("waiting")));
    let (s, css, headers) = page(&app, "/assets/pay.css").await;
    assert_eq!(s, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/css") && css.contains("main"));
}

async fn the_test_button_pays_and_other_origins_are_refused(app: TestApp) {
    let m = app.create_merchant("button@example.com").await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("btn-1", "100.00")).await;
    let token = token_of(p["data"]["pay_url"].as_str().unwrap());
    let before = app.snapshot().await;
    let refused = post(&app, &format!("/pay/{token}/simulate"), Some("https://evil.example"), "").await;
    assert_error(&refused, 403, "FORBIDDEN");
    assert_eq!(app.snapshot().await, before, "a refused post changed something");
    let r = app
        .http
        .post(app.url(&format!("/pay/{token}/simulate")))
        .header("origin", app.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a form post goes back to the page");
    let (_, got) = app.signed(&m, "/api/v1/payin/get", json!({"id": p["data"]["id"]})).await;
    assert_eq!(got["data"]["status"], "success");
    assert_eq!(app.balance(&m, "RUB").await.0, "100.00");
    // Paid: the page says so; again is 409.
    let (_, html, _) = page(&app, &format!("/pay/{token}")).await;
    assert!(html.contains("Payment received"), "{html}");
    assert_error(&post(&app, &format!("/pay/{token}/simulate"), None, "").await, 409, "INVALID_STATE");
    // A cancelled payin's page is gone.
    let (_, q) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("btn-2", "5.00")).await;
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": q["data"]["id"]})).await;
    assert_eq!(page(&app, &format!("/pay/{}", token_of(q["data"]["pay_url"].as_str().unwrap()))).await.0, 404);
    app.assert_ledger_ok().await;
}

async fn live_payments_cannot_be_simulated(app: TestApp) {
    let (s, m) = app
        .admin(
            Method::POST,
            "/admin/v1/merchants",
            Some(json!({"email": "live-page@example.com", "name": "Live", "mode": "live"})),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let m = Merchant::from_json(&m["data"]);
    let reqs =
        json!([{"method": "card", "currency": "RUB", "details": {"type": "card", "card_number": "2200000000000000"}}]);
    assert_eq!(app.admin(Method::PUT, "/admin/v1/requisites", Some(reqs)).await.0, 200);
    let (s, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("live-1", "10.00")).await;
    assert_eq!(s, 201, "{p}");
    let token = token_of(p["data"]["pay_url"].as_str().unwrap());
    let (_, html, _) = page(&app, &format!("/pay/{token}")).await;
    assert!(!html.contains("Simulate"), "no test button on a live payment");
    let before = app.snapshot().await;
    assert_error(&post(&app, &format!("/pay/{token}/simulate"), None, "").await, 403, "FORBIDDEN");
    assert_eq!(app.snapshot().await, before);
}

async fn a_purchase_page_lets_the_customer_pick_the_currency(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("pick@example.com", json!({})).await;
    let cart = json!({"partner_order_id": "pick-1", "purchase_currency": "EUR", "purchase_amount": "25.00"});
    let (_, made) = app.partner_post(&p, "/api/v2/partner/ecommerce/purchase_url", cart).await;
    let token = token_of(made["url"].as_str().unwrap());
    let (s, html, _) = page(&app, &format!("/pay/{token}")).await;
    assert_eq!(s, 200);
    // 25.00 EUR at bid 1800 with 1.5 % in fees: 0.01410041 ETH.
    assert!(html.contains("Choose how to pay") && html.contains("0.01410041 ETH"), "{html}");
    let before = app.snapshot().await;
    assert_error(
        &post(&app, &format!("/pay/{token}/currency"), Some("https://evil.example"), "currency=ETH").await,
        403,
        "FORBIDDEN",
    );
    assert_error(&post(&app, &format!("/pay/{token}/currency"), None, "currency=").await, 422, "VALIDATION_ERROR");
    assert_eq!(app.snapshot().await, before);
    let r = app
        .http
        .post(app.url(&format!("/pay/{token}/currency")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("currency=ETH")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html, _) = page(&app, &format!("/pay/{token}")).await;
    assert!(html.contains("Pay <span id=\"amount\">0.01410041</span> ETH") && html.contains("<svg"), "{html}");
    assert!(ETH_ADDRESSES.iter().any(|a| html.contains(a)), "{html}");
}

crate::both_backends!(
    a_payins_page_is_its_own_and_nothing_else,
    the_test_button_pays_and_other_origins_are_refused,
    live_payments_cannot_be_simulated,
    a_purchase_page_lets_the_customer_pick_the_currency,
);
