//! Marketing information of a page or track message (SPEC §2.2).
//!
//! It is read from the message alone (and the settings), never from other messages, so it can
//! be computed once when the message is applied and stored beside the page view: sessions and
//! channels are then cheap to recompute whenever the set of pages changes.
//!
//! Sources, in order of precedence: `context.campaign` fields; the page URL's (`context.page.url`,
//! else `properties.url`) `utm_*` parameters for any field the campaign lacks; the click ids in
//! the URL; and the referrer (`context.page.referrer`, else `properties.referrer`) only when it is
//! external to the site.

use tenure_core::SegmentMessage;
use url::Url;

use crate::sessions::TouchpointSettings;
use crate::text::Text;

/// The click ids tenure recognises, in the order they are looked for in a URL.
pub const CLICK_IDS: [&str; 6] = [
    "gclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "fbclid",
    "li_fat_id",
];

/// Everything that says how a visitor arrived. Two pages with different marketing information
/// belong to different sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct Marketing {
    pub source: Option<Text>,
    pub medium: Option<Text>,
    pub campaign: Option<Text>,
    pub content: Option<Text>,
    pub term: Option<Text>,
    /// `(name, value)`, e.g. `("gclid", "abc")`.
    pub click_id: Option<(Text, Text)>,
    /// The host of the referrer, only when it is external.
    pub referrer_host: Option<Text>,
}

impl Marketing {
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.medium.is_none()
            && self.campaign.is_none()
            && self.content.is_none()
            && self.term.is_none()
            && self.click_id.is_none()
            && self.referrer_host.is_none()
    }
}

/// What a page message says about where it was and how the visitor got there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct PageFacts {
    pub url: Option<Text>,
    pub host: Option<Text>,
    pub marketing: Marketing,
}

/// The registrable domain of a host by the public suffix list (`m.facebook.com` ->
/// `facebook.com`, `shop.acme.co.uk` -> `acme.co.uk`); the host itself when there is none
/// (`localhost`, an IP address).
pub(crate) fn registrable_domain(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    psl::domain_str(host).unwrap_or(host)
}

/// The name of the registrable domain without its public suffix (`google.co.uk` -> `google`).
pub(crate) fn domain_name(host: &str) -> &str {
    let domain = registrable_domain(host);
    match psl::suffix_str(domain) {
        Some(suffix) if domain.len() > suffix.len() + 1 => {
            &domain[..domain.len() - suffix.len() - 1]
        }
        _ => domain,
    }
}

/// `host` is `domain` or one of its subdomains (ASCII case-insensitive).
pub(crate) fn within(host: &str, domain: &str) -> bool {
    let domain = domain.trim().trim_matches('.');
    if domain.is_empty() || host.len() < domain.len() {
        return false;
    }
    let tail = &host[host.len() - domain.len()..];
    if !host.is_char_boundary(host.len() - domain.len()) || !tail.eq_ignore_ascii_case(domain) {
        return false;
    }
    host.len() == domain.len() || host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

fn host_of(url: &Url) -> Option<String> {
    url.host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
}

fn clean(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Reads the marketing information of a message (a page, or a track with `context.campaign`).
pub(crate) fn page_facts(m: &SegmentMessage, settings: &TouchpointSettings) -> PageFacts {
    let raw_url = m.context_str("page.url").or_else(|| m.property_str("url"));
    let url = raw_url.and_then(|raw| Url::parse(raw.trim()).ok());
    let host = url.as_ref().and_then(host_of);

    let mut utm: [Option<String>; 5] = Default::default();
    let mut click_ids: [Option<String>; CLICK_IDS.len()] = Default::default();
    if let Some(url) = &url {
        for (key, value) in url.query_pairs() {
            let key = key.to_ascii_lowercase();
            let slot = match key.as_str() {
                "utm_source" => Some(&mut utm[0]),
                "utm_medium" => Some(&mut utm[1]),
                "utm_campaign" => Some(&mut utm[2]),
                "utm_content" => Some(&mut utm[3]),
                "utm_term" => Some(&mut utm[4]),
                other => CLICK_IDS
                    .iter()
                    .position(|c| *c == other)
                    .map(|i| &mut click_ids[i]),
            };
            if let Some(slot) = slot {
                if slot.is_none() {
                    *slot = clean(&value);
                }
            }
        }
    }
    let [utm_source, utm_medium, utm_campaign, utm_content, utm_term] = utm;
    let campaign = |field: &str| m.context_str(&format!("campaign.{field}")).and_then(clean);
    let click_id = CLICK_IDS
        .iter()
        .zip(click_ids)
        .find_map(|(name, value)| value.map(|v| (Text::from(*name), Text::from(v))));

    let referrer_host = m
        .context_str("page.referrer")
        .or_else(|| m.property_str("referrer"))
        .and_then(|raw| Url::parse(raw.trim()).ok())
        .as_ref()
        .and_then(host_of)
        .filter(|r| is_external(r, host.as_deref(), &settings.site_domains));

    let text = |s: Option<String>| s.map(Text::from);
    PageFacts {
        url: raw_url.map(|u| Text::from(u.trim())),
        host: text(host),
        marketing: Marketing {
            source: text(campaign("source").or(utm_source)),
            medium: text(campaign("medium").or(utm_medium)),
            campaign: text(
                campaign("name")
                    .or_else(|| campaign("campaign"))
                    .or(utm_campaign),
            ),
            content: text(campaign("content").or(utm_content)),
            term: text(campaign("term").or(utm_term)),
            click_id,
            referrer_host: text(referrer_host),
        },
    }
}

/// A referrer is external when its host is neither the page's host nor within a site domain:
/// the configured ones, else the page host's registrable domain.
fn is_external(referrer: &str, page_host: Option<&str>, site_domains: &[String]) -> bool {
    if page_host == Some(referrer) {
        return false;
    }
    if site_domains.is_empty() {
        match page_host {
            Some(page) => !within(referrer, registrable_domain(page)),
            None => true,
        }
    } else {
        !site_domains.iter().any(|d| within(referrer, d))
    }
}

/// A track carries a campaign when `context.campaign` has at least one non-empty field.
pub(crate) fn has_campaign(m: &SegmentMessage) -> bool {
    ["source", "medium", "name", "campaign", "content", "term"]
        .iter()
        .any(|f| m.context_str(&format!("campaign.{f}")).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names_follow_the_public_suffix_list() {
        assert_eq!(registrable_domain("m.facebook.com"), "facebook.com");
        assert_eq!(domain_name("m.facebook.com"), "facebook");
        assert_eq!(domain_name("www.google.co.uk"), "google");
        assert_eq!(registrable_domain("shop.acme.co.uk"), "acme.co.uk");
        assert_eq!(registrable_domain("t.co"), "t.co");
        assert_eq!(domain_name("localhost"), "localhost");
    }

    #[test]
    fn within_needs_a_label_boundary() {
        assert!(within("app.acme.io", "acme.io"));
        assert!(within("acme.io", "ACME.io"));
        assert!(!within("notacme.io", "acme.io"));
        assert!(!within("io", "acme.io"));
    }
}
