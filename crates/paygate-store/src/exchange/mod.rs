//! Persistence of the partners' exchange (API.md sections 8 and 9):
//! partners, the operator's methods and rates, and orders with their
//! postings and callbacks.

pub mod moves;
pub mod orders;
pub mod partners;
mod post;
pub mod settings;
