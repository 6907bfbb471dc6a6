//! One statistics answer counts one state of the database, even while
//! payments are created, paid and cancelled: on PostgreSQL an hourly
//! series is read on a second connection beside the totals, in the same
//! exported snapshot, and an answer whose series and totals came from two
//! moments would count a payment created or settled in between once in
//! one and not in the other.

use crate::both_backends;
use crate::helpers::*;
use chrono::{SecondsFormat, Utc};
use paygate_store::payments::Kind;
use paygate_store::statistics::StatsScope;
use paygate_store::Backend;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

both_backends!(hourly_series_and_totals_agree_while_writes_go_on, a_forked_reader_sees_the_snapshot_it_was_forked_from,);

const WRITERS: usize = 2;
const PAYINS_PER_WRITER: usize = 45;

async fn hourly_series_and_totals_agree_while_writes_go_on(app: TestApp) {
    let m = app.create_merchant("snapshot@example.com").await;
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (app, m) = (TestApp::detached(&app, &app.base), m.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..PAYINS_PER_WRITER {
                let order = format!("snap-{w}-{i}");
                let (s, b) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&order, "12.34")).await;
                assert_eq!(s, 201, "{b}");
                let id = b["data"]["id"].clone();
                // Paid, cancelled or left pending: settled payments are
                // counted from the rollups, pending ones from their rows.
                let (s, b) = match i % 3 {
                    0 => app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await,
                    1 => app.signed(&m, "/api/v1/payin/cancel", json!({"id": id})).await,
                    _ => (200, Value::Null),
                };
                assert_eq!(s, 200, "{b}");
            }
        }));
    }
    let stop = done.clone();
    let finish = tokio::spawn(async move {
        for w in writers {
            w.await.unwrap();
        }
        stop.store(true, Ordering::SeqCst);
    });

    // A period cut inside hours at both ends, holding every payment made.
    let now = Utc::now();
    let at = |minutes: i64| (now + chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let ask = json!({"date_from": at(-95), "date_to": at(95), "granularity": "hour", "kind": "payin"});
    let mut answers = 0;
    let mut counts_seen = std::collections::BTreeSet::new();
    loop {
        let last = done.load(Ordering::SeqCst);
        let (s, b) = app.signed(&m, "/api/v1/statistics", ask.clone()).await;
        assert_eq!(s, 200, "{b}");
        let count = check_entries_agree(&b["data"]["payin"]);
        counts_seen.insert(count);
        answers += 1;
        if last {
            assert_eq!(count, (WRITERS * PAYINS_PER_WRITER) as i64, "{b}");
            break;
        }
    }
    finish.await.unwrap();
    // The answers were taken while the counts moved, not only after.
    assert!(counts_seen.len() >= 3, "{answers} answers saw counts {counts_seen:?}");
}

/// The same check without timing: a payin committed after the reader's
/// first read and before the fork is invisible to both, and visible to a
/// reader opened afterwards.
async fn a_forked_reader_sees_the_snapshot_it_was_forked_from(app: TestApp) {
    let m = app.create_merchant("fork@example.com").await;
    let create = |order: &'static str| {
        let (app, m) = (&app, &m);
        async move {
            let (s, b) = app.signed(m, "/api/v1/payin/create", TestApp::payin_body(order, "10.00")).await;
            assert_eq!(s, 201, "{b}");
        }
    };
    create("fork-1").await;
    let now = Utc::now().timestamp_micros();
    let day = 86_400_000_000;
    let scope =
        StatsScope { merchant_id: m.id.clone(), mode: "test".into(), from: now - day, to: now + day, currency: None };
    let db = &app.state.db;
    let mut reader = db.statistics_reader().await.unwrap();
    // The first read fixes the snapshot (SQLite's deferred BEGIN included).
    let before = reader.payment_groups(Kind::PayIn, &scope).await.unwrap();
    assert_eq!(before.iter().map(|g| g.count).sum::<i64>(), 1, "{before:?}");
    create("fork-2").await;
    let fork = reader.fork().await.unwrap();
    match app.backend {
        Backend::Postgres => {
            let mut fork = fork.expect("PostgreSQL shares the snapshot with a second connection");
            assert_eq!(fork.payment_groups(Kind::PayIn, &scope).await.unwrap(), before);
        }
        Backend::Sqlite => assert!(fork.is_none(), "SQLite cannot share a snapshot"),
    }
    assert_eq!(reader.payment_groups(Kind::PayIn, &scope).await.unwrap(), before);
    let after = db.statistics_reader().await.unwrap().payment_groups(Kind::PayIn, &scope).await.unwrap();
    assert_eq!(after.iter().map(|g| g.count).sum::<i64>(), 2, "{after:?}");
}

/// Asserts that each entry's series adds up to its totals; returns the
/// payments counted.
fn check_entries_agree(entries: &Value) -> i64 {
    let mut total = 0;
    for e in entries.as_array().expect("payin entries") {
        let series = e["series"].as_array().expect("an hourly series");
        let sum = |field: &str| series.iter().map(|b| b[field].as_i64().unwrap()).sum::<i64>();
        let minor_sum = |field: &str| series.iter().map(|b| minor(&b[field])).sum::<i128>();
        assert_eq!(sum("count"), e["count"].as_i64().unwrap(), "{e}");
        assert_eq!(sum("success_count"), e["by_status"]["success"]["count"].as_i64().unwrap(), "{e}");
        assert_eq!(minor_sum("turnover"), minor(&e["turnover"]), "{e}");
        assert_eq!(minor_sum("fees"), minor(&e["fees"]), "{e}");
        total += e["count"].as_i64().unwrap();
    }
    total
}

/// A decimal string as an integer of its digits (one currency's amounts
/// all have its exponent's digits after the point).
fn minor(text: &Value) -> i128 {
    text.as_str().expect("an amount").replace('.', "").parse().expect("digits")
}
