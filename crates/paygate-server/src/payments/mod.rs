//! Payments: turning validated requests into writer commands, and writer
//! answers into API errors.

pub mod disputes;
pub mod input;
pub mod payin;
pub mod payout;
pub mod payout_routing;
pub mod providers;
pub mod routing;
pub mod views;

use crate::error::ApiError;
use paygate_store::writer::WriteError;
use paygate_store::StoreError;

/// Maps a writer refusal onto the documented error codes.
pub fn api_error(e: WriteError) -> ApiError {
    match e {
        WriteError::NotFound => ApiError::NotFound,
        WriteError::InvalidState { current, wanted } => {
            ApiError::Conflict("INVALID_STATE", format!("status is {current}; it cannot become {wanted}"))
        }
        WriteError::InsufficientFunds => {
            ApiError::InsufficientFunds("available balance does not cover amount + fee".into())
        }
        WriteError::DuplicateOrderId => ApiError::Conflict(
            "DUPLICATE_ORDER_ID",
            "merchant_order_id was already used with different parameters".into(),
        ),
        WriteError::DisputeAlreadyOpen => {
            ApiError::Conflict("DISPUTE_ALREADY_OPEN", "this payin already has an open dispute".into())
        }
        WriteError::TooManyDisputes => ApiError::Conflict(
            "INVALID_STATE",
            format!("a payin can be disputed at most {} times", paygate_core::disputes::MAX_DISPUTES_PER_PAYIN),
        ),
        WriteError::DisputeWindowClosed => {
            ApiError::Conflict("INVALID_STATE", "disputes can be opened within 7 days of the payin's creation".into())
        }
        WriteError::Overflow => ApiError::validation("amount", "is too large"),
        WriteError::Unavailable => ApiError::Unavailable("the payment writer is not running".into()),
        WriteError::Stalled => ApiError::Unavailable("the database did not answer in time; retry".into()),
        WriteError::RequisitesTaken => ApiError::Unavailable("requisites are busy; retry shortly".into()),
        WriteError::Store(StoreError::Conflict(c)) => ApiError::Unavailable(format!("concurrent update ({c}); retry")),
        WriteError::Store(other) => other.into(),
    }
}
