//! Stripe.js, in Stripe mode only: loaded on demand (test mode never downloads it), its card
//! Element mounted where our card fields are in test mode, and the two confirmations the page
//! makes with it. Called through `Reflect`, so the bindings cost the bundle little.

use i18n::{CommonText, I18n, Locale};
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Stripe.js with a card Element, and the page's catalog its messages come from.
#[derive(Clone)]
pub struct StripeJs {
    stripe: JsValue,
    card: JsValue,
    i18n: I18n,
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = get(target, method)?.dyn_into()?;
    let args: js_sys::Array = args.iter().collect();
    function.apply(target, &args)
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Adds `<script src=url>` once and waits for it to load (`Err` when it did not: the page says
/// Stripe.js did not load, whatever the cause).
async fn load_script(url: &str) -> Result<(), ()> {
    let window = web_sys::window().ok_or(())?;
    if get(&window, "Stripe").map(|s| s.is_function()).unwrap_or(false) {
        return Ok(());
    }
    let document = window.document().ok_or(())?;
    let script = document.create_element("script").map_err(drop)?;
    script.set_attribute("src", url).map_err(drop)?;
    let loaded = Promise::new(&mut |resolve, reject| {
        let _ = script.add_event_listener_with_callback("load", &resolve);
        let _ = script.add_event_listener_with_callback("error", &reject);
    });
    document.head().ok_or(())?.append_child(&script).map_err(drop)?;
    JsFuture::from(loaded).await.map(drop).map_err(drop)
}

/// The locale Stripe's Element speaks for the page's `locale` (Stripe knows Simplified Chinese as
/// `zh`; the pseudo-locale is English).
fn stripe_locale(locale: Locale) -> &'static str {
    match locale {
        Locale::ZhCn => "zh",
        other => other.plural_tag(),
    }
}

impl StripeJs {
    /// Loads Stripe.js from `js_url`, without an Element (for 3-D Secure only); its messages in
    /// the language of `i18n`.
    pub async fn load(js_url: &str, publishable_key: &str, i18n: I18n) -> Result<StripeJs, String> {
        if load_script(js_url).await.is_err() {
            return Err(i18n.t(CommonText::StripeJsNotLoaded));
        }
        // Stripe.js's own messages and its 3-D Secure window speak the page's language too.
        let options = object(&[("locale", JsValue::from_str(stripe_locale(i18n.locale)))]);
        let stripe = web_sys::window()
            .ok_or(())
            .and_then(|window| {
                call(&window.into(), "Stripe", &[JsValue::from_str(publishable_key), options]).map_err(|_| ())
            })
            .map_err(|_| i18n.t(CommonText::StripeJsNotStarted))?;
        Ok(StripeJs { stripe, card: JsValue::UNDEFINED, i18n })
    }

    /// Loads Stripe.js from `js_url` and mounts a card Element in `container`, in the page's
    /// language.
    pub async fn mount(
        js_url: &str,
        publishable_key: &str,
        container: &web_sys::Element,
        i18n: I18n,
    ) -> Result<StripeJs, String> {
        let StripeJs { stripe, i18n, .. } = StripeJs::load(js_url, publishable_key, i18n).await?;
        let broken = |_| i18n.t(CommonText::StripeJsNotStarted);
        let locale = object(&[("locale", JsValue::from_str(stripe_locale(i18n.locale)))]);
        let elements = call(&stripe, "elements", &[locale]).map_err(broken)?;
        // Our own postal code field is used: the Element asks only for the card.
        let options = object(&[("hidePostalCode", JsValue::TRUE)]);
        let card = call(&elements, "create", &[JsValue::from_str("card"), options]).map_err(broken)?;
        call(&card, "mount", &[container.clone().into()]).map_err(broken)?;
        Ok(StripeJs { stripe, card, i18n })
    }

    /// Calls `on_change` whenever the card in the Element changes (Stripe.js passes an event;
    /// localstripe passes nothing: either way the card may have changed).
    pub fn on_change(&self, on_change: impl Fn() + 'static) {
        let handler = wasm_bindgen::closure::Closure::<dyn Fn()>::new(on_change);
        let _ = call(&self.card, "on", &[JsValue::from_str("change"), handler.as_ref().clone()]);
        // Lives as long as the page: the Element keeps calling it.
        handler.forget();
    }

    /// Saves the card with a SetupIntent (`confirmCardSetup`, 3-D Secure included); the
    /// SetupIntent's id, or Stripe's message for the user.
    pub async fn confirm_card_setup(
        &self,
        client_secret: &str,
        billing: BillingDetailsJs<'_>,
    ) -> Result<String, String> {
        let address = object(&[
            ("country", JsValue::from_str(billing.country)),
            ("postal_code", billing.postal_code.map(JsValue::from_str).unwrap_or(JsValue::NULL)),
        ]);
        let details = object(&[
            ("name", JsValue::from_str(billing.name)),
            ("email", JsValue::from_str(billing.email)),
            ("address", address),
        ]);
        let data = object(&[("payment_method", object(&[("card", self.card.clone()), ("billing_details", details)]))]);
        let answer = self.confirm("confirmCardSetup", &[JsValue::from_str(client_secret), data]).await?;
        if let Some(message) = self.error_message(&answer) {
            return Err(message);
        }
        let no_answer = || self.i18n.t(CommonText::StripeJsNoAnswer);
        let setup = get(&answer, "setupIntent").map_err(|_| no_answer())?;
        get(&setup, "id").ok().and_then(|id| id.as_string()).ok_or_else(no_answer)
    }

    /// Completes 3-D Secure for a PaymentIntent (`confirmCardPayment`); the server checks the
    /// result with Stripe either way.
    pub async fn confirm_card_payment(&self, client_secret: &str) -> Result<(), String> {
        let answer = self.confirm("confirmCardPayment", &[JsValue::from_str(client_secret)]).await?;
        self.error_message(&answer).map_or(Ok(()), Err)
    }

    /// The message of Stripe.js's `{error: {message}}` answer (Stripe's, in the Element's
    /// language), if it has one.
    fn error_message(&self, answer: &JsValue) -> Option<String> {
        let error = get(answer, "error").ok().filter(|e| !e.is_null() && !e.is_undefined())?;
        let message = get(&error, "message").ok().and_then(|m| m.as_string());
        Some(message.unwrap_or_else(|| self.i18n.t(CommonText::StripeCardDeclined)))
    }

    async fn confirm(&self, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let promise: Promise = call(&self.stripe, method, args)
            .and_then(|p| p.dyn_into())
            .map_err(|_| self.i18n.t(CommonText::StripeJsNotConfirmed))?;
        JsFuture::from(promise).await.map_err(|_| self.i18n.t(CommonText::StripeUnreachable))
    }
}

/// The billing details Stripe keeps with the card.
pub struct BillingDetailsJs<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub country: &'a str,
    pub postal_code: Option<&'a str>,
}
