//! Stripe webhooks (SPEC §2.4, FORMATS.md "Stripe webhooks").
//!
//! A request is handled in three steps: [`verify_signature`] checks the `Stripe-Signature` header
//! over the raw body bytes, before anything is parsed; [`parse_event`] turns the body into the
//! [`WebhookEvent`] the log keeps whole; and, when the log is read, [`subscription_change`] and
//! [`invoice_fact`] say what an event means for the ledger. Keeping the interpretation separate
//! from the log entry means a better interpretation can be replayed over the same log.
//!
//! Decisions:
//! - Signatures: the header is a comma-separated list of `key=value` items; `t` must appear once
//!   as an integer; every `v1` is a candidate and any one may match (a secret being rolled gives
//!   two); `v0` and unknown schemes are ignored. The expected signature is the lowercase hex of
//!   HMAC-SHA256 keyed with the secret exactly as given (`whsec_` prefix included) over
//!   `"{t}.{body}"`, compared in constant time with every candidate (no early exit), as the
//!   official libraries do; upper-case hex does not match, as it does not for them.
//! - The signature is checked before the timestamp, as the official libraries do, so a sender
//!   without the secret only ever learns "mismatch". A signed timestamp more than the tolerance
//!   in the past *or in the future* is [`SignatureError::Stale`] (a negative `age_seconds` means
//!   the future). There is no "no tolerance" value; pass [`i64::MAX`] to accept any age.
//! - [`parse_event`] requires a JSON object with a non-empty string `id` and `type` and an
//!   object `data.object`; an `object` other than `"event"` (a thin `v2.core.event`
//!   notification) is refused, since it carries no data. `created` is only required by the
//!   interpretations, which use it.
//! - MRR of a subscription = Σ over its items of unit amount × quantity, normalised to a month
//!   (month × 1, year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12, then ÷ `interval_count`). The unit
//!   amount is `price.unit_amount` (minor units), else `price.unit_amount_decimal` (minor units
//!   as a decimal string, such as `"1999.5"`). A price with neither (a tiered price) is an error
//!   rather than a silent 0. Items without a `price` fall back to the legacy `plan` object
//!   (`amount`, `amount_decimal`, `interval`, …). A missing `quantity` counts as 1. A negative
//!   unit amount, quantity, coupon `amount_off` or invoice amount is an error: Stripe sends none,
//!   and one would make MRR or revenue negative.
//! - Metered items (`recurring.usage_type: metered`) are skipped: their amount is only known
//!   when usage is invoiced, so it is not recurring revenue.
//! - Arithmetic is exact (rationals of `i128`); the monthly total is rounded to the nearest
//!   minor unit once, at the end, half away from zero; it is never below 0.
//! - Discounts: item-level `discounts` apply to their item, then subscription-level ones to the
//!   total, in the order Stripe lists them, each on the amount left by the previous one and
//!   never below 0. A discount is applied only when it is an expanded object whose `coupon` (or
//!   `source.coupon`) is an expanded object: entries that are bare ids cannot be applied (the
//!   coupon's terms are not in the payload), so the MRR is then the amount before them. The
//!   legacy single `discount` object is applied too, unless an expanded entry of `discounts` has
//!   the same id. `percent_off` takes that percent off; `amount_off` is taken off per invoice, so
//!   it is normalised by the billing interval exactly as prices are (the interval of the first
//!   licensed item for subscription-level discounts, the item's own for item discounts), in the
//!   subscription's currency (the coupon's `currency`, else its `currency_options`). Discounts
//!   are applied while they are on the subscription whatever their `duration`: Stripe removes a
//!   discount when it ends, and the `customer.subscription.updated` that follows raises MRR.
//! - Status (what ChartMogul does): `active` and `past_due` count (a past-due subscription is
//!   still owed until it is canceled); `trialing` (trials are not MRR), `incomplete` (the first
//!   payment has not succeeded), `incomplete_expired`, `canceled`, `unpaid` and `paused` are 0,
//!   and so is every `customer.subscription.deleted`. `cancel_at_period_end` does not matter:
//!   the MRR stays until the `deleted` event. An unknown status is an error rather than a guess.
//! - [`subscription_change`] answers for `customer.subscription.created|updated|deleted|paused|
//!   resumed`; other `customer.subscription.*` events (`trial_will_end`, `pending_update_*`)
//!   are notices that Stripe follows with an `updated` event when the state changes, and answer
//!   `None` like every other type.
//! - The account is `metadata.account_id` of the subscription, else `metadata.account_id` of the
//!   customer when `customer` is an expanded object, else the customer id. For an invoice the
//!   subscription's metadata is `parent.subscription_details.metadata` (API 2025-03-31 and later),
//!   `subscription_details.metadata` (earlier) or the metadata of an expanded `subscription`.
//! - The period: `current_period_end` of the subscription (before API 2025-03-31), else the
//!   earliest `current_period_end` of its items (from 2025-03-31 on: the next renewal). Both
//!   shapes (and the two invoice shapes) are told apart by which fields are present, not by
//!   `api_version`, so an endpoint pinned to either version works and so does a replay.
//! - `plan` is the first licensed item's price `nickname`, else its `lookup_key`, else the name
//!   of an expanded `product`, else the product id, else the price id; `seats` is that item's
//!   `quantity`.
//! - Invoices: `invoice.paid` and `invoice.payment_succeeded` are paid facts (Stripe sends both
//!   for one payment: deduplicate by `invoice_id`) for `amount_paid`, at
//!   `status_transitions.paid_at` when present, else the event's `created`;
//!   `invoice.payment_failed` is an unpaid fact for `amount_due` at the event's `created`.
//!   The subscription is `subscription` (before API 2025-03-31) or
//!   `parent.subscription_details.subscription`.
//! - Currencies are upper-cased through [`Currency::parse`]; the subscription's `currency` is
//!   used, else the first item's price currency.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use tenure_core::{AccountId, Currency, Money, Timestamp, WebhookEvent};

use crate::nesting::{depth, MAX_JSON_DEPTH};

/// How far a signed timestamp may be from now, in seconds: Stripe's libraries' default.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// The `provider` of the [`WebhookEvent`]s this module produces.
pub const PROVIDER: &str = "stripe";

/// Why a request's `Stripe-Signature` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header: every Stripe webhook is signed; send the header Stripe computed with this endpoint's signing secret")]
    Missing,
    #[error(
        "malformed Stripe-Signature header: {0} (expected t=<unix seconds>,v1=<hex signature>)"
    )]
    Malformed(String),
    #[error("the Stripe-Signature header has no v1 signature (v0 test signatures are ignored): sign with the endpoint's secret using the v1 scheme")]
    NoV1,
    #[error("{}", stale_message(*age_seconds))]
    Stale {
        /// Now minus the signed `t`; negative when `t` is in the future.
        age_seconds: i64,
    },
    #[error("no v1 signature in the Stripe-Signature header matches the body: check that the webhook signing secret (whsec_…) is this endpoint's and that the body reaches tenure unmodified")]
    Mismatch,
}

fn stale_message(age_seconds: i64) -> String {
    if age_seconds < 0 {
        format!(
            "the Stripe-Signature timestamp is {} seconds in the future, outside the tolerance: check this server's clock",
            age_seconds.unsigned_abs()
        )
    } else {
        format!(
            "the Stripe-Signature timestamp is {age_seconds} seconds old, outside the tolerance: check this server's clock, or have Stripe resend the event (old signed requests are refused against replay)"
        )
    }
}

impl SignatureError {
    /// A stable machine-readable code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_missing",
            SignatureError::Malformed(_) => "signature_malformed",
            SignatureError::NoV1 => "signature_no_v1",
            SignatureError::Stale { .. } => "signature_stale",
            SignatureError::Mismatch => "signature_mismatch",
        }
    }
}

/// Why an event could not be parsed or interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// The body is not JSON; `reason` is the parser's, with line and column.
    #[error("invalid json: {reason}")]
    InvalidJson { reason: String },
    /// The JSON is well formed but breaks the format. `field` is the JSON path at fault (such as
    /// `data.object.items.data[0].price.recurring.interval`); `reason` follows it in a sentence.
    #[error("{}", invalid_message(event_id.as_deref(), field, reason))]
    Invalid {
        event_id: Option<String>,
        field: String,
        reason: String,
    },
}

fn invalid_message(event_id: Option<&str>, field: &str, reason: &str) -> String {
    match event_id {
        Some(id) => format!("stripe event {id}: {field} {reason}"),
        None => format!("stripe event: {field} {reason}"),
    }
}

impl StripeError {
    /// A stable machine-readable code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            StripeError::InvalidJson { .. } => "invalid_json",
            StripeError::Invalid { .. } => "invalid_event",
        }
    }
}

/// Verifies the `Stripe-Signature` header over the raw `body` bytes: HMAC-SHA256 keyed with the
/// endpoint `secret` as given (including its `whsec_` prefix) over `"{t}.{body}"`, any `v1` may
/// match, and `t` must be within `tolerance_seconds` of `now_unix` either way.
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now_unix: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let mut timestamp: Option<i64> = None;
    let mut candidates: Vec<&str> = Vec::new();
    for item in header.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            return Err(SignatureError::Malformed(format!(
                "{item:?} is not a key=value item"
            )));
        };
        let value = value.trim();
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("t appears twice".to_owned()));
                }
                let t = value.parse::<i64>().map_err(|_| {
                    SignatureError::Malformed(format!("t={value:?} is not a unix time in seconds"))
                })?;
                timestamp = Some(t);
            }
            "v1" => candidates.push(value),
            _ => {} // v0 (test mode) and schemes Stripe may add later
        }
    }
    let t = timestamp
        .ok_or_else(|| SignatureError::Malformed("there is no t=<timestamp> item".to_owned()))?;
    if candidates.is_empty() {
        return Err(SignatureError::NoV1);
    }
    let expected = expected_signature(t, body, secret);
    let mut matched = Choice::from(0);
    for candidate in &candidates {
        matched |= expected.as_bytes().ct_eq(candidate.as_bytes());
    }
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    let age_seconds = now_unix.saturating_sub(t);
    if age_seconds
        .checked_abs()
        .is_none_or(|abs| abs > tolerance_seconds)
    {
        return Err(SignatureError::Stale { age_seconds });
    }
    Ok(())
}

/// The lowercase hex `v1` signature of `body` signed at `t`.
fn expected_signature(t: i64, body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Parses an event body into the log entry kept whole: its id, its type and the full payload.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, StripeError> {
    let payload: Value = serde_json::from_slice(body).map_err(|e| StripeError::InvalidJson {
        reason: e.to_string(),
    })?;
    let invalid = |event_id: Option<&str>, field: &str, reason: &str| StripeError::Invalid {
        event_id: event_id.map(str::to_owned),
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    let root = payload
        .as_object()
        .ok_or_else(|| invalid(None, "body", "is not a JSON object"))?;
    let event_id = match root.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        Some(Value::String(_)) => return Err(invalid(None, "id", "is empty")),
        Some(Value::Null) | None => return Err(invalid(None, "id", "is missing")),
        Some(_) => return Err(invalid(None, "id", "is not a string")),
    };
    let id = Some(event_id.as_str());
    let levels = depth(&payload);
    if levels > MAX_JSON_DEPTH {
        return Err(invalid(
            id,
            "body",
            &format!("nests {levels} levels deep, over the limit of {MAX_JSON_DEPTH}"),
        ));
    }
    if let Some(object) = root.get("object") {
        if object != "event" {
            return Err(invalid(
                id,
                "object",
                &format!("is {object}, expected \"event\" (thin event notifications carry no data: send snapshot events)"),
            ));
        }
    }
    let event_type = match root.get("type") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_owned(),
        Some(Value::String(_)) => return Err(invalid(id, "type", "is empty")),
        Some(Value::Null) | None => return Err(invalid(id, "type", "is missing")),
        Some(_) => return Err(invalid(id, "type", "is not a string")),
    };
    match root.get("data") {
        Some(Value::Object(data)) => match data.get("object") {
            Some(Value::Object(_)) => {}
            Some(Value::Null) | None => return Err(invalid(id, "data.object", "is missing")),
            Some(_) => return Err(invalid(id, "data.object", "is not an object")),
        },
        Some(Value::Null) | None => return Err(invalid(id, "data", "is missing")),
        Some(_) => return Err(invalid(id, "data", "is not an object")),
    }
    Ok(WebhookEvent {
        provider: PROVIDER.to_owned(),
        event_id,
        event_type,
        payload,
    })
}

/// What a subscription event means for the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionChange {
    pub account_id: AccountId,
    pub subscription_id: String,
    /// The Stripe customer id (`cus_…`), whether or not it is the account.
    pub customer_id: String,
    /// The event's `created`: when Stripe recorded the change.
    pub at: Timestamp,
    /// Monthly recurring revenue after this event, in the subscription's currency.
    pub mrr: Money,
    pub plan: Option<String>,
    pub seats: Option<u32>,
    /// Stripe's `status` as sent (`active`, `trialing`, `canceled`, …).
    pub status: String,
    /// The end of the current billing period, from the subscription or (API 2025-03-31 and
    /// later) its items.
    pub period_end: Option<Timestamp>,
}

/// A payment, or a failed payment, of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFact {
    pub account_id: AccountId,
    pub customer_id: String,
    pub at: Timestamp,
    /// `amount_paid` when paid, `amount_due` when the payment failed.
    pub amount: Money,
    /// `false` means the payment failed.
    pub paid: bool,
    pub invoice_id: String,
    pub subscription_id: Option<String>,
}

const SUBSCRIPTION_EVENTS: [&str; 5] = [
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
];

/// What a `customer.subscription.created|updated|deleted|paused|resumed` event means for the
/// ledger; `None` for every other event type.
pub fn subscription_change(
    event: &WebhookEvent,
) -> Result<Option<SubscriptionChange>, StripeError> {
    if !SUBSCRIPTION_EVENTS.contains(&event.event_type.as_str()) {
        return Ok(None);
    }
    let cx = Cx::new(event);
    let at = cx.created()?;
    let sub = cx.data_object()?;
    let subscription_id = cx.req_str(&sub, "id")?.to_owned();
    let status = cx.req_str(&sub, "status")?.to_owned();
    let (customer_id, account_id) = cx.customer_and_account(&sub, metadata_account(sub.get()))?;

    let items = cx.items(&sub)?;
    let currency = match sub.opt("currency") {
        Some(_) => cx.currency(&sub.at("currency"))?,
        None => match items.first() {
            Some(item) => cx.currency(&item.price.at("currency"))?,
            None => return Err(cx.err(sub.path_of("currency"), "is missing")),
        },
    };
    let counts = match status.as_str() {
        "active" | "past_due" => true,
        "trialing" | "incomplete" | "incomplete_expired" | "canceled" | "unpaid" | "paused" => {
            false
        }
        other => {
            return Err(cx.err(
                sub.path_of("status"),
                &format!("is {other:?}, not a subscription status tenure knows"),
            ))
        }
    } && event.event_type != "customer.subscription.deleted";
    let minor = if counts {
        cx.monthly_minor(&sub, &items, currency)?
    } else {
        0
    };
    if !Money::new(minor, currency).is_plausible() {
        return Err(cx.err(
            sub.path_of("items"),
            "add up to a monthly amount larger than any tenure accepts",
        ));
    }

    let period_end = match sub.opt("current_period_end") {
        Some(_) => Some(cx.unix(&sub.at("current_period_end"))?),
        None => {
            let mut earliest: Option<Timestamp> = None;
            for item in &items {
                if item.node.opt("current_period_end").is_some() {
                    let end = cx.unix(&item.node.at("current_period_end"))?;
                    earliest = Some(earliest.map_or(end, |e| e.min(end)));
                }
            }
            earliest
        }
    };
    let main = items
        .iter()
        .find(|i| !i.is_metered())
        .or_else(|| items.first());
    let plan = main.and_then(|item| item.label());
    let seats = match main.and_then(|item| item.node.opt("quantity").map(|_| item)) {
        Some(item) => {
            let node = item.node.at("quantity");
            let q = cx.int(&node)?;
            Some(u32::try_from(q).map_err(|_| cx.err(node.path, "is not a seat count"))?)
        }
        None => None,
    };

    Ok(Some(SubscriptionChange {
        account_id,
        subscription_id,
        customer_id,
        at,
        mrr: Money::new(minor, currency),
        plan,
        seats,
        status,
        period_end,
    }))
}

/// What an `invoice.paid`, `invoice.payment_succeeded` or `invoice.payment_failed` event means;
/// `None` for every other event type.
pub fn invoice_fact(event: &WebhookEvent) -> Result<Option<InvoiceFact>, StripeError> {
    let paid = match event.event_type.as_str() {
        "invoice.paid" | "invoice.payment_succeeded" => true,
        "invoice.payment_failed" => false,
        _ => return Ok(None),
    };
    let cx = Cx::new(event);
    let created = cx.created()?;
    let invoice = cx.data_object()?;
    let invoice_id = cx.req_str(&invoice, "id")?.to_owned();
    let currency = cx.currency(&invoice.at("currency"))?;
    let amount_field = if paid { "amount_paid" } else { "amount_due" };
    let amount = cx.int(&invoice.at(amount_field))?;
    if amount < 0 {
        return Err(cx.err(invoice.path_of(amount_field), "is negative"));
    }
    if !Money::new(amount, currency).is_plausible() {
        return Err(cx.err(
            invoice.path_of(amount_field),
            "is larger than any amount tenure accepts",
        ));
    }

    let details = invoice
        .opt("parent")
        .and_then(|p| p.get("subscription_details"))
        .or_else(|| invoice.opt("subscription_details"))
        .filter(|d| d.is_object());
    let expanded_subscription = invoice.opt("subscription").filter(|s| s.is_object());
    let subscription_id = match invoice.opt("subscription") {
        Some(s) => Some(id_of(s).ok_or_else(|| {
            cx.err(
                invoice.path_of("subscription"),
                "is neither an id nor an object with an id",
            )
        })?),
        None => details
            .and_then(|d| d.get("subscription"))
            .filter(|s| !s.is_null())
            .map(|s| {
                id_of(s).ok_or_else(|| {
                    cx.err(
                        "data.object.parent.subscription_details.subscription".to_owned(),
                        "is neither an id nor an object with an id",
                    )
                })
            })
            .transpose()?,
    }
    .map(str::to_owned);
    let from_subscription =
        metadata_account(details).or_else(|| metadata_account(expanded_subscription));
    let (customer_id, account_id) = cx.customer_and_account(&invoice, from_subscription)?;

    let paid_at = invoice
        .opt("status_transitions")
        .and_then(|s| s.get("paid_at"))
        .filter(|p| !p.is_null());
    let at = match (paid, paid_at) {
        (true, Some(_)) => cx.unix(&invoice.at("status_transitions").at("paid_at"))?,
        _ => created,
    };
    Ok(Some(InvoiceFact {
        account_id,
        customer_id,
        at,
        amount: Money::new(amount, currency),
        paid,
        invoice_id,
        subscription_id,
    }))
}

/// A JSON value (`None` when absent) and its path from the event root, for errors that say
/// where; paths are built as the interpretation descends.
#[derive(Debug, Clone)]
struct At<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'a> At<'a> {
    /// The child `key` of the event's payload.
    fn top(payload: &'a Value, key: &str) -> Self {
        Self {
            value: payload.get(key),
            path: key.to_owned(),
        }
    }

    fn get(&self) -> Option<&'a Value> {
        self.value.filter(|v| !v.is_null())
    }

    /// The child `key`, which may be absent.
    fn at(&self, key: &str) -> At<'a> {
        At {
            value: self.value.and_then(|v| v.get(key)),
            path: self.path_of(key),
        }
    }

    fn index(&self, i: usize) -> At<'a> {
        At {
            value: self.value.and_then(|v| v.get(i)),
            path: format!("{}[{i}]", self.path),
        }
    }

    /// The child `key` when present and not null.
    fn opt(&self, key: &str) -> Option<&'a Value> {
        self.value.and_then(|v| v.get(key)).filter(|v| !v.is_null())
    }

    fn path_of(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
}

/// The id of an expandable field: the string itself, or the `id` of the expanded object.
fn id_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim()),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        _ => None,
    }
}

/// `metadata.account_id` of an object, when it is a non-blank string.
fn metadata_account(object: Option<&Value>) -> Option<&str> {
    object?
        .get("metadata")?
        .get("account_id")?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    /// How many of this interval make a month.
    fn per_month(self) -> Ratio {
        match self {
            Interval::Day => Ratio::new(365, 12),
            Interval::Week => Ratio::new(52, 12),
            Interval::Month => Ratio::new(1, 1),
            Interval::Year => Ratio::new(1, 12),
        }
    }
}

/// One subscription item: its price (or legacy plan) and where it sits.
#[derive(Debug, Clone)]
struct Item<'a> {
    node: At<'a>,
    /// `price`, else the legacy `plan`.
    price: At<'a>,
    legacy_plan: bool,
}

impl<'a> Item<'a> {
    fn recurring(&self) -> At<'a> {
        if self.legacy_plan {
            self.price.clone()
        } else {
            self.price.at("recurring")
        }
    }

    fn is_metered(&self) -> bool {
        self.recurring()
            .opt("usage_type")
            .and_then(Value::as_str)
            .is_some_and(|u| u == "metered")
    }

    fn label(&self) -> Option<String> {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        text(self.price.opt("nickname"))
            .or_else(|| text(self.price.opt("lookup_key")))
            .or_else(|| text(self.price.opt("product").and_then(|p| p.get("name"))))
            .or_else(|| self.price.opt("product").and_then(id_of).map(str::to_owned))
            .or_else(|| text(self.price.opt("id")))
    }
}

/// The event being interpreted, for errors that name it.
struct Cx<'a> {
    event: &'a WebhookEvent,
}

impl<'a> Cx<'a> {
    fn new(event: &'a WebhookEvent) -> Self {
        Self { event }
    }

    fn err(&self, field: String, reason: &str) -> StripeError {
        StripeError::Invalid {
            event_id: Some(self.event.event_id.clone()),
            field,
            reason: reason.to_owned(),
        }
    }

    fn created(&self) -> Result<Timestamp, StripeError> {
        self.unix(&At::top(&self.event.payload, "created"))
    }

    fn data_object(&self) -> Result<At<'a>, StripeError> {
        let node = At::top(&self.event.payload, "data").at("object");
        match node.get() {
            Some(Value::Object(_)) => Ok(node),
            Some(_) => Err(self.err(node.path, "is not an object")),
            None => Err(self.err(node.path, "is missing")),
        }
    }

    fn req_str<'v>(&self, parent: &At<'v>, key: &str) -> Result<&'v str, StripeError> {
        match parent.opt(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
            Some(Value::String(_)) => Err(self.err(parent.path_of(key), "is empty")),
            Some(_) => Err(self.err(parent.path_of(key), "is not a string")),
            None => Err(self.err(parent.path_of(key), "is missing")),
        }
    }

    fn int(&self, node: &At<'_>) -> Result<i64, StripeError> {
        match node.get() {
            Some(v) => v.as_i64().ok_or_else(|| {
                self.err(node.path.clone(), &format!("is {v}, expected an integer"))
            }),
            None => Err(self.err(node.path.clone(), "is missing")),
        }
    }

    /// A unix time in seconds, from [`crate::EARLIEST_EVENT`] to year 9999 (as every input's
    /// times are bounded).
    fn unix(&self, node: &At<'_>) -> Result<Timestamp, StripeError> {
        let seconds = self.int(node)?;
        seconds
            .checked_mul(1000)
            .and_then(Timestamp::checked_from_millis)
            .filter(|t| *t >= crate::EARLIEST_EVENT)
            .ok_or_else(|| {
                self.err(
                    node.path.clone(),
                    "is out of range for a unix time (1970 to year 9999)",
                )
            })
    }

    fn currency(&self, node: &At<'_>) -> Result<Currency, StripeError> {
        match node.get() {
            Some(Value::String(s)) => Currency::parse(s)
                .map_err(|e| self.err(node.path.clone(), &format!("is invalid: {e}"))),
            Some(v) => Err(self.err(
                node.path.clone(),
                &format!("is {v}, expected a currency code"),
            )),
            None => Err(self.err(node.path.clone(), "is missing")),
        }
    }

    /// The customer id of `object` and the account: `from_subscription`, else the expanded
    /// customer's `metadata.account_id`, else the customer id.
    fn customer_and_account(
        &self,
        object: &At<'_>,
        from_subscription: Option<&str>,
    ) -> Result<(String, AccountId), StripeError> {
        let customer = object.opt("customer");
        let customer_id = customer.and_then(id_of).ok_or_else(|| {
            self.err(
                object.path_of("customer"),
                if customer.is_some() {
                    "is neither an id nor an object with an id"
                } else {
                    "is missing"
                },
            )
        })?;
        let (raw, field) = match from_subscription {
            Some(raw) => (raw, "metadata.account_id of the subscription".to_owned()),
            None => match metadata_account(customer) {
                Some(raw) => (raw, object.path_of("customer.metadata.account_id")),
                None => (customer_id, object.path_of("customer")),
            },
        };
        let account_id = AccountId::parse(raw)
            .map_err(|e| self.err(field, &format!("is not an account id: {e}")))?;
        Ok((customer_id.to_owned(), account_id))
    }

    fn items(&self, sub: &At<'a>) -> Result<Vec<Item<'a>>, StripeError> {
        let data = sub.at("items").at("data");
        let list = match data.get() {
            Some(Value::Array(list)) => list,
            Some(_) => return Err(self.err(data.path, "is not an array")),
            None => return Err(self.err(data.path, "is missing")),
        };
        let mut items = Vec::with_capacity(list.len());
        for i in 0..list.len() {
            let node = data.index(i);
            let (price, legacy_plan) = match (node.opt("price"), node.opt("plan")) {
                (Some(_), _) => (node.at("price"), false),
                (None, Some(_)) => (node.at("plan"), true),
                (None, None) => return Err(self.err(node.path_of("price"), "is missing")),
            };
            if !price.get().is_some_and(Value::is_object) {
                return Err(self.err(price.path, "is not an object"));
            }
            items.push(Item {
                node,
                price,
                legacy_plan,
            });
        }
        Ok(items)
    }

    /// How many billing periods of `item` make a month: per_month ÷ interval_count.
    fn item_per_month(&self, item: &Item<'_>) -> Result<Ratio, StripeError> {
        let recurring = item.recurring();
        let interval_node = recurring.at("interval");
        let interval = match interval_node.get().and_then(Value::as_str) {
            Some("day") => Interval::Day,
            Some("week") => Interval::Week,
            Some("month") => Interval::Month,
            Some("year") => Interval::Year,
            Some(other) => {
                return Err(self.err(
                    interval_node.path,
                    &format!("is {other:?}, expected day, week, month or year"),
                ))
            }
            None if recurring.get().is_none() => {
                return Err(self.err(recurring.path, "is missing: the price is not recurring"))
            }
            None => return Err(self.err(interval_node.path, "is missing")),
        };
        let count = match recurring.opt("interval_count") {
            Some(_) => {
                let node = recurring.at("interval_count");
                let count = self.int(&node)?;
                if count < 1 {
                    return Err(self.err(node.path, "is below 1"));
                }
                count
            }
            None => 1,
        };
        interval
            .per_month()
            .div_int(count)
            .ok_or_else(|| self.err(recurring.path_of("interval_count"), "is too large"))
    }

    /// The unit amount of `item` in minor units, exactly. A negative amount is an error: Stripe's
    /// prices never are, and one would make the subscription's MRR negative.
    fn unit_amount(&self, item: &Item<'_>) -> Result<Ratio, StripeError> {
        let (int_key, decimal_key) = if item.legacy_plan {
            ("amount", "amount_decimal")
        } else {
            ("unit_amount", "unit_amount_decimal")
        };
        let (amount, path) = if item.price.opt(int_key).is_some() {
            let node = item.price.at(int_key);
            (Ratio::int(self.int(&node)?), node.path)
        } else {
            let node = item.price.at(decimal_key);
            let amount = match node.get() {
                Some(Value::String(s)) => Ratio::parse_decimal(s).ok_or_else(|| {
                    self.err(
                        node.path.clone(),
                        &format!("is {s:?}, expected a decimal number"),
                    )
                }),
                Some(Value::Number(n)) => Ratio::parse_decimal(&n.to_string())
                    .ok_or_else(|| self.err(node.path.clone(), "is not a decimal number")),
                Some(v) => Err(self.err(
                    node.path.clone(),
                    &format!("is {v}, expected a decimal string"),
                )),
                None => Err(self.err(
                    item.price.path_of(int_key),
                    &format!("and {decimal_key} are both missing: tiered prices are not supported"),
                )),
            }?;
            (amount, node.path)
        };
        if amount.num < 0 {
            return Err(self.err(path, "is negative"));
        }
        Ok(amount)
    }

    fn monthly_minor(
        &self,
        sub: &At<'_>,
        items: &[Item<'_>],
        currency: Currency,
    ) -> Result<i64, StripeError> {
        let overflow = || self.err(sub.path_of("items"), "add up to an amount too large");
        let mut total = Ratio::int(0);
        let mut sub_per_month: Option<Ratio> = None;
        for item in items {
            if item.is_metered() {
                continue;
            }
            let per_month = self.item_per_month(item)?;
            sub_per_month.get_or_insert(per_month);
            let quantity = match item.node.opt("quantity") {
                Some(_) => {
                    let node = item.node.at("quantity");
                    let q = self.int(&node)?;
                    if q < 0 {
                        return Err(self.err(node.path, "is negative"));
                    }
                    q
                }
                None => 1,
            };
            let amount = self
                .unit_amount(item)?
                .mul(Ratio::int(quantity))
                .and_then(|a| a.mul(per_month))
                .ok_or_else(overflow)?;
            let amount = self.discounted(&item.node, amount, per_month, currency)?;
            total = total.add(amount).ok_or_else(overflow)?;
        }
        let total =
            self.discounted(sub, total, sub_per_month.unwrap_or(Ratio::int(1)), currency)?;
        total.round_half_away().ok_or_else(overflow)
    }

    /// `amount` (monthly) after the applicable discounts of `owner` (a subscription or an item).
    fn discounted(
        &self,
        owner: &At<'_>,
        mut amount: Ratio,
        per_month: Ratio,
        currency: Currency,
    ) -> Result<Ratio, StripeError> {
        let mut coupons: Vec<At<'_>> = Vec::new();
        let mut expanded_ids: Vec<&str> = Vec::new();
        let list = owner.at("discounts");
        if let Some(Value::Array(entries)) = list.get() {
            for i in 0..entries.len() {
                let entry = list.index(i);
                if let Some(coupon) = expanded_coupon(&entry) {
                    if let Some(id) = entry.opt("id").and_then(Value::as_str) {
                        expanded_ids.push(id);
                    }
                    coupons.push(coupon);
                }
            }
        }
        let legacy = owner.at("discount");
        if let Some(coupon) = expanded_coupon(&legacy) {
            let id = legacy.opt("id").and_then(Value::as_str);
            if !id.is_some_and(|id| expanded_ids.contains(&id)) {
                coupons.push(coupon);
            }
        }
        let overflow = || self.err(owner.path_of("discounts"), "give an amount too large");
        for coupon in coupons {
            if coupon.opt("percent_off").is_some() {
                let node = coupon.at("percent_off");
                let percent = node
                    .get()
                    .and_then(Value::as_number)
                    .and_then(|n| Ratio::parse_decimal(&n.to_string()))
                    .filter(|p| p.num >= 0 && p.num <= 100 * p.den)
                    .ok_or_else(|| {
                        self.err(node.path.clone(), "is not a percentage from 0 to 100")
                    })?;
                let keep = Ratio::int(100)
                    .sub(percent)
                    .and_then(|k| k.div_int(100))
                    .ok_or_else(overflow)?;
                amount = amount.mul(keep).ok_or_else(overflow)?;
            } else if coupon.opt("amount_off").is_some() {
                let off = self.amount_off(&coupon, currency)?;
                if off < 0 {
                    return Err(self.err(coupon.path_of("amount_off"), "is negative"));
                }
                let monthly = Ratio::int(off).mul(per_month).ok_or_else(overflow)?;
                amount = amount.sub(monthly).ok_or_else(overflow)?;
            }
            if amount.num < 0 {
                amount = Ratio::int(0);
            }
        }
        Ok(amount)
    }

    /// A coupon's `amount_off` in `currency`: its own when its `currency` is that one, else the
    /// one in its `currency_options`.
    fn amount_off(&self, coupon: &At<'_>, currency: Currency) -> Result<i64, StripeError> {
        let coupon_currency = self.currency(&coupon.at("currency"))?;
        if coupon_currency == currency {
            return self.int(&coupon.at("amount_off"));
        }
        let lower = currency.as_str().to_ascii_lowercase();
        let option = coupon.at("currency_options").at(&lower).at("amount_off");
        if option.get().is_some() {
            return self.int(&option);
        }
        Err(self.err(
            coupon.path_of("amount_off"),
            &format!("is in {coupon_currency}, the subscription in {currency}, and the coupon has no currency_options for {currency}"),
        ))
    }
}

/// The expanded coupon of a discount entry: `coupon`, else `source.coupon`, when that is an
/// object. Bare ids (of the discount or of its coupon) give `None`: their terms are unknown.
fn expanded_coupon<'a>(entry: &At<'a>) -> Option<At<'a>> {
    if !entry.get().is_some_and(Value::is_object) {
        return None;
    }
    [entry.at("coupon"), entry.at("source").at("coupon")]
        .into_iter()
        .find(|c| c.get().is_some_and(Value::is_object))
}

/// An exact rational number; `den` is always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ratio {
    num: i128,
    den: i128,
}

impl Ratio {
    fn new(num: i128, den: i128) -> Self {
        Self { num, den }
    }

    fn int(n: i64) -> Self {
        Self::new(i128::from(n), 1)
    }

    /// A plain decimal such as `1999.5`, `-3` or `0.25` (no exponent).
    fn parse_decimal(raw: &str) -> Option<Self> {
        let text = raw.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || whole.len() + frac.len() > 30
        {
            return None;
        }
        let mut num: i128 = 0;
        for b in whole.bytes().chain(frac.bytes()) {
            num = num.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        let den = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
        Some(Self::new(if negative { -num } else { num }, den).reduced())
    }

    fn reduced(self) -> Self {
        let g = gcd(self.num.unsigned_abs(), self.den.unsigned_abs());
        if g <= 1 {
            return self;
        }
        let g = g as i128; // g divides den, which fits in i128
        Self::new(self.num / g, self.den / g)
    }

    fn mul(self, other: Ratio) -> Option<Self> {
        Some(
            Self::new(
                self.num.checked_mul(other.num)?,
                self.den.checked_mul(other.den)?,
            )
            .reduced(),
        )
    }

    fn div_int(self, n: i64) -> Option<Self> {
        if n <= 0 {
            return None;
        }
        Some(Self::new(self.num, self.den.checked_mul(i128::from(n))?).reduced())
    }

    fn add(self, other: Ratio) -> Option<Self> {
        let num = self
            .num
            .checked_mul(other.den)?
            .checked_add(other.num.checked_mul(self.den)?)?;
        Some(Self::new(num, self.den.checked_mul(other.den)?).reduced())
    }

    fn sub(self, other: Ratio) -> Option<Self> {
        self.add(Self::new(other.num.checked_neg()?, other.den))
    }

    /// The nearest integer, halves away from zero.
    fn round_half_away(self) -> Option<i64> {
        let quotient = self.num / self.den;
        let remainder = (self.num % self.den).unsigned_abs();
        let rounded = if remainder.checked_mul(2)? >= self.den.unsigned_abs() {
            quotient + self.num.signum()
        } else {
            quotient
        };
        i64::try_from(rounded).ok()
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_away_from_zero_once() {
        let r = |num, den| Ratio::new(num, den).round_half_away().unwrap();
        assert_eq!(r(5, 2), 3);
        assert_eq!(r(-5, 2), -3);
        assert_eq!(r(7, 3), 2);
        assert_eq!(r(8, 3), 3);
        assert_eq!(Ratio::parse_decimal("1999.5"), Some(Ratio::new(3999, 2)));
        assert_eq!(
            Ratio::parse_decimal("0.000000000001").unwrap().den,
            1_000_000_000_000
        );
        for bad in ["", ".", "1e3", "1.2.3", "abc", "--1"] {
            assert_eq!(Ratio::parse_decimal(bad), None, "{bad:?}");
        }
    }
}
