//! Slack against a Slack-compatible receiver on loopback that checks the Block Kit shape as
//! Slack does, and answers Slack's own errors.

use std::time::Duration;

use serde_json::{json, Value};
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::test_support::{HttpReceiver, Reply, Request};

/// The block types Slack accepts in a message.
const BLOCK_TYPES: &[&str] = &[
    "section",
    "context",
    "actions",
    "header",
    "divider",
    "image",
    "rich_text",
    "input",
    "file",
    "video",
];

/// Slack's checks, the ones our messages could fail: JSON with a text, a blocks array, each
/// block of a known type, every text object `mrkdwn` or `plain_text` (a header's and a
/// button's only `plain_text`), a section's text at most 3,000 characters.
fn slack_checks(r: &Request) -> Result<(), String> {
    let invalid = |what: &str| Err(format!("invalid_blocks ({what})"));
    if r.header("content-type") != Some("application/json") {
        return Err("invalid_payload".into());
    }
    let Ok(m) = serde_json::from_slice::<Value>(&r.body) else {
        return Err("invalid_payload".into());
    };
    if m["text"].as_str().is_none_or(str::is_empty) {
        return Err("no_text".into());
    }
    let Some(blocks) = m["blocks"].as_array() else {
        return invalid("no blocks array");
    };
    for block in blocks {
        let kind = block["type"].as_str().unwrap_or_default();
        if !BLOCK_TYPES.contains(&kind) {
            return invalid(kind);
        }
        let texts: Vec<&Value> = match kind {
            "section" | "header" => vec![&block["text"]],
            "context" => block["elements"]
                .as_array()
                .ok_or("context without elements")?
                .iter()
                .collect(),
            "actions" => block["elements"]
                .as_array()
                .ok_or("actions without elements")?
                .iter()
                .map(|e| &e["text"])
                .collect(),
            _ => vec![],
        };
        for text in texts {
            let t = text["type"].as_str().unwrap_or_default();
            let plain_only = matches!(kind, "header" | "actions");
            if !(t == "plain_text" || (t == "mrkdwn" && !plain_only)) {
                return invalid(&format!("text type {t:?} in {kind}"));
            }
            if text["text"]
                .as_str()
                .is_none_or(|s| s.chars().count() > 3000)
            {
                return invalid("text missing or too long");
            }
        }
    }
    Ok(())
}

fn slack(receiver: &HttpReceiver) -> Box<dyn Destination> {
    let config = Config {
        secret_env: Some("TENURE_SLACK_URL".into()),
        ..Config::named("cs_channel", DestinationKind::Slack)
    };
    let url = receiver.url.clone();
    crate::build(&config, &move |name| {
        (name == "TENURE_SLACK_URL").then(|| url.clone())
    })
    .unwrap()
}

fn send(destination: &dyn Destination, payload: &Value) -> Outcome {
    destination.send(&Outgoing {
        delivery_id: 7,
        idempotency_key: "pb-renewal_30-v2-acme",
        payload,
        attempt: 1,
    })
}

fn payload() -> Value {
    json!({
        "text": "*Acme* renews in 30 days (ARR $48,000)",
        "playbook": "renewal_30",
        "account": { "name": "Acme", "url": "https://tenure.acme.io/accounts/acme" },
    })
}

#[test]
fn a_message_passes_slacks_checks_and_is_delivered() {
    let receiver = HttpReceiver::scripted(vec![], slack_checks);
    let destination = slack(&receiver);
    assert_eq!(
        send(&*destination, &payload()),
        Outcome::Delivered { code: Some(200) }
    );
    let plain = json!({ "text": "usage fell 40% at Globex" });
    assert_eq!(
        send(&*destination, &plain),
        Outcome::Delivered { code: Some(200) }
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let m = requests[0].json();
    assert_eq!(m["text"], "*Acme* renews in 30 days (ARR $48,000)");
    assert_eq!(
        m["blocks"][2]["elements"][0]["url"],
        "https://tenure.acme.io/accounts/acme"
    );
}

#[test]
fn slacks_errors_are_classified() {
    let receiver = HttpReceiver::scripted(
        vec![
            Reply::new(429, "rate_limited").with_header("Retry-After", "30"),
            Reply::new(500, "rollup_error"),
            Reply::new(404, "channel_not_found"),
            Reply::new(410, "no_service"),
            Reply::new(403, "action_prohibited"),
        ],
        slack_checks,
    );
    let destination = slack(&receiver);
    let outcomes: Vec<Outcome> = (0..5).map(|_| send(&*destination, &payload())).collect();
    let permanent = |code, reason: &str| Outcome::Permanent {
        code: Some(code),
        reason: reason.into(),
    };
    assert_eq!(
        outcomes,
        [
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(30))
            },
            Outcome::RetryLater {
                code: Some(500),
                reason: "rollup_error".into(),
                after: None
            },
            permanent(404, "channel_not_found"),
            permanent(410, "no_service"),
            permanent(403, "action_prohibited"),
        ]
    );
}

#[test]
fn a_payload_slack_would_refuse_is_refused_here_without_a_call() {
    let receiver = HttpReceiver::scripted(vec![], slack_checks);
    let destination = slack(&receiver);
    match send(&*destination, &json!({ "playbook": "renewal_30" })) {
        Outcome::Permanent { code: None, reason } => assert!(reason.contains("no \"text\"")),
        other => panic!("{other:?}"),
    }
    assert!(receiver.requests().is_empty());
}

#[test]
fn the_url_comes_from_the_environment_and_stays_out_of_debug() {
    let receiver = HttpReceiver::scripted(vec![], slack_checks);
    let destination = slack(&receiver);
    assert!(!format!("{destination:?}").contains(&receiver.url));
    let config = Config {
        secret_env: Some("TENURE_SLACK_URL".into()),
        ..Config::named("cs_channel", DestinationKind::Slack)
    };
    let err = crate::build(&config, &|_| {
        Some("hooks.slack.com/services/T0/B0/x".into())
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("does not start with https://"),
        "{err}"
    );
    assert!(!err.to_string().contains("T0/B0"));
    let err = crate::build(&config, &|_| None).unwrap_err();
    assert!(
        err.to_string().contains("TENURE_SLACK_URL is not set"),
        "{err}"
    );
}

#[test]
fn a_failed_call_keeps_the_secret_url_out_of_its_reason() {
    let url = format!(
        "http://127.0.0.1:{}/services/T0/B0/s3cretpath",
        crate::test_support::closed_port()
    );
    let destination = Slack::new("cs_channel", &url).unwrap();
    match send(&destination, &payload()) {
        Outcome::RetryLater {
            code: None, reason, ..
        } => {
            assert!(reason.starts_with("cannot connect"), "{reason}");
            assert!(
                !reason.contains("s3cretpath") && !reason.contains("127.0.0.1"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}
