//! What the billing data says, in the page's language: a charge's lines, promotions, the server's
//! error codes and a bank's declines. The server keeps its English for the API, the backend's
//! events and stored invoices; pages word the same data from the catalog.

use billing::discount::{DiscountSummary, DiscountView, NotCovered, Off};
use billing::plans::PlanId;
use billing::proration::{LineItem, LineLabel};
use billing::wire::{Decline, DeclineCode, ErrorCode};
use i18n::{Catalog, CommonText as T};

/// A line of a charge or an invoice: from its label, or its English description when it has
/// none (an invoice stored before lines had labels).
pub fn line_text(i18n: &Catalog, line: &LineItem) -> String {
    let Some(label) = &line.label else {
        return line.description.clone();
    };
    match label {
        LineLabel::PlanPeriod { plan, from, to } => i18n.f(
            T::LinePlanPeriod,
            &[("plan", plan_name(*plan)), ("from", &i18n.short_date(*from)), ("to", &i18n.short_date(*to))],
        ),
        LineLabel::PlanMonth { plan, month } => {
            i18n.f(T::LinePlanMonth, &[("plan", plan_name(*plan)), ("month", &i18n.month_year(*month))])
        }
        LineLabel::AlreadyPaid { plan } => i18n.f(T::LineAlreadyPaid, &[("plan", plan_name(*plan))]),
        LineLabel::Promotion { code, off } => {
            i18n.f(T::LinePromotion, &[("code", code), ("off", &off_label(i18n, *off))])
        }
        LineLabel::PromotionGiven { code, off, plan } => i18n
            .f(T::LinePromotionGiven, &[("code", code), ("off", &off_label(i18n, *off)), ("plan", plan_name(*plan))]),
        // Only invoices carry overage: the portal words it (`invoice_line_text`), so the
        // checkout's bundle carries none of it.
        LineLabel::Overage { .. } => line.description.clone(),
    }
}

/// A line of an invoice: [`line_text`], and the overage lines only invoices have.
pub fn invoice_line_text(i18n: &Catalog, line: &LineItem) -> String {
    match &line.label {
        Some(LineLabel::Overage { credits, from, to }) => i18n.f(
            i18n::PortalText::LineOverage,
            &[
                ("from", &i18n.short_date(*from)),
                ("to", &i18n.short_date(*to)),
                ("credits", &i18n.credits(credits.hundredths())),
                ("price", &i18n.money(billing::plans::OVERAGE_PRICE_PER_CREDIT.cents())),
            ],
        ),
        _ => line_text(i18n, line),
    }
}

/// `20% off`, `$5.00 off`.
pub fn off_label(i18n: &Catalog, off: Off) -> String {
    match off {
        Off::Percent(p) => i18n.f(T::OffPercent, &[("percent", &i18n.number(u64::from(p)))]),
        Off::Amount(amount) => i18n.f(T::OffAmount, &[("amount", &i18n.money(amount.cents()))]),
    }
}

/// A discount's label: from its `off`, or the server's English when it sent none.
fn summary_label(i18n: &Catalog, off: Option<Off>, english: &str) -> String {
    off.map_or_else(|| english.to_string(), |off| off_label(i18n, off))
}

/// What is charged after today with a promotion: `$16.00 per month for 3 months, then $20.00`.
pub fn discount_schedule(i18n: &Catalog, summary: &DiscountSummary) -> String {
    let discounted = i18n.money(summary.discounted_renewal_amount.cents());
    let full = i18n.money(summary.full_renewal_amount.cents());
    match summary.discounted_renewals {
        None => i18n.f(T::DiscountSchedulePerMonth, &[("amount", &discounted)]),
        Some(0) => i18n.f(T::DiscountSchedulePerMonth, &[("amount", &full)]),
        Some(n) => {
            i18n.plural(T::DiscountScheduleMonths, u64::from(n), &[("discounted", &discounted), ("full", &full)])
        }
    }
}

/// What follows today's charge: `then $16.00 per month for 3 months, then $20.00`.
pub fn what_follows(i18n: &Catalog, summary: &DiscountSummary) -> String {
    i18n.f(T::DiscountThen, &[("schedule", &discount_schedule(i18n, summary))])
}

/// A running promotion's label in a quote's summary: `20% off`.
pub fn discount_label(i18n: &Catalog, summary: &DiscountSummary) -> String {
    summary_label(i18n, summary.off, &summary.label)
}

/// Before a plan change: the running promotion does not cover `plan`.
pub fn not_covered_note(i18n: &Catalog, note: &NotCovered, plan: PlanId) -> String {
    i18n.f(
        T::DiscountNotCovered,
        &[("code", &note.code), ("off", &off_label(i18n, note.off)), ("plan", plan_name(plan))],
    )
}

/// A running discount in one sentence, for the portal: `Promotion LAUNCH: 20% off your payments
/// until February 16, 2027.`
pub fn running_sentence(i18n: &Catalog, view: &DiscountView) -> String {
    let off = summary_label(i18n, view.off, &view.label);
    let date = view.ends_at.map(|at| i18n.long_date(at)).unwrap_or_default();
    let plans = view.plans.as_ref().map(|plans| names(i18n, plans)).unwrap_or_default();
    let key = match (&view.plans, view.ends_at) {
        (None, Some(_)) => T::DiscountRunningUntil,
        (None, None) => T::DiscountRunningForever,
        (Some(_), Some(_)) => T::DiscountRunningPlansUntil,
        (Some(_), None) => T::DiscountRunningPlansForever,
    };
    i18n.f(key, &[("code", &view.code), ("off", &off), ("date", &date), ("plans", &plans)])
}

/// Plans' names as a list: `Kiro Pro, Kiro Pro+`.
fn names(i18n: &Catalog, plans: &[PlanId]) -> String {
    let mut names = plans.iter().map(|p| plan_name(*p));
    let first = names.next().unwrap_or_default().to_string();
    names.fold(first, |list, item| i18n.f(T::ListMore, &[("list", &list), ("item", item)]))
}

fn plan_name(plan: PlanId) -> &'static str {
    plan.plan().name
}

/// The sentence for an error the server answered with `code`.
pub fn error_text(i18n: &Catalog, code: ErrorCode) -> String {
    use ErrorCode as C;
    i18n.t(match code {
        C::InvalidJson => T::ErrorInvalidJson,
        C::InvalidRequest => T::ErrorInvalidRequest,
        C::UnsupportedMediaType => T::ErrorUnsupportedMediaType,
        C::BodyTooLarge => T::ErrorBodyTooLarge,
        C::UnknownPlan => T::ErrorUnknownPlan,
        C::InvalidEmail => T::ErrorInvalidEmail,
        C::InvalidCard => T::ErrorInvalidCard,
        C::InvalidBillingDetails => T::ErrorInvalidBillingDetails,
        C::InvalidPaymentMethod => T::ErrorInvalidPaymentMethod,
        C::SessionNotFound => T::ErrorSessionNotFound,
        C::SessionExpired => T::ErrorSessionExpired,
        C::SessionCompleted => T::ErrorSessionCompleted,
        C::SessionLocked => T::ErrorSessionLocked,
        C::AccountLinkedToAws => T::ErrorAccountLinkedToAws,
        C::AlreadySubscribed => T::ErrorAlreadySubscribed,
        C::NoSubscription => T::ErrorNoSubscription,
        C::IdempotencyConflict => T::ErrorIdempotencyConflict,
        C::PaymentInProgress => T::ErrorPaymentInProgress,
        C::PaymentRefunded => T::ErrorPaymentRefunded,
        C::ProcessorUnavailable => T::ErrorProcessorUnavailable,
        C::DatabaseUnavailable => T::ErrorDatabaseUnavailable,
        C::ChallengeNotFound => T::ErrorChallengeNotFound,
        C::QuoteChanged => T::ErrorQuoteChanged,
        C::NotFound => T::ErrorNotFound,
        C::MethodNotAllowed => T::ErrorMethodNotAllowed,
        C::RequestTimeout => T::ErrorRequestTimeout,
        C::RateLimited => T::ErrorRateLimited,
        C::PromotionCodeNotFound => T::ErrorPromotionCodeNotFound,
        C::PromotionCodeExpired => T::ErrorPromotionCodeExpired,
        C::PromotionCodeUsedUp => T::ErrorPromotionCodeUsedUp,
        C::PromotionCodeWrongPlan => T::ErrorPromotionCodeWrongPlan,
        C::PromotionCodeFirstTimeOnly => T::ErrorPromotionCodeFirstTimeOnly,
        C::PromotionCodesNotAllowed => T::ErrorPromotionCodesNotAllowed,
        C::Internal => T::ErrorInternal,
        // The server API's own (the secret key's routes: sessions, promotion codes, usage, refunds,
        // the test clock): no page gets them, so no page carries their words.
        C::Unauthorized
        | C::InvalidReturnUrl
        | C::InvalidAccount
        | C::ClockBackwards
        | C::ClockOutOfRange
        | C::PromotionCodeTaken
        | C::AccountNotFound
        | C::IdentifierReused
        | C::UsagePeriodClosed
        | C::AmountTooLarge
        | C::InvoiceNotRefundable
        | C::RefundFailed
        | C::Unknown => T::ErrorUnexpected,
    })
}

/// The server could not be reached.
pub fn network_error_text(i18n: &Catalog) -> String {
    i18n.t(T::ErrorNetwork)
}

/// The server answered with something the page can't read.
pub fn unexpected_error_text(i18n: &Catalog) -> String {
    i18n.t(T::ErrorUnexpected)
}

/// Why the bank declined a card, and for a plan change that the plan stayed as it was.
pub fn decline_text(i18n: &Catalog, decline: &Decline) -> String {
    let reason = i18n.t(match decline.code {
        DeclineCode::Generic => T::DeclineGeneric,
        DeclineCode::InsufficientFunds => T::DeclineInsufficientFunds,
        DeclineCode::ExpiredCard => T::DeclineExpiredCard,
        DeclineCode::IncorrectCvc => T::DeclineIncorrectCvc,
        DeclineCode::ProcessingError => T::DeclineProcessingError,
        DeclineCode::AuthenticationFailed => T::DeclineAuthenticationFailed,
        DeclineCode::TestCardsOnly => T::DeclineTestCardsOnly,
    });
    if decline.plan_unchanged { i18n.f(T::DeclinePlanUnchanged, &[("reason", &reason)]) } else { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing::Money;
    use billing::discount::{CouponDuration, CouponTerms, Discount};
    use billing::proration::{PaidHistory, quote_change, quote_new_subscription};
    use i18n::Locale;
    use time::macros::datetime;

    fn en() -> &'static Catalog {
        i18n::catalog(Locale::En)
    }

    fn de() -> &'static Catalog {
        i18n::catalog(Locale::De)
    }

    fn cents(c: i64) -> Money {
        Money::from_cents(c)
    }

    fn launch(off: Off, duration: CouponDuration, plans: Option<Vec<PlanId>>) -> Discount {
        Discount {
            code: "LAUNCH".into(),
            terms: CouponTerms { off, duration, plans },
            started_at: datetime!(2026-11-16 00:00 UTC),
        }
    }

    /// Each line as the catalog words it, and as billing's English describes it.
    fn texts(i18n: &Catalog, lines: &[LineItem]) -> Vec<String> {
        lines.iter().map(|l| line_text(i18n, l)).collect()
    }

    fn descriptions(lines: &[LineItem]) -> Vec<String> {
        lines.iter().map(|l| l.description.clone()).collect()
    }

    #[test]
    fn every_kind_of_line_in_english_as_billing_describes_it_and_in_german() {
        let now = datetime!(2026-11-16 00:00 UTC);
        let discount = launch(Off::Percent(20), CouponDuration::Once, None);
        let bought = discount.apply(quote_new_subscription(PlanId::Pro, now).unwrap(), now);
        assert_eq!(texts(en(), &bought.lines), ["Kiro Pro from Nov 16 to Dec 1", "Promotion LAUNCH (20% off)"]);
        assert_eq!(texts(en(), &bought.lines), descriptions(&bought.lines));
        assert_eq!(
            texts(de(), &bought.lines),
            ["Kiro Pro vom 16. Nov. bis 1. Dez.", "Aktion LAUNCH (20\u{a0}% Rabatt)"]
        );

        // Later that month, the once-only discount no longer covers the upgrade: it is credited.
        let history = PaidHistory { plan: PlanId::Pro, first_paid_at: now, paid_this_period: cents(800) };
        let at = datetime!(2026-11-20 00:00 UTC);
        let upgrade = discount.apply_to_change(quote_change(&history, PlanId::ProPlus, at).unwrap(), &history, at);
        assert_eq!(
            texts(en(), &upgrade.lines),
            [
                "Kiro Pro+ from Nov 16 to Dec 1",
                "Already paid for Kiro Pro this month",
                "Promotion LAUNCH (20% off) already given on Kiro Pro"
            ]
        );
        assert_eq!(texts(en(), &upgrade.lines), descriptions(&upgrade.lines));
        assert_eq!(
            texts(de(), &upgrade.lines),
            [
                "Kiro Pro+ vom 16. Nov. bis 1. Dez.",
                "Bereits für Kiro Pro in diesem Monat bezahlt",
                "Aktion LAUNCH (20\u{a0}% Rabatt) bereits auf Kiro Pro gewährt"
            ]
        );

        let december = datetime!(2026-12-01 00:00 UTC);
        let renewal = [LineItem::plan_month(PlanId::Pro, december, cents(2000))];
        assert_eq!(texts(en(), &renewal), ["Kiro Pro for December 2026"]);
        assert_eq!(texts(en(), &renewal), descriptions(&renewal));
        assert_eq!(texts(de(), &renewal), ["Kiro Pro für Dezember 2026"]);
    }

    #[test]
    fn a_line_stored_without_a_label_shows_its_description() {
        let stored: LineItem =
            serde_json::from_str(r#"{"description": "Kiro Pro for December 2026", "amount": 2000}"#).unwrap();
        assert_eq!(stored.label, None);
        assert_eq!(line_text(de(), &stored), "Kiro Pro for December 2026");
    }

    #[test]
    fn what_a_promotion_takes_off() {
        assert_eq!(off_label(en(), Off::Percent(20)), Off::Percent(20).label());
        assert_eq!(off_label(en(), Off::Amount(cents(500))), "$5.00 off");
        assert_eq!(off_label(en(), Off::Amount(cents(500))), Off::Amount(cents(500)).label());
        assert_eq!(off_label(de(), Off::Percent(20)), "20\u{a0}% Rabatt");
        assert_eq!(off_label(de(), Off::Amount(cents(500))), "5,00\u{a0}$ Rabatt");
    }

    /// The summary of a Kiro Pro quote bought on Nov 16 with `discount`.
    fn summary(off: Off, duration: CouponDuration) -> DiscountSummary {
        let now = datetime!(2026-11-16 00:00 UTC);
        let quote = launch(off, duration, None).apply(quote_new_subscription(PlanId::Pro, now).unwrap(), now);
        quote.discount.unwrap()
    }

    #[test]
    fn what_follows_today_for_each_duration_with_plural_months() {
        let percent = Off::Percent(20);
        let cases = [
            (
                summary(percent, CouponDuration::Repeating { duration_in_months: 3 }),
                "then $16.00 per month for 3 months, then $20.00",
                "dann 16,00\u{a0}$ pro Monat für 3 Monate, danach 20,00\u{a0}$",
            ),
            (
                summary(percent, CouponDuration::Repeating { duration_in_months: 1 }),
                "then $16.00 for 1 month, then $20.00 per month",
                "dann 16,00\u{a0}$ für 1 Monat, danach 20,00\u{a0}$ pro Monat",
            ),
            (summary(percent, CouponDuration::Forever), "then $16.00 per month", "dann 16,00\u{a0}$ pro Monat"),
            (summary(percent, CouponDuration::Once), "then $20.00 per month", "dann 20,00\u{a0}$ pro Monat"),
        ];
        for (summary, english, german) in cases {
            assert_eq!(what_follows(en(), &summary), english);
            assert_eq!(what_follows(en(), &summary), billing::discount::what_follows(&summary));
            assert_eq!(what_follows(de(), &summary), german);
            assert_eq!(discount_schedule(en(), &summary), english.trim_start_matches("then "));
        }
        let amount = summary(Off::Amount(cents(500)), CouponDuration::Forever);
        assert_eq!(discount_label(en(), &amount), "$5.00 off");
        assert_eq!(discount_label(de(), &amount), "5,00\u{a0}$ Rabatt");
        let from_an_older_server = DiscountSummary { off: None, ..amount };
        assert_eq!(discount_label(de(), &from_an_older_server), "$5.00 off");
    }

    #[test]
    fn the_note_that_a_promotion_does_not_cover_a_plan() {
        let now = datetime!(2026-11-20 00:00 UTC);
        let discount =
            launch(Off::Percent(20), CouponDuration::Repeating { duration_in_months: 3 }, Some(vec![PlanId::Pro]));
        let history = PaidHistory {
            plan: PlanId::Pro,
            first_paid_at: datetime!(2026-11-16 00:00 UTC),
            paid_this_period: cents(800),
        };
        let quote = discount.apply_to_change(quote_change(&history, PlanId::ProPlus, now).unwrap(), &history, now);
        let note = quote.not_covered.as_ref().unwrap();
        let english = not_covered_note(en(), note, quote.to_plan);
        assert_eq!(
            english,
            "Your promotion LAUNCH (20% off) doesn't cover Kiro Pro+: it is charged at the full price."
        );
        assert_eq!(Some(english), quote.discount_note);
        assert_eq!(
            not_covered_note(de(), note, quote.to_plan),
            "Ihre Aktion LAUNCH (20\u{a0}% Rabatt) gilt nicht für Kiro Pro+: Es wird der volle Preis berechnet."
        );
    }

    #[test]
    fn a_running_promotion_in_one_sentence() {
        let until = launch(Off::Percent(20), CouponDuration::Repeating { duration_in_months: 3 }, None).view();
        let forever = launch(Off::Amount(cents(500)), CouponDuration::Forever, None).view();
        let pro_only =
            launch(Off::Percent(20), CouponDuration::Repeating { duration_in_months: 3 }, Some(vec![PlanId::Pro]))
                .view();
        let two_plans =
            launch(Off::Percent(20), CouponDuration::Forever, Some(vec![PlanId::Pro, PlanId::ProPlus])).view();
        let cases = [
            (
                &until,
                "Promotion LAUNCH: 20% off your payments until February 16, 2027.",
                "Aktion LAUNCH: 20\u{a0}% Rabatt auf Ihre Zahlungen bis zum 16. Februar 2027.",
            ),
            (
                &forever,
                "Promotion LAUNCH: $5.00 off your payments for as long as you stay subscribed.",
                "Aktion LAUNCH: 5,00\u{a0}$ Rabatt auf Ihre Zahlungen, solange Sie Ihr Abo behalten.",
            ),
            (
                &pro_only,
                "Promotion LAUNCH: 20% off your payments (Kiro Pro only) until February 16, 2027.",
                "Aktion LAUNCH: 20\u{a0}% Rabatt auf Ihre Zahlungen (nur Kiro Pro) bis zum 16. Februar 2027.",
            ),
            (
                &two_plans,
                "Promotion LAUNCH: 20% off your payments (Kiro Pro, Kiro Pro+ only) for as long as you stay subscribed.",
                "Aktion LAUNCH: 20\u{a0}% Rabatt auf Ihre Zahlungen (nur Kiro Pro, Kiro Pro+), solange Sie Ihr Abo behalten.",
            ),
        ];
        for (view, english, german) in cases {
            assert_eq!(running_sentence(en(), view), english);
            assert_eq!(running_sentence(en(), view), billing::discount::running_sentence(view));
            assert_eq!(running_sentence(de(), view), german);
        }
    }

    #[test]
    fn every_error_code_has_its_own_sentence_in_english_and_german() {
        let quote_changed = "The price changed since you looked (a new billing month may have started). Review the new amount and confirm again.";
        assert_eq!(error_text(en(), ErrorCode::QuoteChanged), quote_changed);
        assert_eq!(
            error_text(en(), ErrorCode::PromotionCodeNotFound),
            "That code isn't valid. Check it and try again."
        );
        assert_eq!(
            error_text(de(), ErrorCode::PromotionCodeNotFound),
            "Dieser Code ist ungültig. Prüfen Sie ihn und versuchen Sie es erneut."
        );
        assert_eq!(error_text(en(), ErrorCode::Unknown), unexpected_error_text(en()));
        assert!(network_error_text(en()).starts_with("We couldn't reach the server"));
        assert!(network_error_text(de()).starts_with("Wir konnten den Server nicht erreichen"));
        // Every code the server sends reads from the German catalog, none falls back to English.
        let codes: Vec<ErrorCode> = serde_json::from_str(CODES).unwrap();
        for code in codes {
            assert_ne!(error_text(de(), code), error_text(en(), code), "{code:?}");
        }
    }

    const CODES: &str = r#"["unauthorized", "invalid_json", "invalid_request", "unsupported_media_type",
        "body_too_large", "unknown_plan", "invalid_return_url", "invalid_account", "invalid_email",
        "invalid_card", "invalid_billing_details", "invalid_payment_method", "session_not_found",
        "session_expired", "session_completed", "session_locked", "account_linked_to_aws",
        "already_subscribed", "no_subscription", "idempotency_conflict", "payment_in_progress",
        "payment_refunded", "processor_unavailable", "database_unavailable", "challenge_not_found",
        "quote_changed", "clock_backwards", "not_found", "method_not_allowed", "request_timeout",
        "rate_limited", "clock_out_of_range", "promotion_code_not_found", "promotion_code_expired",
        "promotion_code_used_up", "promotion_code_wrong_plan", "promotion_code_first_time_only",
        "promotion_codes_not_allowed", "promotion_code_taken", "internal", "something_newer"]"#;

    #[test]
    fn each_decline_reason_as_the_server_says_it_and_in_german() {
        let codes = [
            DeclineCode::Generic,
            DeclineCode::InsufficientFunds,
            DeclineCode::ExpiredCard,
            DeclineCode::IncorrectCvc,
            DeclineCode::ProcessingError,
            DeclineCode::AuthenticationFailed,
            DeclineCode::TestCardsOnly,
        ];
        for code in codes {
            let checkout = Decline { code, message: code.message().into(), plan_unchanged: false };
            assert_eq!(decline_text(en(), &checkout), code.message());
            assert_ne!(decline_text(de(), &checkout), code.message(), "{code:?}");
        }
        let change = Decline { code: DeclineCode::Generic, message: String::new(), plan_unchanged: true };
        assert_eq!(
            decline_text(en(), &change),
            "Your card was declined. Try another card, or contact your bank. Your plan has not changed."
        );
        assert_eq!(
            decline_text(de(), &change),
            "Ihre Karte wurde abgelehnt. Versuchen Sie eine andere Karte oder wenden Sie sich an Ihre Bank. Ihr Tarif wurde nicht geändert."
        );
        let funds = Decline { code: DeclineCode::InsufficientFunds, message: String::new(), plan_unchanged: false };
        assert_eq!(
            decline_text(de(), &funds),
            "Ihre Karte wurde wegen unzureichender Deckung abgelehnt. Versuchen Sie eine andere Karte."
        );
    }
}
