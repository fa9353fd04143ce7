//! Milestones of an account's people (SPEC §3): lead and opportunity creation are the first of
//! their events sent by anyone linked to the account, with every id linked to them, whether
//! or not the message named the account.

use tenure_core::Timestamp;

use crate::support::{account, model, t0, Msg, MINUTE};

fn names(events: &[&str]) -> Vec<String> {
    events.iter().map(|e| (*e).to_owned()).collect()
}

#[test]
fn a_persons_events_count_for_every_account_they_join_whenever_they_join() {
    let lead = names(&["Lead Created", "Demo Requested", "Trial Started"]);
    let opportunity = names(&["Opportunity Created"]);
    let m = model(&[
        // a1 requests a demo before anyone knows who they are, u1 starts a trial; a1 turns out
        // to be u1, who is grouped with two accounts afterwards.
        Msg::track("t1", "Demo Requested")
            .anon("a1")
            .at(10 * MINUTE)
            .entry(),
        Msg::track("t2", "Trial Started")
            .user("u1")
            .at(20 * MINUTE)
            .entry(),
        Msg::identify("i1")
            .anon("a1")
            .user("u1")
            .at(30 * MINUTE)
            .entry(),
        Msg::group("g1", "acct_1")
            .user("u1")
            .at(40 * MINUTE)
            .entry(),
        Msg::group("g2", "acct_2")
            .user("u1")
            .at(50 * MINUTE)
            .entry(),
        // u2 of acct_3 creates an opportunity without naming the account.
        Msg::group("g3", "acct_3").user("u2").entry(),
        Msg::track("t3", "Opportunity Created")
            .user("u2")
            .at(5 * MINUTE)
            .entry(),
    ]);
    let at = |minutes: i64| Some(Timestamp::from_millis(t0() + minutes * MINUTE));
    assert_eq!(m.first_event(&account("acct_1"), &lead), at(10));
    assert_eq!(m.first_event(&account("acct_2"), &lead), at(10));
    assert_eq!(m.first_event(&account("acct_1"), &opportunity), None);
    assert_eq!(m.first_event(&account("acct_3"), &lead), None);
    assert_eq!(m.first_event(&account("acct_3"), &opportunity), at(5));
    assert_eq!(m.first_event(&account("acct_9"), &lead), None);
}

#[test]
fn an_event_naming_an_account_counts_for_it_without_a_group_call() {
    let m = model(&[Msg::track("t1", "Lead Created")
        .user("u1")
        .at(MINUTE)
        .context("groupId", serde_json::json!("acct_1"))
        .entry()]);
    assert_eq!(
        m.first_event(&account("acct_1"), &names(&["Lead Created"])),
        Some(Timestamp::from_millis(t0() + MINUTE))
    );
}
