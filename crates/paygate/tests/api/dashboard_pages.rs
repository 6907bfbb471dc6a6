//! Dashboard pages beyond the basics: payouts searched (amount needs a
//! currency), opened (the unmasked destination for operators only, in the
//! admin API too) and moved; deliveries filtered by outcome; a merchant
//! made an exchange partner and its settings changed with the API's
//! checks. Both databases.

use crate::dashboard::{csrf, get, operator, post, session_of, sign_in};
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

async fn admin_session(app: &TestApp) -> String {
    session_of(&sign_in(app, &[("admin_token", ADMIN_TOKEN)]).await.1.unwrap())
}

async fn payouts_are_searched_opened_and_moved(app: TestApp) {
    let body = json!({"email": "payouts@example.com", "name": "Payouts", "mode": "live"});
    let (_, live) = app.admin(Method::POST, "/admin/v1/merchants", Some(body)).await;
    let m = Merchant::from_json(&live["data"]);
    app.fund(&m, "RUB", "5000.00").await;
    let mut ids = Vec::new();
    for (order, amount) in [("po-big", "1000.00"), ("po-small", "250.00")] {
        let (s, p) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body(order, amount)).await;
        assert_eq!(s, 201, "{p}");
        ids.push(p["data"]["id"].as_str().unwrap().to_string());
    }
    let admin = admin_session(&app).await;
    let (s, html) = get(&app, &admin, "/dashboard/payouts?currency=RUB&amount_min=500").await;
    assert_eq!(s, 200);
    assert!(html.contains(&ids[0]) && !html.contains(&ids[1]), "{html}");
    let (_, html) = get(&app, &admin, "/dashboard/payouts?order_id=po-small").await;
    assert!(!html.contains(&ids[0]) && html.contains(&ids[1]), "{html}");
    let (_, html) = get(&app, &admin, "/dashboard/payouts?amount_min=500").await;
    assert!(html.contains("needs a currency") && html.contains(&ids[0]) && html.contains(&ids[1]), "{html}");

    // A viewer sees the masked destination and no buttons, here and in the API.
    operator(&app, "viewer@example.com", "viewer", "viewer password 1").await;
    operator(&app, "ops@example.com", "operator", "operator password 1").await;
    let viewer = session_of(
        &sign_in(&app, &[("email", "viewer@example.com"), ("password", "viewer password 1")]).await.1.unwrap(),
    );
    let detail = format!("/dashboard/payouts/{}", ids[0]);
    let (s, html) = get(&app, &viewer, &detail).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("1000.00") && !html.contains("4111111111111111") && !html.contains("Mark processing"),
        "{html}"
    );
    let key = paygate_server::http::dashboard::account::issue_api_key(
        &app.state,
        "viewer@example.com",
        "t",
        "admin",
        "cli",
        None,
    )
    .await
    .unwrap()
    .unwrap()
    .api_key;
    let r = app.http.get(app.url(&format!("/admin/v1/payouts/{}", ids[0]))).bearer_auth(&key).send().await.unwrap();
    let (s, api) = read(r).await;
    assert_eq!(s, 200);
    assert!(api["data"]["destination_full"].is_null() && !api.to_string().contains("4111111111111111"), "{api}");
    let (_, full) = app.admin(Method::GET, &format!("/admin/v1/payouts/{}", ids[0]), None).await;
    assert_eq!(full["data"]["destination_full"]["card_number"], "4111111111111111", "{full}");

    // An operator sees where to pay and moves the payout to paid.
    let ops = session_of(
        &sign_in(&app, &[("email", "ops@example.com"), ("password", "operator password 1")]).await.1.unwrap(),
    );
    let (_, html) = get(&app, &ops, &detail).await;
    assert!(html.contains("4111111111111111") && html.contains("Mark processing"), "{html}");
    assert_eq!(post(&app, &ops, &format!("{detail}/processing"), None, &[("csrf", &csrf(&html))]).await, 303);
    let (_, html) = get(&app, &ops, &detail).await;
    assert!(html.contains("Mark paid"), "{html}");
    assert_eq!(post(&app, &ops, &format!("{detail}/success"), None, &[("csrf", &csrf(&html))]).await, 303);
    let (_, got) = app.signed(&m, "/api/v1/payout/get", json!({"id": ids[0]})).await;
    assert_eq!(got["data"]["status"], "success", "{got}");
    let (_, html) = get(&app, &admin, "/dashboard/payouts?status=success").await;
    assert!(html.contains(&ids[0]) && !html.contains(&ids[1]), "{html}");
    app.assert_ledger_ok().await;
}

async fn deliveries_are_filtered_by_outcome(app: TestApp) {
    let app = crate::webhooks::fast(app, true).await;
    let m = app.create_merchant("hooks@example.com").await;
    let rx = Receiver::start(&m.secret, "500,200").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("hook-1", "10.00")).await;
    let payin_id = p["data"]["id"].as_str().unwrap().to_string();
    app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": payin_id})).await;
    assert_eq!(rx.wait_for(2, Duration::from_secs(20)).await.len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let admin = admin_session(&app).await;
    let rows = |html: &str| html.matches("payin.").count();
    let (_, all) = get(&app, &admin, &format!("/dashboard/deliveries?object_id={payin_id}")).await;
    let (_, failed) = get(&app, &admin, &format!("/dashboard/deliveries?object_id={payin_id}&status=failed")).await;
    let (_, ok) = get(&app, &admin, &format!("/dashboard/deliveries?object_id={payin_id}&status=success")).await;
    assert_eq!((rows(&all), rows(&failed), rows(&ok)), (2, 1, 1), "{all}\n{failed}\n{ok}");
    assert!(failed.contains("HTTP 500") && !ok.contains("HTTP 500"), "{failed}");
    let (_, none) = get(&app, &admin, "/dashboard/deliveries?object_id=pi_nothing").await;
    assert_eq!(rows(&none), 0, "{none}");
}

async fn a_merchant_becomes_a_partner_from_the_dashboard(app: TestApp) {
    let m = app.create_merchant("partner@example.com").await;
    let admin = admin_session(&app).await;
    let page = format!("/dashboard/merchants/{}/partner", m.id);
    let (_, html) = get(&app, &admin, &page).await;
    assert!(html.contains("Make it a partner"), "{html}");
    let r = app
        .http
        .post(app.url(&format!("{page}/enable")))
        .header("cookie", &admin)
        .form(&[("csrf", csrf(&html).as_str()), ("signature_padding", "unpadded")])
        .send()
        .await
        .unwrap();
    let shown = r.text().await.unwrap();
    let code = |id: &str| {
        let at = shown.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("{id} in {shown}")) + id.len() + 6;
        shown[at..].split('<').next().unwrap().to_string()
    };
    let (api_key, secret) = (code("partner-api-key"), code("partner-secret"));
    let partner = crate::partner_support::Partner {
        merchant: m.clone(),
        api_key: api_key.clone(),
        secret: secret.clone(),
        callback_secret: code("partner-callback-secret"),
    };
    let (s, _) = app.partner_call(&partner, Method::GET, "/api/v2/partner/healthcheck", None).await;
    assert_eq!(s, 200, "the credentials shown work");
    // Settings are checked as in the admin API: a bad fee changes nothing.
    let (_, html) = get(&app, &admin, &page).await;
    assert!(html.contains(&api_key) && !html.contains(&secret), "the secret is not shown again");
    let token = csrf(&html);
    let fields = |fees: &'static str| {
        vec![
            ("csrf", token.clone()),
            ("callback_url", "https://partner.example/cb".into()),
            ("signature_padding", "padded".into()),
            ("enabled", "yes".into()),
            ("exchange_fees", fees.into()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let req = app.http.post(app.url(&page)).header("cookie", &admin).form(&f);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(send(fields(r#"{"payin_percent": "75"}"#)).await, 422);
    let (_, unchanged) = app.admin(Method::GET, &format!("/admin/v1/merchants/{}/partner", m.id), None).await;
    assert_eq!(
        (unchanged["data"]["signature_padding"].as_str(), unchanged["data"]["callback_url"].as_str()),
        (Some("unpadded"), None)
    );
    assert_eq!(send(fields(r#"{"payin_percent": "2"}"#)).await, 303);
    let (_, saved) = app.admin(Method::GET, &format!("/admin/v1/merchants/{}/partner", m.id), None).await;
    assert_eq!(saved["data"]["signature_padding"], "padded", "{saved}");
    assert_eq!(saved["data"]["callback_url"], "https://partner.example/cb");
    assert_eq!(saved["data"]["exchange_fees"]["payin_percent"], "2");
    let (_, audit) = app.admin(Method::GET, "/admin/v1/audit?limit=100", None).await;
    let items = audit["data"]["items"].as_array().unwrap();
    for (action, outcome) in [("partner.enable", "ok"), ("partner.settings", "refused"), ("partner.settings", "ok")] {
        assert!(items.iter().any(|e| e["action"] == action && e["outcome"] == outcome), "{action} {outcome}: {audit}");
    }
    assert!(!audit.to_string().contains(&secret));
}

async fn providers_and_routes_are_edited_with_the_apis_checks(app: TestApp) {
    let admin = admin_session(&app).await;
    let (_, html) = get(&app, &admin, "/dashboard/providers").await;
    assert!(html.contains("Save routes") && html.contains("sandbox") && html.contains("manual"), "{html}");
    let token = csrf(&html);
    let providers = r#"{"providers": [{"id": "up", "type": "switchere", "config": {"base_url": "http://127.0.0.1:1",
        "api_key": "key-1", "secret": "SECRET-1", "callback_secret": "CALLBACK-1", "payout_currency": "EUR"}}]}"#;
    let save = |what: &'static str, field: &'static str, doc: &'static str| {
        let (app, admin, token) = (&app, &admin, token.clone());
        async move {
            post(app, admin, &format!("/dashboard/providers/{what}"), None, &[("csrf", &token), (field, doc)]).await
        }
    };
    assert_eq!(save("providers", "providers", providers).await, 303);
    let bad_route = r#"{"routes": [{"kind": "payin", "currency": "ETH", "provider_id": "nobody"}]}"#;
    assert_eq!(save("routes", "routes", bad_route).await, 422);
    let (_, routes) = app.admin(Method::GET, "/admin/v1/routes", None).await;
    assert_eq!(routes["data"]["routes"], json!([]), "the refused rules changed nothing");
    let good_route = r#"{"routes": [{"kind": "payin", "currency": "ETH", "provider_id": "up", "priority": 1}]}"#;
    assert_eq!(save("routes", "routes", good_route).await, 303);
    let (_, routes) = app.admin(Method::GET, "/admin/v1/routes", None).await;
    assert_eq!(routes["data"]["routes"][0]["provider_id"], "up", "{routes}");
    // The page shows the provider, never its credentials, and saving it
    // back as shown keeps them.
    let (_, html) = get(&app, &admin, "/dashboard/providers").await;
    assert!(
        html.contains("127.0.0.1:1")
            && !html.contains("SECRET-1")
            && !html.contains("CALLBACK-1")
            && !html.contains("key-1"),
        "{html}"
    );
    let shown = r#"{"providers": [{"id": "up", "type": "switchere", "config": {"base_url": "http://127.0.0.1:2", "payout_currency": "EUR"}}]}"#;
    assert_eq!(save("providers", "providers", shown).await, 303);
    let (_, listed) = app.admin(Method::GET, "/admin/v1/providers", None).await;
    let up = listed["data"]["providers"].as_array().unwrap().iter().find(|p| p["id"] == "up").unwrap().clone();
    assert_eq!(
        (up["has_credentials"].as_bool(), up["config"]["base_url"].as_str()),
        (Some(true), Some("http://127.0.0.1:2"))
    );
    assert!(!listed.to_string().contains("SECRET-1"));
    // A provider still routed to cannot be dropped.
    assert_eq!(save("providers", "providers", r#"{"providers": []}"#).await, 409);
}

crate::both_backends!(
    providers_and_routes_are_edited_with_the_apis_checks,
    payouts_are_searched_opened_and_moved,
    deliveries_are_filtered_by_outcome,
    a_merchant_becomes_a_partner_from_the_dashboard,
);
