//! The browser side of Kiro's subscription upgrade: the hosted checkout page and the
// Native test builds render views to HTML too (the server's first paint), which nests types deeper.
#![recursion_limit = "256"]
//! manage-subscription portal, a Leptos client-side app that talks to the billing API.

pub mod api;
pub mod app;
pub mod browser;
pub mod components;
pub mod pages;
pub mod payment;
#[cfg(feature = "stripe")]
pub mod stripe_js;
