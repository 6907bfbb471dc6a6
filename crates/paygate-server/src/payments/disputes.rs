//! Disputes (API.md 3.4): the request that opens one, its receipt, and how a
//! dispute looks on the wire (responses and `dispute.*` webhooks alike).

use crate::error::{ApiError, ApiResult};
use crate::http::envelope::rfc3339;
use crate::payments::input::AmountIn;
use base64::Engine;
use paygate_core::disputes::{receipt_filename, DisputeStatus, ReceiptKind, MAX_RECEIPT_BYTES};
use paygate_core::ids::DisputeId;
use paygate_core::money::{format_minor, Currencies};
use paygate_store::disputes::DisputeRow;
use paygate_store::payments::PayInRow;
use paygate_store::writer::{NewDispute, ReceiptBytes};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use utoipa::ToSchema;

/// Longest `comment` kept, in characters.
const MAX_COMMENT_CHARS: usize = 2000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeCreateIn {
    /// The disputed payin: give exactly one of `payin_id` and `merchant_order_id`.
    pub payin_id: Option<String>,
    pub merchant_order_id: Option<String>,
    /// What the customer says they paid, in the payin's currency.
    pub amount: AmountIn,
    /// Up to 2000 characters.
    pub comment: Option<String>,
    pub receipt: ReceiptIn,
}

/// A PDF, PNG or JPEG of at most 5 MiB (decoded). The type is decided by the
/// bytes themselves; `content_type` and the file name's extension are not trusted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptIn {
    #[schema(example = "receipt.pdf")]
    pub filename: String,
    /// Informational: the stored type is the one sniffed from the data.
    pub content_type: Option<String>,
    /// Standard base64 (line breaks allowed).
    pub data_base64: String,
}

/// A receipt that passed every check, ready to store.
pub struct CheckedReceipt {
    pub filename: String,
    pub kind: ReceiptKind,
    pub sha256: String,
    pub bytes: Arc<[u8]>,
}

impl ReceiptIn {
    /// Size is judged before decoding (413), then the base64 (422), then the
    /// content (415): a refused receipt is never stored.
    pub fn check(&self) -> ApiResult<CheckedReceipt> {
        // Line-wrapped base64 is copied without its breaks; the usual unwrapped
        // form is decoded in place (a receipt is large: copies add up).
        let raw = self.data_base64.as_bytes();
        let data: std::borrow::Cow<[u8]> = if raw.iter().any(u8::is_ascii_whitespace) {
            raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect::<Vec<u8>>().into()
        } else {
            raw.into()
        };
        // Every 4 characters carry 3 bytes: anything that could decode to more
        // than the limit is refused without decoding it.
        if data.len() / 4 * 3 > MAX_RECEIPT_BYTES + 2 {
            return Err(ApiError::PayloadTooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&data)
            .map_err(|_| ApiError::validation("receipt.data_base64", "is not valid base64"))?;
        if bytes.is_empty() {
            return Err(ApiError::validation("receipt.data_base64", "is empty"));
        }
        if bytes.len() > MAX_RECEIPT_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let kind = ReceiptKind::sniff(&bytes).ok_or_else(|| {
            ApiError::UnsupportedMediaType("the receipt must be a PDF, PNG or JPEG file (judged by its content)".into())
        })?;
        Ok(CheckedReceipt {
            filename: receipt_filename(&self.filename, kind),
            kind,
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.into(),
        })
    }
}

/// An optional free-text field: trimmed, empty means absent, at most `max` characters.
pub fn optional_text(value: &Option<String>, field: &str, max: usize) -> ApiResult<Option<String>> {
    let Some(text) = value.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(ApiError::validation(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::validation(field, "must not contain control characters"));
    }
    Ok(Some(text.to_string()))
}

/// Validates the request against its payin and builds the writer command.
pub fn new_dispute(input: &DisputeCreateIn, payin: &PayInRow, currencies: &Currencies) -> ApiResult<NewDispute> {
    let exp = currencies.exponent(&payin.currency).unwrap_or(0);
    let claimed = input.amount.minor(exp, &payin.currency).map_err(|e| ApiError::validation("amount", e))?;
    let comment = optional_text(&input.comment, "comment", MAX_COMMENT_CHARS)?;
    let receipt = input.receipt.check()?;
    let row = DisputeRow {
        id: DisputeId::new(),
        merchant_id: payin.merchant_id.clone(),
        payin_id: payin.id.clone(),
        mode: payin.mode,
        status: DisputeStatus::Open,
        claimed_amount: claimed,
        resolved_amount: None,
        currency: payin.currency.clone(),
        comment,
        frozen_amount: 0,
        receipt_filename: receipt.filename,
        receipt_content_type: receipt.kind.content_type().to_string(),
        receipt_size: receipt.bytes.len() as i64,
        receipt_sha256: receipt.sha256,
        resolution_reason: None,
        resolution_comment: None,
        callback_url: payin.callback_url.clone(),
        created_at: 0,
        updated_at: 0,
        resolved_at: None,
    };
    Ok(NewDispute { row, receipt: ReceiptBytes(receipt.bytes) })
}

#[derive(Serialize, ToSchema, Debug)]
pub struct ReceiptOut {
    pub filename: String,
    /// application/pdf, image/png or image/jpeg, as sniffed from the content.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
}

#[derive(Serialize, ToSchema, Debug)]
pub struct DisputeOut {
    #[schema(example = "dp_01jb3k5v7q8r9s0t1v2w3x4y5z")]
    pub id: String,
    pub payin_id: String,
    /// open, accepted, rejected, cancelled
    pub status: String,
    #[schema(example = "1500.00")]
    pub claimed_amount: String,
    /// Set when accepted: the payin's amount from then on.
    pub resolved_amount: Option<String>,
    pub currency: String,
    pub comment: Option<String>,
    pub receipt: ReceiptOut,
    /// What the dispute moved from `available` to `frozen` while open (see
    /// the freezing rule in the README); returned when it is resolved.
    pub frozen_amount: String,
    /// When rejected: payment_not_found, fake_receipt, amount_mismatch, other.
    pub resolution_reason: Option<String>,
    /// The operator's note on the resolution.
    pub resolution_comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    pub mode: String,
    /// Operator views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
}

pub fn dispute_out(r: &DisputeRow, currencies: &Currencies) -> DisputeOut {
    let exp = currencies.exponent(&r.currency).unwrap_or(0);
    DisputeOut {
        id: r.id.to_string(),
        payin_id: r.payin_id.to_string(),
        status: r.status.as_str().into(),
        claimed_amount: format_minor(r.claimed_amount, exp),
        resolved_amount: r.resolved_amount.map(|a| format_minor(a, exp)),
        currency: r.currency.to_string(),
        comment: r.comment.clone(),
        receipt: ReceiptOut {
            filename: r.receipt_filename.clone(),
            content_type: r.receipt_content_type.clone(),
            size: r.receipt_size,
            sha256: r.receipt_sha256.clone(),
        },
        frozen_amount: format_minor(r.frozen_amount, exp),
        resolution_reason: r.resolution_reason.clone(),
        resolution_comment: r.resolution_comment.clone(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        resolved_at: r.resolved_at.map(rfc3339),
        mode: r.mode.as_str().into(),
        merchant_id: None,
    }
}
