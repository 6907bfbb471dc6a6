//! `upstream-payin`: signed USD card payins at the gateway under test (A),
//! each routed to a second gateway (B, started here on the same kind of
//! database) as a `switchere` provider: every payin is a signed order
//! create at B before A stores it. Compare it with `payin-create` in the
//! same run: the ratio is what the upstream round trip costs.

use crate::api::{self, expect_data, Merchant};
use crate::load::{self, Workload};
use crate::scenarios::{Ctx, Outcome};
use crate::server::Gateway;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const PAYIN_PATH: &str = "/api/v1/payin/create";

struct UpstreamPayin {
    url: String,
    merchant: Merchant,
}

impl Workload for UpstreamPayin {
    fn request(&self, client: &Client, worker: u64, seq: u64) -> RequestBuilder {
        let body = format!(
            r#"{{"merchant_order_id":"u{worker}-{seq}","amount":"100.00","currency":"USD","method":"card","customer_id":"c-{worker}"}}"#
        );
        api::signed_post(client, &self.url, &self.merchant, body)
    }
    fn expected(&self) -> StatusCode {
        StatusCode::CREATED
    }
}

async fn admin(
    client: &Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let resp = client.request(method.clone(), format!("{base}{path}")).bearer_auth(token).json(&body).send().await?;
    expect_data(&format!("{method} {path}"), resp, &[StatusCode::OK, StatusCode::CREATED]).await
}

pub async fn run(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let client = api::client(Duration::from_secs(30))?;
    let b = Gateway::start(ctx.bin, ctx.backend).await?;
    let put = reqwest::Method::PUT;
    // B: USD by card in, BTC to the partner's balance out.
    let methods = json!({"payin": [{"group": "card", "title": "Card", "currencies": ["USD"]}],
                         "payout": [{"group": "balance", "title": "Balance", "currencies": ["BTC"]}]});
    admin(&client, &b.base, &b.admin_token, put.clone(), "/admin/v1/exchange/methods", methods).await?;
    let rates = json!({"rates": [{"name": "BTC-USD", "bid": "29000", "ask": "31000"}]});
    admin(&client, &b.base, &b.admin_token, put.clone(), "/admin/v1/rates", rates).await?;
    let operator =
        api::create_merchant(&client, &b.base, &b.admin_token, &format!("upstream-{}", api::unix_now())).await?;
    let path = format!("/admin/v1/merchants/{}/partner", operator.id);
    let creds = admin(&client, &b.base, &b.admin_token, reqwest::Method::POST, &path, json!({})).await?;
    // A: USD payins go to B.
    let providers = json!({"providers": [{"id": "bench-upstream", "type": "switchere", "config": {
        "base_url": b.base, "api_key": creds["api_key"], "secret": creds["secret"],
        "callback_secret": creds["callback_secret"], "payout_currency": "BTC", "payout_group": "balance"}}]});
    admin(&client, ctx.base, ctx.admin_token, put.clone(), "/admin/v1/providers", providers).await?;
    let routes = json!({"routes": [{"kind": "payin", "currency": "USD", "provider_id": "bench-upstream"}]});
    admin(&client, ctx.base, ctx.admin_token, put, "/admin/v1/routes", routes).await?;
    let merchant =
        api::create_merchant(&client, ctx.base, ctx.admin_token, &format!("via-upstream-{}", api::unix_now())).await?;
    let url = format!("{}{PAYIN_PATH}", ctx.base);
    let w = UpstreamPayin { url: url.clone(), merchant };
    let probe = w.request(&client, 9999, 0).send().await?;
    let d = expect_data(&format!("POST {PAYIN_PATH}"), probe, &[StatusCode::CREATED]).await?;
    anyhow::ensure!(d["provider"] == "bench-upstream", "the probe payin was not routed upstream: {d}");
    let run = load::run(Arc::new(w), ctx.connections, ctx.duration).await?;
    let lines = vec![format!("upstream B: {} ({}), one order create per payin", b.base, b.database_label())];
    Ok(Outcome { run, lines, note: "each payin opens an order at a second local gateway".into(), check_ok: true })
}
