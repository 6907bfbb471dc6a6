//! paygate's domain: identifiers, signature schemes, secret handling and the
//! parsing newtypes every request goes through. Nothing here does I/O, so a
//! reviewer can check the rules that decide about money and trust in isolation.
#![forbid(unsafe_code)]

pub mod book;
pub mod callback_url;
pub mod destination;
pub mod disputes;
pub mod email;
pub mod fees;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod payments;
pub mod rules;
pub mod secret_box;
pub mod signature;
pub mod statistics;
pub mod tokens;
