//! The statistics rollups stay equal to the payments they sum, whatever the
//! write path does to them: creates, sandbox payments for other amounts,
//! cancellations, expiries, payouts settled either way, disputes accepted
//! with restated amounts. A broken rollup is caught by `paygate statistics
//! check` and mended by `paygate statistics rebuild`. Both databases.

use crate::helpers::*;
use crate::spec::dispute_body;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

async fn stats(app: &TestApp, m: &Merchant, from: &str, to: &str) -> Value {
    let body = json!({"date_from": from, "date_to": to, "granularity": "hour"});
    let (s, got) = app.signed(m, "/api/v1/statistics", body).await;
    assert_eq!(s, 200, "{got}");
    got["data"].clone()
}

async fn rollups_follow_every_write_and_the_check_catches_a_broken_one(app: TestApp) {
    let seed: u64 =
        std::env::var("PAYGATE_PROPTEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("rollups seed {seed} (set PAYGATE_PROPTEST_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let m = app.create_merchant("rollups@example.com").await;
    app.fund(&m, "RUB", "100000.00").await;
    let mut payins = Vec::new();
    for i in 0..40 {
        let units = rng.gen_range(10..5000);
        let amount = format!("{units}.{:02}", rng.gen_range(0..100));
        let (s, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("r-{i}"), &amount)).await;
        assert_eq!(s, 201, "{p}");
        let id = p["data"]["id"].as_str().unwrap().to_string();
        match rng.gen_range(0..5) {
            0 => {
                // The payer sends another amount (the sandbox allows up to ten times).
                let paid = format!("{}.00", rng.gen_range(1..units * 10));
                let (s, b) = app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id, "amount": paid})).await;
                assert_eq!(s, 200, "{b}");
            }
            1 => assert_eq!(app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await.0, 200),
            2 => assert_eq!(app.signed(&m, "/api/v1/payin/cancel", json!({"id": id})).await.0, 200),
            3 => {
                sqlx::query("UPDATE payins SET expires_at = 0 WHERE id = $1")
                    .bind(&id)
                    .execute(app.state.db.pool())
                    .await
                    .unwrap();
            }
            _ => {}
        }
        payins.push(id);
    }
    paygate_server::workers::expiry::try_execute_task(&app.state).await.unwrap();
    for i in 0..15 {
        let (s, p) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body(&format!("o-{i}"), "25.00")).await;
        assert_eq!(s, 201, "{p}");
        let id = p["data"]["id"].as_str().unwrap();
        let action = match rng.gen_range(0..3) {
            0 => json!({"id": id, "outcome": "success"}),
            1 => json!({"id": id, "outcome": "failed"}),
            _ => continue,
        };
        assert_eq!(app.signed(&m, "/api/v1/sandbox/payout/settle", action).await.0, 200);
    }
    // Disputes on closed payins, accepted with restated amounts.
    let mut accepted = 0;
    for id in &payins {
        let (_, got) = app.signed(&m, "/api/v1/payin/get", json!({"id": id})).await;
        if got["data"]["status"] == "pending" || accepted >= 6 {
            continue;
        }
        let claim = format!("{}.00", rng.gen_range(5..900));
        let (s, d) = app.signed(&m, "/api/v1/dispute/create", dispute_body(id, &claim)).await;
        if s != 201 {
            continue;
        }
        let dispute = d["data"]["id"].as_str().unwrap();
        let resolved = json!({"resolved_amount": claim});
        let (s, body) = app.admin(Method::POST, &format!("/admin/v1/disputes/{dispute}/accept"), Some(resolved)).await;
        assert_eq!(s, 200, "{body}");
        accepted += 1;
    }
    assert!(accepted > 0, "some disputes were accepted");
    let differences = app.state.db.statistics_differences().await.unwrap();
    assert!(differences.is_empty(), "seed {seed}: {differences:#?}");

    // A period cut inside hours answers the same from the rollups as after
    // a rebuild from the payments alone.
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::minutes(97)).to_rfc3339();
    let to = (now + chrono::Duration::minutes(31)).to_rfc3339();
    let before = stats(&app, &m, &from, &to).await;
    assert!(before["payin"][0]["count"].as_u64() == Some(40), "{before}");

    // Break each level of the rollups in turn: the check names it, and a
    // rebuild mends it. PostgreSQL also keeps the hourly series without
    // statuses (migration 0021).
    let mut tables = vec!["stats_daily", "stats_durations", "stats_durations_32d"];
    if app.state.db.backend() == paygate_store::Backend::Postgres {
        tables.push("stats_series_hourly");
    }
    tables.push("stats_hourly");
    for table in tables {
        sqlx::query(&format!("UPDATE {table} SET n = n + 1 WHERE kind = 'payin'"))
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let differences = app.state.db.statistics_differences().await.unwrap();
        assert!(differences.iter().any(|d| d.starts_with(&format!("{table} "))), "{table}: {differences:#?}");
        if table != "stats_hourly" {
            app.state.db.rebuild_statistics().await.unwrap();
            assert!(app.state.db.statistics_differences().await.unwrap().is_empty());
        }
    }
    // The last one through the CLI.
    let out = crate::cli::paygate(&app).args(["statistics", "check"]).output().await.unwrap();
    assert!(!out.status.success(), "a broken rollup fails the check");
    assert!(String::from_utf8_lossy(&out.stdout).contains("payments"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = crate::cli::paygate(&app).args(["statistics", "rebuild"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(app.state.db.statistics_differences().await.unwrap().is_empty());
    assert_eq!(stats(&app, &m, &from, &to).await, before, "the rebuilt rollups answer the same");
    app.assert_ledger_ok().await;
}

crate::both_backends!(rollups_follow_every_write_and_the_check_catches_a_broken_one);
