//! What a playbook does: its actions, each optionally delayed to form a sequence.
//!
//! Texts sent (a Slack message, an e-mail's subject and body) are templates with fields
//! written `{{ account.name }}`: a dotted path whose first part is one of
//! [`TEMPLATE_ROOTS`], checked at load ([`check_template`]) and filled in by
//! [`render_template`]. Nothing more (no statements, no filters), so a template never does
//! more than fill in fields, and the syntax stays the subset of Jinja's that people know.

use serde::{Deserialize, Serialize};

use crate::config::{Destination, DestinationKind};
use crate::routing::{Route, Routed};
use crate::span::Span;
use crate::PlaybookError;

/// The objects a template may read fields of: the account (its status and profile), the
/// playbook, the change that fired it and the firing itself.
pub const TEMPLATE_ROOTS: &[&str] = &["account", "playbook", "change", "firing"];

/// Checks a template: every `{{` is closed by `}}` around one dotted field path of
/// lowercase names under one of [`TEMPLATE_ROOTS`]; statements (`{%`) and comments (`{#`) are
/// refused, so a template never does more than fill in fields.
pub fn check_template(text: &str) -> Result<(), String> {
    for opener in ["{%", "{#"] {
        if text.contains(opener) {
            return Err(format!(
                "templates only fill in fields such as {{{{ account.name }}}}; {opener:?} is not supported"
            ));
        }
    }
    for piece in pieces(text) {
        let field = match piece {
            Piece::Unclosed(_) => return Err("a \"{{\" is not closed by \"}}\"".into()),
            Piece::Text(t) if t.contains("}}") => return Err("a \"}}\" closes no \"{{\"".into()),
            Piece::Text(_) => continue,
            Piece::Field(field) => field,
        };
        let name_ok = |p: &str| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let parts: Vec<&str> = field.split('.').collect();
        if !parts.iter().all(|p| name_ok(p)) {
            return Err(format!(
                "{{{{ {field} }}}} is not a field: write a dotted path of lowercase names such as {{{{ account.name }}}}"
            ));
        }
        if !TEMPLATE_ROOTS.contains(&parts[0]) || parts.len() < 2 {
            return Err(format!(
                "{{{{ {field} }}}} reads no known object (objects: {})",
                TEMPLATE_ROOTS.join(", ")
            ));
        }
    }
    Ok(())
}

/// `text` with each `{{ field }}` replaced by `field`'s value; a field without one (an
/// account without an owner) is left empty, as Jinja leaves an undefined value. `text` is a
/// template [`check_template`] accepted.
pub fn render_template(text: &str, field: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) | Piece::Unclosed(t) => out.push_str(t),
            Piece::Field(name) => out.push_str(&field(name).unwrap_or_default()),
        }
    }
    out
}

/// A part of a template: literal text, a field between `{{` and `}}` (its name trimmed), or
/// the rest of a text whose last `{{` is not closed (left as it is).
enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
    Unclosed(&'a str),
}

/// A template's parts, in order: what [`check_template`] checks and [`render_template`] fills.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push(Piece::Unclosed(&rest[start..]));
            return out;
        };
        out.push(Piece::Field(after[..end].trim()));
        rest = &after[end + 2..];
    }
    out.push(Piece::Text(rest));
    out
}

/// An outbound webhook, signed with the destination's secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub destination: String,
}

/// A Slack-compatible message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    pub destination: String,
    pub text: String,
}

/// An e-mail over SMTP; every field but the destination is a template (`to` typically
/// `{{ account.owner_email }}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub destination: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// `task` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    pub title: String,
    #[serde(default)]
    pub due_in: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A task for the account's owner, stored in tenure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// A template.
    pub title: String,
    /// Due this long after it is created; none, no due date.
    pub due_in: Option<Span>,
    /// A template.
    pub note: Option<String>,
}

/// Where a handoff takes the new owner from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerFrom {
    /// The routing rules pick the owner within the team.
    #[default]
    Routing,
    /// The team's queue, no one in particular.
    Team,
}

/// `handoff` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffConfig {
    /// None: the `[[routing]]` rules choose the team as well as the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    pub owner_from: OwnerFrom,
    pub sla: String,
}

/// Hands the account over to a team, whose owner must act within the SLA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handoff {
    /// None: the routing rules choose the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub owner_from: OwnerFrom,
    pub sla: Span,
    /// The `[[routing]]` rules that may apply (those of `team`, or all without one), in order.
    /// Not part of the playbook's version: editing the routing changes who later handoffs go
    /// to, it does not make the playbook fire anew.
    #[serde(skip)]
    pub routes: Vec<Route>,
}

impl Handoff {
    /// Where the account of `status` goes: the routing rules' choice
    /// ([`route`](crate::route)), or the team's queue with `owner_from = "team"`; `None` when
    /// no team is named and no rule holds.
    pub fn routed(&self, status: &crate::Status) -> Option<Routed> {
        match self.owner_from {
            OwnerFrom::Routing => crate::routing::route(&self.routes, self.team.as_deref(), status),
            OwnerFrom::Team => self.team.as_ref().map(|t| Routed {
                team: t.clone(),
                owner: None,
                rule: None,
                method: "queue",
            }),
        }
    }
}

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Webhook(Webhook),
    Slack(Slack),
    Email(Email),
    Task(Task),
    Handoff(Handoff),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Webhook(_) => "webhook",
            Action::Slack(_) => "slack",
            Action::Email(_) => "email",
            Action::Task(_) => "task",
            Action::Handoff(_) => "handoff",
        }
    }

    /// The destination it is delivered to; tasks and handoffs stay in tenure.
    pub fn destination(&self) -> Option<&str> {
        match self {
            Action::Webhook(a) => Some(&a.destination),
            Action::Slack(a) => Some(&a.destination),
            Action::Email(a) => Some(&a.destination),
            Action::Task(_) | Action::Handoff(_) => None,
        }
    }
}

/// One entry of `actions` as written: exactly one action, and an optional `delay`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepConfig {
    pub delay: Option<String>,
    pub webhook: Option<Webhook>,
    pub slack: Option<Slack>,
    pub email: Option<Email>,
    pub task: Option<TaskConfig>,
    pub handoff: Option<HandoffConfig>,
}

/// One action of a playbook and how long after the firing it is due. Delays count from the
/// firing, not from the previous action, so each action's time reads on its own line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub delay: Span,
    pub action: Action,
}

impl StepConfig {
    pub(crate) fn validate(
        &self,
        key: &str,
        destinations: &[Destination],
        routes: &[Route],
    ) -> Result<Step, PlaybookError> {
        let err =
            |field: &str, message: String| PlaybookError::new(format!("{key}.{field}"), message);
        let span = |field: &str, text: &str| Span::parse(text).map_err(|m| err(field, m));
        let template = |field: &str, text: &str| check_template(text).map_err(|m| err(field, m));
        let delay = match &self.delay {
            Some(d) => span("delay", d)?,
            None => Span::ZERO,
        };
        let mut actions = Vec::new();
        if let Some(a) = &self.webhook {
            destination(
                &format!("{key}.webhook"),
                &a.destination,
                DestinationKind::Webhook,
                "a webhook",
                destinations,
            )?;
            actions.push(Action::Webhook(a.clone()));
        }
        if let Some(a) = &self.slack {
            destination(
                &format!("{key}.slack"),
                &a.destination,
                DestinationKind::Slack,
                "a slack",
                destinations,
            )?;
            template("slack.text", &a.text)?;
            actions.push(Action::Slack(a.clone()));
        }
        if let Some(a) = &self.email {
            destination(
                &format!("{key}.email"),
                &a.destination,
                DestinationKind::Smtp,
                "an email",
                destinations,
            )?;
            template("email.to", &a.to)?;
            template("email.subject", &a.subject)?;
            template("email.body", &a.body)?;
            actions.push(Action::Email(a.clone()));
        }
        if let Some(t) = &self.task {
            if t.title.trim().is_empty() {
                return Err(err("task.title", "a task needs a title".into()));
            }
            template("task.title", &t.title)?;
            if let Some(note) = &t.note {
                template("task.note", note)?;
            }
            let due_in = match &t.due_in {
                Some(d) => Some(span("task.due_in", d)?),
                None => None,
            };
            actions.push(Action::Task(Task {
                title: t.title.clone(),
                due_in,
                note: t.note.clone(),
            }));
        }
        if let Some(h) = &self.handoff {
            let team = h.team.as_deref().map(str::trim);
            match (team, h.owner_from) {
                (Some(""), _) => {
                    return Err(err(
                        "handoff.team",
                        "name the team that takes the account over, e.g. \"sales\"".into(),
                    ))
                }
                (None, OwnerFrom::Team) => {
                    return Err(err(
                        "handoff.team",
                        "owner_from = \"team\" hands the account to a team's queue: name the team"
                            .into(),
                    ))
                }
                (None, OwnerFrom::Routing) if routes.is_empty() => {
                    return Err(err(
                        "handoff.team",
                        "without a team the [[routing]] rules choose one, and none are configured: name the team (e.g. \"sales\") or add [[routing]] rules".into(),
                    ))
                }
                _ => {}
            }
            let sla = span("handoff.sla", &h.sla)?;
            if sla == Span::ZERO {
                return Err(err(
                    "handoff.sla",
                    "an SLA of 0 is breached at once; give the time the team has, e.g. \"2d\""
                        .into(),
                ));
            }
            let routes = match h.owner_from {
                OwnerFrom::Team => Vec::new(),
                OwnerFrom::Routing => routes
                    .iter()
                    .filter(|r| team.is_none_or(|t| t == r.team))
                    .cloned()
                    .collect(),
            };
            actions.push(Action::Handoff(Handoff {
                team: team.map(str::to_owned),
                owner_from: h.owner_from,
                sla,
                routes,
            }));
        }
        if actions.len() != 1 {
            return Err(PlaybookError::new(
                key.to_owned(),
                format!(
                    "give exactly one of webhook, slack, email, task, handoff (found {}); write one entry per action",
                    if actions.is_empty() {
                        "none".to_owned()
                    } else {
                        actions.iter().map(Action::kind).collect::<Vec<_>>().join(", ")
                    }
                ),
            ));
        }
        Ok(Step {
            delay,
            action: actions.remove(0),
        })
    }
}

/// Checks that `name` is a configured destination of `kind`.
fn destination(
    key: &str,
    name: &str,
    kind: DestinationKind,
    action: &str,
    destinations: &[Destination],
) -> Result<(), PlaybookError> {
    let err = |message: String| PlaybookError::new(format!("{key}.destination"), message);
    match destinations.iter().find(|d| d.name == name) {
        None if destinations.is_empty() => Err(err(format!(
            "unknown destination {name:?} (no [[destinations]] are configured)"
        ))),
        None => Err(err(format!(
            "unknown destination {name:?} (destinations: {})",
            destinations
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        Some(d) if d.kind != kind => Err(err(format!(
            "{name:?} is a {} destination; {action} action needs a {} one",
            d.kind.name(),
            kind.name()
        ))),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_fills_in_its_fields_and_leaves_missing_ones_empty() {
        let fields = |name: &str| match name {
            "account.name" => Some("Acme".to_owned()),
            "account.arr" => Some("$12,000".to_owned()),
            _ => None,
        };
        let text = "{{ account.name }} renews ({{account.arr}} ARR), owner {{ account.owner }}.";
        assert!(check_template(text).is_ok());
        assert_eq!(
            render_template(text, &fields),
            "Acme renews ($12,000 ARR), owner ."
        );
        assert_eq!(render_template("no fields", &fields), "no fields");
        assert_eq!(
            render_template("{{ account.name", &fields),
            "{{ account.name"
        );
    }

    #[test]
    fn a_template_with_a_stray_brace_pair_is_refused_wherever_it_is() {
        let unclosed = Err("a \"{{\" is not closed by \"}}\"".to_owned());
        let stray = Err("a \"}}\" closes no \"{{\"".to_owned());
        assert_eq!(check_template("Hi {{ account.name"), unclosed);
        assert_eq!(check_template("Hi }} {{ account.name }}"), stray);
        assert_eq!(check_template("{{ account.name }} and }}"), stray);
        assert_eq!(
            check_template("{{ account.name }} and {{ firing.key }}"),
            Ok(())
        );
        assert!(check_template("{{ Account }}")
            .unwrap_err()
            .contains("is not a field"));
        assert!(check_template("{{ deal.x }}")
            .unwrap_err()
            .contains("no known object"));
    }
}
