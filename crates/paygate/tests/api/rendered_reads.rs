//! Payin and payout polls are answered from bodies rendered once per
//! version of the payment (`paygate_server::reads::rendered`). A kept body
//! must never outlive its version: every kind of change, made through
//! another node on the same database or by hand in SQL, shows in this
//! node's next poll; and a kept body is the payment as a fresh render shows
//! it (a list page).

use crate::both_backends;
use crate::dispute_support::{dispute_body, PDF};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(a_kept_body_never_outlives_a_change_made_on_another_node);

async fn get(app: &TestApp, m: &Merchant, path: &str, id: &str) -> Value {
    let (s, body) = app.signed(m, path, json!({"id": id})).await;
    assert_eq!(s, 200, "{body}");
    body["data"].clone()
}

async fn a_kept_body_never_outlives_a_change_made_on_another_node(app: TestApp) {
    let m = app.create_merchant("versions@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let payin = id_of(app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("v-in", "10.00")).await);
    let payout = id_of(app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("v-out", "1.00")).await);
    let (mut node, base) = start_server(&app, &[]).await;
    let other = TestApp::detached(&app, &base);

    // Polled twice here: the second answer is the kept body, and it is
    // what a fresh render of the row gives (the list page renders anew).
    let first = get(&app, &m, "/api/v1/payin/get", &payin).await;
    let kept = get(&app, &m, "/api/v1/payin/get", &payin).await;
    assert_eq!(first, kept);
    assert_eq!(kept["status"], "pending");
    let (s, page) = app.signed(&m, "/api/v1/payin/list", json!({"limit": 20})).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["data"]["items"][0], kept, "a kept body is the row as rendered now");

    // A status change made on the other node.
    let (s, body) =
        other.admin(Method::POST, &format!("/admin/v1/payins/{payin}/fail"), Some(json!({"reason": "declined"}))).await;
    assert_eq!(s, 200, "{body}");
    let failed = get(&app, &m, "/api/v1/payin/get", &payin).await;
    assert_eq!((failed["status"].as_str(), failed["failure_reason"].as_str()), (Some("failed"), Some("declined")));
    assert_eq!(failed["has_open_dispute"], false);

    // A change that leaves the status alone: a dispute opened there.
    let (s, body) = other.signed(&m, "/api/v1/dispute/create", dispute_body(&payin, "10.00", PDF)).await;
    assert_eq!(s, 201, "{body}");
    let disputed = get(&app, &m, "/api/v1/payin/get", &payin).await;
    assert_eq!((disputed["status"].as_str(), disputed["has_open_dispute"].as_bool()), (Some("failed"), Some(true)));

    // An UPDATE that does not raise the version itself (a node on an older
    // build, an operator's SQL): the database raises it.
    let by_hand = "UPDATE payins SET failure_reason = 'corrected by hand' WHERE id = $1";
    sqlx::query(by_hand).bind(&payin).execute(app.state.db.pool()).await.unwrap();
    let corrected = get(&app, &m, "/api/v1/payin/get", &payin).await;
    assert_eq!(corrected["failure_reason"], "corrected by hand");

    // The same for a payout, looked up by its order id as well.
    assert_eq!(get(&app, &m, "/api/v1/payout/get", &payout).await["status"], "pending");
    let (s, body) =
        other.admin(Method::POST, &format!("/admin/v1/payouts/{payout}/fail"), Some(json!({"reason": "closed"}))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(get(&app, &m, "/api/v1/payout/get", &payout).await["status"], "failed");
    let (s, by_order) = app.signed(&m, "/api/v1/payout/get", json!({"merchant_order_id": "v-out"})).await;
    assert_eq!((s, by_order["data"]["status"].as_str()), (200, Some("failed")), "{by_order}");
    kill_hard(&mut node).await;
}
