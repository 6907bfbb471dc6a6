//! The writer as callers use it: one method per command, each with the
//! answer of its own kind. The batching, the queue's `Command`/`Outcome`
//! pair and the writer's internal retries stay behind these methods, so no
//! caller matches an outcome it did not ask for.

use super::command::{Adjustment, Command, DisputeChange, NewDispute, Outcome, PayInChange, PayOutChange};
use super::Writer;
use crate::disputes::DisputeRow;
use crate::payments::{PayInRow, PayOutRow};
use crate::StoreError;

/// Why the writer refused or could not apply a command; nothing of it was
/// written (except where [`WriteError::Stalled`] says it may have been).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not found")]
    NotFound,
    #[error("cannot move from {current} to {wanted}")]
    InvalidState { current: String, wanted: String },
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The order id (or adjustment key) was used with other values.
    #[error("merchant_order_id already used with different parameters")]
    DuplicateOrderId,
    #[error("this payin already has an open dispute")]
    DisputeAlreadyOpen,
    #[error("disputes can be opened within 7 days of the payin's creation")]
    DisputeWindowClosed,
    #[error("this payin has been disputed too many times")]
    TooManyDisputes,
    #[error("amount arithmetic overflows")]
    Overflow,
    /// The pending payin's requisites were taken for the same amount a
    /// moment ago: pick others and try again.
    #[error("requisites taken for this amount")]
    RequisitesTaken,
    #[error("the writer has stopped")]
    Unavailable,
    /// The database did not answer within the writer's deadline; the
    /// command may or may not have been applied.
    #[error("the database did not answer within the writer's deadline")]
    Stalled,
    #[error(transparent)]
    Store(StoreError),
}

/// A create's answer: the row, and whether this request made it (`false`:
/// an exact repeat of an existing order, answered with it).
#[derive(Debug, Clone)]
pub struct Created<T> {
    pub row: T,
    pub created: bool,
}

/// An adjustment's ledger transaction and the `available` it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjusted {
    pub tx_id: String,
    pub available_after: i64,
}

/// The writer answered a command with another command's outcome: a bug.
fn mismatch(outcome: Outcome) -> WriteError {
    WriteError::Store(StoreError::Corrupt(format!("writer answered with {outcome:?}")))
}

impl Writer {
    /// A payin on the manual provider's requisites may meet another pending
    /// payin of the same amount on them ([`WriteError::RequisitesTaken`]).
    pub async fn create_payin(&self, row: PayInRow) -> Result<Created<PayInRow>, WriteError> {
        let on_requisites = row.requisite_id.is_some();
        match self.submit(Command::CreatePayIn(Box::new(row))).await {
            Ok(Outcome::PayIn { row, created }) => Ok(Created { row: *row, created }),
            Ok(other) => Err(mismatch(other)),
            // SQLite does not name the index a row broke; with requisites the
            // unique (requisite, amount) of pending payins is the one left,
            // since a repeated order id is answered, not refused.
            Err(WriteError::Store(StoreError::Conflict(_))) if on_requisites => Err(WriteError::RequisitesTaken),
            Err(e) => Err(e),
        }
    }

    /// Holds `amount + fee` in the same transaction, or refuses with
    /// [`WriteError::InsufficientFunds`].
    pub async fn create_payout(&self, row: PayOutRow) -> Result<Created<PayOutRow>, WriteError> {
        match self.submit(Command::CreatePayOut(Box::new(row))).await? {
            Outcome::PayOut { row, created } => Ok(Created { row: *row, created }),
            other => Err(mismatch(other)),
        }
    }

    pub async fn move_payin(&self, change: PayInChange) -> Result<PayInRow, WriteError> {
        match self.submit(Command::PayIn(change)).await? {
            Outcome::PayIn { row, .. } => Ok(*row),
            other => Err(mismatch(other)),
        }
    }

    pub async fn move_payout(&self, change: PayOutChange) -> Result<PayOutRow, WriteError> {
        match self.submit(Command::PayOut(change)).await? {
            Outcome::PayOut { row, .. } => Ok(*row),
            other => Err(mismatch(other)),
        }
    }

    pub async fn adjust(&self, adjustment: Adjustment) -> Result<Adjusted, WriteError> {
        match self.submit(Command::Adjust(adjustment)).await? {
            Outcome::Adjusted { tx_id, available_after } => Ok(Adjusted { tx_id, available_after }),
            other => Err(mismatch(other)),
        }
    }

    /// The dispute as opened (with what it froze).
    pub async fn open_dispute(&self, dispute: NewDispute) -> Result<DisputeRow, WriteError> {
        match self.submit(Command::OpenDispute(Box::new(dispute))).await? {
            Outcome::Dispute { row, .. } => Ok(*row),
            other => Err(mismatch(other)),
        }
    }

    /// The dispute as resolved or cancelled.
    pub async fn resolve_dispute(&self, change: DisputeChange) -> Result<DisputeRow, WriteError> {
        match self.submit(Command::Dispute(change)).await? {
            Outcome::Dispute { row, .. } => Ok(*row),
            other => Err(mismatch(other)),
        }
    }
}
