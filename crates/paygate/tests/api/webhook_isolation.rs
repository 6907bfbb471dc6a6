//! One slow receiver does not hold up anyone else's webhooks: while an
//! attempt to a receiver that never answers waits out its timeout, another
//! merchant's events are delivered at once; and a host gets at most
//! `webhook_host_concurrency` attempts at once, its other events put back
//! without counting as attempts. Both databases.

use crate::helpers::*;
use crate::receiver::Receiver;
use crate::upstream_support::{BadUpstream, Misbehaviour};
use serde_json::json;
use std::time::{Duration, Instant};

/// A payin created and cancelled: one `payin.cancelled` event.
async fn cancelled_payin(app: &TestApp, m: &Merchant, order: &str) {
    let (s, p) = app.signed(m, "/api/v1/payin/create", TestApp::payin_body(order, "10.00")).await;
    assert_eq!(s, 201, "{p}");
    let (s, c) = app.signed(m, "/api/v1/payin/cancel", json!({"id": p["data"]["id"]})).await;
    assert_eq!(s, 200, "{c}");
}

async fn a_slow_receiver_does_not_delay_other_merchants(app: TestApp) {
    let app = crate::webhooks::fast(app, true).await;
    let slow = app.create_merchant("slow@example.com").await;
    let hanging = BadUpstream::start(Misbehaviour::Hangs).await;
    let (s, set) =
        app.signed(&slow, "/api/v1/webhook/settings", json!({"webhook_url": format!("{}/hook", hanging.base)})).await;
    assert_eq!(s, 200, "{set}");
    let quick = app.create_merchant("quick@example.com").await;
    let rx = Receiver::start(&quick.secret, "").await;
    app.signed(&quick, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;

    // The slow merchant's events are out first, and their attempts hang.
    for i in 0..3 {
        cancelled_payin(&app, &slow, &format!("slow-{i}")).await;
    }
    let hung = crate::upstream_support::eventually(5, || async { hanging.hits() >= 3 }).await;
    assert!(hung, "the slow receiver got its attempts: {}", hanging.hits());
    // Meanwhile the other merchant's event arrives at once, not after the
    // slow ones' timeout (10 s).
    let sent = Instant::now();
    cancelled_payin(&app, &quick, "quick-1").await;
    let got = rx.wait_for(1, Duration::from_secs(8)).await;
    assert_eq!(got.len(), 1, "delivered while the slow attempts hang");
    assert!(got[0]["valid"] == true && got[0]["event_type"] == "payin.cancelled", "{got:?}");
    assert!(sent.elapsed() < Duration::from_secs(5), "took {:?}", sent.elapsed());
}

async fn a_host_gets_at_most_its_share_of_attempts(app: TestApp) {
    let app = app
        .restart_with(|s| {
            s.webhook_retry_schedule_secs = vec![1, 1, 1];
            s.webhook_poll_ms = 50;
            s.allow_private_callbacks = true;
            s.webhook_host_concurrency = 2;
        })
        .await;
    let slow = app.create_merchant("busy-host@example.com").await;
    let hanging = BadUpstream::start(Misbehaviour::Hangs).await;
    app.signed(&slow, "/api/v1/webhook/settings", json!({"webhook_url": format!("{}/hook", hanging.base)})).await;
    for i in 0..6 {
        cancelled_payin(&app, &slow, &format!("busy-{i}")).await;
    }
    let two = crate::upstream_support::eventually(5, || async { hanging.hits() >= 2 }).await;
    assert!(two, "the host got its two attempts: {}", hanging.hits());
    // Its other four events are claimed and put back every second meanwhile:
    // none reaches the host, and none counts as an attempt.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hanging.hits(), 2, "more attempts at once than webhook_host_concurrency");
    let counted: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM events WHERE merchant_id = $1")
            .bind(&slow.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(counted, 0, "deferred events were counted as attempts");
    // Another host is not limited by this one.
    let quick = app.create_merchant("free-host@example.com").await;
    let rx = Receiver::start(&quick.secret, "").await;
    app.signed(&quick, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    cancelled_payin(&app, &quick, "free-1").await;
    assert_eq!(rx.wait_for(1, Duration::from_secs(8)).await.len(), 1);
}

crate::both_backends!(a_slow_receiver_does_not_delay_other_merchants, a_host_gets_at_most_its_share_of_attempts);
