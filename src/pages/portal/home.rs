//! The portal home: the current plan, the next payment, the card on file, a scheduled change with
//! a way to undo it, and **Update subscription**. Its markup is `views::portal_home` (which the
//! server renders into the first HTML); here its actions and the past-due banner.

use super::past_due::PastDueBanner;
use super::{LeaveFailed, use_portal, with_view};
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
    // In the home's own bundle, a link whose page the server did not answer for (see `LeaveFailed`).
    let leave_failed = use_context::<LeaveFailed>().map(|LeaveFailed(failed)| failed);
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
