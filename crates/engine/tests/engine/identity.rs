//! Who is who: links between ids, e-mails, accounts, and offline rows finding their person.

use tenure_engine::TouchpointOrigin;

use crate::support::{account, model, user, Msg, Offline, MINUTE};

fn person(m: &tenure_engine::Model, id: &str) -> Option<String> {
    m.person_of_user(&user(id)).map(|p| p.as_str().to_owned())
}

#[test]
fn alias_links_an_anonymous_id_to_a_user() {
    let m = model(&[
        Msg::page("p1")
            .anon("a1")
            .url("https://www.acme.io/?utm_medium=email")
            .entry(),
        Msg::alias("al1", "a1").user("u1").entry(),
    ]);
    let tps = m.snapshot().touchpoints;
    assert_eq!(tps[0].person.as_ref().map(|p| p.as_str()), Some("u1"));
    let s = m.summary();
    assert_eq!((s.persons, s.anonymous_ids), (1, 1));
}

#[test]
fn alias_merges_an_older_user_id_into_one_person() {
    let m = model(&[
        Msg::identify("i1")
            .user("z_old")
            .email("kim@acme.io")
            .entry(),
        Msg::identify("i2").user("b_new").entry(),
        Msg::alias("al1", "z_old").user("b_new").entry(),
    ]);
    assert_eq!(person(&m, "z_old").as_deref(), Some("b_new"));
    assert_eq!(person(&m, "b_new").as_deref(), Some("b_new"));
    let s = m.summary();
    assert_eq!((s.persons, s.anonymous_ids), (1, 0));
}

#[test]
fn any_message_with_both_ids_links_them() {
    let m = model(&[
        Msg::page("p1")
            .anon("a1")
            .url("https://www.acme.io/")
            .entry(),
        Msg::track("t1", "Trial Started")
            .anon("a1")
            .user("u1")
            .entry(),
    ]);
    assert_eq!(
        m.snapshot().touchpoints[0]
            .person
            .as_ref()
            .map(|p| p.as_str()),
        Some("u1")
    );
}

#[test]
fn the_person_is_the_smallest_user_id_of_the_component() {
    let m = model(&[
        Msg::identify("i1").anon("a1").user("u2").entry(),
        Msg::identify("i2").anon("a1").user("u1").entry(),
    ]);
    assert_eq!(person(&m, "u2").as_deref(), Some("u1"));
    assert_eq!(m.summary().persons, 1);
}

#[test]
fn two_users_with_one_email_stay_two_people() {
    let m = model(&[
        Msg::identify("i1").user("u2").email("Pat@Acme.io").entry(),
        Msg::identify("i2").user("u1").email(" pat@acme.io").entry(),
        Offline {
            email: Some("pat@acme.io"),
            kind: Some("webinar"),
            ..Offline::default()
        }
        .entry(),
    ]);
    assert_eq!(m.summary().persons, 2);
    assert_eq!(person(&m, "u1").as_deref(), Some("u1"));
    assert_eq!(person(&m, "u2").as_deref(), Some("u2"));
    // The offline row finds the smallest person with the e-mail.
    let tps = m.snapshot().touchpoints;
    assert_eq!(tps.len(), 1);
    assert_eq!(tps[0].origin, TouchpointOrigin::Offline);
    assert_eq!(tps[0].channel(), "events");
    assert_eq!(tps[0].person.as_ref().map(|p| p.as_str()), Some("u1"));
}

#[test]
fn offline_rows_find_their_person_by_user_then_anonymous_id() {
    let m = model(&[
        Msg::identify("i1").anon("a9").user("u9").entry(),
        Offline {
            anon: Some("a9"),
            kind: Some("event"),
            ..Offline::default()
        }
        .entry(),
        Offline {
            at: MINUTE,
            user: Some("u3"),
            anon: Some("a9"),
            ..Offline::default()
        }
        .entry(),
        Offline {
            at: 2 * MINUTE,
            email: Some("nobody@x.io"),
            ..Offline::default()
        }
        .entry(),
    ]);
    let persons: Vec<_> = m
        .snapshot()
        .touchpoints
        .iter()
        .map(|t| t.person.as_ref().map(|p| p.as_str().to_owned()))
        .collect();
    assert_eq!(
        persons,
        [Some("u9".to_owned()), Some("u3".to_owned()), None]
    );
    // The row's user id is a person in its own right; the row links nothing. The e-mail that
    // matches no one is a prospect, a person too.
    assert_eq!(m.summary().persons, 3);
    let prospect = m.snapshot().touchpoints[2].prospect.clone();
    assert_eq!(prospect.as_ref().map(|e| e.as_str()), Some("nobody@x.io"));
}

/// Each visitor journey as the channels of its touchpoints.
fn visitor_channels(m: &tenure_engine::Model) -> Vec<Vec<String>> {
    m.visitor_journeys()
        .map(|list| list.map(|t| t.channel().to_string()).collect())
        .collect()
}

#[test]
fn an_offline_row_whose_email_matches_no_one_is_a_prospects_journey() {
    // Lee was met at a webinar, then called by outbound, and never visited: one prospect with
    // a journey of two touches (SPEC §2.2), beside the anonymous visitor a1.
    let m = model(&[
        Offline {
            email: Some("lee@prospect.io"),
            kind: Some("webinar"),
            ..Offline::default()
        }
        .entry(),
        Offline {
            at: MINUTE,
            email: Some(" Lee@Prospect.io"),
            kind: Some("outbound"),
            ..Offline::default()
        }
        .entry(),
        Msg::page("p1")
            .anon("a1")
            .at(2 * MINUTE)
            .url("https://www.acme.io/")
            .entry(),
    ]);
    // Visitors in order of person, anonymous id, then prospect.
    assert_eq!(
        visitor_channels(&m),
        [vec!["direct"], vec!["events", "outbound"]]
    );
    assert_eq!(m.summary().persons, 1);
}

#[test]
fn a_prospect_who_gives_the_email_later_joins_that_persons_account_journey() {
    let row = Offline {
        email: Some("lee@prospect.io"),
        kind: Some("webinar"),
        ..Offline::default()
    };
    let m = model(&[
        row.entry(),
        Msg::identify("i1")
            .user("u7")
            .email("lee@prospect.io")
            .at(60 * MINUTE)
            .entry(),
        Msg::group("g1", "acct_7")
            .user("u7")
            .at(61 * MINUTE)
            .entry(),
    ]);
    let journey = m.account_touchpoints(&account("acct_7"));
    assert_eq!(journey.len(), 1, "{journey:?}");
    assert_eq!(journey[0].channel(), "events");
    assert_eq!(journey[0].person.as_ref().map(|p| p.as_str()), Some("u7"));
    assert_eq!(journey[0].prospect, None);
    assert_eq!(m.account_journeys()[&account("acct_7")], journey);
    assert_eq!(m.visitor_journeys().len(), 0);
    // No longer a prospect: u7 is the one person.
    assert_eq!(m.summary().persons, 1);
}

#[test]
fn an_email_given_by_an_anonymous_visitor_finds_the_offline_row() {
    let m = model(&[
        Msg::identify("i1").anon("a2").email("kim@acme.io").entry(),
        Msg::page("p1")
            .anon("a2")
            .url("https://www.acme.io/")
            .entry(),
        Offline {
            at: MINUTE,
            email: Some("kim@acme.io"),
            kind: Some("event"),
            ..Offline::default()
        }
        .entry(),
    ]);
    assert_eq!(visitor_channels(&m), [vec!["direct", "events"]]);
    let row = &m.snapshot().touchpoints[1];
    assert_eq!(row.anonymous_id.as_ref().map(|a| a.as_str()), Some("a2"));
    assert_eq!(row.prospect, None);
}

#[test]
fn a_person_only_an_offline_row_ties_to_an_account_keeps_a_journey_of_their_own() {
    // The row names acct_2 but links nobody to it: it is in acct_2's journey, and u5's own
    // visit is u5's journey (it used to be in none).
    let m = model(&[
        Msg::page("p1")
            .user("u5")
            .url("https://www.acme.io/?utm_medium=email")
            .entry(),
        Offline {
            at: MINUTE,
            user: Some("u5"),
            account: Some("acct_2"),
            kind: Some("outbound"),
            ..Offline::default()
        }
        .entry(),
    ]);
    assert_eq!(visitor_channels(&m), [vec!["email"]]);
    let journey = m.account_touchpoints(&account("acct_2"));
    assert_eq!(journey.len(), 1);
    assert_eq!(journey[0].channel(), "outbound");
}

#[test]
fn a_person_in_several_accounts_appears_in_each_journey() {
    let m = model(&[
        Msg::page("p1")
            .anon("a1")
            .url("https://www.acme.io/?utm_medium=email")
            .entry(),
        Msg::identify("i1").anon("a1").user("u1").entry(),
        Msg::group("g1", "acct_1").user("u1").entry(),
        Msg::group("g2", "acct_2").anon("a1").entry(),
        Msg::page("p2")
            .user("u5")
            .at(MINUTE)
            .url("https://www.acme.io/")
            .entry(),
        Offline {
            at: 2 * MINUTE,
            account: Some("acct_2"),
            kind: Some("outbound"),
            ..Offline::default()
        }
        .entry(),
        Offline {
            at: 3 * MINUTE,
            user: Some("u1"),
            kind: Some("partner"),
            ..Offline::default()
        }
        .entry(),
    ]);
    let journey = |a: &str| -> Vec<String> {
        m.account_touchpoints(&account(a))
            .into_iter()
            .map(|t| t.channel().to_string())
            .collect()
    };
    assert_eq!(journey("acct_1"), ["email", "partner"]);
    assert_eq!(journey("acct_2"), ["email", "outbound", "partner"]);
    assert_eq!(journey("acct_3"), Vec::<String>::new());
    assert_eq!(m.summary().touchpoints, 4);
}

#[test]
fn summary_counts_accounts_from_every_source() {
    use tenure_core::{AccountRow, EntryBody};
    let row = AccountRow {
        account_id: account("acct_csv"),
        name: None,
        domain: None,
        tier: None,
        industry: None,
        employees: None,
        csm_owner: None,
        created_at: None,
    };
    let m = model(&[
        Msg::group("g1", "acct_1").user("u1").entry(),
        Msg::page("p1")
            .anon("a1")
            .context("groupId", serde_json::json!("acct_ctx"))
            .url("https://www.acme.io/")
            .entry(),
        Offline {
            account: Some("acct_off"),
            ..Offline::default()
        }
        .entry(),
        crate::support::stored(EntryBody::Account(row)),
        Msg::group("g2", "acct_1").user("u2").entry(),
    ]);
    let s = m.summary();
    assert_eq!(s.accounts, 4);
    assert_eq!(s.persons, 2);
    assert_eq!(s.anonymous_ids, 1);
    assert_eq!(s.touchpoints, 2);
    assert_eq!(s.touchpoints_by_channel.get("direct"), Some(&1));
    assert_eq!(s.touchpoints_by_channel.get("other"), Some(&1));
    assert_eq!(m.account_touchpoints(&account("acct_ctx")).len(), 1);
}
