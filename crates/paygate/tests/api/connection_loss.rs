//! PostgreSQL only: the writer keeps its connection between batches, so it
//! must notice when the server drops it (a restart, a failover, an idle kill)
//! and carry on with a fresh one, without failing the requests in flight.
//! Pooled connections idle through a restart are replaced before use; one
//! lost while busy answers 503 (retry) once, never 500. A status poll's
//! own connection, lost, is replaced and the statement run again.
//! SQLite has no server to lose.

use crate::helpers::*;
use paygate_store::db::IDLE_CHECK;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_recovers_when_postgres_kills_its_connections() {
    let app = spawn_app(postgres()).await;
    let m = app.create_merchant("dropped@example.com").await;
    for i in 0..3 {
        let (s, body) =
            app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("before-{i}"), "1.00")).await;
        assert_eq!(s, 201, "{body}");
    }
    let killed = kill_sessions(&app, "paygate-writer").await;
    assert!(killed >= 1, "the writer holds a session between batches");

    // One request alone (a batch of one) and then a concurrent burst: every
    // one is created, none answered 5xx.
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("after-alone", "2.00")).await;
    assert_eq!(s, 201, "{body}");
    kill_sessions(&app, "paygate-writer").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, m) = (TestApp::detached(&app, &app.base), m.clone());
        tasks.push(tokio::spawn(async move {
            app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("after-{i}"), "3.00")).await
        }));
    }
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert_eq!(s, 201, "{body}");
    }
    let (s, body) = app.signed(&m, "/api/v1/payin/list", json!({"limit": 100})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 3 + 1 + 20, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_on_lost_connections_answer_503_until_the_pool_has_fresh_ones() {
    let (app, m) = app_with_a_payin("reader@example.com").await;
    let pool_size = app.state.settings.max_db_connections as usize;
    // Connections idle for IDLE_CHECK are checked before use (next test):
    // the first read must come sooner for a lost connection to reach it.
    // On a machine too slow for that, the scenario runs again.
    for attempt in 0..5 {
        let used = warm_the_pool(&app, &m).await;
        lose_the_pool(&app).await;
        let got = read_kept(&app, &m).await;
        if used.elapsed() >= IDLE_CHECK * 8 / 10 {
            eprintln!("attempt {attempt}: the pool sat idle too long to meet a lost connection; again");
            continue;
        }
        assert_error(&got, 503, "UNAVAILABLE");
        let mut unavailable = 1;
        loop {
            let got = read_kept(&app, &m).await;
            if got.0 == 200 {
                assert_eq!(got.1["data"]["merchant_order_id"], "kept");
                return;
            }
            assert_error(&got, 503, "UNAVAILABLE");
            unavailable += 1;
            assert!(unavailable <= pool_size, "each lost connection is replaced after one failure");
        }
    }
    panic!("never read within {IDLE_CHECK:?} of losing the pool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_idle_through_a_restart_are_replaced_before_use() {
    let (app, m) = app_with_a_payin("patient@example.com").await;
    warm_the_pool(&app, &m).await;
    lose_the_pool(&app).await;
    tokio::time::sleep(IDLE_CHECK + std::time::Duration::from_millis(200)).await;
    // Every idle connection is dead, and no request notices: eight at once
    // all answer 200.
    warm_the_pool(&app, &m).await;
}

/// A PostgreSQL app with a merchant and its payin `kept`.
async fn app_with_a_payin(email: &str) -> (TestApp, Merchant) {
    let app = spawn_app(postgres()).await;
    let m = app.create_merchant(email).await;
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("kept", "1.00")).await;
    assert_eq!(s, 201, "{body}");
    (app, m)
}

/// Reads the payin `kept` as the one item of a list page (list pages read
/// on the reads' pool; status polls keep a connection, next test).
async fn read_kept(app: &TestApp, m: &Merchant) -> (u16, serde_json::Value) {
    let (s, mut body) = app.signed(m, "/api/v1/payin/list", json!({"limit": 1})).await;
    if s == 200 {
        body["data"] = body["data"]["items"][0].clone();
    }
    (s, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_poll_whose_kept_connection_was_lost_is_read_again_on_a_fresh_one() {
    let (app, m) = app_with_a_payin("poller@example.com").await;
    let poll = || app.signed(&m, "/api/v1/payin/get", json!({"merchant_order_id": "kept"}));
    assert_eq!(poll().await.0, 200, "the poll keeps its connection");
    assert_eq!(kill_sessions(&app, "paygate-polls").await, 1, "the payin polls keep one connection");
    while count_sessions(&app, "paygate-polls").await > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Its statement fails on the lost connection and runs again on a new one.
    let (s, body) = poll().await;
    assert_eq!((s, body["data"]["merchant_order_id"].as_str()), (200, Some("kept")), "{body}");
}

/// Opens several pooled connections with eight concurrent reads, which must
/// all answer 200; returns when the connections were last used.
async fn warm_the_pool(app: &TestApp, m: &Merchant) -> std::time::Instant {
    let mut reads = Vec::new();
    for _ in 0..8 {
        let (app, m) = (TestApp::detached(app, &app.base), m.clone());
        reads.push(tokio::spawn(async move { read_kept(&app, &m).await }));
    }
    for r in reads {
        let (s, body) = r.await.unwrap();
        assert_eq!(s, 200, "{body}");
    }
    std::time::Instant::now()
}

/// Has the server end the sessions of the shared pool and of the reads'
/// pool (list pages read there), and waits until they are gone
/// (`pg_terminate_backend` only signals them).
async fn lose_the_pool(app: &TestApp) {
    for name in ["paygate", "paygate-reads"] {
        assert!(kill_sessions(app, name).await >= 1, "the pool of {name} holds idle sessions");
    }
    for name in ["paygate", "paygate-reads"] {
        while count_sessions(app, name).await > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// How many of the gateway's sessions named `application_name` are open.
async fn count_sessions(app: &TestApp, application_name: &str) -> i64 {
    count_on_server(
        app,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
        application_name,
    )
    .await
}

/// Terminates the gateway's sessions named `application_name` (the writer's,
/// a pool's, the status polls') on the test database; returns how many
/// there were.
async fn kill_sessions(app: &TestApp, application_name: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
               WHERE datname = $1 AND application_name = $2) AS t";
    count_on_server(app, sql, application_name).await
}

/// Runs a `COUNT(*)` query over the test database's sessions from an
/// admin connection of its own, binding the database and application names.
async fn count_on_server(app: &TestApp, sql: &str, application_name: &str) -> i64 {
    let DbGuard::Postgres { admin_url, name } = &app.guard else { panic!("a PostgreSQL test") };
    let admin = paygate_store::Db::connect(admin_url, 1).await.expect("admin connection");
    let n: i64 = sqlx::query_scalar(sql)
        .bind(name.as_str())
        .bind(application_name)
        .fetch_one(admin.pool())
        .await
        .expect("query the server's sessions");
    admin.close().await;
    n
}

/// A writer session that stops answering without closing its socket (a
/// frozen server, a failover behind a NAT) must not hold the writer: a batch
/// that outlives the request timeout gives its connection up, and the next
/// batch goes on a fresh one. The server process behind the writer's sessions is
/// stopped with SIGSTOP, which keeps its socket open and silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_gives_up_a_session_that_stops_answering() {
    let app = spawn_app(postgres().with(|s| s.request_timeout_secs = 3)).await;
    let m = app.create_merchant("frozen@example.com").await;
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("before", "1.00")).await;
    assert_eq!(s, 201, "{body}");
    let frozen = Stopped::writer_session(&app).await;

    // Caught by the stop: answered 503 at the request timeout, when the
    // writer gives the session up.
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("during", "2.00")).await;
    assert_error(&(s, body), 503, "UNAVAILABLE");
    // The writer is free again: a new payin goes through on a fresh session
    // while the old one is still stopped.
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("after", "3.00")).await;
    assert_eq!(s, 201, "{body}");
    // The caught create was not applied again on the fresh session: a retry
    // creates it. (The stopped session, once it runs again, may still run
    // the statement it was sent; the order id then refuses it.)
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("during", "2.00")).await;
    assert_eq!(s, 201, "{body}");
    drop(frozen);
    let (s, body) = app.signed(&m, "/api/v1/payin/list", json!({"limit": 10})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 3, "{body}");
}

/// A server process stopped with SIGSTOP; it continues when this is dropped.
struct Stopped(i32);

impl Stopped {
    /// Stops the server process of the writer's session that inserted the
    /// last payin: the one its shard keeps between batches.
    async fn writer_session(app: &TestApp) -> Stopped {
        let DbGuard::Postgres { admin_url, name } = &app.guard else { panic!("a PostgreSQL test") };
        let admin = paygate_store::Db::connect(admin_url, 1).await.expect("admin connection");
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'paygate-writer' \
             AND query LIKE 'INSERT INTO payins%' ORDER BY state_change DESC LIMIT 1",
        )
        .bind(name.as_str())
        .fetch_optional(admin.pool())
        .await
        .expect("query the server's sessions");
        admin.close().await;
        let pid = pid.expect("the writer keeps the session of its last batch");
        assert!(signal("-STOP", pid), "kill -STOP {pid}: the tests must be allowed to signal PostgreSQL");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal("-CONT", self.0);
    }
}

/// Sends `kill <which> <pid>`; whether it was delivered.
fn signal(which: &str, pid: i32) -> bool {
    std::process::Command::new("kill").arg(which).arg(pid.to_string()).status().is_ok_and(|s| s.success())
}
