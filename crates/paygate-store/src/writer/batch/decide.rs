//! Step 3 of a batch: every command decided in memory, in arrival order, by
//! the rules of `paygate_core::rules`, posting to the batch's `Book`. A
//! refused command leaves no trace; what the accepted ones change is kept
//! for `persist`.

use super::{Batch, Lookup};
use crate::payments::{PayInRow, PayOutRow};
use crate::writer::command::{Adjustment, Command, Outcome, PayInChange, PayOutChange};
use crate::writer::render::EventObject;
use crate::writer::WriteError;
use paygate_core::book::{LedgerOf, PostError};
use paygate_core::fees::ResolvedFee;
use paygate_core::ids::{new_monotonic_id, IdKind};
use paygate_core::ledger::{self, AccountRef, Bucket, Leg};
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_core::rules::{self, Posting, RuleError};

impl Batch<'_> {
    pub(super) fn decide(&mut self, cmd: &Command) -> Result<Outcome, WriteError> {
        match cmd {
            Command::CreatePayIn(row) => self.create_payin(row),
            Command::CreatePayOut(row) => self.create_payout(row),
            Command::PayIn(change) => self.change_payin(change),
            Command::PayOut(change) => self.change_payout(change),
            Command::Adjust(adj) => self.adjust(adj),
            Command::OpenDispute(d) => self.open_dispute(d),
            Command::Dispute(change) => self.change_dispute(change),
        }
    }

    pub(super) fn create_payin(&mut self, row: &PayInRow) -> Result<Outcome, WriteError> {
        let key = (row.merchant_id.clone(), row.merchant_order_id.clone());
        if let Some(existing) = self.payin_by_order.get(&key).and_then(|id| self.payins.get(id)) {
            return if existing.request_digest == row.request_digest {
                Ok(Outcome::PayIn { row: Box::new(existing.clone()), created: false })
            } else {
                Err(WriteError::DuplicateOrderId)
            };
        }
        if let Some(requisite) = &row.requisite_id {
            if !self.requisite_amounts.insert((requisite.clone(), row.amount)) {
                // The caller picks other requisites and tries again.
                return Err(WriteError::Store(crate::StoreError::Conflict(super::REQUISITE_TAKEN.into())));
            }
        }
        self.new_payins.push(row.id.clone());
        self.remember_payin(row.clone());
        Ok(Outcome::PayIn { row: Box::new(row.clone()), created: true })
    }

    pub(super) fn create_payout(&mut self, row: &PayOutRow) -> Result<Outcome, WriteError> {
        let key = (row.merchant_id.clone(), row.merchant_order_id.clone());
        if let Some(existing) = self.payout_by_order.get(&key).and_then(|id| self.payouts.get(id)) {
            return if existing.request_digest == row.request_digest {
                Ok(Outcome::PayOut { row: Box::new(existing.clone()), created: false })
            } else {
                Err(WriteError::DuplicateOrderId)
            };
        }
        let hold = rules::payout_hold(row.amount, row.fee).map_err(rule_error)?;
        let held = self.post_rules((&row.merchant_id, row.mode.as_str(), &row.currency), vec![(hold, &row.id)]);
        if held.is_err() && matches!(self.lookup, Lookup::Recent(_)) {
            self.unsure = true;
        }
        held?;
        self.new_payouts.push(row.id.clone());
        self.remember_payout(row.clone());
        Ok(Outcome::PayOut { row: Box::new(row.clone()), created: true })
    }

    pub(super) fn change_payin(&mut self, ch: &PayInChange) -> Result<Outcome, WriteError> {
        let row = self
            .payins
            .get(ch.id.as_str())
            .filter(|r| ch.merchant_id.as_ref().is_none_or(|m| r.merchant_id == *m))
            .ok_or(WriteError::NotFound)?;
        let rule = ResolvedFee { percent_e4: row.fee_percent_e4, fixed_minor: row.fee_fixed };
        let moved =
            rules::payin_move(row.status, ch.to, (row.amount, row.fee), ch.amount, &rule).map_err(rule_error)?;
        let mut next = row.clone();
        next.status = ch.to;
        next.updated_at = self.now;
        next.completed_at = Some(self.now);
        (next.amount, next.fee) = (moved.amount, moved.fee);
        if ch.to == PayInStatus::Failed {
            next.failure_reason = ch.reason.clone();
        }
        if let Some(posting) = moved.posting {
            self.post_rules((&next.merchant_id, next.mode.as_str(), &next.currency), vec![(posting, &ch.id)])?;
        }
        self.event(
            &next.merchant_id,
            &format!("payin.{}", ch.to.as_str()),
            &next.id,
            next.callback_url.clone(),
            EventObject::PayIn(&next),
        );
        self.keep_payin(next.clone());
        Ok(Outcome::PayIn { row: Box::new(next), created: false })
    }

    pub(super) fn change_payout(&mut self, ch: &PayOutChange) -> Result<Outcome, WriteError> {
        let row = self
            .payouts
            .get(ch.id.as_str())
            .filter(|r| ch.merchant_id.as_ref().is_none_or(|m| r.merchant_id == *m))
            .ok_or(WriteError::NotFound)?;
        let steps = rules::payout_moves(row.status, &ch.path, row.amount, row.fee).map_err(rule_error)?;
        let mut states = vec![row.clone()];
        let mut postings = Vec::new();
        for step in steps {
            let mut next = states.last().expect("starts non-empty").clone();
            next.status = step.to;
            next.updated_at = self.now;
            if step.to.is_final() {
                next.completed_at = Some(self.now);
            }
            if matches!(step.to, PayOutStatus::Failed | PayOutStatus::Cancelled) {
                next.failure_reason = ch.reason.clone();
            }
            postings.extend(step.posting);
            states.push(next);
        }
        let (merchant, mode, currency, id) = (row.merchant_id.clone(), row.mode, row.currency.clone(), row.id.clone());
        self.post_rules(
            (&merchant, mode.as_str(), &currency),
            postings.into_iter().map(|p| (p, id.as_str())).collect(),
        )?;
        for st in &states[1..] {
            self.event(
                &merchant,
                &format!("payout.{}", st.status.as_str()),
                &id,
                st.callback_url.clone(),
                EventObject::PayOut(st),
            );
        }
        let last = states.pop().expect("at least the original");
        if !self.new_payouts.contains(&id) {
            self.dirty_payouts.insert(id.clone());
        }
        self.payouts.insert(id, last.clone());
        Ok(Outcome::PayOut { row: Box::new(last), created: false })
    }

    pub(super) fn adjust(&mut self, a: &Adjustment) -> Result<Outcome, WriteError> {
        let mode = a.mode.as_str();
        let available = AccountRef::Merchant(Bucket::Available).account_id(&a.merchant_id, mode, &a.currency);
        let key = a.idempotency_key.as_ref().map(|k| (a.merchant_id.clone(), k.clone()));
        if let Some((tx_id, m, c, amount)) = key.as_ref().and_then(|k| self.adjustments.get(k)) {
            return if (m.as_str(), c.as_str(), *amount) == (mode, a.currency.as_str(), a.amount) {
                let available_after = self.book.balance(&available).unwrap_or(0);
                Ok(Outcome::Adjusted { tx_id: tx_id.clone(), available_after })
            } else {
                Err(WriteError::DuplicateOrderId)
            };
        }
        // The operator's reason is what the merchant reads in the history.
        let reason = format!("adjustment: {}", a.reason);
        let legs = ledger::adjustment(a.amount);
        let tx_ids = self.post((&a.merchant_id, mode, &a.currency), vec![(legs, reason.as_str(), "adjustment", "")])?;
        let tx_id = tx_ids.into_iter().next().unwrap_or_default();
        if let Some(k) = key {
            self.new_adjustments.push(vec![
                k.0.clone().into(),
                k.1.clone().into(),
                tx_id.clone().into(),
                mode.into(),
                a.currency.clone().into(),
                a.amount.into(),
                self.now.into(),
            ]);
            self.adjustments.insert(k, (tx_id.clone(), mode.to_string(), a.currency.to_string(), a.amount));
        }
        let available_after = self.book.balance(&available).unwrap_or(0);
        Ok(Outcome::Adjusted { tx_id, available_after })
    }

    /// Posts what the rules decided, each transaction pointing at `ref_id`.
    pub(super) fn post_rules(
        &mut self,
        ledger: (&str, &str, &str),
        postings: Vec<(Posting, &str)>,
    ) -> Result<(), WriteError> {
        let groups = postings.into_iter().map(|(p, id)| (p.legs, p.reason, p.about.as_str(), id)).collect();
        self.post(ledger, groups).map(drop)
    }

    /// Posts one ledger transaction per group, all or nothing (the rules are
    /// `paygate_core::book`'s), and keeps their entries for writing. Returns
    /// the transaction ids.
    pub(super) fn post(
        &mut self,
        (merchant, mode, currency): (&str, &str, &str),
        groups: Vec<(Vec<Leg>, &str, &str, &str)>,
    ) -> Result<Vec<String>, WriteError> {
        let transactions: Vec<Vec<Leg>> = groups.iter().map(|(legs, ..)| legs.clone()).collect();
        let ledger = LedgerOf { merchant, mode, currency };
        let posted = self.book.post(ledger, &transactions).map_err(|e| match e {
            PostError::InsufficientFunds => WriteError::InsufficientFunds,
            PostError::Overflow => WriteError::Overflow,
            bug => WriteError::Store(crate::StoreError::Corrupt(bug.to_string())),
        })?;
        let mut tx_ids = Vec::with_capacity(groups.len());
        for ((_, reason, ref_type, ref_id), entries) in groups.iter().zip(posted) {
            let tx_id = new_monotonic_id(IdKind::LedgerTx);
            for e in entries {
                self.entries.push(vec![
                    new_monotonic_id(IdKind::LedgerEntry).into(),
                    tx_id.clone().into(),
                    e.account_id.into(),
                    merchant.into(),
                    mode.into(),
                    currency.into(),
                    e.account.bucket_name().into(),
                    e.delta.into(),
                    e.balance_after.into(),
                    (*reason).into(),
                    (*ref_type).into(),
                    (!ref_id.is_empty()).then(|| ref_id.to_string()).into(),
                    self.now.into(),
                ]);
            }
            tx_ids.push(tx_id);
        }
        Ok(tx_ids)
    }

    pub(super) fn event(
        &mut self,
        merchant: &str,
        event: &str,
        object_id: &str,
        callback_url: Option<String>,
        object: EventObject<'_>,
    ) {
        let id = new_monotonic_id(IdKind::Event);
        let sequence = self.sequences.entry(object_id.to_string()).or_insert(0);
        *sequence += 1;
        let sequence = *sequence;
        let body = self.render.event_body(&id, event, sequence, self.now, object);
        self.events.push(vec![
            id.into(),
            merchant.into(),
            event.into(),
            object_id.into(),
            sequence.into(),
            callback_url.into(),
            body.into(),
            self.now.into(),
            self.now.into(),
        ]);
    }
}

/// A rule's refusal as the writer answers it.
pub(super) fn rule_error(e: RuleError) -> WriteError {
    match e {
        RuleError::InvalidState { current, wanted } => {
            WriteError::InvalidState { current: current.into(), wanted: wanted.into() }
        }
        RuleError::Overflow => WriteError::Overflow,
    }
}
