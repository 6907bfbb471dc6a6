//! Prefixed, time-ordered opaque ids (`pi_…`, `po_…`, `mch_…`).
//!
//! The body is 48 bits of milliseconds followed by 80 random bits, written in
//! Crockford base32 (the ULID layout), so ids sort by creation time: lists can
//! page with an id cursor and indexes stay append-mostly.

use rand::RngCore;
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Every kind of object that gets an id, with its wire prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Merchant,
    PayIn,
    PayOut,
    Dispute,
    Event,
    Exchange,
    LedgerEntry,
    LedgerTx,
    Requisite,
    Delivery,
    /// A dashboard operator account.
    Operator,
    /// An entry of the audit log.
    Audit,
    /// A provider's refusal of a payment.
    Refusal,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Merchant => "mch_",
            IdKind::PayIn => "pi_",
            IdKind::PayOut => "po_",
            IdKind::Dispute => "dp_",
            IdKind::Event => "evt_",
            IdKind::Exchange => "ex_",
            IdKind::LedgerEntry => "le_",
            IdKind::LedgerTx => "ltx_",
            IdKind::Requisite => "rq_",
            IdKind::Delivery => "dlv_",
            IdKind::Operator => "op_",
            IdKind::Audit => "aud_",
            IdKind::Refusal => "prf_",
        }
    }
}

/// A new id of `kind`, e.g. `pi_01jb3k…` (26 base32 characters after the
/// prefix). Ids made by one process are strictly increasing even within a
/// millisecond, so "newest first" and "creation order" paging by id agree
/// with the order things happened.
pub fn new_id(kind: IdKind) -> String {
    new_monotonic_id(kind)
}

/// Strictly increasing within this process even for ids made in the same
/// millisecond (the random part is incremented past the last id).
pub fn new_monotonic_id(kind: IdKind) -> String {
    use std::sync::Mutex;
    static LAST: Mutex<u128> = Mutex::new(0);
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let candidate = {
        let mut random = [0u8; 10];
        rand::thread_rng().fill_bytes(&mut random);
        // Keep the top random bit clear so increments cannot carry into the time.
        random[0] &= 0x7f;
        let mut v: u128 = u128::from(millis & 0xFFFF_FFFF_FFFF) << 80;
        for (i, b) in random.iter().enumerate() {
            v |= u128::from(*b) << (8 * (9 - i));
        }
        v
    };
    let value = if candidate > *last { candidate } else { *last + 1 };
    *last = value;
    drop(last);
    encode(kind, value)
}

fn encode(kind: IdKind, value: u128) -> String {
    let mut out = String::with_capacity(kind.prefix().len() + 26);
    out.push_str(kind.prefix());
    for i in (0..26).rev() {
        let idx = ((value >> (5 * i)) & 0x1F) as usize;
        out.push(ALPHABET[idx] as char);
    }
    out
}

/// Declares a typed id: a newtype over the id's text that only [`new`]
/// (a fresh id of its kind) and `parse` (text of the right shape) build, so
/// a payout id cannot be passed where a payin id is meant. It derefs to
/// `str` for formatting, SQL binds and comparisons with text.
///
/// [`new`]: PayInId::new
macro_rules! typed_ids {
    ($($(#[$meta:meta])* $name:ident => $kind:expr;)*) => {$(
        $crate::text_newtype!($(#[$meta])* $name);

        impl $name {
            /// A fresh id, ordered after every id this process made before.
            pub fn new() -> $name {
                $name(new_monotonic_id($kind))
            }

            /// `Some` when `text` has the shape of an id of this kind.
            pub fn parse(text: &str) -> Option<$name> {
                looks_like($kind, text).then(|| $name(text.to_string()))
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::new()
            }
        }
    )*};
}

typed_ids! {
    /// `mch_…`
    MerchantId => IdKind::Merchant;
    /// `pi_…`
    PayInId => IdKind::PayIn;
    /// `po_…`
    PayOutId => IdKind::PayOut;
    /// `dp_…`
    DisputeId => IdKind::Dispute;
}

/// True when `s` has the shape of an id of `kind`; used to answer 404 early
/// without a database round trip for obviously foreign ids.
pub fn looks_like(kind: IdKind, s: &str) -> bool {
    s.strip_prefix(kind.prefix()).is_some_and(|body| body.len() == 26 && body.bytes().all(|b| ALPHABET.contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_sort_by_time() {
        let a = new_id(IdKind::PayIn);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(IdKind::PayIn);
        assert!(a.starts_with("pi_") && a.len() == 29, "{a}");
        assert!(a < b, "{a} should sort before {b}");
        assert!(looks_like(IdKind::PayIn, &a));
        assert!(!looks_like(IdKind::PayOut, &a));
        assert!(!looks_like(IdKind::PayIn, "pi_short"));
    }

    #[test]
    fn monotonic_ids_increase() {
        let ids: Vec<_> = (0..1000).map(|_| new_monotonic_id(IdKind::LedgerEntry)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(looks_like(IdKind::LedgerEntry, &ids[0]));
    }

    #[test]
    fn typed_ids_only_take_their_own_kind() {
        let id = PayInId::new();
        assert!(id.starts_with("pi_"), "{id}");
        assert_eq!(PayInId::parse(&id), Some(id.clone()));
        assert_eq!(PayOutId::parse(&id), None, "a payin id is not a payout id");
        assert_eq!(PayInId::parse("pi_short"), None);
        assert!(PayInId::new() > id, "fresh ids sort after older ones");
        assert_eq!(String::from(id.clone()), id.as_str());
    }

    #[test]
    fn ids_are_unique() {
        let set: std::collections::HashSet<_> = (0..10_000).map(|_| new_id(IdKind::Event)).collect();
        assert_eq!(set.len(), 10_000);
    }
}
