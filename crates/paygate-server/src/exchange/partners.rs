//! Partner credentials: issuing, rotating and opening them. Secrets are
//! sealed bound to the merchant and their purpose, so a request secret's
//! ciphertext cannot be swapped in for a callback secret's.

use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::signature::Base64Padding;
use paygate_store::exchange::partners::PartnerRecord;
use paygate_store::merchants::Sealed;
use rand::RngCore;
use secrecy::SecretString;

fn random_text(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn new_api_key() -> String {
    format!("ak_{}", random_text(16))
}

pub fn new_secret() -> String {
    random_text(32)
}

pub fn request_binding(merchant_id: &str) -> String {
    format!("{merchant_id}:partner-request")
}

pub fn callback_binding(merchant_id: &str) -> String {
    format!("{merchant_id}:partner-callback")
}

pub fn seal_request_secret(state: &AppState, merchant_id: &str, secret: &str) -> Sealed {
    Sealed(state.master_key.seal(&request_binding(merchant_id), secret))
}

pub fn seal_callback_secret(state: &AppState, merchant_id: &str, secret: &str) -> Sealed {
    Sealed(state.master_key.seal(&callback_binding(merchant_id), secret))
}

/// The request secrets a signature may use now: the current one, and the
/// previous one during its grace period.
pub fn request_secrets(state: &AppState, p: &PartnerRecord, now: i64) -> Result<Vec<SecretString>, ApiError> {
    let open = |s: &Sealed| {
        state
            .master_key
            .open(&request_binding(&p.merchant_id), &s.0)
            .map(SecretString::from)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("partner {}: {e}", p.merchant_id)))
    };
    let mut out = vec![open(&p.secret_sealed)?];
    if let (Some(prev), Some(until)) = (&p.prev_secret_sealed, p.prev_secret_expires_at) {
        if until > now {
            out.push(open(prev)?);
        }
    }
    Ok(out)
}

pub fn callback_secret(state: &AppState, p: &PartnerRecord) -> anyhow::Result<SecretString> {
    state
        .master_key
        .open(&callback_binding(&p.merchant_id), &p.callback_secret_sealed.0)
        .map(SecretString::from)
        .map_err(|e| anyhow::anyhow!("cannot open the partner's callback secret: {e}"))
}

pub fn padding(p: &PartnerRecord) -> Base64Padding {
    match p.signature_padding.as_str() {
        "unpadded" => Base64Padding::Unpadded,
        _ => Base64Padding::Padded,
    }
}

/// What enabling a partner shows once: its credentials in clear.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PartnerWithSecretsOut {
    pub merchant_id: String,
    pub api_key: String,
    /// Signs requests (`API-Signature`); shown only here and on rotation.
    pub secret: String,
    /// Signs callbacks; shown only here and on rotation.
    pub callback_secret: String,
    #[schema(example = "padded")]
    pub signature_padding: String,
    pub callback_url: Option<String>,
    pub enabled: bool,
}

/// A partner as the operator reads it (never a secret).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PartnerOut {
    pub merchant_id: String,
    pub api_key: String,
    pub signature_padding: String,
    pub callback_url: Option<String>,
    pub enabled: bool,
    pub exchange_fees: serde_json::Value,
}

impl From<&PartnerRecord> for PartnerOut {
    fn from(p: &PartnerRecord) -> Self {
        PartnerOut {
            merchant_id: p.merchant_id.clone(),
            api_key: p.api_key.clone(),
            signature_padding: p.signature_padding.clone(),
            callback_url: p.callback_url.clone(),
            enabled: p.enabled,
            exchange_fees: serde_json::from_str(&p.exchange_fees).unwrap_or_default(),
        }
    }
}

pub fn parse_padding(text: &str) -> Result<&'static str, ApiError> {
    match text {
        "padded" => Ok("padded"),
        "unpadded" => Ok("unpadded"),
        _ => Err(ApiError::validation("signature_padding", "must be padded or unpadded")),
    }
}

/// Makes merchant `merchant_id` a partner; 409 when it already is one.
pub async fn enable(
    state: &AppState,
    merchant_id: &str,
    callback_url: Option<String>,
    padding: &'static str,
) -> Result<PartnerWithSecretsOut, ApiError> {
    state.db.merchant(merchant_id).await?.ok_or(ApiError::NotFound)?;
    let callback_url = match callback_url {
        Some(u) => Some(
            paygate_core::callback_url::CallbackUrl::parse(&u, state.settings.allow_private_callbacks)
                .map_err(|e| ApiError::validation("callback_url", e.to_string()))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let (secret, callback_secret) = (new_secret(), new_secret());
    let now = paygate_store::time::now_micros();
    let record = PartnerRecord {
        merchant_id: merchant_id.to_string(),
        api_key: new_api_key(),
        secret_sealed: seal_request_secret(state, merchant_id, &secret),
        prev_secret_sealed: None,
        prev_secret_expires_at: None,
        callback_secret_sealed: seal_callback_secret(state, merchant_id, &callback_secret),
        signature_padding: padding.to_string(),
        callback_url,
        enabled: true,
        exchange_fees: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    let p = state
        .db
        .insert_partner(&record)
        .await?
        .ok_or_else(|| ApiError::Conflict("PARTNER_EXISTS", "this merchant already is a partner".into()))?;
    tracing::info!(merchant_id = %merchant_id, "partner enabled");
    Ok(PartnerWithSecretsOut {
        merchant_id: p.merchant_id,
        api_key: p.api_key,
        secret,
        callback_secret,
        signature_padding: p.signature_padding,
        callback_url: p.callback_url,
        enabled: p.enabled,
    })
}

/// New request and callback secrets; the old request secret keeps working
/// for the grace period (callbacks are signed with the new one at once).
pub async fn rotate(state: &AppState, merchant_id: &str) -> Result<PartnerWithSecretsOut, ApiError> {
    let (secret, callback_secret) = (new_secret(), new_secret());
    let grace_until = paygate_store::time::now_micros() + state.settings.secret_grace_secs as i64 * 1_000_000;
    let rotation = paygate_store::exchange::partners::Rotation {
        secret: seal_request_secret(state, merchant_id, &secret),
        callback_secret: seal_callback_secret(state, merchant_id, &callback_secret),
        grace_until,
    };
    let p = state.db.rotate_partner_secrets(merchant_id, rotation).await?.ok_or(ApiError::NotFound)?;
    Ok(PartnerWithSecretsOut {
        merchant_id: p.merchant_id,
        api_key: p.api_key,
        secret,
        callback_secret,
        signature_padding: p.signature_padding,
        callback_url: p.callback_url,
        enabled: p.enabled,
    })
}
