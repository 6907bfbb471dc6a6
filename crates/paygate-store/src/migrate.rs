//! Schema migrations, embedded in the binary and applied in order at start
//! and by `paygate migrate`. Each migration has one file per engine with the
//! same version number; a migration runs in its own transaction.
//!
//! We keep our own small runner instead of sqlx's macros: it costs a few
//! lines and keeps the proc-macro stack out of the build. Like sqlx's, it
//! records each migration's SHA-256 when it applies it and refuses to start
//! when an applied migration's file has changed since (an edited migration
//! would otherwise go unnoticed: the database keeps the old schema while
//! the code assumes the new one). Databases migrated before checksums were
//! kept get them recorded on their next start.

use crate::db::{Backend, Db, Result, StoreError};
use sqlx::Row;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:expr, $file:literal) => {
        Migration {
            version: $version,
            name: $file,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $file, ".sql")),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_merchants"),
    migration!(2, "0002_ledger"),
    migration!(3, "0003_payments"),
    migration!(4, "0004_deliveries"),
    migration!(5, "0005_adjustments"),
    migration!(6, "0006_event_claims"),
    migration!(7, "0007_disputes"),
    migration!(8, "0008_statistics"),
    migration!(9, "0009_merchant_rate_limit"),
    migration!(10, "0010_event_order"),
    migration!(11, "0011_exchange"),
    migration!(12, "0012_requisite_purpose"),
    migration!(13, "0013_payin_pay_token"),
    migration!(14, "0014_operators"),
    migration!(15, "0015_operator_api_keys"),
    migration!(16, "0016_providers"),
    migration!(17, "0017_statistics_rollups"),
    migration!(18, "0018_statistics_levels"),
    migration!(19, "0019_sum_bigint"),
    migration!(20, "0020_stats_insert_per_settled_row"),
    migration!(21, "0021_stats_series_hourly"),
    migration!(22, "0022_payment_versions"),
];

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    /// Lowercase hex SHA-256 of this engine's file.
    fn checksum(&self, backend: Backend) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(self.sql(backend).as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The version the code expects; `/readyz` compares it with the database.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// Applies every migration not yet recorded. On PostgreSQL an advisory lock
/// makes concurrent starts of several nodes safe.
pub async fn run(db: &Db) -> Result<Vec<i64>> {
    let mut conn = db.pool().acquire().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock(7270001)").execute(&mut *conn).await?;
    }
    let outcome = apply_pending(db.backend(), &mut conn).await;
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock(7270001)").execute(&mut *conn).await?;
    }
    outcome
}

async fn apply_pending(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<Vec<i64>> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    verify_checksums(backend, conn).await?;
    let current = current_version_on(conn).await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let wrap = |source| StoreError::Migration { version: m.version, source };
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(wrap)?;
        sqlx::raw_sql(m.sql(backend)).execute(&mut *tx).await.map_err(wrap)?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(crate::time::now_micros())
            .bind(m.checksum(backend))
            .execute(&mut *tx)
            .await
            .map_err(wrap)?;
        tx.commit().await.map_err(wrap)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}

/// Compares every applied migration with its file; records the checksum
/// where none was kept yet (databases migrated before checksums existed).
async fn verify_checksums(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<()> {
    let has_column = "SELECT checksum FROM schema_migrations LIMIT 1";
    if sqlx::query(has_column).fetch_optional(&mut *conn).await.is_err() {
        // Another process (a CLI beside the server, on SQLite) may add it
        // at the same moment; what counts is that it is there afterwards.
        if let Err(e) =
            sqlx::raw_sql("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT").execute(&mut *conn).await
        {
            sqlx::query(has_column).fetch_optional(&mut *conn).await.map_err(|_| e)?;
        }
    }
    let rows =
        sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version").fetch_all(&mut *conn).await?;
    for row in rows {
        let version: i64 = row.try_get("version")?;
        let applied: Option<String> = row.try_get("checksum")?;
        // A version this binary does not know (a newer binary migrated the
        // database) is judged by /readyz, not here.
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else { continue };
        let now = m.checksum(backend);
        match applied {
            Some(applied) if applied == now => {}
            Some(applied) => return Err(StoreError::MigrationEdited { name: m.name, applied, now }),
            None => {
                sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = $2")
                    .bind(now)
                    .bind(version)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn current_version_on(conn: &mut sqlx::AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("v")?)
}

/// The schema version the database is at (0 when never migrated).
pub async fn current_version(db: &Db) -> Result<i64> {
    let mut conn = db.pool().acquire().await?;
    match current_version_on(&mut conn).await {
        Ok(v) => Ok(v),
        // No schema_migrations table yet: a database nobody migrated.
        Err(StoreError::Database(_)) => Ok(0),
        Err(e) => Err(e),
    }
}
