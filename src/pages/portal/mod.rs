//! The manage-subscription portal. A parent route (or, in the home's own bundle, the home itself)
//! loads the session's portal view once and shares it with every page under `/portal/:session_id`
//! as context: the session, its latest view, a way to replace the view with one an action
//! answered, and a way to load it again.

pub mod cancel;
pub mod change;
pub mod home;
pub mod invoices;
pub mod past_due;
pub mod payment_method;
pub mod plans;
pub mod spending_limit;

use crate::api::{self, ApiError};
use crate::components::frame::PageShown;
use crate::components::status::{
    ExpiredSessionPage, Loading, SessionKind, StatusPage, UnknownSessionPage, UnreachablePage,
};
use crate::pages::SessionParams;
use crate::payment::{BankCheck, PayResult, Payment, PaymentFlow, Step};
use billing::wire::{ErrorCode, PortalView};
use i18n::PortalText;
use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_params;

/// What every portal page shares.
#[derive(Clone, Copy)]
pub struct Portal {
    session_id: Memo<String>,
    loaded: LocalResource<Result<PortalView, ApiError>>,
    /// A newer view than the loaded one, answered by an action.
    latest: RwSignal<Option<PortalView>>,
}

impl Portal {
    pub fn session_id(&self) -> String {
        self.session_id.get_untracked()
    }

    /// A portal page's address: `href("/update")` is `/portal/{session}/update`.
    pub fn href(&self, page: &str) -> String {
        format!("/portal/{}{page}", self.session_id.get_untracked())
    }

    /// The newest view (tracked). Pages render only once it has loaded.
    pub fn view(&self) -> Option<PortalView> {
        self.latest.get().or_else(|| self.loaded.get().and_then(Result::ok))
    }

    /// The newest view, untracked: for pages whose own state (a saved card, a done change) must
    /// outlive a reload they trigger.
    pub fn snapshot(&self) -> Option<PortalView> {
        self.latest.get_untracked().or_else(|| self.loaded.get_untracked().and_then(Result::ok))
    }

    /// Shows the view an action answered with, without loading it again.
    pub fn set(&self, view: PortalView) {
        self.latest.set(Some(view));
    }

    /// Loads the view again (after a change whose answer is not a view). The page stays while
    /// it loads.
    pub fn reload(&self) {
        self.latest.set(None);
        self.loaded.refetch();
    }
}

/// The portal of the current page (inside [`PortalLayout`] or [`PortalHomeOnly`]).
pub fn use_portal() -> Portal {
    expect_context::<Portal>()
}

/// Where loading the portal stands. A reload keeps `Ready`, so the page is not rebuilt.
#[derive(Clone, Debug, PartialEq)]
enum Load {
    Loading,
    Ready,
    Failed(ApiError),
}

/// `/portal/:session_id`: loads the portal once, then renders the page of the route.
#[component]
pub fn PortalLayout() -> impl IntoView {
    let params = use_params::<SessionParams>();
    let session_id = Memo::new(move |_| params.get().ok().and_then(|p| p.session_id).unwrap_or_default());
    with_portal(session_id, || view! { <Outlet /> }.into_any())
}

/// The portal home bundle's one page, `/portal/{session_id}`: no router, so its links to the
/// other pages load the full portal (which the home's HTML prefetches).
#[component]
pub fn PortalHomeOnly(session_id: String) -> impl IntoView {
    provide_context(LinksLoadPages);
    with_portal(Memo::new(move |_| session_id.clone()), || view! { <home::PortalHomePage /> }.into_any())
}

/// Provided by the home's own bundle, whose links to the other pages load pages: the home then
/// checks that the server answers before leaving (see `home::leave_only_when_answered`).
#[derive(Clone, Copy)]
pub struct LinksLoadPages;

/// Loads the portal of `session_id` once and shares it with `page` (see [`Portal`]).
fn with_portal(session_id: Memo<String>, page: fn() -> AnyView) -> impl IntoView {
    let loaded = LocalResource::new(move || api::portal_session(session_id.get()));
    let portal = Portal { session_id, loaded, latest: RwSignal::new(None) };
    let loading = views::i18n().t(PortalText::LoadingSubscription);
    provide_context(portal);
    let load = Memo::new(move |previous: Option<&Load>| match (loaded.get(), previous) {
        (Some(Ok(_)), _) => Load::Ready,
        (Some(Err(error)), _) => Load::Failed(error),
        (None, Some(Load::Ready)) => Load::Ready,
        (None, _) => Load::Loading,
    });
    Effect::new(move |_| {
        if load.get() != Load::Loading {
            PageShown::mark();
        }
    });
    move || match load.get() {
        Load::Loading => view! { <Loading label=loading.clone() /> }.into_any(),
        Load::Ready => page(),
        Load::Failed(error) => {
            view! { <PortalErrorPage error=error on_retry=Callback::new(move |_| portal.reload()) /> }.into_any()
        }
    }
}

/// Renders `page` with the portal's newest view, again whenever it changes.
pub fn with_view<V: IntoView + 'static>(page: impl Fn(PortalView) -> V + Send + Sync + 'static) -> impl IntoView {
    let portal = use_portal();
    move || portal.view().map(&page)
}

/// The page for a portal session that could not be loaded.
#[component]
pub fn PortalErrorPage(error: ApiError, on_retry: Callback<()>) -> impl IntoView {
    let i18n = views::i18n();
    match error.code() {
        Some(ErrorCode::SessionNotFound) => {
            view! { <UnknownSessionPage kind=SessionKind::SubscriptionManagement /> }.into_any()
        }
        Some(ErrorCode::SessionExpired) => {
            view! { <ExpiredSessionPage kind=SessionKind::SubscriptionManagement /> }.into_any()
        }
        Some(ErrorCode::NoSubscription) => view! {
            <StatusPage
                title=i18n.t(PortalText::NoSubscriptionTitle)
                message=i18n.t(PortalText::NoSubscriptionMessage)
            />
        }
        .into_any(),
        _ => view! { <UnreachablePage on_retry=on_retry /> }.into_any(),
    }
}

/// A portal payment's steps, as an action: each through the one payment flow; the portal loads
/// again once one went through, since the plan, the card or what is owed changed.
pub type PaymentAction<P> =
    Action<Step<<P as Payment>::Request>, PayResult<<P as Payment>::Done, <P as Payment>::Quote>>;

pub fn payment_action<P: Payment>(payment: P, bank: BankCheck) -> PaymentAction<P> {
    let context = use_portal();
    let flow = PaymentFlow::new(payment, bank);
    Action::new_local(move |step: &Step<P::Request>| {
        let step = step.clone();
        async move {
            let result = flow.run(step).await;
            if matches!(result, PayResult::Done(_)) {
                context.reload();
            }
            result
        }
    })
}
