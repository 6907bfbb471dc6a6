//! Background workers. Each exposes one step (`try_execute_task`) so tests
//! can drain it synchronously, and a loop that runs until shutdown.

pub mod exchange;
pub mod expiry;
pub mod host_turns;
pub mod reconcile;
pub mod ssrf;
pub mod webhook_destinations;
pub mod webhooks;
