//! Billing history: every invoice with date, amount and status, each opening a printable page.

use super::past_due::PastDueBanner;
use super::{PortalErrorPage, use_portal, with_view};
use crate::api;
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::status::{Loading, StatusPage, UnreachablePage};
use billing::period::{long_date, short_date};
use billing::wire::{CardSummary, ErrorCode, InvoiceDetail, InvoiceList, PortalView};
use leptos::Params;
use leptos::prelude::*;
use leptos_router::hooks::use_params;
use leptos_router::params::Params;
use views::order_summary::InvoiceLines;

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
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Billing history" />
                <PastDueBanner />
                <section class="card">
                    <Transition fallback=|| view! { <Loading label="Loading invoices…" /> }>
                        {move || { let i18n = i18n.clone(); Suspend::new(async move {
                            match list.await {
                                Ok(list) => view! { <InvoiceTable list=list /> }.into_any(),
                                Err(error) => view! { <p role="alert">{error.message(&i18n)}</p> }.into_any(),
                            }
                        })}}
                    </Transition>
                    <div class="actions">
                        <a class="button secondary" href=context.href("")>
                            "Back to your subscription"
                        </a>
                    </div>
                </section>
            </div>
        </PageFrame>
    }
}

/// Every invoice, newest first, each linking to its printable page.
#[component]
fn InvoiceTable(list: InvoiceList) -> impl IntoView {
    let context = use_portal();
    let rows = list
        .invoices
        .into_iter()
        .map(|invoice| {
            view! {
                <tr>
                    <td>{long_date(invoice.created_at)}</td>
                    <td>
                        <a href=context.href(&format!("/invoices/{}", invoice.id))>{invoice.number.clone()}</a>
                    </td>
                    <td class="num">{invoice.amount.to_string()}</td>
                    <td>{invoice.status.label()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="invoices">
            <caption class="sr-only">"Invoices, newest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"Date"</th>
                    <th scope="col">"Invoice"</th>
                    <th scope="col" class="num">"Amount"</th>
                    <th scope="col">"Status"</th>
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
    view! {
        <Transition fallback=|| view! { <Loading label="Loading the invoice…" /> }>
            {move || Suspend::new(async move {
                match invoice.await {
                    Ok(detail) => view! { <PrintableInvoice detail=detail /> }.into_any(),
                    Err(error) if error.code() == Some(ErrorCode::NotFound) => {
                        view! { <StatusPage title="Invoice not found" message="This invoice doesn't belong to this account." /> }
                            .into_any()
                    }
                    Err(error) if error.code().is_some() => view! { <PortalErrorPage error=error on_retry=reload /> }.into_any(),
                    Err(_) => view! { <UnreachablePage on_retry=reload /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PrintableInvoice(detail: InvoiceDetail) -> impl IntoView {
    let context = use_portal();
    let summary = detail.summary.clone();
    let paid_with = detail.card.as_ref().map(CardSummary::label);
    view! {
        <PageFrame branding=detail.branding.clone() test_mode=detail.test_mode>
            <article class="card invoice">
                <p class="invoice-from">{detail.branding.product_name.clone()}</p>
                <header class="invoice-head">
                    <PageHeading text=format!("Invoice {}", summary.number) />
                    <p class="invoice-status">{summary.status.label()}</p>
                </header>
                <dl class="receipt">
                    <div>
                        <dt>"Date"</dt>
                        <dd>{long_date(summary.created_at)}</dd>
                    </div>
                    <div>
                        <dt>"Billed to"</dt>
                        <dd>{detail.email.clone().unwrap_or_default()}</dd>
                    </div>
                    <div>
                        <dt>"Service period"</dt>
                        <dd>{format!("{} to {}", short_date(detail.period.start), long_date(detail.period.end))}</dd>
                    </div>
                    <div>
                        <dt>"Paid with"</dt>
                        <dd>{paid_with.unwrap_or_else(|| "Not paid".into())}</dd>
                    </div>
                </dl>
                <InvoiceLines lines=detail.lines.clone() total=summary.amount total_label="Total" />
                <p class="muted">{detail.branding.legal_line.clone()}</p>
                <div class="actions no-print">
                    <button type="button" class="button primary" on:click=move |_| browser_print()>
                        "Print"
                    </button>
                    <a class="button secondary" href=context.href("/invoices")>
                        "Back to billing history"
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
