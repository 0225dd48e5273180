//! Test mode's bank check: the page's own dialog answers the bank, so there is nothing to run here.

use billing::wire::StripeElements;

/// Stands in for Stripe mode's Stripe.js (the test-mode bundles carry none of it).
#[derive(Clone, Copy)]
pub struct BankCheck;

impl BankCheck {
    pub fn new(_elements: Option<StripeElements>) -> BankCheck {
        BankCheck
    }
}
