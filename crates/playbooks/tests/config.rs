//! The configuration: the example file parses into what it says, and every mistake is refused
//! with the key and the reason.

use tenure_playbooks::{
    Action, CalendarRule, DestinationKind, Limit, OnEnable, Playbooks, PlaybooksConfig, Span,
    Trigger, Vocabulary,
};

fn load(text: &str) -> Result<Playbooks, String> {
    let raw: PlaybooksConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    raw.validate(&Vocabulary::default())
        .map_err(|e| e.to_string())
}

const EXAMPLE: &str = include_str!("example.toml");

#[test]
fn the_example_file_holds_the_five_playbooks_as_written() {
    let all = load(EXAMPLE).unwrap();
    assert_eq!(all.settings.max_firings_per_account_per_day, 2);
    let kinds: Vec<_> = all.destinations.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DestinationKind::Slack,
            DestinationKind::Smtp,
            DestinationKind::Webhook
        ]
    );
    let names: Vec<&str> = all.playbooks.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "renewal_90_60_30",
            "usage_drop_task",
            "activation_missed_day_14",
            "seat_expansion",
            "advocate_review_request"
        ]
    );

    let renewal = all.get("renewal_90_60_30").unwrap();
    assert_eq!(
        renewal.trigger,
        Trigger::Calendar(CalendarRule::parse("contract_end - 90d").unwrap())
    );
    assert_eq!(renewal.limit, Limit::Contract);
    assert!(renewal.enabled);
    assert_eq!(renewal.on_enable, OnEnable::None);
    let delays: Vec<String> = renewal
        .actions
        .iter()
        .map(|s| s.delay.to_string())
        .collect();
    assert_eq!(delays, ["0d", "30d", "60d", "60d"]);
    let kinds: Vec<&str> = renewal.actions.iter().map(|s| s.action.kind()).collect();
    assert_eq!(kinds, ["task", "task", "task", "slack"]);
    assert_eq!(renewal.for_whom.tier.0, ["enterprise", "mid_market"]);
    assert_eq!(renewal.quiet_hours.unwrap().parts(), (20 * 60, 8 * 60, 60));

    let drop = all.get("usage_drop_task").unwrap();
    assert_eq!(drop.trigger, Trigger::SignalRaised("usage_drop".into()));
    assert_eq!(drop.limit, Limit::OncePer(Span::days(30)));
    match &drop.actions[0].action {
        Action::Task(t) => assert_eq!(t.due_in, Some(Span::days(2))),
        other => panic!("{other:?}"),
    }

    let missed = all.get("activation_missed_day_14").unwrap();
    assert_eq!(
        missed.trigger.to_owned(),
        Trigger::Calendar(CalendarRule::parse("conversion + 14d").unwrap())
    );
    assert_eq!(missed.for_whom.not_reached.0, ["activated"]);
    // Unless said otherwise: once ever, no flood on switch-on.
    assert_eq!(missed.limit, Limit::Ever);
    assert_eq!(missed.quiet_hours.unwrap().parts(), (18 * 60, 9 * 60, 0));

    let seats = all.get("seat_expansion").unwrap();
    assert_eq!(
        seats.limit,
        Limit::Max {
            count: 2,
            per: Span::days(90)
        }
    );
    assert_eq!(seats.actions[1].action.destination(), Some("crm"));

    let advocate = all.get("advocate_review_request").unwrap();
    assert_eq!(advocate.for_whom.traits["industry"].0, ["fintech", "saas"]);
    assert_eq!(advocate.actions[1].delay, Span::days(7));

    // Five playbooks, five versions.
    let mut versions: Vec<&str> = all.playbooks.iter().map(|p| p.version()).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), 5);
}

#[test]
fn a_changed_playbook_is_a_new_version_and_switching_it_off_is_not() {
    let version = |text: &str| load(text).unwrap().playbooks[0].version().to_owned();
    let base = EXAMPLE.replacen("due_in = \"2d\"", "due_in = \"48h\"", 1);
    let all = load(EXAMPLE).unwrap();
    let drop = |text: &str| {
        load(text)
            .unwrap()
            .get("usage_drop_task")
            .unwrap()
            .version()
            .to_owned()
    };
    // The same span written otherwise is the same playbook.
    assert_eq!(drop(&base), drop(EXAMPLE));
    // Another due date is another.
    assert_ne!(
        drop(&EXAMPLE.replacen("due_in = \"2d\"", "due_in = \"3d\"", 1)),
        drop(EXAMPLE)
    );
    // Stable across loads, and shaped like [health]'s.
    assert_eq!(drop(EXAMPLE), all.get("usage_drop_task").unwrap().version());
    assert!(drop(EXAMPLE).starts_with('p') && drop(EXAMPLE).len() == 13);

    let one = "[[playbooks]]\nname = \"a\"\ntrigger = { stage_entered = \"at_risk\" }\nactions = [{ task = { title = \"t\" } }]\n";
    let off = one.replace("name = \"a\"", "name = \"a\"\nenabled = false");
    let renamed = one.replace("name = \"a\"", "name = \"b\"");
    assert_eq!(version(one), version(&off));
    assert_eq!(version(one), version(&renamed));
    assert_ne!(version(one), version(&one.replace("at_risk", "churned")));
}

const DESTINATIONS: &str = r#"
[[destinations]]
name = "cs_slack"
kind = "slack"
secret_env = "SLACK_URL"

[[destinations]]
name = "crm"
kind = "webhook"
url = "https://crm.example/hook"
secret_env = "CRM_SECRET"
"#;

/// The error for a configuration of the destinations above and `playbooks`, each playbook
/// given as the lines after `[[playbooks]]`.
fn error(playbooks: &[&str]) -> String {
    let mut text = DESTINATIONS.to_owned();
    for p in playbooks {
        text.push_str("\n[[playbooks]]\n");
        text.push_str(p);
        text.push('\n');
    }
    load(&text).expect_err("accepted")
}

const OK: &str = "name = \"ok\"\ntrigger = { signal_raised = \"usage_drop\" }\nactions = [{ task = { title = \"t\" } }]";

#[test]
fn each_mistake_is_refused_with_its_key() {
    let signals = "no_activity, usage_drop, ticket_spike, not_activated, nps_detractor, failed_payment, champion_inactive, seat_utilization, usage_limit, feature_above_plan, active_users_up, advocate_ready, renewal_90, renewal_60, renewal_30";
    let stages =
        "onboarding, activated, adopting, expanding, advocate, renewal_window, at_risk, churned";
    let task = "actions = [{ task = { title = \"t\" } }]";
    let cases: Vec<(String, String)> = vec![
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usge_drop\" }}\n{task}"),
            format!("playbooks[2].trigger.signal_raised: unknown signal \"usge_drop\" (signals: {signals})"),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ stage_entered = \"at-risk\" }}\n{task}"),
            format!("playbooks[2].trigger.stage_entered: unknown stage \"at-risk\" (stages: {stages})"),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ milestone = \"activation\" }}\n{task}"),
            "playbooks[2].trigger.milestone: unknown milestone \"activation\" (milestones: activated, adopted, first_expansion, renewed, advocate, churned)".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usage_drop\", stage_left = \"churned\" }}\n{task}"),
            "playbooks[2].trigger: give exactly one of signal_raised, signal_cleared, stage_entered, stage_left, milestone, event, state, calendar, sla_breached (found signal_raised, stage_left)".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ slack = { destination = \"sales_slack\", text = \"hi\" } }]".into(),
            "playbooks[2].actions[0].slack.destination: unknown destination \"sales_slack\" (destinations: cs_slack, crm)".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ slack = { destination = \"crm\", text = \"hi\" } }]".into(),
            "playbooks[2].actions[0].slack.destination: \"crm\" is a webhook destination; a slack action needs a slack one".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ email = { destination = \"cs_slack\", to = \"a@b.c\", subject = \"s\", body = \"b\" } }]".into(),
            "playbooks[2].actions[0].email.destination: \"cs_slack\" is a slack destination; an email action needs a smtp one".into(),
        ),
        (
            OK.into(),
            "playbooks[2].name: duplicate name \"ok\" (also playbooks[0])".into(),
        ),
        (
            format!("name = \"Renewal 90\"\ntrigger = {{ stage_left = \"churned\" }}\n{task}"),
            "playbooks[2].name: \"Renewal 90\" is not a playbook name: use lowercase letters, digits and _".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ once_per = \"30 days\" }}\n{task}"),
            "playbooks[2].limit.once_per: \"30 days\" is not \"ever\", \"contract\" or a duration such as \"30d\"".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ once_per = \"3xd\" }}\n{task}"),
            "playbooks[2].limit.once_per: bad duration \"3xd\": write a whole number and a unit d, h or m, such as \"3d\", \"12h\" or \"30m\"".into(),
        ),
        (
            "name = \"c\"\ntrigger = { signal_raised = \"usage_drop\" }\nactions = [{ task = { title = \"t\", due_in = \"3w\" } }]".into(),
            "playbooks[2].actions[0].task.due_in: bad duration \"3w\": write a whole number and a unit d, h or m, such as \"3d\", \"12h\" or \"30m\"".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ calendar = \"contract_ends - 90d\" }}\n{task}"),
            "playbooks[2].trigger.calendar: unknown account date \"contract_ends\" in \"contract_ends - 90d\" (dates: contract_end, renewal, conversion, activated, created); write e.g. \"contract_end - 90d\"".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ once_per = \"30d\", every_match = true }}\n{task}"),
            "playbooks[2].limit: give one of once_per, every_match = true, or max with period".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usage_drop\" }}\nlimit = {{ max = 3 }}\n{task}"),
            "playbooks[2].limit.period: max needs the period it counts over, e.g. period = \"30d\"".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ signal_raised = \"usage_drop\" }}\nfor_whom = {{ band = \"amber\" }}\n{task}"),
            "playbooks[2].for_whom.band: unknown band \"amber\" (bands: green, yellow, red)".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ state = {{ band = \"red\" }}, where = [{{ property = \"plan\", equals = \"pro\" }}] }}\n{task}"),
            "playbooks[2].trigger.where: `where` tests an event's properties; use it with `event`".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ event = \"Report Created\", where = [{{ property = \"plan\", equals = \"pro\", exists = true }}] }}\n{task}"),
            "playbooks[2].trigger.where[0]: give exactly one test of equals, not_equals, greater_than, less_than, exists (write two entries to test twice)".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ slack = { destination = \"cs_slack\", text = \"{{ account.name }\" } }]".into(),
            "playbooks[2].actions[0].slack.text: a \"{{\" is not closed by \"}}\"".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ slack = { destination = \"cs_slack\", text = \"{{ customer.name }}\" } }]".into(),
            "playbooks[2].actions[0].slack.text: {{ customer.name }} reads no known object (objects: account, playbook, change, firing)".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ task = { title = \"t\" }, webhook = { destination = \"crm\" } }]".into(),
            "playbooks[2].actions[0]: give exactly one of webhook, slack, email, task, handoff (found webhook, task); write one entry per action".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ delay = \"2d\", task = { title = \"t\" } }, { delay = \"1d\", webhook = { destination = \"crm\" } }]".into(),
            "playbooks[2].actions[1].delay: 1d is earlier than the action before it (2d): delays count from the firing, so list the actions in the order they go out".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = [{ handoff = { team = \"sales\", sla = \"0h\" } }]".into(),
            "playbooks[2].actions[0].handoff.sla: an SLA of 0 is breached at once; give the time the team has, e.g. \"2d\"".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ stage_left = \"churned\" }}\nquiet_hours = {{ from = \"20:00\", to = \"08:00\", time_zone = \"Europe/Paris\" }}\n{task}"),
            "playbooks[2].quiet_hours.time_zone: \"Europe/Paris\" is not UTC or a fixed offset such as \"+02:00\" (named zones are not supported: there is no time zone database)".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ stage_left = \"churned\" }}\nquiet_hours = {{ from = \"8pm\", to = \"08:00\" }}\n{task}"),
            "playbooks[2].quiet_hours.from: \"8pm\" is not a time of day: write \"HH:MM\", e.g. \"20:00\"".into(),
        ),
        (
            format!("name = \"c\"\ntrigger = {{ state = {{ band = \"red\" }}, for_days = 3 }}\nfor_whom = {{ not_reached = \"activation\" }}\n{task}"),
            "playbooks[2].for_whom.not_reached: unknown milestone \"activation\" (milestones: activated, adopted, first_expansion, renewed, advocate, churned)".into(),
        ),
        (
            "name = \"c\"\ntrigger = { stage_left = \"churned\" }\nactions = []".into(),
            "playbooks[2].actions: a playbook needs at least one action".into(),
        ),
    ];
    for (playbook, expected) in cases {
        let second = OK.replace("\"ok\"", "\"second\"");
        assert_eq!(
            error(&[OK, &second, &playbook]),
            expected,
            "for\n{playbook}"
        );
    }
}

#[test]
fn destinations_are_checked_and_never_hold_secrets() {
    let one = |lines: &str| load(&format!("[[destinations]]\n{lines}\n")).expect_err("accepted");
    assert_eq!(
        one("name = \"hook\"\nkind = \"webhook\"\nurl = \"https://x.example\"\nsecret_env = \"whsec_abc123\""),
        "destinations[0].secret_env: \"whsec_abc123\" is not an environment variable name: give the NAME of the variable holding the secret (uppercase letters, digits and _), never the secret itself"
    );
    assert_eq!(
        one("name = \"hook\"\nkind = \"webhook\"\nurl = \"https://x.example\""),
        "destinations[0].secret_env: a webhook destination signs every delivery: name the environment variable holding its secret"
    );
    assert_eq!(
        one("name = \"mail\"\nkind = \"smtp\"\nfrom = \"a@b.c\""),
        "destinations[0].host: an smtp destination needs the server's host"
    );
    assert_eq!(
        one("name = \"hook\"\nkind = \"webhook\"\nurl = \"ftp://x\"\nsecret_env = \"S\""),
        "destinations[0].url: \"ftp://x\" is not an http:// or https:// URL"
    );
    let twice = "[[destinations]]\nname = \"s\"\nkind = \"slack\"\nsecret_env = \"A\"\n[[destinations]]\nname = \"s\"\nkind = \"slack\"\nsecret_env = \"B\"\n";
    assert_eq!(
        load(twice).unwrap_err(),
        "destinations[1].name: duplicate name \"s\" (also destinations[0])"
    );
    // Unknown keys are refused by serde, naming the key.
    let typo =
        load("[[destinations]]\nname = \"s\"\nkind = \"slack\"\nsecret = \"A\"\n").unwrap_err();
    assert!(typo.contains("unknown field `secret`"), "{typo}");
    let cap = load("[playbook_settings]\nmax_firings_per_account_per_day = 0\n").unwrap_err();
    assert_eq!(cap, "playbook_settings.max_firings_per_account_per_day: 0 would stop every playbook; give at least 1 (default 3)");
}

#[test]
fn custom_stages_are_the_vocabulary() {
    let raw: PlaybooksConfig = toml::from_str(
        "[[playbooks]]\nname = \"a\"\ntrigger = { stage_entered = \"trouble\" }\nactions = [{ task = { title = \"t\" } }]\n",
    )
    .unwrap();
    assert!(raw.validate(&Vocabulary::default()).is_err());
    let custom = Vocabulary {
        stages: vec!["paying".into(), "trouble".into()],
    };
    assert!(raw.validate(&custom).is_ok());
}

#[test]
fn routing_rules_and_sla_breaches_are_checked_with_their_keys() {
    let rule = |lines: &str| format!("[[routing]]\n{lines}\n");
    let handoff = |extra: &str| {
        format!("[[playbooks]]\nname = \"h\"\ntrigger = {{ stage_entered = \"onboarding\" }}\nactions = [{{ handoff = {{ {extra}sla = \"1d\" }} }}]\n")
    };
    let sales = rule("name = \"sales_pool\"\nteam = \"sales\"\nround_robin = [\"a@x\", \"b@x\"]");
    let cases: Vec<(String, &str)> = vec![
        (
            rule("name = \"r\"\nteam = \"sales\""),
            "routing[0]: give exactly one of owner, owner_trait, round_robin (found none)",
        ),
        (
            rule("name = \"r\"\nteam = \"sales\"\nowner = \"a@x\"\nowner_trait = \"csm_owner\""),
            "routing[0]: give exactly one of owner, owner_trait, round_robin (found owner, owner_trait)",
        ),
        (
            rule("name = \"r\"\nteam = \"sales\"\nround_robin = []"),
            "routing[0].round_robin: list the owners to spread accounts over, e.g. [\"ana@acme.io\", \"bo@acme.io\"]",
        ),
        (
            rule("name = \"r\"\nteam = \"sales\"\nwhen = { stage = \"sql\" }\nowner = \"a@x\""),
            "routing[0].when.stage: unknown stage \"sql\" (stages: onboarding, activated, adopting, expanding, advocate, renewal_window, at_risk, churned)",
        ),
        (
            rule("name = \"Sales\"\nteam = \"sales\"\nowner = \"a@x\""),
            "routing[0].name: \"Sales\" is not a rule name: use lowercase letters, digits and _",
        ),
        (
            format!("{sales}{sales}"),
            "routing[1].name: duplicate name \"sales_pool\" (also routing[0])",
        ),
        (
            handoff(""),
            "playbooks[0].actions[0].handoff.team: without a team the [[routing]] rules choose one, and none are configured: name the team (e.g. \"sales\") or add [[routing]] rules",
        ),
        (
            handoff("owner_from = \"team\", "),
            "playbooks[0].actions[0].handoff.team: owner_from = \"team\" hands the account to a team's queue: name the team",
        ),
        (
            format!("{sales}[[playbooks]]\nname = \"b\"\ntrigger = {{ sla_breached = \"slaes\" }}\nactions = [{{ task = {{ title = \"t\" }} }}]\n"),
            "playbooks[0].trigger.sla_breached: no handoff or [[routing]] rule hands accounts to \"slaes\" (teams: sales); or write \"any\"",
        ),
        (
            format!("{sales}[[playbooks]]\nname = \"b\"\ntrigger = {{ sla_breached = \"sales\" }}\nlimit = {{ once_per = \"1d\" }}\nactions = [{{ task = {{ title = \"t\" }} }}]\n"),
            "playbooks[0].limit: an sla_breached playbook fires once per breach with `every_match = true`, or once ever or per contract; `once_per` and `max` would fire again for the same breach at later ticks",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(load(&text).expect_err("accepted"), expected, "for\n{text}");
    }

    // Accepted: a handoff without a team, and a breach trigger on a routed team and on any.
    let text = format!("{sales}{}[[playbooks]]\nname = \"b\"\ntrigger = {{ sla_breached = \"sales\" }}\nactions = [{{ task = {{ title = \"t\" }} }}]\n[[playbooks]]\nname = \"c\"\ntrigger = {{ sla_breached = \"any\" }}\nactions = [{{ task = {{ title = \"t\" }} }}]\n", handoff(""));
    let all = load(&text).unwrap();
    assert_eq!(all.routing.len(), 1);
    let Action::Handoff(h) = &all.playbooks[0].actions[0].action else {
        panic!("a handoff");
    };
    assert_eq!((h.team.as_deref(), h.routes.len()), (None, 1));
    assert_eq!(
        all.playbooks[1].trigger,
        Trigger::SlaBreached("sales".into())
    );
    assert_eq!(all.playbooks[2].trigger, Trigger::SlaBreached("any".into()));

    // The routing is not part of a playbook's version: editing it does not fire anew.
    let edited = text.replace("[\"a@x\", \"b@x\"]", "[\"c@x\"]");
    assert_eq!(
        load(&edited).unwrap().playbooks[0].version(),
        all.playbooks[0].version()
    );
}
