//! How page views become sessions, and which messages make touchpoints.

use serde_json::json;
use tenure_engine::{EngineSettings, TouchpointOrigin};

use crate::support::{account, channels, model, model_with, user, Msg, MINUTE};

const EMAIL_URL: &str = "https://www.acme.io/?utm_source=brevo&utm_medium=email&utm_campaign=march";

fn view(id: &str, at: i64, url: &str) -> Msg {
    Msg::page(id).anon("a1").at(at).url(url)
}

#[test]
fn a_gap_of_exactly_the_timeout_continues_the_session() {
    let m = model(&[
        view("m1", 0, EMAIL_URL).entry(),
        view("m2", 30 * MINUTE, "https://www.acme.io/pricing").entry(),
    ]);
    assert_eq!(channels(&m), ["email"]);
}

#[test]
fn a_gap_one_millisecond_longer_starts_a_new_session() {
    let m = model(&[
        view("m1", 0, EMAIL_URL).entry(),
        view("m2", 30 * MINUTE + 1, "https://www.acme.io/pricing").entry(),
    ]);
    assert_eq!(channels(&m), ["email", "direct"]);
}

#[test]
fn every_view_extends_the_session() {
    let pages: Vec<_> = (0..5)
        .map(|i| {
            view(
                &format!("m{i}"),
                i * 25 * MINUTE,
                "https://www.acme.io/docs",
            )
            .entry()
        })
        .collect();
    assert_eq!(channels(&model(&pages)), ["direct"]);
}

#[test]
fn the_timeout_is_configurable() {
    let mut settings = EngineSettings::default();
    settings.touchpoints.session_timeout_minutes = 10;
    let m = model_with(
        settings,
        &[
            view("m1", 0, EMAIL_URL).entry(),
            view("m2", 11 * MINUTE, EMAIL_URL).entry(),
        ],
    );
    assert_eq!(channels(&m), ["email", "email"]);
}

#[test]
fn a_changed_campaign_starts_a_new_session() {
    let m = model(&[
        view("m1", 0, EMAIL_URL).entry(),
        view(
            "m2",
            5 * MINUTE,
            "https://www.acme.io/?utm_source=google&utm_medium=cpc",
        )
        .entry(),
        view(
            "m3",
            6 * MINUTE,
            "https://www.acme.io/?utm_source=google&utm_medium=cpc&utm_content=b",
        )
        .entry(),
    ]);
    assert_eq!(channels(&m), ["email", "paid_search", "paid_search"]);
}

#[test]
fn a_new_external_referrer_starts_a_new_session() {
    let m = model(&[
        view("m1", 0, "https://www.acme.io/").entry(),
        view("m2", 5 * MINUTE, "https://www.acme.io/blog")
            .referrer("https://www.google.com/")
            .entry(),
    ]);
    assert_eq!(channels(&m), ["direct", "organic_search"]);
}

#[test]
fn a_reload_of_the_landing_url_does_not() {
    // The reload has lost its referrer, so its marketing information differs; it is still the
    // same visit.
    let m = model(&[
        view("m1", 0, EMAIL_URL)
            .referrer("https://mail.google.com/")
            .entry(),
        view("m2", 2 * MINUTE, EMAIL_URL).entry(),
        view("m3", 3 * MINUTE, "https://www.acme.io/pricing")
            .referrer(EMAIL_URL)
            .entry(),
    ]);
    let tps = m.snapshot().touchpoints;
    assert_eq!(tps.len(), 1, "{tps:?}");
    assert_eq!(tps[0].landing_url().map(|v| v.as_str()), Some(EMAIL_URL));
    assert_eq!(
        tps[0].referrer_host().map(|v| v.as_str()),
        Some("mail.google.com")
    );
}

#[test]
fn the_same_landing_url_from_another_external_referrer_is_a_new_session() {
    // One visitor on /pricing five times, 5 minutes apart (well within the 30-minute timeout):
    //    0 min  from www.google.com        -> session 1: organic_search (a search engine)
    //    5 min  from www.bing.com          -> another external referrer: session 2, organic_search
    //   10 min  from news.ycombinator.com  -> another again: session 3, referral (neither search
    //                                         engine nor social network)
    //   15 min  from news.ycombinator.com  -> same URL, same referrer: a reload, still session 3
    //   20 min  no referrer                -> same URL, referrer lost: a reload, still session 3
    // Three touchpoints.
    const PRICING: &str = "https://www.acme.io/pricing";
    let m = model(&[
        view("m1", 0, PRICING)
            .referrer("https://www.google.com/")
            .entry(),
        view("m2", 5 * MINUTE, PRICING)
            .referrer("https://www.bing.com/")
            .entry(),
        view("m3", 10 * MINUTE, PRICING)
            .referrer("https://news.ycombinator.com/item?id=1")
            .entry(),
        view("m4", 15 * MINUTE, PRICING)
            .referrer("https://news.ycombinator.com/item?id=1")
            .entry(),
        view("m5", 20 * MINUTE, PRICING).entry(),
    ]);
    assert_eq!(
        channels(&m),
        ["organic_search", "organic_search", "referral"]
    );
    let referrers: Vec<_> = m
        .snapshot()
        .touchpoints
        .into_iter()
        .map(|t| t.referrer_host().unwrap().to_string())
        .collect();
    assert_eq!(
        referrers,
        ["www.google.com", "www.bing.com", "news.ycombinator.com"]
    );
    let starts: Vec<_> = m
        .snapshot()
        .touchpoints
        .iter()
        .map(|t| t.occurred_at.millis() - crate::support::t0())
        .collect();
    assert_eq!(starts, [0, 5 * MINUTE, 10 * MINUTE]);
}

#[test]
fn the_same_landing_url_with_a_campaign_the_landing_page_lacked_is_a_new_session() {
    // The URL is the same, but the second view carries a campaign name the first did not (a
    // second e-mail send linking the same page): new marketing information, a new arrival.
    let m = model(&[
        view("m1", 0, EMAIL_URL).entry(),
        view("m2", 5 * MINUTE, EMAIL_URL)
            .campaign(json!({"name": "april"}))
            .entry(),
        view("m3", 6 * MINUTE, EMAIL_URL)
            .campaign(json!({"name": "april"}))
            .entry(),
    ]);
    let campaigns: Vec<_> = m
        .snapshot()
        .touchpoints
        .into_iter()
        .map(|t| t.campaign().unwrap().to_string())
        .collect();
    assert_eq!(campaigns, ["march", "april"]);
}

#[test]
fn internal_navigation_continues_the_session() {
    let m = model(&[
        view("m1", 0, EMAIL_URL).entry(),
        view("m2", MINUTE, "https://www.acme.io/pricing")
            .referrer(EMAIL_URL)
            .entry(),
        view("m3", 2 * MINUTE, "https://app.acme.io/signup")
            .referrer("https://www.acme.io/pricing")
            .entry(),
    ]);
    assert_eq!(channels(&m), ["email"]);
}

#[test]
fn a_late_page_is_placed_by_its_time() {
    // The backfilled first visit arrives last; it opens the session, the later page joins it.
    let m = model(&[
        view("m2", 10 * MINUTE, "https://www.acme.io/pricing").entry(),
        view("m1", 0, EMAIL_URL).entry(),
    ]);
    let tps = m.snapshot().touchpoints;
    assert_eq!(tps.len(), 1);
    assert_eq!(tps[0].channel(), "email");
    assert_eq!(tps[0].occurred_at.millis(), crate::support::t0());
}

#[test]
fn pages_on_excluded_hosts_never_form_touchpoints() {
    let mut settings = EngineSettings::default();
    settings.touchpoints.exclude_hosts = vec!["app.acme.io".to_owned()];
    let m = model_with(
        settings,
        &[
            view("m1", 0, "https://app.acme.io/?utm_medium=email").entry(),
            view("m2", 0, "https://eu.app.acme.io/")
                .referrer("https://www.google.com/")
                .entry(),
            Msg::page("m3")
                .anon("a2")
                .url("https://www.acme.io/?utm_medium=email")
                .entry(),
        ],
    );
    let tps = m.snapshot().touchpoints;
    assert_eq!(tps.len(), 1, "{tps:?}");
    assert_eq!(tps[0].anonymous_id.as_ref().map(|a| a.as_str()), Some("a2"));
}

#[test]
fn configured_site_domains_make_other_domains_internal() {
    let mut settings = EngineSettings::default();
    settings.touchpoints.site_domains = vec!["acme.io".to_owned(), "acme-docs.com".to_owned()];
    let m = model_with(
        settings,
        &[
            view("m1", 0, "https://www.acme.io/")
                .referrer("https://help.acme-docs.com/")
                .entry(),
            Msg::page("m2")
                .anon("a2")
                .url("https://www.acme.io/")
                .referrer("https://www.other.io/")
                .entry(),
        ],
    );
    assert_eq!(channels(&m), ["direct", "referral"]);
}

#[test]
fn anonymous_pages_before_identify_belong_to_the_person_and_account() {
    let m = model(&[
        view("m1", 0, EMAIL_URL).entry(),
        Msg::page("m2")
            .anon("a2")
            .at(3 * 60 * MINUTE)
            .url("https://www.acme.io/")
            .entry(),
        Msg::identify("i1")
            .anon("a1")
            .user("u1")
            .at(24 * 60 * MINUTE)
            .entry(),
        Msg::identify("i2")
            .anon("a2")
            .user("u1")
            .at(24 * 60 * MINUTE)
            .entry(),
        Msg::group("g1", "acct_1")
            .user("u1")
            .at(25 * 60 * MINUTE)
            .entry(),
    ]);
    let tps = m.account_touchpoints(&account("acct_1"));
    assert_eq!(tps.len(), 2, "{tps:?}");
    assert!(tps
        .iter()
        .all(|t| t.person.as_ref().map(|p| p.as_str()) == Some("u1")));
    assert_eq!(tps[0].anonymous_id.as_ref().map(|a| a.as_str()), Some("a1"));
    assert_eq!(tps[1].anonymous_id.as_ref().map(|a| a.as_str()), Some("a2"));
    assert_eq!(tps[0].channel(), "email");
    assert_eq!(m.person_of_user(&user("u1")).unwrap().as_str(), "u1");
}

#[test]
fn two_devices_of_one_person_share_sessions_once_linked() {
    let pages = [
        view("m1", 0, EMAIL_URL).entry(),
        Msg::page("m2")
            .anon("a2")
            .at(5 * MINUTE)
            .url("https://www.acme.io/pricing")
            .entry(),
    ];
    assert_eq!(channels(&model(&pages)), ["email", "direct"]);
    let linked: Vec<_> = pages
        .iter()
        .cloned()
        .chain([
            Msg::identify("i1").anon("a1").user("u1").entry(),
            Msg::identify("i2").anon("a2").user("u1").entry(),
        ])
        .collect();
    assert_eq!(channels(&model(&linked)), ["email"]);
}

#[test]
fn a_track_with_a_campaign_is_a_touchpoint_of_its_own() {
    let m = model(&[
        Msg::track("t1", "Demo Requested")
            .user("u1")
            .at(MINUTE)
            .campaign(json!({"source": "linkedin", "medium": "paid_social", "name": "abm"}))
            .context("groupId", json!("acct_9"))
            .entry(),
        Msg::track("t2", "Demo Requested")
            .user("u1")
            .at(2 * MINUTE)
            .entry(),
        Msg::new(tenure_core::MessageType::Screen, "s1")
            .user("u1")
            .url(EMAIL_URL)
            .entry(),
    ]);
    let tps = m.snapshot().touchpoints;
    assert_eq!(tps.len(), 1, "{tps:?}");
    assert_eq!(tps[0].origin, TouchpointOrigin::CampaignTrack);
    assert_eq!(tps[0].channel(), "paid_social");
    assert_eq!(tps[0].campaign().map(|v| v.as_str()), Some("abm"));
    assert_eq!(tps[0].account, Some(account("acct_9")));
    assert_eq!(m.account_touchpoints(&account("acct_9")).len(), 1);
}

#[test]
fn the_same_page_applied_twice_counts_once() {
    let page = view("m1", 0, EMAIL_URL).entry();
    let m = model(&[page.clone(), page]);
    assert_eq!(m.summary().touchpoints, 1);
}

#[test]
fn a_session_names_the_account_and_anonymous_id_of_its_first_page() {
    let m = model(&[
        Msg::page("m1")
            .anon("a1")
            .url(EMAIL_URL)
            .context("groupId", json!("acct_3"))
            .entry(),
        Msg::page("m2")
            .anon("a2")
            .at(3 * 60 * MINUTE)
            .url("https://www.acme.io/")
            .context("groupId", json!("acct_4"))
            .entry(),
        Msg::page("m3").anon("a3").at(6 * 60 * MINUTE).entry(),
    ]);
    let tps = m.snapshot().touchpoints;
    let named: Vec<_> = tps
        .iter()
        .map(|t| {
            (
                t.anonymous_id.as_ref().map(|a| a.as_str().to_owned()),
                t.account.as_ref().map(|a| a.as_str().to_owned()),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        named,
        [
            (some("a1"), some("acct_3")),
            (some("a2"), some("acct_4")),
            (some("a3"), None)
        ]
    );
}
