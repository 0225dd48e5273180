//! The portal home: the current plan, the next payment, the card on file, a scheduled change with
//! a way to undo it, and **Update subscription**. Its markup is `views::portal_home` (which the
//! server renders into the first HTML); here its actions and the past-due banner.

use super::past_due::PastDueBanner;
use super::{LinksLoadPages, use_portal, with_view};
use crate::api::{self, ApiError};
use crate::components::frame::PageHeading;
use billing::wire::PortalView;
use leptos::prelude::*;
use views::portal_home::{HomeAction, HomeBehaviour, PortalHomeView};

/// `/portal/:session_id`.
#[component]
pub fn PortalHomePage() -> impl IntoView {
    with_view(|portal| view! { <PortalHome portal=portal /> })
}

/// The portal home's content.
#[component]
fn PortalHome(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let i18n = views::i18n();
    // Keep plan, resume and overage all answer with the new portal view.
    let act = Action::new_local(move |what: &HomeAction| {
        let (sid, what) = (context.session_id(), *what);
        async move {
            let result = match what {
                HomeAction::KeepPlan => api::keep_plan(&sid).await,
                HomeAction::Resume => api::set_cancel(&sid, false).await,
                HomeAction::Overage(on) => api::set_overage(&sid, on).await,
            };
            result.map(|view| context.set(view)).err()
        }
    });
    Effect::new(move |_| {
        crate::browser::mark("portal-ready");
        crate::browser::prefetch_next_pages();
    });
    // In the home's own bundle: set when a link's page could not be loaded.
    let leave_failed = use_context::<LinksLoadPages>().map(|_| leave_only_when_answered());
    let behaviour = HomeBehaviour {
        on_action: Some(Callback::new(move |what| {
            if let Some(failed) = leave_failed {
                failed.set(false);
            }
            act.dispatch(what);
        })),
        pending: act.pending().into(),
        error: Signal::derive(move || {
            if leave_failed.is_some_and(|failed| failed.get()) {
                return Some(ApiError::Network.message(&i18n));
            }
            act.value().get().flatten().map(|e| e.message(&i18n))
        }),
        banner: Some(ViewFn::from(|| view! { <PastDueBanner /> })),
        heading: Some(ViewFn::from(|| view! { <PageHeading text=views::portal_heading(&views::i18n()) /> })),
    };
    view! { <PortalHomeView portal=portal base=context.href("") behaviour=behaviour /> }
}

/// Holds each plain click on a portal link until the server answers for its page (a HEAD request,
/// one round trip), then loads the page: a page load that fails ends on the browser's error page,
/// a dead end. The returned signal is set (and its alert scrolled into view) when the server did
/// not answer. Only the latest click counts.
fn leave_only_when_answered() -> RwSignal<bool> {
    let failed = RwSignal::new(false);
    let clicks = StoredValue::new(0u32);
    let listener = window_event_listener(leptos::ev::click, move |event| {
        let Some(path) = crate::browser::portal_link_clicked(&event) else {
            return;
        };
        event.prevent_default();
        failed.set(false);
        clicks.update_value(|n| *n += 1);
        let click = clicks.get_value();
        leptos::task::spawn_local(async move {
            let answered = api::server_answers(&path).await;
            // A later click, or the home rebuilt meanwhile (its signals gone): not this one's turn.
            if clicks.try_get_value() != Some(click) {
                return;
            }
            if answered {
                crate::browser::navigate_to(&path);
            } else {
                failed.set(true);
                request_animation_frame(|| crate::browser::scroll_to_see(views::portal_home::HOME_ALERT_ID));
            }
        });
    });
    on_cleanup(move || listener.remove());
    failed
}
