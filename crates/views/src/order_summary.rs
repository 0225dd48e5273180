//! What the user buys and what they pay today: plan, price, credits, each line of today's charge,
//! the total and what follows.

use billing::Money;
use billing::proration::{LineItem, Quote};
use billing::wire::PlanSummary;
use i18n::{CheckoutText, CommonText, I18n};
use leptos::prelude::*;

/// The plan confirmation column of the checkout.
#[component]
pub fn OrderSummary(plan: PlanSummary, quote: Quote) -> impl IntoView {
    let i18n = crate::i18n();
    let day = i18n.ordinal(CommonText::DayOrdinal, 1);
    let note = if quote.lines.len() == 1 && quote.total_due_today < plan.monthly_price {
        CheckoutText::NoteProrated
    } else {
        CheckoutText::NoteBilledMonthly
    };
    let next_renewal =
        quote.next_renewal_at.map(|at| i18n.f(CheckoutText::NextRenewal, &[("date", &i18n.long_date(at))]));
    let credits = u64::from(plan.monthly_credits);
    view! {
        <section class="summary" aria-labelledby="summary-title">
            <h2 class="eyebrow" id="summary-title">{plan.name.clone()}</h2>
            <p class="price">
                <span class="amount">{i18n.money(plan.monthly_price.cents())}</span>
                <span class="per">{i18n.t(CheckoutText::PerMonth)}</span>
            </p>
            <ul class="plan-facts">
                <li>{i18n.plural(CheckoutText::CreditsEveryMonth, credits, &[])}</li>
                <li>{i18n.t(CheckoutText::CreditsAvailableAtOnce)}</li>
            </ul>
            <h3 class="lines-title">{i18n.t(CheckoutText::TodaysChargeTitle)}</h3>
            <p class="lines-note">{i18n.f(note, &[("day", &day)])}</p>
            <LineItems quote=quote.clone() />
            <p class="renewal">{renewal(&i18n, &quote)}</p>
            <p class="sr-only">{next_renewal}</p>
        </section>
    }
}

/// What is charged after today, and on which day: `Then $20.00 per month from Feb 1, billed on
/// the 1st of each month.`
fn renewal(i18n: &I18n, quote: &Quote) -> Option<String> {
    let date = i18n.short_date(quote.next_renewal_at?);
    let day = i18n.ordinal(CommonText::DayOrdinal, 1);
    Some(match &quote.discount {
        // A promotion: what it charges while it runs, and after.
        Some(discount) => {
            let then = crate::words::discount_schedule(i18n, discount);
            i18n.f(CheckoutText::RenewalWithPromotion, &[("date", &date), ("then", &then), ("day", &day)])
        }
        None => {
            let amount = i18n.money(quote.next_renewal_amount.cents());
            i18n.f(CheckoutText::RenewalThen, &[("amount", &amount), ("date", &date), ("day", &day)])
        }
    })
}

/// Each line of today's charge and the total due today.
#[component]
pub fn LineItems(quote: Quote) -> impl IntoView {
    let total_label = crate::i18n().t(CommonText::TotalDueToday);
    view! { <InvoiceLines lines=quote.lines.clone() total=quote.total_due_today total_label=total_label /> }
}

/// Lines with their amounts and a total; `words` says each line (an invoice's own lines need
/// [`crate::words::invoice_line_text`]).
#[component]
pub fn InvoiceLines(
    lines: Vec<LineItem>,
    total: Money,
    #[prop(into)] total_label: String,
    #[prop(default = crate::words::line_text)] words: fn(&i18n::Catalog, &LineItem) -> String,
) -> impl IntoView {
    let i18n = crate::i18n();
    view! {
        <dl class="lines">
            {lines
                .into_iter()
                .map(|line| {
                    view! {
                        <div class="line">
                            <dt>{words(&i18n, &line)}</dt>
                            <dd>{i18n.money(line.amount.cents())}</dd>
                        </div>
                    }
                })
                .collect_view()}
            <div class="line total">
                <dt>{total_label}</dt>
                <dd>{i18n.money(total.cents())}</dd>
            </div>
        </dl>
    }
}
