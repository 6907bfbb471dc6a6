//! The merchant scenarios (the exchange's are in `exchange.rs`). Each sets up what it needs through the admin API,
//! sends one probe request outside the clock (so a missing endpoint fails in
//! one clear line instead of ten seconds of 404s), then runs the closed loop.

use crate::api::{self, Merchant};
use crate::cli::Scenario;
use crate::load::{self, Run, Workload};
use crate::money::{format_minor, parse_minor};
use crate::webhooks::Mode;
use anyhow::Context;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What one scenario needs to know about the server and the flags.
pub struct Ctx<'a> {
    pub base: &'a str,
    pub admin_token: &'a str,
    pub connections: u64,
    pub duration: Duration,
    pub merchants: u64,
    /// The gateway's database, for scenarios that fill it directly.
    pub database_url: &'a str,
    pub stats_payins: u64,
    pub stats_runs: u64,
    pub webhook_rate: u64,
    /// For scenarios that start a second gateway.
    pub bin: &'a std::path::Path,
    pub backend: crate::cli::Backend,
}

pub struct Outcome {
    pub run: Run,
    /// Extra report lines (set-up facts, the balance check).
    pub lines: Vec<String>,
    /// Short text for the table's notes column.
    pub note: String,
    /// False when a correctness check failed (the figures are still printed).
    pub check_ok: bool,
}

pub async fn run(scenario: Scenario, ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let client = setup_client()?;
    let before = crate::writer_stats::read(&client, ctx.base).await;
    let mut outcome = match scenario {
        Scenario::Healthz => healthz(ctx).await,
        Scenario::PayinCreate => payin_create(ctx).await,
        Scenario::PayinCreateRollups => crate::rollups_ab::run(ctx).await,
        Scenario::HotPayout => hot_payout(ctx).await,
        Scenario::Webhooks => crate::webhooks::run(ctx, Mode::Race).await,
        Scenario::WebhooksDrain => crate::webhooks::run(ctx, Mode::Drain).await,
        Scenario::WebhooksPaced => crate::webhooks::run(ctx, Mode::Paced { per_second: ctx.webhook_rate }).await,
        Scenario::Statistics => crate::statistics::run(ctx).await,
        Scenario::ExchangeQuote | Scenario::ExchangeCreate => crate::exchange::run(scenario, ctx).await,
        Scenario::UpstreamPayin => crate::upstream::run(ctx).await,
        Scenario::PayinGet | Scenario::PayoutGet | Scenario::Balance | Scenario::PayinList => {
            crate::reads::run(scenario, ctx).await
        }
    }?;
    let after = crate::writer_stats::read(&client, ctx.base).await;
    if let Some(writer) = crate::writer_stats::describe(&before, &after) {
        outcome.lines.push(writer.clone());
        outcome.note = if outcome.note.is_empty() { writer } else { format!("{}; {writer}", outcome.note) };
    }
    Ok(outcome)
}

fn setup_client() -> anyhow::Result<Client> {
    api::client(Duration::from_secs(30))
}

// ---- healthz: the floor. Routing, middleware and HTTP, no database. ----

struct Healthz {
    url: String,
}

impl Workload for Healthz {
    fn request(&self, client: &Client, _worker: u64, _seq: u64) -> RequestBuilder {
        client.get(&self.url)
    }
    fn expected(&self) -> StatusCode {
        StatusCode::OK
    }
}

async fn healthz(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let w = Arc::new(Healthz { url: format!("{}/healthz", ctx.base) });
    let run = load::run(w, ctx.connections, ctx.duration).await?;
    Ok(Outcome { run, lines: vec![], note: String::new(), check_ok: true })
}

// ---- payin-create: signed writes spread over many merchants. ----

const PAYIN_PATH: &str = "/api/v1/payin/create";

pub struct PayinCreate {
    url: String,
    merchants: Vec<Merchant>,
    /// Starts every order id, so that a later round on the same merchants
    /// (`rollups_ab`) creates new payins rather than repeating old ones.
    round: AtomicU64,
}

impl PayinCreate {
    fn body(round: u64, worker: u64, seq: &str) -> String {
        // Formatted by hand rather than through serde_json: every interpolated
        // value is [A-Za-z0-9-], so no escaping is needed, and the client's
        // CPU is shared with the server on this box.
        format!(
            r#"{{"merchant_order_id":"r{round}w{worker}-{seq}","amount":"150.00","currency":"RUB","method":"card","customer_id":"c-{worker}"}}"#
        )
    }

    /// `--merchants` merchants (labelled `{label}{i}`: each scenario on a
    /// server needs its own), and one probe create outside the clock.
    pub async fn set_up(ctx: &Ctx<'_>, label: &str) -> anyhow::Result<PayinCreate> {
        let client = setup_client()?;
        let mut merchants = Vec::new();
        for i in 0..ctx.merchants {
            merchants.push(api::create_merchant(&client, ctx.base, ctx.admin_token, &format!("{label}{i}")).await?);
        }
        let url = format!("{}{PAYIN_PATH}", ctx.base);
        let probe = api::signed_post(&client, &url, &merchants[0], PayinCreate::body(0, 0, "probe")).send().await?;
        api::expect_data(&format!("POST {PAYIN_PATH}"), probe, &[StatusCode::CREATED]).await?;
        Ok(PayinCreate { url, merchants, round: AtomicU64::new(0) })
    }

    pub fn next_round(&self, round: usize) {
        self.round.store(round as u64, Ordering::Relaxed);
    }
}

impl Workload for PayinCreate {
    fn request(&self, client: &Client, worker: u64, seq: u64) -> RequestBuilder {
        // Rotating per request (not one merchant per worker) interleaves all
        // merchants on every connection, as a shared gateway sees them.
        let m = &self.merchants[((worker + seq) % self.merchants.len() as u64) as usize];
        let round = self.round.load(Ordering::Relaxed);
        api::signed_post(client, &self.url, m, Self::body(round, worker, &seq.to_string()))
    }
    fn expected(&self) -> StatusCode {
        StatusCode::CREATED
    }
}

async fn payin_create(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let w = Arc::new(PayinCreate::set_up(ctx, "").await?);
    let run = load::run(w, ctx.connections, ctx.duration).await?;
    let lines = vec![format!("merchants: {} (requests rotate over them)", ctx.merchants)];
    Ok(Outcome { run, lines, note: String::new(), check_ok: true })
}

// ---- hot-payout: every request contends for one merchant's RUB balance. ----

const PAYOUT_PATH: &str = "/api/v1/payout/create";
const CURRENCY: &str = "RUB";
const EXPONENT: u32 = 2;
/// Enough for every payout the run can make: it must never be the funds that stop it.
const FUNDING: &str = "100000000.00";

struct HotPayout {
    url: String,
    merchant: Merchant,
}

impl HotPayout {
    fn body(worker: u64, seq: &str) -> String {
        // Hand-formatted for the same reason as the payin body.
        format!(
            r#"{{"merchant_order_id":"w{worker}-{seq}","amount":"1.00","currency":"RUB","method":"card","destination":{{"card_number":"4111111111111111"}}}}"#
        )
    }
}

/// `amount + fee` of a created payout: what moved from available to hold.
fn held(data: &Value) -> Result<i64, String> {
    let field = |k: &str| {
        data[k].as_str().and_then(|s| parse_minor(s, EXPONENT)).ok_or_else(|| format!("payout without a valid {k}"))
    };
    Ok(field("amount")? + field("fee")?)
}

impl Workload for HotPayout {
    fn request(&self, client: &Client, worker: u64, seq: u64) -> RequestBuilder {
        api::signed_post(client, &self.url, &self.merchant, Self::body(worker, &seq.to_string()))
    }
    fn expected(&self) -> StatusCode {
        StatusCode::CREATED
    }
    fn accepted(&self, body: &[u8]) -> Result<i64, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        held(&v["data"])
    }
}

async fn hot_payout(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let client = setup_client()?;
    let merchant = api::create_merchant(&client, ctx.base, ctx.admin_token, "hot").await?;
    api::adjust_balance(&client, ctx.base, ctx.admin_token, &merchant.id, CURRENCY, FUNDING).await?;
    let funded = parse_minor(FUNDING, EXPONENT).context("FUNDING")?;
    let url = format!("{}{PAYOUT_PATH}", ctx.base);
    let probe = api::signed_post(&client, &url, &merchant, HotPayout::body(0, "probe")).send().await?;
    let probe = api::expect_data(&format!("POST {PAYOUT_PATH}"), probe, &[StatusCode::CREATED]).await?;
    let probe_held = held(&probe).map_err(|e| anyhow::anyhow!("POST {PAYOUT_PATH}: {e}: {probe}"))?;

    let w = Arc::new(HotPayout { url, merchant: merchant.clone() });
    let run = load::run(w, ctx.connections, ctx.duration).await?;

    let (available, hold) = api::balance(&client, ctx.base, &merchant, CURRENCY).await?;
    let parse = |s: &str| parse_minor(s, EXPONENT).with_context(|| format!("balance {s:?} is not a {CURRENCY} amount"));
    let (available, hold) = (parse(&available)?, parse(&hold)?);
    let accepted = run.all_statuses.get(&201).copied().unwrap_or(0) + 1;
    let held_total = probe_held + run.accepted_value;
    let refused_402 = run.all_statuses.get(&402).copied().unwrap_or(0);
    let f = |v| format_minor(v, EXPONENT);
    let mut lines = vec![
        format!(
            "payouts accepted: {accepted} (probe and warm-up included), holding {} {CURRENCY}; 402 INSUFFICIENT_FUNDS: {refused_402}",
            f(held_total)
        ),
        format!(
            "balance: available {} + hold {} (expected {} + {}; funded {})",
            f(available),
            f(hold),
            f(funded - held_total),
            f(held_total),
            f(funded)
        ),
    ];
    // On create, amount + fee moves available → hold (API.md 3.2), so
    // available must equal funded − held and hold must equal held: any other
    // figure means a payout was accepted without its hold, or twice.
    let balanced = available == funded - held_total && hold == held_total;
    let mut note = if balanced {
        "overdraft: none".to_string()
    } else {
        format!(
            "DISCREPANCY: available off by {}, hold off by {}",
            f(available - (funded - held_total)),
            f(hold - held_total)
        )
    };
    if available < 0 {
        note.push_str("; OVERDRAFT (available < 0)");
    }
    if !balanced && run.all_transport_errors > 0 {
        note.push_str(&format!(
            " ({} requests got no answer; the server may have accepted them)",
            run.all_transport_errors
        ));
    }
    if refused_402 > 0 {
        note.push_str(&format!("; {refused_402}×402 while funded"));
    }
    lines.push(note.clone());
    Ok(Outcome { run, lines, note, check_ok: balanced && refused_402 == 0 })
}
