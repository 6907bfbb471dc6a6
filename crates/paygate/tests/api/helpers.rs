//! `spawn_app()` and friends: each test gets its own database (a SQLite
//! file in a temporary directory, or a new PostgreSQL database that is
//! dropped afterwards) and its own server on an ephemeral loopback port.

#![allow(dead_code)]

use paygate_server::config::Settings;
use paygate_server::state::AppState;
use paygate_store::merchants::{NewMerchant, Sealed};
use paygate_store::Backend;
use secrecy::SecretString;
use serde_json::Value;

pub use crate::databases::*;
pub use crate::signing::*;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Generates `mod NAME { sqlite(); postgres() }` running `NAME(app)` on each
/// backend, so no test can forget one of them.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::spawn_app($crate::helpers::sqlite()).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::spawn_app($crate::helpers::postgres()).await).await;
            }
        }
    )*};
}

/// Adjusts settings before the app starts.
pub type SettingsTweak = Box<dyn FnOnce(&mut Settings) + Send>;

/// Which database, and how to adjust settings before the app starts.
pub struct AppSpec {
    pub backend: Backend,
    pub tweak: Option<SettingsTweak>,
}

pub fn sqlite() -> AppSpec {
    AppSpec { backend: Backend::Sqlite, tweak: None }
}

pub fn postgres() -> AppSpec {
    AppSpec { backend: Backend::Postgres, tweak: None }
}

impl AppSpec {
    pub fn with(mut self, f: impl FnOnce(&mut Settings) + Send + 'static) -> Self {
        self.tweak = Some(Box::new(f));
        self
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub backend: Backend,
    pub db_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub guard: DbGuard,
}

pub async fn spawn_app(spec: AppSpec) -> TestApp {
    let (guard, url) = DbGuard::create(spec.backend).await;
    let mut settings = Settings::for_database(&url);
    let db_url = url.clone();
    settings.admin_token = Some(SecretString::from(ADMIN_TOKEN.to_string()));
    settings.allow_private_callbacks = true;
    if spec.backend == Backend::Postgres {
        settings.master_key = Some(SecretString::from(hex::encode([7u8; 32])));
    }
    if let Some(tweak) = spec.tweak {
        tweak(&mut settings);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    settings.public_url.get_or_insert_with(|| base.clone());
    let (state, _) = AppState::build(settings).await.expect("app state");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(paygate_server::startup::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        state,
        backend: spec.backend,
        db_url,
        shutdown: Some(tx),
        server: Some(server),
        guard,
    }
}

impl TestApp {
    /// A handle sharing this app's state and database but owning nothing:
    /// for talking to another server process on the same database.
    pub fn detached(app: &TestApp, base: &str) -> TestApp {
        TestApp {
            base: base.to_string(),
            http: app.http.clone(),
            state: app.state.clone(),
            backend: app.backend,
            db_url: app.db_url.clone(),
            shutdown: None,
            server: None,
            guard: DbGuard::None,
        }
    }

    /// Stops this app and starts a fresh one on the same kind of database
    /// with adjusted settings.
    pub async fn restart_with(mut self, tweak: impl FnOnce(&mut Settings) + Send + 'static) -> TestApp {
        self.stop().await;
        let spec = AppSpec { backend: self.backend, tweak: Some(Box::new(tweak)) };
        spawn_app(spec).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    /// Creates a merchant through the admin API.
    pub async fn create_merchant(&self, email: &str) -> Merchant {
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                "/admin/v1/merchants",
                Some(serde_json::json!({"email": email, "name": "Test shop"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        Merchant::from_json(&body["data"])
    }

    /// Inserts a merchant with a chosen secret (for the published vectors,
    /// whose secrets we cannot make the API generate).
    pub async fn insert_merchant_with_secret(&self, email: &str, secret: &str) -> Merchant {
        let id = paygate_core::ids::new_id(paygate_core::ids::IdKind::Merchant);
        let public_token = paygate_core::tokens::new_public_token(paygate_core::tokens::Mode::Test);
        let sealed = Sealed(self.state.master_key.seal(&id, secret));
        self.state
            .db
            .insert_merchant(NewMerchant {
                id: id.clone(),
                email: email.into(),
                name: "Vector shop".into(),
                mode: paygate_core::tokens::Mode::Test,
                public_token: public_token.clone(),
                secret: sealed,
            })
            .await
            .unwrap();
        Merchant { id, email: email.into(), public_token, secret: secret.into() }
    }

    /// A signed merchant call, signed as the documentation says.
    pub async fn signed(&self, m: &Merchant, path: &str, body: Value) -> (u16, Value) {
        let ts = now_secs().to_string();
        let sig = sign(&m.secret, &ts, &m.email);
        let req = self.http.post(self.url(path)).headers(auth_headers(&m.public_token, &ts, &sig)).json(&body);
        read(req.send().await.unwrap()).await
    }

    /// A merchant call with explicit header values (for the error cases).
    pub async fn post_with_headers(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).header("content-type", "application/json").body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.unwrap()).await
    }

    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(&format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"))
            .fetch_one(self.state.db.pool())
            .await
            .unwrap()
            .get("n")
    }

    /// Row counts of every table, the latest in-place change of payments,
    /// disputes and requisites, the money on all accounts, and a digest of
    /// the merchants' rows: two equal snapshots mean a request changed nothing.
    pub async fn snapshot(&self) -> Vec<(String, String)> {
        use sqlx::Row;
        let mut out = Vec::new();
        for table in [
            "merchants",
            "accounts",
            "ledger_entries",
            "payins",
            "payouts",
            "events",
            "requisites",
            "adjustments",
            "disputes",
            "dispute_receipts",
            "partners",
            "exchange_orders",
        ] {
            out.push((table.to_string(), self.count(table).await.to_string()));
        }
        // Rows changed in place: the latest change of each kind of object,
        // and every account's balance.
        for (what, sql) in [
            ("payins changed", "SELECT CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM payins"),
            ("payouts changed", "SELECT CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM payouts"),
            ("disputes changed", "SELECT CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM disputes"),
            ("requisites changed", "SELECT CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM requisites"),
            ("exchange orders changed", "SELECT CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM exchange_orders"),
        ] {
            let v: i64 = sqlx::query_scalar(sql).fetch_one(self.state.db.pool()).await.unwrap();
            out.push((what.to_string(), v.to_string()));
        }
        let balances = sqlx::query("SELECT id, balance FROM accounts ORDER BY id").fetch_all(self.state.db.pool());
        for r in balances.await.unwrap() {
            out.push((r.get::<String, _>("id"), r.get::<i64, _>("balance").to_string()));
        }
        let rows = sqlx::query(
            "SELECT id, enabled, secret_sealed, COALESCE(webhook_url, '') AS w, ip_allowlist, fees, limits, \
             COALESCE(rate_limit_per_second, -1) AS rate, updated_at FROM merchants ORDER BY id",
        )
        .fetch_all(self.state.db.pool())
        .await
        .unwrap();
        for r in rows {
            let id: String = r.get("id");
            let enabled: i64 = r.get("enabled");
            let sealed: String = r.get("secret_sealed");
            let w: String = r.get("w");
            let allow: String = r.get("ip_allowlist");
            let fees: String = r.get("fees");
            let limits: String = r.get("limits");
            let rate: i64 = r.get("rate");
            let updated: i64 = r.get("updated_at");
            out.push((id, format!("{enabled}|{sealed}|{w}|{allow}|{fees}|{limits}|{rate}|{updated}")));
        }
        out
    }
}

impl TestApp {
    /// Credits `amount` to the merchant's available balance (admin adjust).
    pub async fn fund(&self, m: &Merchant, currency: &str, amount: &str) {
        let (s, body) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/v1/balances/{}/adjust", m.id),
                Some(serde_json::json!({"currency": currency, "amount": amount, "reason": "test funding"})),
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }

    /// (available, hold, frozen) as decimal strings; zeros when the currency is unused.
    pub async fn balance(&self, m: &Merchant, currency: &str) -> (String, String, String) {
        let (s, body) = self.signed(m, "/api/v1/balance", serde_json::json!({"currency": currency})).await;
        assert_eq!(s, 200, "{body}");
        match body["data"]["balances"].as_array().unwrap().first() {
            Some(b) => {
                let total = b["total"].as_str().unwrap().to_string();
                let (a, h, f) = (
                    b["available"].as_str().unwrap().to_string(),
                    b["hold"].as_str().unwrap().to_string(),
                    b["frozen"].as_str().unwrap().to_string(),
                );
                let minor = |t: &str| paygate_core::money::parse_minor(t, 2).unwrap();
                assert_eq!(minor(&total), minor(&a) + minor(&h) + minor(&f), "total = available + hold + frozen");
                (a, h, f)
            }
            None => ("0.00".into(), "0.00".into(), "0.00".into()),
        }
    }

    /// A payin request body with sensible defaults.
    pub fn payin_body(order: &str, amount: &str) -> Value {
        serde_json::json!({"merchant_order_id": order, "amount": amount, "currency": "RUB", "method": "card", "customer_id": "cust-1"})
    }

    /// A card payout request body.
    pub fn payout_body(order: &str, amount: &str) -> Value {
        serde_json::json!({"merchant_order_id": order, "amount": amount, "currency": "RUB", "method": "card",
                           "destination": {"card_number": "4111111111111111"}})
    }

    /// The admin ledger check must find nothing wrong.
    pub async fn assert_ledger_ok(&self) {
        let (s, body) = self.admin(reqwest::Method::GET, "/admin/v1/ledger/check", None).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["data"]["ok"], true, "ledger check: {body}");
        assert_eq!(body["data"]["differences"], serde_json::json!([]));
    }
}

pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

#[derive(Clone, Debug)]
pub struct Merchant {
    pub id: String,
    pub email: String,
    pub public_token: String,
    pub secret: String,
}

impl Merchant {
    pub fn from_json(v: &Value) -> Merchant {
        Merchant {
            id: v["id"].as_str().unwrap().into(),
            email: v["email"].as_str().unwrap().into(),
            public_token: v["public_token"].as_str().unwrap().into(),
            secret: v["secret_token"].as_str().unwrap().into(),
        }
    }
}

/// Asserts the documented error envelope with `status` and `code`.
/// The id in a 200 or 201 answer.
pub fn id_of((status, body): (u16, Value)) -> String {
    assert!(status == 200 || status == 201, "{status} {body}");
    body["data"]["id"].as_str().expect("an id").to_string()
}

pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "body: {}", got.1);
    assert_eq!(got.1["success"], Value::Bool(false), "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
}

/// Starts the `paygate` binary on `app`'s database with `extra` arguments
/// (e.g. `--config FILE`); returns the child and its base URL.
pub async fn start_server(app: &TestApp, extra: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_paygate"));
    cmd.env("PAYGATE_DATABASE_URL", &app.db_url).env("PAYGATE_LOG", "warn").kill_on_drop(true);
    if app.backend == Backend::Postgres {
        cmd.env("PAYGATE_MASTER_KEY", hex::encode([7u8; 32]));
    }
    let mut child = cmd
        .args(extra)
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-token", ADMIN_TOKEN])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(base) = line.strip_prefix("paygate listening on ") {
            return (child, base.to_string());
        }
    }
    panic!("server did not start");
}

/// SIGKILL: no shutdown handler runs.
pub async fn kill_hard(child: &mut tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    let _ = child.wait().await;
}
