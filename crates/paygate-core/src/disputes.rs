//! Disputes (API.md 3.4): who may open one, what its statuses are, which
//! receipts are accepted, and how much money an open dispute freezes.
//!
//! The freezing rule. A dispute says "the customer paid `claimed`". When the
//! payin is already `success` and `claimed` is below the credited amount,
//! accepting the dispute at `claimed` would take back the difference of the
//! net credits, `net(amount) − net(claimed)` (net = amount − fee). That much
//! is at risk, so it moves from `available` to `frozen` while the dispute is
//! open, capped by what `available` holds at that moment (a bucket never goes
//! negative; the merchant may already have paid the money out). Resolving or
//! cancelling the dispute returns exactly what was frozen before anything
//! else is posted. Nothing is frozen when the customer claims more than was
//! credited or when the payin was never credited: then the merchant can only
//! gain.

use crate::fees::ResolvedFee;
use crate::payments::PayInStatus;
use serde::{Deserialize, Serialize};

/// A dispute may be opened within this long after its payin was created.
pub const DISPUTE_WINDOW_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

/// How many disputes one payin may ever have: each stores a receipt, so a
/// merchant opening and cancelling disputes in a loop must hit a wall.
pub const MAX_DISPUTES_PER_PAYIN: usize = 5;

/// Largest receipt accepted, decoded.
pub const MAX_RECEIPT_BYTES: usize = 5 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    Open,
    Accepted,
    Rejected,
    Cancelled,
}

impl DisputeStatus {
    pub const ALL: [DisputeStatus; 4] =
        [DisputeStatus::Open, DisputeStatus::Accepted, DisputeStatus::Rejected, DisputeStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::Open => "open",
            DisputeStatus::Accepted => "accepted",
            DisputeStatus::Rejected => "rejected",
            DisputeStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DisputeStatus> {
        DisputeStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Only an open dispute moves, and only once.
    pub fn can_become(self, to: DisputeStatus) -> bool {
        self == DisputeStatus::Open && to != DisputeStatus::Open
    }
}

/// Why an operator rejected a dispute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionReason {
    PaymentNotFound,
    FakeReceipt,
    AmountMismatch,
    Other,
}

impl RejectionReason {
    pub const ALL: [RejectionReason; 4] = [
        RejectionReason::PaymentNotFound,
        RejectionReason::FakeReceipt,
        RejectionReason::AmountMismatch,
        RejectionReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectionReason::PaymentNotFound => "payment_not_found",
            RejectionReason::FakeReceipt => "fake_receipt",
            RejectionReason::AmountMismatch => "amount_mismatch",
            RejectionReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<RejectionReason> {
        RejectionReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Payins in these statuses can be disputed: a pending one is still being paid.
pub fn disputable(status: PayInStatus) -> bool {
    status != PayInStatus::Pending
}

/// What a receipt really is, judged by its first bytes; the file name and the
/// declared type are the client's word and are not trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptKind {
    Pdf,
    Png,
    Jpeg,
}

impl ReceiptKind {
    pub fn sniff(bytes: &[u8]) -> Option<ReceiptKind> {
        if bytes.starts_with(b"%PDF-") {
            Some(ReceiptKind::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ReceiptKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ReceiptKind::Jpeg)
        } else {
            None
        }
    }

    /// File name extensions of the kind, the usual one first.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            ReceiptKind::Pdf => &["pdf"],
            ReceiptKind::Png => &["png"],
            ReceiptKind::Jpeg => &["jpg", "jpeg"],
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ReceiptKind::Pdf => "application/pdf",
            ReceiptKind::Png => "image/png",
            ReceiptKind::Jpeg => "image/jpeg",
        }
    }
}

/// The receipt's file name as we keep it: the last path component, only
/// letters, digits and a few plain punctuation marks (no control, bidi or
/// other invisible characters, no quotes), at most 200 characters, ending
/// in the extension of what the bytes really are (appended when the name
/// says otherwise). An operator who saves the file gets `statement.pdf` or
/// `statement.hta.pdf`, never `statement.hta` or `scan\u{202e}fdp.exe`.
pub fn receipt_filename(name: &str, kind: ReceiptKind) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = base
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-' | '(' | ')'))
        .take(200)
        .collect();
    let kept = kept.trim().trim_matches('.');
    // A name that already ends in the right extension keeps it once.
    let stem = match kept.rsplit_once('.') {
        Some((stem, ext)) if kind.extensions().contains(&ext.to_ascii_lowercase().as_str()) => stem,
        Some(_) | None => kept,
    };
    let stem = stem.trim().trim_end_matches('.');
    let stem = if stem.is_empty() { "receipt" } else { stem };
    format!("{stem}.{}", kind.extensions()[0])
}

/// What the merchant keeps of `amount` under `fee` (the fee is capped at the
/// amount, as when the payin was credited). `None` on overflow.
pub fn net_credit(amount: i64, fee: &ResolvedFee) -> Option<i64> {
    Some(amount - fee.payin_fee(amount)?)
}

/// How much an open dispute on a payin puts at risk (see the module comment):
/// `net(credited) − net(claimed)` when a successful payin is claimed lower,
/// else 0. The caller caps it by the available balance.
pub fn amount_at_risk(status: PayInStatus, credited: i64, claimed: i64, fee: &ResolvedFee) -> Option<i64> {
    if status != PayInStatus::Success || claimed >= credited {
        return Some(0);
    }
    Some((net_credit(credited, fee)? - net_credit(claimed, fee)?).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn receipts_are_judged_by_content() {
        assert_eq!(ReceiptKind::sniff(b"%PDF-1.7\n..."), Some(ReceiptKind::Pdf));
        assert_eq!(ReceiptKind::sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some(ReceiptKind::Png));
        assert_eq!(ReceiptKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ReceiptKind::Jpeg));
        assert_eq!(ReceiptKind::sniff(b"GIF89a"), None);
        assert_eq!(ReceiptKind::sniff(b"<html>%PDF-"), None);
        assert_eq!(ReceiptKind::sniff(b""), None);
    }

    #[test]
    fn filenames_cannot_escape_or_lie() {
        use ReceiptKind::*;
        assert_eq!(receipt_filename("../../etc/passwd", Pdf), "passwd.pdf");
        assert_eq!(receipt_filename("C:\\Users\\x\\scan.pdf", Pdf), "scan.pdf");
        assert_eq!(receipt_filename("a\"b;c\r\nd.png", Png), "abcd.png");
        assert_eq!(receipt_filename("statement.hta", Pdf), "statement.hta.pdf");
        assert_eq!(receipt_filename("scan\u{202e}fdp.exe", Pdf), "scanfdp.exe.pdf");
        assert_eq!(receipt_filename("photo.JPEG", Jpeg), "photo.jpg");
        assert_eq!(receipt_filename("квитанция.pdf", Pdf), "квитанция.pdf");
        assert_eq!(receipt_filename("   ", Png), "receipt.png");
        assert_eq!(receipt_filename(".hidden", Png), "hidden.png");
        assert_eq!(receipt_filename("x.png.exe", Pdf), "x.png.exe.pdf");
        assert!(receipt_filename(&"x".repeat(300), Pdf).len() <= 204);
    }

    #[test]
    fn only_open_disputes_move() {
        use DisputeStatus::*;
        for to in [Accepted, Rejected, Cancelled] {
            assert!(Open.can_become(to));
            for from in [Accepted, Rejected, Cancelled] {
                assert!(!from.can_become(to));
            }
        }
        assert!(!Open.can_become(Open));
    }

    #[test]
    fn risk_is_the_difference_of_net_credits() {
        let fee = ResolvedFee { percent_e4: 15_000, fixed_minor: 100 }; // 1.5% + 1.00
                                                                        // 1000.00 credited (fee 16.00, net 984.00); claimed 900.00 (fee 14.50, net 885.50).
        assert_eq!(amount_at_risk(PayInStatus::Success, 100_000, 90_000, &fee), Some(9_850));
        assert_eq!(amount_at_risk(PayInStatus::Success, 100_000, 110_000, &fee), Some(0));
        assert_eq!(amount_at_risk(PayInStatus::Expired, 100_000, 1, &fee), Some(0));
    }

    proptest! {
        #[test]
        fn risk_never_exceeds_the_credit(credited in 1i64..1_000_000_000_000, claimed in 1i64..1_000_000_000_000,
                                          pct in 0i64..100_000, fixed in 0i64..10_000) {
            let fee = ResolvedFee { percent_e4: pct, fixed_minor: fixed };
            let risk = amount_at_risk(PayInStatus::Success, credited, claimed, &fee).unwrap();
            prop_assert!(risk >= 0);
            prop_assert!(risk <= net_credit(credited, &fee).unwrap());
        }
    }
}
