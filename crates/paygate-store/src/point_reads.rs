//! Many point reads in one statement: the versions of payins or payouts
//! by id or by (merchant, order id), those rows in full by id, and
//! merchants' balance accounts. The server's read
//! coalescer (`paygate_server::reads`) gathers the status polls that arrive
//! together and asks here once; each caller then picks its own rows, so
//! these return rows of any merchant asked about. They read through the
//! engine's own driver (see [`crate::native`]): a batch is up to 64 rows,
//! a full payin 33 columns, and sqlx's `Any` conversion of each was a
//! visible part of a poll's cost.

use crate::balances::BalanceRow;
use crate::db::{Db, Result};
use crate::native_pinned::Pinned;
use crate::payments::{Kind, PayInRow, PayOutRow, PAYIN_COLUMNS, PAYOUT_COLUMNS};
use crate::row::{FromRow, RowRead};
use crate::sql::{mark, pad_pow2, P};

/// A payment asked for by id, or by its merchant's order id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PaymentKey {
    Id(String),
    Order { merchant_id: String, order_id: String },
}

/// One bucket of one merchant's account in one ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountBalance {
    pub owner: String,
    pub mode: String,
    pub currency: String,
    pub bucket: String,
    pub balance: i64,
}

/// A payment's id and version (raised by every change to its row,
/// migration 0022).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub id: String,
    pub version: i64,
}

impl FromRow for Stamp {
    fn from_row<R: RowRead + ?Sized>(row: &R) -> Result<Stamp> {
        Ok(Stamp { id: row.text("id", 0)?, version: row.int("version", 1)? })
    }
}

/// A row and the version it was read at (its table's columns, then `version`).
#[derive(Clone, Debug)]
pub struct Versioned<T> {
    pub row: T,
    pub version: i64,
}

macro_rules! versioned_from_row {
    ($row:ty, $columns:expr) => {
        impl FromRow for Versioned<$row> {
            fn from_row<R: RowRead + ?Sized>(row: &R) -> Result<Versioned<$row>> {
                Ok(Versioned { row: <$row>::from_row(row)?, version: row.int("version", $columns.len())? })
            }
        }
    };
}
versioned_from_row!(PayInRow, PAYIN_COLUMNS);
versioned_from_row!(PayOutRow, PAYOUT_COLUMNS);

impl Db {
    /// `SELECT … WHERE id IN (…) OR (merchant_id = … AND merchant_order_id = …) OR …`,
    /// with both lists padded to a power of two so that a few statement
    /// texts (and prepared statements) serve every batch size.
    fn keyed_select(&self, table: &str, columns: &str, keys: &[PaymentKey]) -> (String, Vec<P>) {
        let mut ids = Vec::new();
        let mut orders = Vec::new();
        for key in keys {
            match key {
                PaymentKey::Id(id) => ids.push(id.clone()),
                PaymentKey::Order { merchant_id, order_id } => orders.push((merchant_id.clone(), order_id.clone())),
            }
        }
        let backend = self.backend();
        let mut params: Vec<P> = Vec::new();
        let mut terms: Vec<String> = Vec::new();
        let ids = pad_pow2(ids);
        if !ids.is_empty() {
            // The ids are the statement's first parameters.
            let marks: Vec<String> = (1..=ids.len()).map(|n| mark(backend, n)).collect();
            params.extend(ids.into_iter().map(P::from));
            terms.push(format!("id IN ({})", marks.join(", ")));
        }
        for (merchant_id, order_id) in pad_pow2(orders) {
            let (m, o) = (mark(backend, params.len() + 1), mark(backend, params.len() + 2));
            params.push(merchant_id.into());
            params.push(order_id.into());
            terms.push(format!("(merchant_id = {m} AND merchant_order_id = {o})"));
        }
        let condition = if terms.is_empty() { "1 = 0".to_string() } else { terms.join(" OR ") };
        (format!("SELECT {columns} FROM {table} WHERE {condition}"), params)
    }
}

/// The statements of one kind of status poll, on a connection of their own
/// on PostgreSQL (see [`crate::native_pinned`]): make one per kind, since
/// its statements run one at a time.
pub struct PollReader {
    db: Db,
    pinned: Pinned,
}

impl Db {
    pub fn poll_reader(&self) -> PollReader {
        PollReader { db: self.clone(), pinned: Pinned::new() }
    }
}

impl PollReader {
    async fn fetch<T: FromRow>(&self, sql: &str, params: Vec<P>) -> Result<Vec<T>> {
        self.pinned.fetch_decoded(&self.db.native, sql, params).await
    }

    /// The version of each payin or payout these keys name: a status
    /// poll's first statement, answered from the bodies already rendered
    /// for those versions.
    pub async fn payment_stamps(&self, kind: Kind, keys: &[PaymentKey]) -> Result<Vec<Stamp>> {
        let (sql, params) = self.db.keyed_select(kind.table(), "id, version", keys);
        self.fetch(&sql, params).await
    }

    /// Payins (`T` = [`PayInRow`]) or payouts ([`PayOutRow`]) by id, with
    /// their versions: the rows a poll has no body for.
    pub async fn versioned<T>(&self, kind: Kind, ids: &[String]) -> Result<Vec<Versioned<T>>>
    where
        Versioned<T>: FromRow,
    {
        let columns = match kind {
            Kind::PayIn => PAYIN_COLUMNS,
            Kind::PayOut => PAYOUT_COLUMNS,
        };
        let keys: Vec<PaymentKey> = ids.iter().map(|id| PaymentKey::Id(id.clone())).collect();
        let (sql, params) = self.db.keyed_select(kind.table(), &format!("{}, version", columns.join(", ")), &keys);
        self.fetch(&sql, params).await
    }

    /// Every balance bucket of these merchants, in every ledger.
    pub async fn balances_of_merchants(&self, merchant_ids: &[String]) -> Result<Vec<AccountBalance>> {
        let backend = self.db.backend();
        let owners = pad_pow2(merchant_ids.to_vec());
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=owners.len()).map(|n| mark(backend, n)).collect();
        let sql = format!(
            "SELECT owner, mode, currency, bucket, balance FROM accounts WHERE is_merchant = 1 AND owner IN ({}) \
             ORDER BY owner, mode, currency, bucket",
            marks.join(", ")
        );
        self.fetch(&sql, owners.into_iter().map(P::from).collect()).await
    }
}

impl FromRow for AccountBalance {
    fn from_row<R: RowRead + ?Sized>(row: &R) -> Result<AccountBalance> {
        Ok(AccountBalance {
            owner: row.text("owner", 0)?,
            mode: row.text("mode", 1)?,
            currency: row.text("currency", 2)?,
            bucket: row.text("bucket", 3)?,
            balance: row.int("balance", 4)?,
        })
    }
}

/// Buckets (ordered by currency, then bucket) as one row per currency.
pub fn fold_balances<'a>(buckets: impl IntoIterator<Item = (&'a str, &'a str, i64)>) -> Vec<BalanceRow> {
    let mut out: Vec<BalanceRow> = Vec::new();
    for (currency, bucket, balance) in buckets {
        if out.last().is_none_or(|b| b.currency != currency) {
            out.push(BalanceRow { currency: currency.to_string(), ..Default::default() });
        }
        let entry = out.last_mut().expect("pushed above");
        match bucket {
            "available" => entry.available = balance,
            "hold" => entry.hold = balance,
            "frozen" => entry.frozen = balance,
            _ => {}
        }
    }
    out
}
