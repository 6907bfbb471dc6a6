//! A row of a running rusqlite statement read as a [`RowRead`], so that
//! row structs decode straight from SQLite's values on the blocking thread
//! ([`crate::native_sqlite`]'s `fetch_decoded`): no copy of the row first.

use crate::db::{Result, StoreError};
use crate::row::RowRead;
use rusqlite::types::ValueRef;

/// A row of a running statement, read where SQLite keeps it.
pub(crate) struct InPlace<'r, 's> {
    pub(crate) row: &'r rusqlite::Row<'s>,
    /// The statement's column names.
    pub(crate) names: &'r [String],
}

impl InPlace<'_, '_> {
    fn value(&self, column: &str, at: usize) -> Result<ValueRef<'_>> {
        let names = self.names;
        let i = crate::row::locate(|i| names.get(i).map(String::as_str), names.len(), column, at)
            .ok_or_else(|| mismatch(column, "no such column"))?;
        Ok(self.row.get_ref(i)?)
    }

    fn text_of(column: &str, value: ValueRef<'_>) -> Result<Option<String>> {
        match value {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => Ok(Some(s.to_string())),
                Err(_) => Err(mismatch(column, "text that is not UTF-8")),
            },
            other => Err(mismatch(column, &other.data_type().to_string())),
        }
    }

    fn int_of(column: &str, value: ValueRef<'_>) -> Result<Option<i64>> {
        match value {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            other => Err(mismatch(column, &other.data_type().to_string())),
        }
    }
}

fn mismatch(column: &str, found: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column:?}: found {found}"))
}

impl RowRead for InPlace<'_, '_> {
    fn int(&self, column: &str, at: usize) -> Result<i64> {
        Self::int_of(column, self.value(column, at)?)?.ok_or_else(|| mismatch(column, "NULL"))
    }
    fn opt_int(&self, column: &str, at: usize) -> Result<Option<i64>> {
        Self::int_of(column, self.value(column, at)?)
    }
    fn text(&self, column: &str, at: usize) -> Result<String> {
        Self::text_of(column, self.value(column, at)?)?.ok_or_else(|| mismatch(column, "NULL"))
    }
    fn opt_text(&self, column: &str, at: usize) -> Result<Option<String>> {
        Self::text_of(column, self.value(column, at)?)
    }
}
