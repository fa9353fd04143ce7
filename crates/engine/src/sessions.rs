//! Sessions and touchpoints (SPEC §2.2).
//!
//! Sessions are a function of the *sorted set* of an identity's page views: views are kept
//! ordered by `(timestamp, message_id)` and the sessions are cut from that order on demand. A
//! late page from a backfill simply lands in its place, and the result is the same whether the
//! pages arrived in order, shuffled, or in different batches — which a streaming sessioniser that
//! only extends the last session could not promise.
//!
//! A session ends after `session_timeout_minutes` without a page view (a gap of exactly the
//! timeout continues it) or at a page carrying marketing information that differs from the
//! session's first page, unless that page is a reload of the landing URL (the same URL with no
//! other marketing information, though perhaps with less: a reload may lose its referrer). Pages
//! without any marketing information (internal navigation) continue the session.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tenure_core::{AccountId, AnonymousId, CompactString, Email, Timestamp};

use crate::channels::ChannelSettings;
use crate::identity::PersonId;
use crate::index::{HashIndex, Number};
use crate::marketing::{Marketing, PageFacts};
use crate::text::Text;

/// Settings of sessionisation and of which pages count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TouchpointSettings {
    /// A session ends after this many minutes without a page view.
    pub session_timeout_minutes: u32,
    /// Pages on these hosts (or their subdomains) are ignored, e.g. the product's own app.
    pub exclude_hosts: Vec<String>,
    /// Domains whose hosts are internal referrers. Empty: the page host's registrable domain.
    pub site_domains: Vec<String>,
}

impl Default for TouchpointSettings {
    fn default() -> Self {
        Self {
            session_timeout_minutes: 30,
            exclude_hosts: Vec::new(),
            site_domains: Vec::new(),
        }
    }
}

impl TouchpointSettings {
    pub(crate) fn timeout_ms(&self) -> i64 {
        i64::from(self.session_timeout_minutes) * 60_000
    }
}

/// Where a touchpoint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TouchpointOrigin {
    /// A session of page views, described by its first page.
    Session,
    /// A `track` message carrying `context.campaign`.
    CampaignTrack,
    /// A row of `touchpoints.csv`.
    Offline,
}

/// One marketing touch of a person, an anonymous visitor or an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Touchpoint {
    pub occurred_at: Timestamp,
    pub person: Option<PersonId>,
    pub anonymous_id: Option<AnonymousId>,
    /// The e-mail of an offline row that matches no one: the prospect the row stands for, a
    /// person of its own until a message gives that e-mail (SPEC §2.2).
    pub prospect: Option<Email>,
    /// The account named by the message (`context.groupId`) or the offline row (`account_id`).
    pub account: Option<AccountId>,
    /// How it came, shared with every touchpoint that came the same way.
    pub(crate) landing: Landing,
    pub origin: TouchpointOrigin,
}

/// How a touch came: its value of each touch grouping (the channel it classifies as, its
/// source, medium, campaign and content) and the marketing facts of its landing page (or of
/// its campaign track; an offline row's term). Shared rather than copied: every session that
/// lands on the same page facts holds the ones the model's [`PageFactsTable`] keeps, where ten
/// texts of its own made most of a touchpoint's bytes (some two million touchpoints at
/// 100,000 accounts, each in its owner's list and again in its account's journey).
///
/// The groupings apart from the facts: they are what every attribution report reads of every
/// touchpoint, and few (one per distinct combination of values: 12 in the simulated company of
/// 100,000 accounts), so they stay in the cache; the facts are as many as ad clicks (922,186
/// there), and reading them per touch would be a cache miss per touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Landing {
    pub groupings: Arc<Groupings>,
    pub facts: Arc<PageFacts>,
}

/// A touchpoint's value of each touch grouping ([`TouchField`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Groupings {
    pub channel: Text,
    pub source: Option<Text>,
    pub medium: Option<Text>,
    pub campaign: Option<Text>,
    pub content: Option<Text>,
}

impl Touchpoint {
    pub(crate) fn new(
        occurred_at: Timestamp,
        landing: Landing,
        origin: TouchpointOrigin,
    ) -> Touchpoint {
        Touchpoint {
            occurred_at,
            person: None,
            anonymous_id: None,
            prospect: None,
            account: None,
            landing,
            origin,
        }
    }

    pub fn channel(&self) -> &Text {
        &self.landing.groupings.channel
    }

    pub fn source(&self) -> Option<&Text> {
        self.landing.groupings.source.as_ref()
    }

    pub fn medium(&self) -> Option<&Text> {
        self.landing.groupings.medium.as_ref()
    }

    pub fn campaign(&self) -> Option<&Text> {
        self.landing.groupings.campaign.as_ref()
    }

    pub fn content(&self) -> Option<&Text> {
        self.landing.groupings.content.as_ref()
    }

    pub fn term(&self) -> Option<&Text> {
        self.landing.facts.marketing.term.as_ref()
    }

    /// `(name, value)`, e.g. `("gclid", "Cj0K…")`.
    pub fn click_id(&self) -> Option<(&Text, &Text)> {
        let (name, value) = self.landing.facts.marketing.click_id.as_ref()?;
        Some((name, value))
    }

    /// The external referrer's host, if any.
    pub fn referrer_host(&self) -> Option<&Text> {
        self.landing.facts.marketing.referrer_host.as_ref()
    }

    pub fn landing_url(&self) -> Option<&Text> {
        self.landing.facts.url.as_ref()
    }

    /// Who the touchpoint is from, as visitors are counted: its person, else its anonymous id,
    /// else its prospect, else its account.
    pub fn visitor(&self) -> Option<Visitor<'_>> {
        if let Some(p) = &self.person {
            Some(Visitor::Person(p.as_str()))
        } else if let Some(a) = &self.anonymous_id {
            Some(Visitor::Anonymous(a.as_str()))
        } else if let Some(e) = &self.prospect {
            Some(Visitor::Prospect(e.as_str()))
        } else {
            self.account.as_ref().map(|a| Visitor::Account(a.as_str()))
        }
    }
}

/// Who a touchpoint is from (see [`Touchpoint::visitor`]), borrowed: counting distinct
/// visitors over millions of touchpoints must not allocate per touchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visitor<'a> {
    Person(&'a str),
    Anonymous(&'a str),
    Prospect(&'a str),
    Account(&'a str),
}

/// A touch grouping: the touchpoint field reports group by (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TouchField {
    Channel,
    Source,
    Medium,
    Campaign,
    Content,
}

impl TouchField {
    pub const ALL: [TouchField; 5] = [
        TouchField::Channel,
        TouchField::Source,
        TouchField::Medium,
        TouchField::Campaign,
        TouchField::Content,
    ];

    /// The grouping called `name` (`channel`, `source`, `medium`, `campaign`, `content`).
    pub fn parse(name: &str) -> Option<TouchField> {
        Some(match name {
            "channel" => TouchField::Channel,
            "source" => TouchField::Source,
            "medium" => TouchField::Medium,
            "campaign" => TouchField::Campaign,
            "content" => TouchField::Content,
            _ => return None,
        })
    }

    /// The touchpoint's value of the field; "(none)" where it has none.
    pub fn value(self, t: &Touchpoint) -> &str {
        self.text(t).map_or(NONE, Text::as_str)
    }

    /// The touchpoint's value of the field, if it has one.
    pub(crate) fn text(self, t: &Touchpoint) -> Option<&Text> {
        match self {
            TouchField::Channel => Some(t.channel()),
            TouchField::Source => t.source(),
            TouchField::Medium => t.medium(),
            TouchField::Campaign => t.campaign(),
            TouchField::Content => t.content(),
        }
    }
}

/// The group of touchpoints without a value of the field grouped by.
pub const NONE: &str = "(none)";

/// A touchpoint with the key that orders it among others deterministically: its message id
/// (kept in place when short, as the model keys its page views), or an offline row's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Keyed {
    pub tiebreak: CompactString,
    pub touchpoint: Touchpoint,
}

impl Keyed {
    pub fn sort_key(&self) -> (Timestamp, TouchpointOrigin, &str) {
        (
            self.touchpoint.occurred_at,
            self.touchpoint.origin,
            &self.tiebreak,
        )
    }
}

/// A page view as kept in an identity component, which keys it by time and message id: who
/// and which account it names, and what it says about how the visitor came, each by number
/// (the same URL, referrer and campaign recur across thousands of views, and the ids across an
/// identity's views: as text they were most of a page view's bytes, and an identity component
/// holds millions of views at 100,000 accounts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PageView {
    /// The identity graph's node of the page's anonymous id.
    pub anonymous: Option<Number>,
    /// The model's number of the account the page names.
    pub account: Option<Number>,
    /// Its number in the model's [`PageFactsTable`].
    pub facts: u32,
}

/// Page facts, each kept once and numbered, with their groupings (the channel they classify
/// as): every touchpoint made from them shares them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct PageFactsTable {
    /// The inverse of `facts` (by hash, so that each facts is kept once): not serialized,
    /// rebuilt by [`PageFactsTable::reindex`]. Facts are as many as ad clicks (each has its
    /// click id), hundreds of thousands.
    #[serde(skip)]
    ids: HashIndex<Landing>,
    /// Serialized without their groupings, which the settings of the model that reads them
    /// say (the channel).
    #[serde(with = "facts_only")]
    facts: Vec<Landing>,
    /// Each distinct groupings, kept once. Not serialized; rebuilt by `reindex`.
    #[serde(skip)]
    groupings: HashSet<Arc<Groupings>>,
    /// The text that recurs across facts (hosts, UTM values, click id names, channels), each
    /// kept once: facts differ by their click id, so a campaign's name would otherwise be
    /// stored once per ad click. Not serialized; rebuilt by `reindex`.
    #[serde(skip)]
    words: HashSet<Text>,
}

/// The table finds a landing by its facts alone (`Borrow<PageFacts>`), so it hashes by them:
/// in the table the groupings follow from the facts and the settings, so two landings there
/// with equal facts are equal. (An offline row's landing, never in the table, is the one whose
/// groupings do not follow from its facts.)
impl Hash for Landing {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.facts.hash(state);
    }
}

impl Borrow<PageFacts> for Landing {
    fn borrow(&self) -> &PageFacts {
        &self.facts
    }
}

/// The table's facts stored as facts alone.
mod facts_only {
    use super::*;

    pub fn serialize<S: Serializer>(kept: &[Landing], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(kept.iter().map(|k| &*k.facts))
    }

    /// Without their groupings until [`PageFactsTable::reindex`] gives them theirs.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Landing>, D::Error> {
        let none = Arc::new(Groupings {
            channel: Text::from(""),
            source: None,
            medium: None,
            campaign: None,
            content: None,
        });
        let facts = Vec::<PageFacts>::deserialize(deserializer)?;
        Ok(facts
            .into_iter()
            .map(|facts| Landing {
                groupings: Arc::clone(&none),
                facts: Arc::new(facts),
            })
            .collect())
    }
}

impl PageFactsTable {
    pub(crate) fn id(&mut self, facts: PageFacts, channels: &ChannelSettings) -> u32 {
        if let Some(id) = self.ids.get(&facts, &self.facts) {
            return id;
        }
        let id = u32::try_from(self.facts.len()).expect("fewer than 2^32 distinct page facts");
        let kept = self.keep(facts, channels);
        self.facts.push(kept);
        self.ids.insert(&self.facts[id as usize], id, &self.facts);
        id
    }

    pub(crate) fn get(&self, id: u32) -> &Landing {
        &self.facts[id as usize]
    }

    /// Rebuilds the numbers and groupings of facts from `facts`, after deserializing, and
    /// shares their recurring text again (deserializing gives every value its own, and grows
    /// the list by doubling, past its length).
    pub(crate) fn reindex(&mut self, channels: &ChannelSettings) {
        let facts = std::mem::take(&mut self.facts);
        self.words.clear();
        self.groupings.clear();
        let mut kept = Vec::with_capacity(facts.len());
        for landing in facts {
            let facts = Arc::unwrap_or_clone(landing.facts);
            kept.push(self.keep(facts, channels));
        }
        self.facts = kept;
        self.ids = HashIndex::of(&self.facts);
    }

    /// The facts with their groupings, and their recurring text shared with earlier facts'.
    /// The URL and the click id's value are left as they are: they are what makes facts
    /// distinct.
    fn keep(&mut self, facts: PageFacts, channels: &ChannelSettings) -> Landing {
        let channel = self.word(channels.classify(&facts.marketing));
        let PageFacts {
            url,
            host,
            marketing,
        } = facts;
        let mut word = |t: Option<Text>| t.map(|t| self.word(t));
        let facts = PageFacts {
            url,
            host: word(host),
            marketing: Marketing {
                source: word(marketing.source),
                medium: word(marketing.medium),
                campaign: word(marketing.campaign),
                content: word(marketing.content),
                term: word(marketing.term),
                referrer_host: word(marketing.referrer_host),
                click_id: marketing
                    .click_id
                    .map(|(name, value)| (self.word(name), value)),
            },
        };
        let m = &facts.marketing;
        let groupings = Groupings {
            channel,
            source: m.source.clone(),
            medium: m.medium.clone(),
            campaign: m.campaign.clone(),
            content: m.content.clone(),
        };
        let groupings = match self.groupings.get(&groupings) {
            Some(kept) => Arc::clone(kept),
            None => {
                let kept = Arc::new(groupings);
                self.groupings.insert(Arc::clone(&kept));
                kept
            }
        };
        Landing {
            groupings,
            facts: Arc::new(facts),
        }
    }

    /// The kept copy of `text`, kept now if it is new.
    fn word(&mut self, text: impl Into<Text> + AsRef<str>) -> Text {
        if let Some(kept) = self.words.get(text.as_ref()) {
            return kept.clone();
        }
        let text = text.into();
        self.words.insert(text.clone());
        text
    }
}

/// A page view with its key and facts, as sessions are cut from.
#[derive(Clone, Copy)]
pub(crate) struct Page<'a> {
    pub at: Timestamp,
    pub message_id: &'a str,
    pub anonymous_id: Option<&'a AnonymousId>,
    pub account: Option<&'a AccountId>,
    pub landing: &'a Landing,
}

/// The first page of every session, in time order.
pub(crate) fn session_starts<'a>(
    pages: impl IntoIterator<Item = Page<'a>>,
    timeout_ms: i64,
) -> Vec<Page<'a>> {
    let mut starts: Vec<Page> = Vec::new();
    let mut last_at: Option<Timestamp> = None;
    for page in pages {
        let new_session = match (starts.last(), last_at) {
            (Some(first), Some(last)) => {
                page.at.millis() - last.millis() > timeout_ms || new_campaign(first, &page)
            }
            _ => true,
        };
        if new_session {
            starts.push(page);
        }
        last_at = Some(page.at);
    }
    starts
}

fn new_campaign(first: &Page, page: &Page) -> bool {
    let (landing, marketing) = (
        &first.landing.facts.marketing,
        &page.landing.facts.marketing,
    );
    !marketing.is_empty() && marketing != landing && !reload(first, page)
}

/// A reload of the landing page: the same URL, and nothing in its marketing information that
/// the landing page did not have. A browser may drop the referrer when reloading, so a missing
/// field is no news; the same URL reached from another external referrer (a second search, a
/// link shared elsewhere) is a new arrival, and so a new session.
fn reload(first: &Page, page: &Page) -> bool {
    fn same_or_none<T: PartialEq>(page: &Option<T>, landing: &Option<T>) -> bool {
        page.is_none() || page == landing
    }
    let (landing, facts) = (&*first.landing.facts, &*page.landing.facts);
    let (l, m) = (&landing.marketing, &facts.marketing);
    facts.url.is_some()
        && facts.url == landing.url
        && same_or_none(&m.source, &l.source)
        && same_or_none(&m.medium, &l.medium)
        && same_or_none(&m.campaign, &l.campaign)
        && same_or_none(&m.content, &l.content)
        && same_or_none(&m.term, &l.term)
        && same_or_none(&m.click_id, &l.click_id)
        && same_or_none(&m.referrer_host, &l.referrer_host)
}

/// The touchpoint of a session's first page or of a campaign track (person filled in later).
pub(crate) fn online_touchpoint(
    at: Timestamp,
    anonymous_id: Option<AnonymousId>,
    account: Option<AccountId>,
    landing: &Landing,
    origin: TouchpointOrigin,
) -> Touchpoint {
    Touchpoint {
        anonymous_id,
        account,
        ..Touchpoint::new(at, landing.clone(), origin)
    }
}

/// The touchpoints of a component's pages: one per session.
pub(crate) fn sessions<'a>(
    pages: impl IntoIterator<Item = Page<'a>>,
    touchpoints: &TouchpointSettings,
) -> Vec<Keyed> {
    session_starts(pages, touchpoints.timeout_ms())
        .into_iter()
        .map(|first| Keyed {
            tiebreak: CompactString::new(first.message_id),
            touchpoint: online_touchpoint(
                first.at,
                first.anonymous_id.cloned(),
                first.account.cloned(),
                first.landing,
                TouchpointOrigin::Session,
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clicked(click: &str) -> PageFacts {
        PageFacts {
            url: Some(Text::from(format!("https://acme.io/?gclid={click}"))),
            host: Some(Text::from("acme.io")),
            marketing: Marketing {
                source: Some(Text::from("google")),
                medium: Some(Text::from("cpc")),
                campaign: Some(Text::from("brand")),
                click_id: Some((Text::from("gclid"), Text::from(click))),
                ..Marketing::default()
            },
        }
    }

    /// Each ad click makes facts of its own; their campaign, host and channel are one copy
    /// whether the facts were just seen or read back from a snapshot.
    #[test]
    fn facts_of_different_clicks_share_their_recurring_text() {
        let channels = ChannelSettings::default();
        let mut table = PageFactsTable::default();
        let (a, b) = (
            table.id(clicked("a1"), &channels),
            table.id(clicked("b2"), &channels),
        );
        assert_ne!(a, b);
        assert_eq!(table.id(clicked("a1"), &channels), a);
        let shared = |table: &PageFactsTable| {
            let (fa, fb) = (table.get(a), table.get(b));
            let campaign = |f: &Landing| f.facts.marketing.campaign.clone().unwrap();
            let host = |f: &Landing| f.facts.host.clone().unwrap();
            assert_eq!(fa.facts.marketing.click_id.as_ref().unwrap().1, "a1");
            assert_eq!(fb.facts.marketing.click_id.as_ref().unwrap().1, "b2");
            campaign(fa).shares(&campaign(fb))
                && host(fa).shares(&host(fb))
                && Arc::ptr_eq(&fa.groupings, &fb.groupings)
        };
        assert!(shared(&table));

        let bytes = postcard::to_allocvec(&table).unwrap();
        let mut read: PageFactsTable = postcard::from_bytes(&bytes).unwrap();
        let campaign = |i: usize| read.facts[i].facts.marketing.campaign.clone().unwrap();
        assert!(
            !campaign(0).shares(&campaign(1)),
            "deserializing gives each value its own copy"
        );
        read.reindex(&channels);
        assert!(shared(&read));
        assert_eq!(read.get(a).facts, table.get(a).facts);
        assert_eq!(read.get(a).groupings, table.get(a).groupings);
        assert_eq!(read.get(a).groupings.channel, "paid_search");
        assert_eq!(read.get(b).facts, table.get(b).facts);
    }

    /// Sessions that land on the same facts hold the table's one copy of them, channel and all.
    #[test]
    fn sessions_landing_on_the_same_facts_share_them() {
        let mut table = PageFactsTable::default();
        let id = table.id(clicked("a1"), &ChannelSettings::default());
        let page = |at: i64, message_id: &'static str| Page {
            at: Timestamp::from_millis(at),
            message_id,
            anonymous_id: None,
            account: None,
            landing: table.get(id),
        };
        // Two hours apart: two sessions.
        let keyed = sessions(
            [page(0, "m1"), page(7_200_000, "m2")],
            &TouchpointSettings::default(),
        );
        assert_eq!(keyed.len(), 2);
        for k in &keyed {
            let (held, kept) = (&k.touchpoint.landing, table.get(id));
            assert!(Arc::ptr_eq(&held.facts, &kept.facts));
            assert!(Arc::ptr_eq(&held.groupings, &kept.groupings));
            assert_eq!(k.touchpoint.campaign().unwrap(), "brand");
            assert_eq!(k.touchpoint.click_id().unwrap().1, "a1");
        }
    }
}
