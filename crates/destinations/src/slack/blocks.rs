//! The Block Kit message built from a payload `{ "text", "playbook", "account": { "name",
//! "url" } }`: the text as a section, a context line naming the playbook and the account, and
//! a button to the account's page when there is one. The top-level `text` is kept too: Slack
//! shows it in notifications and where blocks cannot be shown.

use serde_json::{json, Value};

/// A section's text may be at most 3,000 characters (Slack refuses the whole message beyond).
const SECTION_CHARS: usize = 3000;
/// A message's top-level text may be at most 40,000 characters.
const TEXT_CHARS: usize = 40_000;

/// The message, or why the payload cannot make one.
pub fn message(payload: &Value) -> Result<Value, String> {
    let text = payload
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or("the payload has no \"text\": a Slack action needs the message's text")?;
    let playbook = payload.get("playbook").and_then(Value::as_str);
    let account = payload.get("account");
    let account_name = account.and_then(|a| a.get("name")).and_then(Value::as_str);
    let account_url = account
        .and_then(|a| a.get("url"))
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));

    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": cut(text, SECTION_CHARS) },
    })];
    // The text is the user's template, rendered, and may hold Slack links on purpose; the
    // fields we add ourselves are escaped, so an account called "<!channel>" pings nobody.
    let mut context = Vec::new();
    if let Some(playbook) = playbook {
        context.push(format!("Playbook *{}*", escape(playbook)));
    }
    match (account_name, account_url) {
        (Some(name), Some(url)) => context.push(format!("Account <{url}|{}>", escape(name))),
        (Some(name), None) => context.push(format!("Account *{}*", escape(name))),
        (None, _) => {}
    }
    if !context.is_empty() {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": context.join("  ·  ") }],
        }));
    }
    if let Some(url) = account_url {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open account" },
                "url": url,
            }],
        }));
    }
    Ok(json!({ "text": cut(text, TEXT_CHARS), "blocks": blocks }))
}

/// Slack's three control characters in mrkdwn.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(chars - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_message() {
        let payload = json!({
            "text": "*Acme* renews in 30 days",
            "playbook": "renewal_30",
            "account": { "name": "Acme & Co <EU>", "url": "https://tenure.acme.io/accounts/acme" },
        });
        assert_eq!(
            message(&payload).unwrap(),
            json!({
                "text": "*Acme* renews in 30 days",
                "blocks": [
                    { "type": "section", "text": { "type": "mrkdwn", "text": "*Acme* renews in 30 days" } },
                    { "type": "context", "elements": [{ "type": "mrkdwn",
                        "text": "Playbook *renewal_30*  ·  Account <https://tenure.acme.io/accounts/acme|Acme &amp; Co &lt;EU&gt;>" }] },
                    { "type": "actions", "elements": [{ "type": "button",
                        "text": { "type": "plain_text", "text": "Open account" },
                        "url": "https://tenure.acme.io/accounts/acme" }] },
                ],
            })
        );
    }

    #[test]
    fn without_a_link_there_is_no_button_and_without_fields_no_context() {
        let m = message(&json!({"text": "hi", "account": {"name": "Acme"}})).unwrap();
        let types: Vec<&str> = m["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["section", "context"]);
        assert_eq!(m["blocks"][1]["elements"][0]["text"], "Account *Acme*");
        let m = message(&json!({"text": "hi"})).unwrap();
        assert_eq!(m["blocks"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn long_text_is_cut_to_slack_limits_and_no_text_is_refused() {
        let long = "a".repeat(5000);
        let m = message(&json!({ "text": long })).unwrap();
        assert_eq!(m["text"].as_str().unwrap().len(), 5000);
        let section = m["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(section.chars().count(), 3000);
        assert!(section.ends_with('…'));
        for payload in [json!({}), json!({"text": " "}), json!({"text": 3})] {
            assert!(message(&payload).unwrap_err().contains("no \"text\""));
        }
    }
}
