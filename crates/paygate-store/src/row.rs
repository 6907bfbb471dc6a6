//! One declaration per table row: [`table_row!`] turns a struct's fields
//! into its column list, its bind parameters and its decoding, all in field
//! order, so the three can no longer drift apart (each table used to keep
//! three hand-ordered lists). How a field's type is stored is its
//! [`Column`] implementation: statuses as their names, flags as 0/1.

use crate::db::{Result, StoreError};
use crate::merchants::Sealed;
use crate::sql::P;
use paygate_core::disputes::DisputeStatus;
use paygate_core::exchange::lifecycle::OrderStatus;
use paygate_core::ids::{DisputeId, MerchantId, PayInId, PayOutId};
use paygate_core::money::CurrencyCode;
use paygate_core::payments::{MerchantOrderId, Method, PayInStatus, PayOutStatus};
use paygate_core::tokens::Mode;
use sqlx::any::AnyRow;
use sqlx::{Column as _, Row};

/// A value kept in one column.
pub trait Column: Sized {
    fn param(&self) -> P;
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self>;
}

/// A row read by column name: sqlx's `Any` rows, or the engines' own
/// (`crate::native`), which the hot reads use. Every column paygate
/// stores is an integer or text. `at` is where the column is expected
/// (its place in the SELECT): used when the name there matches, which
/// spares a search by name for each of a row's 33 columns; otherwise the
/// column is found by name.
pub trait RowRead {
    fn int(&self, column: &str, at: usize) -> Result<i64>;
    fn opt_int(&self, column: &str, at: usize) -> Result<Option<i64>>;
    fn text(&self, column: &str, at: usize) -> Result<String>;
    fn opt_text(&self, column: &str, at: usize) -> Result<Option<String>>;
}

/// Where `column` is among a row's `count` columns, whose names `name_at`
/// gives: `at` when the name there is `column` (a row read in the order
/// it was selected), else the first column so named; `None` if there is
/// none. Every kind of row reads by it.
pub(crate) fn locate<'n>(
    name_at: impl Fn(usize) -> Option<&'n str>,
    count: usize,
    column: &str,
    at: usize,
) -> Option<usize> {
    if name_at(at) == Some(column) {
        return Some(at);
    }
    (0..count).find(|&i| name_at(i) == Some(column))
}

/// By position where [`locate`] finds the column; by name otherwise, so
/// that sqlx reports the missing column.
macro_rules! any_get {
    ($row:expr, $column:expr, $at:expr) => {{
        let columns = $row.columns();
        match locate(|i| columns.get(i).map(|c| c.name()), columns.len(), $column, $at) {
            Some(i) => Ok($row.try_get(i)?),
            None => Ok($row.try_get($column)?),
        }
    }};
}

impl RowRead for AnyRow {
    fn int(&self, column: &str, at: usize) -> Result<i64> {
        any_get!(self, column, at)
    }
    fn opt_int(&self, column: &str, at: usize) -> Result<Option<i64>> {
        any_get!(self, column, at)
    }
    fn text(&self, column: &str, at: usize) -> Result<String> {
        any_get!(self, column, at)
    }
    fn opt_text(&self, column: &str, at: usize) -> Result<Option<String>> {
        any_get!(self, column, at)
    }
}

impl Column for String {
    fn param(&self) -> P {
        self.clone().into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        row.text(column, at)
    }
}

impl Column for Option<String> {
    fn param(&self) -> P {
        self.clone().into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        row.opt_text(column, at)
    }
}

impl Column for i64 {
    fn param(&self) -> P {
        (*self).into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        row.int(column, at)
    }
}

impl Column for Option<i64> {
    fn param(&self) -> P {
        (*self).into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        row.opt_int(column, at)
    }
}

/// Both engines store flags as integers 0/1 (SQLite has no boolean type).
impl Column for bool {
    fn param(&self) -> P {
        i64::from(*self).into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        Ok(row.int(column, at)? != 0)
    }
}

/// Statuses, modes and methods are stored by name; a name the code does not
/// know is corrupt data.
macro_rules! named_column {
    ($($status:ty),*) => {$(
        impl Column for $status {
            fn param(&self) -> P {
                self.as_str().into()
            }
            fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
                let name = row.text(column, at)?;
                <$status>::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("{column} {name:?}")))
            }
        }
    )*};
}
named_column!(PayInStatus, PayOutStatus, DisputeStatus, Mode, Method, OrderStatus);

/// Sealed secrets are stored as their ciphertext text.
impl Column for Sealed {
    fn param(&self) -> P {
        self.0.clone().into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        Ok(Sealed(row.text(column, at)?))
    }
}

impl Column for Option<Sealed> {
    fn param(&self) -> P {
        self.as_ref().map(|s| s.0.clone()).into()
    }
    fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
        Ok(row.opt_text(column, at)?.map(Sealed))
    }
}

/// Typed ids are stored as their text and trusted as written.
macro_rules! id_column {
    ($($id:ty),*) => {$(
        impl Column for $id {
            fn param(&self) -> P {
                self.as_str().to_string().into()
            }
            fn read<R: RowRead + ?Sized>(row: &R, column: &str, at: usize) -> Result<Self> {
                Ok(<$id>::from_stored(row.text(column, at)?))
            }
        }
    )*};
}
id_column!(MerchantId, PayInId, PayOutId, DisputeId, MerchantOrderId, CurrencyCode);

/// A row struct that decodes itself from either kind of row; the engines'
/// own reads decode rows where the driver leaves them (`crate::native`).
pub trait FromRow: Sized + Send + 'static {
    fn from_row<R: RowRead + ?Sized>(row: &R) -> Result<Self>;
}

/// Declares a row struct whose field names are its table's column names,
/// with `$columns` (the names in order), `params()` (the values in that
/// order) and `from_row()`.
#[macro_export]
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident, columns $columns:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty ),*
        }

        /// The table's columns, in the struct's field order.
        pub const $columns: &[&str] = &[$(stringify!($field)),*];

        impl $name {
            /// Bind values in column order.
            pub fn params(&self) -> Vec<$crate::sql::P> {
                vec![$($crate::row::Column::param(&self.$field)),*]
            }

            /// From a row of sqlx's `Any` driver or of an engine's own,
            /// its columns expected in `$columns` order (found by name if not).
            #[allow(unused_assignments)]
            pub fn from_row<R: $crate::row::RowRead + ?Sized>(row: &R) -> $crate::db::Result<$name> {
                let mut at = 0usize;
                Ok($name {
                    $($field: {
                        let value = $crate::row::Column::read(row, stringify!($field), at)?;
                        at += 1;
                        value
                    }),*
                })
            }
        }

        impl $crate::row::FromRow for $name {
            fn from_row<R: $crate::row::RowRead + ?Sized>(row: &R) -> $crate::db::Result<$name> {
                $name::from_row(row)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::disputes::{DisputeRow, DISPUTE_COLUMNS};
    use crate::payments::{PayInRow, PAYIN_COLUMNS};
    use crate::sql::{bind_all, insert_sql};
    use paygate_core::disputes::DisputeStatus;
    use paygate_core::payments::PayInStatus;

    /// What is written comes back field for field, through a real SQLite
    /// database with the real schema: the column list, the binds and the
    /// decoding agree.
    #[tokio::test]
    async fn rows_come_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), 1).await.unwrap();
        crate::migrate::run(&db).await.unwrap();
        sqlx::query(
            "INSERT INTO merchants (id, email, name, mode, public_token, secret_sealed, created_at, updated_at) \
                     VALUES ('m', 'e@x', 'n', 'test', 'pk', 'sealed', 0, 0)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let payin = PayInRow {
            id: paygate_core::ids::PayInId::new(),
            merchant_id: paygate_core::ids::MerchantId::from_stored("m".into()),
            merchant_order_id: paygate_core::payments::MerchantOrderId::from_stored("o-1".into()),
            status: PayInStatus::Expired,
            amount: 1_500,
            original_amount: 1_600,
            fee: 23,
            fee_percent_e4: 15_000,
            fee_fixed: 1,
            currency: paygate_core::money::CurrencyCode::from_stored("RUB".into()),
            method: paygate_core::payments::Method::Card,
            mode: paygate_core::tokens::Mode::Test,
            provider: "sandbox".into(),
            requisite_id: None,
            requisites: "{}".into(),
            customer_id: "c".into(),
            customer_ip: Some("10.0.0.1".into()),
            customer_email: None,
            callback_url: Some("https://x.example/h".into()),
            return_url: None,
            ttl_seconds: 60,
            metadata: Some("{\"a\":1}".into()),
            request_digest: "d".into(),
            has_open_dispute: true,
            failure_reason: None,
            expires_at: 7,
            created_at: 5,
            updated_at: 6,
            completed_at: Some(9),
            pay_token: Some("token".into()),
            provider_ref: Some("ex_1".into()),
            provider_pay_url: Some("https://upstream.example/pay/1".into()),
            provider_check_at: Some(11),
        };
        let sql = insert_sql(db.backend(), "payins", PAYIN_COLUMNS, 1, "");
        bind_all(sqlx::query(&sql), payin.params()).execute(db.pool()).await.unwrap();
        let read = sqlx::query(&format!("SELECT {} FROM payins", PAYIN_COLUMNS.join(", ")))
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(PayInRow::from_row(&read).unwrap(), payin);

        let dispute = DisputeRow {
            id: paygate_core::ids::DisputeId::new(),
            merchant_id: paygate_core::ids::MerchantId::from_stored("m".into()),
            payin_id: payin.id.clone(),
            mode: paygate_core::tokens::Mode::Live,
            status: DisputeStatus::Rejected,
            claimed_amount: 1_000,
            resolved_amount: None,
            currency: paygate_core::money::CurrencyCode::from_stored("RUB".into()),
            comment: Some("c".into()),
            frozen_amount: 17,
            receipt_filename: "r.pdf".into(),
            receipt_content_type: "application/pdf".into(),
            receipt_size: 3,
            receipt_sha256: "ab".into(),
            resolution_reason: Some("fake_receipt".into()),
            resolution_comment: None,
            callback_url: None,
            created_at: 1,
            updated_at: 2,
            resolved_at: Some(3),
        };
        let sql = insert_sql(db.backend(), "disputes", DISPUTE_COLUMNS, 1, "");
        bind_all(sqlx::query(&sql), dispute.params()).execute(db.pool()).await.unwrap();
        let read = sqlx::query(&format!("SELECT {} FROM disputes", DISPUTE_COLUMNS.join(", ")))
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(DisputeRow::from_row(&read).unwrap(), dispute);
        // A status the code does not know is reported, not guessed.
        sqlx::query("UPDATE payins SET status = 'lost'").execute(db.pool()).await.unwrap();
        let read = sqlx::query(&format!("SELECT {} FROM payins", PAYIN_COLUMNS.join(", ")))
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!(matches!(PayInRow::from_row(&read), Err(crate::StoreError::Corrupt(_))));
    }
}
