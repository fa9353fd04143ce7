//! The channel of a single landing page, table-driven through one helper.

use serde_json::Value;

use crate::support::{channels, model, Msg, Offline};

/// Lands one page and returns its channel. `url` and `referrer` go to `context.page` unless
/// prefixed `props:` (then `properties.url` / `properties.referrer`); empty means absent.
/// `campaign` is `context.campaign` as JSON, empty for none.
fn channel_of(url: &str, referrer: &str, campaign: &str) -> Result<String, String> {
    let mut page = Msg::page("m1").anon("a1");
    if let Some(u) = url.strip_prefix("props:") {
        page = page.property("url", u);
    } else if !url.is_empty() {
        page = page.url(url);
    }
    if let Some(r) = referrer.strip_prefix("props:") {
        page = page.property("referrer", r);
    } else if !referrer.is_empty() {
        page = page.referrer(referrer);
    }
    if !campaign.is_empty() {
        page = page.campaign(serde_json::from_str::<Value>(campaign).unwrap());
    }
    let found = channels(&model(&[page.entry()]));
    match found.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("expected one touchpoint, got {other:?}")),
    }
}

const SITE: &str = "https://www.acme.io/";

#[rustfmt::skip]
const CASES: &[(&str, &str, &str, &str)] = &[
    // click ids
    ("https://www.acme.io/?gclid=abc", "", "", "paid_search"),
    ("https://www.acme.io/?gbraid=abc", "", "", "paid_search"),
    ("https://www.acme.io/?wbraid=abc", "", "", "paid_search"),
    ("https://www.acme.io/?msclkid=abc", "", "", "paid_search"),
    ("https://www.acme.io/?li_fat_id=abc", "", "", "paid_social"),
    ("https://www.acme.io/?fbclid=abc", "", "", "paid_social"),
    ("https://www.acme.io/?fbclid=abc&utm_medium=social", "", "", "organic_social"),
    ("https://www.acme.io/?fbclid=abc&utm_medium=organic_social", "", "", "organic_social"),
    ("https://www.acme.io/?fbclid=abc&utm_medium=Organic", "", "", "other"),
    ("https://www.acme.io/?fbclid=abc&utm_medium=email", "", "", "paid_social"),
    ("https://www.acme.io/?gclid=abc&utm_medium=email", "", "", "paid_search"),
    ("https://www.acme.io/?gclid=", "", "", "direct"),
    // paid medium with search vs social source
    ("https://www.acme.io/?utm_source=google&utm_medium=cpc", "", "", "paid_search"),
    ("https://www.acme.io/?utm_source=Google&utm_medium=CPC", "", "", "paid_search"),
    ("https://www.acme.io/?utm_source=bing&utm_medium=ppc", "", "", "paid_search"),
    ("https://www.acme.io/?utm_source=google.com&utm_medium=sem", "", "", "paid_search"),
    ("https://www.acme.io/?utm_source=facebook&utm_medium=cpc", "", "", "paid_social"),
    ("https://www.acme.io/?utm_source=LinkedIn&utm_medium=paid_social", "", "", "paid_social"),
    ("https://www.acme.io/?utm_source=reddit&utm_medium=paidsocial", "", "", "paid_social"),
    ("https://www.acme.io/?utm_source=google&utm_medium=paid_social", "", "", "other"),
    ("https://www.acme.io/?utm_source=capterra&utm_medium=cpc", "", "", "other"),
    // media
    ("https://www.acme.io/?utm_medium=display", "", "", "display"),
    ("https://www.acme.io/?utm_medium=banner", "", "", "display"),
    ("https://www.acme.io/?utm_medium=CPM", "", "", "display"),
    ("https://www.acme.io/?utm_medium=email", "", "", "email"),
    ("https://www.acme.io/?utm_medium=e%2Dmail", "", "", "email"),
    ("https://www.acme.io/?utm_medium=Newsletter", "", "", "email"),
    ("https://www.acme.io/?utm_medium=email", "https://www.google.com/", "", "email"),
    ("https://www.acme.io/?utm_medium=affiliate", "", "", "affiliate"),
    // organic search
    (SITE, "https://www.google.com/", "", "organic_search"),
    (SITE, "https://www.google.co.uk/search?q=acme", "", "organic_search"),
    (SITE, "https://duckduckgo.com/", "", "organic_search"),
    (SITE, "https://search.yahoo.com/", "", "organic_search"),
    ("https://www.acme.io/?utm_source=google&utm_medium=organic", "", "", "organic_search"),
    // organic social
    (SITE, "https://m.facebook.com/", "", "organic_social"),
    (SITE, "https://t.co/xyz", "", "organic_social"),
    (SITE, "https://lnkd.in/abc", "", "organic_social"),
    (SITE, "https://www.linkedin.com/feed/", "", "organic_social"),
    (SITE, "https://x.com/someone", "", "organic_social"),
    ("https://www.acme.io/?utm_medium=social", "", "", "organic_social"),
    // referral, and what is internal
    (SITE, "https://news.ycombinator.com/item?id=1", "", "referral"),
    (SITE, "https://www.qwant.com/", "", "referral"),
    ("https://www.acme.io/?utm_medium=referral", "", "", "referral"),
    ("https://app.acme.io/", "https://www.acme.io/pricing", "", "direct"),
    ("https://www.acme.io/", "https://app.acme.io/settings", "", "direct"),
    ("https://acme.io/", "https://acme.io/blog", "", "direct"),
    ("https://shop.acme.co.uk/", "https://acme.co.uk/", "", "direct"),
    ("https://shop.acme.co.uk/", "https://other.co.uk/", "", "referral"),
    ("https://www.notacme.io/", "https://www.acme.io/", "", "referral"),
    ("", "https://www.example.org/", "", "referral"),
    // other and direct
    ("https://www.acme.io/?utm_medium=podcast", "", "", "other"),
    ("https://www.acme.io/?utm_campaign=spring", "", "", "other"),
    (SITE, "", "", "direct"),
    ("", "", "", "direct"),
    ("not a url?utm_medium=email", "", "", "direct"),
    // context.campaign first, URL fills the gaps
    ("https://www.acme.io/?utm_medium=email", "", r#"{"source":"google","medium":"cpc"}"#, "paid_search"),
    ("https://www.acme.io/?utm_source=google&utm_medium=cpc", "", r#"{"medium":"email"}"#, "email"),
    ("https://www.acme.io/?utm_source=google", "", r#"{"medium":"cpc"}"#, "paid_search"),
    ("", "", r#"{"medium":"affiliate","name":"partners"}"#, "affiliate"),
    // properties.url / properties.referrer fallback
    ("props:https://www.acme.io/?utm_medium=display", "", "", "display"),
    ("props:https://www.acme.io/", "props:https://www.bing.com/", "", "organic_search"),
    ("props:https://app.acme.io/", "props:https://www.acme.io/", "", "direct"),
];

#[test]
fn channel_table() {
    assert!(CASES.len() >= 40);
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|&(url, referrer, campaign, expected)| {
            match channel_of(url, referrer, campaign) {
                Ok(got) if got == expected => None,
                got => Some(format!(
                    "url={url:?} referrer={referrer:?} campaign={campaign:?}: expected {expected}, got {got:?}"
                )),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn marketing_fields_are_kept_as_given() {
    let page = Msg::page("m1")
        .anon("a1")
        .url("https://www.acme.io/?utm_source=Google&utm_medium=CPC&utm_campaign=Spring%20Sale&utm_content=Ad+1&utm_term=crm&gclid=XyZ")
        .referrer("https://www.google.com/");
    let tp = model(&[page.entry()]).snapshot().touchpoints[0].clone();
    assert_eq!(tp.source().map(|v| v.as_str()), Some("Google"));
    assert_eq!(tp.medium().map(|v| v.as_str()), Some("CPC"));
    assert_eq!(tp.campaign().map(|v| v.as_str()), Some("Spring Sale"));
    assert_eq!(tp.content().map(|v| v.as_str()), Some("Ad 1"));
    assert_eq!(tp.term().map(|v| v.as_str()), Some("crm"));
    assert_eq!(
        tp.click_id().map(|(n, v)| (n.as_str(), v.as_str())),
        Some(("gclid", "XyZ"))
    );
    assert_eq!(
        tp.referrer_host().map(|v| v.as_str()),
        Some("www.google.com")
    );
    assert_eq!(tp.landing_url().map(|v| v.as_str()), Some(page_url()));
}

fn page_url() -> &'static str {
    "https://www.acme.io/?utm_source=Google&utm_medium=CPC&utm_campaign=Spring%20Sale&utm_content=Ad+1&utm_term=crm&gclid=XyZ"
}

#[test]
fn internal_referrer_is_not_kept() {
    let page = Msg::page("m1")
        .anon("a1")
        .url("https://app.acme.io/")
        .referrer("https://www.acme.io/");
    assert_eq!(
        model(&[page.entry()]).snapshot().touchpoints[0].referrer_host(),
        None
    );
}

#[test]
fn offline_channel_table() {
    #[rustfmt::skip]
    let cases: &[(Option<&'static str>, Option<&'static str>, &str)] = &[
        (None, Some("event"), "events"),
        (None, Some("webinar"), "events"),
        (None, Some("Webinar"), "events"),
        (None, Some("outbound"), "outbound"),
        (None, Some("partner"), "partner"),
        (None, Some("conference_booth"), "other"),
        (None, None, "other"),
        (Some("field_sales"), Some("event"), "field_sales"),
        (Some("email"), None, "email"),
    ];
    for &(channel, kind, expected) in cases {
        let row = Offline {
            user: Some("u1"),
            channel,
            kind,
            ..Offline::default()
        };
        assert_eq!(
            channels(&model(&[row.entry()])),
            [expected],
            "channel={channel:?} kind={kind:?}"
        );
    }
}
