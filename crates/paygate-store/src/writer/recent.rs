//! The order ids a writer shard created or was asked about lately.
//!
//! Batches skip looking up order ids (a round trip on every batch) and
//! insert as if each were new; a repeat then fails the insert, and the whole
//! batch had to be redone with every order id looked up. Clients repeat
//! exactly the ids they sent a moment ago (a retry after a timeout, two
//! workers of one shop), so the shard remembers the ids of its recent creates
//! and a batch looks up just those: a repeat costs one read inside the batch
//! it joined, not a redo of the batch. A repeat of an older id, or of one
//! another node created, still meets the insert's conflict and takes the
//! careful path. Commands of one merchant always go to the same shard, so
//! each shard's memory covers its merchants.

use super::command::Command;
use paygate_core::ids::MerchantId;
use paygate_core::payments::MerchantOrderId;
use std::collections::{HashSet, VecDeque};

pub(crate) type OrderKey = (MerchantId, MerchantOrderId);

/// How many order ids of each kind a shard remembers (about 8 MiB at most).
const CAPACITY: usize = 65_536;

#[derive(Default)]
pub(crate) struct RecentOrders {
    payins: Recent,
    payouts: Recent,
}

#[derive(Default)]
struct Recent {
    keys: HashSet<OrderKey>,
    order: VecDeque<OrderKey>,
}

impl Recent {
    fn remember(&mut self, key: &OrderKey) {
        if self.keys.insert(key.clone()) {
            self.order.push_back(key.clone());
            if self.order.len() > CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.keys.remove(&old);
                }
            }
        }
    }
}

impl RecentOrders {
    /// Remembers the order ids `cmds` create (whatever became of them: a
    /// false memory costs one lookup that finds nothing).
    pub(crate) fn remember(&mut self, cmds: &[Command]) {
        for c in cmds {
            match c {
                Command::CreatePayIn(r) => self.payins.remember(&(r.merchant_id.clone(), r.merchant_order_id.clone())),
                Command::CreatePayOut(r) => {
                    self.payouts.remember(&(r.merchant_id.clone(), r.merchant_order_id.clone()))
                }
                _ => {}
            }
        }
    }

    pub(crate) fn knows_payin(&self, key: &OrderKey) -> bool {
        self.payins.keys.contains(key)
    }

    pub(crate) fn knows_payout(&self, key: &OrderKey) -> bool {
        self.payouts.keys.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let mut r = Recent::default();
        let m = MerchantId::from_stored("m".into());
        for i in 0..=CAPACITY {
            r.remember(&(m.clone(), MerchantOrderId::from_stored(i.to_string())));
        }
        assert!(!r.keys.contains(&(m.clone(), MerchantOrderId::from_stored("0".into()))));
        assert!(r.keys.contains(&(m.clone(), MerchantOrderId::from_stored("1".into()))));
        assert!(r.keys.contains(&(m.clone(), MerchantOrderId::from_stored(CAPACITY.to_string()))));
        r.remember(&(m.clone(), MerchantOrderId::from_stored("1".into())));
        assert_eq!(r.order.len(), CAPACITY, "a repeat is not stored twice");
    }
}
