//! Exchange partners for the tests: a merchant made a partner through the
//! admin API, the operator's methods, rates and crypto addresses, and signed
//! partner calls (signed here with paygate-core's scheme; the PHP and Perl
//! tests sign and verify with the documents' own code).

#![allow(dead_code)]

use crate::helpers::*;
use paygate_core::signature::{partner_signature, Base64Padding};
use reqwest::Method;
use serde_json::{json, Value};

pub struct Partner {
    pub merchant: Merchant,
    pub api_key: String,
    pub secret: String,
    pub callback_secret: String,
}

/// ETH addresses of the pool (EIP-55 checksummed).
pub const ETH_ADDRESSES: [&str; 3] = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
];
pub const BTC_ADDRESS: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";

impl TestApp {
    /// The operator's exchange: ETH and BTC by crypto, USD by card in;
    /// BTC and ETH by crypto, USD and EUR to the partner's balance out.
    /// ETH-BTC bid 0.05 / ask 0.051, BTC-USD 29000 / 31000, ETH-EUR 1800 /
    /// 1850; three ETH addresses in the pool. Default fees: 1 % + 0.5 %.
    pub async fn configure_exchange(&self) {
        let methods = json!({
            "payin": [{"group": "crypto", "title": "Crypto", "currencies": ["ETH", "BTC"]},
                      {"group": "card", "title": "Card", "currencies": ["USD"], "min": {"USD": "10.00"}, "max": "5000"}],
            "payout": [{"group": "crypto", "title": "Crypto", "currencies": ["BTC", "ETH"]},
                       {"group": "balance", "title": "Balance", "currencies": ["USD", "EUR"]}]
        });
        let (s, b) = self.admin(Method::PUT, "/admin/v1/exchange/methods", Some(methods)).await;
        assert_eq!(s, 200, "{b}");
        let rates = json!({"rates": [
            {"name": "ETH-BTC", "bid": "0.05", "ask": "0.051"},
            {"name": "BTC-USD", "bid": "29000", "ask": "31000"},
            {"name": "ETH-EUR", "bid": "1800", "ask": "1850"}
        ]});
        let (s, b) = self.admin(Method::PUT, "/admin/v1/rates", Some(rates)).await;
        assert_eq!(s, 200, "{b}");
        let pool: Vec<Value> = ETH_ADDRESSES
            .iter()
            .map(|a| json!({"method": "crypto", "currency": "ETH", "purpose": "exchange", "details": {"address": a, "network": "ERC20"}}))
            .collect();
        let (s, b) = self.admin(Method::PUT, "/admin/v1/requisites", Some(Value::Array(pool))).await;
        assert_eq!(s, 200, "{b}");
    }

    /// A new merchant made a partner through the admin API.
    pub async fn create_partner(&self, email: &str, options: Value) -> Partner {
        let merchant = self.create_merchant(email).await;
        let (s, b) =
            self.admin(Method::POST, &format!("/admin/v1/merchants/{}/partner", merchant.id), Some(options)).await;
        assert_eq!(s, 201, "{b}");
        let d = &b["data"];
        Partner {
            merchant,
            api_key: d["api_key"].as_str().unwrap().into(),
            secret: d["secret"].as_str().unwrap().into(),
            callback_secret: d["callback_secret"].as_str().unwrap().into(),
        }
    }

    /// A partner call signed over `path + body` (padded base64).
    pub async fn partner_call(&self, p: &Partner, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let raw = body.map(|b| b.to_string()).unwrap_or_default();
        let signed_path = path.split('?').next().unwrap();
        let sig =
            partner_signature(p.secret.as_bytes(), format!("{signed_path}{raw}").as_bytes(), Base64Padding::Padded);
        self.partner_raw(&p.api_key, &sig, method, path, &raw).await
    }

    pub async fn partner_post(&self, p: &Partner, path: &str, body: Value) -> (u16, Value) {
        self.partner_call(p, Method::POST, path, Some(body)).await
    }

    /// A partner call with the given key and signature (for the error cases).
    pub async fn partner_raw(&self, key: &str, sig: &str, method: Method, path: &str, raw: &str) -> (u16, Value) {
        let mut req =
            self.http.request(method.clone(), self.url(path)).header("Api-Key", key).header("API-Signature", sig);
        if method != Method::GET {
            req = req.header("content-type", "application/json").body(raw.to_string());
        }
        read(req.send().await.unwrap()).await
    }

    /// An ETH → BTC order paying `amount` ETH.
    pub async fn eth_btc_order(&self, p: &Partner, id: &str, amount: &str) -> (u16, Value) {
        let body = json!({"partner_order_id": id, "payin_currency": "ETH", "payout_currency": "BTC",
                          "payin_amount": amount, "dst_address": BTC_ADDRESS});
        self.partner_post(p, "/api/v2/partner/order/create", body).await
    }

    pub async fn exchange_order_count(&self) -> i64 {
        self.count("exchange_orders").await
    }
}

/// A partner error: the status and `{"success":0,"error":{"code":…}}`.
pub fn assert_partner_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["success"], 0, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
}
