//! What the model derives (journeys, merged usage) is kept across entries: an entry that
//! changes what a derived value depends on shows in the next read, and one that does not leaves
//! the value as it was, not recomputed.

use tenure_core::Timestamp;
use tenure_engine::{Model, Touchpoint};

use crate::support::{account, model, Msg, MINUTE};

fn journey<'m>(m: &'m Model, a: &str) -> &'m [Touchpoint] {
    &m.account_journeys()[&account(a)]
}

fn events(m: &Model, a: &str) -> usize {
    m.usage()
        .between(
            &account(a),
            Timestamp::from_millis(0),
            Timestamp::from_millis(i64::MAX),
        )
        .count()
}

/// u1 of acct_1 and u2 of acct_2, each with one session.
fn two_accounts() -> Model {
    model(&[
        Msg::group("g1", "acct_1").user("u1").entry(),
        Msg::group("g2", "acct_2").user("u2").entry(),
        Msg::page("p1")
            .user("u1")
            .url("https://www.acme.io/")
            .entry(),
        Msg::page("p2")
            .user("u2")
            .url("https://www.acme.io/")
            .entry(),
    ])
}

#[test]
fn a_page_view_read_after_the_journeys_shows_in_them() {
    let mut m = two_accounts();
    assert_eq!(journey(&m, "acct_1").len(), 1);
    // An hour later: a session of its own.
    m.apply(
        &Msg::page("p3")
            .user("u1")
            .at(60 * MINUTE)
            .url("https://www.acme.io/pricing")
            .entry(),
    );
    assert_eq!(journey(&m, "acct_1").len(), 2);
    // A visitor's page, then the visitor signs up as u1: the session joins u1's journey.
    m.apply(
        &Msg::page("p4")
            .anon("a9")
            .at(120 * MINUTE)
            .url("https://www.acme.io/")
            .entry(),
    );
    assert_eq!(m.visitor_journeys().len(), 1);
    assert_eq!(journey(&m, "acct_1").len(), 2);
    m.apply(&Msg::identify("i1").user("u1").anon("a9").entry());
    assert_eq!(m.visitor_journeys().len(), 0);
    assert_eq!(journey(&m, "acct_1").len(), 3);
}

#[test]
fn an_account_event_read_after_its_people_held_ones_shows_in_its_usage() {
    // u1's product event names no account: it is held with u1 and counts for acct_1.
    let mut m = model(&[
        Msg::group("g1", "acct_1").user("u1").entry(),
        Msg::track("t1", "Logged In").user("u1").entry(),
    ]);
    assert_eq!(events(&m, "acct_1"), 1);
    // An event naming the account (by someone already linked to it): the account's own,
    // merged with the held one.
    m.apply(
        &Msg::track("t2", "Logged In")
            .user("u1")
            .at(MINUTE)
            .context("groupId", serde_json::json!("acct_1"))
            .entry(),
    );
    assert_eq!(events(&m, "acct_1"), 2);
    // Another of u1's: held again.
    m.apply(
        &Msg::track("t3", "Logged In")
            .user("u1")
            .at(2 * MINUTE)
            .entry(),
    );
    assert_eq!(events(&m, "acct_1"), 3);
}

#[test]
fn entries_that_change_no_touchpoint_leave_the_journeys_as_they_were() {
    let mut m = two_accounts();
    let before = (
        journey(&m, "acct_1").as_ptr(),
        journey(&m, "acct_2").as_ptr(),
    );
    // Product usage, a survey answer, a repeated page view, a link already known: none changes
    // a touchpoint, so neither journey is computed again (the same lists, at the same place).
    for e in [
        Msg::track("t1", "Logged In").user("u1").entry(),
        Msg::track("t2", "NPS Submitted")
            .user("u2")
            .property("score", "9")
            .entry(),
        Msg::page("p1")
            .user("u1")
            .url("https://www.acme.io/")
            .entry(),
        Msg::group("g1", "acct_1").user("u1").entry(),
    ] {
        m.apply(&e);
    }
    let after = (
        journey(&m, "acct_1").as_ptr(),
        journey(&m, "acct_2").as_ptr(),
    );
    assert_eq!(after, before);
    // A new session of u1 recomputes acct_1's journey only.
    m.apply(
        &Msg::page("p3")
            .user("u1")
            .at(60 * MINUTE)
            .url("https://www.acme.io/pricing")
            .entry(),
    );
    assert_eq!(journey(&m, "acct_1").len(), 2);
    assert_eq!(journey(&m, "acct_2").as_ptr(), before.1);
}

#[test]
fn an_accounts_generation_changes_with_what_may_change_its_facts() {
    let mut m = two_accounts();
    let generation = |m: &Model, a: &str| m.generation(&account(a));
    let (one, two) = (generation(&m, "acct_1"), generation(&m, "acct_2"));
    // A product event naming no account counts for u1's account through the link.
    m.apply(&Msg::track("t1", "Report Created").user("u1").entry());
    assert_ne!(generation(&m, "acct_1"), one);
    assert_eq!(generation(&m, "acct_2"), two, "not u2's account");
    let one = generation(&m, "acct_1");
    // One naming the account.
    m.apply(
        &Msg::track("t2", "Report Created")
            .user("u1")
            .context("groupId", "acct_1".into())
            .entry(),
    );
    assert_ne!(generation(&m, "acct_1"), one);
    // The same entries in another model (a rebuild, a snapshot read back) count under its own
    // name: nothing derived from one model is taken for the other's.
    assert_ne!(generation(&two_accounts(), "acct_2"), two);
}

/// A company large enough that the first grouping of its touchpoints runs on several threads
/// (thousands of identities and accounts) groups them as entry-by-entry updates do, which each
/// touch one identity.
#[test]
fn grouping_many_identities_at_once_equals_grouping_them_one_entry_at_a_time() {
    let mut entries = Vec::new();
    for i in 0..6_000 {
        let url = format!("https://www.acme.io/?utm_source=s{}&utm_medium=cpc", i % 7);
        let page = Msg::page(&format!("p{i}"))
            .anon(&format!("a{i}"))
            .at(i64::from(i) * MINUTE)
            .url(&url);
        entries.push(page.entry());
        if i % 3 == 0 {
            let a = format!("acct_{}", i % 1_000);
            let u = format!("u{}", i / 2);
            entries.push(
                Msg::identify(&format!("i{i}"))
                    .anon(&format!("a{i}"))
                    .user(&u)
                    .entry(),
            );
            entries.push(Msg::group(&format!("g{i}"), &a).user(&u).entry());
        }
    }
    let at_once = model(&entries);
    let mut one_by_one = model(&[]);
    for e in &entries {
        one_by_one.apply(e);
        let _ = one_by_one.touchpoints().count();
    }
    let expected = one_by_one.snapshot();
    assert!(
        expected.journeys.len() >= 1_000,
        "{}",
        expected.journeys.len()
    );
    assert!(
        expected.visitors.len() >= 4_000,
        "{}",
        expected.visitors.len()
    );
    assert_eq!(at_once.snapshot(), expected);
}
