//! Checkout flow browser tests.
