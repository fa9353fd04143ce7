//! The webhook against a real HTTP receiver on loopback that verifies every signature.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::test_support::{closed_port, HttpReceiver, Reply, Request};

const SECRET: &str = "whsec_loopback";

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// What a careful receiver checks before it acts: the signature under its secret, within the
/// tolerance, over the raw body; and the headers every delivery carries.
fn receiver_checks(secret: &'static str) -> impl Fn(&Request) -> Result<(), String> {
    move |r| {
        let header = r.header(SIGNATURE_HEADER).ok_or("no signature")?;
        verify(
            secret.as_bytes(),
            header,
            &r.body,
            now_unix(),
            DEFAULT_TOLERANCE_SECS,
        )
        .map_err(|e| e.to_string())?;
        if r.method != "POST" || r.path != "/hook" {
            return Err(format!("{} {}", r.method, r.path));
        }
        if r.header("content-type") != Some("application/json") {
            return Err("not JSON".into());
        }
        r.header(DELIVERY_HEADER)
            .ok_or("no delivery id")?
            .parse::<i64>()
            .map_err(|e| e.to_string())?;
        r.header("idempotency-key").ok_or("no idempotency key")?;
        Ok(())
    }
}

fn config(url: &str) -> Config {
    Config {
        url: Some(url.into()),
        secret_env: Some("TENURE_CRM_SECRET".into()),
        ..Config::named("crm", DestinationKind::Webhook)
    }
}

fn env(name: &str) -> Option<String> {
    (name == "TENURE_CRM_SECRET").then(|| SECRET.to_owned())
}

fn outgoing<'a>(
    id: i64,
    key: &'a str,
    payload: &'a serde_json::Value,
    attempt: u32,
) -> Outgoing<'a> {
    Outgoing {
        delivery_id: id,
        idempotency_key: key,
        payload,
        attempt,
    }
}

#[test]
fn scripted_answers_are_classified_and_every_delivery_is_signed() {
    let receiver = HttpReceiver::scripted(
        vec![
            Reply::new(500, "internal error"),
            Reply::new(429, "slow down").with_header("Retry-After", "3"),
            Reply::new(400, "unknown field \"acount\""),
        ],
        receiver_checks(SECRET),
    );
    let webhook = crate::build(&config(&receiver.url), &env).unwrap();
    assert_eq!(webhook.name(), "crm");
    let payload = json!({"playbook": "renewal_90", "account": {"id": "acme", "name": "Acme"}});
    let outcomes: Vec<Outcome> = (1..=4)
        .map(|attempt| {
            webhook.send(&outgoing(
                41,
                "pb-renewal_90-v1-acme-2026",
                &payload,
                attempt,
            ))
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::RetryLater {
                code: Some(500),
                reason: "internal error".into(),
                after: None
            },
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(3))
            },
            Outcome::Permanent {
                code: Some(400),
                reason: "unknown field \"acount\"".into()
            },
            Outcome::Delivered { code: Some(200) },
        ]
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.header(DELIVERY_HEADER), Some("41"));
        assert_eq!(
            r.header("idempotency-key"),
            Some("pb-renewal_90-v1-acme-2026")
        );
        assert_eq!(r.json(), payload);
        let agent = r.header("user-agent").unwrap();
        assert!(agent.starts_with("tenure/") && agent.contains(env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn the_receiver_counts_deliveries_by_id_and_sees_retries_as_repeats() {
    // Every second request fails once: each delivery is retried until delivered, and the
    // receiver, counting by Tenure-Delivery, sees each delivery id, none twice accepted.
    let receiver = HttpReceiver::scripted(
        vec![
            Reply::new(503, ""),
            Reply::new(200, "ok"),
            Reply::new(502, ""),
        ],
        receiver_checks(SECRET),
    );
    let webhook = crate::build(&config(&receiver.url), &env).unwrap();
    for id in 1..=5 {
        let key = format!("key-{id}");
        let payload = json!({"n": id});
        let mut attempt = 1;
        loop {
            match webhook.send(&outgoing(id, &key, &payload, attempt)) {
                Outcome::Delivered { .. } => break,
                Outcome::RetryLater { .. } => attempt += 1,
                other => panic!("{other:?}"),
            }
            assert!(attempt <= 3);
        }
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 7);
    let ids: BTreeSet<&str> = requests
        .iter()
        .filter_map(|r| r.header(DELIVERY_HEADER))
        .collect();
    assert_eq!(ids, BTreeSet::from(["1", "2", "3", "4", "5"]));
    for r in &requests {
        let id = r.header(DELIVERY_HEADER).unwrap();
        assert_eq!(
            r.header("idempotency-key"),
            Some(format!("key-{id}").as_str())
        );
    }
}

#[test]
fn a_receiver_with_another_secret_refuses_and_that_is_permanent() {
    let receiver = HttpReceiver::scripted(vec![], receiver_checks("whsec_someone_else"));
    let webhook = crate::build(&config(&receiver.url), &env).unwrap();
    let payload = json!({});
    match webhook.send(&outgoing(1, "k", &payload, 1)) {
        Outcome::Permanent {
            code: Some(400),
            reason,
        } => {
            assert!(reason.contains("no v1 signature matches"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_listener_is_retried_and_a_redirect_is_not_followed() {
    let webhook = crate::build(
        &config(&format!("http://127.0.0.1:{}/hook", closed_port())),
        &env,
    )
    .unwrap();
    let payload = json!({});
    match webhook.send(&outgoing(1, "k", &payload, 1)) {
        Outcome::RetryLater {
            code: None,
            reason,
            after: None,
        } => {
            assert!(reason.starts_with("cannot connect"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let receiver = HttpReceiver::scripted(
        vec![Reply::new(301, "").with_header("Location", "https://elsewhere.example/hook")],
        |_| Ok(()),
    );
    let webhook = crate::build(&config(&receiver.url), &env).unwrap();
    match webhook.send(&outgoing(1, "k", &payload, 1)) {
        Outcome::Permanent {
            code: Some(301),
            reason,
        } => {
            assert!(
                reason.contains("https://elsewhere.example/hook"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn a_missing_secret_names_the_variable() {
    let err = crate::build(&config("http://127.0.0.1:9/hook"), &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "destination crm: the environment variable TENURE_CRM_SECRET is not set or is empty: set it to the webhook's signing secret before starting tenure"
    );
    let err = crate::build(&config("http://127.0.0.1:9/hook"), &|_| Some("  ".into())).unwrap_err();
    assert!(matches!(err, crate::DestinationError::MissingSecret { .. }));
    // Debug never shows the secret.
    let webhook = crate::build(&config("http://127.0.0.1:9/hook"), &env).unwrap();
    assert!(!format!("{webhook:?}").contains(SECRET));
}
