//! One merchant can never see or touch another's objects: every endpoint
//! answers 404 for a foreign id, exactly as for an id that does not exist.

use crate::both_backends;
use crate::helpers::*;
use serde_json::json;

both_backends!(foreign_ids_are_not_found_everywhere);

async fn foreign_ids_are_not_found_everywhere(app: TestApp) {
    let a = app.create_merchant("a@example.com").await;
    let b = app.create_merchant("b@example.com").await;
    app.fund(&a, "RUB", "100.00").await;
    let (_, pi) = app.signed(&a, "/api/v1/payin/create", TestApp::payin_body("iso-1", "10.00")).await;
    let (_, po) = app.signed(&a, "/api/v1/payout/create", TestApp::payout_body("iso-2", "10.00")).await;
    let (pi, po) = (pi["data"]["id"].as_str().unwrap().to_string(), po["data"]["id"].as_str().unwrap().to_string());
    let before = app.snapshot().await;
    let calls = [
        ("/api/v1/payin/get", json!({"id": pi})),
        ("/api/v1/payin/get", json!({"merchant_order_id": "iso-1"})),
        ("/api/v1/payin/cancel", json!({"id": pi})),
        ("/api/v1/sandbox/payin/pay", json!({"id": pi})),
        ("/api/v1/payout/get", json!({"id": po})),
        ("/api/v1/payout/get", json!({"merchant_order_id": "iso-2"})),
        ("/api/v1/payout/cancel", json!({"id": po})),
        ("/api/v1/sandbox/payout/settle", json!({"id": po, "outcome": "success"})),
    ];
    for (path, body) in &calls {
        let foreign = app.signed(&b, path, body.clone()).await;
        assert_error(&foreign, 404, "NOT_FOUND");
        // Indistinguishable from a made-up id.
        let mut fake = body.clone();
        if fake.get("id").is_some() {
            fake["id"] = json!("pi_00000000000000000000000000");
        } else {
            fake["merchant_order_id"] = json!("never-used");
        }
        assert_eq!(app.signed(&b, path, fake).await.1["error"], foreign.1["error"], "{path}");
    }
    for path in ["/api/v1/payin/list", "/api/v1/payout/list", "/api/v1/balance/history"] {
        let (s, body) = app.signed(&b, path, json!({})).await;
        assert_eq!(s, 200);
        assert_eq!(body["data"]["items"], json!([]), "{path} leaks another merchant's data");
    }
    assert_eq!(app.signed(&b, "/api/v1/balance", json!({})).await.1["data"]["balances"], json!([]));
    // B reusing A's order id creates B's own payin: namespaces are per merchant.
    let (s, mine) = app.signed(&b, "/api/v1/payin/create", TestApp::payin_body("iso-1", "99.00")).await;
    assert_eq!(s, 201, "{mine}");
    assert_ne!(mine["data"]["id"], pi.as_str());
    let after = app.snapshot().await;
    assert_eq!(after.iter().find(|(t, _)| t == "payins").unwrap().1, "2");
    assert_eq!(
        before.iter().filter(|(t, _)| t != "payins").collect::<Vec<_>>(),
        after.iter().filter(|(t, _)| t != "payins").collect::<Vec<_>>()
    );
    // A's objects are untouched.
    let (_, still) = app.signed(&a, "/api/v1/payout/get", json!({"id": po})).await;
    assert_eq!(still["data"]["status"], "pending");
}
