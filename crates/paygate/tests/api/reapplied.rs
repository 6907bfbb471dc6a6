//! When its connection fails, the writer applies the whole batch once more on
//! a fresh one, and a connection can fail after the database committed but
//! before it said so. A create applied a second time, with the same fresh
//! id, must then find what it created: answered as a success, stored once,
//! and no money held twice.

use crate::both_backends;
use crate::helpers::*;
use paygate_store::writer::{Command, Outcome};

both_backends!(a_reapplied_payin_create_finds_its_payin, a_reapplied_payout_create_finds_its_payout);

async fn a_reapplied_payin_create_finds_its_payin(app: TestApp) {
    let m = app.create_merchant("again-in@example.com").await;
    let (s, b) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("twice", "7.00")).await;
    assert_eq!(s, 201, "{b}");
    let id = b["data"]["id"].as_str().unwrap();
    let row = app.state.db.payin(None, Some(id), None).await.unwrap().unwrap();

    match app.state.writer.submit(Command::CreatePayIn(Box::new(row.clone()))).await {
        Ok(Outcome::PayIn { row: found, .. }) => assert_eq!(*found, row),
        other => panic!("a re-applied create must find its payin, got {other:?}"),
    }
    assert_eq!(app.count("payins").await, 1);
}

async fn a_reapplied_payout_create_finds_its_payout(app: TestApp) {
    let m = app.create_merchant("again-out@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let (s, b) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("twice", "30.00")).await;
    assert_eq!(s, 201, "{b}");
    let id = b["data"]["id"].as_str().unwrap();
    let row = app.state.db.payout(None, Some(id), None).await.unwrap().unwrap();
    let before = app.balance(&m, "RUB").await;

    match app.state.writer.submit(Command::CreatePayOut(Box::new(row.clone()))).await {
        Ok(Outcome::PayOut { row: found, .. }) => assert_eq!(found.id, row.id),
        other => panic!("a re-applied create must find its payout, got {other:?}"),
    }
    assert_eq!(app.count("payouts").await, 1);
    assert_eq!(app.balance(&m, "RUB").await, before, "the amount is held once");
    app.assert_ledger_ok().await;
}
