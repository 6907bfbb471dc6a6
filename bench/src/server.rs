//! The gateway under test: a `paygate serve` child process on a fresh database
//! (a temp SQLite file, or a throw-away PostgreSQL database made with `psql`).
//! The bench never builds it, so what is measured is exactly the release binary.

use crate::cli::Backend;
use anyhow::{bail, Context};
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Migrations run before the listen line is printed; PostgreSQL on a busy box can be slow.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// paygate drains in-flight requests on SIGTERM; ours are all finished by then.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the child printed it.
    pub base: String,
    pub admin_token: String,
    // Declared after `child` so that, on an error path, the child is killed
    // (kill_on_drop) before the database is dropped under it.
    db: Database,
}

impl Gateway {
    pub async fn start(bin: &Path, backend: Backend) -> anyhow::Result<Gateway> {
        let db = Database::create(backend)?;
        let admin_token = random_alnum(32);
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--admin-token", &admin_token]);
        // A PAYGATE_* variable left in the caller's shell (a config file, a
        // listen address, a pool size) would silently change what is measured.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PAYGATE_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("PAYGATE_DATABASE_URL", db.url())
            .env("PAYGATE_ALLOW_PRIVATE_CALLBACKS", "true")
            .env("PAYGATE_LOG", "warn")
            // hot-payout and webhooks drive one merchant at ~10k requests/s,
            // far above the default limit; this keeps the limiter on the
            // path (its cost is measured) without ever refusing.
            .env("PAYGATE_RATE_LIMIT_PER_SECOND", "100000000");
        if backend == Backend::Postgres {
            // With PostgreSQL there is no key file fallback: a key is mandatory.
            let key: [u8; 32] = rand::thread_rng().gen();
            cmd.env("PAYGATE_MASTER_KEY", hex::encode(key));
        }
        // stderr is inherited: with PAYGATE_LOG=warn anything there is worth seeing.
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("cannot run {}", bin.display()))?;

        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let read_address = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("paygate listening on ") {
                    return Ok(Some(rest.trim().to_string()));
                }
            }
            anyhow::Ok(None)
        };
        let base = match tokio::time::timeout(STARTUP_TIMEOUT, read_address).await {
            Ok(Ok(Some(base))) => base,
            Ok(Ok(None)) => {
                let status = child.wait().await?;
                bail!("paygate exited before listening ({status}); its stderr is above")
            }
            Ok(Err(e)) => return Err(e.context("reading paygate's stdout")),
            Err(_) => bail!("paygate did not print its address within {STARTUP_TIMEOUT:?}"),
        };
        // The bench promises to talk to loopback only.
        if !base.starts_with("http://127.0.0.1:") {
            bail!("paygate listens on {base}, expected http://127.0.0.1:PORT");
        }
        // Keep draining stdout so a chatty child can never block on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Gateway { child, base, admin_token, db })
    }

    /// SIGTERM (paygate's graceful shutdown), wait, then drop the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // `kill` the command rather than libc: the crate forbids unsafe code.
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        let outcome = match tokio::time::timeout(SHUTDOWN_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(anyhow::anyhow!("paygate exited with {status} after SIGTERM")),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(anyhow::anyhow!("paygate ignored SIGTERM for {SHUTDOWN_TIMEOUT:?}; killed"))
            }
        };
        drop(self.db);
        outcome
    }

    /// What the gateway was started with (`sqlite://…` or `postgres://…`).
    pub fn database_url(&self) -> &str {
        self.db.url()
    }

    pub fn database_label(&self) -> String {
        self.db.label()
    }
}

/// Where the gateway keeps its data for one run; removed on drop.
enum Database {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
}

impl Database {
    fn create(backend: Backend) -> anyhow::Result<Database> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new().prefix("paygate-bench-").tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(Database::Sqlite { _dir: dir, url })
            }
            Backend::Postgres => {
                let admin_url =
                    std::env::var("PAYGATE_BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
                // Lower-case hex only: the name is spliced into SQL unquoted.
                let name = format!("paygate_bench_{}", hex::encode(rand::thread_rng().gen::<[u8; 6]>()));
                let url = with_database(&admin_url, &name)?;
                psql(&admin_url, &format!("CREATE DATABASE {name}"))
                    .context("creating the bench database (is PostgreSQL running? set PAYGATE_BENCH_POSTGRES_URL)")?;
                Ok(Database::Postgres { admin_url, name, url })
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }

    fn label(&self) -> String {
        match self {
            Database::Sqlite { url, .. } => url.clone(),
            Database::Postgres { name, .. } => format!("postgres database {name}"),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Database::Postgres { admin_url, name, .. } = self {
            // Blocking in Drop is acceptable here: it runs once, at the end of a
            // backend's run, and must also run when a scenario failed.
            if let Err(e) = psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
                eprintln!("paygate-bench: could not drop {name}: {e:#}");
            }
        }
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        // Never hang on an unreachable server, never prompt for a password.
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .context("cannot run psql (install the PostgreSQL client)")?;
    if !out.status.success() {
        bail!("psql -c {sql:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// The admin URL with its database path replaced (query string kept).
fn with_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (head, query) = match admin_url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (admin_url, None),
    };
    let Some(after_scheme) = head.find("://").map(|i| i + 3) else {
        bail!("{admin_url:?} is not a postgres:// URL");
    };
    let authority_end = head[after_scheme..].find('/').map_or(head.len(), |i| after_scheme + i);
    let mut url = format!("{}/{name}", &head[..authority_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

pub fn random_alnum(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// `--paygate-bin`, else target/release/paygate, else a `paygate` beside this
/// binary (which is where cargo puts it when both are built in release).
pub fn locate_binary(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        if !path.is_file() {
            bail!("--paygate-bin {}: no such file", path.display());
        }
        return Ok(path);
    }
    let default = PathBuf::from("target/release/paygate");
    if default.is_file() {
        return Ok(default);
    }
    if let Some(sibling) = std::env::current_exe()?.parent().map(|d| d.join("paygate")) {
        if sibling.is_file() {
            return Ok(sibling);
        }
    }
    bail!("target/release/paygate not found: run `cargo build --release -p paygate` first (the bench builds nothing)")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_path_is_replaced() {
        let u = |a| with_database(a, "paygate_bench_ab").unwrap();
        assert_eq!(
            u("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/paygate_bench_ab"
        );
        assert_eq!(
            u("postgres://u:p@localhost/db?sslmode=disable"),
            "postgres://u:p@localhost/paygate_bench_ab?sslmode=disable"
        );
        assert_eq!(u("postgres://127.0.0.1:5432"), "postgres://127.0.0.1:5432/paygate_bench_ab");
        assert!(with_database("nonsense", "x").is_err());
    }
}
