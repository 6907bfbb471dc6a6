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

mod decide;
mod disputes;
mod load;
mod persist;

use super::command::{CmdError, Command, Outcome};
use super::recent::{OrderKey, RecentOrders};
use super::render::Render;
use super::WriteError;
use crate::db::Backend;
use crate::disputes::DisputeRow;
use crate::payments::{PayInRow, PayOutRow};
use crate::sql::P;
use decide::rule_error;
use load::{fetch_rows, lookup};
use paygate_core::book::Book;
use paygate_core::ids::{DisputeId, MerchantId, PayInId, PayOutId};
use persist::insert_rows;
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The conflict a pending payin meets when another pending payin has its
/// requisites and amount (the unique index of that name, or the same pair
/// twice in one batch): the caller picks other requisites.
pub const REQUISITE_TAKEN: &str = "payins_pending_requisite";

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
    pub answers: Vec<Result<Outcome, WriteError>>,
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
    adjustments: HashMap<(MerchantId, String), (String, String, String, i64)>,
    new_adjustments: Vec<Vec<P>>,
    render: &'a dyn Render,
    now: i64,
    payins: HashMap<PayInId, PayInRow>,
    payin_by_order: HashMap<OrderKey, PayInId>,
    new_payins: Vec<PayInId>,
    dirty_payins: BTreeSet<PayInId>,
    payouts: HashMap<PayOutId, PayOutRow>,
    payout_by_order: HashMap<OrderKey, PayOutId>,
    new_payouts: Vec<PayOutId>,
    dirty_payouts: BTreeSet<PayOutId>,
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
    disputes: HashMap<DisputeId, DisputeRow>,
    /// payin id → its open dispute, as loaded and as changed by this batch.
    open_dispute_of: HashMap<PayInId, DisputeId>,
    /// payin id → how many disputes it has had (for payins being disputed).
    disputes_of: HashMap<PayInId, usize>,
    new_disputes: Vec<DisputeId>,
    dirty_disputes: BTreeSet<DisputeId>,
    new_receipts: Vec<(DisputeId, Arc<[u8]>)>,
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
}
