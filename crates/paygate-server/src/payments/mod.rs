//! Payments: turning validated requests into writer commands, and writer
//! answers into API errors.

pub mod disputes;
pub mod input;
pub mod payin;
pub mod payout;
pub mod providers;
pub mod views;

use crate::error::ApiError;
use paygate_store::writer::CmdError;
use paygate_store::StoreError;

/// Maps a writer refusal onto the documented error codes.
pub fn api_error(e: CmdError) -> ApiError {
    match e {
        CmdError::NotFound => ApiError::NotFound,
        CmdError::InvalidState { current, wanted } => {
            ApiError::Conflict("INVALID_STATE", format!("status is {current}; it cannot become {wanted}"))
        }
        CmdError::InsufficientFunds => {
            ApiError::InsufficientFunds("available balance does not cover amount + fee".into())
        }
        CmdError::DuplicateOrderId => ApiError::Conflict(
            "DUPLICATE_ORDER_ID",
            "merchant_order_id was already used with different parameters".into(),
        ),
        CmdError::DisputeAlreadyOpen => {
            ApiError::Conflict("DISPUTE_ALREADY_OPEN", "this payin already has an open dispute".into())
        }
        CmdError::TooManyDisputes => ApiError::Conflict(
            "INVALID_STATE",
            format!("a payin can be disputed at most {} times", paygate_core::disputes::MAX_DISPUTES_PER_PAYIN),
        ),
        CmdError::DisputeWindowClosed => {
            ApiError::Conflict("INVALID_STATE", "disputes can be opened within 7 days of the payin's creation".into())
        }
        CmdError::Overflow => ApiError::validation("amount", "is too large"),
        CmdError::Unavailable => ApiError::Unavailable("the payment writer is not running".into()),
        CmdError::Stalled => ApiError::Unavailable("the database did not answer in time; retry".into()),
        // The writer resolves retries itself; seeing one here is a bug.
        CmdError::Retry => ApiError::internal(anyhow::anyhow!("writer leaked an internal retry")),
        CmdError::Store(StoreError::Conflict(c)) => ApiError::Unavailable(format!("concurrent update ({c}); retry")),
        CmdError::Store(other) => other.into(),
    }
}
