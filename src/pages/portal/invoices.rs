//! Billing history: every invoice with date, amount and status, each opening a printable page.

use super::past_due::PastDueBanner;
use super::{PortalErrorPage, use_portal, with_view};
use crate::api;
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::status::{Loading, StatusPage, UnreachablePage};
use billing::wire::{
    CreditNoteSummary, ErrorCode, InvoiceDetail, InvoiceList, InvoiceStatus, InvoiceSummary, PortalView,
};
use i18n::{I18n, PortalText};
use leptos::Params;
use leptos::prelude::*;
use leptos_router::hooks::use_params;
use leptos_router::params::Params;
use views::order_summary::InvoiceLines;
use views::portal_home::card_label;

/// `/portal/:session_id/invoices`.
#[component]
pub fn BillingHistoryPage() -> impl IntoView {
    with_view(|portal| view! { <BillingHistory portal=portal /> })
}

#[component]
fn BillingHistory(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let list = LocalResource::new(move || api::invoices(context.session_id()));
    let i18n = views::i18n();
    let loading = i18n.t(PortalText::LoadingInvoices);
    let catalog = i18n.clone();
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text=i18n.t(PortalText::BillingHistory) />
                <PastDueBanner />
                <section class="card">
                    <Transition fallback=move || view! { <Loading label=loading.clone() /> }>
                        {move || { let i18n = catalog.clone(); Suspend::new(async move {
                            match list.await {
                                Ok(list) => view! { <InvoiceTable list=list /> }.into_any(),
                                Err(error) => view! { <p role="alert">{error.message(&i18n)}</p> }.into_any(),
                            }
                        })}}
                    </Transition>
                    <div class="actions">
                        <a class="button secondary" href=context.href("")>
                            {i18n.t(PortalText::BackToSubscription)}
                        </a>
                    </div>
                </section>
            </div>
        </PageFrame>
    }
}

/// An invoice's status, in a word: refunds tell over `Paid`.
fn status_label(i18n: &I18n, invoice: &InvoiceSummary) -> String {
    let refunded = invoice.amount_refunded.cents();
    i18n.t(match invoice.status {
        InvoiceStatus::Paid if refunded > 0 && refunded >= invoice.amount.cents() => PortalText::InvoiceRefunded,
        InvoiceStatus::Paid if refunded > 0 => PortalText::InvoicePartiallyRefunded,
        InvoiceStatus::Paid => PortalText::InvoicePaid,
        // The portal lists no drafts; one seen anyway is not paid yet.
        InvoiceStatus::Open | InvoiceStatus::Draft => PortalText::InvoiceUnpaid,
        InvoiceStatus::Void => PortalText::InvoiceVoid,
    })
}

/// `Refunded $4.00 on Nov 21 · credit note CN-000001`, one per refund.
#[component]
fn CreditNotes(notes: Vec<CreditNoteSummary>) -> impl IntoView {
    let i18n = views::i18n();
    let lines = notes
        .into_iter()
        .map(|note| {
            let (amount, date) = (i18n.money(note.amount.cents()), i18n.short_date(note.created_at));
            let text =
                i18n.f(PortalText::CreditNoteLine, &[("amount", &amount), ("date", &date), ("number", &note.number)]);
            view! { <li>{text}</li> }
        })
        .collect_view();
    view! { <ul class="credit-notes">{lines}</ul> }
}

/// Every invoice, newest first, each linking to its printable page.
#[component]
fn InvoiceTable(list: InvoiceList) -> impl IntoView {
    let context = use_portal();
    let i18n = views::i18n();
    let rows = list
        .invoices
        .into_iter()
        .map(|invoice| {
            view! {
                <tr>
                    <td>{i18n.long_date(invoice.created_at)}</td>
                    <td>
                        <a href=context.href(&format!("/invoices/{}", invoice.id))>{invoice.number.clone()}</a>
                    </td>
                    <td class="num">{i18n.money(invoice.amount.cents())}</td>
                    <td>
                        {status_label(&i18n, &invoice)}
                        {(!invoice.credit_notes.is_empty()).then(|| view! { <CreditNotes notes=invoice.credit_notes.clone() /> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="invoices">
            <caption class="sr-only">{i18n.t(PortalText::InvoicesCaption)}</caption>
            <thead>
                <tr>
                    <th scope="col">{i18n.t(PortalText::Date)}</th>
                    <th scope="col">{i18n.t(PortalText::Invoice)}</th>
                    <th scope="col" class="num">
                        {i18n.t(PortalText::Amount)}
                    </th>
                    <th scope="col">{i18n.t(PortalText::Status)}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// `/portal/:session_id/invoices/:invoice_id`.
#[derive(Params, PartialEq, Clone, Debug)]
pub struct InvoiceParams {
    pub invoice_id: Option<String>,
}

/// A printable invoice.
#[component]
pub fn InvoicePage() -> impl IntoView {
    let context = use_portal();
    let params = use_params::<InvoiceParams>();
    let invoice_id = Memo::new(move |_| params.get().ok().and_then(|p| p.invoice_id).unwrap_or_default());
    let invoice = LocalResource::new(move || api::invoice(context.session_id(), invoice_id.get()));
    let reload = Callback::new(move |_| invoice.refetch());
    let i18n = views::i18n();
    let loading = i18n.t(PortalText::LoadingInvoice);
    view! {
        <Transition fallback=move || view! { <Loading label=loading.clone() /> }>
            {move || {
                let i18n = i18n.clone();
                Suspend::new(async move {
                    match invoice.await {
                        Ok(detail) => view! { <PrintableInvoice detail=detail /> }.into_any(),
                        Err(error) if error.code() == Some(ErrorCode::NotFound) => {
                            view! {
                                <StatusPage
                                    title=i18n.t(PortalText::InvoiceNotFoundTitle)
                                    message=i18n.t(PortalText::InvoiceNotFoundMessage)
                                />
                            }
                                .into_any()
                        }
                        Err(error) if error.code().is_some() => {
                            view! { <PortalErrorPage error=error on_retry=reload /> }.into_any()
                        }
                        Err(_) => view! { <UnreachablePage on_retry=reload /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn PrintableInvoice(detail: InvoiceDetail) -> impl IntoView {
    let context = use_portal();
    let i18n = views::i18n();
    let summary = detail.summary.clone();
    let paid_with = detail.card.as_ref().map_or_else(|| i18n.t(PortalText::NotPaid), |card| card_label(&i18n, card));
    let (start, end) = (i18n.short_date(detail.period.start), i18n.long_date(detail.period.end));
    let period = i18n.f(PortalText::ServicePeriodDates, &[("start", &start), ("end", &end)]);
    view! {
        <PageFrame branding=detail.branding.clone() test_mode=detail.test_mode>
            <article class="card invoice">
                <p class="invoice-from">{detail.branding.product_name.clone()}</p>
                <header class="invoice-head">
                    <PageHeading text=i18n.f(PortalText::InvoiceHeading, &[("number", &summary.number)]) />
                    <p class="invoice-status">{status_label(&i18n, &summary)}</p>
                </header>
                <dl class="receipt">
                    <div>
                        <dt>{i18n.t(PortalText::Date)}</dt>
                        <dd>{i18n.long_date(summary.created_at)}</dd>
                    </div>
                    <div>
                        <dt>{i18n.t(PortalText::BilledTo)}</dt>
                        <dd>{detail.email.clone().unwrap_or_default()}</dd>
                    </div>
                    <div>
                        <dt>{i18n.t(PortalText::ServicePeriod)}</dt>
                        <dd>{period}</dd>
                    </div>
                    <div>
                        <dt>{i18n.t(PortalText::PaidWith)}</dt>
                        <dd>{paid_with}</dd>
                    </div>
                </dl>
                <InvoiceLines
                    lines=detail.lines.clone()
                    total=summary.amount
                    total_label=i18n.t(PortalText::Total)
                    words=views::words::invoice_line_text
                />
                {(!summary.credit_notes.is_empty()).then(|| view! { <CreditNotes notes=summary.credit_notes.clone() /> })}
                <p class="muted">{views::frame::localized(&detail.branding).legal_line}</p>
                <div class="actions no-print">
                    <button type="button" class="button primary" on:click=move |_| browser_print()>
                        {i18n.t(PortalText::Print)}
                    </button>
                    <a class="button secondary" href=context.href("/invoices")>
                        {i18n.t(PortalText::BackToHistory)}
                    </a>
                </div>
            </article>
        </PageFrame>
    }
}

fn browser_print() {
    if let Some(window) = web_sys::window() {
        let _ = window.print();
    }
}
