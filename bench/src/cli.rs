//! Command-line flags. Defaults match the figures in bench/README.md, so a bare
//! `cargo run --release -p paygate-bench` reproduces the published table.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "paygate-bench", about = "Closed-loop load generator for a local paygate")]
pub struct Args {
    /// Which database the gateway runs on; `both` runs sqlite first, then postgres.
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendChoice,
    /// Comma-separated scenarios, run in this order against one server per backend.
    #[arg(long, value_delimiter = ',', default_value = "healthz,payin-create,hot-payout,webhooks")]
    pub scenarios: Vec<Scenario>,
    /// Measured seconds per scenario (after a 1 s warm-up that is not counted).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Concurrent closed-loop workers, each on its own keep-alive connection.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub connections: u64,
    /// Merchants created for payin-create (requests are spread over them round-robin).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub merchants: u64,
    /// Payins the `statistics` scenario writes for its merchant (straight into the database).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub stats_payins: u64,
    /// Timed `/api/v1/statistics` requests per granularity in the `statistics` scenario.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub stats_runs: u64,
    /// Cancels per second in `webhooks-paced` (for `--duration` seconds).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub webhook_rate: u64,
    /// The gateway binary; it is run, never built. Default: target/release/paygate,
    /// falling back to a `paygate` next to this binary.
    #[arg(long)]
    pub paygate_bin: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

impl BackendChoice {
    pub fn backends(self) -> Vec<Backend> {
        match self {
            Self::Sqlite => vec![Backend::Sqlite],
            Self::Postgres => vec![Backend::Postgres],
            Self::Both => vec![Backend::Sqlite, Backend::Postgres],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Scenario {
    Healthz,
    PayinCreate,
    HotPayout,
    Webhooks,
    /// Delivery capacity alone: events committed first, then delivered.
    WebhooksDrain,
    /// End-to-end latency with production paced at `--webhook-rate`.
    WebhooksPaced,
    /// Not in the default list: its fill takes a while (see bench/README.md).
    Statistics,
    /// A partner's signed fee quotes (Switchere-compatible API).
    ExchangeQuote,
    /// A partner's signed order creates, each with its own partner_order_id.
    ExchangeCreate,
    /// Merchant payins routed to a second local gateway as a switchere upstream.
    UpstreamPayin,
    /// Signed status polls: `payin/get` over 100 payins, `payout/get`,
    /// `balance`, `payin/list` of 20.
    PayinGet,
    PayoutGet,
    Balance,
    PayinList,
    /// Not in the default list: payin-create with the statistics rollups'
    /// triggers and without, alternated on one server, and their ratio.
    PayinCreateRollups,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::PayinCreate => "payin-create",
            Self::HotPayout => "hot-payout",
            Self::Webhooks => "webhooks",
            Self::WebhooksDrain => "webhooks-drain",
            Self::WebhooksPaced => "webhooks-paced",
            Self::Statistics => "statistics",
            Self::ExchangeQuote => "exchange-quote",
            Self::ExchangeCreate => "exchange-create",
            Self::UpstreamPayin => "upstream-payin",
            Self::PayinGet => "payin-get",
            Self::PayoutGet => "payout-get",
            Self::Balance => "balance",
            Self::PayinList => "payin-list",
            Self::PayinCreateRollups => "payin-create-rollups",
        }
    }
}
