//! From a partner's request to the terms of an exchange: which methods pay
//! in and out, at which locked price, with which fees, for how much. The
//! quote endpoint and order creation share this, so a create right after a
//! quote with the same input gets the same amounts.

use super::fees::ExchangeFeesIn;
use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::exchange::groups::{method_for, price_for, MethodConfig, Methods, Rate, GROUPS};
use paygate_core::exchange::quote::{self, parse_amount, parse_decimal, Exponents, Fees, Price, Quote, QuoteError};
use paygate_store::exchange::partners::PartnerRecord;
use serde_json::value::RawValue;

/// The operator's exchange configuration as it stands.
pub struct Book {
    pub methods: Methods,
    pub rates: Vec<Rate>,
}

/// The operator's methods and rates (cached briefly: `super::cache`).
pub async fn load_book(state: &AppState) -> Result<std::sync::Arc<Book>, ApiError> {
    super::cache::book(state).await
}

/// Reads the methods and rates from the database.
pub async fn read_book(state: &AppState) -> Result<Book, ApiError> {
    let methods = match state.db.exchange_methods().await? {
        Some(json) => serde_json::from_str(&json).map_err(ApiError::internal)?,
        None => Methods::default(),
    };
    let rates = state
        .db
        .rates()
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(Rate {
                bid: parse_decimal(&r.bid)?,
                ask: parse_decimal(&r.ask)?,
                floating: parse_decimal(&r.floating_rate)?,
                base: r.base,
                quote: r.quote,
            })
        })
        .collect();
    Ok(Book { methods, rates })
}

/// The pair and groups a request asks for.
pub struct PairIn<'a> {
    pub payin_currency: &'a str,
    pub payout_currency: &'a str,
    pub payin_group: Option<&'a str>,
    pub payout_group: Option<&'a str>,
}

/// Everything an order locks at creation.
pub struct Terms {
    pub payin_currency: String,
    pub payout_currency: String,
    pub payin_method: MethodConfig,
    pub payout_method: MethodConfig,
    pub exponents: Exponents,
    pub price: Price,
    pub fees: Fees,
}

fn known_group(field: &str, g: Option<&str>) -> Result<(), ApiError> {
    match g {
        Some(g) if !GROUPS.contains(&g) => {
            Err(ApiError::validation(field, format!("unknown group; one of {}", GROUPS.join(", "))))
        }
        _ => Ok(()),
    }
}

fn currency(state: &AppState, field: &str, code: &str) -> Result<u8, ApiError> {
    if code.is_empty() {
        return Err(ApiError::validation(field, "is required"));
    }
    state
        .currencies
        .exponent(code)
        .ok_or_else(|| ApiError::Unprocessable("UNSUPPORTED_CURRENCY", format!("{field}: {code} is not supported")))
}

pub fn partner_fees(partner: Option<&PartnerRecord>) -> ExchangeFeesIn {
    partner.and_then(|p| serde_json::from_str(&p.exchange_fees).ok()).unwrap_or_default()
}

pub fn default_fees(state: &AppState) -> ExchangeFeesIn {
    ExchangeFeesIn {
        payin_percent: Some(state.settings.exchange_payin_percent.clone()),
        margin_percent: Some(state.settings.exchange_margin_percent.clone()),
        payout_fixed: Default::default(),
    }
}

pub fn terms(state: &AppState, book: &Book, own_fees: &ExchangeFeesIn, pair: &PairIn<'_>) -> Result<Terms, ApiError> {
    let payin_exp = currency(state, "payin_currency", pair.payin_currency)?;
    let payout_exp = currency(state, "payout_currency", pair.payout_currency)?;
    known_group("payin_group", pair.payin_group)?;
    known_group("payout_group", pair.payout_group)?;
    let unavailable = |what: String| ApiError::Unprocessable("PAIR_NOT_AVAILABLE", what);
    if pair.payin_currency == pair.payout_currency {
        return Err(unavailable("payin and payout currencies are the same".into()));
    }
    let payin_method = method_for(&book.methods.payin, pair.payin_currency, pair.payin_group)
        .ok_or_else(|| unavailable(format!("no payin method for {}", pair.payin_currency)))?;
    let payout_method = method_for(&book.methods.payout, pair.payout_currency, pair.payout_group)
        .ok_or_else(|| unavailable(format!("no payout method for {}", pair.payout_currency)))?;
    let price = price_for(&book.rates, pair.payin_currency, pair.payout_currency)
        .ok_or_else(|| unavailable(format!("no rate for {} to {}", pair.payin_currency, pair.payout_currency)))?;
    let fees = own_fees.resolve(&default_fees(state), pair.payout_currency, payout_exp);
    Ok(Terms {
        payin_currency: pair.payin_currency.to_string(),
        payout_currency: pair.payout_currency.to_string(),
        payin_method: payin_method.clone(),
        payout_method: payout_method.clone(),
        exponents: Exponents { payin: payin_exp, payout: payout_exp },
        price,
        fees,
    })
}

/// Which amount the request gave.
pub enum Asked {
    Payin(i64),
    Payout(i64),
}

/// An amount given as a JSON string or number, as its exact text.
pub fn amount_text(field: &str, raw: &RawValue) -> Result<Option<String>, ApiError> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|_| ApiError::validation(field, "must be a decimal"))?;
        return Ok(Some(s));
    }
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Ok(Some(text.to_string()));
    }
    Err(ApiError::validation(field, "must be a decimal string or number"))
}

pub fn parse_in(field: &str, text: &str, exponent: u8) -> Result<i64, ApiError> {
    parse_amount(text, exponent).map_err(|e| ApiError::validation(field, e.to_string()))
}

/// Exactly one of the two amounts, parsed in its currency.
pub fn asked(t: &Terms, payin: Option<&RawValue>, payout: Option<&RawValue>) -> Result<Asked, ApiError> {
    let payin = payin.map(|r| amount_text("payin_amount", r)).transpose()?.flatten();
    let payout = payout.map(|r| amount_text("payout_amount", r)).transpose()?.flatten();
    match (payin, payout) {
        (Some(p), None) => Ok(Asked::Payin(parse_in("payin_amount", &p, t.exponents.payin)?)),
        (None, Some(p)) => Ok(Asked::Payout(parse_in("payout_amount", &p, t.exponents.payout)?)),
        (Some(_), Some(_)) => Err(ApiError::validation("payin_amount", "give payin_amount or payout_amount, not both")),
        (None, None) => Err(ApiError::validation("payin_amount", "give payin_amount or payout_amount")),
    }
}

/// The quote for `asked` under `t`, within the methods' limits.
pub fn quote(t: &Terms, asked: &Asked) -> Result<Quote, ApiError> {
    let q = match asked {
        Asked::Payin(p) => quote::from_payin(*p, t.price, t.fees, t.exponents),
        Asked::Payout(p) => quote::from_payout(*p, t.price, t.fees, t.exponents),
    }
    .map_err(|e| match e {
        QuoteError::TooSmall => {
            ApiError::Unprocessable("AMOUNT_OUT_OF_LIMITS", "the amount does not cover the fees".into())
        }
        QuoteError::Overflow => ApiError::Unprocessable("AMOUNT_OUT_OF_LIMITS", "the amount is too large".into()),
    })?;
    within(&t.payin_method, &t.payin_currency, q.payin, "payin")?;
    within(&t.payout_method, &t.payout_currency, q.payout, "payout")?;
    Ok(q)
}

fn within(m: &MethodConfig, currency: &str, amount: i64, side: &str) -> Result<(), ApiError> {
    let below = m.min.get(currency).is_some_and(|min| amount < *min);
    let above = m.max.get(currency).is_some_and(|max| amount > *max);
    if below || above {
        return Err(ApiError::Unprocessable(
            "AMOUNT_OUT_OF_LIMITS",
            format!("the {side} amount is outside the {} method's limits for {currency}", m.group),
        ));
    }
    Ok(())
}
