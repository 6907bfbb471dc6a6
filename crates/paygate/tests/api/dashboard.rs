//! The operator dashboard without a browser (the browser flow is in
//! scripts/browser_check.py): sign-in and sessions, CSRF and Origin checks
//! that refuse and change nothing, roles on every action, and the audit log
//! of dashboard and admin API actions, on both databases.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

pub(crate) async fn sign_in(app: &TestApp, fields: &[(&str, &str)]) -> (u16, Option<String>) {
    let r = app.http.post(app.url("/dashboard/sign-in")).form(fields).send().await.unwrap();
    let cookie = r.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_string());
    (r.status().as_u16(), cookie)
}

pub(crate) fn session_of(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

pub(crate) async fn get(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app.http.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub(crate) fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    html[at..at + 48].to_string()
}

pub(crate) async fn post(
    app: &TestApp,
    cookie: &str,
    path: &str,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> u16 {
    let mut req = app.http.post(app.url(path)).header("cookie", cookie).form(fields);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    req.send().await.unwrap().status().as_u16()
}

pub(crate) async fn operator(app: &TestApp, email: &str, role: &str, password: &str) {
    let hash = paygate_server::http::dashboard::signin::hash_password(password).unwrap();
    let row = paygate_store::operators::OperatorRow {
        id: format!("op_{}", hex::encode(rand_bytes::<8>())),
        email: email.into(),
        role: role.into(),
        password_hash: paygate_store::merchants::Sealed(hash),
        enabled: true,
        created_at: 0,
    };
    app.state.db.insert_operator(&row).await.unwrap().unwrap();
}

async fn sessions_sign_in_and_out(app: TestApp) {
    let r = app.http.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/dashboard/sign-in"));
    assert_eq!(sign_in(&app, &[("admin_token", "wrong-token-0123456789")]).await.0, 401);
    operator(&app, "ops@example.com", "operator", "correct horse battery").await;
    assert_eq!(sign_in(&app, &[("email", "ops@example.com"), ("password", "wrong horse battery")]).await.0, 401);
    assert_eq!(sign_in(&app, &[("email", "nobody@example.com"), ("password", "whatever whatever")]).await.0, 401);
    let (s, cookie) = sign_in(&app, &[("admin_token", ADMIN_TOKEN)]).await;
    assert_eq!(s, 303);
    let set = cookie.unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = session_of(&set);
    let (s, html) = get(&app, &cookie, "/dashboard").await;
    assert_eq!(s, 200);
    assert!(html.contains("Overview") && html.contains("Success rate"), "{html}");
    // Sign-out needs the form's token; then the session is gone.
    assert_eq!(post(&app, &cookie, "/dashboard/sign-out", None, &[]).await, 403);
    assert_eq!(post(&app, &cookie, "/dashboard/sign-out", None, &[("csrf", &csrf(&html))]).await, 303);
    let r = app.http.get(app.url("/dashboard")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out");
    // An expired session (idle past its deadline) signs no one in.
    let (_, set) = sign_in(&app, &[("email", "ops@example.com"), ("password", "correct horse battery")]).await;
    let cookie = session_of(&set.unwrap());
    sqlx::query("UPDATE operator_sessions SET last_seen_at = last_seen_at - 3600000000")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(app.http.get(app.url("/dashboard")).header("cookie", &cookie).send().await.unwrap().status(), 303);
    let (_, audit) = app.admin(Method::GET, "/admin/v1/audit", None).await;
    let actions: Vec<(String, String)> = audit["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        actions.contains(&("sign-in".into(), "refused".into())) && actions.contains(&("sign-out".into(), "ok".into())),
        "{actions:?}"
    );
}

async fn forms_refuse_missing_tokens_and_other_origins(app: TestApp) {
    let (_, set) = sign_in(&app, &[("admin_token", ADMIN_TOKEN)]).await;
    let cookie = session_of(&set.unwrap());
    let (_, html) = get(&app, &cookie, "/dashboard/merchants").await;
    let token = csrf(&html);
    let fields = |t: &'static str| vec![("email", "made@example.com"), ("name", "Made"), ("mode", "test"), ("csrf", t)];
    let before = app.snapshot().await;
    assert_eq!(post(&app, &cookie, "/dashboard/merchants", None, &fields("")).await, 403);
    let leaked: &'static str = Box::leak(token.clone().into_boxed_str());
    assert_eq!(post(&app, &cookie, "/dashboard/merchants", Some("https://evil.example"), &fields(leaked)).await, 403);
    let merchants_before: Vec<_> = before.iter().filter(|(k, _)| k == "merchants").collect();
    let after = app.snapshot().await;
    assert_eq!(after.iter().filter(|(k, _)| k == "merchants").collect::<Vec<_>>(), merchants_before);
    let r = app
        .http
        .post(app.url("/dashboard/merchants"))
        .header("cookie", &cookie)
        .form(&fields(leaked))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("sk_test_"), "the secret is shown once: {html}");
    let (_, list) = get(&app, &cookie, "/dashboard/merchants").await;
    assert!(list.contains("made@example.com") && !list.contains("sk_test_"), "{list}");
}

async fn roles_decide_what_each_operator_may_do(app: TestApp) {
    let m = app.create_merchant("roles@example.com").await;
    let reqs =
        json!([{"method": "card", "currency": "RUB", "details": {"type": "card", "card_number": "2200000000000000"}}]);
    assert_eq!(app.admin(Method::PUT, "/admin/v1/requisites", Some(reqs)).await.0, 200);
    let (_, live) = app
        .admin(
            Method::POST,
            "/admin/v1/merchants",
            Some(json!({"email": "manual@example.com", "name": "Manual", "mode": "live"})),
        )
        .await;
    let lm = Merchant::from_json(&live["data"]);
    let (s, p) = app.signed(&lm, "/api/v1/payin/create", TestApp::payin_body("role-1", "250.00")).await;
    assert_eq!(s, 201, "{p}");
    let id = p["data"]["id"].as_str().unwrap().to_string();
    operator(&app, "viewer@example.com", "viewer", "viewer password 1").await;
    operator(&app, "ops@example.com", "operator", "operator password 1").await;
    let (_, set) = sign_in(&app, &[("email", "viewer@example.com"), ("password", "viewer password 1")]).await;
    let viewer = session_of(&set.unwrap());
    let (s, html) = get(&app, &viewer, &format!("/dashboard/payins/{id}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("250.00") && !html.contains("Confirm payment"), "{html}");
    let token = csrf(&html);
    let before = app.snapshot().await;
    assert_eq!(post(&app, &viewer, &format!("/dashboard/payins/{id}/confirm"), None, &[("csrf", &token)]).await, 403);
    assert_eq!(
        app.snapshot().await.iter().filter(|(k, _)| k.contains("payins")).collect::<Vec<_>>(),
        before.iter().filter(|(k, _)| k.contains("payins")).collect::<Vec<_>>()
    );
    let (_, merchants) = get(&app, &viewer, "/dashboard/merchants").await;
    assert!(!merchants.contains("Create merchant") && !merchants.contains(">Disable<"), "{merchants}");
    let (_, set) = sign_in(&app, &[("email", "ops@example.com"), ("password", "operator password 1")]).await;
    let ops = session_of(&set.unwrap());
    let (_, html) = get(&app, &ops, &format!("/dashboard/payins/{id}")).await;
    assert!(html.contains("Confirm payment"));
    let status = post(
        &app,
        &ops,
        &format!("/dashboard/payins/{id}/confirm"),
        None,
        &[("csrf", &csrf(&html)), ("amount", "240.00")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, got) = app.signed(&lm, "/api/v1/payin/get", json!({"id": id})).await;
    assert_eq!((got["data"]["status"].as_str(), got["data"]["amount"].as_str()), (Some("success"), Some("240.00")));
    // An operator may not manage merchants.
    let (_, merchants) = get(&app, &ops, "/dashboard/merchants").await;
    assert!(!merchants.contains("Create merchant"));
    assert_eq!(
        post(&app, &ops, &format!("/dashboard/merchants/{}/disable", m.id), None, &[("csrf", &csrf(&merchants))]).await,
        403
    );
    // Both the dashboard's and the admin API's actions are in the log.
    let (_, audit) = app.admin(Method::GET, "/admin/v1/audit?limit=100", None).await;
    let items = audit["data"]["items"].as_array().unwrap();
    let has = |action: &str, actor: &str, outcome: &str| {
        items.iter().any(|e| e["action"] == action && e["actor"] == actor && e["outcome"] == outcome)
    };
    assert!(has("payin.confirm", "ops@example.com", "ok"), "{audit}");
    assert!(has("payin.confirm", "viewer@example.com", "refused"), "{audit}");
    assert!(has("merchant.disable", "ops@example.com", "refused"), "{audit}");
    assert!(has("PUT /admin/v1/requisites", "admin token", "200"), "{audit}");
    assert!(items.iter().any(|e| e["action"] == "POST /admin/v1/merchants" && e["via"] == "admin-api"), "{audit}");
    app.assert_ledger_ok().await;
}

async fn every_page_answers_and_lists_stay_small(app: TestApp) {
    let m = app.create_merchant("pages@example.com").await;
    app.fund(&m, "RUB", "1000.00").await;
    for i in 0..51 {
        let (s, _) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("many-{i}"), "10.00")).await;
        assert_eq!(s, 201);
    }
    let (s, p) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("po-dash", "5.00")).await;
    assert_eq!(s, 201, "{p}");
    let (_, set) = sign_in(&app, &[("admin_token", ADMIN_TOKEN)]).await;
    let cookie = session_of(&set.unwrap());
    let css = app.http.get(app.url("/assets/dashboard.css")).send().await.unwrap().text().await.unwrap();
    for path in [
        "/dashboard",
        "/dashboard/merchants",
        "/dashboard/payins",
        "/dashboard/payouts",
        "/dashboard/disputes",
        "/dashboard/deliveries",
        "/dashboard/exchange",
        "/dashboard/requisites",
        "/dashboard/ledger",
        "/dashboard/audit",
        "/dashboard/account",
        "/dashboard/providers",
        &format!("/dashboard/payouts/{}", p["data"]["id"].as_str().unwrap()),
        &format!("/dashboard/merchants/{}/partner", m.id),
        &format!("/dashboard/merchants/{}/settings", m.id),
    ] {
        let (s, html) = get(&app, &cookie, path).await;
        assert_eq!(s, 200, "{path}: {html}");
        assert!(html.len() + css.len() < 100_000, "{path} is {} bytes with its CSS", html.len() + css.len());
    }
    let (_, html) = get(&app, &cookie, "/dashboard/payins").await;
    assert_eq!(html.matches("<tr>").count(), 51, "50 rows and the header");
    let at = html.find("<a href=\"/dashboard/payins?cursor=").expect("a next page") + "<a href=\"".len();
    let next = &html[at..at + html[at..].find('"').unwrap()];
    let (_, rest) = get(&app, &cookie, next).await;
    assert_eq!(rest.matches("<tr>").count(), 2, "the 51st payin and the header");
    // Filters: currency and days (UTC).
    // Days around now, wide enough that a run across midnight still holds.
    let today = chrono::Utc::now().date_naive();
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    let later_day = tomorrow.succ_opt().unwrap();
    let (_, usd) = get(&app, &cookie, "/dashboard/payins?currency=USD").await;
    assert_eq!(usd.matches("<tr>").count(), 1, "no USD payins");
    let (_, later) = get(&app, &cookie, &format!("/dashboard/payins?date_from={later_day}")).await;
    assert_eq!(later.matches("<tr>").count(), 1, "none from the day after tomorrow on");
    let (_, now) =
        get(&app, &cookie, &format!("/dashboard/payins?date_from={yesterday}&date_to={tomorrow}&currency=RUB")).await;
    assert_eq!(now.matches("<tr>").count(), 51, "these days' RUB payins, paged");
    assert!(now.contains("currency=RUB") && now.contains("Next page"), "the next page keeps the filters");
    let (_, ledger) = get(&app, &cookie, "/dashboard/ledger").await;
    assert!(ledger.contains("data-ok=\"true\""), "{ledger}");
    // Moving a payout from the dashboard: processing, then paid.
    let id = p["data"]["id"].as_str().unwrap();
    let (_, list) = get(&app, &cookie, "/dashboard/payouts").await;
    assert_eq!(
        post(&app, &cookie, &format!("/dashboard/payouts/{id}/processing"), None, &[("csrf", &csrf(&list))]).await,
        303
    );
    assert_eq!(
        post(&app, &cookie, &format!("/dashboard/payouts/{id}/success"), None, &[("csrf", &csrf(&list))]).await,
        303
    );
    let (_, got) = app.signed(&m, "/api/v1/payout/get", json!({"id": id})).await;
    assert_eq!(got["data"]["status"], "success");
    app.assert_ledger_ok().await;
}

async fn merchants_are_managed_and_test_payins_made_from_the_dashboard(app: TestApp) {
    let m = app.create_merchant("managed@example.com").await;
    let (_, set) = sign_in(&app, &[("admin_token", ADMIN_TOKEN)]).await;
    let cookie = session_of(&set.unwrap());
    let (_, list) = get(&app, &cookie, "/dashboard/merchants").await;
    let token = csrf(&list);
    let act = |what: &'static str, extra: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![("csrf", token.clone())];
        form.extend(extra);
        let req = app
            .http
            .post(app.url(&format!("/dashboard/merchants/{}/{what}", m.id)))
            .header("cookie", cookie.clone())
            .form(&form);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, html) = act("test-payin", vec![("amount", "42.00".into()), ("currency", "RUB".into())]).await;
    assert_eq!(s, 200, "{html}");
    let at = html.find("/pay/").expect("the payin's page") + 5;
    let token_of_page = &html[at..at + 48];
    let (s, page) = get(&app, "", &format!("/pay/{token_of_page}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("42"), "{page}");
    let (s, html) = act("webhook", vec![("webhook_url", "https://hooks.example.com/paygate".into())]).await;
    assert_eq!(s, 200, "{html}");
    let (_, read_back) = app.admin(Method::GET, &format!("/admin/v1/merchants/{}", m.id), None).await;
    assert_eq!(read_back["data"]["webhook_url"], "https://hooks.example.com/paygate");
    let (s, html) = act("rotate", vec![]).await;
    assert_eq!(s, 200);
    assert!(html.contains("sk_test_") && !html.contains(&m.secret), "a new secret, shown once");
    // The old secret keeps working during its grace period.
    assert_eq!(app.signed(&m, "/api/v1/balance", json!({})).await.0, 200);
    // Fees and limits, as the admin API's documents, validated the same way.
    let settings = format!("/dashboard/merchants/{}/settings", m.id);
    let (s, html) = get(&app, &cookie, &settings).await;
    assert_eq!(s, 200, "{html}");
    let fees = r#"{"payin": {"percent": "2.5", "fixed": "1.00"}}"#;
    let form = [("csrf", token.as_str()), ("fees", fees), ("limits", "")];
    let r = app.http.post(app.url(&settings)).header("cookie", &cookie).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, read_back) = app.admin(Method::GET, &format!("/admin/v1/merchants/{}", m.id), None).await;
    assert_eq!(read_back["data"]["fees"]["payin"]["percent"], "2.5", "{read_back}");
    let bad = [("csrf", token.as_str()), ("fees", r#"{"payin": {"percent": "-1"}}"#)];
    let r = app.http.post(app.url(&settings)).header("cookie", &cookie).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let (_, unchanged) = app.admin(Method::GET, &format!("/admin/v1/merchants/{}", m.id), None).await;
    assert_eq!(unchanged["data"]["fees"], read_back["data"]["fees"]);
    // Rates from the exchange page.
    let rates = r#"{"rates": [{"name": "BTC-USD", "bid": "29000", "ask": "31000"}]}"#;
    let r = app
        .http
        .post(app.url("/dashboard/exchange/rates"))
        .header("cookie", &cookie)
        .form(&[("csrf", token.as_str()), ("rates", rates)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, got) = app.admin(Method::GET, "/admin/v1/rates", None).await;
    assert_eq!(got["data"]["rates"][0]["floating_rate"], "30000", "{got}");
    // A bad amount is refused with the field named, and nothing is created.
    let before = app.count("payins").await;
    let (s, html) = act("test-payin", vec![("amount", "lots".into()), ("currency", "RUB".into())]).await;
    assert_eq!(s, 422, "{html}");
    assert_eq!(app.count("payins").await, before);
}

async fn the_requisites_pool_is_edited_with_the_apis_checks(app: TestApp) {
    let (_, set) = sign_in(&app, &[("admin_token", ADMIN_TOKEN)]).await;
    let cookie = session_of(&set.unwrap());
    let (s, html) = get(&app, &cookie, "/dashboard/requisites").await;
    assert_eq!(s, 200);
    let token = csrf(&html);
    let save = |pool: &'static str| {
        let req = app
            .http
            .post(app.url("/dashboard/requisites"))
            .header("cookie", cookie.clone())
            .form(&[("csrf", token.clone()), ("requisites", pool.to_string())]);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let good = r#"[{"method": "crypto", "currency": "ETH", "purpose": "exchange",
                   "details": {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "network": "ERC20"}}]"#;
    assert_eq!(save(good).await, 303);
    let (_, pool) = app.admin(Method::GET, "/admin/v1/requisites", None).await;
    assert_eq!(pool["data"][0]["purpose"], "exchange", "{pool}");
    // An address that fails its checksum is refused and the pool stays.
    let bad = r#"[{"method": "crypto", "currency": "ETH", "purpose": "exchange",
                  "details": {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}}]"#;
    assert_eq!(save(bad).await, 422);
    let (_, still) = app.admin(Method::GET, "/admin/v1/requisites", None).await;
    assert_eq!(still, pool);
    // The exchange's payment methods, the same way.
    let methods = |doc: &'static str| {
        let req = app
            .http
            .post(app.url("/dashboard/exchange/methods"))
            .header("cookie", cookie.clone())
            .form(&[("csrf", token.clone()), ("methods", doc.to_string())]);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let good =
        r#"{"payin": [{"group": "card", "title": "Card", "currencies": ["USD"], "min": "10.00"}], "payout": []}"#;
    assert_eq!(methods(good).await, 303);
    let (_, saved) = app.admin(Method::GET, "/admin/v1/exchange/methods", None).await;
    assert_eq!(saved["data"]["payin"][0]["min"]["USD"], "10.00", "{saved}");
    assert_eq!(methods(r#"{"payin": [{"group": "pigeon", "title": "x", "currencies": ["USD"]}]}"#).await, 422);
    let (_, unchanged) = app.admin(Method::GET, "/admin/v1/exchange/methods", None).await;
    assert_eq!(unchanged, saved);
    let (_, page) = get(&app, &cookie, "/dashboard/exchange").await;
    assert!(page.contains("Save methods") && page.contains("Save rates"), "{page}");
}

crate::both_backends!(
    the_requisites_pool_is_edited_with_the_apis_checks,
    merchants_are_managed_and_test_payins_made_from_the_dashboard,
    every_page_answers_and_lists_stay_small,
    sessions_sign_in_and_out,
    forms_refuse_missing_tokens_and_other_origins,
    roles_decide_what_each_operator_may_do,
);
