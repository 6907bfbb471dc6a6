//! Merchant lifecycle shared by the CLI and the admin API: creation with
//! fresh credentials, secret rotation, and opening sealed secrets.

use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::email::Email;
use paygate_core::ids::{new_id, IdKind};
use paygate_core::tokens::{new_public_token, new_secret_token, Mode};
use paygate_store::merchants::{MerchantRecord, NewMerchant, Sealed};
use paygate_store::time::now_micros;
use paygate_store::StoreError;
use secrecy::SecretString;

/// A merchant together with the plaintext secret, which exists only for
/// the response that shows it once.
pub struct WithSecret {
    pub merchant: MerchantRecord,
    pub secret_token: SecretString,
}

pub fn validate_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::validation("name", "must be 1-200 printable characters"));
    }
    Ok(name.to_string())
}

pub async fn create(state: &AppState, email: &str, name: &str, mode: Mode) -> Result<WithSecret, ApiError> {
    let email = Email::parse(email).map_err(|e| ApiError::validation("email", e.to_string()))?;
    let name = validate_name(name)?;
    let id = new_id(IdKind::Merchant);
    let secret = new_secret_token(mode);
    let sealed = Sealed(state.master_key.seal(&id, &secret));
    let new = NewMerchant {
        id,
        email: email.as_str().to_string(),
        name,
        mode,
        public_token: new_public_token(mode),
        secret: sealed,
    };
    match state.db.insert_merchant(new).await {
        Ok(merchant) => Ok(WithSecret { merchant, secret_token: SecretString::from(secret) }),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::Conflict("EMAIL_TAKEN", "a merchant with this email already exists".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Issues a new secret; the old one keeps working for the configured grace.
pub async fn rotate_secret(state: &AppState, id: &str) -> Result<WithSecret, ApiError> {
    let current = state.db.merchant(id).await?.ok_or(ApiError::NotFound)?;
    let secret = new_secret_token(current.mode);
    let sealed = Sealed(state.master_key.seal(id, &secret));
    let grace_until = now_micros() + (state.settings.secret_grace_secs as i64) * 1_000_000;
    let merchant = state.db.rotate_merchant_secret(id, sealed, grace_until).await?.ok_or(ApiError::NotFound)?;
    state.forget_merchant(&merchant);
    tracing::info!(merchant_id = id, "merchant secret rotated");
    Ok(WithSecret { merchant, secret_token: SecretString::from(secret) })
}

/// The secrets a request may be signed with right now: the current one,
/// then the previous one while its grace period lasts.
pub fn usable_secrets(state: &AppState, m: &MerchantRecord, now: i64) -> Result<Vec<SecretString>, ApiError> {
    let open = |s: &Sealed| {
        state
            .master_key
            .open(&m.id, &s.0)
            .map(SecretString::from)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("merchant {}: {e}", m.id)))
    };
    let mut out = vec![open(&m.secret)?];
    if let (Some(prev), Some(until)) = (&m.prev_secret, m.prev_secret_expires_at) {
        if until > now {
            out.push(open(prev)?);
        }
    }
    Ok(out)
}
