//! Many requests at once on one merchant: the balance can never be
//! overdrawn, and a repeated order id creates exactly one payment.

use crate::both_backends;
use crate::helpers::*;
use crate::spec;
use serde_json::json;
use std::sync::Arc;

both_backends!(
    exactly_the_covered_payouts_succeed,
    concurrent_identical_payins_create_one,
    concurrent_mixed_operations_keep_the_ledger_exact,
    new_and_repeated_payins_in_one_burst_are_told_apart,
    racing_transitions_have_one_winner,
    racing_dispute_resolutions_have_one_winner,
);

async fn exactly_the_covered_payouts_succeed(app: TestApp) {
    let m = app.create_merchant("race@example.com").await;
    // Fee 1% + 0.50: each 10.00 payout holds 10.60; the balance covers exactly 50.
    let (s, _) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/merchants/{}", m.id),
            Some(json!({"fees": {"payout": {"currencies": {"RUB": {"percent": "1", "fixed": "0.50"}}}}})),
        )
        .await;
    assert_eq!(s, 200);
    app.fund(&m, "RUB", "530.00").await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (app, m) = (app.clone(), m.clone());
            tokio::spawn(async move {
                app.signed(&m, "/api/v1/payout/create", TestApp::payout_body(&format!("race-{i}"), "10.00")).await
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let got = t.await.unwrap();
        match got.0 {
            201 => created += 1,
            402 => {
                assert_error(&got, 402, "INSUFFICIENT_FUNDS");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", got.1),
        }
    }
    assert_eq!((created, refused), (50, 150));
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "530.00".into(), "0.00".into()));
    app.assert_ledger_ok().await;
}

async fn concurrent_identical_payins_create_one(app: TestApp) {
    let m = app.create_merchant("dupes@example.com").await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, m) = (app.clone(), m.clone());
            tokio::spawn(async move {
                app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("the-one", "77.70")).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        statuses.push(s);
        ids.insert(body["data"]["id"].as_str().unwrap_or("none").to_string());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 49, "{statuses:?}");
    assert_eq!(ids.len(), 1);
    // And with a different amount at the same time: 409, never a second payin.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, m) = (app.clone(), m.clone());
            let amount = if i % 2 == 0 { "77.70" } else { "77.71" };
            tokio::spawn(async move {
                app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("the-one", amount)).await.0
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), if i % 2 == 0 { 200 } else { 409 });
    }
    let n = app.count("payins").await;
    assert_eq!(n, 1);
}

async fn concurrent_mixed_operations_keep_the_ledger_exact(app: TestApp) {
    let m = app.create_merchant("mixed@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let app = Arc::new(app);
    // Payins paid, payouts created and cancelled, all interleaved.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (app, m) = (app.clone(), m.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    let (_, b) = app
                        .signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("mx-in-{i}"), "3.00"))
                        .await;
                    let (s, _) = app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": b["data"]["id"]})).await;
                    assert_eq!(s, 200);
                } else {
                    let (s, b) = app
                        .signed(&m, "/api/v1/payout/create", TestApp::payout_body(&format!("mx-out-{i}"), "7.00"))
                        .await;
                    if s == 201 && i % 3 == 0 {
                        let (s, _) = app.signed(&m, "/api/v1/payout/cancel", json!({"id": b["data"]["id"]})).await;
                        assert_eq!(s, 200);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Whatever the interleaving: money in = 100 + 20 × 3; held = payouts not cancelled.
    use sqlx::Row;
    let held: i64 =
        sqlx::query("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS s FROM payouts WHERE status = 'pending'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
            .get("s");
    let (available, hold, _) = app.balance(&m, "RUB").await;
    let minor = |t: &str| paygate_core::money::parse_minor(t, 2).unwrap();
    assert_eq!(minor(&hold), held);
    assert_eq!(minor(&available) + minor(&hold), 16000);
    app.assert_ledger_ok().await;
}

/// New orders and repeats of existing ones arrive together, so one write
/// batch holds both: every new order is 201 with a payin of its own, every
/// repeat is 200 with the existing payin, a changed repeat is 409, and
/// nothing is stored twice.
async fn new_and_repeated_payins_in_one_burst_are_told_apart(app: TestApp) {
    let m = app.create_merchant("burst@example.com").await;
    let mut existing = std::collections::HashMap::new();
    for i in 0..40 {
        let (s, b) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("old-{i}"), "5.00")).await;
        assert_eq!(s, 201, "{b}");
        existing.insert(format!("old-{i}"), b["data"]["id"].as_str().unwrap().to_string());
    }
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let (app, m) = (app.clone(), m.clone());
            // new orders, exact repeats and changed repeats, interleaved
            let (order, amount) = match i % 3 {
                0 => (format!("new-{i}"), "5.00"),
                1 => (format!("old-{}", i % 40), "5.00"),
                _ => (format!("old-{}", i % 40), "5.01"),
            };
            tokio::spawn(async move {
                let (s, b) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&order, amount)).await;
                (i, order, s, b["data"]["id"].as_str().map(str::to_string))
            })
        })
        .collect();
    let mut new_ids = std::collections::HashSet::new();
    for t in tasks {
        let (i, order, status, id) = t.await.unwrap();
        match i % 3 {
            0 => {
                assert_eq!(status, 201, "{order}");
                assert!(new_ids.insert(id.unwrap()), "{order}: a payin of its own");
            }
            1 => {
                assert_eq!(status, 200, "{order}");
                assert_eq!(id.as_ref(), existing.get(&order), "{order}: the existing payin");
            }
            _ => assert_eq!(status, 409, "{order}"),
        }
    }
    let n = app.count("payins").await;
    assert_eq!(n, 40 + 40, "40 old and 40 new payins, nothing twice");
}

/// The merchant, the sandbox and the operator move the same payment at the
/// same moment: exactly one of them wins (200), the others are told the
/// payment has moved on (409 INVALID_STATE), the payment ends in the
/// winner's status, and the money follows the winner only.
///
/// Half the payments are a free race. In a free race the sandbox seldom wins
/// (it reads the payment before it submits), so on the other half one mover
/// is given a head start, each mover in turn: every outcome, and so every
/// money path, then occurs at least once.
async fn racing_transitions_have_one_winner(app: TestApp) {
    let m = app.create_merchant("racing@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let app = Arc::new(app);
    let mut payins = Vec::new();
    let mut payouts = Vec::new();
    for i in 0..12 {
        let payin = TestApp::payin_body(&format!("r-in-{i}"), "3.00");
        payins.push(id_of(app.signed(&m, "/api/v1/payin/create", payin).await));
        let payout = TestApp::payout_body(&format!("r-out-{i}"), "2.00");
        payouts.push(id_of(app.signed(&m, "/api/v1/payout/create", payout).await));
    }
    // (who, what it makes of the payment), raced per payment.
    type Mover = (&'static str, &'static str);
    let payin_moves: [Mover; 3] =
        [("merchant cancel", "cancelled"), ("sandbox pay", "success"), ("operator fail", "failed")];
    let payout_moves: [Mover; 3] =
        [("merchant cancel", "cancelled"), ("sandbox settle", "success"), ("operator fail", "failed")];
    let mut tasks = Vec::new();
    for (kind, ids, moves) in [("payin", &payins, payin_moves), ("payout", &payouts, payout_moves)] {
        for (i, id) in ids.iter().enumerate() {
            let staged = i % 2 == 1;
            let first = moves[(i / 2) % 3].0;
            for (who, status) in moves {
                let (app, m, id) = (app.clone(), m.clone(), id.clone());
                let wait = if staged && who != first { 250 } else { 0 };
                tasks.push(tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    let got = match (kind, who) {
                        (_, "merchant cancel") => {
                            app.signed(&m, &format!("/api/v1/{kind}/cancel"), json!({"id": id})).await
                        }
                        ("payin", "sandbox pay") => {
                            app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await
                        }
                        (_, "sandbox settle") => {
                            app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": id, "outcome": "success"}))
                                .await
                        }
                        _ => {
                            let path = format!("/admin/v1/{kind}s/{id}/fail");
                            app.admin(reqwest::Method::POST, &path, Some(json!({"reason": "race"}))).await
                        }
                    };
                    (id, status, got)
                }));
            }
        }
    }
    let winners = winners(tasks).await;
    let mut paid_in = 0;
    let mut paid_out = 0;
    for (kind, ids) in [("payin", &payins), ("payout", &payouts)] {
        let outcomes: std::collections::BTreeSet<&str> = ids.iter().map(|id| winners[id]).collect();
        assert_eq!(outcomes.len(), 3, "every mover won some {kind}: {outcomes:?}");
        for id in ids {
            let won = winners[id];
            let (_, got) = app.signed(&m, &format!("/api/v1/{kind}/get"), json!({"id": id})).await;
            assert_eq!(got["data"]["status"], won, "{kind} {id} ends as its winner made it");
            if won == "success" {
                *(if kind == "payin" { &mut paid_in } else { &mut paid_out }) += 1;
            }
        }
    }
    // 100.00 funded, 3.00 per paid payin, 2.00 per settled payout; nothing held.
    let (available, hold, _) = app.balance(&m, "RUB").await;
    let minor = |t: &str| paygate_core::money::parse_minor(t, 2).unwrap();
    assert_eq!(minor(&hold), 0);
    assert_eq!(minor(&available), 10_000 + 300 * paid_in - 200 * paid_out);
    app.assert_ledger_ok().await;
}

/// The merchant cancels, and the operator accepts and rejects, the same
/// open dispute at once: one of them wins, the others get 409, and nothing
/// stays frozen whoever won.
async fn racing_dispute_resolutions_have_one_winner(app: TestApp) {
    let m = app.create_merchant("racing-disputes@example.com").await;
    let app = Arc::new(app);
    let mut disputes = Vec::new();
    for i in 0..9 {
        let id = id_of(app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("rd-{i}"), "10.00")).await);
        id_of(app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await);
        // Claimed lower than credited: 4.00 of each payin is frozen while open.
        let (s, d) = app.signed(&m, "/api/v1/dispute/create", spec::dispute_body(&id, "6.00")).await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["data"]["frozen_amount"], "4.00");
        disputes.push(d["data"]["id"].as_str().unwrap().to_string());
    }
    let moves = ["cancelled", "accepted", "rejected"];
    let mut tasks = Vec::new();
    for (i, id) in disputes.iter().enumerate() {
        let mut moves = moves;
        moves.rotate_left(i % 3);
        for status in moves {
            let (app, m, id) = (app.clone(), m.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let got = match status {
                    "cancelled" => app.signed(&m, "/api/v1/dispute/cancel", json!({"id": id})).await,
                    "accepted" => {
                        let body = json!({"resolved_amount": "6.00"});
                        app.admin(reqwest::Method::POST, &format!("/admin/v1/disputes/{id}/accept"), Some(body)).await
                    }
                    _ => {
                        let body = json!({"reason": "other"});
                        app.admin(reqwest::Method::POST, &format!("/admin/v1/disputes/{id}/reject"), Some(body)).await
                    }
                };
                (id, status, got)
            }));
        }
    }
    let winners = winners(tasks).await;
    let mut accepted = 0;
    for id in &disputes {
        let won = winners[id];
        let (_, got) = app.signed(&m, "/api/v1/dispute/get", json!({"id": id})).await;
        assert_eq!(got["data"]["status"], won);
        accepted += i64::from(won == "accepted");
    }
    // Nine payins of 10.00; an accepted dispute settles its payin at 6.00.
    let (available, hold, frozen) = app.balance(&m, "RUB").await;
    let minor = |t: &str| paygate_core::money::parse_minor(t, 2).unwrap();
    assert_eq!((minor(&hold), minor(&frozen)), (0, 0));
    assert_eq!(minor(&available), 9 * 1000 - 400 * accepted);
    app.assert_ledger_ok().await;
}

/// One move of a race: the object's id, the status the move makes of it,
/// and the answer.
type Move = (String, &'static str, (u16, serde_json::Value));

/// Collects a race's answers: every object had exactly one winner, which answered 200
/// with that status, and every other move was told 409 INVALID_STATE.
/// Returns each object's winning status.
async fn winners(tasks: Vec<tokio::task::JoinHandle<Move>>) -> std::collections::BTreeMap<String, &'static str> {
    let mut won: std::collections::BTreeMap<String, Vec<&'static str>> = Default::default();
    let mut raced = std::collections::BTreeSet::new();
    for t in tasks {
        let (id, status, (s, body)) = t.await.unwrap();
        raced.insert(id.clone());
        if s == 200 {
            assert_eq!(body["data"]["status"], status, "{id}: {body}");
            won.entry(id).or_default().push(status);
        } else {
            assert_error(&(s, body), 409, "INVALID_STATE");
        }
    }
    raced
        .into_iter()
        .map(|id| {
            let w = won.remove(&id).unwrap_or_default();
            assert_eq!(w.len(), 1, "{id} had one winner: {w:?}");
            (id, w[0])
        })
        .collect()
}
