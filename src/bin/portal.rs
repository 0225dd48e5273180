//! The portal bundle: mounts the portal app (and "not found" for unknown addresses).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(kiro_checkout::app::PortalApp);
}
