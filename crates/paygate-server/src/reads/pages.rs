//! List pages (`payin/list`, `payout/list`) read through a [`Coalescer`]:
//! equal requests (same merchant, filters, cursor and limit) that arrive
//! together share one statement and one rendering, the way a shop's workers
//! and dashboard tabs poll the same "latest payments" page. Different
//! requests in one batch run side by side, each its own statement, as they
//! would without the batch.
//!
//! Freshness is that of a direct read (see the coalescer): the statement
//! starts after every request it answers arrived, so a page never shows a
//! status older than one acknowledged before the request was sent, on any
//! node. Nothing is kept between batches.

use super::coalescer::Coalescer;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Page};
use crate::http::merchant::paging;
use crate::payments::views::{payin_out, payout_out, EventRenderer};
use axum::body::Bytes;
use paygate_store::payments::ListFilter;
use paygate_store::{Db, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One request's answer: the `{"success": true, "data": {items, next_cursor}}`
/// body, rendered once for every request of the batch that asked for it.
pub struct RenderedPage {
    filter: ListFilter,
    pub body: Bytes,
}

type PageRead = Pin<Box<dyn Future<Output = Result<Bytes, StoreError>> + Send>>;
/// Reads and renders one page of one kind of payment.
type ReadPage = fn(Db, Arc<EventRenderer>, ListFilter) -> PageRead;

pub struct ListPages {
    pages: Coalescer<ListFilter, Arc<RenderedPage>>,
}

impl ListPages {
    /// Starts the dispatchers (on the current Tokio runtime). `render` holds
    /// what a payment's view needs besides its row (currencies, public URL).
    pub fn payins(db: &Db, render: Arc<EventRenderer>) -> ListPages {
        ListPages::start(db, render, |db, render, filter| Box::pin(payin_page(db, render, filter)))
    }

    pub fn payouts(db: &Db, render: Arc<EventRenderer>) -> ListPages {
        ListPages::start(db, render, |db, render, filter| Box::pin(payout_page(db, render, filter)))
    }

    fn start(db: &Db, render: Arc<EventRenderer>, read: ReadPage) -> ListPages {
        let db = db.clone();
        let pages = Coalescer::start(
            move |filters| read_pages(db.clone(), render.clone(), filters, read),
            |filter: &ListFilter, page: &Arc<RenderedPage>| page.filter == *filter,
        );
        ListPages { pages }
    }

    /// The page `filter` (which names the merchant) selects, read after this
    /// call began.
    pub async fn page(&self, filter: ListFilter) -> Result<Bytes, ApiError> {
        let pages = self.pages.read(filter).await.map_err(|e| ApiError::from_shared_store(&e))?;
        match pages.into_iter().next() {
            Some(page) => Ok(page.body.clone()),
            None => Err(ApiError::from_shared_store(&StoreError::Corrupt("a list read lost its page".into()))),
        }
    }
}

/// Each distinct filter in its own task, so that one merchant's slow page
/// does not hold another's statement back within the batch.
async fn read_pages(
    db: Db,
    render: Arc<EventRenderer>,
    filters: Vec<ListFilter>,
    read: ReadPage,
) -> Result<Vec<Arc<RenderedPage>>, StoreError> {
    let tasks: Vec<_> = filters
        .into_iter()
        .map(|filter| {
            let page = read(db.clone(), render.clone(), filter.clone());
            tokio::spawn(async move { Ok::<_, StoreError>(Arc::new(RenderedPage { filter, body: page.await? })) })
        })
        .collect();
    let mut pages = Vec::with_capacity(tasks.len());
    for task in tasks {
        let page = task.await.map_err(|e| StoreError::Corrupt(format!("a list read stopped: {e}")))??;
        pages.push(page);
    }
    Ok(pages)
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

fn envelope<T: serde::Serialize>(data: Page<T>) -> Bytes {
    Bytes::from(serde_json::to_vec(&Envelope { success: true, data }).expect("plain structs serialise"))
}
