//! The portal home's credits: used against the plan's (an accessible meter), the overage so far
//! and when it is billed, the spending limit on it (set on its own page), and a chart of credits
//! by day (inline SVG with its text alternative).

use billing::Money;
use billing::usage::Credits;
use i18n::{I18n, PortalText};
use leptos::prelude::*;
use time::OffsetDateTime;

/// What the card shows: this period's credits as the server counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditsFacts {
    pub period_start: OffsetDateTime,
    pub used: Credits,
    /// The plan's credits this period.
    pub included: Credits,
    pub overage: Credits,
    pub overage_amount: Money,
    pub spending_limit: Option<Money>,
    /// When the overage so far is billed (an hour after the period ends), if it will be.
    pub billed_at: Option<OffsetDateTime>,
    /// Credits used on each day of the period so far, its first day first.
    pub by_day: Vec<Credits>,
}

/// The chart's drawing units: one column per day, bars up to this high.
const DAY_WIDTH: i64 = 10;
const CHART_HEIGHT: i64 = 40;

/// The card, from the markup the server wrote ([`credits_markup`]). Nothing on it changes while
/// the page is open, and the app only mounts it: element-by-element views and the formatting
/// behind them would cost the home's bundle kilobytes it does not have.
#[component]
pub fn CreditsCard(markup: String) -> impl IntoView {
    view! { <section class="card" aria-labelledby="credits-title" inner_html=markup></section> }
}

/// The card's inside: heading, the used-of-included line with its meter, the overage so far,
/// the chart and its words, the spending limit with the link to its page (`limit_link`, while
/// overage is on). Every text is escaped; the numbers are the server's.
pub fn credits_markup(i18n: &I18n, usage: &CreditsFacts, limit_link: Option<&str>) -> String {
    let used = i18n.f(
        PortalText::CreditsUsed,
        &[("used", &i18n.credits(usage.used.hundredths())), ("included", &i18n.credits(usage.included.hundredths()))],
    );
    let (value, max) = (usage.used.hundredths() / 100, usage.included.hundredths() / 100);
    let mut html = format!(
        r#"<h2 id="credits-title">{}</h2><p id="credits-used">{}</p><meter class="credits-meter" min="0" max="{max}" high="{}" optimum="0" value="{value}" aria-labelledby="credits-used"></meter>"#,
        escape(&i18n.t(PortalText::CreditsTitle)),
        escape(&used),
        max * 4 / 5,
    );
    if let Some(at) = usage.billed_at {
        let overage = i18n.f(
            PortalText::CreditsOverageSoFar,
            &[
                ("credits", &i18n.credits(usage.overage.hundredths())),
                ("amount", &i18n.money(usage.overage_amount.cents())),
                ("date", &i18n.long_date(at)),
            ],
        );
        html.push_str(&format!(r#"<p class="muted">{}</p>"#, escape(&overage)));
    }
    html.push_str(&chart(i18n, &usage.by_day, usage.period_start));
    if let Some(href) = limit_link {
        html.push_str(&spending_limit(i18n, usage.spending_limit, href));
    }
    html
}

/// The limit on the overage (or none), and the link to its page.
fn spending_limit(i18n: &I18n, limit: Option<Money>, href: &str) -> String {
    let (limit, link) = match limit {
        Some(limit) => (
            i18n.f(PortalText::SpendingLimitCurrent, &[("amount", &i18n.money(limit.cents()))]),
            i18n.t(PortalText::SpendingLimitChange),
        ),
        None => (i18n.t(PortalText::SpendingLimitNone), i18n.t(PortalText::SpendingLimitSet)),
    };
    format!(
        r#"<div class="spending-limit"><p>{}</p><a class="button secondary" href="{}">{}</a></div>"#,
        escape(&limit),
        escape(href),
        escape(&link)
    )
}

/// Credits by day as bars, described by its caption.
fn chart(i18n: &I18n, by_day: &[Credits], period_start: OffsetDateTime) -> String {
    let most = by_day.iter().copied().max().unwrap_or_default();
    let days = i64::try_from(by_day.len()).unwrap_or(1).max(1);
    let caption = if most == Credits::ZERO {
        i18n.t(PortalText::CreditsNoneYet)
    } else {
        i18n.f(
            PortalText::CreditsChartCaption,
            &[
                ("from", &i18n.short_date(period_start)),
                ("to", &i18n.short_date(period_start + time::Duration::days(days - 1))),
                ("most", &i18n.credits(most.hundredths())),
            ],
        )
    };
    let mut svg = format!(
        r#"<figure class="usage-chart"><svg viewBox="0 0 {} {CHART_HEIGHT}" preserveAspectRatio="none" role="img" aria-labelledby="usage-chart-caption">"#,
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
    svg.push_str(&format!(
        r#"</svg><figcaption id="usage-chart-caption" class="muted">{}</figcaption></figure>"#,
        escape(&caption)
    ));
    svg
}

/// Text made safe to put between tags or in an attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"<b>"Tom" & 'Jerry'</b>"#), "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
    }
}
