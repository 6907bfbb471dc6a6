//! Operator accounts, dashboard sessions and the audit log. Passwords
//! arrive hashed and session ids arrive as their SHA-256: this module never
//! sees a credential.

use crate::db::{Db, Result};
use sqlx::Row;

crate::table_row! {
    #[derive(Clone, Debug)]
    pub struct OperatorRow, columns OPERATOR_COLUMNS {
        pub id: String,
        pub email: String,
        /// `viewer`, `operator` or `admin`.
        pub role: String,
        pub password_hash: crate::merchants::Sealed,
        pub enabled: bool,
        pub created_at: i64,
    }
}

crate::table_row! {
    #[derive(Clone, Debug)]
    pub struct SessionRow, columns SESSION_COLUMNS {
        pub id_hash: String,
        pub operator_id: Option<String>,
        /// Who is signed in, as the audit log names them.
        pub actor: String,
        pub role: String,
        pub csrf_token: String,
        pub created_at: i64,
        pub last_seen_at: i64,
        pub expires_at: i64,
    }
}

crate::table_row! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AuditRow, columns AUDIT_COLUMNS {
        pub id: String,
        pub at: i64,
        pub actor: String,
        pub role: String,
        pub via: String,
        pub action: String,
        pub target: Option<String>,
        pub outcome: String,
        pub ip: Option<String>,
    }
}

impl Db {
    /// `None` when the e-mail is taken.
    pub async fn insert_operator(&self, o: &OperatorRow) -> Result<Option<OperatorRow>> {
        let sql = crate::sql::insert_sql(self.backend(), "operators", OPERATOR_COLUMNS, 1, " ON CONFLICT DO NOTHING");
        let done = crate::sql::bind_all(sqlx::query(&sql), o.params()).execute(self.pool()).await?;
        Ok((done.rows_affected() == 1).then(|| o.clone()))
    }

    pub async fn operator_by_email(&self, email: &str) -> Result<Option<OperatorRow>> {
        let sql = format!("SELECT {} FROM operators WHERE email = $1", OPERATOR_COLUMNS.join(", "));
        let row = sqlx::query(&sql).bind(email).fetch_optional(self.pool()).await?;
        row.as_ref().map(OperatorRow::from_row).transpose()
    }

    /// Replaces the operator's admin API key hash; `None` when no operator
    /// has this e-mail.
    pub async fn set_operator_api_key(&self, email: &str, key_hash: &str) -> Result<Option<OperatorRow>> {
        let done = sqlx::query("UPDATE operators SET api_key_hash = $2 WHERE email = $1")
            .bind(email)
            .bind(key_hash)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.operator_by_email(email).await
    }

    /// The enabled operator whose admin API key has this SHA-256.
    pub async fn operator_by_api_key(&self, key_hash: &str) -> Result<Option<OperatorRow>> {
        let sql =
            format!("SELECT {} FROM operators WHERE api_key_hash = $1 AND enabled = 1", OPERATOR_COLUMNS.join(", "));
        let row = sqlx::query(&sql).bind(key_hash).fetch_optional(self.pool()).await?;
        row.as_ref().map(OperatorRow::from_row).transpose()
    }

    pub async fn insert_session(&self, s: &SessionRow) -> Result<()> {
        let sql = crate::sql::insert_sql(self.backend(), "operator_sessions", SESSION_COLUMNS, 1, "");
        crate::sql::bind_all(sqlx::query(&sql), s.params()).execute(self.pool()).await?;
        Ok(())
    }

    /// The live session with this id hash at `now`, its idle deadline moved
    /// on by `idle_micros` (never past its absolute expiry); expired ones are
    /// deleted on sight.
    pub async fn touch_session(&self, id_hash: &str, now: i64, idle_micros: i64) -> Result<Option<SessionRow>> {
        let sql = format!("SELECT {} FROM operator_sessions WHERE id_hash = $1", SESSION_COLUMNS.join(", "));
        let Some(row) = sqlx::query(&sql).bind(id_hash).fetch_optional(self.pool()).await? else { return Ok(None) };
        let s = SessionRow::from_row(&row)?;
        if s.expires_at <= now || s.last_seen_at + idle_micros <= now {
            self.end_session(id_hash).await?;
            return Ok(None);
        }
        sqlx::query("UPDATE operator_sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(Some(s))
    }

    pub async fn end_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1").bind(id_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Appends one entry; the log is never updated or deleted from.
    pub async fn audit(&self, a: &AuditRow) -> Result<()> {
        let sql = crate::sql::insert_sql(self.backend(), "audit_log", AUDIT_COLUMNS, 1, "");
        crate::sql::bind_all(sqlx::query(&sql), a.params()).execute(self.pool()).await?;
        Ok(())
    }

    /// Newest first, before `before_id` when given.
    pub async fn audit_entries(&self, before_id: Option<&str>, limit: i64) -> Result<Vec<AuditRow>> {
        let sql = format!(
            "SELECT {} FROM audit_log WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2",
            AUDIT_COLUMNS.join(", ")
        );
        let rows = sqlx::query(&sql).bind(before_id.unwrap_or("")).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(AuditRow::from_row).collect()
    }

    pub async fn audit_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM audit_log").fetch_one(self.pool()).await?.try_get("n")?)
    }
}
