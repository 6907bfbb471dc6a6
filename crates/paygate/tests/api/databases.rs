//! A database per test: a SQLite file in a temporary directory, or a new
//! PostgreSQL database on `PAYGATE_TEST_POSTGRES_URL` that is dropped with
//! the test.

use paygate_store::Backend;

pub fn postgres_admin_url() -> String {
    std::env::var("PAYGATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that disappears with the test.
pub enum DbGuard {
    /// Owned elsewhere (a detached handle).
    None,
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl DbGuard {
    pub async fn create(backend: Backend) -> (DbGuard, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("paygate.db").display());
                (DbGuard::Sqlite(dir), url)
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("paygate_test_{}", hex::encode(rand_bytes::<8>()));
                let admin = paygate_store::Db::connect(&admin_url, 1)
                    .await
                    .expect("PostgreSQL must be running for the test suite (see README)");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.expect("create database");
                admin.close().await;
                let url = match admin_url.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("PAYGATE_TEST_POSTGRES_URL needs a database path"),
                };
                (DbGuard::Postgres { admin_url, name }, url)
            }
        }
    }

    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match self {
            DbGuard::Sqlite(d) => Some(d.path()),
            DbGuard::Postgres { .. } | DbGuard::None => None,
        }
    }
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a separate thread with its
            // own runtime can block on the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(admin) = paygate_store::Db::connect(&admin_url, 1).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(admin.pool())
                            .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    b
}
