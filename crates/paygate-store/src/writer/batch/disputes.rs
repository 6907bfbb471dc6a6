//! Disputes inside a batch: opening one (and freezing what it puts at
//! risk), and resolving or cancelling it (returning the frozen funds and,
//! when accepted, re-stating the payin). The rules are in
//! `paygate_core::disputes`; this applies them to the batch's rows and
//! balances, so a dispute's status, its payin, its ledger entries and its
//! webhook events commit together.

use super::{fetch_rows, insert_rows, lookup, Batch};
use crate::disputes::{DisputeRow, DISPUTE_COLUMNS};
use crate::payments::PayInRow;
use crate::sql::{bind_all, list, pad_pow2, P};
use crate::writer::command::{CmdError, Command, DisputeChange, NewDispute, Outcome};
use crate::writer::render::EventObject;
use crate::writer::WriteError;
use crate::StoreError;
use paygate_core::disputes::{disputable, DisputeStatus, DISPUTE_WINDOW_MICROS, MAX_DISPUTES_PER_PAYIN};
use paygate_core::fees::ResolvedFee;
use paygate_core::ids::{DisputeId, PayInId};
use paygate_core::ledger::{AccountRef, Bucket};
use paygate_core::rules::{self, DisputedPayIn, Subject};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeSet;

fn fee_rule(p: &PayInRow) -> ResolvedFee {
    ResolvedFee { percent_e4: p.fee_percent_e4, fixed_minor: p.fee_fixed }
}

impl Batch<'_> {
    /// Disputes being changed (locked on PostgreSQL, like their payins), and
    /// how many disputes (and which open one) the payins about to be disputed
    /// have: `open_dispute_of` only needs those payins.
    pub(super) async fn load_disputes(&mut self, conn: &mut AnyConnection, cmds: &[Command]) -> Result<(), CmdError> {
        let mut ids = BTreeSet::new();
        let mut disputed_payins = BTreeSet::new();
        for c in cmds {
            match c {
                Command::Dispute(ch) => {
                    ids.insert(ch.id.clone());
                }
                Command::OpenDispute(d) => {
                    disputed_payins.insert(d.row.payin_id.clone());
                }
                _ => {}
            }
        }
        if !disputed_payins.is_empty() {
            // Every dispute of these payins: how many there were, which is open.
            let payins = pad_pow2(disputed_payins.into_iter().collect::<Vec<_>>());
            let sql = format!(
                "SELECT id, payin_id, status FROM disputes WHERE payin_id IN ({})",
                list(self.backend, 1, payins.len())
            );
            for r in bind_all(lookup(&sql), payins.into_iter().map(P::from).collect()).fetch_all(&mut *conn).await? {
                let (id, payin_id, status): (String, String, String) =
                    (r.try_get("id")?, r.try_get("payin_id")?, r.try_get("status")?);
                *self.disputes_of.entry(PayInId::from_stored(payin_id.clone())).or_default() += 1;
                if status == DisputeStatus::Open.as_str() {
                    self.open_dispute_of.insert(PayInId::from_stored(payin_id), DisputeId::from_stored(id));
                }
            }
        }
        let rows = fetch_rows(conn, self.backend, "disputes", DISPUTE_COLUMNS, ids, &BTreeSet::new()).await?;
        for r in rows {
            let row = DisputeRow::from_row(&r)?;
            self.disputes.insert(row.id.clone(), row);
        }
        Ok(())
    }

    pub(super) fn open_dispute(&mut self, nd: &NewDispute) -> Result<Outcome, WriteError> {
        let mut payin = self
            .payins
            .get(&nd.row.payin_id)
            .filter(|p| p.merchant_id == nd.row.merchant_id)
            .ok_or(WriteError::NotFound)?
            .clone();
        if !disputable(payin.status) {
            return Err(WriteError::InvalidState { current: payin.status.as_str().into(), wanted: "disputed".into() });
        }
        if self.now - payin.created_at > DISPUTE_WINDOW_MICROS {
            return Err(WriteError::DisputeWindowClosed);
        }
        if self.open_dispute_of.contains_key(&payin.id) {
            return Err(WriteError::DisputeAlreadyOpen);
        }
        if self.disputes_of.get(&payin.id).copied().unwrap_or(0) >= MAX_DISPUTES_PER_PAYIN {
            return Err(WriteError::TooManyDisputes);
        }
        let ledger_key = (payin.merchant_id.clone(), payin.mode.as_str(), payin.currency.clone());
        let available = AccountRef::Merchant(Bucket::Available).account_id(&ledger_key.0, ledger_key.1, &ledger_key.2);
        let available = self.book.balance(&available).unwrap_or(0);
        let (frozen, freeze) =
            rules::dispute_freeze(payin.status, payin.amount, nd.row.claimed_amount, &fee_rule(&payin), available)
                .map_err(super::rule_error)?;

        let mut row = nd.row.clone();
        row.status = DisputeStatus::Open;
        row.mode = payin.mode;
        row.currency = payin.currency.clone();
        row.callback_url = payin.callback_url.clone();
        row.frozen_amount = frozen;
        (row.created_at, row.updated_at, row.resolved_at) = (self.now, self.now, None);
        if let Some(freeze) = freeze {
            self.post_rules((&ledger_key.0, ledger_key.1, &ledger_key.2), vec![(freeze, &row.id)])?;
        }
        payin.has_open_dispute = true;
        payin.updated_at = self.now;
        self.keep_payin(payin.clone());
        self.open_dispute_of.insert(payin.id.clone(), row.id.clone());
        *self.disputes_of.entry(payin.id.clone()).or_default() += 1;
        self.new_disputes.push(row.id.clone());
        self.new_receipts.push((row.id.clone(), nd.receipt.0.clone()));
        self.event(&row.merchant_id, "dispute.open", &row.id, row.callback_url.clone(), EventObject::Dispute(&row));
        self.disputes.insert(row.id.clone(), row.clone());
        Ok(Outcome::Dispute { row: Box::new(row) })
    }

    pub(super) fn change_dispute(&mut self, ch: &DisputeChange) -> Result<Outcome, WriteError> {
        let dispute = self
            .disputes
            .get(ch.id.as_str())
            .filter(|d| d.merchant_id == ch.merchant_id && d.payin_id == ch.payin_id)
            .ok_or(WriteError::NotFound)?
            .clone();
        let payin = self.payins.get(&dispute.payin_id).cloned().ok_or_else(|| {
            WriteError::Store(StoreError::Corrupt(format!("dispute {} without its payin", dispute.id)))
        })?;
        if ch.to == DisputeStatus::Accepted && ch.resolved_amount.is_none() {
            return Err(WriteError::Store(StoreError::Corrupt("dispute accepted without a resolved amount".into())));
        }
        let rule = fee_rule(&payin);
        let disputed = DisputedPayIn { status: payin.status, amount: payin.amount, fee: payin.fee, rule: &rule };
        let resolution =
            rules::dispute_resolution(dispute.status, ch.to, dispute.frozen_amount, disputed, ch.resolved_amount)
                .map_err(super::rule_error)?;
        let mut next = payin.clone();
        next.has_open_dispute = false;
        next.updated_at = self.now;
        if let Some(restated) = resolution.payin {
            if restated.status != payin.status {
                next.status = restated.status;
                next.completed_at = Some(self.now);
                next.failure_reason = None;
            }
            (next.amount, next.fee) = (restated.amount, restated.fee);
        }
        // All or nothing: a re-statement the available balance cannot cover
        // refuses the whole resolution, and the funds stay frozen.
        let postings = resolution
            .postings
            .into_iter()
            .map(|p| {
                let about = if p.about == Subject::Dispute { dispute.id.as_str() } else { payin.id.as_str() };
                (p, about)
            })
            .collect();
        self.post_rules((&payin.merchant_id, payin.mode.as_str(), &payin.currency), postings)?;

        let mut row = dispute;
        row.status = ch.to;
        row.updated_at = self.now;
        row.resolved_at = Some(self.now);
        row.resolution_comment = ch.comment.clone();
        match ch.to {
            DisputeStatus::Accepted => row.resolved_amount = ch.resolved_amount,
            DisputeStatus::Rejected => row.resolution_reason = ch.reason.clone(),
            DisputeStatus::Open | DisputeStatus::Cancelled => {}
        }
        self.open_dispute_of.remove(&row.payin_id);
        if !self.new_disputes.contains(&row.id) {
            self.dirty_disputes.insert(row.id.clone());
        }
        let event = format!("dispute.{}", row.status.as_str());
        self.event(&row.merchant_id, &event, &row.id, row.callback_url.clone(), EventObject::Dispute(&row));
        if ch.to == DisputeStatus::Accepted {
            self.event(
                &next.merchant_id,
                "payin.success",
                &next.id,
                next.callback_url.clone(),
                EventObject::PayIn(&next),
            );
        }
        self.keep_payin(next.clone());
        self.disputes.insert(row.id.clone(), row.clone());
        Ok(Outcome::Dispute { row: Box::new(row) })
    }

    /// Remembers a changed payin and marks it for an UPDATE (a payin created
    /// in this batch is inserted with its latest values instead).
    pub(super) fn keep_payin(&mut self, row: PayInRow) {
        if !self.new_payins.contains(&row.id) {
            self.dirty_payins.insert(row.id.clone());
        }
        self.payins.insert(row.id.clone(), row);
    }

    pub(super) async fn persist_disputes(&mut self, conn: &mut AnyConnection) -> Result<(), CmdError> {
        let new: Vec<Vec<P>> = self.new_disputes.iter().map(|id| self.disputes[id].params()).collect();
        insert_rows(self.backend, conn, "disputes", DISPUTE_COLUMNS, new).await?;
        for (id, data) in std::mem::take(&mut self.new_receipts) {
            sqlx::query("INSERT INTO dispute_receipts (dispute_id, data) VALUES ($1, $2)")
                .bind(id.as_str())
                .bind(&data[..])
                .execute(&mut *conn)
                .await?;
        }
        for id in &self.dirty_disputes {
            let r = &self.disputes[id];
            sqlx::query(
                "UPDATE disputes SET status = $2, resolved_amount = $3, resolution_reason = $4, \
                 resolution_comment = $5, updated_at = $6, resolved_at = $7 WHERE id = $1",
            )
            .bind(r.id.as_str())
            .bind(r.status.as_str())
            .bind(r.resolved_amount)
            .bind(&r.resolution_reason)
            .bind(&r.resolution_comment)
            .bind(r.updated_at)
            .bind(r.resolved_at)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}
