//! The operator's provider instances and routing rules, read from the
//! database and kept for `auth_cache_ttl_ms` like merchants (a change made
//! through this node applies at once). Credentials are opened here, into
//! `SecretString`s, and nowhere else.

use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::routing::RouteRule;
use paygate_core::signature::Base64Padding;
use paygate_store::providers::ProviderRow;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "registry";

/// Providers and rules as routing reads them.
pub struct Registry {
    pub providers: Vec<Provider>,
    pub routes: Vec<RouteRule>,
}

#[derive(Clone, Debug)]
pub struct Provider {
    pub id: String,
    pub enabled: bool,
    pub kind: ProviderKind,
}

#[derive(Clone, Debug)]
pub enum ProviderKind {
    Sandbox,
    Manual,
    Switchere(Arc<SwitchereConfig>),
}

/// A `switchere` upstream: where it is, how to sign for it, and what the
/// operator receives there for a payin.
#[derive(Debug)]
pub struct SwitchereConfig {
    pub base_url: String,
    pub api_key: SecretString,
    pub secret: SecretString,
    pub callback_secret: SecretString,
    pub padding: Base64Padding,
    pub payout_currency: String,
    pub payout_group: String,
    /// The group a payout's upstream order is paid in (from the operator's
    /// account upstream); default `balance`.
    pub payin_group: String,
    /// Networks the upstream pays crypto payouts on (`ERC20`, …); none:
    /// no payouts go to it.
    pub payout_networks: Vec<String>,
    pub timeout: Duration,
}

/// A `switchere` provider's settings as stored: everything but the secrets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchereSettings {
    #[schema(example = "https://upstream.example")]
    pub base_url: String,
    /// `padded` (default) or `unpadded` base64 in the requests' `API-Signature`.
    #[serde(default = "padded")]
    pub signature_padding: String,
    #[schema(example = "EUR")]
    pub payout_currency: String,
    #[serde(default = "balance")]
    pub payout_group: String,
    #[serde(default = "balance")]
    pub payin_group: String,
    /// Networks it pays crypto payouts on, as destinations name them
    /// (`["ERC20"]`); empty (the default): no payouts go to it.
    #[serde(default)]
    pub payout_networks: Vec<String>,
    /// Per request, 100-30000 ms; default 5000.
    #[serde(default = "five_seconds")]
    pub timeout_ms: u64,
}

fn padded() -> String {
    "padded".into()
}
fn balance() -> String {
    "balance".into()
}
fn five_seconds() -> u64 {
    5000
}

/// A `switchere` provider's credentials, sealed together.
#[derive(Serialize, Deserialize)]
pub struct SwitchereSecrets {
    pub api_key: String,
    pub secret: String,
    pub callback_secret: String,
}

impl std::fmt::Debug for SwitchereSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SwitchereSecrets(<redacted>)")
    }
}

/// What the secrets are sealed to: another provider's row cannot be
/// swapped in.
pub fn binding(id: &str) -> String {
    format!("provider:{id}")
}

pub async fn load(state: &AppState) -> Result<Arc<Registry>, ApiError> {
    if let Some(r) = state.registry_cache.get(KEY) {
        return Ok(r);
    }
    let rows = state.db.providers().await?;
    let routes = state.db.routes().await?;
    let providers = rows.iter().map(|r| open(state, r)).collect::<Result<Vec<_>, _>>()?;
    let registry = Arc::new(Registry { providers, routes });
    state.registry_cache.put(KEY, registry.clone());
    Ok(registry)
}

/// After a change through this node: the next request reads it.
pub fn forget(state: &AppState) {
    state.registry_cache.forget(KEY);
}

fn open(state: &AppState, r: &ProviderRow) -> Result<Provider, ApiError> {
    let corrupt = |what: String| ApiError::internal(anyhow::anyhow!("provider {}: {what}", r.id));
    let kind = match r.kind.as_str() {
        "sandbox" => ProviderKind::Sandbox,
        "manual" => ProviderKind::Manual,
        "switchere" => {
            let s: SwitchereSettings = serde_json::from_str(&r.config).map_err(|e| corrupt(e.to_string()))?;
            let sealed = r.secrets_sealed.as_ref().ok_or_else(|| corrupt("no credentials".into()))?;
            let opened = state.master_key.open(&binding(&r.id), &sealed.0).map_err(|e| corrupt(e.to_string()))?;
            let secrets: SwitchereSecrets = serde_json::from_str(&opened).map_err(|e| corrupt(e.to_string()))?;
            ProviderKind::Switchere(Arc::new(SwitchereConfig {
                base_url: s.base_url.trim_end_matches('/').to_string(),
                api_key: SecretString::from(secrets.api_key),
                secret: SecretString::from(secrets.secret),
                callback_secret: SecretString::from(secrets.callback_secret),
                padding: if s.signature_padding == "unpadded" {
                    Base64Padding::Unpadded
                } else {
                    Base64Padding::Padded
                },
                payout_currency: s.payout_currency,
                payout_group: s.payout_group,
                payin_group: s.payin_group,
                payout_networks: s.payout_networks,
                timeout: Duration::from_millis(s.timeout_ms),
            }))
        }
        other => return Err(corrupt(format!("unknown type {other:?}"))),
    };
    Ok(Provider { id: r.id.clone(), enabled: r.enabled, kind })
}
