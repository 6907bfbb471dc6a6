//! Currency exchange for partners (API.md section 9): the exact arithmetic
//! of quotes and orders ([`quote`]), an order's life and what each move posts
//! ([`lifecycle`]), and destination addresses ([`address`]).

pub mod address;
pub mod groups;
pub mod lifecycle;
pub mod quote;
