//! The server's integration tests, one module per area, built as one binary: `common` (the
//! [`common::TestApp`] and what the areas share) is compiled once.

mod common;

mod account;
mod attack;
mod checkout;
mod events;
mod languages;
mod logs;
mod on_postgres;
mod on_postgres_instances;
mod openapi;
mod ops;
mod past_due;
mod portal;
mod promotions;
mod secrets_at_rest;
mod server_api;
mod session_tokens;
mod socket;
mod stripe;
mod stripe_checkout;
mod stripe_crash;
mod stripe_races;
mod stripe_support;
mod support;
mod usage;
