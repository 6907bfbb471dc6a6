//! PostgreSQL only: the writer keeps its connection between batches, so it
//! must notice when the server drops it (a restart, a failover, an idle kill)
//! and carry on with a fresh one, without failing the requests in flight.
//! SQLite has no server to lose.

use crate::helpers::*;
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
    let killed = kill_writer_sessions(&app).await;
    assert!(killed >= 1, "the writer holds a session between batches");

    // One request alone (a batch of one) and then a concurrent burst: every
    // one is created, none answered 5xx.
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("after-alone", "2.00")).await;
    assert_eq!(s, 201, "{body}");
    kill_writer_sessions(&app).await;
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

/// Terminates the gateway writer's sessions on the test database; returns
/// how many there were.
async fn kill_writer_sessions(app: &TestApp) -> i64 {
    let DbGuard::Postgres { admin_url, name } = &app.guard else { panic!("a PostgreSQL test") };
    let admin = paygate_store::Db::connect(admin_url, 1).await.expect("admin connection");
    let killed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'paygate-writer') AS t",
    )
    .bind(name.as_str())
    .fetch_one(admin.pool())
    .await
    .expect("terminate the writer's sessions");
    admin.close().await;
    killed
}
