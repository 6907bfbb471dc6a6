//! Small helpers for statements built at run time: a parameter value type
//! and multi-row INSERTs with `$n` placeholders.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;

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
impl From<Option<String>> for P {
    fn from(v: Option<String>) -> P {
        P::OT(v)
    }
}

pub type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

pub fn bind_all(mut q: AnyQuery<'_>, params: Vec<P>) -> AnyQuery<'_> {
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

/// `INSERT INTO table (c1, c2) VALUES ($1, $2), ($3, $4)` for `rows` rows.
pub fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

/// `$start, $start+1, …` for an IN list of `count` values.
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Rows per multi-row INSERT, keeping well under SQLite's 32766 and
/// PostgreSQL's 65535 bind parameters.
pub fn rows_per_statement(columns: usize) -> usize {
    (16_000 / columns.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_statements() {
        assert_eq!(insert_sql("t", &["a", "b"], 2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
    }
}
