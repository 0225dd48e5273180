//! The portal home's bundle: mounts the portal home alone (the server sends it for
//! `/portal/{session_id}`; every other portal page gets the portal bundle).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(kiro_checkout::app::PortalHomeApp);
}
