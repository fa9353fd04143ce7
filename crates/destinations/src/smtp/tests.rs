//! SMTP against a minimal SMTP server on loopback, written in `test_support`.

use serde_json::{json, Value};
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::test_support::{closed_port, SmtpReceiver};

fn config(port: u16, username: Option<&str>) -> Config {
    Config {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        from: Some("Acme CS <cs@acme.io>".into()),
        username: username.map(str::to_owned),
        secret_env: username.map(|_| "TENURE_SMTP_PASSWORD".to_owned()),
        ..Config::named("mail", DestinationKind::Smtp)
    }
}

fn env(name: &str) -> Option<String> {
    (name == "TENURE_SMTP_PASSWORD").then(|| "s3cret pass".to_owned())
}

fn send(destination: &dyn Destination, id: i64, key: &str, payload: &Value) -> Outcome {
    destination.send(&Outgoing {
        delivery_id: id,
        idempotency_key: key,
        payload,
        attempt: 1,
    })
}

fn onboarding() -> Value {
    json!({
        "to": ["owner@globex.com", "Second Person <second@globex.com>"],
        "subject": "Globex has not activated by day 14",
        "text": "Hi,\n\nGlobex signed up 14 days ago and has not created a project.\n.\nA line that starts with a dot survives.\n",
    })
}

#[test]
fn a_message_arrives_with_its_headers_body_and_authentication() {
    let receiver = SmtpReceiver::start(vec![]);
    let destination = crate::build(&config(receiver.port, Some("tenure")), &env).unwrap();
    assert_eq!(
        send(&*destination, 12, "pb-activation-v1-globex", &onboarding()),
        Outcome::Delivered { code: Some(250) }
    );
    let mails = receiver.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.auth, Some(("tenure".into(), "s3cret pass".into())));
    assert_eq!(mail.from, "cs@acme.io");
    assert_eq!(mail.to, ["owner@globex.com", "second@globex.com"]);
    assert_eq!(mail.header("From").unwrap(), "\"Acme CS\" <cs@acme.io>");
    assert_eq!(
        mail.header("To").unwrap(),
        "owner@globex.com, \"Second Person\" <second@globex.com>"
    );
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Globex has not activated by day 14"
    );
    assert_eq!(
        mail.header("Message-ID").unwrap(),
        message_id("pb-activation-v1-globex", "acme.io")
    );
    assert_eq!(mail.header(DELIVERY_HEADER).unwrap(), "12");
    assert!(mail.header("User-Agent").unwrap().starts_with("tenure/"));
    assert_eq!(
        mail.header("Content-Type").unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        mail.body().replace("\r\n", "\n"),
        "Hi,\n\nGlobex signed up 14 days ago and has not created a project.\n.\nA line that starts with a dot survives.\n"
    );
}

#[test]
fn replies_are_classified_and_a_retry_keeps_its_message_id() {
    let receiver = SmtpReceiver::start(vec![
        "451 4.3.0 mailbox busy, try later",
        "550 5.1.1 no such user",
    ]);
    let destination = crate::build(&config(receiver.port, None), &env).unwrap();
    let payload = json!({ "to": "owner@globex.com", "subject": "renewal", "text": "in 30 days" });
    match send(&*destination, 1, "key-1", &payload) {
        Outcome::RetryLater {
            code: Some(451),
            reason,
            after: None,
        } => assert!(reason.contains("mailbox busy"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match send(&*destination, 2, "key-2", &payload) {
        Outcome::Permanent {
            code: Some(550),
            reason,
        } => assert!(reason.contains("no such user"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Delivery 1 again, as the outbox retries it: same Message-ID as its first attempt.
    assert_eq!(
        send(&*destination, 1, "key-1", &payload),
        Outcome::Delivered { code: Some(250) }
    );
    assert_eq!(receiver.data_answered(), 3);
    let mails = receiver.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].auth, None);
    assert_eq!(
        mails[0].header("Message-ID").unwrap(),
        message_id("key-1", "acme.io")
    );
    assert_ne!(
        message_id("key-1", "acme.io"),
        message_id("key-2", "acme.io")
    );
}

#[test]
fn no_server_is_retried() {
    let destination = crate::build(&config(closed_port(), None), &env).unwrap();
    let payload = json!({ "to": ["a@b.io"], "subject": "s", "text": "t" });
    assert!(matches!(
        send(&*destination, 1, "k", &payload),
        Outcome::RetryLater { code: None, .. }
    ));
}

#[test]
fn a_payload_that_makes_no_email_is_permanent_and_sends_nothing() {
    let receiver = SmtpReceiver::start(vec![]);
    let destination = crate::build(&config(receiver.port, None), &env).unwrap();
    for (payload, says) in [
        (json!({ "subject": "s", "text": "t" }), "no \"to\""),
        (
            json!({ "to": " , ", "subject": "s", "text": "t" }),
            "\"to\" is empty",
        ),
        (
            json!({ "to": ["not an address"], "subject": "s", "text": "t" }),
            "is not an e-mail address",
        ),
        (json!({ "to": ["a@b.io"], "text": "t" }), "no \"subject\""),
        (json!({ "to": ["a@b.io"], "subject": "s" }), "no \"text\""),
    ] {
        match send(&*destination, 1, "k", &payload) {
            Outcome::Permanent { code: None, reason } => assert!(reason.contains(says), "{reason}"),
            other => panic!("{payload}: {other:?}"),
        }
    }
    assert_eq!(receiver.data_answered(), 0);
}

#[test]
fn encryption_follows_port_and_host_and_settings_errors_say_what_to_do() {
    assert_eq!(
        Encryption::for_server("smtp.acme.io", 465),
        Encryption::Implicit
    );
    assert_eq!(
        Encryption::for_server("smtp.acme.io", 587),
        Encryption::StartTls
    );
    assert_eq!(
        Encryption::for_server("smtp.acme.io", 25),
        Encryption::StartTls
    );
    assert_eq!(
        Encryption::for_server("localhost", 25),
        Encryption::Opportunistic
    );
    assert_eq!(
        Encryption::for_server("127.0.0.1", 2525),
        Encryption::Opportunistic
    );
    assert_eq!(
        Encryption::for_server("[::1]", 25),
        Encryption::Opportunistic
    );

    let err = crate::build(&config(25, Some("tenure")), &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "destination mail: the environment variable TENURE_SMTP_PASSWORD is not set or is empty: set it to the SMTP password before starting tenure"
    );
    let mut bad_from = config(25, None);
    bad_from.from = Some("cs at acme".into());
    let err = crate::build(&bad_from, &env).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("destination mail: from: \"cs at acme\" is not an e-mail address"),
        "{err}"
    );
    let destination = crate::build(&config(25, Some("tenure")), &env).unwrap();
    assert!(!format!("{destination:?}").contains("s3cret"));
}
