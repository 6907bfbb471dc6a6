//! One batch of commands applied in one transaction.
//!
//! 1. Load the rows the commands refer to (locked on PostgreSQL) and the
//!    rows that already carry their order ids (idempotency).
//! 2. Load the balances of every account they may touch, locked in id order
//!    (so batches on several nodes cannot deadlock); missing accounts are 0.
//! 3. Decide every command in memory, in arrival order, against those
//!    balances: a command that would take a merchant bucket below zero is
//!    refused and leaves no trace.
//! 4. Write everything with a handful of multi-row statements.
//!
//! The cost of a batch is nearly independent of its size, which is what lets
//! one hot merchant take thousands of payouts a second without a row lock
//! held across a network round trip per request.

mod disputes;

use super::command::{Adjustment, CmdError, Command, Outcome, PayInChange, PayOutChange};
use super::render::{EventObject, Render};
use crate::db::Backend;
use crate::disputes::DisputeRow;
use crate::payments::{lock_suffix, PayInRow, PayOutRow, PAYIN_COLUMNS, PAYOUT_COLUMNS};
use crate::sql::{bind_all, chunk_sizes, insert_sql, list, pad_pow2, rows_per_statement, P};
use paygate_core::book::{Book, LedgerOf, PostError};
use paygate_core::fees::ResolvedFee;
use paygate_core::ids::{new_monotonic_id, IdKind};
use paygate_core::ledger::{self, AccountRef, Bucket, Leg, SystemAccount};
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_core::rules::{self, Posting, RuleError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::recent::{OrderKey, RecentOrders};

/// Which existing order ids a batch looks up before deciding.
#[derive(Clone, Copy)]
pub enum Lookup<'a> {
    /// Only those the shard saw lately (see `recent.rs`); any other repeat
    /// fails the insert, and the batch is redone [`Lookup::Careful`]ly.
    Recent(&'a RecentOrders),
    /// Every order id the batch creates.
    Careful,
}

/// Result of a batch: one answer per command.
pub struct Applied {
    pub answers: Vec<Result<Outcome, CmdError>>,
    /// Webhook events written; the delivery worker is woken when non-zero.
    pub events: usize,
}

pub struct Batch<'a> {
    backend: Backend,
    /// With [`Lookup::Recent`], new payments whose order ids the shard has not
    /// seen lately are inserted as if none existed, and a conflict (see
    /// `insert_new`) aborts the batch with [`CmdError::Retry`] so it is
    /// redone carefully. It saves a round trip on every batch.
    lookup: Lookup<'a>,
    /// Set in optimistic mode when a create was refused: it may have been a
    /// repeat of an existing order (which must answer 200 or 409, not 402),
    /// so the batch is redone carefully.
    unsure: bool,
    /// (requisite, amount) of pending payins created in this batch: two must
    /// not share both, which the database would refuse for the whole batch.
    requisite_amounts: std::collections::HashSet<(String, i64)>,
    /// Keyed adjustments already posted (loaded) or posted in this batch:
    /// (merchant, key) → (tx_id, mode, currency, amount).
    adjustments: HashMap<OrderKey, (String, String, String, i64)>,
    new_adjustments: Vec<Vec<P>>,
    render: &'a dyn Render,
    now: i64,
    payins: HashMap<String, PayInRow>,
    payin_by_order: HashMap<OrderKey, String>,
    new_payins: Vec<String>,
    dirty_payins: BTreeSet<String>,
    payouts: HashMap<String, PayOutRow>,
    payout_by_order: HashMap<OrderKey, String>,
    new_payouts: Vec<String>,
    dirty_payouts: BTreeSet<String>,
    /// The balances of every account the batch may touch.
    book: Book,
    /// Accounts the batch may touch that do not exist yet, with their
    /// column values; inserted only if a command really moves money on them.
    absent: HashMap<String, Vec<P>>,
    entries: Vec<Vec<P>>,
    events: Vec<Vec<P>>,
    /// object id → sequence of its latest event (loaded, then advanced by
    /// this batch), so each object's events are numbered 1, 2, ….
    sequences: HashMap<String, i64>,
    disputes: HashMap<String, DisputeRow>,
    /// payin id → its open dispute, as loaded and as changed by this batch.
    open_dispute_of: HashMap<String, String>,
    /// payin id → how many disputes it has had (for payins being disputed).
    disputes_of: HashMap<String, usize>,
    new_disputes: Vec<String>,
    dirty_disputes: BTreeSet<String>,
    new_receipts: Vec<(String, Arc<[u8]>)>,
}

const ENTRY_COLUMNS: [&str; 13] = [
    "id",
    "tx_id",
    "account_id",
    "merchant_id",
    "mode",
    "currency",
    "bucket",
    "amount",
    "balance_after",
    "reason",
    "ref_type",
    "ref_id",
    "created_at",
];
const EVENT_COLUMNS: [&str; 9] = [
    "id",
    "merchant_id",
    "event_type",
    "object_id",
    "sequence",
    "callback_url",
    "body",
    "next_attempt_at",
    "created_at",
];
const ACCOUNT_COLUMNS: [&str; 7] = ["id", "owner", "mode", "is_merchant", "currency", "bucket", "created_at"];

/// Which ledger (merchant, mode, currency) a command posts to.
type LedgerKey = (String, String, String);

/// Accounts a command may touch, given the row it refers to.
fn accounts_for(
    cmd: &Command,
    payins: &HashMap<String, PayInRow>,
    payouts: &HashMap<String, PayOutRow>,
) -> Vec<(LedgerKey, Vec<AccountRef>)> {
    use AccountRef::{Merchant, System};
    use Bucket::{Available, Frozen, Hold};
    use SystemAccount::*;
    // Payin and dispute commands post to the ledger of the payin they are about.
    let on_payin = |id: &str, accts: Vec<AccountRef>| {
        payins
            .get(id)
            .map(|r| vec![((r.merchant_id.clone(), r.mode.clone(), r.currency.clone()), accts)])
            .unwrap_or_default()
    };
    match cmd {
        Command::CreatePayIn(_) => vec![],
        Command::CreatePayOut(row) => {
            vec![(
                (row.merchant_id.clone(), row.mode.clone(), row.currency.clone()),
                vec![Merchant(Available), Merchant(Hold)],
            )]
        }
        Command::PayIn(c) => on_payin(&c.id, vec![Merchant(Available), System(ProviderClearing), System(Fees)]),
        Command::PayOut(c) => payouts
            .get(&c.id)
            .map(|r| {
                let accts = vec![Merchant(Available), Merchant(Hold), System(PayoutClearing), System(Fees)];
                vec![((r.merchant_id.clone(), r.mode.clone(), r.currency.clone()), accts)]
            })
            .unwrap_or_default(),
        Command::Adjust(a) => {
            let key = (a.merchant_id.clone(), a.mode.as_str().to_string(), a.currency.clone());
            vec![(key, vec![Merchant(Available), System(Adjustments)])]
        }
        Command::OpenDispute(d) => on_payin(&d.row.payin_id, vec![Merchant(Available), Merchant(Frozen)]),
        Command::Dispute(c) => {
            on_payin(&c.payin_id, vec![Merchant(Available), Merchant(Frozen), System(ProviderClearing), System(Fees)])
        }
    }
}

impl<'a> Batch<'a> {
    pub fn new(backend: Backend, render: &'a dyn Render, now: i64, lookup: Lookup<'a>) -> Self {
        Batch {
            backend,
            lookup,
            unsure: false,
            requisite_amounts: Default::default(),
            adjustments: HashMap::new(),
            new_adjustments: Vec::new(),
            render,
            now,
            payins: HashMap::new(),
            payin_by_order: HashMap::new(),
            new_payins: Vec::new(),
            dirty_payins: BTreeSet::new(),
            payouts: HashMap::new(),
            payout_by_order: HashMap::new(),
            new_payouts: Vec::new(),
            dirty_payouts: BTreeSet::new(),
            book: Book::default(),
            absent: HashMap::new(),
            entries: Vec::new(),
            events: Vec::new(),
            sequences: HashMap::new(),
            disputes: HashMap::new(),
            open_dispute_of: HashMap::new(),
            disputes_of: HashMap::new(),
            new_disputes: Vec::new(),
            dirty_disputes: BTreeSet::new(),
            new_receipts: Vec::new(),
        }
    }

    /// Applies `cmds` on `conn`, which is inside a transaction. An `Err`
    /// means the transaction must be rolled back.
    pub async fn apply(mut self, conn: &mut AnyConnection, cmds: &[Command]) -> Result<Applied, CmdError> {
        let mut phase = super::Phases::start();
        self.load_rows(conn, cmds).await?;
        phase.mark("load_rows");
        self.load_accounts(conn, cmds).await?;
        phase.mark("load_accounts");
        let answers = cmds.iter().map(|c| self.decide(c)).collect();
        phase.mark("decide");
        if self.unsure {
            return Err(CmdError::Retry);
        }
        let events = self.events.len();
        self.persist(conn).await?;
        phase.mark("persist");
        Ok(Applied { answers, events })
    }

    async fn load_rows(&mut self, conn: &mut AnyConnection, cmds: &[Command]) -> Result<(), CmdError> {
        let mut payin_ids = BTreeSet::new();
        let mut payout_ids = BTreeSet::new();
        let mut payin_orders = BTreeSet::new();
        let mut payout_orders = BTreeSet::new();
        // Objects whose events this batch may add to (a new dispute has none yet).
        let mut announced = BTreeSet::new();
        for c in cmds {
            match c {
                Command::CreatePayIn(r) => {
                    payin_orders.insert((r.merchant_id.clone(), r.merchant_order_id.clone()));
                }
                Command::CreatePayOut(r) => {
                    payout_orders.insert((r.merchant_id.clone(), r.merchant_order_id.clone()));
                }
                Command::PayIn(ch) => {
                    payin_ids.insert(ch.id.clone());
                    announced.insert(ch.id.clone());
                }
                Command::PayOut(ch) => {
                    payout_ids.insert(ch.id.clone());
                    announced.insert(ch.id.clone());
                }
                Command::Adjust(_) => {}
                Command::OpenDispute(d) => {
                    payin_ids.insert(d.row.payin_id.clone());
                }
                Command::Dispute(ch) => {
                    payin_ids.insert(ch.payin_id.clone());
                    announced.extend([ch.payin_id.clone(), ch.id.clone()]);
                }
            }
        }
        // Keyed adjustments are rare and operator-driven: always looked up.
        for c in cmds {
            if let Command::Adjust(Adjustment { merchant_id, idempotency_key: Some(key), .. }) = c {
                let row = sqlx::query(
                    "SELECT tx_id, mode, currency, amount FROM adjustments WHERE merchant_id = $1 AND idempotency_key = $2",
                )
                .bind(merchant_id)
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(r) = row {
                    let found = (r.try_get("tx_id")?, r.try_get("mode")?, r.try_get("currency")?, r.try_get("amount")?);
                    self.adjustments.insert((merchant_id.clone(), key.clone()), found);
                }
            }
        }
        if let Lookup::Recent(recent) = self.lookup {
            payin_orders.retain(|k| recent.knows_payin(k));
            payout_orders.retain(|k| recent.knows_payout(k));
        }
        let backend = self.backend;
        for r in fetch_rows(conn, backend, "payins", &PAYIN_COLUMNS, payin_ids, &payin_orders).await? {
            self.remember_payin(PayInRow::from_row(&r)?);
        }
        for r in fetch_rows(conn, backend, "payouts", &PAYOUT_COLUMNS, payout_ids, &payout_orders).await? {
            self.remember_payout(PayOutRow::from_row(&r)?);
        }
        self.load_sequences(conn, announced).await?;
        self.load_disputes(conn, cmds).await
    }

    /// The latest event sequence of each object. Runs after the objects'
    /// rows are locked (PostgreSQL), so no other batch adds to them meanwhile;
    /// the unique `(object_id, sequence)` index stands behind it.
    async fn load_sequences(&mut self, conn: &mut AnyConnection, ids: BTreeSet<String>) -> Result<(), CmdError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = pad_pow2(ids.into_iter().collect::<Vec<_>>());
        let sql = format!(
            "SELECT object_id, MAX(sequence) AS seq FROM events WHERE object_id IN ({}) GROUP BY object_id",
            list(self.backend, 1, ids.len())
        );
        let params = ids.into_iter().map(P::from).collect();
        for r in bind_all(lookup(&sql), params).fetch_all(&mut *conn).await? {
            self.sequences.insert(r.try_get("object_id")?, r.try_get("seq")?);
        }
        Ok(())
    }

    fn remember_payin(&mut self, row: PayInRow) {
        self.payin_by_order.insert((row.merchant_id.clone(), row.merchant_order_id.clone()), row.id.clone());
        self.payins.insert(row.id.clone(), row);
    }

    fn remember_payout(&mut self, row: PayOutRow) {
        self.payout_by_order.insert((row.merchant_id.clone(), row.merchant_order_id.clone()), row.id.clone());
        self.payouts.insert(row.id.clone(), row);
    }

    /// Loads (and on PostgreSQL locks) every existing account the batch may
    /// touch, in id order; accounts that do not exist yet count as zero and
    /// are created only when a command moves money on them, so a refused
    /// request leaves no trace. Two nodes creating the same account at once
    /// collide on its primary key, and the loser's commands are retried.
    async fn load_accounts(&mut self, conn: &mut AnyConnection, cmds: &[Command]) -> Result<(), CmdError> {
        let mut needed: BTreeMap<String, Vec<P>> = BTreeMap::new();
        for c in cmds {
            for ((merchant, mode, currency), refs) in accounts_for(c, &self.payins, &self.payouts) {
                for r in refs {
                    let id = r.account_id(&merchant, &mode, &currency);
                    needed.entry(id.clone()).or_insert_with(|| {
                        vec![
                            id.into(),
                            merchant.clone().into(),
                            mode.clone().into(),
                            i64::from(r.is_merchant()).into(),
                            currency.clone().into(),
                            r.bucket_name().into(),
                            self.now.into(),
                        ]
                    });
                }
            }
        }
        let ids: Vec<&String> = pad_pow2(needed.keys().collect());
        let lock = lock_suffix(self.backend);
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "SELECT id, balance FROM accounts WHERE id IN ({}) ORDER BY id{lock}",
                list(self.backend, 1, chunk.len())
            );
            let params = chunk.iter().map(|s| P::from(s.as_str())).collect();
            for r in bind_all(lookup(&sql), params).fetch_all(&mut *conn).await? {
                self.book.load(r.try_get("id")?, r.try_get("balance")?);
            }
        }
        for (id, columns) in needed {
            if self.book.balance(&id).is_none() {
                self.book.load(id.clone(), 0);
                self.absent.insert(id, columns);
            }
        }
        Ok(())
    }

    fn decide(&mut self, cmd: &Command) -> Result<Outcome, CmdError> {
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

    fn create_payin(&mut self, row: &PayInRow) -> Result<Outcome, CmdError> {
        let key = (row.merchant_id.clone(), row.merchant_order_id.clone());
        if let Some(existing) = self.payin_by_order.get(&key).and_then(|id| self.payins.get(id)) {
            return if existing.request_digest == row.request_digest {
                Ok(Outcome::PayIn { row: Box::new(existing.clone()), created: false })
            } else {
                Err(CmdError::DuplicateOrderId)
            };
        }
        if let Some(requisite) = &row.requisite_id {
            if !self.requisite_amounts.insert((requisite.clone(), row.amount)) {
                // The caller picks other requisites and tries again.
                return Err(CmdError::Store(crate::StoreError::Conflict("payins_pending_requisite".into())));
            }
        }
        self.new_payins.push(row.id.clone());
        self.remember_payin(row.clone());
        Ok(Outcome::PayIn { row: Box::new(row.clone()), created: true })
    }

    fn create_payout(&mut self, row: &PayOutRow) -> Result<Outcome, CmdError> {
        let key = (row.merchant_id.clone(), row.merchant_order_id.clone());
        if let Some(existing) = self.payout_by_order.get(&key).and_then(|id| self.payouts.get(id)) {
            return if existing.request_digest == row.request_digest {
                Ok(Outcome::PayOut { row: Box::new(existing.clone()), created: false })
            } else {
                Err(CmdError::DuplicateOrderId)
            };
        }
        let hold = rules::payout_hold(row.amount, row.fee).map_err(rule_error)?;
        let held = self.post_rules((&row.merchant_id, &row.mode, &row.currency), vec![(hold, &row.id)]);
        if held.is_err() && matches!(self.lookup, Lookup::Recent(_)) {
            self.unsure = true;
        }
        held?;
        self.new_payouts.push(row.id.clone());
        self.remember_payout(row.clone());
        Ok(Outcome::PayOut { row: Box::new(row.clone()), created: true })
    }

    fn change_payin(&mut self, ch: &PayInChange) -> Result<Outcome, CmdError> {
        let row = self
            .payins
            .get(&ch.id)
            .filter(|r| ch.merchant_id.as_ref().is_none_or(|m| *m == r.merchant_id))
            .ok_or(CmdError::NotFound)?;
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
            self.post_rules((&next.merchant_id, &next.mode, &next.currency), vec![(posting, &ch.id)])?;
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

    fn change_payout(&mut self, ch: &PayOutChange) -> Result<Outcome, CmdError> {
        let row = self
            .payouts
            .get(&ch.id)
            .filter(|r| ch.merchant_id.as_ref().is_none_or(|m| *m == r.merchant_id))
            .ok_or(CmdError::NotFound)?;
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
        let (merchant, mode, currency, id) =
            (row.merchant_id.clone(), row.mode.clone(), row.currency.clone(), row.id.clone());
        self.post_rules((&merchant, &mode, &currency), postings.into_iter().map(|p| (p, id.as_str())).collect())?;
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

    fn adjust(&mut self, a: &Adjustment) -> Result<Outcome, CmdError> {
        let mode = a.mode.as_str();
        let available = AccountRef::Merchant(Bucket::Available).account_id(&a.merchant_id, mode, &a.currency);
        let key = a.idempotency_key.as_ref().map(|k| (a.merchant_id.clone(), k.clone()));
        if let Some((tx_id, m, c, amount)) = key.as_ref().and_then(|k| self.adjustments.get(k)) {
            return if (m.as_str(), c.as_str(), *amount) == (mode, a.currency.as_str(), a.amount) {
                let available_after = self.book.balance(&available).unwrap_or(0);
                Ok(Outcome::Adjusted { tx_id: tx_id.clone(), available_after })
            } else {
                Err(CmdError::DuplicateOrderId)
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
            self.adjustments.insert(k, (tx_id.clone(), mode.to_string(), a.currency.clone(), a.amount));
        }
        let available_after = self.book.balance(&available).unwrap_or(0);
        Ok(Outcome::Adjusted { tx_id, available_after })
    }

    /// Posts what the rules decided, each transaction pointing at `ref_id`.
    fn post_rules(&mut self, ledger: (&str, &str, &str), postings: Vec<(Posting, &str)>) -> Result<(), CmdError> {
        let groups = postings.into_iter().map(|(p, id)| (p.legs, p.reason, p.about.as_str(), id)).collect();
        self.post(ledger, groups).map(drop)
    }

    /// Posts one ledger transaction per group, all or nothing (the rules are
    /// `paygate_core::book`'s), and keeps their entries for writing. Returns
    /// the transaction ids.
    fn post(
        &mut self,
        (merchant, mode, currency): (&str, &str, &str),
        groups: Vec<(Vec<Leg>, &str, &str, &str)>,
    ) -> Result<Vec<String>, CmdError> {
        let transactions: Vec<Vec<Leg>> = groups.iter().map(|(legs, ..)| legs.clone()).collect();
        let ledger = LedgerOf { merchant, mode, currency };
        let posted = self.book.post(ledger, &transactions).map_err(|e| match e {
            PostError::InsufficientFunds => CmdError::InsufficientFunds,
            PostError::Overflow => CmdError::Overflow,
            bug => CmdError::Store(crate::StoreError::Corrupt(bug.to_string())),
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

    fn event(
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

    async fn persist(&mut self, conn: &mut AnyConnection) -> Result<(), CmdError> {
        // Inserted in key order, so two nodes inserting overlapping order ids
        // take the unique index's locks in the same order (no deadlock).
        let order_key = |r: &PayInRow| (r.merchant_id.clone(), r.merchant_order_id.clone());
        self.new_payins.sort_by_key(|id| order_key(&self.payins[id]));
        let payout_key = |r: &PayOutRow| (r.merchant_id.clone(), r.merchant_order_id.clone());
        self.new_payouts.sort_by_key(|id| payout_key(&self.payouts[id]));
        let new_payins: Vec<Vec<P>> = self.new_payins.iter().map(|id| self.payins[id].params()).collect();
        insert_new(self.backend, conn, "payins", &PAYIN_COLUMNS, new_payins).await?;
        let new_payouts: Vec<Vec<P>> = self.new_payouts.iter().map(|id| self.payouts[id].params()).collect();
        insert_new(self.backend, conn, "payouts", &PAYOUT_COLUMNS, new_payouts).await?;
        for id in &self.dirty_payins {
            let r = &self.payins[id];
            sqlx::query(
                "UPDATE payins SET status = $2, amount = $3, fee = $4, failure_reason = $5, updated_at = $6, \
                 completed_at = $7, has_open_dispute = $8 WHERE id = $1",
            )
            .bind(&r.id)
            .bind(r.status.as_str())
            .bind(r.amount)
            .bind(r.fee)
            .bind(&r.failure_reason)
            .bind(r.updated_at)
            .bind(r.completed_at)
            .bind(i64::from(r.has_open_dispute))
            .execute(&mut *conn)
            .await?;
        }
        for id in &self.dirty_payouts {
            let r = &self.payouts[id];
            sqlx::query(
                "UPDATE payouts SET status = $2, failure_reason = $3, updated_at = $4, completed_at = $5 WHERE id = $1",
            )
            .bind(&r.id)
            .bind(r.status.as_str())
            .bind(&r.failure_reason)
            .bind(r.updated_at)
            .bind(r.completed_at)
            .execute(&mut *conn)
            .await?;
        }
        let mut created = Vec::new();
        let mut changed = Vec::new();
        for (id, balance) in self.book.touched() {
            match self.absent.get(id) {
                Some(columns) => {
                    let mut row = columns.clone();
                    row.push(balance.into());
                    created.push(row);
                }
                None => changed.push((id.to_string(), balance)),
            }
        }
        let mut columns = ACCOUNT_COLUMNS.to_vec();
        columns.push("balance");
        insert_rows(self.backend, conn, "accounts", &columns, created).await?;
        update_balances(self.backend, conn, changed).await?;
        insert_rows(self.backend, conn, "ledger_entries", &ENTRY_COLUMNS, std::mem::take(&mut self.entries)).await?;
        insert_rows(self.backend, conn, "events", &EVENT_COLUMNS, std::mem::take(&mut self.events)).await?;
        let columns = ["merchant_id", "idempotency_key", "tx_id", "mode", "currency", "amount", "created_at"];
        insert_rows(self.backend, conn, "adjustments", &columns, std::mem::take(&mut self.new_adjustments)).await?;
        self.persist_disputes(conn).await
    }
}

/// A rule's refusal as the writer answers it.
fn rule_error(e: RuleError) -> CmdError {
    match e {
        RuleError::InvalidState { current, wanted } => {
            CmdError::InvalidState { current: current.into(), wanted: wanted.into() }
        }
        RuleError::Overflow => CmdError::Overflow,
    }
}

/// Rows of `table` that the batch's commands refer to: by id (locked, in id
/// order, on PostgreSQL) and by the (merchant, order id) pairs to look up.
async fn fetch_rows(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[&str],
    ids: BTreeSet<String>,
    orders: &BTreeSet<OrderKey>,
) -> Result<Vec<AnyRow>, CmdError> {
    let cols = columns.join(", ");
    let mut rows = Vec::new();
    if !ids.is_empty() {
        let ids = pad_pow2(ids.into_iter().collect::<Vec<_>>());
        let lock = lock_suffix(backend);
        let sql = format!("SELECT {cols} FROM {table} WHERE id IN ({}) ORDER BY id{lock}", list(backend, 1, ids.len()));
        let params = ids.into_iter().map(P::from).collect();
        rows.extend(bind_all(lookup(&sql), params).fetch_all(&mut *conn).await?);
    }
    if !orders.is_empty() {
        let (cond, params) = order_condition(backend, orders);
        let sql = format!("SELECT {cols} FROM {table} WHERE {cond}");
        rows.extend(bind_all(lookup(&sql), params).fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// A lookup statement, planned for its actual parameters every time. Cached
/// (generic) plans are made once, often while a table is still nearly empty,
/// and PostgreSQL then kept scanning the whole table for these lookups as it
/// grew. Planning a small SELECT costs far less than that risk.
fn lookup(sql: &str) -> crate::sql::AnyQuery<'_> {
    sqlx::query(sql).persistent(false)
}

/// `merchant_id IN (…) AND merchant_order_id IN (…)`: both lists are index
/// conditions on the unique (merchant_id, merchant_order_id) index, also in
/// the generic plans PostgreSQL uses for prepared statements (an OR chain of
/// pairs degraded to a table scan there). It may return a few rows of other
/// pairs of the batch's merchants; they exist, so remembering them is right.
fn order_condition(backend: Backend, keys: &BTreeSet<OrderKey>) -> (String, Vec<P>) {
    let merchants: BTreeSet<&str> = keys.iter().map(|(m, _)| m.as_str()).collect();
    let orders: BTreeSet<&str> = keys.iter().map(|(_, o)| o.as_str()).collect();
    let merchants = pad_pow2(merchants.into_iter().collect::<Vec<_>>());
    let orders = pad_pow2(orders.into_iter().collect::<Vec<_>>());
    let cond = format!(
        "merchant_id IN ({}) AND merchant_order_id IN ({})",
        list(backend, 1, merchants.len()),
        list(backend, merchants.len() + 1, orders.len())
    );
    let params = merchants.into_iter().chain(orders).map(P::from).collect();
    (cond, params)
}

/// Inserts new payments; an order id that already exists is reported as
/// [`CmdError::Retry`], so the batch is redone with the existing rows looked
/// up (in careful mode nothing conflicts here, unless another node inserted
/// the same order id a moment ago).
///
/// SQLite leaves such a row alone (`ON CONFLICT DO NOTHING`) and returns
/// the ids that went in, which the autocommit path relies on. PostgreSQL
/// gets a plain `INSERT` that fails as a whole on a repeated order id:
/// `ON CONFLICT` made it probe the unique index once more for every row
/// before inserting (`ExecCheckIndexConstraints`, about an eighth of its
/// CPU per payin in a profile), to save a rollback that real traffic
/// almost never needs.
async fn insert_new(
    backend: Backend,
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<P>>,
) -> Result<(), CmdError> {
    for (size, params) in statement_chunks(rows, columns.len()) {
        match backend {
            Backend::Sqlite => {
                let tail = " ON CONFLICT (merchant_id, merchant_order_id) DO NOTHING RETURNING id";
                let sql = insert_sql(backend, table, columns, size, tail);
                let inserted = bind_all(sqlx::query(&sql), params).fetch_all(&mut *conn).await?.len();
                if inserted < size {
                    return Err(CmdError::Retry);
                }
            }
            Backend::Postgres => {
                let sql = insert_sql(backend, table, columns, size, "");
                if let Err(e) = bind_all(sqlx::query(&sql), params).execute(&mut *conn).await {
                    return Err(match CmdError::from(e) {
                        CmdError::Store(crate::StoreError::Conflict(c)) if is_repeat(table, &c) => CmdError::Retry,
                        other => other,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Whether PostgreSQL refused a new payment's row because it exists: its
/// order id is taken (`UNIQUE (merchant_id, merchant_order_id)`, migration
/// 0003), or its id is, which for a freshly made id means this very command
/// went in before: the writer re-applies a batch whose connection failed,
/// and that can happen after the commit landed. PostgreSQL checks the
/// primary key first, so a re-applied row is refused on `{table}_pkey`.
/// Either way the careful redo finds the existing row.
fn is_repeat(table: &str, constraint: &str) -> bool {
    constraint.strip_prefix(table).is_some_and(|rest| rest == "_pkey" || rest == "_merchant_id_merchant_order_id_key")
}

/// Sets the new balances of existing accounts, all in one statement:
/// `UPDATE accounts SET balance = CASE id WHEN $1 THEN $2 … END WHERE id IN ($1, …)`.
async fn update_balances(
    backend: Backend,
    conn: &mut AnyConnection,
    changed: Vec<(String, i64)>,
) -> Result<(), CmdError> {
    for chunk in changed.chunks(256) {
        let mut cases = String::new();
        let mut params: Vec<P> = Vec::with_capacity(chunk.len() * 3);
        for (id, balance) in chunk {
            params.push(id.clone().into());
            let id_mark = crate::sql::mark(backend, params.len());
            params.push((*balance).into());
            cases.push_str(&format!(" WHEN {id_mark} THEN {}", crate::sql::mark(backend, params.len())));
        }
        let start = params.len() + 1;
        params.extend(chunk.iter().map(|(id, _)| P::from(id.clone())));
        let sql = format!(
            "UPDATE accounts SET balance = CASE id{cases} END WHERE id IN ({})",
            list(backend, start, chunk.len())
        );
        bind_all(sqlx::query(&sql), params).execute(&mut *conn).await?;
    }
    Ok(())
}

/// `rows` as the parameter lists of as few multi-row statements as the
/// column count allows (row count, flattened parameters), moved rather than
/// copied: the writer is one serial chain, and on SQLite its copies are on
/// the path of every batch.
fn statement_chunks(rows: Vec<Vec<P>>, columns: usize) -> Vec<(usize, Vec<P>)> {
    let mut rows = rows.into_iter();
    chunk_sizes(rows.len(), rows_per_statement(columns))
        .into_iter()
        .map(|size| (size, rows.by_ref().take(size).flatten().collect()))
        .collect()
}

async fn insert_rows(
    backend: Backend,
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<P>>,
) -> Result<(), CmdError> {
    for (size, params) in statement_chunks(rows, columns.len()) {
        let sql = insert_sql(backend, table, columns, size, "");
        bind_all(sqlx::query(&sql), params).execute(&mut *conn).await?;
    }
    Ok(())
}
