//! Channel settings: defaults as the spec lists them, round-trips, and validation messages.

use serde_json::json;
use tenure_engine::{ChannelSettings, Condition, EngineSettings, SourceMatch};

use crate::support::{channels, model_with, Msg};

#[test]
fn defaults_round_trip_through_serde() {
    let defaults = EngineSettings::default();
    let text = serde_json::to_string(&defaults).unwrap();
    assert_eq!(
        serde_json::from_str::<EngineSettings>(&text).unwrap(),
        defaults
    );
    assert_eq!(defaults.validate(), Ok(()));
    let names: Vec<&str> = defaults
        .channels
        .rules
        .iter()
        .map(|r| r.channel.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "paid_search",
            "paid_social",
            "display",
            "email",
            "affiliate",
            "organic_search",
            "organic_social",
            "referral",
            "other"
        ]
    );
}

#[test]
fn missing_sections_take_defaults_and_unknown_fields_are_rejected() {
    let partial: EngineSettings =
        serde_json::from_value(json!({"touchpoints": {"exclude_hosts": ["app.acme.io"]}})).unwrap();
    assert_eq!(partial.touchpoints.session_timeout_minutes, 30);
    assert_eq!(partial.channels, ChannelSettings::default());
    let err = serde_json::from_value::<EngineSettings>(json!({"touchpoints": {"timeout": 5}}));
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("unknown field `timeout`"));
}

#[test]
fn source_is_a_class_or_a_list_of_names() {
    let rules: ChannelSettings = serde_json::from_value(json!({"rules": [
        {"channel": "partners", "when": [{"source": ["Crossbeam", "reveal"]}]},
        {"channel": "search_ads", "when": [{"source": "search", "medium": ["cpc"]}]},
    ]}))
    .unwrap();
    assert_eq!(
        rules.rules[0].when[0].source,
        Some(SourceMatch::Names(vec![
            "Crossbeam".into(),
            "reveal".into()
        ]))
    );
    assert_eq!(rules.validate(), Ok(()));
    let settings = EngineSettings {
        channels: rules,
        ..EngineSettings::default()
    };
    let pages = [
        Msg::page("m1")
            .anon("a1")
            .url("https://www.acme.io/?utm_source=crossbeam")
            .entry(),
        Msg::page("m2")
            .anon("a2")
            .url("https://www.acme.io/?utm_source=bing&utm_medium=cpc")
            .entry(),
        Msg::page("m3")
            .anon("a3")
            .url("https://www.acme.io/?utm_medium=email")
            .entry(),
    ];
    // No rule claims the e-mail visit: it falls back to direct.
    assert_eq!(
        channels(&model_with(settings, &pages)),
        ["partners", "search_ads", "direct"]
    );
}

#[test]
fn validation_names_the_rule_and_field() {
    let check = |mutate: &dyn Fn(&mut ChannelSettings), expected: &str| {
        let mut settings = ChannelSettings::default();
        mutate(&mut settings);
        let err = settings.validate().expect_err(expected);
        assert_eq!(err.to_string(), expected);
    };
    check(
        &|s| s.rules[0].when[0].click_id = Some(vec!["gclid".into(), "dclid".into()]),
        "channels.rules[0].when[0].click_id: unknown click id \"dclid\" (expected one of gclid, gbraid, wbraid, msclkid, fbclid, li_fat_id)",
    );
    check(
        &|s| s.rules[3].when.clear(),
        "channels.rules[3].when: rule \"email\" has no condition",
    );
    check(
        &|s| s.rules[2].when[0] = Condition::default(),
        "channels.rules[2].when[0]: condition has no field (set click_id, medium, medium_not, source, referrer or marketing)",
    );
    check(
        &|s| s.rules[4].when[0].medium = Some(vec![]),
        "channels.rules[4].when[0].medium: list is empty",
    );
    check(
        &|s| s.rules[1].channel = " ".into(),
        "channels.rules[1].channel: channel name is empty",
    );
    check(
        &|s| s.rules[0].when[1].source = Some(SourceMatch::Names(vec!["".into()])),
        "channels.rules[0].when[1].source: list contains an empty value",
    );
    check(
        &|s| s.offline_default.clear(),
        "channels.offline_default: channel name is empty",
    );

    let mut settings = EngineSettings::default();
    settings.touchpoints.session_timeout_minutes = 0;
    assert_eq!(
        settings.validate().unwrap_err().to_string(),
        "touchpoints.session_timeout_minutes: must be at least 1"
    );
}
