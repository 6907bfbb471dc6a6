//! What the writer is asked to do, and what it answers.

use super::typed::WriteError;
use crate::disputes::DisputeRow;
use crate::payments::{PayInRow, PayOutRow};
use crate::StoreError;
use paygate_core::disputes::DisputeStatus;
use paygate_core::ids::MerchantId;
use paygate_core::money::CurrencyCode;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_core::tokens::Mode;
use std::sync::Arc;

/// A state change of a payin. `merchant_id` scopes the lookup: a merchant
/// asking about another merchant's payin gets `NotFound`. `None` is the
/// operator or a worker.
#[derive(Clone, Debug)]
pub struct PayInChange {
    pub id: String,
    pub merchant_id: Option<String>,
    pub to: PayInStatus,
    /// The amount actually received (confirm with a different amount).
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

/// A payout moving along `path` (one or more statuses in order, e.g.
/// `[processing, success]` when the sandbox settles at once); each step is
/// checked and announced.
#[derive(Clone, Debug)]
pub struct PayOutChange {
    pub id: String,
    pub merchant_id: Option<String>,
    pub path: Vec<PayOutStatus>,
    pub reason: Option<String>,
}

/// An operator credit (positive) or debit (negative) of `available`.
#[derive(Clone, Debug)]
pub struct Adjustment {
    pub merchant_id: MerchantId,
    /// Which ledger: test and live money are kept apart.
    pub mode: Mode,
    pub currency: CurrencyCode,
    pub amount: i64,
    pub reason: String,
    /// When given, a repeat with the same key returns the first posting;
    /// the same key with another amount, currency or mode is refused.
    pub idempotency_key: Option<String>,
}

/// A dispute to open (status `open`, nothing frozen yet: the writer decides
/// that) with its receipt, stored in the same transaction.
#[derive(Clone, Debug)]
pub struct NewDispute {
    pub row: DisputeRow,
    pub receipt: ReceiptBytes,
}

/// Receipt bytes; `Debug` shows only their size, so a logged command never
/// carries a customer's document.
#[derive(Clone)]
pub struct ReceiptBytes(pub Arc<[u8]>);

impl std::fmt::Debug for ReceiptBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiptBytes({} bytes)", self.0.len())
    }
}

/// A dispute being resolved (operator) or cancelled (merchant).
/// `payin_id` is the dispute's payin, read beforehand so the batch can load
/// and lock both rows at once; the writer checks it matches.
#[derive(Clone, Debug)]
pub struct DisputeChange {
    pub id: String,
    pub payin_id: String,
    /// Scopes the lookup to this merchant's disputes.
    pub merchant_id: String,
    pub to: DisputeStatus,
    /// Required when accepting: the payin's new amount.
    pub resolved_amount: Option<i64>,
    /// Required when rejecting: `payment_not_found`, `fake_receipt`, …
    pub reason: Option<String>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Command {
    /// Insert a pending payin unless the merchant's order id exists.
    CreatePayIn(Box<PayInRow>),
    /// Insert a payout and hold its funds, unless the order id exists.
    CreatePayOut(Box<PayOutRow>),
    PayIn(PayInChange),
    PayOut(PayOutChange),
    Adjust(Adjustment),
    /// Open a dispute on a payin, freezing what it puts at risk.
    OpenDispute(Box<NewDispute>),
    Dispute(DisputeChange),
}

impl Command {
    /// Bytes the command carries beyond its row (a receipt), so one batch
    /// does not gather hundreds of megabytes of uploads.
    pub fn payload_bytes(&self) -> usize {
        match self {
            Command::OpenDispute(d) => d.receipt.0.len(),
            _ => 0,
        }
    }

    /// Which writer shard takes the command: the merchant when known, so a
    /// merchant's commands are decided by one task and never wait on each
    /// other's row locks; the object id otherwise.
    pub fn shard_key(&self) -> &str {
        match self {
            Command::CreatePayIn(r) => &r.merchant_id,
            Command::CreatePayOut(r) => &r.merchant_id,
            Command::PayIn(c) => c.merchant_id.as_deref().unwrap_or(&c.id),
            Command::PayOut(c) => c.merchant_id.as_deref().unwrap_or(&c.id),
            Command::Adjust(a) => &a.merchant_id,
            Command::OpenDispute(d) => &d.row.merchant_id,
            Command::Dispute(c) => &c.merchant_id,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Outcome {
    /// `created: false` for an idempotent repeat (HTTP 200 instead of 201).
    PayIn {
        row: Box<PayInRow>,
        created: bool,
    },
    PayOut {
        row: Box<PayOutRow>,
        created: bool,
    },
    Adjusted {
        tx_id: String,
        available_after: i64,
    },
    /// The dispute after the change.
    Dispute {
        row: Box<DisputeRow>,
    },
}

/// How applying a batch can end besides its answers: a failure every
/// command of it shares (as callers will see it), or a retry the writer
/// settles itself (`retry.rs`) and no caller ever sees.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error(transparent)]
    Failed(#[from] WriteError),
    /// An optimistic batch met an order id it did not look up: redo it with
    /// every order id looked up.
    #[error("batch must be retried")]
    Retry,
}

impl From<StoreError> for CmdError {
    fn from(e: StoreError) -> Self {
        CmdError::Failed(WriteError::Store(e))
    }
}

impl From<sqlx::Error> for CmdError {
    fn from(e: sqlx::Error) -> Self {
        CmdError::Failed(WriteError::Store(e.into()))
    }
}

impl CmdError {
    /// As a caller sees it; a retry that escaped is a bug, reported as such.
    pub fn into_write_error(self) -> WriteError {
        match self {
            CmdError::Failed(e) => e,
            CmdError::Retry => WriteError::Store(StoreError::Corrupt("an internal retry escaped the writer".into())),
        }
    }
}
