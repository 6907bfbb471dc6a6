//! The exchange scenarios: a partner's signed fee quotes and order creates
//! (USD by card → BTC, so no crypto address is reserved and every create is
//! a new order). Each request is signed fresh, `API-Signature =
//! base64(HMAC-SHA512(secret, SHA-256(path + body)))`, as a partner pays for it.

use crate::api::{self, expect_data};
use crate::cli::Scenario;
use crate::load::{self, Workload};
use crate::scenarios::{Ctx, Outcome};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};
use std::sync::Arc;
use std::time::Duration;

const QUOTE_PATH: &str = "/api/v2/partner/order/fee";
const CREATE_PATH: &str = "/api/v2/partner/order/create";

fn signature(secret: &str, path: &str, body: &str) -> String {
    let digest = Sha256::new().chain_update(path).chain_update(body).finalize();
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(&digest);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

struct Partner {
    api_key: String,
    secret: String,
}

struct Exchange {
    base: String,
    path: &'static str,
    partner: Partner,
    /// Distinguishes this run's order ids from an earlier run's.
    run: u64,
}

impl Exchange {
    fn body(&self, worker: u64, seq: &str) -> String {
        // Hand-formatted like the merchant bodies: nothing here needs escaping.
        match self.path {
            QUOTE_PATH => r#"{"payin_currency":"USD","payout_currency":"BTC","payin_amount":"100.00"}"#.to_string(),
            _ => format!(
                r#"{{"partner_order_id":"r{}-w{worker}-{seq}","payin_currency":"USD","payout_currency":"BTC","payin_amount":"100.00","dst_address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}}"#,
                self.run
            ),
        }
    }

    fn post(&self, client: &Client, body: String) -> RequestBuilder {
        client
            .post(format!("{}{}", self.base, self.path))
            .header("Content-Type", "application/json")
            .header("API-Key", &self.partner.api_key)
            .header("API-Signature", signature(&self.partner.secret, self.path, &body))
            .body(body)
    }
}

impl Workload for Exchange {
    fn request(&self, client: &Client, worker: u64, seq: u64) -> RequestBuilder {
        self.post(client, self.body(worker, &seq.to_string()))
    }
    fn expected(&self) -> StatusCode {
        if self.path == QUOTE_PATH {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        }
    }
}

/// Methods, rates and a partner, through the admin API.
async fn set_up(client: &Client, ctx: &Ctx<'_>) -> anyhow::Result<Partner> {
    let admin = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        client.request(method, format!("{}{path}", ctx.base)).bearer_auth(ctx.admin_token).json(&body).send()
    };
    let methods = json!({"payin": [{"group": "card", "title": "Card", "currencies": ["USD"]}],
                         "payout": [{"group": "crypto", "title": "Crypto", "currencies": ["BTC"]}]});
    let resp = admin(reqwest::Method::PUT, "/admin/v1/exchange/methods", methods).await?;
    expect_data("PUT /admin/v1/exchange/methods", resp, &[StatusCode::OK]).await?;
    let rates = json!({"rates": [{"name": "BTC-USD", "bid": "29000", "ask": "31000"}]});
    let resp = admin(reqwest::Method::PUT, "/admin/v1/rates", rates).await?;
    expect_data("PUT /admin/v1/rates", resp, &[StatusCode::OK]).await?;
    let label = format!("exchange-{}", api::unix_now());
    let merchant = api::create_merchant(client, ctx.base, ctx.admin_token, &label).await?;
    let path = format!("/admin/v1/merchants/{}/partner", merchant.id);
    let resp = admin(reqwest::Method::POST, &path, json!({})).await?;
    let d = expect_data(&format!("POST {path}"), resp, &[StatusCode::CREATED]).await?;
    let field = |k: &str| d[k].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no {k} in {d}"));
    Ok(Partner { api_key: field("api_key")?, secret: field("secret")? })
}

pub async fn run(scenario: Scenario, ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let client = api::client(Duration::from_secs(30))?;
    let partner = set_up(&client, ctx).await?;
    let path = if scenario == Scenario::ExchangeQuote { QUOTE_PATH } else { CREATE_PATH };
    let w = Exchange { base: ctx.base.to_string(), path, partner, run: api::unix_now() };
    let probe = w.post(&client, w.body(0, "probe")).send().await?;
    let status = probe.status();
    let text = probe.text().await?;
    if status != w.expected() {
        anyhow::bail!("{} from POST {path}: {text}", status.as_u16());
    }
    let run = load::run(Arc::new(w), ctx.connections, ctx.duration).await?;
    let lines = vec![format!("partner requests to {path}, signed per request")];
    Ok(Outcome { run, lines, note: String::new(), check_ok: true })
}

#[cfg(test)]
mod tests {
    /// The published partner_request vector (../shared/vectors/signatures.json).
    #[test]
    fn signature_matches_the_published_vector() {
        let content = "{\"payin_group\": \"crypto\",\"payin_amount\": 1,\"payin_currency\": \"ETH\",\"payout_group\": \"crypto\",\"payout_currency\": \"BTC\"}";
        assert_eq!(
            super::signature("xS!R1yRxZp8MoOJKC2?FsC8f2u027qAA", "/api/v2/partner/order/fee", content),
            "CCNJnAShoSXacOrbrzbHtHkpnm0CdHGki8ZnFKqdELr9FsiG/Qu4WuMkS7UpriTOzWaeYuTlYjpjZ2v+O9DNRw=="
        );
    }
}
