//! The `paygate` binary as an operator uses it: `migrate`, `merchant …` and
//! `serve`, in subprocesses. The serve test doubles as the log audit: with
//! debug logging on, no secret may reach the output.

use crate::both_backends;
use crate::helpers::*;
use serde_json::Value;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

both_backends!(
    merchant_commands_print_json,
    operator_commands_issue_working_credentials,
    served_binary_accepts_python_and_never_logs_secrets,
    an_edited_migration_stops_the_start
);

pub(crate) fn paygate(app: &TestApp) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_paygate"));
    cmd.env("PAYGATE_DATABASE_URL", &app.db_url).env("PAYGATE_ALLOW_PRIVATE_CALLBACKS", "true");
    if app.backend == paygate_store::Backend::Postgres {
        cmd.env("PAYGATE_MASTER_KEY", hex::encode([7u8; 32]));
    }
    cmd.kill_on_drop(true);
    cmd
}

async fn run_json(app: &TestApp, args: &[&str]) -> Vec<Value> {
    let out = paygate(app).args(args).output().await.unwrap();
    assert!(out.status.success(), "paygate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).expect(l)).collect()
}

async fn merchant_commands_print_json(app: TestApp) {
    let migrated = run_json(&app, &["migrate"]).await;
    assert_eq!(migrated[0]["applied"], serde_json::json!([]), "the app already migrated");
    let created = run_json(&app, &["merchant", "create", "--email", "cli@example.com", "--name", "CLI shop"]).await;
    assert_eq!(created.len(), 1, "one JSON object");
    let m = &created[0];
    for field in ["id", "email", "public_token", "secret_token"] {
        assert!(m[field].is_string(), "{field} in {m}");
    }
    assert_eq!(m["email"], "cli@example.com");
    assert_eq!(m["mode"], "test");
    // The in-process server sees the merchant the CLI made, and its secret works.
    let merchant = Merchant::from_json(m);
    assert_eq!(app.signed(&merchant, "/api/v1/balance", serde_json::json!({})).await.0, 200);

    let listed = run_json(&app, &["merchant", "list"]).await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("secret_token").is_none());

    let rotated = run_json(&app, &["merchant", "rotate-secret", m["id"].as_str().unwrap()]).await;
    let new_secret = rotated[0]["secret_token"].as_str().unwrap();
    assert_ne!(new_secret, m["secret_token"].as_str().unwrap());
    let renewed = Merchant { secret: new_secret.into(), ..merchant.clone() };
    assert_eq!(app.signed(&renewed, "/api/v1/balance", serde_json::json!({})).await.0, 200);

    // A mistyped id is named in the error, with where to find the right one.
    for cmd in ["rotate-secret", "disable", "enable"] {
        let out = paygate(&app).args(["merchant", cmd, "mch_nope"]).output().await.unwrap();
        assert!(!out.status.success(), "{cmd} of an unknown merchant fails");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("merchant \"mch_nope\" not found") && stderr.contains("merchant list"), "{stderr}");
    }

    let disabled = run_json(&app, &["merchant", "disable", m["id"].as_str().unwrap()]).await;
    assert_eq!(disabled[0]["enabled"], false);
    // Another process changed the merchant: the server's auth cache sees it
    // within auth_cache_ttl_ms (1 s by default), never later.
    let changed = std::time::Instant::now();
    let mut got = app.signed(&renewed, "/api/v1/balance", serde_json::json!({})).await;
    while got.0 == 200 && changed.elapsed() < std::time::Duration::from_millis(1500) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        got = app.signed(&renewed, "/api/v1/balance", serde_json::json!({})).await;
    }
    assert_error(&got, 403, "MERCHANT_DISABLED");

    // The ledger check passes on a healthy ledger and fails on a tampered one.
    app.fund(&renewed, "RUB", "10.00").await;
    let report = run_json_pretty(&app, &["ledger", "check"]).await;
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["checked"].as_i64().unwrap() >= 2);
    sqlx::query("UPDATE accounts SET balance = balance + 1 WHERE is_merchant = 1")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let out = paygate(&app).args(["ledger", "check"]).output().await.unwrap();
    assert!(!out.status.success(), "a tampered ledger must fail the check");
    assert!(String::from_utf8_lossy(&out.stdout).contains("balance_mismatch"));
    sqlx::query("UPDATE accounts SET balance = balance - 1 WHERE is_merchant = 1")
        .execute(app.state.db.pool())
        .await
        .unwrap();

    let bad = paygate(&app).args(["merchant", "create", "--email", "nope", "--name", "x"]).output().await.unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("email"));
}

async fn operator_commands_issue_working_credentials(app: TestApp) {
    let made = run_json(&app, &["operator", "create", "--email", "Ops@Example.com", "--role", "operator"]).await;
    assert_eq!((made[0]["email"].as_str(), made[0]["role"].as_str()), (Some("ops@example.com"), Some("operator")));
    assert!(made[0]["password"].as_str().is_some_and(|p| p.len() >= 12), "{made:?}");
    let key = run_json(&app, &["operator", "api-key", "--email", "ops@example.com"]).await;
    let api_key = key[0]["api_key"].as_str().unwrap();
    assert!(api_key.starts_with("opk_") && key[0]["role"] == "operator", "{key:?}");
    // The in-process server takes the key the CLI issued, with its role.
    let r = app.http.get(app.url("/admin/v1/payins")).bearer_auth(api_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.put(app.url("/admin/v1/rates")).bearer_auth(api_key).json(&serde_json::json!({"rates": []}));
    assert_eq!(r.send().await.unwrap().status(), 403);
    let out = paygate(&app).args(["operator", "api-key", "--email", "nobody@example.com"]).output().await.unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no operator"));
    let out = paygate(&app).args(["operator", "create", "--email", "x@example.com", "--role", "root"]).output();
    let out = out.await.unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--role"));
}

async fn run_json_pretty(app: &TestApp, args: &[&str]) -> Value {
    let out = paygate(app).args(args).output().await.unwrap();
    assert!(out.status.success(), "paygate {args:?}: {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap()
}

const PYTHON_CLIENT: &str = r#"
import hashlib, hmac, sys, time, urllib.request, urllib.error
base, token, secret, email, sig_override = sys.argv[1:6]
ts = str(int(time.time()))
sig = sig_override or hmac.new(secret.encode(), (ts + email).encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(base + "/api/v1/balance", data=b"{}", method="POST", headers={
    "Content-Type": "application/json", "X-App-Token": token, "X-App-Access-Ts": ts, "X-App-Access-Sig": sig})
try:
    with urllib.request.urlopen(req) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
"#;

async fn served_binary_accepts_python_and_never_logs_secrets(app: TestApp) {
    let created = run_json(&app, &["merchant", "create", "--email", "logs@example.com", "--name", "Logs"]).await;
    let m = Merchant::from_json(&created[0]);
    let admin_token = "served-admin-token-abcdefghijkl";
    let mut child = paygate(&app)
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-token", admin_token])
        .env("PAYGATE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = String::new();
    while let Some(line) = stdout.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("paygate listening on ") {
            base = rest.to_string();
            break;
        }
    }
    assert!(!base.is_empty(), "server did not report its address");
    for sig in ["", "deadbeef"] {
        let out = tokio::process::Command::new("python3")
            .args(["-c", PYTHON_CLIENT, &base, &m.public_token, &m.secret, &m.email, sig])
            .output()
            .await
            .unwrap();
        let expected = if sig.is_empty() { "200" } else { "401" };
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected, "{}", String::from_utf8_lossy(&out.stderr));
    }
    let client = reqwest::Client::new();
    let rotated: Value = client
        .post(format!("{base}/admin/v1/merchants/{}/rotate-secret", m.id))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = rotated["data"]["secret_token"].as_str().unwrap().to_string();
    let status =
        client.get(format!("{base}/admin/v1/merchants")).bearer_auth("wrong-token").send().await.unwrap().status();
    assert_eq!(status, 401);

    // SIGTERM: a clean, successful exit.
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(15), child.wait()).await.expect("exits").unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).await.unwrap();
    let mut rest = String::new();
    while let Some(line) = stdout.next_line().await.unwrap() {
        rest.push_str(&line);
    }
    assert!(logs.contains("/api/v1/balance"), "debug logs were captured: {logs}");
    for secret in [m.secret.as_str(), new_secret.as_str(), admin_token] {
        assert!(!logs.contains(secret) && !rest.contains(secret), "a secret reached the output");
    }
}

/// The database keeps the SHA-256 of each migration it applied; a file that
/// differs from it (here: the record changed, as an edited file would make
/// it) stops `migrate` and `serve` with an error that says what to do.
async fn an_edited_migration_stops_the_start(app: TestApp) {
    use sha2::Digest;
    let engine = match app.backend {
        paygate_store::Backend::Sqlite => "sqlite",
        paygate_store::Backend::Postgres => "postgres",
    };
    let file = format!("{}/../paygate-store/migrations/{engine}/0002_ledger.sql", env!("CARGO_MANIFEST_DIR"));
    let expected = hex::encode(sha2::Sha256::digest(std::fs::read(file).unwrap()));
    let checksum_of = |version: i64| {
        sqlx::query_scalar::<_, Option<String>>("SELECT checksum FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_one(app.state.db.pool())
    };
    assert_eq!(checksum_of(2).await.unwrap(), Some(expected.clone()), "recorded when applied");
    // A database migrated before checksums were kept gets them on its next start.
    sqlx::query("UPDATE schema_migrations SET checksum = NULL WHERE version = 2")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    run_json(&app, &["migrate"]).await;
    assert_eq!(checksum_of(2).await.unwrap(), Some(expected));

    sqlx::query("UPDATE schema_migrations SET checksum = 'beforetheedit' WHERE version = 3")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    for args in [&["migrate"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let out = paygate(&app).args(args).output().await.unwrap();
        assert!(!out.status.success(), "{args:?} must refuse an edited migration");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("migration 0003_payments was edited") && stderr.contains("new migration"),
            "{args:?}: {stderr}"
        );
    }
}
