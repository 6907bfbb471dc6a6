//! Everything a handler needs, built once at start and shared.

use crate::config::Settings;
use crate::keys;
use metrics_exporter_prometheus::PrometheusHandle;
use paygate_core::money::Currencies;
use paygate_core::secret_box::MasterKey;
use paygate_store::payments::Kind;
use paygate_store::writer::Writer;
use paygate_store::{Backend, Db};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub settings: Settings,
    pub master_key: MasterKey,
    pub admin_token: SecretString,
    pub currencies: Currencies,
    pub metrics: PrometheusHandle,
    /// The batching write path for every change that moves money.
    pub writer: Writer,
    /// Merchants by public token, for authentication without a query.
    pub auth_cache: crate::auth_cache::AuthCache,
    /// Partners by API key, and the exchange's methods and rates, for the
    /// same time as merchants (`auth_cache_ttl_ms`); see `exchange::cache`.
    pub partner_cache: crate::ttl_map::TtlMap<crate::exchange::cache::CachedPartner>,
    pub book_cache: crate::ttl_map::TtlMap<crate::exchange::terms::Book>,
    pub rate_limiter: crate::rate_limit::RateLimiter,
    pub sign_in_throttle: crate::http::dashboard::throttle::SignInThrottle,
    /// Merchants by id for the webhook worker (the same lifetime and
    /// forgetting as `auth_cache`): a delivery costs no merchant read.
    pub delivery_merchants: crate::ttl_map::TtlMap<paygate_store::merchants::MerchantRecord>,
    /// Provider instances and routing rules, for `auth_cache_ttl_ms`.
    pub registry_cache: crate::ttl_map::TtlMap<crate::providers::Registry>,
    pub breaker: crate::providers::breaker::Breaker,
    /// Statistics requests running at once: each holds several pooled
    /// connections for up to seconds, so a burst of them must not take the
    /// whole pool from ordinary reads; the rest wait their turn.
    pub statistics_permits: tokio::sync::Semaphore,
    /// Status polls (a payin, a payout, the balance), coalesced.
    pub reads: crate::reads::PointReads,
    /// `payin/list` and `payout/list` pages: equal requests that arrive
    /// together share a read.
    pub payin_pages: crate::reads::pages::ListPages,
    pub payout_pages: crate::reads::pages::ListPages,
    /// Webhook attempts in flight per receiving host.
    pub webhook_hosts: crate::workers::host_turns::HostTurns,
}

/// Where customers reach this gateway: `public_url`, else the listen address.
fn public_base(settings: &Settings) -> String {
    let base = settings.public_url.clone().unwrap_or_else(|| format!("http://{}", settings.listen));
    base.trim_end_matches('/').to_string()
}

impl AppState {
    /// After a change to a merchant through this node: every cache drops it.
    pub fn forget_merchant(&self, m: &paygate_store::merchants::MerchantRecord) {
        self.auth_cache.forget(&m.public_token);
        self.delivery_merchants.forget(&m.id);
        // A new webhook URL makes the merchant's waiting events due now.
        self.wake_deliveries();
    }

    /// Wakes the webhook worker: events became due on this node (committed,
    /// requeued, released by a settled one or a new webhook URL).
    pub fn wake_deliveries(&self) {
        self.writer.events_ready.notify_one();
    }

    /// Where customers reach this gateway (hosted pages live under it).
    pub fn public_base(&self) -> String {
        public_base(&self.settings)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// What `build` tells the operator once: a generated admin token.
pub struct Generated {
    pub admin_token: Option<SecretString>,
}

impl AppState {
    /// Connects, migrates and assembles the state. Returns the admin token
    /// it generated, if the operator configured none, so the caller can
    /// print it exactly once.
    pub async fn build(settings: Settings) -> anyhow::Result<(AppState, Generated)> {
        let db = Db::connect(settings.database_url.expose_secret(), settings.max_db_connections).await?;
        paygate_store::migrate::run(&db).await?;
        let master_key = keys::resolve_master_key(&settings)?;
        let (admin_token, generated) = match &settings.admin_token {
            Some(t) => (t.clone(), None),
            None => {
                let t = SecretString::from(paygate_core::tokens::new_admin_token());
                (t.clone(), Some(t))
            }
        };
        let currencies = match &settings.currencies {
            Some(map) => Currencies::from_entries(map.clone())?,
            None => Currencies::default(),
        };
        let public_base = public_base(&settings);
        let render = Arc::new(crate::payments::views::EventRenderer { currencies: currencies.clone(), public_base });
        // SQLite has one writer at a time anyway; on PostgreSQL a second task
        // overlaps one batch's commit with the next batch's work.
        let tasks = settings.writer_tasks.unwrap_or(match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 2,
        });
        // A batch that outlives the request timeout serves no caller: the
        // writer then gives up its connection (see `WriteError::Stalled`).
        let deadline = std::time::Duration::from_secs(settings.request_timeout_secs);
        let writer = Writer::start(settings.database_url.expose_secret(), render.clone(), tasks, deadline)?;
        let settings_ttl = settings.auth_cache_ttl_ms;
        let breaker = crate::providers::breaker::Breaker::new(
            settings.provider_breaker_failures,
            std::time::Duration::from_secs(settings.provider_breaker_cooldown_secs),
        );
        let statistics_concurrency = (settings.max_db_connections as usize / 8).max(1);
        let reads = crate::reads::PointReads::start(&db, render.clone());
        let payin_pages = crate::reads::pages::ListPages::new(Kind::PayIn, &db, render.clone());
        let payout_pages = crate::reads::pages::ListPages::new(Kind::PayOut, &db, render.clone());
        let state = AppState(Arc::new(Inner {
            db,
            reads,
            payin_pages,
            payout_pages,
            webhook_hosts: crate::workers::host_turns::HostTurns::new(settings.webhook_host_concurrency),
            settings,
            master_key,
            admin_token,
            currencies,
            metrics: crate::telemetry::metrics_handle(),
            auth_cache: crate::auth_cache::AuthCache::new(std::time::Duration::from_millis(settings_ttl)),
            partner_cache: crate::ttl_map::TtlMap::new(std::time::Duration::from_millis(settings_ttl)),
            book_cache: crate::ttl_map::TtlMap::new(std::time::Duration::from_millis(settings_ttl)),
            rate_limiter: crate::rate_limit::RateLimiter::default(),
            sign_in_throttle: Default::default(),
            registry_cache: crate::ttl_map::TtlMap::new(std::time::Duration::from_millis(settings_ttl)),
            delivery_merchants: crate::ttl_map::TtlMap::new(std::time::Duration::from_millis(settings_ttl)),
            breaker,
            statistics_permits: tokio::sync::Semaphore::new(statistics_concurrency),
            writer,
        }));
        Ok((state, Generated { admin_token: generated }))
    }
}
