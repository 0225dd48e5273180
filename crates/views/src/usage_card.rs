//! The portal home's credits: used against the plan's (an accessible meter), the overage so far
//! and when it is billed, a chart of credits by day (inline SVG with its text alternative), and
//! the overage's monthly spending limit.

use billing::usage::Credits;
use billing::wire::PortalUsage;
use i18n::{I18n, PortalText};
use leptos::prelude::*;

/// The chart's drawing units: one column per day, bars up to this high.
const DAY_WIDTH: i64 = 10;
const CHART_HEIGHT: i64 = 40;

/// Credits used this period, the overage so far, and the chart.
#[component]
pub fn CreditsCard(usage: PortalUsage) -> impl IntoView {
    let i18n = crate::i18n();
    let used = i18n.f(
        PortalText::CreditsUsed,
        &[("used", &i18n.credits(usage.used.hundredths())), ("included", &i18n.credits(usage.included.hundredths()))],
    );
    let overage = usage.billed_at.map(|at| {
        i18n.f(
            PortalText::CreditsOverageSoFar,
            &[
                ("credits", &i18n.credits(usage.overage.hundredths())),
                ("amount", &i18n.money(usage.overage_amount.cents())),
                ("date", &i18n.long_date(at)),
            ],
        )
    });
    // The meter's value in whole credits (HTML's meter takes any number; integers read best).
    let (value, max) = (usage.used.hundredths() / 100, usage.included.hundredths() / 100);
    view! {
        <section class="card" aria-labelledby="credits-title">
            <h2 id="credits-title">{i18n.t(PortalText::CreditsTitle)}</h2>
            <p id="credits-used">{used}</p>
            <meter
                class="credits-meter"
                min="0"
                max=max.to_string()
                high=(max * 4 / 5).to_string()
                optimum="0"
                value=value.to_string()
                aria-labelledby="credits-used"
            ></meter>
            {overage.map(|text| view! { <p class="muted">{text}</p> })}
            <UsageChart by_day=usage.by_day period_start=usage.period_start />
        </section>
    }
}

/// Credits by day as bars, described by its caption.
#[component]
fn UsageChart(by_day: Vec<Credits>, period_start: time::OffsetDateTime) -> impl IntoView {
    let i18n = crate::i18n();
    let most = by_day.iter().copied().max().unwrap_or_default();
    let days = i64::try_from(by_day.len()).unwrap_or(1).max(1);
    let last_day = period_start + time::Duration::days(days - 1);
    let caption = if most == Credits::ZERO {
        i18n.t(PortalText::CreditsNoneYet)
    } else {
        chart_caption(&i18n, period_start, last_day, most)
    };
    view! {
        <figure class="usage-chart">
            <div class="chart" inner_html=chart_svg(&by_day, most, days)></div>
            <figcaption id="usage-chart-caption" class="muted">{caption}</figcaption>
        </figure>
    }
}

/// The bars as SVG markup: numbers only, so nothing in it needs escaping. Written as text, the
/// chart costs the wasm a few hundred bytes instead of an element type per SVG element.
fn chart_svg(by_day: &[Credits], most: Credits, days: i64) -> String {
    let mut svg = format!(
        r#"<svg viewBox="0 0 {} {CHART_HEIGHT}" preserveAspectRatio="none" role="img" aria-labelledby="usage-chart-caption">"#,
        days * DAY_WIDTH
    );
    for (day, used) in (0..).zip(by_day).filter(|(_, used)| **used > Credits::ZERO) {
        let height = (used.hundredths() * CHART_HEIGHT / most.hundredths().max(1)).max(1);
        svg.push_str(&format!(
            r#"<rect x="{}" y="{}" width="{}" height="{height}"/>"#,
            day * DAY_WIDTH + 1,
            CHART_HEIGHT - height,
            DAY_WIDTH - 2
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn chart_caption(i18n: &I18n, from: time::OffsetDateTime, to: time::OffsetDateTime, most: Credits) -> String {
    i18n.f(
        PortalText::CreditsChartCaption,
        &[("from", &i18n.short_date(from)), ("to", &i18n.short_date(to)), ("most", &i18n.credits(most.hundredths()))],
    )
}
