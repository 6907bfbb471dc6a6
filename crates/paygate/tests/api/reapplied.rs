//! When its connection fails, the writer applies the whole batch once more on
//! a fresh one, and a connection can fail after the database committed but
//! before it said so. A create applied a second time, with the same fresh
//! id, must then find what it created: answered as a success, stored once,
//! and no money held twice.

use crate::both_backends;
use crate::helpers::*;
use paygate_server::state::AppState;
use paygate_store::writer::Writer;

both_backends!(a_reapplied_payin_create_finds_its_payin, a_reapplied_payout_create_finds_its_payout);

/// The app's own writer, which remembers the order ids it created lately,
/// and a writer that never saw them (as after a restart), whose re-applied
/// insert meets the row's primary key instead.
async fn writers(app: &TestApp) -> [Writer; 2] {
    let (fresh, _) = AppState::build(app.state.settings.clone()).await.expect("a second app state");
    [app.state.writer.clone(), fresh.writer.clone()]
}

async fn a_reapplied_payin_create_finds_its_payin(app: TestApp) {
    let m = app.create_merchant("again-in@example.com").await;
    let (s, b) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("twice", "7.00")).await;
    assert_eq!(s, 201, "{b}");
    let id = b["data"]["id"].as_str().unwrap();
    let row = app.state.db.payin(None, Some(id), None).await.unwrap().unwrap();

    for writer in writers(&app).await {
        match writer.create_payin(row.clone()).await {
            // The row is found: by its order id where the writer remembers it
            // (a repeat, created: false), by its primary key where it does
            // not (the autocommit path answers its own id as created).
            Ok(found) => assert_eq!(found.row, row),
            Err(e) => panic!("a re-applied create must find its payin, got {e:?}"),
        }
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

    for writer in writers(&app).await {
        match writer.create_payout(row.clone()).await {
            Ok(found) => assert_eq!(found.row.id, row.id),
            Err(e) => panic!("a re-applied create must find its payout, got {e:?}"),
        }
    }
    assert_eq!(app.count("payouts").await, 1);
    assert_eq!(app.balance(&m, "RUB").await, before, "the amount is held once");
    app.assert_ledger_ok().await;
}
