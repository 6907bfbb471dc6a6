//! paygate's domain: identifiers, signature schemes, secret handling and the
//! parsing newtypes every request goes through. Nothing here does I/O, so a
//! reviewer can check the rules that decide about money and trust in isolation.
//!
//! Money, from the top:
//! - [`rules`]: every decision about money in a payment's life (which moves
//!   are allowed, what each posts); the write path only applies them;
//! - [`book`]: the ledger's invariants, enforced in release builds (every
//!   transaction balances, no merchant bucket below zero);
//! - [`ledger`]: which accounts each kind of transaction touches;
//! - [`fees`]: fee rules, the payin fee's cap, limits;
//! - [`disputes`]: what an open dispute puts at risk;
//! - [`money`]: exact parsing and formatting of amounts;
//! - [`exchange`]: partners' currency exchange: quotes in exact decimals,
//!   an order's life and its postings to the operator's exchange book.
#![forbid(unsafe_code)]

pub mod book;
pub mod callback_url;
pub mod destination;
pub mod disputes;
pub mod email;
pub mod exchange;
pub mod fees;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod payments;
pub mod routing;
pub mod rules;
pub mod secret_box;
pub mod signature;
pub mod statistics;
pub mod text;
pub mod tokens;
