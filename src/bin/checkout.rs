//! The checkout bundle: mounts the checkout app. Everything else lives in the library crate.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(kiro_checkout::app::CheckoutApp);
}
