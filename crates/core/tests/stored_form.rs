//! The stored form of every log entry reads back as the same entry, by construction: whatever
//! an entry holds, including the extreme values a hostile or broken sender can produce (issue
//! 12: an instant past year 9999 was stored as `+12026-…` and could never be read back).

use proptest::prelude::*;
use serde_json::{Map, Value};
use tenure_core::{
    AccountId, AccountRow, AnonymousId, Currency, DealKind, DealRow, DealStatus, Email, Entry,
    EntryBody, MessageType, Money, SegmentMessage, Source, SpendRow, SubscriptionRow, Timestamp,
    TouchpointRow, UserId, WebhookEvent, WorkspaceId,
};

/// Any instant tenure can hold, weighted towards the ends of its range and of i64.
fn instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        any::<i64>().prop_map(Timestamp::from_millis),
        Just(Timestamp::MIN),
        Just(Timestamp::MAX),
        Just(Timestamp::from_millis(i64::MAX)),
        Just(Timestamp::from_millis(i64::MIN)),
        (-1_000i64..1_000).prop_map(|d| Timestamp::MAX.plus_millis(d)),
        (-1_000i64..1_000).prop_map(|d| Timestamp::MIN.plus_millis(d)),
    ]
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9 ]{0,12}",
        Just("\u{0}\u{feff}\"\\\n".to_owned()),
    ]
    .boxed()
}

fn maybe_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

macro_rules! id_strategy {
    ($name:ident, $ty:ty) => {
        fn $name() -> impl Strategy<Value = $ty> {
            text().prop_filter_map("not a valid id", |s| <$ty>::parse(&s).ok())
        }
    };
}
id_strategy!(account, AccountId);
id_strategy!(user, UserId);
id_strategy!(anonymous, AnonymousId);

fn email() -> impl Strategy<Value = Email> {
    (text(), text()).prop_filter_map("not an e-mail", |(l, d)| {
        Email::parse(&format!("{l}@{d}")).ok()
    })
}

fn workspace() -> impl Strategy<Value = WorkspaceId> {
    "[a-z0-9_-]{1,64}".prop_map(|s| WorkspaceId::parse(&s).expect("valid by pattern"))
}

fn money() -> impl Strategy<Value = Money> {
    (any::<i64>(), "[A-Z]{3}").prop_map(|(minor, code)| {
        Money::new(minor, Currency::parse(&code).expect("valid by pattern"))
    })
}

/// Any JSON a sender can put in `properties`, `traits`, `context` or a webhook payload.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just(f64::MAX), Just(f64::MIN_POSITIVE), Just(5e-324)].prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(text(), json(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn segment() -> BoxedStrategy<SegmentMessage> {
    let kind = prop_oneof![
        Just(MessageType::Track),
        Just(MessageType::Identify),
        Just(MessageType::Group),
        Just(MessageType::Page),
        Just(MessageType::Screen),
        Just(MessageType::Alias),
    ];
    (
        (
            kind,
            text(),
            instant(),
            instant(),
            proptest::option::of(instant()),
        ),
        (
            proptest::option::of(instant()),
            proptest::option::of(anonymous()),
            proptest::option::of(user()),
            maybe_text(),
            maybe_text(),
        ),
        (
            proptest::option::of(account()),
            maybe_text(),
            object(),
            object(),
            object(),
        ),
    )
        .prop_map(
            |(
                (kind, message_id, timestamp, received_at, sent_at),
                (original_timestamp, anonymous_id, user_id, event, name),
                (group_id, previous_id, context, properties, traits),
            )| SegmentMessage {
                kind,
                message_id,
                timestamp,
                received_at,
                sent_at,
                original_timestamp,
                anonymous_id,
                user_id,
                event,
                name,
                group_id,
                previous_id,
                context,
                properties,
                traits,
            },
        )
        .boxed()
}

fn body() -> BoxedStrategy<EntryBody> {
    let account_row = (
        account(),
        (maybe_text(), maybe_text(), maybe_text(), maybe_text()),
        proptest::option::of(any::<u32>()),
        maybe_text(),
        proptest::option::of(instant()),
    )
        .prop_map(
            |(account_id, (name, domain, tier, industry), employees, csm_owner, created_at)| {
                EntryBody::Account(AccountRow {
                    account_id,
                    name,
                    domain,
                    tier,
                    industry,
                    employees,
                    csm_owner,
                    created_at,
                })
            },
        );
    let subscription = (
        account(),
        instant(),
        money(),
        maybe_text(),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(account_id, effective_at, mrr, plan, seats)| {
            EntryBody::Subscription(SubscriptionRow {
                account_id,
                effective_at,
                mrr,
                plan,
                seats,
            })
        });
    let deal = (
        (text(), account(), 0..3usize, 0..3usize, money()),
        (
            instant(),
            proptest::option::of(instant()),
            proptest::option::of(instant()),
            proptest::option::of(instant()),
        ),
    )
        .prop_map(
            |(
                (deal_id, account_id, kind, status, amount),
                (created_at, closed_at, contract_start, contract_end),
            )| {
                EntryBody::Deal(DealRow {
                    deal_id,
                    account_id,
                    kind: [
                        DealKind::NewBusiness,
                        DealKind::Renewal,
                        DealKind::Expansion,
                    ][kind],
                    status: [DealStatus::Open, DealStatus::Won, DealStatus::Lost][status],
                    amount,
                    created_at,
                    closed_at,
                    contract_start,
                    contract_end,
                })
            },
        );
    let spend = (
        instant(),
        text(),
        maybe_text(),
        maybe_text(),
        money(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(
            |(date, channel, source, campaign, cost, impressions, clicks)| {
                EntryBody::Spend(SpendRow {
                    date,
                    channel,
                    source,
                    campaign,
                    cost,
                    impressions,
                    clicks,
                })
            },
        );
    let touchpoint = (
        (
            instant(),
            proptest::option::of(account()),
            proptest::option::of(user()),
            proptest::option::of(email()),
            proptest::option::of(anonymous()),
        ),
        (maybe_text(), maybe_text(), maybe_text(), maybe_text()),
        (maybe_text(), maybe_text(), maybe_text()),
    )
        .prop_map(
            |(
                (occurred_at, account_id, user_id, email, anonymous_id),
                (channel, source, medium, campaign),
                (content, term, kind),
            )| {
                EntryBody::Touchpoint(TouchpointRow {
                    occurred_at,
                    account_id,
                    user_id,
                    email,
                    anonymous_id,
                    channel,
                    source,
                    medium,
                    campaign,
                    content,
                    term,
                    kind,
                })
            },
        );
    let webhook =
        (text(), text(), text(), json()).prop_map(|(provider, event_id, event_type, payload)| {
            EntryBody::Webhook(WebhookEvent {
                provider,
                event_id,
                event_type,
                payload,
            })
        });
    prop_oneof![
        segment().prop_map(EntryBody::Segment).boxed(),
        account_row.boxed(),
        subscription.boxed(),
        deal.boxed(),
        spend.boxed(),
        touchpoint.boxed(),
        webhook.boxed(),
    ]
    .boxed()
}

fn entry() -> impl Strategy<Value = Entry> {
    let source = prop_oneof![
        Just(Source::Http),
        Just(Source::Import),
        Just(Source::Webhook)
    ];
    (workspace(), source, instant(), body()).prop_map(|(workspace, source, received_at, body)| {
        Entry {
            workspace,
            source,
            received_at,
            body,
        }
    })
}

/// Cases per property: a quick run by default, more with `TENURE_FUZZ_CASES`.
fn cases() -> u32 {
    std::env::var("TENURE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// The log stores an entry's body as JSON (and `received_at` as its millisecond count):
    /// both must give back exactly what was stored.
    #[test]
    fn every_entry_reads_back_as_itself(entry in entry()) {
        let stored = serde_json::to_string(&entry.body).expect("bodies serialize");
        let body: EntryBody = serde_json::from_str(&stored)
            .map_err(|e| TestCaseError::fail(format!("{e}: {stored}")))?;
        prop_assert_eq!(&body, &entry.body);
        prop_assert_eq!(Timestamp::from_millis(entry.received_at.millis()), entry.received_at);
        let whole = serde_json::to_string(&entry).expect("entries serialize");
        let back: Entry = serde_json::from_str(&whole)
            .map_err(|e| TestCaseError::fail(format!("{e}: {whole}")))?;
        prop_assert_eq!(back, entry);
    }

    /// Every instant prints as RFC 3339 with a four-digit year and parses back to itself.
    #[test]
    fn every_instant_prints_and_parses_back(t in instant()) {
        let text = t.to_string();
        prop_assert_eq!(text.len(), "2025-03-01T12:00:00.000Z".len(), "{}", text);
        prop_assert_eq!(Timestamp::parse(&text), Ok(t));
    }
}
