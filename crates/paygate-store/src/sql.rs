//! Small helpers for statements built at run time: a parameter value type
//! and multi-row INSERTs with `$n` placeholders.

use crate::db::Backend;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A bind value. Everything paygate stores is an integer or text.
#[derive(Clone, Debug)]
pub enum P {
    I(i64),
    OI(Option<i64>),
    T(String),
    OT(Option<String>),
}

impl From<i64> for P {
    fn from(v: i64) -> P {
        P::I(v)
    }
}
impl From<Option<i64>> for P {
    fn from(v: Option<i64>) -> P {
        P::OI(v)
    }
}
impl From<String> for P {
    fn from(v: String) -> P {
        P::T(v)
    }
}
impl From<&str> for P {
    fn from(v: &str) -> P {
        P::T(v.to_string())
    }
}
/// Typed ids bind as their text.
macro_rules! id_param {
    ($($id:ty),*) => {$(
        impl From<$id> for P {
            fn from(id: $id) -> P {
                String::from(id).into()
            }
        }
        impl From<&$id> for P {
            fn from(id: &$id) -> P {
                id.as_str().into()
            }
        }
    )*};
}
id_param!(
    paygate_core::money::CurrencyCode,
    paygate_core::payments::MerchantOrderId,
    paygate_core::ids::MerchantId,
    paygate_core::ids::PayInId,
    paygate_core::ids::PayOutId,
    paygate_core::ids::DisputeId
);

impl From<Option<String>> for P {
    fn from(v: Option<String>) -> P {
        P::OT(v)
    }
}

pub type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

pub fn bind_all(q: AnyQuery<'_>, params: Vec<P>) -> AnyQuery<'_> {
    bind_params(q, params)
}

/// [`bind_all`] for a query of any engine's own driver.
pub fn bind_params<'q, DB>(mut q: Query<'q, DB, DB::Arguments<'q>>, params: Vec<P>) -> Query<'q, DB, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for p in params {
        q = match p {
            P::I(v) => q.bind(v),
            P::OI(v) => q.bind(v),
            P::T(v) => q.bind(v),
            P::OT(v) => q.bind(v),
        };
    }
    q
}

/// The placeholder for the `n`-th parameter (see [`crate::dialect::placeholder`]).
pub fn mark(backend: Backend, n: usize) -> String {
    crate::dialect::placeholder(backend, n)
}

/// `INSERT INTO table (c1, c2) VALUES ($1, $2), ($3, $4)` for `rows` rows,
/// followed by `tail` (e.g. an `ON CONFLICT` clause).
///
/// Remembered per text: the writer asks for the same few dozen statements
/// on every batch, and writing out a few hundred placeholders each time was
/// a visible part of its serial time in a profile.
pub fn insert_sql(backend: Backend, table: &str, columns: &[&str], rows: usize, tail: &str) -> Arc<str> {
    type Key = (Backend, usize, String, String);
    static MADE: Mutex<Option<HashMap<Key, Arc<str>>>> = Mutex::new(None);
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let key = (backend, rows, head, tail.to_string());
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let made = made.get_or_insert_with(HashMap::new);
    if let Some(sql) = made.get(&key) {
        return sql.clone();
    }
    let mut sql = key.2.clone();
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r > 0 { ", (" } else { "(" });
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&crate::dialect::placeholder(backend, n));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    let sql: Arc<str> = sql.into();
    made.insert(key, sql.clone());
    sql
}

/// `$start, $start+1, …` for an IN list of `count` values (for statements
/// that mix in hand-written `$n`, which must stay `$n` on SQLite too).
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Like [`placeholders`] for a statement made only of generated lists.
pub fn list(backend: Backend, start: usize, count: usize) -> String {
    (start..start + count).map(|i| mark(backend, i)).collect::<Vec<_>>().join(", ")
}

/// Repeats the last value until the list has a power-of-two length, so IN
/// lists and OR chains of any size use one of a few statement texts (and so
/// the prepared-statement cache). Duplicates do not change the result.
pub fn pad_pow2<T: Clone>(mut items: Vec<T>) -> Vec<T> {
    if let Some(last) = items.last().cloned() {
        items.resize(items.len().next_power_of_two(), last);
    }
    items
}

/// Splits `n` rows into as few chunks as `max` allows, of near-equal sizes:
/// one statement (one round trip) per table and batch in the common case.
/// That gives up to `max` statement texts per table; sqlx keeps the 100 most
/// recently used prepared on each connection, and a steady load uses a few
/// dozen sizes (hot-payout, with three tables per batch, measured no loss).
pub fn chunk_sizes(n: usize, max: usize) -> Vec<usize> {
    let max = max.max(1);
    let chunks = n.div_ceil(max);
    (0..chunks).map(|i| n / chunks + usize::from(i < n % chunks)).collect()
}

/// Most rows per multi-row INSERT: 64, or fewer for very wide tables, well
/// under SQLite's 32766 and PostgreSQL's 65535 bind parameters.
pub fn rows_per_statement(columns: usize) -> usize {
    (16_000 / columns.max(1)).clamp(1, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_statements() {
        assert_eq!(
            &*insert_sql(Backend::Postgres, "t", &["a", "b"], 2, ""),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            &*insert_sql(Backend::Sqlite, "t", &["a", "b"], 2, ""),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            &*insert_sql(Backend::Sqlite, "t", &["a"], 1, " RETURNING a"),
            "INSERT INTO t (a) VALUES (?) RETURNING a"
        );
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(list(Backend::Sqlite, 1, 2), "?, ?");
        assert_eq!(chunk_sizes(37, 64), vec![37]);
        assert_eq!(chunk_sizes(200, 64), vec![50, 50, 50, 50]);
        assert_eq!(chunk_sizes(130, 64), vec![44, 43, 43]);
        assert_eq!(chunk_sizes(0, 64), Vec::<usize>::new());
        assert_eq!(pad_pow2(vec![1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(pad_pow2(Vec::<u8>::new()), Vec::<u8>::new());
    }
}
