//! The model: all derived state of one workspace, updated entry by entry.
//!
//! `apply` does only cheap, order-insensitive bookkeeping (amortised O(log n)): it links ids,
//! files a page view into its identity component's sorted map, and drops that component's
//! cached touchpoints. Sessions are cut lazily, per component, when touchpoints are asked for.
//! Because every derived figure is computed from sets (links, sorted page views, rows), the
//! model after any order or batching of the same entries is the same — replay equals live.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tenure_core::{
    AccountId, AnonymousId, Email, EntryBody, MessageType, SegmentMessage, StoredEntry, Timestamp,
    TouchpointRow, UserId,
};

use crate::channels::{ChannelSettings, SettingsError};
use crate::identity::{IdKey, IdentityGraph, PersonId};
use crate::ledger::{Change, Invoice, Ledger, Stream};
use crate::marketing::{self, page_facts};
use crate::profiles::Profiles;
use crate::sessions::{
    online_touchpoint, sessions, Keyed, PageView, Touchpoint, TouchpointOrigin, TouchpointSettings,
};
use crate::success::{is_success_event, AccountSuccess, HeldSuccess, Success, SuccessStore};
use crate::usage::{ActivationSettings, Events, HeldUsage, Interner, Usage, UsageStore};
use tenure_ingest::stripe;

/// Everything the engine can be configured with (the `[channels]` and `[touchpoints]` tables).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    pub channels: ChannelSettings,
    pub touchpoints: TouchpointSettings,
    pub activation: ActivationSettings,
}

impl EngineSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.channels.validate()?;
        if self.touchpoints.session_timeout_minutes == 0 {
            return Err(SettingsError {
                location: "touchpoints.session_timeout_minutes".into(),
                problem: "must be at least 1".into(),
            });
        }
        if self.activation.min_users == 0 || self.activation.window_days == 0 {
            return Err(SettingsError {
                location: "activation".into(),
                problem: "min_users and window_days must be at least 1".into(),
            });
        }
        if self.activation.events.iter().any(|e| e.trim().is_empty()) {
            return Err(SettingsError {
                location: "activation.events".into(),
                problem: "contains an empty event name".into(),
            });
        }
        for (field, list) in [
            ("exclude_hosts", &self.touchpoints.exclude_hosts),
            ("site_domains", &self.touchpoints.site_domains),
        ] {
            if list.iter().any(|h| h.trim().trim_matches('.').is_empty()) {
                return Err(SettingsError {
                    location: format!("touchpoints.{field}"),
                    problem: "contains an empty host".into(),
                });
            }
        }
        Ok(())
    }
}

/// Counts for `tenure status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub accounts: u64,
    /// People: identity components holding a user id, and prospects (offline rows' e-mails
    /// that match no one).
    pub persons: u64,
    pub anonymous_ids: u64,
    pub touchpoints: u64,
    pub touchpoints_by_channel: BTreeMap<String, u64>,
}

/// One identity component as the snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentitySnapshot {
    pub person: Option<PersonId>,
    pub user_ids: BTreeSet<UserId>,
    pub anonymous_ids: BTreeSet<AnonymousId>,
    pub emails: BTreeSet<Email>,
    pub accounts: BTreeSet<AccountId>,
}

/// A comparable picture of the identity graph and every touchpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Ordered by person, then user ids, then anonymous ids.
    pub identities: Vec<IdentitySnapshot>,
    pub touchpoints: Vec<Touchpoint>,
    /// Every account's journey, as [`Model::account_journeys`] gives them.
    pub journeys: BTreeMap<AccountId, Vec<Touchpoint>>,
    /// The journeys of those linked to no account, as [`Model::visitor_journeys`] gives them.
    pub visitors: Vec<Vec<Touchpoint>>,
    pub summary: Summary,
}

type EventKey = (Timestamp, String);

/// Whose journey a touchpoint is part of, besides the account it may name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    /// An identity component, by its root.
    Identity(usize),
    /// The person an offline row whose e-mail matches no one stands for (SPEC §2.2).
    Prospect(Email),
    /// An offline row with no id and no e-mail (only an account).
    Nobody,
}

/// Who someone is, independent of the order of links: the stable order of visitors' journeys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Person(PersonId),
    Anonymous(AnonymousId),
    Prospect(Email),
}

/// The pages, campaign tracks and milestones of one identity component.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Component {
    pages: BTreeMap<EventKey, PageView>,
    tracks: BTreeMap<EventKey, Keyed>,
    /// Track event name (numbered by [`Model::event_names`]) -> the first time anyone of the
    /// component sent it, whether or not the message named an account: lead and opportunity
    /// creation are the first such event of any of an account's people (SPEC §3), however
    /// late they were grouped with it.
    firsts: BTreeMap<u32, Timestamp>,
    /// Product usage and success facts that named no account, or no user: they count for the
    /// component's accounts (SPEC §2.1), read through [`Model::usage`] and [`Model::success`].
    /// Boxed, and only for identities that sent such facts: most identities are visitors.
    held: Option<Box<Held>>,
    /// The accounts linked to the component, sorted: whose facts its held ones change.
    accounts: Vec<AccountId>,
    /// Sessions and tracks, without the person (which can change without the pages changing).
    #[serde(skip)]
    cache: OnceLock<Vec<Keyed>>,
}

impl Component {
    fn touchpoints(&self, settings: &EngineSettings) -> &[Keyed] {
        self.cache.get_or_init(|| {
            let mut out = sessions(
                self.pages.values(),
                &settings.touchpoints,
                &settings.channels,
            );
            out.extend(self.tracks.values().cloned());
            out
        })
    }

    /// Moves `other` in, inserting the smaller map into the larger one.
    fn absorb(&mut self, mut other: Component) {
        if other.pages.len() > self.pages.len() {
            std::mem::swap(&mut self.pages, &mut other.pages);
        }
        self.pages.extend(other.pages);
        if other.tracks.len() > self.tracks.len() {
            std::mem::swap(&mut self.tracks, &mut other.tracks);
        }
        self.tracks.extend(other.tracks);
        for (event, at) in other.firsts {
            self.saw(event, at);
        }
        match (&mut self.held, other.held) {
            (Some(mine), Some(theirs)) => {
                mine.usage.absorb(theirs.usage);
                mine.success.absorb(theirs.success);
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        for account in other.accounts {
            self.link(account);
        }
        self.cache.take();
    }

    fn link(&mut self, account: AccountId) {
        if let Err(i) = self.accounts.binary_search(&account) {
            self.accounts.insert(i, account);
        }
    }

    fn holds_facts(&self) -> bool {
        self.held.is_some()
    }

    /// Keeps the earliest time of each event, so the order messages arrive in does not matter.
    fn saw(&mut self, event: u32, at: Timestamp) {
        let first = self.firsts.entry(event).or_insert(at);
        *first = (*first).min(at);
    }
}

/// The facts an identity holds for its accounts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Held {
    usage: HeldUsage,
    success: HeldSuccess,
}

/// The derived state of one workspace.
///
/// Its serde form (see [`crate::snapshot`]) holds the facts only: the settings are the
/// reader's, and the caches and [`Model::take_touched`]'s bookkeeping start empty.
#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    #[serde(skip)]
    settings: EngineSettings,
    ids: IdentityGraph,
    /// By root node of the identity graph.
    components: HashMap<usize, Component>,
    /// E-mail -> the nodes it was seen on. Never merges people.
    emails: HashMap<Email, BTreeSet<usize>>,
    /// Account -> the nodes linked to it by `group` or `context.groupId`.
    account_links: BTreeMap<AccountId, BTreeSet<usize>>,
    /// Track event names, numbered for [`Component::firsts`].
    event_names: Interner,
    /// Every account id seen anywhere.
    accounts: BTreeSet<AccountId>,
    /// Accounts named by, or whose facts were changed by, entries applied since the last
    /// [`Model::take_touched`]: bookkeeping
    /// for whoever keeps per-account state current, not derived state.
    #[serde(skip)]
    touched: BTreeSet<AccountId>,
    /// Offline rows keyed by time and content, so a row applied twice is kept once.
    offline: BTreeMap<EventKey, TouchpointRow>,
    ledger: Ledger,
    profiles: Profiles,
    usage: UsageStore,
    success: SuccessStore,
    /// The success facts of every account some identity's held facts count for, its own
    /// merged in; computed on demand and dropped by any change.
    #[serde(skip)]
    merged_success: OnceLock<BTreeMap<AccountId, AccountSuccess>>,
    /// The product events of every account some identity's held ones count for, its own merged
    /// in; computed on demand and dropped by any change.
    #[serde(skip)]
    merged_usage: OnceLock<BTreeMap<AccountId, Events>>,
    /// Every account's touchpoints, computed on demand and dropped by any change.
    #[serde(skip)]
    journeys: OnceLock<BTreeMap<AccountId, Vec<Touchpoint>>>,
    /// Every touchpoint and whose it is, likewise.
    #[serde(skip)]
    all_touchpoints: OnceLock<(Vec<Touchpoint>, Vec<Owner>)>,
    /// Unlinked visitors' touchpoints (see [`Model::visitor_journeys`]), likewise.
    #[serde(skip)]
    visitors: OnceLock<Vec<Vec<u32>>>,
    /// The latest instant any applied fact speaks of (see [`Model::data_end`]).
    data_end: Option<Timestamp>,
}

impl Model {
    pub fn new(settings: EngineSettings) -> Model {
        Model {
            settings,
            ids: IdentityGraph::default(),
            components: HashMap::new(),
            emails: HashMap::new(),
            account_links: BTreeMap::new(),
            event_names: Interner::default(),
            accounts: BTreeSet::new(),
            touched: BTreeSet::new(),
            offline: BTreeMap::new(),
            ledger: Ledger::default(),
            profiles: Profiles::default(),
            usage: UsageStore::default(),
            success: SuccessStore::default(),
            merged_success: OnceLock::new(),
            merged_usage: OnceLock::new(),
            journeys: OnceLock::new(),
            all_touchpoints: OnceLock::new(),
            visitors: OnceLock::new(),
            data_end: None,
        }
    }

    /// Takes the reader's settings and rebuilds the indexes a snapshot leaves out (see
    /// [`crate::snapshot::decode`], which has checked the settings are those it was taken with).
    pub(crate) fn restore(&mut self, settings: EngineSettings) {
        self.settings = settings;
        self.ids.reindex();
        self.event_names.reindex();
        self.usage.reindex();
    }

    /// The latest instant any applied entry states a fact at (an event, a subscription change,
    /// a deal, a spend row, a touchpoint, a webhook's receipt, an account's creation); none
    /// before any. Reports default to it rather than to the reader's now, so a store that
    /// stopped receiving data is not read as customers who stopped using the product.
    pub fn data_end(&self) -> Option<Timestamp> {
        self.data_end
    }

    /// MRR changes, deals, invoices and spend.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Tickets, survey answers, account-team touches and advocacy per account.
    pub fn success(&self) -> Success<'_> {
        let merged = self.merged_success.get_or_init(|| {
            let mut merged: BTreeMap<AccountId, AccountSuccess> = BTreeMap::new();
            for (&root, component) in &self.components {
                let Some(held) = component.held.as_ref() else {
                    continue;
                };
                if held.success.is_empty() {
                    continue;
                }
                let person = self.ids.person_of_root(root);
                let person = person.as_ref().map(PersonId::as_str);
                for account in &component.accounts {
                    let facts = merged
                        .entry(account.clone())
                        .or_insert_with(|| self.success.get(account).cloned().unwrap_or_default());
                    for theirs in held.success.of(account) {
                        facts.absorb(theirs, person);
                    }
                }
            }
            merged
        });
        Success::new(&self.success, merged)
    }

    /// Product usage and activation per account.
    pub fn usage(&self) -> Usage<'_> {
        Usage::new(&self.usage, self)
    }

    /// Every account some identity holds product events for that count for it: its own
    /// events and those held ones merged (see [`UsageStore::merge_held`]); computed on demand
    /// and kept until the next change, since usage is read for every account on every day of
    /// a daily evaluation.
    pub(crate) fn merged_usage(&self) -> &BTreeMap<AccountId, Events> {
        self.merged_usage.get_or_init(|| {
            let mut merged = BTreeMap::new();
            for (&root, component) in &self.components {
                let Some(held) = component.held.as_ref() else {
                    continue;
                };
                if held.usage.is_empty() {
                    continue;
                }
                let person = self.ids.person_of_root(root);
                let person = person.as_ref().map(PersonId::as_str);
                for account in &component.accounts {
                    for events in held.usage.of(account) {
                        self.usage.merge_held(&mut merged, account, events, person);
                    }
                }
            }
            for events in merged.values_mut() {
                events.settle();
            }
            merged
        })
    }

    /// Account attributes (accounts.csv and group traits).
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// Every account id seen anywhere, in order.
    pub fn account_ids(&self) -> impl Iterator<Item = &AccountId> {
        self.accounts.iter()
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The accounts named by the entries applied since the last call, and those whose usage or
    /// success facts an identity's activity or links changed (their usage, success facts,
    /// ledger or profile may have changed), and forgets them.
    pub fn take_touched(&mut self) -> BTreeSet<AccountId> {
        std::mem::take(&mut self.touched)
    }

    fn see_account(&mut self, account: &AccountId) {
        if !self.accounts.contains(account) {
            self.accounts.insert(account.clone());
        }
        if !self.touched.contains(account) {
            self.touched.insert(account.clone());
        }
    }

    /// Applies one entry of the log.
    pub fn apply(&mut self, entry: &StoredEntry) {
        self.journeys.take();
        self.merged_success.take();
        self.merged_usage.take();
        self.all_touchpoints.take();
        self.visitors.take();
        let seq = entry.seq;
        // An account row without `created_at` states no instant (its receipt is not a fact).
        let stated = match &entry.entry.body {
            EntryBody::Account(r) => r.created_at,
            _ => Some(entry.entry.occurred_at()),
        };
        self.data_end = self.data_end.max(stated);
        match &entry.entry.body {
            EntryBody::Segment(m) => self.apply_message(seq, m),
            EntryBody::Touchpoint(row) => self.apply_offline(row),
            EntryBody::Account(r) => {
                self.see_account(&r.account_id);
                self.profiles.add_row(seq, r);
            }
            EntryBody::Subscription(r) => {
                self.see_account(&r.account_id);
                let change = Change {
                    at: r.effective_at,
                    stream: Stream::Csv,
                    mrr: r.mrr,
                    plan: r.plan.clone(),
                    seats: r.seats,
                };
                self.ledger.add_change(&r.account_id, seq, change);
            }
            EntryBody::Deal(r) => {
                self.see_account(&r.account_id);
                self.ledger.add_deal(seq, r);
            }
            EntryBody::Spend(r) => self.ledger.add_spend(seq, r),
            EntryBody::Webhook(w) if w.provider == stripe::PROVIDER => self.apply_stripe(seq, w),
            EntryBody::Webhook(_) => {}
        }
    }

    /// A Stripe event: a subscription change is a change of that subscription's MRR stream;
    /// an invoice is cash or a failed payment. An event the engine cannot interpret stays in
    /// the log (nothing is lost) and is listed by [`Ledger::uninterpreted`].
    fn apply_stripe(&mut self, seq: i64, event: &tenure_core::WebhookEvent) {
        let interpreted = stripe::subscription_change(event).and_then(|change| {
            if let Some(c) = change {
                self.see_account(&c.account_id);
                let change = Change {
                    at: c.at,
                    stream: Stream::Stripe(c.subscription_id),
                    mrr: c.mrr,
                    plan: c.plan,
                    seats: c.seats,
                };
                self.ledger.add_change(&c.account_id, seq, change);
            }
            if let Some(f) = stripe::invoice_fact(event)? {
                self.see_account(&f.account_id);
                let invoice = Invoice {
                    at: f.at,
                    invoice_id: f.invoice_id,
                    amount: f.amount,
                    paid: f.paid,
                };
                self.ledger.add_invoice(&f.account_id, invoice);
            }
            Ok(())
        });
        if let Err(e) = interpreted {
            self.ledger
                .add_uninterpreted(&event.event_id, e.to_string());
        }
    }

    fn apply_message(&mut self, seq: i64, m: &SegmentMessage) {
        if let Some(u) = &m.user_id {
            self.usage.see_user(u.as_str());
        }
        let user = m.user_id.clone().map(|u| self.ids.see(IdKey::User(u)));
        let anon = m.anonymous_id.clone().map(|a| self.ids.see(IdKey::Anon(a)));
        if let (Some(u), Some(a)) = (user, anon) {
            self.union(u, a);
        }
        let main = user.or(anon);
        if m.kind == MessageType::Alias {
            if let (Some(main), Some(prev)) = (main, m.previous_id.as_deref()) {
                // previousId may be an anonymous id or an older user id: link both readings.
                if let Ok(u) = UserId::parse(prev) {
                    let ghost = self.ids.node(IdKey::User(u));
                    self.union(main, ghost);
                }
                if let Ok(a) = AnonymousId::parse(prev) {
                    let ghost = self.ids.node(IdKey::Anon(a));
                    self.union(main, ghost);
                }
            }
        }
        let account = m.account();
        if let Some(account) = &account {
            self.see_account(account);
            if m.kind == MessageType::Group {
                self.profiles.add_traits(seq, account, &m.traits);
            }
        }
        if let (MessageType::Track, Some(event)) = (m.kind, m.event.as_deref()) {
            self.record_track(m, event, account.as_ref(), main);
        }
        let Some(main) = main else { return };
        if let Some(email) = m.email() {
            self.emails.entry(email).or_default().insert(main);
        }
        if let Some(account) = &account {
            self.account_links
                .entry(account.clone())
                .or_default()
                .insert(main);
            // Its held facts now count for the account too (touched above, as it is named).
            self.component_mut(main).link(account.clone());
        }
        if let (MessageType::Track, Some(event)) = (m.kind, m.event.as_deref()) {
            let id = self.event_names.id(event);
            self.component_mut(main).saw(id, m.timestamp);
        }
        match m.kind {
            MessageType::Page => {
                let facts = page_facts(m, &self.settings.touchpoints);
                let excluded = facts.host.as_deref().is_some_and(|host| {
                    self.settings
                        .touchpoints
                        .exclude_hosts
                        .iter()
                        .any(|x| marketing::within(host, x))
                });
                if excluded {
                    return;
                }
                let view = PageView {
                    at: m.timestamp,
                    message_id: m.message_id.clone(),
                    anonymous_id: m.anonymous_id.clone(),
                    account,
                    facts,
                };
                let comp = self.component_mut(main);
                comp.pages.insert((m.timestamp, m.message_id.clone()), view);
                comp.cache.take();
            }
            MessageType::Track if marketing::has_campaign(m) => {
                let facts = page_facts(m, &self.settings.touchpoints);
                let touchpoint = online_touchpoint(
                    m.timestamp,
                    m.anonymous_id.clone(),
                    account,
                    &facts,
                    TouchpointOrigin::CampaignTrack,
                    &self.settings.channels,
                );
                let keyed = Keyed {
                    tiebreak: m.message_id.clone(),
                    touchpoint,
                };
                let comp = self.component_mut(main);
                comp.tracks
                    .insert((m.timestamp, m.message_id.clone()), keyed);
                comp.cache.take();
            }
            _ => {}
        }
    }

    /// A track as product usage or a success fact (SPEC §2.1): the account's when the message
    /// names it and a user; otherwise it waits with its sender's identity and counts for every
    /// account the identity is linked to (or, naming one, that account), whenever the links
    /// arrive, so that the result does not depend on their order.
    fn record_track(
        &mut self,
        m: &SegmentMessage,
        event: &str,
        account: Option<&AccountId>,
        main: Option<usize>,
    ) {
        let user = m.user_id.as_ref().map(UserId::as_str);
        let usage = self.usage.event(user, event, m.timestamp);
        let success = is_success_event(event);
        if usage.is_none() && !success {
            return;
        }
        let (at, key) = (m.timestamp, m.message_id.as_str());
        if let (Some(account), Some(_)) = (account, user) {
            if let Some(e) = usage {
                self.usage.add(account, e);
            }
            if success {
                let facts = self.success.facts_of(account);
                facts.track(user, event, &m.properties, at, key);
            }
            return;
        }
        // Ingest refuses a message with neither id, so every message has a sender.
        let Some(main) = main else { return };
        let held = self.component_mut(main).held.get_or_insert_default();
        if let Some(e) = usage {
            held.usage.insert(account, e);
        }
        if success {
            let facts = held.success.facts_of(account);
            facts.track(user, event, &m.properties, at, key);
        }
        let root = self.ids.find(main);
        self.see_linked(root);
    }

    /// Marks the accounts linked to a component as touched.
    fn see_linked(&mut self, root: usize) {
        let Some(comp) = self.components.get(&root) else {
            return;
        };
        for account in &comp.accounts {
            if !self.touched.contains(account) {
                self.touched.insert(account.clone());
            }
        }
    }

    fn apply_offline(&mut self, row: &TouchpointRow) {
        // The ids exist (they are people and visitors), but a row links nothing.
        if let Some(u) = &row.user_id {
            self.usage.see_user(u.as_str());
            self.ids.see(IdKey::User(u.clone()));
        }
        if let Some(a) = &row.anonymous_id {
            self.ids.see(IdKey::Anon(a.clone()));
        }
        if let Some(account) = &row.account_id {
            self.see_account(account);
        }
        let content = serde_json::to_string(row).expect("rows serialize");
        self.offline.insert((row.occurred_at, content), row.clone());
    }

    fn component_mut(&mut self, node: usize) -> &mut Component {
        let root = self.ids.find(node);
        self.components.entry(root).or_default()
    }

    fn union(&mut self, a: usize, b: usize) {
        if let Some(merge) = self.ids.union(a, b) {
            if let Some(absorbed) = self.components.remove(&merge.absorbed) {
                let kept = self.components.entry(merge.kept).or_default();
                kept.absorb(absorbed);
                if kept.holds_facts() {
                    // Held facts of either side may now count for the other side's accounts.
                    self.see_linked(merge.kept);
                }
            }
        }
    }

    pub fn person_of_user(&self, user: &UserId) -> Option<PersonId> {
        let node = self.ids.lookup(&IdKey::User(user.clone()))?;
        self.ids.person_of(node)
    }

    /// Whose an offline row is: the identity of its user id, else of its anonymous id if that
    /// is linked to a person, else of its e-mail (the smallest person who gave it, else the
    /// visitor with the smallest anonymous id who did), else of its anonymous id; a row whose
    /// e-mail matches no one and that has no id is a prospect of its own until a message gives
    /// that e-mail (SPEC §2.2).
    fn offline_owner(&self, row: &TouchpointRow) -> Owner {
        if let Some(node) = row
            .user_id
            .clone()
            .and_then(|u| self.ids.lookup(&IdKey::User(u)))
        {
            return Owner::Identity(self.ids.root(node));
        }
        let visitor = row
            .anonymous_id
            .clone()
            .and_then(|a| self.ids.lookup(&IdKey::Anon(a)))
            .map(|node| self.ids.root(node));
        // An anonymous id linked to a person names them; one that is not (a visitor not yet
        // identified, or an id only this file gave) says less than an e-mail someone gave.
        if let Some(root) = visitor.filter(|r| self.ids.person_of_root(*r).is_some()) {
            return Owner::Identity(root);
        }
        let by_email = row.email.as_ref().and_then(|email| {
            self.emails
                .get(email)
                .into_iter()
                .flatten()
                .map(|&node| self.ids.root(node))
                .filter_map(|root| Some((self.who(root)?, root)))
                .min()
        });
        match (by_email, visitor, &row.email) {
            (Some((_, root)), _, _) | (None, Some(root), _) => Owner::Identity(root),
            (None, None, Some(email)) => Owner::Prospect(email.clone()),
            (None, None, None) => Owner::Nobody,
        }
    }

    /// Who an identity component is, by what it holds rather than by its root's number (which
    /// depends on the order of links): its person, else its smallest anonymous id. Persons sort
    /// first.
    fn who(&self, root: usize) -> Option<Who> {
        match self.ids.person_of_root(root) {
            Some(person) => Some(Who::Person(person)),
            None => self.ids.anonymous_of_root(root).map(Who::Anonymous),
        }
    }

    fn offline_keyed(&self, key: &EventKey, row: &TouchpointRow, owner: &Owner) -> Keyed {
        let (person, anonymous_id, prospect) = match owner {
            Owner::Identity(root) => match self.who(*root) {
                Some(Who::Person(p)) => (Some(p), row.anonymous_id.clone(), None),
                // A visitor found by the e-mail they gave: the row is theirs.
                Some(Who::Anonymous(a)) => (None, row.anonymous_id.clone().or(Some(a)), None),
                _ => (None, row.anonymous_id.clone(), None),
            },
            Owner::Prospect(email) => (None, None, Some(email.clone())),
            Owner::Nobody => (None, None, None),
        };
        Keyed {
            tiebreak: key.1.clone(),
            touchpoint: Touchpoint {
                occurred_at: row.occurred_at,
                person,
                anonymous_id,
                prospect,
                account: row.account_id.clone(),
                channel: self
                    .settings
                    .channels
                    .offline_channel(row.channel.as_deref(), row.kind.as_deref()),
                source: row.source.clone(),
                medium: row.medium.clone(),
                campaign: row.campaign.clone(),
                content: row.content.clone(),
                term: row.term.clone(),
                click_id: None,
                referrer_host: None,
                landing_url: None,
                origin: TouchpointOrigin::Offline,
            },
        }
    }

    fn component_keyed(&self, root: usize, out: &mut Vec<Keyed>) {
        if let Some(comp) = self.components.get(&root) {
            let person = self.ids.person_of_root(root);
            out.extend(comp.touchpoints(&self.settings).iter().map(|k| {
                let mut k = k.clone();
                k.touchpoint.person = person.clone();
                k
            }));
        }
    }

    fn sorted(mut keyed: Vec<Keyed>) -> Vec<Touchpoint> {
        keyed.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        keyed.into_iter().map(|k| k.touchpoint).collect()
    }

    /// Every touchpoint, ordered by time, then origin, then message id (or row content), with
    /// whose each is; computed on demand and kept until the next change.
    fn touchpoints_and_owners(&self) -> &(Vec<Touchpoint>, Vec<Owner>) {
        self.all_touchpoints.get_or_init(|| {
            let mut keyed: Vec<(Keyed, Owner)> = Vec::new();
            for &root in self.components.keys() {
                let mut own = Vec::new();
                self.component_keyed(root, &mut own);
                keyed.extend(own.into_iter().map(|k| (k, Owner::Identity(root))));
            }
            for (key, row) in &self.offline {
                let owner = self.offline_owner(row);
                keyed.push((self.offline_keyed(key, row, &owner), owner));
            }
            keyed.sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
            // The owners first, then the touchpoints collected in the keyed list's place (an
            // unzip would hold a second list of them at the peak: 10 MB more for 61,000).
            let owners = keyed
                .iter_mut()
                .map(|(_, owner)| std::mem::replace(owner, Owner::Nobody))
                .collect();
            let touchpoints = keyed.into_iter().map(|(k, _)| k.touchpoint).collect();
            (touchpoints, owners)
        })
    }

    /// Every touchpoint, ordered by time, then origin, then message id (or row content);
    /// computed on demand and kept until the next change.
    pub fn touchpoints(&self) -> &[Touchpoint] {
        &self.touchpoints_and_owners().0
    }

    /// The accounts linked to the identity of `root`, sorted.
    fn accounts_of_root(&self, root: usize) -> &[AccountId] {
        self.components
            .get(&root)
            .map_or(&[], |c| c.accounts.as_slice())
    }

    /// The roots of the identities linked to the account.
    fn roots_of(&self, account: &AccountId) -> HashSet<usize> {
        self.account_links
            .get(account)
            .into_iter()
            .flatten()
            .map(|&node| self.ids.root(node))
            .collect()
    }

    /// The touchpoints of everyone linked to the account, plus offline rows naming it, in
    /// time order.
    pub fn account_touchpoints(&self, account: &AccountId) -> Vec<Touchpoint> {
        let roots = self.roots_of(account);
        let mut keyed = Vec::new();
        for &root in &roots {
            self.component_keyed(root, &mut keyed);
        }
        for (key, row) in &self.offline {
            let owner = self.offline_owner(row);
            let linked = matches!(owner, Owner::Identity(r) if roots.contains(&r));
            if linked || row.account_id.as_ref() == Some(account) {
                keyed.push(self.offline_keyed(key, row, &owner));
            }
        }
        Self::sorted(keyed)
    }

    /// Every account's touchpoints (as [`Model::account_touchpoints`] gives them), computed in
    /// one pass and kept until the next change.
    pub fn account_journeys(&self) -> &BTreeMap<AccountId, Vec<Touchpoint>> {
        self.journeys.get_or_init(|| {
            let mut keyed: BTreeMap<AccountId, Vec<Keyed>> = BTreeMap::new();
            for (&root, component) in &self.components {
                if component.accounts.is_empty() {
                    continue;
                }
                let mut own = Vec::new();
                self.component_keyed(root, &mut own);
                for account in &component.accounts {
                    keyed
                        .entry(account.clone())
                        .or_default()
                        .extend(own.iter().cloned());
                }
            }
            for (key, row) in &self.offline {
                let owner = self.offline_owner(row);
                let mut targets: BTreeSet<&AccountId> = match owner {
                    Owner::Identity(root) => self.accounts_of_root(root).iter().collect(),
                    Owner::Prospect(_) | Owner::Nobody => BTreeSet::new(),
                };
                if let Some(account) = &row.account_id {
                    targets.insert(account);
                }
                for account in targets {
                    keyed
                        .entry(account.clone())
                        .or_default()
                        .push(self.offline_keyed(key, row, &owner));
                }
            }
            keyed
                .into_iter()
                .map(|(account, list)| (account, Self::sorted(list)))
                .collect()
        })
    }

    /// The journeys of people, anonymous visitors and prospects (offline rows whose e-mail
    /// matches no one, SPEC §2.2) linked to no account, as indices into
    /// [`Model::touchpoints`]: one list per identity (every id linked to it) or prospect, each
    /// in time order, the lists in order of person, then anonymous id, then prospect e-mail.
    /// Touchpoints naming an account are in that account's journey instead. Computed on demand
    /// and kept until the next change.
    ///
    /// Why here: grouping millions of touchpoints by who made them is the same work for every
    /// attribution report, so it is done once per change rather than once per report.
    pub fn visitor_journeys(&self) -> &[Vec<u32>] {
        self.visitors.get_or_init(|| {
            let (all, owners) = self.touchpoints_and_owners();
            let mut grouped: HashMap<&Owner, Vec<u32>> = HashMap::new();
            for (i, (t, owner)) in all.iter().zip(owners).enumerate() {
                let visitor = match owner {
                    Owner::Identity(root) => self.accounts_of_root(*root).is_empty(),
                    Owner::Prospect(_) => true,
                    Owner::Nobody => false,
                };
                if visitor && t.account.is_none() {
                    let index = u32::try_from(i).expect("fewer than 2^32 touchpoints");
                    grouped.entry(owner).or_default().push(index);
                }
            }
            // Every identity owning a touchpoint holds a seen id, so each list has a `Who`.
            let mut grouped: Vec<(Who, Vec<u32>)> = grouped
                .into_iter()
                .filter_map(|(owner, list)| {
                    let who = match owner {
                        Owner::Identity(root) => self.who(*root)?,
                        Owner::Prospect(email) => Who::Prospect(email.clone()),
                        Owner::Nobody => return None,
                    };
                    Some((who, list))
                })
                .collect();
            grouped.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            grouped.into_iter().map(|(_, list)| list).collect()
        })
    }

    /// The first time any of the account's people — everyone linked to it, with every id later
    /// linked to them — sent one of `events`, whether or not that message named the account:
    /// lead and opportunity creation (SPEC §3).
    pub fn first_event(&self, account: &AccountId, events: &[String]) -> Option<Timestamp> {
        let ids: Vec<u32> = events
            .iter()
            .filter_map(|e| self.event_names.get(e))
            .collect();
        self.roots_of(account)
            .iter()
            .filter_map(|root| self.components.get(root))
            .flat_map(|comp| ids.iter().filter_map(|id| comp.firsts.get(id)))
            .copied()
            .min()
    }

    pub fn summary(&self) -> Summary {
        Self::summarise(self, self.touchpoints())
    }

    fn summarise(&self, touchpoints: &[Touchpoint]) -> Summary {
        let mut by_channel = BTreeMap::new();
        for t in touchpoints {
            *by_channel.entry(t.channel.clone()).or_insert(0) += 1;
        }
        // A prospect (an offline row's e-mail matching no one) is a person of its own.
        let prospects: HashSet<&Email> = touchpoints
            .iter()
            .filter_map(|t| t.prospect.as_ref())
            .collect();
        Summary {
            accounts: self.accounts.len() as u64,
            persons: self.ids.persons() + prospects.len() as u64,
            anonymous_ids: self.ids.anonymous_ids(),
            touchpoints: touchpoints.len() as u64,
            touchpoints_by_channel: by_channel,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut groups: HashMap<usize, IdentitySnapshot> = HashMap::new();
        fn group<'g>(
            groups: &'g mut HashMap<usize, IdentitySnapshot>,
            ids: &IdentityGraph,
            root: usize,
        ) -> &'g mut IdentitySnapshot {
            groups.entry(root).or_insert_with(|| IdentitySnapshot {
                person: ids.person_of_root(root),
                user_ids: BTreeSet::new(),
                anonymous_ids: BTreeSet::new(),
                emails: BTreeSet::new(),
                accounts: BTreeSet::new(),
            })
        }
        for (node, key) in self.ids.seen_ids() {
            let g = group(&mut groups, &self.ids, self.ids.root(node));
            match key {
                IdKey::User(u) => {
                    g.user_ids.insert(u.clone());
                }
                IdKey::Anon(a) => {
                    g.anonymous_ids.insert(a.clone());
                }
            }
        }
        for (email, nodes) in &self.emails {
            for &node in nodes {
                group(&mut groups, &self.ids, self.ids.root(node))
                    .emails
                    .insert(email.clone());
            }
        }
        for (account, nodes) in &self.account_links {
            for &node in nodes {
                group(&mut groups, &self.ids, self.ids.root(node))
                    .accounts
                    .insert(account.clone());
            }
        }
        let mut identities: Vec<IdentitySnapshot> = groups.into_values().collect();
        identities.sort_by(|a, b| {
            (&a.person, &a.user_ids, &a.anonymous_ids).cmp(&(
                &b.person,
                &b.user_ids,
                &b.anonymous_ids,
            ))
        });
        let touchpoints = self.touchpoints().to_vec();
        let summary = self.summarise(&touchpoints);
        let visitors = self
            .visitor_journeys()
            .iter()
            .map(|list| {
                list.iter()
                    .map(|&i| touchpoints[i as usize].clone())
                    .collect()
            })
            .collect();
        Snapshot {
            identities,
            journeys: self.account_journeys().clone(),
            visitors,
            touchpoints,
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_can_be_shared_between_threads() {
        // The server keeps one model per workspace behind a lock read by many requests.
        fn shared<T: Send + Sync>() {}
        shared::<Model>();
    }
}
