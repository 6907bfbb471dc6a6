//! Payment methods and rates as the operator configures them (API.md 9.2),
//! and the choice an order makes from them: which groups pay in and out,
//! at which price, within which limits.

use super::quote::{Price, Side};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Method groups in priority order: an order that names no group takes the
/// first one available for its currency.
pub const GROUPS: [&str; 8] = ["card", "crypto", "sepa", "sofort", "balance", "bank", "client", "neteller"];

/// One configured method: a group serving some currencies, with optional
/// limits per currency (in that currency's units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodConfig {
    pub group: String,
    pub title: String,
    #[serde(default)]
    pub info: String,
    pub currencies: Vec<String>,
    /// Minor units per currency, e.g. `{"USD": 1000}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Methods {
    #[serde(default)]
    pub payin: Vec<MethodConfig>,
    #[serde(default)]
    pub payout: Vec<MethodConfig>,
}

/// A pair `BASE-QUOTE` with its prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub base: String,
    pub quote: String,
    pub bid: Decimal,
    pub ask: Decimal,
    pub floating: Decimal,
}

impl Rate {
    pub fn name(&self) -> String {
        format!("{}-{}", self.base, self.quote)
    }
}

/// Which direction of the pair an order uses.
pub fn price_for(rates: &[Rate], payin: &str, payout: &str) -> Option<Price> {
    rates.iter().find_map(|r| {
        if r.quote == payin && r.base == payout {
            Some(Price { side: Side::Ask, value: r.ask })
        } else if r.base == payin && r.quote == payout {
            Some(Price { side: Side::Bid, value: r.bid })
        } else {
            None
        }
    })
}

/// A method of `list` serving `currency`, in `group` when given, else the
/// first group in [`GROUPS`] order that serves it.
pub fn method_for<'a>(list: &'a [MethodConfig], currency: &str, group: Option<&str>) -> Option<&'a MethodConfig> {
    let serves = |m: &&MethodConfig| m.currencies.iter().any(|c| c == currency);
    match group {
        Some(g) => list.iter().filter(|m| m.group == g).find(serves),
        None => GROUPS.iter().find_map(|g| list.iter().filter(|m| m.group == *g).find(serves)),
    }
}

/// Whether a currency is paid in crypto: some crypto method serves it.
pub fn is_crypto(methods: &Methods, currency: &str) -> bool {
    methods
        .payin
        .iter()
        .chain(&methods.payout)
        .any(|m| m.group == "crypto" && m.currencies.iter().any(|c| c == currency))
}

/// Payin currency → payout currencies it can be exchanged to (both methods
/// exist and the pair has a rate).
pub fn pairs(methods: &Methods, rates: &[Rate]) -> BTreeMap<String, Vec<String>> {
    let ins: std::collections::BTreeSet<&String> = methods.payin.iter().flat_map(|m| &m.currencies).collect();
    let outs: std::collections::BTreeSet<&String> = methods.payout.iter().flat_map(|m| &m.currencies).collect();
    let mut map = BTreeMap::new();
    for i in &ins {
        let to: Vec<String> = outs.iter().filter(|o| price_for(rates, i, o).is_some()).map(|o| o.to_string()).collect();
        if !to.is_empty() {
            map.insert(i.to_string(), to);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(group: &str, cur: &[&str]) -> MethodConfig {
        MethodConfig {
            group: group.into(),
            title: group.into(),
            info: String::new(),
            currencies: cur.iter().map(|c| c.to_string()).collect(),
            min: BTreeMap::new(),
            max: BTreeMap::new(),
        }
    }

    #[test]
    fn groups_follow_the_priority_order_and_pairs_serve_both_directions() {
        let methods = Methods {
            payin: vec![method("crypto", &["BTC", "ETH"]), method("card", &["USD"])],
            payout: vec![method("balance", &["USD"]), method("crypto", &["BTC", "ETH"])],
        };
        assert_eq!(method_for(&methods.payin, "USD", None).unwrap().group, "card");
        assert_eq!(method_for(&methods.payout, "BTC", None).unwrap().group, "crypto");
        assert!(method_for(&methods.payin, "USD", Some("crypto")).is_none());
        let rates = vec![Rate {
            base: "BTC".into(),
            quote: "USD".into(),
            bid: "29000".parse().unwrap(),
            ask: "31000".parse().unwrap(),
            floating: "30000".parse().unwrap(),
        }];
        assert_eq!(price_for(&rates, "USD", "BTC").unwrap().side, Side::Ask);
        assert_eq!(price_for(&rates, "BTC", "USD").unwrap().side, Side::Bid);
        assert!(price_for(&rates, "ETH", "BTC").is_none());
        let p = pairs(&methods, &rates);
        assert_eq!(p["USD"], vec!["BTC".to_string()]);
        assert_eq!(p["BTC"], vec!["USD".to_string()]);
        assert!(!p.contains_key("ETH"));
        assert!(is_crypto(&methods, "ETH") && !is_crypto(&methods, "USD"));
    }
}
