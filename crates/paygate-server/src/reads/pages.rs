//! `payin/list` pages read through a [`Coalescer`]: equal requests (same
//! merchant, filters, cursor and limit) that arrive together share one
//! statement and one rendering, the way a shop's workers and dashboard tabs
//! poll the same "latest payins" page. Different requests in one batch run
//! side by side, each its own statement, as they would without the batch.
//!
//! Freshness is that of a direct read (see the coalescer): the statement
//! starts after every request it answers arrived, so a page never shows a
//! status older than one acknowledged before the request was sent, on any
//! node. Nothing is kept between batches.

use super::coalescer::Coalescer;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Page};
use crate::payments::views::{payin_out, EventRenderer};
use axum::body::Bytes;
use paygate_store::payments::ListFilter;
use paygate_store::{Db, StoreError};
use std::sync::Arc;

/// One request's answer: the `{"success": true, "data": {items, next_cursor}}`
/// body, rendered once for every request of the batch that asked for it.
pub struct RenderedPage {
    filter: ListFilter,
    pub body: Bytes,
}

pub struct PayInPages {
    pages: Coalescer<ListFilter, Arc<RenderedPage>>,
}

impl PayInPages {
    /// Starts the dispatcher (on the current Tokio runtime). `render` holds
    /// what a payin's view needs besides its row (currencies, public URL).
    pub fn start(db: &Db, render: Arc<EventRenderer>) -> PayInPages {
        let db = db.clone();
        let pages = Coalescer::start(
            move |filters| read_pages(db.clone(), render.clone(), filters),
            |filter: &ListFilter, page: &Arc<RenderedPage>| page.filter == *filter,
        );
        PayInPages { pages }
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
) -> Result<Vec<Arc<RenderedPage>>, StoreError> {
    let tasks: Vec<_> = filters
        .into_iter()
        .map(|filter| {
            let (db, render) = (db.clone(), render.clone());
            tokio::spawn(async move {
                let rows = db.list_payins(&filter).await?;
                let body = render_page(&rows, &filter, &render);
                Ok::<_, StoreError>(Arc::new(RenderedPage { filter, body }))
            })
        })
        .collect();
    let mut pages = Vec::with_capacity(tasks.len());
    for task in tasks {
        let page = task.await.map_err(|e| StoreError::Corrupt(format!("a list read stopped: {e}")))??;
        pages.push(page);
    }
    Ok(pages)
}

/// The rows of a `limit + 1` read as the envelope of a page: the look-ahead
/// row becomes the cursor.
fn render_page(rows: &[paygate_store::payments::PayInRow], filter: &ListFilter, render: &EventRenderer) -> Bytes {
    let page: Page<_> = crate::http::merchant::paging::page(
        rows,
        filter.limit,
        |r| r.id.to_string(),
        |r| payin_out(r, &render.currencies, &render.public_base),
    );
    let body = serde_json::to_vec(&Envelope { success: true, data: page }).expect("plain structs serialise");
    Bytes::from(body)
}
