//! Merchants by public token, with their opened secrets, kept for a short
//! time so a signed request costs no database round trip.
//!
//! Staleness is bounded and one-sided:
//! - changes made through this process's admin API drop the entry at once;
//! - a signature that does not verify against a cached entry is checked
//!   again against a fresh read before it is refused, so a secret rotated
//!   elsewhere works immediately;
//! - other changes made elsewhere (another node, the CLI) are seen within
//!   `auth_cache_ttl_ms` (1 s by default; 0 turns the cache off).

use paygate_store::merchants::MerchantRecord;
use secrecy::SecretString;

/// What authentication needs about a merchant.
pub struct CachedMerchant {
    pub record: MerchantRecord,
    /// Secrets usable at `fetched` (current, then previous within grace).
    pub secrets: Vec<SecretString>,
    /// When the previous secret stops being accepted (µs), if there is one.
    pub prev_secret_until: Option<i64>,
}

/// Merchants by public token.
pub type AuthCache = crate::ttl_map::TtlMap<CachedMerchant>;
