//! Layered configuration: defaults embedded here, then a TOML file, then
//! `PAYGATE_*` environment variables, then command-line flags, then
//! [`Settings::validate`]. Secrets are `SecretString`s: `Debug` redacts them.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://file.db` (created if missing) or `postgres://…`.
    pub database_url: SecretString,
    /// Pool size; SQLite serialises writers anyway, so it mostly serves reads.
    pub max_db_connections: u32,
    /// Bearer token of the admin API; generated and printed at start if unset.
    pub admin_token: Option<SecretString>,
    /// 32-byte key (hex or base64) sealing merchant secrets at rest.
    pub master_key: Option<SecretString>,
    /// Accepted |now - X-App-Access-Ts| in seconds.
    pub auth_window_secs: u64,
    /// How long a rotated-out merchant secret keeps working, in seconds.
    pub secret_grace_secs: u64,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Requests running longer than this are answered 503 and abandoned.
    pub request_timeout_secs: u64,
    /// A request body that stops arriving for this long is answered 408
    /// and its connection closed.
    pub request_body_timeout_secs: u64,
    /// A connection must deliver a complete request head within this long
    /// of opening, or of the first byte of a later request; otherwise it is
    /// closed (slow or half-open clients cannot hold a socket).
    pub header_read_timeout_secs: u64,
    /// A keep-alive connection with no request in flight is closed after
    /// this long without a new one.
    pub keep_alive_idle_secs: u64,
    /// Open client connections at once; beyond it new ones wait in the
    /// listen queue until one closes. Keep it below `ulimit -n`.
    pub max_connections: usize,
    /// Permit webhook targets on loopback/private/link-local addresses.
    pub allow_private_callbacks: bool,
    /// Take the client address from the first `X-Forwarded-For` entry; only
    /// safe behind a proxy that sets it.
    pub trust_forwarded_for: bool,
    /// `text` or `json`.
    pub log_format: String,
    /// How long an authenticated merchant is cached (ms); 0 disables.
    /// Changes made through this node's admin API apply at once; changes
    /// made elsewhere within this time.
    pub auth_cache_ttl_ms: u64,
    /// Webhook retry delays in seconds after each failed attempt (API.md
    /// section 4); after the last one the event is `failed` (resendable).
    pub webhook_retry_schedule_secs: Vec<u64>,
    /// Per-attempt timeout of a webhook POST.
    pub webhook_timeout_secs: u64,
    /// How often the delivery worker looks for due events when idle.
    pub webhook_poll_ms: u64,
    /// Webhook POSTs in flight at once per node (slots are refilled as
    /// attempts finish).
    pub webhook_concurrency: usize,
    /// Of those, at most this many to one receiving host (`name:port`).
    pub webhook_host_concurrency: usize,
    /// Writer tasks applying batches (default 1 on SQLite, 2 on PostgreSQL).
    pub writer_tasks: Option<usize>,
    /// Currency code → exponent; replaces the built-in list when given.
    pub currencies: Option<BTreeMap<String, u8>>,
    /// Authenticated merchant requests per second, per merchant and node,
    /// sustained; beyond it (and the burst) requests get 429 `RATE_LIMITED`
    /// with `Retry-After`. 0 turns the limit off.
    pub rate_limit_per_second: u64,
    /// Requests a merchant may make at once, counting the sustained rate
    /// (the bucket's size); default twice the rate.
    pub rate_limit_burst: Option<u64>,
    /// Base URL customers reach this gateway at (`https://pay.example.com`),
    /// for the hosted pages linked from `redirect`/`url`; default
    /// `http://{listen}`.
    pub public_url: Option<String>,
    /// Default exchange fees of partners (percent of the payin, decimal
    /// strings); a partner's own `exchange_fees` override them.
    pub exchange_payin_percent: String,
    pub exchange_margin_percent: String,
    /// How long an exchange order waits for its payin before it expires
    /// (a crypto address is reserved as long; `crypto_delay` is at most 900).
    pub exchange_payin_window_secs: u64,
    /// Consecutive failures (unreachable, timeout, 5xx) after which a
    /// provider is skipped, and for how long before one request probes it.
    pub provider_breaker_failures: u32,
    pub provider_breaker_cooldown_secs: u64,
    /// When an upstream payment's outcome counts as overdue, so that the
    /// reconciliation worker asks the upstream (then with growing gaps).
    pub provider_check_after_secs: u64,
    /// How often the reconciliation worker looks for overdue payments.
    pub provider_check_poll_ms: u64,
    /// Host names the webhook client resolves to fixed addresses instead of
    /// asking the system, still subject to the internal-address guard. Set
    /// only in code (not from a file or the environment): the test suite
    /// uses it to prove the guard judges resolved addresses, without
    /// editing the machine's `/etc/hosts`.
    #[serde(skip)]
    pub webhook_static_hosts: BTreeMap<String, std::net::IpAddr>,
}

/// The embedded defaults, as a serialisable layer beneath the others.
#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    database_url: &'static str,
    max_db_connections: u32,
    auth_window_secs: u64,
    secret_grace_secs: u64,
    max_body_bytes: usize,
    request_timeout_secs: u64,
    request_body_timeout_secs: u64,
    header_read_timeout_secs: u64,
    keep_alive_idle_secs: u64,
    max_connections: usize,
    allow_private_callbacks: bool,
    trust_forwarded_for: bool,
    log_format: &'static str,
    auth_cache_ttl_ms: u64,
    webhook_retry_schedule_secs: [u64; 8],
    webhook_timeout_secs: u64,
    webhook_poll_ms: u64,
    webhook_concurrency: usize,
    webhook_host_concurrency: usize,
    rate_limit_per_second: u64,
    exchange_payin_percent: &'static str,
    exchange_margin_percent: &'static str,
    exchange_payin_window_secs: u64,
    provider_breaker_failures: u32,
    provider_breaker_cooldown_secs: u64,
    provider_check_after_secs: u64,
    provider_check_poll_ms: u64,
}

const DEFAULTS: Defaults = Defaults {
    listen: "127.0.0.1:8080",
    database_url: "sqlite://paygate.db",
    max_db_connections: 16,
    auth_window_secs: 300,
    secret_grace_secs: 24 * 3600,
    // Receipts are up to 5 MiB decoded, about 6.7 MiB as base64 in JSON.
    max_body_bytes: 8 * 1024 * 1024,
    request_timeout_secs: 30,
    request_body_timeout_secs: 10,
    header_read_timeout_secs: 10,
    keep_alive_idle_secs: 60,
    max_connections: 4096,
    allow_private_callbacks: false,
    trust_forwarded_for: false,
    log_format: "text",
    auth_cache_ttl_ms: 1000,
    webhook_retry_schedule_secs: [10, 60, 300, 1800, 7200, 21600, 43200, 86400],
    webhook_timeout_secs: 10,
    webhook_poll_ms: 500,
    webhook_concurrency: 256,
    webhook_host_concurrency: 128,
    rate_limit_per_second: 1000,
    exchange_payin_percent: "1",
    exchange_margin_percent: "0.5",
    exchange_payin_window_secs: 900,
    provider_breaker_failures: 3,
    provider_breaker_cooldown_secs: 30,
    provider_check_after_secs: 300,
    provider_check_poll_ms: 1000,
};

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads every layer. `config_file` may be absent (then only defaults,
    /// environment and flags count).
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(DEFAULTS));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!("config file {} does not exist", path.display())));
            }
            fig = fig.merge(Toml::file(path));
        }
        fig = fig
            .merge(Env::prefixed("PAYGATE_").ignore(&["config", "log", "test_postgres_url"]))
            .merge(Serialized::defaults(overrides));
        let settings: Settings = fig.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if paygate_store::dialect::backend_of(self.database_url.expose_secret()).is_none() {
            return invalid("database_url must start with sqlite: or postgres://");
        }
        if self.auth_window_secs == 0 || self.auth_window_secs > 3600 {
            return invalid("auth_window_secs must be between 1 and 3600");
        }
        if self.max_body_bytes < 1024 {
            return invalid("max_body_bytes must be at least 1024");
        }
        if self.request_timeout_secs == 0 {
            return invalid("request_timeout_secs must be positive");
        }
        let connection_timeouts =
            [self.request_body_timeout_secs, self.header_read_timeout_secs, self.keep_alive_idle_secs];
        if connection_timeouts.iter().any(|t| *t == 0 || *t > 3600) || !(1..=1_000_000).contains(&self.max_connections)
        {
            return invalid(
                "request_body_timeout_secs, header_read_timeout_secs and keep_alive_idle_secs must be 1-3600, \
                 max_connections 1-1000000",
            );
        }
        if self.request_body_timeout_secs >= self.request_timeout_secs {
            // Otherwise the request timeout's 503 always comes first.
            return invalid("request_body_timeout_secs must be less than request_timeout_secs");
        }
        if self.max_db_connections == 0 {
            return invalid("max_db_connections must be positive");
        }
        if self.webhook_retry_schedule_secs.len() > 20
            || self.webhook_retry_schedule_secs.iter().any(|s| *s > 7 * 86400)
        {
            return invalid("webhook_retry_schedule_secs: at most 20 delays of at most 7 days");
        }
        if self.webhook_timeout_secs == 0
            || self.webhook_timeout_secs > 60
            || self.webhook_concurrency == 0
            || self.webhook_host_concurrency == 0
        {
            return invalid(
                "webhook_timeout_secs must be 1-60, webhook_concurrency and webhook_host_concurrency positive",
            );
        }
        if self.auth_cache_ttl_ms > 60_000 {
            return invalid("auth_cache_ttl_ms must be at most 60000");
        }
        if self.writer_tasks.is_some_and(|n| n == 0 || n > 16) {
            return invalid("writer_tasks must be between 1 and 16");
        }
        if self.rate_limit_burst == Some(0) {
            return invalid("rate_limit_burst must be positive");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return invalid("log_format must be text or json");
        }
        if let Some(token) = &self.admin_token {
            if token.expose_secret().len() < 16 {
                return invalid("admin_token must be at least 16 characters");
            }
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.parse::<reqwest::Url>().is_err() {
                return invalid("public_url must be an http(s) URL");
            }
        }
        let fees = crate::exchange::fees::ExchangeFeesIn {
            payin_percent: Some(self.exchange_payin_percent.clone()),
            margin_percent: Some(self.exchange_margin_percent.clone()),
            payout_fixed: Default::default(),
        };
        if fees.validate(&paygate_core::money::Currencies::default()).is_err() {
            return invalid("exchange_payin_percent and exchange_margin_percent must be decimals summing below 50");
        }
        if self.provider_breaker_failures == 0
            || self.provider_check_after_secs == 0
            || self.provider_check_poll_ms == 0
        {
            return invalid(
                "provider_breaker_failures, provider_check_after_secs and provider_check_poll_ms must be at least 1",
            );
        }
        if self.exchange_payin_window_secs < 60 || self.exchange_payin_window_secs > 7 * 86400 {
            return invalid("exchange_payin_window_secs must be between 60 and 604800");
        }
        if let Some(c) = &self.currencies {
            paygate_core::money::Currencies::from_entries(c.clone())
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// The limit every merchant gets.
    pub fn rate_limit(&self) -> crate::rate_limit::Limit {
        let limit = crate::rate_limit::Limit::at(self.rate_limit_per_second);
        crate::rate_limit::Limit { burst: self.rate_limit_burst.unwrap_or(limit.burst), ..limit }
    }

    /// Settings for tests and embedding: the embedded defaults plus the given
    /// database, and nothing from the environment, so that a `PAYGATE_*`
    /// variable exported in the shell cannot change what a test sees.
    pub fn for_database(url: &str) -> Settings {
        let mut s: Settings =
            Figment::from(Serialized::defaults(DEFAULTS)).extract().expect("embedded defaults are complete");
        s.database_url = SecretString::from(url.to_string());
        s.validate().expect("embedded defaults are valid");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_burst_defaults_to_twice_the_rate_and_must_be_positive() {
        let mut s = Settings::for_database("sqlite://x.db");
        assert_eq!(s.rate_limit(), crate::rate_limit::Limit { per_second: 1000, burst: 2000 });
        s.rate_limit_burst = Some(5);
        assert_eq!(s.rate_limit().burst, 5);
        s.rate_limit_burst = Some(0);
        assert!(s.validate().is_err());
    }

    #[test]
    fn settings_for_a_database_ignore_the_environment() {
        // Cargo runs this crate's tests in one process; the variable set
        // here is one no other test reads.
        std::env::set_var("PAYGATE_RATE_LIMIT_BURST", "7");
        let s = Settings::for_database("sqlite://x.db");
        std::env::remove_var("PAYGATE_RATE_LIMIT_BURST");
        assert_eq!(s.rate_limit_burst, None);
        assert_eq!(s.rate_limit_per_second, 1000);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let mut s = Settings::for_database("postgres://user:pw-SECRET@localhost/db");
        s.admin_token = Some(SecretString::from("admin-token-SECRET-123".to_string()));
        let text = format!("{s:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
