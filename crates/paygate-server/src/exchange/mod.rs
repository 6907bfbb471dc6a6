//! The partners' exchange (API.md sections 8 and 9): credentials, fees,
//! terms and quotes, orders and their moves, the sandbox, and how orders
//! look on the wire. The arithmetic and the lifecycle are
//! `paygate_core::exchange`'s; this wires them to the store.

pub mod cache;
pub mod fees;
pub mod orders;
pub mod partners;
pub mod sandbox;
pub mod terms;
pub mod view;
