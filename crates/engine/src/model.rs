//! The model: all derived state of one workspace, updated entry by entry.
//!
//! `apply` does only cheap, order-insensitive bookkeeping (amortised O(log n)): it links ids,
//! files a page view into its identity component's sorted map, and records what it changed
//! for the derived values read from the facts (touchpoints and journeys, merged usage and
//! success facts), which the next read brings up to date for what changed only
//! ([`kept::Kept`]). Sessions are cut lazily, per component, when touchpoints are asked for.
//! Because every derived figure is computed from sets (links, sorted page views, rows), the
//! model after any order or batching of the same entries is the same — replay equals live.

mod generations;
mod kept;
pub(crate) mod parts;
mod touches;

pub use generations::Generation;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tenure_core::{
    AccountId, AnonymousId, CompactString, Email, EntryBody, MessageType, SegmentMessage,
    StoredEntry, Timestamp, TouchpointRow, UserId,
};

use crate::channels::{ChannelSettings, SettingsError};
use crate::identity::{IdKey, IdentityGraph, PersonId};
use crate::index::{Number, Numbered};
use crate::ledger::{Change, Invoice, Ledger, Stream};
use crate::marketing::{self, page_facts, Marketing, PageFacts};
use crate::profiles::{exposure_of, Exposures, Profiles, EXPERIMENT_VIEWED};
use crate::sessions::{
    online_touchpoint, sessions, Groupings, Keyed, Landing, Page, PageFactsTable, PageView,
    TouchField, Touchpoint, TouchpointOrigin, TouchpointSettings,
};
use crate::sorted::Sorted;
use crate::success::{is_success_event, AccountSuccess, HeldSuccess, Success, SuccessStore};
use crate::text::Text;
use crate::usage::{ActivationSettings, Events, HeldUsage, Usage, UsageStore};
use generations::Generations;
use kept::Kept;
use tenure_ingest::stripe;
pub use touches::TouchGroup;
use touches::{TouchChanges, Touches};

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
    /// In order of time, then origin, then message id (or row content).
    pub touchpoints: Vec<Touchpoint>,
    /// Every account's journey, as [`Model::account_journeys`] gives them.
    pub journeys: BTreeMap<AccountId, Vec<Touchpoint>>,
    /// The journeys of those linked to no account, as [`Model::visitor_journeys`] gives them.
    pub visitors: Vec<Vec<Touchpoint>>,
    pub summary: Summary,
}

/// A message's time and id (an offline row's time and content): a message id is short enough
/// to be kept in place, and millions of page views are keyed by one.
type EventKey = (Timestamp, CompactString);

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
pub(crate) struct Component {
    pages: Sorted<EventKey, PageView>,
    tracks: Sorted<EventKey, Keyed>,
    /// Track event name (numbered by [`Model::event_names`]) -> the first time anyone of the
    /// component sent it, whether or not the message named an account: lead and opportunity
    /// creation are the first such event of any of an account's people (SPEC §3), however
    /// late they were grouped with it.
    firsts: Sorted<u32, Timestamp>,
    /// Product usage and success facts that named no account, or no user: they count for the
    /// component's accounts (SPEC §2.1), read through [`Model::usage`] and [`Model::success`].
    /// Boxed, and only for identities that sent such facts: most identities are visitors.
    held: Option<Box<Held>>,
    /// The accounts linked to the component, sorted: whose facts its held ones change.
    accounts: Vec<AccountId>,
}

impl Component {
    /// Sessions and campaign tracks, without the person (the model's [`Touches`] keeps them).
    fn touchpoints(&self, model: &Model) -> Vec<Keyed> {
        let pages = self.pages.iter().map(|((at, message_id), view)| Page {
            at: *at,
            message_id,
            anonymous_id: view
                .anonymous
                .and_then(|node| model.ids.anonymous_at(node.position())),
            account: view
                .account
                .map(|a| model.account_numbers.value(a.position() as u32)),
            landing: model.page_facts.get(view.facts),
        });
        let mut out = sessions(pages, &model.settings.touchpoints);
        out.extend(self.tracks.values().cloned());
        out
    }

    /// Moves `other` in, inserting the smaller map into the larger one.
    fn absorb(&mut self, mut other: Component) {
        self.pages.absorb(std::mem::take(&mut other.pages));
        self.tracks.absorb(std::mem::take(&mut other.tracks));
        for &(event, at) in other.firsts.iter() {
            self.saw(event, at);
        }
        match (&mut self.held, other.held) {
            (Some(mine), Some(theirs)) => {
                mine.usage.absorb(theirs.usage);
                mine.success.absorb(theirs.success);
                mine.exposures.absorb(theirs.exposures);
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        for account in other.accounts {
            self.link(account);
        }
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
        let first = self.firsts.get_or_insert_with(event, || at);
        *first = (*first).min(at);
    }
}

/// The facts an identity holds for its accounts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Held {
    usage: HeldUsage,
    success: HeldSuccess,
    /// `Experiment Viewed` tracks that named no account: they count for every account the
    /// identity is linked to.
    exposures: Exposures,
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
    emails: HashMap<Email, Sorted<usize, ()>>,
    /// Account -> the nodes linked to it by `group` or `context.groupId`.
    account_links: BTreeMap<AccountId, Sorted<usize, ()>>,
    /// The accounts page views name, numbered for [`PageView::account`].
    account_numbers: Numbered<AccountId>,
    /// Track event names, numbered for [`Component::firsts`].
    event_names: Numbered<String>,
    /// Every account id seen anywhere.
    accounts: BTreeSet<AccountId>,
    /// Accounts named by, or whose facts were changed by, entries applied since the last
    /// [`Model::take_touched`]: bookkeeping
    /// for whoever keeps per-account state current, not derived state.
    #[serde(skip)]
    touched: BTreeSet<AccountId>,
    /// How often each account's facts may have changed ([`Model::generation`]): bookkeeping
    /// like `touched`, and a restored model counts anew under a name of its own.
    #[serde(skip)]
    generations: Generations,
    /// What page views say about how the visitor came, numbered for [`PageView::facts`].
    page_facts: PageFactsTable,
    /// Offline rows keyed by time and content, so a row applied twice is kept once.
    offline: BTreeMap<EventKey, TouchpointRow>,
    ledger: Ledger,
    profiles: Profiles,
    usage: UsageStore,
    success: SuccessStore,
    /// The success facts of every account some identity's held facts count for, its own
    /// merged in; computed on demand and kept up to date for the accounts whose facts change.
    #[serde(skip)]
    merged_success: Kept<BTreeMap<AccountId, AccountSuccess>, BTreeSet<AccountId>>,
    /// The product events of every account some identity's held ones count for, its own merged
    /// in; likewise.
    #[serde(skip)]
    merged_usage: Kept<BTreeMap<AccountId, Events>, BTreeSet<AccountId>>,
    /// Every touchpoint by whose it is, and the account and visitor journeys; computed on
    /// demand and kept up to date for the identities, rows and accounts that change.
    #[serde(skip)]
    touches: Kept<Touches, TouchChanges>,
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
            account_numbers: Numbered::default(),
            event_names: Numbered::default(),
            accounts: BTreeSet::new(),
            touched: BTreeSet::new(),
            generations: Generations::default(),
            page_facts: PageFactsTable::default(),
            offline: BTreeMap::new(),
            ledger: Ledger::default(),
            profiles: Profiles::default(),
            usage: UsageStore::default(),
            success: SuccessStore::default(),
            merged_success: Kept::default(),
            merged_usage: Kept::default(),
            touches: Kept::default(),
            data_end: None,
        }
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
        let build = || {
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
        };
        let update = |merged: &mut BTreeMap<AccountId, AccountSuccess>, changed| {
            for account in changed {
                match self.merged_success_of(&account) {
                    Some(facts) => merged.insert(account, facts),
                    None => merged.remove(&account),
                };
            }
        };
        Success::new(&self.success, self.merged_success.get(build, update))
    }

    /// One account's entry of [`Model::success`]'s merged facts: its own facts with those of
    /// every identity linked to it that holds any (none if no such identity).
    fn merged_success_of(&self, account: &AccountId) -> Option<AccountSuccess> {
        let mut merged: Option<AccountSuccess> = None;
        for root in self.roots_of(account) {
            let Some(held) = self.components.get(&root).and_then(|c| c.held.as_ref()) else {
                continue;
            };
            if held.success.is_empty() {
                continue;
            }
            let facts = merged
                .get_or_insert_with(|| self.success.get(account).cloned().unwrap_or_default());
            let person = self.ids.person_of_root(root);
            for theirs in held.success.of(account) {
                facts.absorb(theirs, person.as_ref().map(PersonId::as_str));
            }
        }
        merged
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
        let build = || {
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
        };
        let update = |merged: &mut BTreeMap<AccountId, Events>, changed| {
            for account in changed {
                match self.merged_usage_of(&account) {
                    Some(events) => merged.insert(account, events),
                    None => merged.remove(&account),
                };
            }
        };
        self.merged_usage.get(build, update)
    }

    /// One account's entry of [`Model::merged_usage`]: its own events with the held ones of
    /// every identity linked to it (none if no held event is kept).
    fn merged_usage_of(&self, account: &AccountId) -> Option<Events> {
        let mut merged = BTreeMap::new();
        for root in self.roots_of(account) {
            let Some(held) = self.components.get(&root).and_then(|c| c.held.as_ref()) else {
                continue;
            };
            if held.usage.is_empty() {
                continue;
            }
            let person = self.ids.person_of_root(root);
            for events in held.usage.of(account) {
                self.usage.merge_held(
                    &mut merged,
                    account,
                    events,
                    person.as_ref().map(PersonId::as_str),
                );
            }
        }
        let mut events = merged.remove(account)?;
        events.settle();
        Some(events)
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
        self.generations.bump(account);
    }

    /// Which state of the account's facts (ledger, usage, success facts, profile) the model
    /// holds: it changes whenever an entry may have changed them, exactly when the account is
    /// [touched](Model::take_touched), so a value derived from them and kept with the
    /// generation it was derived at is current while the generation is.
    pub fn generation(&self, account: &AccountId) -> Generation {
        self.generations.of(account)
    }

    /// Applies one entry of the log.
    pub fn apply(&mut self, entry: &StoredEntry) {
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
        let user = m.user_id.clone().map(|u| self.see_id(IdKey::User(u)));
        let anon = m.anonymous_id.clone().map(|a| self.see_id(IdKey::Anon(a)));
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
            if event == EXPERIMENT_VIEWED {
                self.record_exposure(m, account.as_ref(), main);
            }
            self.record_track(m, event, account.as_ref(), main);
        }
        let Some(main) = main else { return };
        if let Some(email) = m.email() {
            if self.emails.entry(email).or_default().insert(main, || ()) {
                // An offline row giving that e-mail may be someone else's now.
                if let Some(changes) = self.touches.changes() {
                    changes.owners = true;
                }
            }
        }
        if let Some(account) = &account {
            let linked = self
                .account_links
                .entry(account.clone())
                .or_default()
                .insert(main, || ());
            if linked {
                // Its held facts now count for the account too (touched above, as it is
                // named), and its touchpoints are in the account's journey.
                self.component_mut(main).link(account.clone());
                self.facts_changed(account);
                self.touches_changed_at(main);
            }
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
                let facts = self.page_facts.id(facts, &self.settings.channels);
                let key = (m.timestamp, CompactString::new(&m.message_id));
                let account = account.map(|a| Number::of(self.account_numbers.id(&a) as usize));
                let comp = self.component_mut(main);
                let view = || PageView {
                    anonymous: anon.map(Number::of),
                    account,
                    facts,
                };
                if comp.pages.insert(key, view) {
                    self.touches_changed_at(main);
                }
            }
            MessageType::Track if marketing::has_campaign(m) => {
                // Through the table, so that the track shares its facts' text.
                let facts = page_facts(m, &self.settings.touchpoints);
                let id = self.page_facts.id(facts, &self.settings.channels);
                let touchpoint = online_touchpoint(
                    m.timestamp,
                    m.anonymous_id.clone(),
                    account,
                    self.page_facts.get(id),
                    TouchpointOrigin::CampaignTrack,
                );
                let keyed = Keyed {
                    tiebreak: CompactString::new(&m.message_id),
                    touchpoint,
                };
                let key = (m.timestamp, CompactString::new(&m.message_id));
                let comp = self.component_mut(main);
                if comp.tracks.insert(key, || keyed) {
                    self.touches_changed_at(main);
                }
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
            self.facts_changed(account);
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

    /// An `Experiment Viewed` track: the account's when it names one; otherwise it waits with
    /// its sender's identity and counts for every account the identity is linked to, whenever
    /// linked (as product usage does).
    fn record_exposure(
        &mut self,
        m: &SegmentMessage,
        account: Option<&AccountId>,
        main: Option<usize>,
    ) {
        let Some((experiment, variant)) = exposure_of(&m.properties) else {
            return;
        };
        match (account, main) {
            (Some(account), _) => {
                self.profiles
                    .add_exposure(account, &experiment, &variant, m.timestamp)
            }
            (None, Some(main)) => self
                .component_mut(main)
                .held
                .get_or_insert_default()
                .exposures
                .exposed(&experiment, &variant, m.timestamp.millis()),
            // Ingest refuses a message with neither id.
            (None, None) => {}
        }
    }

    /// The variant of `experiment` the account was first shown, and when: by an `Experiment
    /// Viewed` track naming it, or one naming no account sent by someone linked to it.
    pub fn exposure(&self, account: &AccountId, experiment: &str) -> Option<(Timestamp, &str)> {
        let own = self
            .profiles
            .get(account)
            .and_then(|p| p.exposure(experiment));
        let held = self.roots_of(account).into_iter().filter_map(|root| {
            let held = self.components.get(&root)?.held.as_ref()?;
            held.exposures.get(experiment)
        });
        own.into_iter()
            .chain(held)
            .min()
            .map(|(at, variant)| (Timestamp::from_millis(at), variant))
    }

    /// Whether some account was shown a variant of `experiment` ([`Model::exposure`]).
    pub fn has_experiment(&self, experiment: &str) -> bool {
        self.profiles.has_experiment(experiment)
            || self.components.values().any(|c| {
                !c.accounts.is_empty()
                    && c.held
                        .as_ref()
                        .is_some_and(|h| h.exposures.get(experiment).is_some())
            })
    }

    /// Marks the accounts linked to a component as touched, their facts as changed.
    fn see_linked(&mut self, root: usize) {
        let Some(comp) = self.components.get(&root) else {
            return;
        };
        let mut usage = self.merged_usage.changes();
        let mut success = self.merged_success.changes();
        for account in &comp.accounts {
            if !self.touched.contains(account) {
                self.touched.insert(account.clone());
            }
            self.generations.bump(account);
            for changed in [&mut usage, &mut success].into_iter().flatten() {
                changed.insert(account.clone());
            }
        }
    }

    /// Records that the account's merged usage and success facts may have changed.
    fn facts_changed(&mut self, account: &AccountId) {
        let usage = self.merged_usage.changes();
        let success = self.merged_success.changes();
        for changed in [usage, success].into_iter().flatten() {
            if !changed.contains(account) {
                changed.insert(account.clone());
            }
        }
    }

    /// Records that the touchpoints, person, name or accounts of `node`'s identity may have
    /// changed.
    fn touches_changed_at(&mut self, node: usize) {
        if let Some(changes) = self.touches.changes() {
            changes.nodes.insert(node);
        }
    }

    /// An id seen in its own role. The first time, it may be its identity's new person or
    /// smallest anonymous id, which names its touchpoints, may own offline rows, and reads
    /// held facts as its person's.
    fn see_id(&mut self, key: IdKey) -> usize {
        let new = self.ids.lookup(&key).is_none_or(|n| !self.ids.is_seen(n));
        let node = self.ids.see(key);
        if new {
            if let Some(changes) = self.touches.changes() {
                changes.nodes.insert(node);
                changes.owners = true;
            }
            let root = self.ids.find(node);
            if self
                .components
                .get(&root)
                .is_some_and(Component::holds_facts)
            {
                self.see_linked(root);
            }
        }
        node
    }

    fn apply_offline(&mut self, row: &TouchpointRow) {
        // The ids exist (they are people and visitors), but a row links nothing.
        if let Some(u) = &row.user_id {
            self.usage.see_user(u.as_str());
            self.see_id(IdKey::User(u.clone()));
        }
        if let Some(a) = &row.anonymous_id {
            self.see_id(IdKey::Anon(a.clone()));
        }
        if let Some(account) = &row.account_id {
            self.see_account(account);
        }
        let content = serde_json::to_string(row).expect("rows serialize");
        let key = (row.occurred_at, CompactString::from(content));
        if !self.offline.contains_key(&key) {
            if let Some(changes) = self.touches.changes() {
                changes.rows.push(key.clone());
            }
            self.offline.insert(key, row.clone());
        }
    }

    fn component_mut(&mut self, node: usize) -> &mut Component {
        let root = self.ids.find(node);
        self.components.entry(root).or_default()
    }

    fn union(&mut self, a: usize, b: usize) {
        if let Some(merge) = self.ids.union(a, b) {
            if let Some(changes) = self.touches.changes() {
                changes.nodes.extend([merge.kept, merge.absorbed]);
                changes.owners = true;
            }
            if let Some(absorbed) = self.components.remove(&merge.absorbed) {
                self.components
                    .entry(merge.kept)
                    .or_default()
                    .absorb(absorbed);
            }
            if self
                .components
                .get(&merge.kept)
                .is_some_and(Component::holds_facts)
            {
                // Held facts of either side may now count for the other side's accounts, and
                // be read as another person's.
                self.see_linked(merge.kept);
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
                .flat_map(Sorted::keys)
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
                person,
                anonymous_id,
                prospect,
                account: row.account_id.clone(),
                ..Touchpoint::new(
                    row.occurred_at,
                    self.offline_landing(row),
                    TouchpointOrigin::Offline,
                )
            },
        }
    }

    /// How an offline row's touch came: the channel its `channel` or `kind` names, and its
    /// campaign fields.
    fn offline_landing(&self, row: &TouchpointRow) -> Landing {
        let text = |t: &Option<String>| t.as_deref().map(Text::from);
        let channels = &self.settings.channels;
        let channel = channels.offline_channel(row.channel.as_deref(), row.kind.as_deref());
        Landing {
            groupings: Arc::new(Groupings {
                channel: Text::from(channel),
                source: text(&row.source),
                medium: text(&row.medium),
                campaign: text(&row.campaign),
                content: text(&row.content),
            }),
            facts: Arc::new(PageFacts {
                url: None,
                host: None,
                marketing: Marketing {
                    term: text(&row.term),
                    ..Marketing::default()
                },
            }),
        }
    }

    /// Every touchpoint by whose it is, and the journeys: brought up to date with what
    /// changed since the last read.
    fn touches(&self) -> &Touches {
        self.touches.get(
            || Touches::build(self),
            |touches, changes| touches.update(self, changes),
        )
    }

    /// Every touchpoint, in no particular order (sort by `occurred_at` where order matters).
    pub fn touchpoints(&self) -> impl Iterator<Item = &Touchpoint> {
        self.touches().keyed().map(|k| &k.touchpoint)
    }

    /// Every touchpoint counted by its value of `field` ("(none)" for those without one): one
    /// entry per value, in no particular order. Kept as touchpoints change, so that reading it
    /// does not walk every touchpoint.
    pub fn touch_groups(&self, field: TouchField) -> impl Iterator<Item = TouchGroup<'_>> {
        self.touches().tally(field).groups()
    }

    /// The accounts a Segment message is about, as the model stands: the account it names
    /// (`context.groupId` or a group call's id) and those linked to its sender's identity.
    /// Sorted, each once.
    pub fn accounts_of_message(&self, m: &SegmentMessage) -> Vec<AccountId> {
        let mut out: Vec<AccountId> = m.account().into_iter().collect();
        let sender = m
            .user_id
            .clone()
            .and_then(|u| self.ids.lookup(&IdKey::User(u)))
            .or_else(|| {
                m.anonymous_id
                    .clone()
                    .and_then(|a| self.ids.lookup(&IdKey::Anon(a)))
            });
        if let Some(node) = sender {
            out.extend(self.accounts_of_root(self.ids.root(node)).iter().cloned());
        }
        out.sort();
        out.dedup();
        out
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
            .flat_map(Sorted::keys)
            .map(|&node| self.ids.root(node))
            .collect()
    }

    /// The e-mails of the people linked to each account (by `group` or `context.groupId`),
    /// each list sorted: what the ad platforms match a conversion on. Built in one pass over
    /// the e-mails seen, not account by account (every account would scan every e-mail).
    pub fn account_emails(&self) -> HashMap<AccountId, Vec<Email>> {
        let mut by_root: HashMap<usize, Vec<&Email>> = HashMap::new();
        for (email, nodes) in &self.emails {
            for &node in nodes.keys() {
                by_root.entry(self.ids.root(node)).or_default().push(email);
            }
        }
        let mut out = HashMap::new();
        for (account, nodes) in &self.account_links {
            let mut emails: Vec<Email> = nodes
                .keys()
                .filter_map(|&node| by_root.get(&self.ids.root(node)))
                .flatten()
                .map(|e| (*e).clone())
                .collect();
            if emails.is_empty() {
                continue;
            }
            emails.sort();
            emails.dedup();
            out.insert(account.clone(), emails);
        }
        out
    }

    /// The touchpoints of everyone linked to the account, plus offline rows naming it, in
    /// time order.
    pub fn account_touchpoints(&self, account: &AccountId) -> Vec<Touchpoint> {
        self.account_journeys()
            .get(account)
            .cloned()
            .unwrap_or_default()
    }

    /// Every account's touchpoints, each in order of time, then origin, then message id (or
    /// row content): those of everyone linked to the account and the offline rows naming it.
    /// An account someone is linked to or a row names has an entry, perhaps empty.
    pub fn account_journeys(&self) -> &BTreeMap<AccountId, Vec<Touchpoint>> {
        self.touches().journeys()
    }

    /// The journeys of people, anonymous visitors and prospects (offline rows whose e-mail
    /// matches no one, SPEC §2.2) linked to no account: one per identity (every id linked to
    /// it) or prospect, each in time order, in order of person, then anonymous id, then
    /// prospect e-mail. Touchpoints naming an account are in that account's journey instead.
    ///
    /// Why here: grouping millions of touchpoints by who made them is the same work for every
    /// attribution report, so it is kept with the model and updated for who changed.
    pub fn visitor_journeys(
        &self,
    ) -> impl ExactSizeIterator<Item = impl Iterator<Item = &Touchpoint>> {
        self.touches().visitors()
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
        // Kept as touchpoints change: counting them here walked millions on every `status`.
        let counts = self.touches().counts();
        Summary {
            accounts: self.accounts.len() as u64,
            // A prospect (an offline row's e-mail matching no one) is a person of its own.
            persons: self.ids.persons() + counts.prospects.len() as u64,
            anonymous_ids: self.ids.anonymous_ids(),
            touchpoints: counts.total,
            touchpoints_by_channel: counts
                .by_channel
                .iter()
                .map(|(channel, n)| (channel.to_string(), *n))
                .collect(),
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
            for &node in nodes.keys() {
                group(&mut groups, &self.ids, self.ids.root(node))
                    .emails
                    .insert(email.clone());
            }
        }
        for (account, nodes) in &self.account_links {
            for &node in nodes.keys() {
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
        let mut keyed: Vec<&Keyed> = self.touches().keyed().collect();
        keyed.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let touchpoints = keyed.into_iter().map(|k| k.touchpoint.clone()).collect();
        let summary = self.summary();
        let visitors = self
            .visitor_journeys()
            .map(|list| list.cloned().collect())
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
