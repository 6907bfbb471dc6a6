//! A 2xx means durable: payments acknowledged by a server that is then
//! killed with SIGKILL are all there after a restart, with the ledger intact,
//! and pending payins still expire on time afterwards.

use crate::both_backends;
use crate::helpers::*;
use serde_json::json;

both_backends!(acknowledged_payments_survive_sigkill);

async fn acknowledged_payments_survive_sigkill(mut app: TestApp) {
    let m = app.create_merchant("durable@example.com").await;
    app.fund(&m, "RUB", "1000.00").await;
    app.stop().await;
    let (mut child, base) = start_server(&app, &[]).await;
    let remote = TestApp::detached(&app, &base);
    let mut acked = Vec::new();
    // Acknowledged for certain before the kill…
    for i in 0..10 {
        let (s, body) =
            remote.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("sure-{i}"), "1.00")).await;
        assert_eq!(s, 201, "{body}");
        acked.push(("/api/v1/payin/create", body["data"]["id"].as_str().unwrap().to_string()));
    }
    let (s, body) = remote.signed(&m, "/api/v1/payout/create", TestApp::payout_body("sure-po", "100.00")).await;
    assert_eq!(s, 201, "{body}");
    acked.push(("/api/v1/payout/create", body["data"]["id"].as_str().unwrap().to_string()));
    // …and a burst that the kill interrupts.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, m, base) = (remote.http.clone(), m.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let ts = now_secs().to_string();
            let path = if i % 2 == 0 { "/api/v1/payin/create" } else { "/api/v1/payout/create" };
            let body = if i % 2 == 0 {
                TestApp::payin_body(&format!("k-{i}"), "5.00")
            } else {
                TestApp::payout_body(&format!("k-{i}"), "5.00")
            };
            let resp = client
                .post(format!("{base}{path}"))
                .headers(auth_headers(&m.public_token, &ts, &sign(&m.secret, &ts, &m.email)))
                .json(&body)
                .send()
                .await;
            match resp {
                Ok(r) if r.status().is_success() => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .map(|v| (path, v["data"]["id"].as_str().unwrap().to_string())),
                _ => None,
            }
        }));
    }
    // Kill while some requests may still be in flight.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    kill_hard(&mut child).await;
    for t in tasks {
        if let Some(x) = t.await.unwrap() {
            acked.push(x);
        }
    }
    let (mut child, base) = start_server(&app, &[]).await;
    let remote = TestApp::detached(&app, &base);
    for (path, id) in &acked {
        let get = if path.contains("payin") { "/api/v1/payin/get" } else { "/api/v1/payout/get" };
        let (s, body) = remote.signed(&m, get, json!({"id": id})).await;
        assert_eq!(s, 200, "acknowledged {id} lost after SIGKILL: {body}");
    }
    assert!(acked.len() >= 11);
    let (_, bal) = remote.signed(&m, "/api/v1/balance", json!({"currency": "RUB"})).await;
    let hold = paygate_core::money::parse_minor(bal["data"]["balances"][0]["hold"].as_str().unwrap(), 2).unwrap();
    assert!(hold >= 10000, "the acknowledged payout's hold survived: {bal}");
    // Holds equal the acknowledged-or-not payouts that exist: the ledger is consistent.
    let (s, check) = remote.admin(reqwest::Method::GET, "/admin/v1/ledger/check", None).await;
    assert_eq!(s, 200);
    assert_eq!(check["data"]["ok"], true, "{check}");
    let _ = child.kill().await;
}
