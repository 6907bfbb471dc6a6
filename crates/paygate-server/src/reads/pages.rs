//! List pages (`payin/list`, `payout/list`) read through [`PerKey`]: equal
//! requests (same merchant, filters, cursor and limit) that arrive while a
//! read of that page is in flight share the next statement and its
//! rendering, the way a shop's workers and dashboard tabs poll the same
//! "latest payments" page. Different pages never wait for each other: one
//! merchant's wide search does not hold back another's first page.
//!
//! Freshness is that of a direct read (see [`PerKey`]): the statement
//! starts after every request it answers arrived, so a page never shows a
//! status older than one acknowledged before the request was sent, on any
//! node. Nothing is kept once a page's requests have their answer.

use super::per_key::PerKey;
use crate::error::ApiError;
use crate::http::envelope::Envelope;
use crate::http::merchant::paging;
use crate::payments::views::{payin_out, payout_out, EventRenderer};
use axum::body::Bytes;
use paygate_store::payments::{Kind, ListFilter};
use paygate_store::{Db, StoreError};
use std::sync::Arc;

/// The `{"success": true, "data": {items, next_cursor}}` bodies, each
/// rendered once for every request that shares its read.
pub struct ListPages {
    kind: Kind,
    db: Db,
    render: Arc<EventRenderer>,
    pages: PerKey<ListFilter, Bytes>,
}

impl ListPages {
    /// `render` holds what a payment's view needs besides its row
    /// (currencies, public URL).
    pub fn new(kind: Kind, db: &Db, render: Arc<EventRenderer>) -> ListPages {
        ListPages { kind, db: db.clone(), render, pages: PerKey::new() }
    }

    /// The page `filter` (which names the merchant) selects, read after this
    /// call began.
    pub async fn page(&self, filter: ListFilter) -> Result<Bytes, ApiError> {
        let (kind, db, render) = (self.kind, self.db.clone(), self.render.clone());
        let read = move |filter| async move {
            match kind {
                Kind::PayIn => payin_page(db, render, filter).await,
                Kind::PayOut => payout_page(db, render, filter).await,
            }
        };
        let page = self.pages.read(filter, read).await;
        page.map_err(|e| ApiError::from_shared_store(&e))
    }
}

/// A `limit + 1` read as the envelope of a page: the look-ahead row becomes
/// the cursor.
async fn payin_page(db: Db, render: Arc<EventRenderer>, filter: ListFilter) -> Result<Bytes, StoreError> {
    let rows = db.list_payins(&filter).await?;
    let page = paging::page(
        &rows,
        filter.limit,
        |r| r.id.to_string(),
        |r| payin_out(r, &render.currencies, &render.public_base),
    );
    Ok(envelope(page))
}

async fn payout_page(db: Db, render: Arc<EventRenderer>, filter: ListFilter) -> Result<Bytes, StoreError> {
    let rows = db.list_payouts(&filter).await?;
    Ok(envelope(paging::page(&rows, filter.limit, |r| r.id.to_string(), |r| payout_out(r, &render.currencies))))
}

/// A `{"success": true, "data": …}` body.
pub(super) fn envelope<T: serde::Serialize>(data: T) -> Bytes {
    Bytes::from(serde_json::to_vec(&Envelope { success: true, data }).expect("plain structs serialise"))
}
