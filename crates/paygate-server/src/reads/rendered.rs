//! Status polls answered from bodies rendered once per version of a
//! payment.
//!
//! A merchant polls a pending payment many times before it changes. Each
//! batch of polls first reads only the ids and versions of the payments it
//! asks about (two columns, where a full payin is 33), and answers every
//! payment whose version it has a body for with that body; only payments
//! it has no body for at that version are read in full and rendered, and
//! their bodies kept for the next polls.
//!
//! Freshness is still that of a direct read: both statements start after
//! every poll in the batch arrived, and a version names exactly one state
//! of the row (every UPDATE of `payins` and `payouts` raises it: the writer
//! itself, and a trigger any other UPDATE, migration 0022), so a kept body
//! is served only while the database still holds the row it was rendered
//! from, on any node.

use super::pages::envelope;
use crate::payments::views::{payin_out, payout_out, EventRenderer};
use axum::body::Bytes;
use paygate_store::payments::{Kind, PayInRow, PayOutRow};
use paygate_store::point_reads::{PaymentKey, PollReader, Stamp, Versioned};
use paygate_store::{Db, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bodies kept per kind of payment: about 1 KB each without metadata and
/// at most ~6 KB with (metadata is capped at 4 KiB), so ~8 MB typically and
/// never above ~50 MB. Past it, an eighth of them (whichever the map yields
/// first) make room: a poll of an evicted payment costs one full read again.
const KEPT: usize = 8_192;

/// One payment's answer to a poll: what matches a poll's key to it, and
/// its `{"success": true, "data": …}` body.
#[derive(Debug)]
pub struct Answer {
    pub id: String,
    pub merchant_id: String,
    pub merchant_order_id: String,
    pub body: Bytes,
}

pub struct Rendered {
    kind: Kind,
    /// This kind's own statements (one connection on PostgreSQL).
    reads: PollReader,
    render: Arc<EventRenderer>,
    /// By payment id: the version its body was rendered at, and the answer.
    kept: Mutex<HashMap<String, (i64, Arc<Answer>)>>,
}

impl Rendered {
    pub fn new(kind: Kind, db: &Db, render: Arc<EventRenderer>) -> Rendered {
        Rendered { kind, reads: db.poll_reader(), render, kept: Mutex::new(HashMap::new()) }
    }

    /// The answers for the payments `keys` name, of any merchant (the
    /// caller keeps its own), as the database holds them now.
    pub async fn read(&self, keys: Vec<PaymentKey>) -> Result<Vec<Arc<Answer>>, StoreError> {
        let stamps = self.reads.payment_stamps(self.kind, &keys).await?;
        let mut answers = Vec::with_capacity(stamps.len());
        let mut missing = Vec::new();
        {
            let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            for Stamp { id, version } in stamps {
                match kept.get(&id) {
                    Some((kept_version, answer)) if *kept_version == version => answers.push(answer.clone()),
                    _ => missing.push(id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(answers);
        }
        // Read after the versions: a row that changed meanwhile comes back
        // newer than its stamp, with its own version, which is what it is kept under.
        let fresh = self.render_rows(&missing).await?;
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() + fresh.len() > KEPT {
            let spare: Vec<String> = kept.keys().take(KEPT / 8 + fresh.len()).cloned().collect();
            for id in spare {
                kept.remove(&id);
            }
        }
        for (version, answer) in fresh {
            kept.insert(answer.id.clone(), (version, answer.clone()));
            answers.push(answer);
        }
        Ok(answers)
    }

    async fn render_rows(&self, ids: &[String]) -> Result<Vec<(i64, Arc<Answer>)>, StoreError> {
        let (kind, render) = (self.kind, &self.render);
        Ok(match kind {
            Kind::PayIn => {
                let rows: Vec<Versioned<PayInRow>> = self.reads.versioned(kind, ids).await?;
                let body = |r: &PayInRow| envelope(payin_out(r, &render.currencies, &render.public_base));
                rows.iter()
                    .map(|v| (v.version, answer(&v.row.id, &v.row.merchant_id, &v.row.merchant_order_id, body(&v.row))))
                    .collect()
            }
            Kind::PayOut => {
                let rows: Vec<Versioned<PayOutRow>> = self.reads.versioned(kind, ids).await?;
                let body = |r: &PayOutRow| envelope(payout_out(r, &render.currencies));
                rows.iter()
                    .map(|v| (v.version, answer(&v.row.id, &v.row.merchant_id, &v.row.merchant_order_id, body(&v.row))))
                    .collect()
            }
        })
    }
}

fn answer(id: &str, merchant_id: &str, merchant_order_id: &str, body: Bytes) -> Arc<Answer> {
    Arc::new(Answer {
        id: id.to_string(),
        merchant_id: merchant_id.to_string(),
        merchant_order_id: merchant_order_id.to_string(),
        body,
    })
}
