//! paygate's integration suite: the real app on 127.0.0.1, real HTTP, a
//! fresh real database per test. Every test runs twice, against SQLite and
//! against PostgreSQL (see [`both_backends!`]).

mod databases;
mod helpers;
mod partner_support;
mod php_endpoint;
mod signing;
mod upstream_support;

mod admin_merchants;
mod auth;
mod cli;
mod coalesced_reads;
mod concurrency;
mod connection_loss;
mod connections;
mod crash;
mod dashboard;
mod dashboard_pages;
mod dispute_input;
mod dispute_support;
mod disputes;
mod exchange_flow;
mod exchange_input;
mod exchange_lifecycle;
mod exchange_pool;
mod hostile;
mod isolation;
mod ledgers;
mod manual_provider;
mod operations;
mod operator_access;
mod partner_auth;
mod pay_pages;
mod payments;
mod property;
mod providers_failover;
mod providers_flow;
mod rate_limit;
mod reapplied;
mod receiver;
mod rendered_reads;
mod secrets;
mod spec;
mod statistics;
mod statistics_model;
mod statistics_rollups;
mod statistics_snapshot;
mod validation;
mod webhook_durability;
mod webhook_isolation;
mod webhook_order;
mod webhooks;
