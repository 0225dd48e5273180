//! Browser tests: the real built app in headless Chromium against the real server, driven by
//! roles, labels and visible text as a person would. `cargo xtask test` builds the app once and
//! shares one chromedriver; each test gets its own server (in-memory database, free port).

#![cfg(not(target_arch = "wasm32"))]

mod browser {
    pub mod harness;

    mod account;
    mod checkout;
    mod credits;
    mod layout;
    mod locales;
    mod portal;
    mod promotions;
    mod smoke;
    mod stripe;
}
