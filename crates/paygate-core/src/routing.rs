//! Which providers may take a payment (API.md section 7): the rules that
//! match the payment's merchant, kind, currency and method; of those, only
//! the most specific set (a rule naming the merchant outranks one naming
//! the currency, which outranks one naming the method), ordered by
//! priority, lowest first. Failover walks that order.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRule {
    pub merchant_id: Option<String>,
    /// `payin` or `payout`.
    pub kind: String,
    pub currency: Option<String>,
    pub method: Option<String>,
    pub provider_id: String,
    pub priority: i64,
}

/// What a payment asks routing about.
pub struct Wanted<'a> {
    pub merchant_id: &'a str,
    pub kind: &'a str,
    pub currency: &'a str,
    pub method: &'a str,
}

impl RouteRule {
    /// How specific a matching rule is; `None` when it does not match.
    fn specificity(&self, w: &Wanted) -> Option<u8> {
        let field = |rule: &Option<String>, value: &str, weight: u8| match rule {
            None => Some(0),
            Some(r) if r == value => Some(weight),
            Some(_) => None,
        };
        if self.kind != w.kind {
            return None;
        }
        Some(
            field(&self.merchant_id, w.merchant_id, 4)?
                + field(&self.currency, w.currency, 2)?
                + field(&self.method, w.method, 1)?,
        )
    }
}

/// The providers to try, in order; empty when no rule matches (then the
/// mode's default applies). A provider named twice is tried once.
pub fn candidates<'a>(rules: &'a [RouteRule], w: &Wanted) -> Vec<&'a str> {
    let matching: Vec<(u8, &RouteRule)> = rules.iter().filter_map(|r| r.specificity(w).map(|s| (s, r))).collect();
    let Some(best) = matching.iter().map(|(s, _)| *s).max() else { return Vec::new() };
    let mut chosen: Vec<&RouteRule> = matching.into_iter().filter(|(s, _)| *s == best).map(|(_, r)| r).collect();
    // A stable sort keeps the operator's order among equal priorities.
    chosen.sort_by_key(|r| r.priority);
    let mut ids: Vec<&str> = Vec::new();
    for r in chosen {
        if !ids.contains(&r.provider_id.as_str()) {
            ids.push(&r.provider_id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        merchant: Option<&str>,
        kind: &str,
        currency: Option<&str>,
        method: Option<&str>,
        p: &str,
        prio: i64,
    ) -> RouteRule {
        RouteRule {
            merchant_id: merchant.map(str::to_string),
            kind: kind.into(),
            currency: currency.map(str::to_string),
            method: method.map(str::to_string),
            provider_id: p.into(),
            priority: prio,
        }
    }

    const ETH_PAYIN: Wanted = Wanted { merchant_id: "m1", kind: "payin", currency: "ETH", method: "crypto" };

    #[test]
    fn the_most_specific_set_wins_then_priority() {
        let rules = vec![
            rule(None, "payin", None, None, "manual", 1),
            rule(None, "payin", Some("ETH"), None, "upstream-b", 2),
            rule(None, "payin", Some("ETH"), None, "upstream-a", 1),
            rule(None, "payout", Some("ETH"), Some("crypto"), "payout-only", 1),
        ];
        assert_eq!(candidates(&rules, &ETH_PAYIN), vec!["upstream-a", "upstream-b"]);
        let rub = Wanted { currency: "RUB", method: "card", ..ETH_PAYIN };
        assert_eq!(candidates(&rules, &rub), vec!["manual"]);
        let payout = Wanted { kind: "payout", ..ETH_PAYIN };
        assert_eq!(candidates(&rules, &payout), vec!["payout-only"]);
    }

    #[test]
    fn a_merchant_rule_outranks_currency_and_method_rules() {
        let rules = vec![
            rule(None, "payin", Some("ETH"), Some("crypto"), "by-currency", 1),
            rule(Some("m1"), "payin", None, None, "by-merchant", 9),
            rule(Some("m2"), "payin", Some("ETH"), Some("crypto"), "other-merchant", 1),
        ];
        assert_eq!(candidates(&rules, &ETH_PAYIN), vec!["by-merchant"]);
        let other = Wanted { merchant_id: "m3", ..ETH_PAYIN };
        assert_eq!(candidates(&rules, &other), vec!["by-currency"]);
    }

    #[test]
    fn no_match_means_no_candidates_and_duplicates_collapse() {
        assert!(candidates(&[], &ETH_PAYIN).is_empty());
        let rules = vec![rule(None, "payin", None, None, "a", 1), rule(None, "payin", None, None, "a", 2)];
        assert_eq!(candidates(&rules, &ETH_PAYIN), vec!["a"]);
    }
}
