//! Product usage and success facts per account (SPEC §2.1): a track naming an account is that
//! account's; one naming none is every account its sender is linked to, whenever the links
//! (group, identify, alias) arrive, so the figures do not depend on arrival order.

use serde_json::json;
use tenure_core::{StoredEntry, Timestamp};
use tenure_engine::{ActivationSettings, Model, SurveyKind};

use crate::support::{account, model, t0, Msg};

const DAY: i64 = Timestamp::MS_PER_DAY;

fn day(d: i64) -> Timestamp {
    Timestamp::from_millis(t0() + d * DAY)
}

/// The account's product events as (day, user, event), in time order.
fn usage(m: &Model, a: &str) -> Vec<(i64, String, String)> {
    m.usage()
        .between(&account(a), Timestamp::from_millis(0), day(1_000))
        .map(|e| {
            let d = (e.at.millis() - t0()) / DAY;
            (d, e.user.to_owned(), e.event.to_owned())
        })
        .collect()
}

/// Each person's latest NPS answer, as (person, score).
fn nps(m: &Model, a: &str) -> Vec<(String, u8)> {
    m.success()
        .account(&account(a))
        .map(|s| {
            s.latest_answers(SurveyKind::Nps, day(1_000))
                .into_iter()
                .map(|(p, ans)| (p.to_owned(), ans.score))
                .collect()
        })
        .unwrap_or_default()
}

fn activated(m: &Model, a: &str) -> Option<i64> {
    m.usage()
        .activated_at(&account(a), &ActivationSettings::default(), day(1_000))
        .map(|t| (t.millis() - t0()) / DAY)
}

/// The entries in their order, reversed, and rotated by half.
fn orders(entries: &[StoredEntry]) -> Vec<Vec<StoredEntry>> {
    let mut reversed = entries.to_vec();
    reversed.reverse();
    let mut rotated = entries.to_vec();
    rotated.rotate_left(entries.len() / 2);
    vec![entries.to_vec(), reversed, rotated]
}

fn owned(list: &[(i64, &str, &str)]) -> Vec<(i64, String, String)> {
    list.iter()
        .map(|(d, u, e)| (*d, (*u).to_owned(), (*e).to_owned()))
        .collect()
}

#[test]
fn activity_sent_before_the_group_call_counts_for_the_account_in_any_order() {
    let entries = [
        // u1 and u2 use the product and u1 answers NPS, none of it naming the account; both
        // are grouped with acct_1 only on day 20.
        Msg::track("t1", "Report Created")
            .user("u1")
            .at(DAY)
            .entry(),
        Msg::track("t2", "Logged In").user("u2").at(5 * DAY).entry(),
        Msg::track("t3", "NPS Submitted")
            .user("u1")
            .at(3 * DAY)
            .property("score", "9")
            .entry(),
        Msg::group("g1", "acct_1").user("u1").at(20 * DAY).entry(),
        Msg::group("g2", "acct_1").user("u2").at(20 * DAY).entry(),
    ];
    for order in orders(&entries) {
        let m = model(&order);
        assert_eq!(
            usage(&m, "acct_1"),
            owned(&[(1, "u1", "Report Created"), (5, "u2", "Logged In")])
        );
        // An activation event and two users within 14 days: activated when u2 arrives, day 5.
        assert_eq!(activated(&m, "acct_1"), Some(5));
        assert_eq!(nps(&m, "acct_1"), [("u1".to_owned(), 9)]);
    }
}

#[test]
fn anonymous_activity_is_the_persons_once_linked() {
    let entries = [
        Msg::track("t1", "Report Created")
            .anon("a1")
            .at(DAY)
            .entry(),
        Msg::track("t2", "NPS Submitted")
            .anon("a1")
            .at(2 * DAY)
            .property("score", "3")
            .entry(),
        // Unlinked, a1's activity is no one's yet.
        Msg::group("g1", "acct_1").user("u1").at(10 * DAY).entry(),
    ];
    let m = model(&entries);
    assert_eq!(usage(&m, "acct_1"), owned(&[]));
    assert_eq!(nps(&m, "acct_1"), []);

    let mut linked = entries.to_vec();
    linked.push(
        Msg::identify("i1")
            .anon("a1")
            .user("u1")
            .at(30 * DAY)
            .entry(),
    );
    for order in orders(&linked) {
        let m = model(&order);
        assert_eq!(usage(&m, "acct_1"), owned(&[(1, "u1", "Report Created")]));
        assert_eq!(nps(&m, "acct_1"), [("u1".to_owned(), 3)]);
    }
}

#[test]
fn a_track_naming_an_account_counts_only_for_it_and_one_naming_none_for_each() {
    let entries = [
        Msg::group("g1", "acct_a").user("u1").entry(),
        Msg::group("g2", "acct_b").user("u1").entry(),
        Msg::track("t1", "Report Created")
            .user("u1")
            .at(DAY)
            .context("groupId", json!("acct_b"))
            .entry(),
        Msg::track("t2", "NPS Submitted")
            .user("u1")
            .at(2 * DAY)
            .property("score", "10")
            .context("groupId", json!("acct_b"))
            .entry(),
        Msg::track("t3", "Logged In").user("u1").at(3 * DAY).entry(),
        Msg::track("t4", "CSM Touch")
            .user("csm")
            .at(4 * DAY)
            .property("kind", "qbr")
            .context("groupId", json!("acct_a"))
            .entry(),
    ];
    for order in orders(&entries) {
        let m = model(&order);
        assert_eq!(usage(&m, "acct_a"), owned(&[(3, "u1", "Logged In")]));
        assert_eq!(
            usage(&m, "acct_b"),
            owned(&[(1, "u1", "Report Created"), (3, "u1", "Logged In")])
        );
        assert_eq!(nps(&m, "acct_a"), []);
        assert_eq!(nps(&m, "acct_b"), [("u1".to_owned(), 10)]);
        let touches = |a: &str| {
            m.success()
                .account(&account(a))
                .map_or(0, |s| s.csm_touches().count())
        };
        assert_eq!((touches("acct_a"), touches("acct_b")), (1, 0));
    }
}

#[test]
fn tickets_split_between_a_named_and_an_unnamed_event_are_one_ticket() {
    // The requester opens the ticket from the product (no account named); the help desk solves
    // it naming the account.
    let entries = [
        Msg::group("g1", "acct_1").user("u1").entry(),
        Msg::track("t1", "Ticket Created")
            .user("u1")
            .at(DAY)
            .property("ticket_id", "T-1")
            .property("priority", "high")
            .entry(),
        Msg::track("t2", "Ticket Solved")
            .user("agent")
            .at(3 * DAY)
            .property("ticket_id", "T-1")
            .context("groupId", json!("acct_1"))
            .entry(),
    ];
    for order in orders(&entries) {
        let m = model(&order);
        let facts = m.success().account(&account("acct_1")).unwrap();
        let tickets: Vec<_> = facts.tickets().collect();
        assert_eq!(tickets.len(), 1);
        assert_eq!(tickets[0].opened_at, Some(day(1)));
        assert_eq!(tickets[0].solved_at, Some(day(3)));
        assert_eq!(tickets[0].priority.as_deref(), Some("high"));
    }
}

#[test]
fn held_activity_touches_the_accounts_it_counts_for() {
    let mut m = model(&[Msg::group("g1", "acct_1").user("u1").entry()]);
    m.take_touched();
    m.apply(&Msg::track("t1", "Logged In").user("u1").at(DAY).entry());
    assert_eq!(m.take_touched(), [account("acct_1")].into());

    // An anonymous visitor's activity touches the account when the visitor is identified.
    m.apply(&Msg::track("t2", "Logged In").anon("a1").at(DAY).entry());
    assert!(m.take_touched().is_empty(), "a1 is no account's yet");
    m.apply(&Msg::identify("i1").anon("a1").user("u1").entry());
    assert_eq!(m.take_touched(), [account("acct_1")].into());
}

/// The activation rule (SPEC §3, defaults: an activation event and two users within 14 days),
/// on tracks naming the account.
#[test]
fn activation_rule_cases() {
    // (day, user, event) tracks, the day of activation, why.
    type Case<'a> = (&'a [(i64, &'a str, &'a str)], Option<i64>, &'a str);
    let cases: &[Case] = &[
        (
            &[(1, "u1", "Report Created"), (2, "u1", "Logged In")],
            None,
            "one user, however active",
        ),
        (
            &[(1, "u1", "Report Created"), (5, "u2", "Logged In")],
            Some(5),
            "two users within 14 days: when the second arrives",
        ),
        (
            &[(1, "u1", "Report Created"), (15, "u2", "Logged In")],
            Some(15),
            "exactly 14 days apart",
        ),
        (
            &[(1, "u1", "Report Created"), (16, "u2", "Logged In")],
            None,
            "15 days apart",
        ),
        (
            &[(1, "u1", "Logged In"), (2, "u2", "Logged In")],
            None,
            "no activation event",
        ),
        (
            &[(1, "u1", "Report Created"), (2, "u2", "Ticket Created")],
            None,
            "reserved events are not usage",
        ),
    ];
    for (events, expected, why) in cases {
        let entries: Vec<StoredEntry> = events
            .iter()
            .enumerate()
            .map(|(i, (d, user, event))| {
                Msg::track(&format!("m{i}"), event)
                    .user(user)
                    .at(d * DAY)
                    .context("groupId", json!("acct_1"))
                    .entry()
            })
            .collect();
        for order in orders(&entries) {
            assert_eq!(activated(&model(&order), "acct_1"), *expected, "{why}");
        }
    }
}

/// The variant of `experiment` first shown to the account, as (day, variant).
fn exposure(m: &Model, a: &str, experiment: &str) -> Option<(i64, String)> {
    m.exposure(&account(a), experiment)
        .map(|(at, v)| ((at.millis() - t0()) / DAY, v.to_owned()))
}

#[test]
fn an_experiment_viewed_counts_for_the_account_it_names_or_its_senders_in_any_order() {
    let viewed = |id: &str, user: &str, day: i64, variant: &str| {
        Msg::track(id, "Experiment Viewed")
            .user(user)
            .at(day * DAY)
            .property("experiment", "onboarding_v2")
            .property("variant", variant)
    };
    let entries = [
        // u1 sees guided naming no account, before being grouped with acct_1 on day 20; a
        // later exposure naming the account does not replace it.
        viewed("e1", "u1", 2, "guided").entry(),
        viewed("e2", "u1", 9, "control")
            .context("groupId", json!("acct_1"))
            .entry(),
        Msg::group("g1", "acct_1").user("u1").at(20 * DAY).entry(),
        // acct_2's exposure names it; u2 is never grouped.
        viewed("e3", "u2", 4, "control")
            .context("groupId", json!("acct_2"))
            .entry(),
        // u3 is grouped with no account: its exposure counts for none.
        viewed("e4", "u3", 1, "guided").entry(),
        // An Experiment Viewed without a variant is no exposure.
        Msg::track("e5", "Experiment Viewed")
            .user("u2")
            .at(DAY)
            .property("experiment", "onboarding_v2")
            .context("groupId", json!("acct_2"))
            .entry(),
    ];
    for order in orders(&entries) {
        let m = model(&order);
        assert_eq!(
            exposure(&m, "acct_1", "onboarding_v2"),
            Some((2, "guided".to_owned()))
        );
        assert_eq!(
            exposure(&m, "acct_2", "onboarding_v2"),
            Some((4, "control".to_owned()))
        );
        assert_eq!(exposure(&m, "acct_1", "pricing"), None);
        assert!(m.has_experiment("onboarding_v2"));
        assert!(!m.has_experiment("pricing"));
    }
    // An identity linked to no account shows no account anything.
    let alone = model(&entries[4..5]);
    assert!(!alone.has_experiment("onboarding_v2"));
}
