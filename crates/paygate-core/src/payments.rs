//! PayIn and PayOut: methods, statuses and the transitions between them
//! (API.md 3.1 and 3.2). Any transition not listed here is `INVALID_STATE`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Card,
    Sbp,
    BankTransfer,
    Iban,
    Crypto,
}

impl Method {
    pub const ALL: [Method; 5] = [Method::Card, Method::Sbp, Method::BankTransfer, Method::Iban, Method::Crypto];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Card => "card",
            Method::Sbp => "sbp",
            Method::BankTransfer => "bank_transfer",
            Method::Iban => "iban",
            Method::Crypto => "crypto",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayInStatus {
    Pending,
    Success,
    Failed,
    Expired,
    Cancelled,
}

impl PayInStatus {
    pub const ALL: [PayInStatus; 5] =
        [PayInStatus::Pending, PayInStatus::Success, PayInStatus::Failed, PayInStatus::Expired, PayInStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            PayInStatus::Pending => "pending",
            PayInStatus::Success => "success",
            PayInStatus::Failed => "failed",
            PayInStatus::Expired => "expired",
            PayInStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PayInStatus> {
        PayInStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Ordinary transitions: only a pending payin moves. A finished one
    /// becomes `success` only through an accepted dispute, which callers ask
    /// for explicitly with `by_dispute`.
    pub fn can_become(self, to: PayInStatus, by_dispute: bool) -> bool {
        use PayInStatus::*;
        match (self, to) {
            (Pending, Success | Failed | Expired | Cancelled) => !by_dispute,
            (Failed | Expired | Cancelled, Success) => by_dispute,
            _ => false,
        }
    }

    pub fn is_final(self) -> bool {
        self != PayInStatus::Pending
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayOutStatus {
    Pending,
    Processing,
    Success,
    Failed,
    Cancelled,
}

impl PayOutStatus {
    pub const ALL: [PayOutStatus; 5] = [
        PayOutStatus::Pending,
        PayOutStatus::Processing,
        PayOutStatus::Success,
        PayOutStatus::Failed,
        PayOutStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PayOutStatus::Pending => "pending",
            PayOutStatus::Processing => "processing",
            PayOutStatus::Success => "success",
            PayOutStatus::Failed => "failed",
            PayOutStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PayOutStatus> {
        PayOutStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// pending → processing → success | failed; pending → cancelled; and
    /// pending → failed when a provider refuses before taking the payout.
    pub fn can_become(self, to: PayOutStatus) -> bool {
        use PayOutStatus::*;
        matches!((self, to), (Pending, Processing | Cancelled | Failed) | (Processing, Success | Failed))
    }

    /// Whether the payout still holds the merchant's funds.
    pub fn holds_funds(self) -> bool {
        matches!(self, PayOutStatus::Pending | PayOutStatus::Processing)
    }

    /// success, failed or cancelled: nothing more will happen to it.
    pub fn is_final(self) -> bool {
        !self.holds_funds()
    }
}

/// `merchant_order_id`: 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn valid_merchant_order_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

crate::text_newtype!(
    /// A merchant's own id for a payment, unique per merchant and kind: the key
    /// of idempotency. Built only from text that [`valid_merchant_order_id`]
    /// accepts (or read back from storage, where only such text is written).
    MerchantOrderId
);

impl MerchantOrderId {
    pub fn parse(text: &str) -> Option<MerchantOrderId> {
        valid_merchant_order_id(text).then(|| MerchantOrderId(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payin_transitions() {
        use PayInStatus::*;
        for to in [Success, Failed, Expired, Cancelled] {
            assert!(Pending.can_become(to, false));
            assert!(!Pending.can_become(to, true));
        }
        for from in [Failed, Expired, Cancelled] {
            assert!(from.can_become(Success, true));
            assert!(!from.can_become(Success, false));
            assert!(!from.can_become(Pending, false));
        }
        assert!(!Success.can_become(Failed, false));
        assert!(!Success.can_become(Success, true));
    }

    #[test]
    fn payout_transitions() {
        use PayOutStatus::*;
        assert!(Pending.can_become(Processing));
        assert!(Pending.can_become(Cancelled));
        assert!(Processing.can_become(Success));
        assert!(Processing.can_become(Failed));
        assert!(!Processing.can_become(Cancelled));
        assert!(!Pending.can_become(Success));
        assert!(!Success.can_become(Failed));
        assert!(!Cancelled.can_become(Pending));
        let finished: Vec<_> = PayOutStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finished, [Success, Failed, Cancelled]);
    }

    #[test]
    fn order_ids() {
        assert!(valid_merchant_order_id("order-42:a_b.c"));
        assert!(valid_merchant_order_id(&"a".repeat(128)));
        assert!(!valid_merchant_order_id(&"a".repeat(129)));
        assert!(!valid_merchant_order_id(""));
        assert!(!valid_merchant_order_id("a b"));
        assert!(!valid_merchant_order_id("заказ"));
        assert_eq!(MerchantOrderId::parse("order-42").map(String::from), Some("order-42".to_string()));
        assert_eq!(MerchantOrderId::parse("a b"), None);
    }
}
