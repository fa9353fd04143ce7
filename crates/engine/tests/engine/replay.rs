//! Replay equals live: the model is a function of the set of entries, whatever their order or
//! however the reads interleave with the writes.

use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use tenure_core::{StoredEntry, Timestamp};

use tenure_engine::{AccountSuccess, Model, TouchField};

use crate::support::{account, model, Msg, Offline, MINUTE};

const URLS: &[&str] = &[
    "https://www.acme.io/",
    "https://www.acme.io/pricing",
    "https://www.acme.io/?utm_source=brevo&utm_medium=email",
    "https://www.acme.io/?utm_source=google&utm_medium=cpc",
    "https://www.acme.io/?gclid=abc",
    "https://app.acme.io/?utm_medium=social",
];
const REFERRERS: &[&str] = &[
    "",
    "https://www.google.com/",
    "https://www.acme.io/",
    "https://t.co/x",
];
const USERS: &[&str] = &["u0", "u1", "u2"];
const ANONS: &[&str] = &["a0", "a1", "a2", "a3"];
const EMAILS: &[&str] = &["kim@acme.io", "pat@acme.io"];

#[derive(Debug, Clone)]
enum Op {
    Page {
        anon: Option<usize>,
        user: Option<usize>,
        minute: i64,
        url: usize,
        referrer: usize,
    },
    Identify {
        anon: Option<usize>,
        user: usize,
        email: Option<usize>,
    },
    Group {
        anon: usize,
        account: usize,
    },
    Alias {
        previous: usize,
        user: usize,
    },
    Campaign {
        user: usize,
        minute: i64,
    },
    /// A lead milestone by an anonymous id, which a later link may tie to an account.
    Milestone {
        anon: usize,
        minute: i64,
    },
    /// A row's ids are unknown whenever no message of the case gives them: then the row is a
    /// person or visitor of its own until one does (SPEC §2.2).
    Offline {
        user: Option<usize>,
        anon: Option<usize>,
        email: Option<usize>,
        account: Option<usize>,
        minute: i64,
    },
    /// Product usage or a success fact by a user or an anonymous id, naming an account or
    /// none: it counts for its sender's accounts whenever they are linked.
    Activity {
        sender: usize,
        account: Option<usize>,
        event: usize,
        minute: i64,
    },
}

const ACTIVITY: &[&str] = &[
    "Report Created",
    "Logged In",
    "NPS Submitted",
    "Ticket Created",
];

fn op() -> impl Strategy<Value = Op> {
    let minute = prop_oneof![0i64..240, Just(30i64), Just(60i64)];
    prop_oneof![
        4 => (
            proptest::option::of(0..ANONS.len()),
            proptest::option::weighted(0.3, 0..USERS.len()),
            minute.clone(),
            0..URLS.len(),
            0..REFERRERS.len(),
        )
            .prop_map(|(anon, user, minute, url, referrer)| {
                let anon = if anon.is_none() && user.is_none() { Some(0) } else { anon };
                Op::Page { anon, user, minute, url, referrer }
            }),
        2 => (
            proptest::option::of(0..ANONS.len()),
            0..USERS.len(),
            proptest::option::of(0..EMAILS.len()),
        )
            .prop_map(|(anon, user, email)| Op::Identify { anon, user, email }),
        1 => (0..ANONS.len(), 0..3usize).prop_map(|(anon, account)| Op::Group { anon, account }),
        1 => (0..ANONS.len() + USERS.len(), 0..USERS.len())
            .prop_map(|(previous, user)| Op::Alias { previous, user }),
        1 => (0..USERS.len(), minute.clone()).prop_map(|(user, minute)| Op::Campaign { user, minute }),
        1 => (0..ANONS.len(), minute.clone()).prop_map(|(anon, minute)| Op::Milestone { anon, minute }),
        2 => (
            0..ANONS.len() + USERS.len(),
            proptest::option::weighted(0.3, 0..3usize),
            0..ACTIVITY.len(),
            minute.clone(),
        )
            .prop_map(|(sender, account, event, minute)| Op::Activity { sender, account, event, minute }),
        1 => (
            proptest::option::of(0..USERS.len()),
            proptest::option::of(0..ANONS.len()),
            proptest::option::of(0..EMAILS.len()),
            proptest::option::of(0..3usize),
            minute,
        )
            .prop_map(|(user, anon, email, account, minute)| Op::Offline { user, anon, email, account, minute }),
    ]
}

const ACCOUNTS: [&str; 3] = ["acct_0", "acct_1", "acct_2"];

/// Each account's lead milestone (SPEC §3), which the snapshot does not show.
fn leads(m: &Model) -> Vec<Option<Timestamp>> {
    let lead = ["Demo Requested".to_owned(), "Trial Started".to_owned()];
    ACCOUNTS
        .iter()
        .map(|a| m.first_event(&account(a), &lead))
        .collect()
}

/// An account's product events as (time, user, event), and its success facts.
type Activity = (Vec<(Timestamp, String, String)>, Option<AccountSuccess>);

/// Each account's product events and success facts, which the snapshot does not show.
fn activity(m: &Model) -> Vec<Activity> {
    ACCOUNTS
        .iter()
        .map(|a| {
            let mut usage: Vec<_> = m
                .usage()
                .between(
                    &account(a),
                    Timestamp::from_millis(0),
                    Timestamp::from_millis(i64::MAX),
                )
                .map(|e| (e.at, e.user.to_owned(), e.event.to_owned()))
                .collect();
            // Events at one instant are ordered by interned numbers, which follow arrival.
            usage.sort();
            (usage, m.success().account(&account(a)).cloned())
        })
        .collect()
}

/// Per touch grouping, each value's touchpoints, distinct visitors, first and last instant.
type Groups = Vec<BTreeMap<String, (u64, u64, Timestamp, Timestamp)>>;

/// The groups as the model keeps them.
fn kept_groups(m: &Model) -> Groups {
    TouchField::ALL
        .iter()
        .map(|&field| {
            m.touch_groups(field)
                .map(|g| {
                    let counts = (g.touchpoints, g.visitors, g.first, g.last);
                    (g.name.to_owned(), counts)
                })
                .collect()
        })
        .collect()
}

/// The groups counted from every touchpoint.
fn walked_groups(m: &Model) -> Groups {
    TouchField::ALL
        .iter()
        .map(|&field| {
            let mut groups = BTreeMap::new();
            let mut visitors: BTreeMap<String, HashSet<_>> = BTreeMap::new();
            for t in m.touchpoints() {
                let name = field.value(t).to_owned();
                let at = t.occurred_at;
                let g = groups.entry(name.clone()).or_insert((0, 0, at, at));
                g.0 += 1;
                g.2 = g.2.min(at);
                g.3 = g.3.max(at);
                visitors.entry(name).or_default().extend(t.visitor());
            }
            for (name, g) in &mut groups {
                g.1 = visitors[name].len() as u64;
            }
            groups
        })
        .collect()
}

fn entry(i: usize, op: &Op) -> StoredEntry {
    let id = format!("m{i}");
    match op {
        Op::Page {
            anon,
            user,
            minute,
            url,
            referrer,
        } => {
            let mut m = Msg::page(&id).at(minute * MINUTE).url(URLS[*url]);
            if let Some(a) = anon {
                m = m.anon(ANONS[*a]);
            }
            if let Some(u) = user {
                m = m.user(USERS[*u]);
            }
            if !REFERRERS[*referrer].is_empty() {
                m = m.referrer(REFERRERS[*referrer]);
            }
            m.entry()
        }
        Op::Identify { anon, user, email } => {
            let mut m = Msg::identify(&id).user(USERS[*user]);
            if let Some(a) = anon {
                m = m.anon(ANONS[*a]);
            }
            if let Some(e) = email {
                m = m.email(EMAILS[*e]);
            }
            m.entry()
        }
        Op::Group { anon, account } => Msg::group(&id, ACCOUNTS[*account])
            .anon(ANONS[*anon])
            .entry(),
        Op::Alias { previous, user } => {
            let all: Vec<&str> = ANONS.iter().chain(USERS).copied().collect();
            Msg::alias(&id, all[*previous]).user(USERS[*user]).entry()
        }
        Op::Campaign { user, minute } => Msg::track(&id, "Demo Requested")
            .user(USERS[*user])
            .at(minute * MINUTE)
            .campaign(serde_json::json!({"source": "linkedin", "medium": "cpc"}))
            .entry(),
        Op::Milestone { anon, minute } => Msg::track(&id, "Trial Started")
            .anon(ANONS[*anon])
            .at(minute * MINUTE)
            .entry(),
        Op::Offline {
            user,
            anon,
            email,
            account,
            minute,
        } => {
            let user = user.map(|u| USERS[u]);
            let email = email.map(|e| EMAILS[e]);
            let account = account.map(|a| ACCOUNTS[a]);
            // A row names at least one id (SPEC §2.3).
            let anon = anon
                .map(|a| ANONS[a])
                .or((user.is_none() && email.is_none() && account.is_none()).then_some("a0"));
            Offline {
                at: minute * MINUTE,
                user,
                email,
                account,
                anon,
                kind: Some("event"),
                ..Offline::default()
            }
            .entry()
        }
        Op::Activity {
            sender,
            account,
            event,
            minute,
        } => {
            let mut m = Msg::track(&id, ACTIVITY[*event])
                .at(minute * MINUTE)
                .property("score", "7")
                .property("ticket_id", "T-1");
            m = match ANONS.get(*sender) {
                Some(a) => m.anon(a),
                None => m.user(USERS[sender - ANONS.len()]),
            };
            if let Some(a) = account {
                m = m.context("groupId", serde_json::json!(ACCOUNTS[*a]));
            }
            m.entry()
        }
    }
}

fn case() -> impl Strategy<Value = (Vec<StoredEntry>, Vec<StoredEntry>, usize)> {
    proptest::collection::vec(op(), 0..30).prop_flat_map(|ops| {
        let entries: Vec<StoredEntry> = ops.iter().enumerate().map(|(i, o)| entry(i, o)).collect();
        let n = entries.len();
        (Just(entries.clone()), Just(entries).prop_shuffle(), 0..=n)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_order_and_batching_gives_the_same_model((entries, shuffled, cut) in case()) {
        let live = model(&entries);
        let expected = live.snapshot();
        let expected_leads = leads(&live);
        let expected_activity = activity(&live);

        prop_assert_eq!(&model(&shuffled).snapshot(), &expected);
        prop_assert_eq!(leads(&model(&shuffled)), expected_leads.clone());
        prop_assert_eq!(activity(&model(&shuffled)), expected_activity.clone());

        // Reading between batches fills the per-identity caches; later entries must refresh
        // them exactly.
        let mut batched = model(&shuffled[..cut]);
        let _ = batched.snapshot();
        for e in &shuffled[cut..] {
            batched.apply(e);
            if cut % 2 == 0 {
                let _ = batched.touchpoints();
            }
        }
        prop_assert_eq!(&batched.snapshot(), &expected);
        prop_assert_eq!(leads(&batched), expected_leads.clone());
        prop_assert_eq!(activity(&batched), expected_activity.clone());

        // Applying everything twice (a replay over a live model) changes nothing.
        for e in &entries {
            batched.apply(e);
        }
        prop_assert_eq!(&batched.snapshot(), &expected);
        prop_assert_eq!(leads(&batched), expected_leads);
        prop_assert_eq!(activity(&batched), expected_activity);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A snapshot is a cache of the replay: saved after any prefix of the log (in any order),
    /// read back and given the rest, it is the model a full replay builds.
    #[test]
    fn a_snapshot_and_the_tail_give_the_full_replay((entries, shuffled, cut) in case()) {
        use tenure_engine::snapshot::{decode, encode, Position};
        let full = model(&entries);
        let ws = tenure_core::WorkspaceId::default_workspace();
        let mut head = model(&shuffled[..cut]);
        if cut % 2 == 0 {
            // Filled caches are not saved, and must not be missed.
            let _ = head.snapshot();
        }
        let _ = head.take_touched();
        let bytes = encode(&ws, &Position::default(), &head, &());
        let mut restored = decode::<()>(&bytes, &ws, full.settings()).unwrap().model;
        prop_assert_eq!(&restored.snapshot(), &head.snapshot());
        for e in &shuffled[cut..] {
            restored.apply(e);
        }
        prop_assert_eq!(&restored.snapshot(), &full.snapshot());
        prop_assert_eq!(leads(&restored), leads(&full));
        prop_assert_eq!(activity(&restored), activity(&full));
        prop_assert_eq!(restored.data_end(), full.data_end());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The model keeps what it derives across entries and brings it up to date from what each
    /// entry changed: whenever it is read, it must show exactly what a model built from the
    /// entries so far shows. The reads skip entries in different rhythms, so that changes pile
    /// up between the reads of one derived value and not of another.
    #[test]
    fn reads_between_entries_see_exactly_the_entries_so_far((_, shuffled, rhythm) in case()) {
        let mut live = model(&[]);
        for (i, e) in shuffled.iter().enumerate() {
            live.apply(e);
            let fresh = model(&shuffled[..=i]);
            if (i + rhythm) % 2 == 0 {
                prop_assert_eq!(live.snapshot(), fresh.snapshot(), "after entry {}", i);
            }
            if (i + rhythm) % 3 == 0 {
                prop_assert_eq!(activity(&live), activity(&fresh), "after entry {}", i);
            }
            if (i + rhythm) % 4 == 1 {
                prop_assert_eq!(kept_groups(&live), walked_groups(&live), "after entry {}", i);
            }
        }
        prop_assert_eq!(kept_groups(&live), walked_groups(&live));
        let all = model(&shuffled);
        prop_assert_eq!(live.snapshot(), all.snapshot());
        prop_assert_eq!(activity(&live), activity(&all));
    }
}
