//! The stand-in for the bank's 3-D Secure page: a labelled modal dialog that traps focus, with
//! Complete and Fail.

use crate::payment::{PayResult, Step};
use billing::wire::{ChallengeId, ChallengeOutcome};
use i18n::CommonText;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A modal 3-D Secure authentication. Escape counts as Fail; focus stays inside while open.
#[component]
pub fn ChallengeDialog(
    #[prop(into)] amount: String,
    on_choice: Callback<ChallengeOutcome>,
    #[prop(into)] busy: Signal<bool>,
) -> impl IntoView {
    let dialog = NodeRef::<html::Div>::new();
    let complete = NodeRef::<html::Button>::new();
    let i18n = views::i18n();
    // The amount is in bold wherever the sentence puts it.
    let text = i18n.t(CommonText::ChallengeText);
    let (before, after) = text.split_once("{amount}").unwrap_or((&text, ""));
    let (before, after) = (before.to_string(), after.to_string());
    Effect::new(move |_| {
        if let Some(button) = complete.get() {
            let _ = button.focus();
        }
    });
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_choice.run(ChallengeOutcome::Fail);
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        let Some(root) = dialog.get() else { return };
        let Ok(list) = root.query_selector_all("button:not([disabled])") else {
            return;
        };
        let buttons: Vec<web_sys::HtmlElement> =
            (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into().ok()).collect();
        let (Some(first), Some(last)) = (buttons.first(), buttons.last()) else {
            return;
        };
        let active = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element());
        let at = |el: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a.is_same_node(Some(el)));
        if ev.shift_key() && at(first) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && at(last) {
            ev.prevent_default();
            let _ = first.focus();
        }
    };
    view! {
        <div class="backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="challenge-title"
                aria-describedby="challenge-text"
                node_ref=dialog
                on:keydown=on_keydown
            >
                <h2 id="challenge-title">{i18n.t(CommonText::ChallengeTitle)}</h2>
                <p id="challenge-text">{before}<strong>{amount}</strong>{after}</p>
                <div class="dialog-actions">
                    <button
                        class="button primary"
                        node_ref=complete
                        disabled=move || busy.get()
                        on:click=move |_| on_choice.run(ChallengeOutcome::Complete)
                    >
                        {i18n.t(CommonText::ChallengeComplete)}
                    </button>
                    <button
                        class="button secondary"
                        disabled=move || busy.get()
                        on:click=move |_| on_choice.run(ChallengeOutcome::Fail)
                    >
                        {i18n.t(CommonText::ChallengeFail)}
                    </button>
                </div>
            </div>
        </div>
    }
}

/// The bank's dialog while `challenge` waits for an answer. `on_answer` gets the challenge and the
/// user's answer once (not while the previous answer is still being sent).
#[component]
pub fn PendingChallenge(
    challenge: Memo<Option<ChallengeId>>,
    #[prop(into)] amount: Signal<String>,
    #[prop(into)] busy: Signal<bool>,
    on_answer: Callback<(ChallengeId, ChallengeOutcome)>,
) -> impl IntoView {
    let on_choice = Callback::new(move |choice: ChallengeOutcome| {
        if let Some(challenge_id) = challenge.get_untracked()
            && !busy.get_untracked()
        {
            on_answer.run((challenge_id, choice));
        }
    });
    move || {
        challenge
            .get()
            .map(|_| view! { <ChallengeDialog amount=amount.get_untracked() on_choice=on_choice busy=busy /> })
    }
}

/// The bank's dialog while the last step of a payment waits for the bank; the user's answer is the
/// payment's next step.
#[component]
pub fn PaymentChallenge<R, D, Q>(
    pay: Action<Step<R>, PayResult<D, Q>>,
    #[prop(into)] amount: Signal<String>,
) -> impl IntoView
where
    R: Send + Sync + 'static,
    D: Send + Sync + 'static,
    Q: Send + Sync + 'static,
{
    let result = pay.value();
    let challenge = Memo::new(move |_| result.with(|r| r.as_ref().and_then(PayResult::challenge)));
    let on_answer = Callback::new(move |(challenge_id, choice)| {
        pay.dispatch(Step::Authenticate { challenge_id, choice });
    });
    view! { <PendingChallenge challenge=challenge amount=amount busy=pay.pending() on_answer=on_answer /> }
}
