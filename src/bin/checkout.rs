//! The checkout bundle: mounts the checkout app. Everything else lives in the library crate.

fn main() {
    // Panics' messages on the console in development builds only: the hook costs the checkout's
    // first visit 0.8 KB brotli. A release build's panic shows as `RuntimeError: unreachable`.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(kiro_checkout::app::CheckoutApp);
}
