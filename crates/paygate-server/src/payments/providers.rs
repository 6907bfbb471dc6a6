//! What the built-in providers show a payer (API.md section 7): the
//! sandbox's fixed requisites, and requisites from the manual provider's
//! pool. Which provider takes a payment is `crate::providers::plan`'s call.

use crate::error::ApiError;
use paygate_core::payments::Method;
use paygate_store::requisites::RequisiteRow;
use paygate_store::Db;
use serde_json::{json, Value};

/// What a payer is shown for a payin.
pub struct Assignment {
    pub requisite_id: Option<String>,
    pub requisites: Value,
}

/// Sandbox requisites: obviously fake and stable, so integration tests can
/// assert on them.
pub fn sandbox_requisites(method: Method, currency: &str) -> Value {
    match method {
        Method::Card => {
            json!({"type": "card", "card_number": "4000000000000002", "bank_name": "paygate sandbox", "holder_name": "SANDBOX PAYEE"})
        }
        Method::Sbp => {
            json!({"type": "sbp", "phone": "+70000000000", "bank_name": "paygate sandbox", "holder_name": "SANDBOX PAYEE"})
        }
        Method::BankTransfer => {
            json!({"type": "bank_transfer", "account_number": "00000000000000000000", "bank_code": "SANDBOX", "holder_name": "SANDBOX PAYEE"})
        }
        Method::Iban => json!({"type": "iban", "iban": "DE89370400440532013000", "holder_name": "SANDBOX PAYEE"}),
        Method::Crypto => {
            json!({"type": "crypto", "address": format!("sandbox{}address0000000000", currency.to_ascii_lowercase()), "network": "SANDBOX", "memo": null})
        }
    }
}

/// Manual provider: a requisite from the pool that has no pending payin of
/// the same amount, so the operator can tell incoming payments apart. The
/// database enforces the same rule (a unique index), so two nodes choosing
/// at once cannot both win; the loser retries with `exclude`.
pub async fn manual_assignment(
    db: &Db,
    method: Method,
    currency: &str,
    amount: i64,
    exclude: &[String],
) -> Result<Assignment, ApiError> {
    let pool = db.usable_requisites("payins", method.as_str(), currency, amount).await?;
    if pool.is_empty() {
        return Err(ApiError::Unprocessable(
            "UNSUPPORTED_METHOD",
            format!("no requisites for {} in {currency}", method.as_str()),
        ));
    }
    let ids: Vec<String> = pool.iter().map(|r| r.id.clone()).collect();
    let busy = db.pending_amounts_on_requisites(&ids).await?;
    let free: Vec<&RequisiteRow> = pool
        .iter()
        .filter(|r| !exclude.contains(&r.id) && !busy.iter().any(|(id, a)| *id == r.id && *a == amount))
        .collect();
    // Spread load: the least busy requisite first.
    let chosen =
        free.into_iter().min_by_key(|r| busy.iter().filter(|(id, _)| *id == r.id).count()).ok_or_else(|| {
            ApiError::Unavailable(
                "every requisite has a pending payin of this amount; retry shortly or vary the amount".into(),
            )
        })?;
    Ok(Assignment {
        requisite_id: Some(chosen.id.clone()),
        requisites: serde_json::from_str(&chosen.details).unwrap_or(Value::Null),
    })
}
