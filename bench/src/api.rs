//! The few gateway calls the bench makes outside the measured loops (admin
//! set-up, the balance check), plus request signing (API.md section 2).

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the contract says merchant clients send [fixed].
pub const ACCEPT: &str = "application/json, text/plain";

#[derive(Clone, Debug)]
pub struct Merchant {
    pub id: String,
    pub email: String,
    pub public_token: String,
    pub secret_token: String,
}

/// A client for one keep-alive connection. Proxies are off: the bench talks to
/// 127.0.0.1 only, and an `http_proxy` in the environment must not reroute it.
pub fn client(timeout: Duration) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()?)
}

/// `lowercase hex(HMAC-SHA256(key = secret, msg = ts + email))`.
pub fn signature(secret: &str, ts: &str, email: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(ts.as_bytes());
    mac.update(email.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A signed merchant POST; the signature is computed fresh for every request
/// because that HMAC is part of what a real client pays per call.
pub fn signed_post(client: &Client, url: &str, m: &Merchant, body: String) -> RequestBuilder {
    let ts = unix_now().to_string();
    let sig = signature(&m.secret_token, &ts, &m.email);
    client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", ACCEPT)
        .header("X-App-Token", &m.public_token)
        .header("X-App-Access-Ts", ts)
        .header("X-App-Access-Sig", sig)
        .body(body)
}

/// Reads `{"success":true,"data":…}` when the status is one of `ok`, else a
/// clear error naming the call and the gateway's error code.
pub async fn expect_data(what: &str, resp: Response, ok: &[StatusCode]) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await.with_context(|| format!("{what}: reading the response"))?;
    data_of(what, status, &text, ok)
}

/// The `data` of an answer already read, or what went wrong.
pub fn data_of(what: &str, status: StatusCode, text: &str, ok: &[StatusCode]) -> anyhow::Result<Value> {
    if !ok.contains(&status) {
        let code = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
            bail!("{} from {what}: endpoint not available in this build", status.as_u16());
        }
        bail!("{} {code} from {what}: {}", status.as_u16(), truncate(text, 300));
    }
    let mut v: Value = serde_json::from_str(text).with_context(|| format!("{what}: response is not JSON"))?;
    Ok(v["data"].take())
}

/// A test-mode merchant `bench-<label>@example.com`, with its secret.
pub async fn create_merchant(client: &Client, base: &str, admin: &str, label: &str) -> anyhow::Result<Merchant> {
    let path = "/admin/v1/merchants";
    let body = json!({"email": format!("bench-{label}@example.com"), "name": format!("Bench {label}"), "mode": "test"});
    let resp = client.post(format!("{base}{path}")).bearer_auth(admin).json(&body).send().await?;
    let d = expect_data(&format!("POST {path}"), resp, &[StatusCode::CREATED]).await?;
    let field = |k: &str| d[k].as_str().map(str::to_owned).with_context(|| format!("POST {path}: no {k} in {d}"));
    Ok(Merchant {
        id: field("id")?,
        email: field("email")?,
        public_token: field("public_token")?,
        secret_token: field("secret_token")?,
    })
}

/// Credits `amount` (a decimal string) through the admin ledger adjustment.
pub async fn adjust_balance(
    client: &Client,
    base: &str,
    admin: &str,
    merchant_id: &str,
    currency: &str,
    amount: &str,
) -> anyhow::Result<()> {
    let path = format!("/admin/v1/balances/{merchant_id}/adjust");
    let body = json!({"currency": currency, "amount": amount, "reason": "bench funding"});
    let resp = client.post(format!("{base}{path}")).bearer_auth(admin).json(&body).send().await?;
    expect_data(&format!("POST {path}"), resp, &[StatusCode::OK, StatusCode::CREATED]).await?;
    Ok(())
}

/// `(available, hold)` of one currency, as the gateway formats them.
pub async fn balance(client: &Client, base: &str, m: &Merchant, currency: &str) -> anyhow::Result<(String, String)> {
    let path = "/api/v1/balance";
    let resp =
        signed_post(client, &format!("{base}{path}"), m, json!({"currency": currency}).to_string()).send().await?;
    let d = expect_data(&format!("POST {path}"), resp, &[StatusCode::OK]).await?;
    let Some(row) = d["balances"].as_array().and_then(|b| b.iter().find(|r| r["currency"] == currency)) else {
        // A merchant that never moved money has no row: everything is zero.
        return Ok(("0".into(), "0".into()));
    };
    let s = |k: &str| row[k].as_str().map(str::to_owned).with_context(|| format!("POST {path}: no {k} in {row}"));
    Ok((s("available")?, s("hold")?))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    /// The published vectors (../shared/vectors/signatures.json, merchant_auth).
    #[test]
    fn signature_matches_published_vectors() {
        assert_eq!(
            signature("sk_test_5f2b9c1d", "1732270000", "merchant@example.com"),
            "6117e8b9bc3ad766da0d9e16ae5b7c88f429f6d4b1243d075fb8c2ea7360b303"
        );
        assert_eq!(
            signature("секрет-ключ", "1763800000", "üser@exämple.org"),
            "9c77efcfb93003f03f96eb29acad89a72928fc2947a8a654fc26cbbcf730e417"
        );
    }
}
