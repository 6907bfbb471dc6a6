//! The read scenarios: what a merchant polls. One merchant with 100 payins
//! (a payout too), then signed `payin/get` (rotating over the payins),
//! `payout/get`, `balance` and `payin/list` (20 items) in a closed loop.
//! Compare each with `healthz` of the same run.

use crate::api::{self, expect_data, Merchant};
use crate::cli::Scenario;
use crate::load::{self, Workload};
use crate::scenarios::{Ctx, Outcome};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

struct Read {
    url: String,
    merchant: Merchant,
    /// Bodies to rotate over.
    bodies: Vec<String>,
}

impl Workload for Read {
    fn request(&self, client: &Client, worker: u64, seq: u64) -> RequestBuilder {
        let body = &self.bodies[((worker + seq) % self.bodies.len() as u64) as usize];
        api::signed_post(client, &self.url, &self.merchant, body.clone())
    }
    fn expected(&self) -> StatusCode {
        StatusCode::OK
    }
}

pub async fn run(scenario: Scenario, ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let client = api::client(Duration::from_secs(30))?;
    let merchant = api::create_merchant(
        &client,
        ctx.base,
        ctx.admin_token,
        &format!("reads-{}-{}", scenario.name(), api::unix_now()),
    )
    .await?;
    let post = |path: &str, body: serde_json::Value| {
        api::signed_post(&client, &format!("{}{path}", ctx.base), &merchant, body.to_string()).send()
    };
    let mut payins = Vec::new();
    for i in 0..100 {
        let body = json!({"merchant_order_id": format!("read-{i}"), "amount": "150.00", "currency": "RUB",
                          "method": "card", "customer_id": "c-1"});
        let d =
            expect_data("POST /api/v1/payin/create", post("/api/v1/payin/create", body).await?, &[StatusCode::CREATED])
                .await?;
        payins.push(d["id"].as_str().unwrap_or_default().to_string());
    }
    let (path, bodies) = match scenario {
        Scenario::PayinGet => ("/api/v1/payin/get", payins.iter().map(|id| json!({"id": id}).to_string()).collect()),
        Scenario::PayinList => ("/api/v1/payin/list", vec![json!({"limit": 20}).to_string()]),
        Scenario::Balance => ("/api/v1/balance", vec!["{}".to_string()]),
        _ => {
            let path = format!("/admin/v1/balances/{}/adjust", merchant.id);
            let funding = json!({"currency": "RUB", "amount": "1000.00", "reason": "bench"});
            let resp =
                client.post(format!("{}{path}", ctx.base)).bearer_auth(ctx.admin_token).json(&funding).send().await?;
            expect_data(&format!("POST {path}"), resp, &[StatusCode::OK]).await?;
            let body = json!({"merchant_order_id": "read-payout", "amount": "1.00", "currency": "RUB", "method": "card",
                              "destination": {"card_number": "4111111111111111"}});
            let d = expect_data(
                "POST /api/v1/payout/create",
                post("/api/v1/payout/create", body).await?,
                &[StatusCode::CREATED],
            )
            .await?;
            ("/api/v1/payout/get", vec![json!({"id": d["id"]}).to_string()])
        }
    };
    let w = Read { url: format!("{}{path}", ctx.base), merchant, bodies };
    let probe = w.request(&client, 0, 0).send().await?;
    expect_data(&format!("POST {path}"), probe, &[StatusCode::OK]).await?;
    let run = load::run(Arc::new(w), ctx.connections, ctx.duration).await?;
    Ok(Outcome { run, lines: vec![format!("signed POST {path}")], note: String::new(), check_ok: true })
}
