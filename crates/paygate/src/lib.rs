//! The `paygate` command line (API.md section 10).
#![forbid(unsafe_code)]

pub mod cli;
