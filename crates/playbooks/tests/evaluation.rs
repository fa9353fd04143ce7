//! The decisions: what changed, what matches, what fires under which key, and when.

use proptest::prelude::*;
use tenure_core::{AccountId, Timestamp};
use tenure_health::Band;
use tenure_playbooks::{
    changes, fires, matches, schedule, AccountDate, Change, Occasion, Period, Playbook,
    PlaybooksConfig, QuietHoursConfig, Status, Vocabulary,
};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn status(at: &str) -> Status {
    Status::new(AccountId::parse("acct_1").unwrap(), t(at))
}

/// The one playbook of `lines` (what follows `[[playbooks]]`).
fn playbook(lines: &str) -> Playbook {
    let text = format!(
        "[[destinations]]\nname = \"cs\"\nkind = \"slack\"\nsecret_env = \"S\"\n[[playbooks]]\nname = \"p\"\n{lines}\n"
    );
    let raw: PlaybooksConfig = toml::from_str(&text).unwrap();
    raw.validate(&Vocabulary::default())
        .unwrap()
        .playbooks
        .remove(0)
}

const TASK: &str = "actions = [{ task = { title = \"t\" } }]";

#[test]
fn changes_between_two_statuses() {
    let mut before = status("2025-03-01T00:00:00Z");
    before.stage = Some("adopting".into());
    before
        .signals
        .insert("no_activity".into(), t("2025-02-20T00:00:00Z"));
    before
        .signals
        .insert("usage_drop".into(), t("2025-02-25T00:00:00Z"));
    before
        .milestones
        .insert("activated".into(), t("2025-01-10T00:00:00Z"));

    let mut after = before.clone();
    after.at = t("2025-03-02T00:00:00Z");
    after.stage = Some("at_risk".into());
    after.stage_since = Some(t("2025-03-01T12:00:00Z"));
    after.signals.remove("no_activity");
    after
        .signals
        .insert("usage_drop".into(), t("2025-03-01T06:00:00Z"));
    after
        .signals
        .insert("nps_detractor".into(), t("2025-03-01T08:00:00Z"));
    after
        .milestones
        .insert("adopted".into(), t("2025-03-01T09:00:00Z"));

    let seen = changes(Some(&before), &after);
    let ids: Vec<String> = seen.iter().map(Change::identity).collect();
    assert_eq!(
        ids,
        [
            "signal_raised:nps_detractor@2025-03-01T08:00:00.000Z",
            // A new start is a new episode: the old one cleared, a new one raised.
            "signal_raised:usage_drop@2025-03-01T06:00:00.000Z",
            "signal_cleared:no_activity@2025-02-20T00:00:00.000Z",
            "signal_cleared:usage_drop@2025-02-25T00:00:00.000Z",
            "stage_left:adopting@2025-03-01T12:00:00.000Z",
            "stage_entered:at_risk@2025-03-01T12:00:00.000Z",
            "milestone:adopted@2025-03-01T09:00:00.000Z",
        ]
    );
    // Nothing changed, nothing to say; a second look at the same status says the same.
    assert!(changes(Some(&after), &after).is_empty());
    assert_eq!(changes(Some(&before), &after), seen);
    // A first status: everything in it is new.
    let first = changes(None, &before);
    assert_eq!(first.len(), 4);
    assert!(
        matches!(&first[2], Change::StageEntered { stage, at } if stage == "adopting" && *at == before.at)
    );
    // A stage lost with no stage after: only left.
    let mut gone = before.clone();
    gone.stage = None;
    assert_eq!(
        changes(Some(&before), &gone)
            .iter()
            .map(Change::identity)
            .collect::<Vec<_>>(),
        ["stage_left:adopting@2025-03-01T00:00:00.000Z"]
    );
}

#[test]
fn a_replayed_change_has_the_same_key_and_another_episode_another() {
    let p = playbook(&format!(
        "trigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ every_match = true }}\n{TASK}"
    ));
    let mut s = status("2025-03-02T00:00:00Z");
    s.signals
        .insert("usage_drop".into(), t("2025-03-01T06:00:00Z"));
    let change = &changes(None, &s)[0];
    let live = fires(
        &p,
        &s,
        Occasion::Change(change),
        &[],
        t("2025-03-02T00:00:01Z"),
    )
    .unwrap();
    // The replay sees the same change later, with the live firing on record.
    let replay = fires(
        &p,
        &s,
        Occasion::Change(change),
        &[live.at],
        t("2025-06-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(live.key, replay.key);
    assert_eq!(
        live.key.to_string(),
        format!(
            "p/{}/acct_1/match:signal_raised:usage_drop@2025-03-01T06:00:00.000Z",
            p.version()
        )
    );
    let mut later = s.clone();
    later
        .signals
        .insert("usage_drop".into(), t("2025-04-01T06:00:00Z"));
    let again = &changes(Some(&s), &later)[0];
    let next = fires(
        &p,
        &later,
        Occasion::Change(again),
        &[live.at],
        t("2025-04-01T07:00:00Z"),
    )
    .unwrap();
    assert_ne!(next.key, live.key);
    // Another signal, a cleared one, or a tick do not fire it.
    let cleared = Change::SignalCleared {
        signal: "usage_drop".into(),
        started_at: t("2025-03-01T06:00:00Z"),
        at: s.at,
    };
    assert!(fires(&p, &s, Occasion::Change(&cleared), &[], s.at).is_none());
    assert!(fires(&p, &s, Occasion::Tick, &[], s.at).is_none());
}

#[test]
fn once_per_window_is_any_window_keyed_by_its_predecessor() {
    let p = playbook(&format!(
        "trigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ once_per = \"30d\" }}\n{TASK}"
    ));
    let mut s = status("2025-03-01T00:00:00Z");
    s.signals
        .insert("usage_drop".into(), t("2025-03-01T00:00:00Z"));
    let change = changes(None, &s).remove(0);
    let at = |d: i64| t("2025-03-01T00:00:00Z").plus_millis(d);
    let first = fires(&p, &s, Occasion::Change(&change), &[], at(0)).unwrap();
    assert_eq!(first.key.period, Period::First);
    // Two deciders with the same history agree on the key, so the store takes one.
    assert_eq!(
        fires(&p, &s, Occasion::Change(&change), &[], at(HOUR))
            .unwrap()
            .key,
        first.key
    );
    // Inside the window: nothing, up to its last millisecond; at its end, the next period.
    assert!(fires(
        &p,
        &s,
        Occasion::Change(&change),
        &[at(0)],
        at(30 * DAY - 1)
    )
    .is_none());
    let second = fires(&p, &s, Occasion::Change(&change), &[at(0)], at(30 * DAY)).unwrap();
    assert_eq!(second.key.period, Period::After(at(0)));
    assert_ne!(second.key, first.key);
}

#[test]
fn max_per_period_counts_the_sliding_window() {
    let p = playbook(&format!("trigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ max = 2, period = \"7d\" }}\n{TASK}"));
    let mut s = status("2025-03-01T00:00:00Z");
    s.signals
        .insert("usage_drop".into(), t("2025-03-01T00:00:00Z"));
    let change = changes(None, &s).remove(0);
    let at = |d: i64| t("2025-03-01T00:00:00Z").plus_millis(d);
    let fire = |earlier: &[Timestamp], now| fires(&p, &s, Occasion::Change(&change), earlier, now);
    assert_eq!(
        fire(&[at(0)], at(DAY)).unwrap().key.period,
        Period::After(at(0))
    );
    assert!(fire(&[at(0), at(DAY)], at(2 * DAY)).is_none());
    // The first firing has left the window: one more allowed.
    assert_eq!(
        fire(&[at(0), at(DAY)], at(7 * DAY)).unwrap().key.period,
        Period::After(at(DAY))
    );
}

#[test]
fn calendar_triggers_fall_due_relative_to_the_account_date() {
    let p = playbook(&format!("trigger = {{ calendar = \"contract_end - 90d\" }}\nlimit = {{ once_per = \"contract\" }}\n{TASK}"));
    let end = t("2026-01-01T00:00:00Z");
    let at = |when: &str| {
        let mut s = status(when);
        s.dates.insert(AccountDate::ContractEnd, end);
        s
    };
    // 2026-01-01 less 90 days is 2025-10-03.
    let before = at("2025-10-02T23:59:59.999Z");
    assert!(fires(&p, &before, Occasion::Tick, &[], before.at).is_none());
    assert!(!matches(&p, &before).held());
    let due = at("2025-10-03T00:00:00Z");
    let f = fires(&p, &due, Occasion::Tick, &[], due.at).unwrap();
    assert_eq!(f.key.period, Period::Contract(end));
    assert_eq!(f.cause, "calendar@2025-10-03T00:00:00.000Z");
    // Every tick until the grace ends decides the same key, so the store keeps one firing.
    let later = at("2025-10-09T23:00:00Z");
    assert_eq!(
        fires(&p, &later, Occasion::Tick, &[f.at], later.at)
            .unwrap()
            .key,
        f.key
    );
    // Past the grace, a date long gone fires nothing.
    let stale = at("2025-10-10T00:00:00Z");
    assert!(fires(&p, &stale, Occasion::Tick, &[], stale.at).is_none());
    // The renewal moves the contract's end: a new period.
    let mut renewed = at("2026-10-03T00:00:00Z");
    renewed
        .dates
        .insert(AccountDate::ContractEnd, t("2027-01-01T00:00:00Z"));
    assert_eq!(
        fires(&p, &renewed, Occasion::Tick, &[f.at], renewed.at)
            .unwrap()
            .key
            .period,
        Period::Contract(t("2027-01-01T00:00:00Z"))
    );
    // No contract end: nothing, and the dry-run says why.
    let none = status("2025-10-03T00:00:00Z");
    assert!(fires(&p, &none, Occasion::Tick, &[], none.at).is_none());
    assert_eq!(matches(&p, &none).checks[0].found, "no contract_end date");

    let plus = playbook(&format!("trigger = {{ calendar = \"conversion + 14d\" }}\nfor_whom = {{ not_reached = \"activated\" }}\n{TASK}"));
    let mut s = status("2025-01-15T00:00:00Z");
    s.dates
        .insert(AccountDate::Conversion, t("2025-01-01T00:00:00Z"));
    assert_eq!(
        fires(&plus, &s, Occasion::Tick, &[], s.at)
            .unwrap()
            .key
            .period,
        Period::Ever
    );
    s.milestones
        .insert("activated".into(), t("2025-01-10T00:00:00Z"));
    let m = matches(&plus, &s);
    assert!(!m.held());
    assert_eq!(
        m.checks.last().unwrap().condition,
        "milestone activated not reached"
    );
    assert_eq!(m.checks.last().unwrap().found, "activated");
}

#[test]
fn matches_explains_every_condition_and_leaves_churned_accounts_alone() {
    let p = playbook(&format!(
        "trigger = {{ state = {{ band = \"red\" }}, for_days = 3 }}\nfor_whom = {{ tier = [\"enterprise\"], traits = {{ industry = \"fintech\" }} }}\n{TASK}"
    ));
    let mut s = status("2025-03-10T00:00:00Z");
    s.band = Some(Band::Red);
    s.band_since = Some(t("2025-03-06T00:00:00Z"));
    s.profile.tier = Some("enterprise".into());
    s.profile.traits.insert("industry".into(), "fintech".into());
    let m = matches(&p, &s);
    let said: Vec<(&str, bool)> = m
        .checks
        .iter()
        .map(|c| (c.condition.as_str(), c.held))
        .collect();
    assert_eq!(
        said,
        [
            ("state {\"band\":[\"red\"]} for 3 days", true),
            ("not churned", true),
            ("tier is enterprise", true),
            ("traits.industry is fintech", true),
        ]
    );
    let f = fires(&p, &s, Occasion::Tick, &[], s.at).unwrap();
    assert_eq!(f.cause, "state@2025-03-06T00:00:00.000Z");
    // Red for two days only: not yet.
    let mut young = s.clone();
    young.band_since = Some(t("2025-03-08T00:00:00Z"));
    assert!(fires(&p, &young, Occasion::Tick, &[], young.at).is_none());
    // Churned: left alone.
    let mut churned = s.clone();
    churned.churned = true;
    assert!(!matches(&p, &churned).held());
    // Another tier: the check says what the account has.
    let mut mid = s.clone();
    mid.profile.tier = None;
    let m = matches(&p, &mid);
    assert!(!m.checks[2].held);
    assert_eq!(m.checks[2].found, "none");
    // Switched off: never fires.
    let mut off = p.clone();
    off.enabled = false;
    assert!(fires(&off, &s, Occasion::Tick, &[], s.at).is_none());
}

#[test]
fn event_triggers_test_their_properties() {
    let p = playbook(&format!(
        "trigger = {{ event = \"Report Created\", where = [{{ property = \"plan\", equals = \"pro\" }}, {{ property = \"size.rows\", greater_than = 100 }}, {{ property = \"draft\", exists = false }}] }}\n{TASK}"
    ));
    let s = status("2025-03-01T00:00:00Z");
    let event = |props: serde_json::Value| Change::Event {
        name: "Report Created".into(),
        message_id: "m-1".into(),
        at: s.at,
        properties: props.as_object().unwrap().clone(),
    };
    let fire = |c: &Change| fires(&p, &s, Occasion::Change(c), &[], s.at).is_some();
    assert!(fire(&event(
        serde_json::json!({ "plan": "pro", "size": { "rows": 101 } })
    )));
    assert!(!fire(&event(
        serde_json::json!({ "plan": "pro", "size": { "rows": 100 } })
    )));
    assert!(!fire(&event(
        serde_json::json!({ "plan": "free", "size": { "rows": 500 } })
    )));
    assert!(!fire(&event(
        serde_json::json!({ "plan": "pro", "size": { "rows": 500 }, "draft": true })
    )));
    assert!(!fire(&event(
        serde_json::json!({ "size": { "rows": 500 } })
    )));
}

#[test]
fn the_per_account_cap_counts_the_last_24_hours() {
    let settings = tenure_playbooks::PlaybookSettings {
        max_firings_per_account_per_day: 2,
        ..tenure_playbooks::PlaybookSettings::default()
    };
    let now = t("2025-03-02T00:00:00Z");
    assert!(settings.allows(&[now.plus_millis(-DAY), now.plus_millis(-HOUR)], now));
    assert!(!settings.allows(&[now.plus_millis(-DAY + 1), now.plus_millis(-HOUR)], now));
}

fn quiet(from: &str, to: &str, zone: &str) -> tenure_playbooks::QuietHours {
    QuietHoursConfig {
        from: from.into(),
        to: to.into(),
        time_zone: zone.into(),
    }
    .validate()
    .unwrap()
}

#[test]
fn quiet_hours_across_midnight_and_at_their_edges() {
    let q = quiet("20:00", "08:00", "UTC");
    let next = |at: &str| q.next_allowed(t(at)).to_string();
    assert_eq!(next("2025-03-01T19:59:59.999Z"), "2025-03-01T19:59:59.999Z");
    // The start is quiet, the end is not.
    assert_eq!(next("2025-03-01T20:00:00Z"), "2025-03-02T08:00:00.000Z");
    assert_eq!(next("2025-03-01T23:59:59.999Z"), "2025-03-02T08:00:00.000Z");
    assert_eq!(next("2025-03-02T00:00:00Z"), "2025-03-02T08:00:00.000Z");
    assert_eq!(next("2025-03-02T07:59:59.999Z"), "2025-03-02T08:00:00.000Z");
    assert_eq!(next("2025-03-02T08:00:00Z"), "2025-03-02T08:00:00.000Z");

    // A window within one day, in a fixed offset: 12:00-14:00 at +02:00 is 10:00-12:00 UTC.
    let lunch = quiet("12:00", "14:00", "+02:00");
    assert_eq!(
        lunch.next_allowed(t("2025-03-01T10:30:00Z")).to_string(),
        "2025-03-01T12:00:00.000Z"
    );
    assert_eq!(
        lunch.next_allowed(t("2025-03-01T12:00:00Z")).to_string(),
        "2025-03-01T12:00:00.000Z"
    );
    // A negative offset moves the window across the UTC midnight: 22:00-06:00 at -05:00.
    let west = quiet("22:00", "06:00", "-05:00");
    assert_eq!(
        west.next_allowed(t("2025-03-02T04:00:00Z")).to_string(),
        "2025-03-02T11:00:00.000Z"
    );
    assert_eq!(
        west.next_allowed(t("2025-03-02T02:59:00Z")).to_string(),
        "2025-03-02T02:59:00.000Z"
    );
}

#[test]
fn the_schedule_adds_delays_and_waits_out_quiet_hours() {
    let p = playbook(
        "trigger = { signal_raised = \"usage_drop\" }\nquiet_hours = { from = \"20:00\", to = \"08:00\" }\nactions = [{ task = { title = \"a\" } }, { delay = \"12h\", slack = { destination = \"cs\", text = \"{{ account.name }}\" } }, { delay = \"1d\", task = { title = \"c\" } }]",
    );
    let due: Vec<String> = schedule(&p, t("2025-03-01T10:00:00Z"))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        due,
        [
            "2025-03-01T10:00:00.000Z",
            "2025-03-02T08:00:00.000Z",
            "2025-03-02T10:00:00.000Z"
        ]
    );
}

fn window() -> impl Strategy<Value = tenure_playbooks::QuietHours> {
    (0u32..24, 0u32..60, 0u32..24, 0u32..60, -14i32..=14)
        .prop_filter("a window", |(fh, fm, th, tm, _)| (fh, fm) != (th, tm))
        .prop_map(|(fh, fm, th, tm, off)| {
            let zone = if off == 0 {
                "UTC".to_owned()
            } else {
                format!(
                    "{}{:02}:30",
                    if off < 0 { '-' } else { '+' },
                    off.unsigned_abs().min(13)
                )
            };
            quiet(
                &format!("{fh:02}:{fm:02}"),
                &format!("{th:02}:{tm:02}"),
                &zone,
            )
        })
}

proptest! {
    #[test]
    fn next_allowed_is_never_quiet_never_earlier_and_the_first_such(q in window(), ms in -4_000_000_000_000i64..4_000_000_000_000) {
        let at = Timestamp::from_millis(ms);
        let next = q.next_allowed(at);
        prop_assert!(next >= at);
        prop_assert!(!q.contains(next));
        prop_assert!(next.millis() - at.millis() < DAY);
        // Nothing earlier is allowed: the minute before it is quiet (or it is the input).
        if next != at {
            prop_assert!(q.contains(next.plus_millis(-1)));
        }
        prop_assert_eq!(q.next_allowed(next), next);
    }
}
