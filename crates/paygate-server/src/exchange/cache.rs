//! What a partner's request reads on every call, kept for a short time like
//! merchants are (`auth_cache_ttl_ms`, 1 s by default; 0 turns it off):
//! the partner with its merchant and opened request secrets, and the
//! operator's methods and rates.
//!
//! Changes made through this node's admin API drop the entries at once; a
//! signature that does not verify against a cached partner is checked again
//! against a fresh read before it is refused; changes made elsewhere (another
//! node, the CLI) are seen within the TTL. An order locks the rate it was
//! created with, so a rate a second old is what the partner was quoted.

use super::partners::request_secrets;
use super::terms::{read_book, Book};
use crate::error::ApiError;
use crate::state::AppState;
use paygate_store::exchange::partners::PartnerRecord;
use paygate_store::merchants::MerchantRecord;
use paygate_store::time::now_micros;
use secrecy::SecretString;
use std::sync::Arc;

pub struct CachedPartner {
    pub partner: PartnerRecord,
    pub merchant: MerchantRecord,
    /// Request secrets usable when read (current, then previous in grace).
    pub secrets: Vec<SecretString>,
}

/// The partner with this API key, from the cache unless `fresh`.
pub async fn partner(state: &AppState, api_key: &str, fresh: bool) -> Result<Option<Arc<CachedPartner>>, ApiError> {
    if !fresh {
        if let Some(hit) = state.partner_cache.get(api_key) {
            return Ok(Some(hit));
        }
    }
    let Some(partner) = state.db.partner_by_api_key(api_key).await? else { return Ok(None) };
    let Some(merchant) = state.db.merchant(&partner.merchant_id).await? else { return Ok(None) };
    let secrets = request_secrets(state, &partner, now_micros())?;
    let cached = Arc::new(CachedPartner { partner, merchant, secrets });
    state.partner_cache.put(api_key, cached.clone());
    Ok(Some(cached))
}

/// Drops what this node cached about merchant `merchant_id` as a partner.
pub fn forget_partner(state: &AppState, merchant_id: &str) {
    state.partner_cache.forget_where(|p| p.partner.merchant_id == merchant_id);
}

const BOOK: &str = "book";

/// The operator's methods and rates.
pub async fn book(state: &AppState) -> Result<Arc<Book>, ApiError> {
    if let Some(hit) = state.book_cache.get(BOOK) {
        return Ok(hit);
    }
    let book = Arc::new(read_book(state).await?);
    state.book_cache.put(BOOK, book.clone());
    Ok(book)
}

pub fn forget_book(state: &AppState) {
    state.book_cache.forget(BOOK);
}
