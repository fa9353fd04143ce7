//! What tenure sent the ad platforms, as `tenure conversions …` and `/api/v1/conversions…`
//! show it: per rule and destination how many conversions were sent and what each platform
//! made of them (accepted, duplicate, unmatched, rejected with the platform's reason, expired,
//! pending), the log of conversions and corrections, and a dry run that shows the exact
//! requests each platform would receive.
//!
//! **Invariant:** as [`crate::playbooks`], no HTTP and no command line: the CLI and the API
//! answer with these types, built by these functions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tenure_conversions::Rule;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_destinations::conversion::ConversionEvent;
use tenure_destinations::{Destination, Outgoing, RequestPreview};
use tenure_runtime::conversions::Decision;
use tenure_runtime::{Conversions, Live};
use tenure_store::{DeliveryStatus, FiringFilter, Store};
use utoipa::ToSchema;

use crate::playbooks::{firing_log, limit, pairs, text, ActionsError, FiringLog};

/// `tenure conversions status` and `GET /api/v1/conversions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversionStatus {
    /// Each configured rule, in the file's order.
    pub rules: Vec<RuleStatus>,
}

/// One rule and where its conversions stand at each destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleStatus {
    pub rule: String,
    /// `first_payment`, `activated`, `retained_90d`, `renewed`, `expanded`,
    /// `stage_entered` or `playbook_fired`.
    pub milestone: String,
    /// `initial_arr`, `realized_revenue`, `expansion_arr`, `predicted_ltv`, `fixed` or `none`.
    pub value: String,
    pub enabled: bool,
    pub destinations: Vec<DestinationStatus>,
}

/// What one destination made of a rule's conversions and corrections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DestinationStatus {
    pub destination: String,
    /// `meta`, `google`, `google_ads`, `google_csv`, `linkedin` or `webhook`.
    pub kind: String,
    /// The platform's name for the conversion (`as` in the rule).
    pub platform_name: String,
    /// Every conversion and correction tenure decided to send here: the sum of the six
    /// counts below.
    pub sent: u64,
    /// Taken by the platform.
    pub accepted: u64,
    /// The platform had it already (a retry or replay of one it took): counted once there.
    pub duplicate: u64,
    /// Taken, but matched to no one (Google's `CLICK_NOT_FOUND`).
    pub unmatched: u64,
    /// Refused for good; `reasons` says why.
    pub rejected: u64,
    /// Past the platform's deadline before it could be sent: never sent.
    pub expired: u64,
    /// Waiting for their first attempt or for a retry.
    pub pending: u64,
    /// When the latest of them was recorded.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub latest: Option<Timestamp>,
    /// Why conversions were rejected or expired, most frequent first.
    pub reasons: Vec<ReasonCount>,
}

/// How many conversions were rejected (or expired) for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReasonCount {
    /// `rejected` or `expired`.
    pub result: String,
    /// What the platform (or tenure's own check before sending) said.
    pub reason: String,
    pub count: u64,
}

/// Where each rule's conversions stand at each destination, from the outbox.
pub fn status(
    store: &dyn Store,
    workspace: &WorkspaceId,
    rules: &[Rule],
) -> Result<ConversionStatus, ActionsError> {
    let tally = store.delivery_tally(workspace, tenure_conversions::FIRING_PREFIX)?;
    let rules = rules
        .iter()
        .map(|rule| {
            let firing_name = rule.firing_name();
            let destinations =
                rule.send
                    .iter()
                    .map(|send| {
                        let mut s = DestinationStatus {
                            destination: send.destination.clone(),
                            kind: send.kind.name().to_owned(),
                            platform_name: send.platform_name.clone(),
                            ..DestinationStatus::default()
                        };
                        let mut reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
                        for t in tally.iter().filter(|t| {
                            t.playbook == firing_name && t.destination == send.destination
                        }) {
                            s.sent += t.count;
                            s.latest = s.latest.max(Some(t.latest));
                            let slot = match (t.status, t.result.as_deref()) {
                                (DeliveryStatus::Pending, _) => &mut s.pending,
                                (_, Some("duplicate")) => &mut s.duplicate,
                                (_, Some("unmatched")) => &mut s.unmatched,
                                (_, Some("expired")) => &mut s.expired,
                                (DeliveryStatus::Dead, _) => &mut s.rejected,
                                (DeliveryStatus::Delivered, _) => &mut s.accepted,
                            };
                            *slot += t.count;
                            if t.status == DeliveryStatus::Dead {
                                let result = t.result.clone().unwrap_or_else(|| "rejected".into());
                                let reason = t.reason.clone().unwrap_or_default();
                                *reasons.entry((result, reason)).or_default() += t.count;
                            }
                        }
                        let mut reasons: Vec<ReasonCount> = reasons
                            .into_iter()
                            .map(|((result, reason), count)| ReasonCount {
                                result,
                                reason,
                                count,
                            })
                            .collect();
                        reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
                        s.reasons = reasons;
                        s
                    })
                    .collect();
            RuleStatus {
                rule: rule.name.clone(),
                milestone: rule.milestone.name().to_owned(),
                value: rule.value.name().to_owned(),
                enabled: rule.enabled,
                destinations,
            }
        })
        .collect();
    Ok(ConversionStatus { rules })
}

/// Which conversions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub rule: Option<String>,
    pub account: Option<String>,
    pub limit: usize,
}

/// The conversions and corrections recorded, newest first, each with where its deliveries
/// stand: the firings of `conversion:<rule>`, as `tenure playbooks log` shows firings.
pub fn log(
    store: &dyn Store,
    workspace: &WorkspaceId,
    rules: &[Rule],
    query: &LogQuery,
) -> Result<FiringLog, ActionsError> {
    let chosen: Vec<&Rule> = match &query.rule {
        Some(name) => vec![known_rule(rules, name)?],
        None => rules.iter().collect(),
    };
    let mut firings = Vec::new();
    for rule in chosen {
        let filter = FiringFilter {
            playbook: Some(rule.firing_name()),
            account: query.account.clone(),
            since: None,
            limit: Some(query.limit),
        };
        firings.extend(firing_log(store, workspace, &filter)?.firings);
    }
    firings.sort_by(|a, b| b.fired_at.cmp(&a.fired_at).then(b.key.cmp(&a.key)));
    firings.truncate(query.limit);
    Ok(FiringLog { firings })
}

fn known_rule<'r>(rules: &'r [Rule], name: &str) -> Result<&'r Rule, ActionsError> {
    rules.iter().find(|r| r.name == name).ok_or_else(|| {
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        ActionsError::Parameter(format!(
            "no conversion rule is named {name:?}; the configured rules are: {}",
            if names.is_empty() {
                "none ([[conversions]] in the configuration)".to_owned()
            } else {
                names.join(", ")
            }
        ))
    })
}

/// `tenure conversions dry-run` and `GET /api/v1/conversions/dry_run`: what a pass would
/// record now, and the exact requests each platform would receive, sending nothing.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DryRun {
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// What a pass would record: each conversion or correction with its deliveries' payloads.
    #[schema(value_type = Vec<Object>)]
    pub decisions: Vec<Decision>,
    /// Per destination, the requests those deliveries would make, tokens redacted.
    pub requests: Vec<DestinationRequests>,
}

/// The requests one destination would receive.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DestinationRequests {
    pub destination: String,
    #[schema(value_type = Vec<Object>)]
    pub requests: Vec<RequestPreview>,
    /// The deliveries this destination would not send as they are (expired, or failing its
    /// checks), each with why: they would be marked so without a request.
    pub held_back: Vec<HeldBack>,
}

/// A delivery a destination would not send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HeldBack {
    pub event_id: String,
    pub account: String,
    /// `expired` or `permanent`.
    pub result: String,
    pub reason: String,
}

/// What the conversions would record at `now`, given what the store holds, and the requests
/// `destinations` would make of it.
pub fn dry_run(
    conversions: &Conversions,
    live: &Live,
    workspace: &WorkspaceId,
    destinations: &BTreeMap<String, Box<dyn Destination>>,
    now: Timestamp,
) -> Result<DryRun, ActionsError> {
    let recorded = conversions.recorded(workspace, now)?;
    let decisions = conversions.decide(live, workspace, now, &recorded);
    let mut by_destination: BTreeMap<&str, Vec<(i64, &serde_json::Value)>> = BTreeMap::new();
    let mut id = 0;
    for decision in &decisions {
        for d in &decision.deliveries {
            id -= 1;
            by_destination
                .entry(d.destination.as_str())
                .or_default()
                .push((id, &d.payload));
        }
    }
    let mut requests = Vec::new();
    for (name, payloads) in by_destination {
        let Some(destination) = destinations.get(name) else {
            continue;
        };
        let keys: Vec<String> = payloads.iter().map(|(id, _)| id.to_string()).collect();
        let outgoing: Vec<Outgoing> = payloads
            .iter()
            .zip(&keys)
            .map(|((id, payload), key)| Outgoing {
                delivery_id: *id,
                idempotency_key: key,
                payload,
                attempt: 1,
            })
            .collect();
        let previews = destination.preview(&outgoing);
        let held_back = outgoing
            .iter()
            .filter_map(|out| {
                let outcome = destination.check(out)?;
                let event = ConversionEvent::from_payload(out.payload).ok()?;
                Some(HeldBack {
                    result: outcome.label().to_owned(),
                    reason: outcome.reason().unwrap_or_default().to_owned(),
                    event_id: event.event_id,
                    account: event.account,
                })
            })
            .collect();
        requests.push(DestinationRequests {
            destination: name.to_owned(),
            requests: previews,
            held_back,
        });
    }
    Ok(DryRun {
        as_of: now,
        decisions,
        requests,
    })
}

/// Reads the parameters of the log: `rule`, `account`, `limit`.
pub fn log_query(given: &[(String, String)]) -> Result<LogQuery, ActionsError> {
    let p = pairs(given, &["rule", "account", "limit"])?;
    Ok(LogQuery {
        rule: text(p.get("rule"), "rule")?,
        account: text(p.get("account"), "account")?,
        limit: limit(p.get("limit"))?,
    })
}

/// The destinations `rules` send to, built as a server builds them (each token read through
/// `env`: a missing one is an error naming its variable).
pub fn destinations(
    config: &tenure_config::Config,
    rules: &[Rule],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, Box<dyn Destination>>, ActionsError> {
    let mut out = BTreeMap::new();
    for d in &config.destinations {
        if rules
            .iter()
            .any(|r| r.send.iter().any(|s| s.destination == d.name))
        {
            let built = tenure_destinations::build(d, env)
                .map_err(|e| ActionsError::Parameter(e.to_string()))?;
            out.insert(d.name.clone(), built);
        }
    }
    Ok(out)
}

/// Google's offline-conversion CSV (or, with `adjustments`, its adjustments CSV) of the
/// conversions delivered to `destination` (a `google_csv` one),
/// oldest first, those recorded before `since` left out. Events Google would not take in a
/// file (no click id in the window, a wbraid adjustment) are left out and said on stderr by
/// the caller ([`GoogleCsv::skipped`]).
pub fn google_csv(
    store: &dyn Store,
    workspace: &WorkspaceId,
    config: &tenure_config::Config,
    destination: &str,
    adjustments: bool,
    since: Option<Timestamp>,
) -> Result<GoogleCsv, ActionsError> {
    use tenure_playbooks::DestinationKind;
    let Some(d) = config.destinations.iter().find(|d| d.name == destination) else {
        return Err(ActionsError::Parameter(format!(
            "no [[destinations]] entry is named {destination:?}"
        )));
    };
    // A google_csv destination's `as` is the conversion action's name, what the file's
    // "Conversion Name" must hold; the API destinations' is the action's numeric id.
    if d.kind != DestinationKind::GoogleCsv {
        return Err(ActionsError::Parameter(format!(
            "{destination:?} is a {} destination; the Google CSV is written for a google_csv one, whose `as` names the conversion action as Google Ads shows it",
            d.kind.name()
        )));
    }
    let window = d
        .click_window_days
        .unwrap_or_else(|| tenure_conversions::default_click_window_days(d.kind));
    // Those the destination took: one it marked expired or refused is no row of a file Google
    // would accept either.
    let mut found = store.deliveries(
        workspace,
        &tenure_store::DeliveryFilter {
            destination: Some(destination.to_owned()),
            status: Some(DeliveryStatus::Delivered),
            ..tenure_store::DeliveryFilter::default()
        },
    )?;
    // Oldest first, as they happened; a delivery another playbook made is no conversion.
    found.reverse();
    let events: Vec<ConversionEvent> = found
        .iter()
        .filter(|d| tenure_conversions::is_conversion(&d.playbook))
        .filter(|d| since.is_none_or(|s| d.created_at >= s))
        .filter_map(|d| ConversionEvent::from_payload(&d.payload).ok())
        .collect();
    let name = |e: &ConversionEvent| e.platform_name.clone();
    let file = if adjustments {
        tenure_destinations::google::adjustments_csv(&events, &name, window)
    } else {
        tenure_destinations::google::conversions_csv(&events, &name, window)
    };
    Ok(GoogleCsv {
        text: file.text,
        rows: file.rows,
        skipped: file
            .skipped
            .into_iter()
            .map(|s| (s.event_id, s.reason))
            .collect(),
    })
}

/// A Google CSV file and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleCsv {
    pub text: String,
    /// Conversion (or adjustment) rows written.
    pub rows: usize,
    /// `(event id, why)` of each event left out.
    pub skipped: Vec<(String, String)>,
}

/// The configuration's conversion rules (checked when the configuration loads).
pub fn configured(config: &tenure_config::Config) -> Result<Vec<Rule>, ActionsError> {
    config
        .conversions()
        .map_err(|e| ActionsError::Config(e.to_string()))
}
