//! The CSV parsers, through `read_csv`: `check` reads a whole file and returns each row's parsed
//! body or error message.

use tenure_core::{
    AccountId, AccountRow, AnonymousId, Currency, DealKind, DealRow, DealStatus, Email, EntryBody,
    Money, SpendRow, SubscriptionRow, Timestamp, TouchpointRow, UserId,
};
use tenure_ingest::csv::{read_csv, CsvKind, HeaderError, RowError};

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

/// Every row of `text` read as `kind` with EUR as the default currency: `(line, body)` or the
/// error's Display.
type Parsed = Result<(u64, EntryBody), String>;

fn check(kind: CsvKind, text: &str) -> Result<Vec<Parsed>, HeaderError> {
    Ok(read_csv(kind, text.as_bytes(), eur())?
        .map(|row| row.map(|r| (r.line, r.body)).map_err(|e| e.to_string()))
        .collect())
}

fn ok(kind: CsvKind, text: &str) -> Vec<(u64, EntryBody)> {
    check(kind, text)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn ts(raw: &str) -> Timestamp {
    Timestamp::parse(raw).unwrap()
}

fn acct(raw: &str) -> AccountId {
    AccountId::parse(raw).unwrap()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn s(raw: &str) -> Option<String> {
    Some(raw.to_owned())
}

#[test]
fn accounts() {
    let text = "account_id,name,domain,tier,industry,employees,csm_owner,created_at\n\
                acct_1,Acme Inc,acme.io,enterprise,software,250,dana,2024-01-15\n\
                acct_2,,,,,,,\n";
    assert_eq!(
        ok(CsvKind::Accounts, text),
        [
            (
                2,
                EntryBody::Account(AccountRow {
                    account_id: acct("acct_1"),
                    name: s("Acme Inc"),
                    domain: s("acme.io"),
                    tier: s("enterprise"),
                    industry: s("software"),
                    employees: Some(250),
                    csm_owner: s("dana"),
                    created_at: Some(ts("2024-01-15T00:00:00Z")),
                })
            ),
            (
                3,
                EntryBody::Account(AccountRow {
                    account_id: acct("acct_2"),
                    name: None,
                    domain: None,
                    tier: None,
                    industry: None,
                    employees: None,
                    csm_owner: None,
                    created_at: None,
                })
            ),
        ]
    );
    // Only account_id is required in the header.
    assert_eq!(ok(CsvKind::Accounts, "account_id\nacct_3\n").len(), 1);
}

#[test]
fn subscriptions() {
    let text = "account_id,effective_at,mrr,currency,plan,seats\n\
                acct_1,2025-01-01T00:00:00Z,499.00,USD,pro,10\n\
                acct_1,2025-03-01,0,,,\n";
    assert_eq!(
        ok(CsvKind::Subscriptions, text),
        [
            (
                2,
                EntryBody::Subscription(SubscriptionRow {
                    account_id: acct("acct_1"),
                    effective_at: ts("2025-01-01"),
                    mrr: usd(49_900),
                    plan: s("pro"),
                    seats: Some(10),
                })
            ),
            (
                3,
                EntryBody::Subscription(SubscriptionRow {
                    account_id: acct("acct_1"),
                    effective_at: ts("2025-03-01"),
                    mrr: Money::new(0, eur()),
                    plan: None,
                    seats: None,
                })
            ),
        ]
    );
    // Without a currency column, amounts are in the default currency.
    let rows = ok(
        CsvKind::Subscriptions,
        "account_id,effective_at,mrr\na,2025-01-01,12.5\n",
    );
    let EntryBody::Subscription(row) = &rows[0].1 else {
        panic!()
    };
    assert_eq!(row.mrr, Money::new(1_250, eur()));
}

#[test]
fn deals() {
    let text = "deal_id,account_id,kind,status,amount,currency,created_at,closed_at,contract_start,contract_end\n\
                d1,acct_1,new_business,won,12000,usd,2025-01-05,2025-02-01T10:30:00Z,2025-02-01,2026-01-31\n\
                d2,acct_1,expansion,open,3000.50,,2025-03-01,,,\n";
    assert_eq!(
        ok(CsvKind::Deals, text),
        [
            (
                2,
                EntryBody::Deal(DealRow {
                    deal_id: "d1".to_owned(),
                    account_id: acct("acct_1"),
                    kind: DealKind::NewBusiness,
                    status: DealStatus::Won,
                    amount: usd(1_200_000),
                    created_at: ts("2025-01-05"),
                    closed_at: Some(ts("2025-02-01T10:30:00Z")),
                    contract_start: Some(ts("2025-02-01")),
                    contract_end: Some(ts("2026-01-31")),
                })
            ),
            (
                3,
                EntryBody::Deal(DealRow {
                    deal_id: "d2".to_owned(),
                    account_id: acct("acct_1"),
                    kind: DealKind::Expansion,
                    status: DealStatus::Open,
                    amount: Money::new(300_050, eur()),
                    created_at: ts("2025-03-01"),
                    closed_at: None,
                    contract_start: None,
                    contract_end: None,
                })
            ),
        ]
    );
}

#[test]
fn spend() {
    let text = "date,channel,source,campaign,cost,currency,impressions,clicks\n\
                2025-03-01,paid_search,google,q1-brand,150.25,USD,12000,340\n";
    assert_eq!(
        ok(CsvKind::Spend, text),
        [(
            2,
            EntryBody::Spend(SpendRow {
                date: ts("2025-03-01"),
                channel: "paid_search".to_owned(),
                source: s("google"),
                campaign: s("q1-brand"),
                cost: usd(15_025),
                impressions: Some(12_000),
                clicks: Some(340),
            })
        )]
    );
    // Impressions and clicks may be left out.
    let rows = ok(
        CsvKind::Spend,
        "date,channel,source,campaign,cost,currency\n2025-03-02,display,,,9,\n",
    );
    assert_eq!(
        rows[0].1,
        EntryBody::Spend(SpendRow {
            date: ts("2025-03-02"),
            channel: "display".to_owned(),
            source: None,
            campaign: None,
            cost: Money::new(900, eur()),
            impressions: None,
            clicks: None,
        })
    );
}

#[test]
fn touchpoints() {
    let text = "occurred_at,account_id,user_id,email,anonymous_id,channel,source,medium,campaign,content,term,kind\n\
                2025-02-10T15:00:00Z,acct_1,u1,Dana@Acme.IO,a1,events,saastr,booth,saastr-2025,demo,crm,event\n\
                2025-02-11,,,,a2,,,,,,,\n";
    assert_eq!(
        ok(CsvKind::Touchpoints, text),
        [
            (
                2,
                EntryBody::Touchpoint(TouchpointRow {
                    occurred_at: ts("2025-02-10T15:00:00Z"),
                    account_id: Some(acct("acct_1")),
                    user_id: Some(UserId::parse("u1").unwrap()),
                    email: Some(Email::parse("dana@acme.io").unwrap()),
                    anonymous_id: Some(AnonymousId::parse("a1").unwrap()),
                    channel: s("events"),
                    source: s("saastr"),
                    medium: s("booth"),
                    campaign: s("saastr-2025"),
                    content: s("demo"),
                    term: s("crm"),
                    kind: s("event"),
                })
            ),
            (
                3,
                EntryBody::Touchpoint(TouchpointRow {
                    occurred_at: ts("2025-02-11"),
                    account_id: None,
                    user_id: None,
                    email: None,
                    anonymous_id: Some(AnonymousId::parse("a2").unwrap()),
                    channel: None,
                    source: None,
                    medium: None,
                    campaign: None,
                    content: None,
                    term: None,
                    kind: None,
                })
            ),
        ]
    );
    // A file with only the columns it needs.
    let rows = ok(
        CsvKind::Touchpoints,
        "email,occurred_at,kind\nx@y.io,2025-01-01,webinar\n",
    );
    let EntryBody::Touchpoint(row) = &rows[0].1 else {
        panic!()
    };
    assert_eq!(
        (row.email.as_ref().unwrap().as_str(), row.kind.as_deref()),
        ("x@y.io", Some("webinar"))
    );
}

#[test]
fn columns_in_another_order_crlf_quotes_and_blank_lines() {
    let text = "\u{feff}mrr , Account_ID,seats,effective_at\r\n\
                \"1,000.00\",acct_1,3,2025-01-01\r\n\
                \r\n\
                \" 20 \",\"acct, \"\"quoted\"\"\",,2025-02-01\r\n\
                ,,,\r\n\
                5,acct_3,,2025-03-01\r\n";
    let got = check(CsvKind::Subscriptions, text).unwrap();
    assert_eq!(
        got[0],
        Err(
            "line 2, column mrr: \"1,000.00\" is not an amount (expected a decimal such as 499.00)"
                .to_owned()
        )
    );
    assert_eq!(
        got[1],
        Ok((
            4,
            EntryBody::Subscription(SubscriptionRow {
                account_id: acct("acct, \"quoted\""),
                effective_at: ts("2025-02-01"),
                mrr: Money::new(2_000, eur()),
                plan: None,
                seats: None,
            })
        ))
    );
    // The all-empty row on line 5 is skipped; line numbers stay physical.
    assert_eq!(got[2].as_ref().map(|(line, _)| *line), Ok(6));
    assert_eq!(got.len(), 3);
    // A quoted cell spanning lines is reported at the line it starts on.
    let text = "account_id,name\nacct_1,\"two\nlines\"\nacct_2,\"x\"\n";
    let lines: Vec<u64> = ok(CsvKind::Accounts, text)
        .into_iter()
        .map(|(line, _)| line)
        .collect();
    assert_eq!(lines, [2, 4]);
}

#[test]
fn bad_rows_name_their_line_and_column() {
    let cases: &[(CsvKind, &str, &str)] = &[
        (CsvKind::Accounts, "account_id,created_at\nacct_1,2025-01-01\nacct_2,01/02/2025\n", "line 3, column created_at: \"01/02/2025\" is not a timestamp (expected RFC 3339 such as 2025-03-01T12:00:00Z, or a date 2025-03-01, within years 0000-9999)"),
        (CsvKind::Accounts, "account_id,created_at\nacct_1,1969-12-31\n", "line 2, column created_at: \"1969-12-31\" is before 1970-01-01T00:00:00.000Z, which no record predates; check the column's date format"),
        (CsvKind::Spend, "date,channel,cost\n0000-01-01,display,5\n", "line 2, column date: \"0000-01-01\" is before 1970-01-01T00:00:00.000Z, which no record predates; check the column's date format"),
        (CsvKind::Accounts, "account_id,employees\nacct_1,-3\n", "line 2, column employees: \"-3\" is not a non-negative whole number"),
        (CsvKind::Accounts, "account_id,employees\nacct_1,12.5\n", "line 2, column employees: \"12.5\" is not a non-negative whole number"),
        (CsvKind::Accounts, "account_id,employees\nacct_1,99999999999\n", "line 2, column employees: \"99999999999\" is too large"),
        (CsvKind::Accounts, "account_id,name\n,Acme\n", "line 2, column account_id: a value is required"),
        (CsvKind::Accounts, "account_id,name\nacct_1\n", "line 2: the row has 1 cells, the header has 2"),
        (CsvKind::Subscriptions, "account_id,effective_at,mrr\nacct_1,2025-01-01,4x\n", "line 2, column mrr: \"4x\" is not an amount (expected a decimal such as 499.00)"),
        (CsvKind::Subscriptions, "account_id,effective_at,mrr\nacct_1,2025-01-01,-5\n", "line 2, column mrr: -5.00 EUR is negative"),
        (CsvKind::Subscriptions, "account_id,effective_at,mrr,currency\nacct_1,2025-01-01,5.123,USD\n", "line 2, column mrr: \"5.123\" has more decimals than USD allows"),
        (CsvKind::Subscriptions, "account_id,effective_at,mrr,currency\nacct_1,2025-01-01,5,dollars\n", "line 2, column currency: \"dollars\" is not a currency code (expected three letters such as USD)"),
        (CsvKind::Subscriptions, "account_id,effective_at,mrr\nacct_1,,5\n", "line 2, column effective_at: a value is required"),
        (CsvKind::Deals, "deal_id,account_id,kind,status,amount,created_at\nd1,a,renewal,Won,5,2025-01-01\n", "line 2, column status: \"Won\" is not a deal status (expected open, won or lost)"),
        (CsvKind::Deals, "deal_id,account_id,kind,status,amount,created_at\nd1,a,upsell,won,5,2025-01-01\n", "line 2, column kind: \"upsell\" is not a deal kind (expected new_business, renewal or expansion)"),
        (CsvKind::Deals, "deal_id,account_id,kind,status,amount,created_at,contract_start,contract_end\nd1,a,renewal,won,5,2025-01-01,2025-02-01,2025-01-31\n", "line 2, column contract_end: 2025-01-31T00:00:00.000Z is before contract_start 2025-02-01T00:00:00.000Z"),
        (CsvKind::Spend, "date,channel,cost,clicks\n2025-01-01,display,5,lots\n", "line 2, column clicks: \"lots\" is not a non-negative whole number"),
        (CsvKind::Spend, "date,channel,cost\n2025-01-01,,5\n", "line 2, column channel: a value is required"),
        (CsvKind::Touchpoints, "occurred_at,account_id,user_id,email,anonymous_id,kind\n2025-01-01,,,,,event\n", "line 2: no id: at least one of account_id, user_id, email, anonymous_id must be set"),
        (CsvKind::Touchpoints, "occurred_at,email\n2025-01-01,dana at acme\n", "line 2, column email: \"dana at acme\" is not an e-mail address (expected local@domain)"),
    ];
    for (kind, text, expected) in cases {
        let rows = check(*kind, text).unwrap();
        let errors: Vec<&String> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors, [expected], "{text}");
    }
    // A bad row does not stop the rows after it.
    let rows = check(CsvKind::Accounts, "account_id,employees\na,x\nb,4\n").unwrap();
    assert!(rows[0].is_err() && rows[1].is_ok());
}

#[test]
fn row_error_fields() {
    let mut rows = read_csv(
        CsvKind::Accounts,
        "account_id,employees\na,x\n".as_bytes(),
        eur(),
    )
    .unwrap();
    assert_eq!(
        rows.next().unwrap().unwrap_err(),
        RowError {
            line: 2,
            column: Some("employees".to_owned()),
            reason: "\"x\" is not a non-negative whole number".to_owned()
        }
    );
    assert!(rows.next().is_none());
}

/// Exports carry columns of their own: they are listed and left unread, and the kind's columns
/// are read wherever they stand (here `name` after an unknown one).
#[test]
fn unknown_columns_are_listed_and_left_unread() {
    let text = "account_id,crm_owner_id,name,Notes\nacct_1,00Q5,Acme,\"call, maybe\"\n";
    let rows = read_csv(CsvKind::Accounts, text.as_bytes(), eur()).unwrap();
    assert_eq!(rows.ignored_columns(), ["crm_owner_id", "Notes"]);
    let bodies: Vec<EntryBody> = rows.map(|r| r.unwrap().body).collect();
    assert_eq!(
        bodies,
        [EntryBody::Account(AccountRow {
            account_id: acct("acct_1"),
            name: Some("Acme".into()),
            domain: None,
            tier: None,
            industry: None,
            employees: None,
            csm_owner: None,
            created_at: None,
        })]
    );
    let known = read_csv(CsvKind::Accounts, "account_id,name\n".as_bytes(), eur()).unwrap();
    assert!(known.ignored_columns().is_empty());
}

#[test]
fn bad_headers_are_refused() {
    let cases: &[(CsvKind, &str, HeaderError, &str)] = &[
        (
            CsvKind::Deals,
            "deal_id,account_id,kind,status,created_at\n",
            HeaderError::MissingColumn { kind: CsvKind::Deals, column: "amount" },
            "missing required column \"amount\" in the deals header",
        ),
        (
            CsvKind::Touchpoints,
            "account_id,email\n",
            HeaderError::MissingColumn { kind: CsvKind::Touchpoints, column: "occurred_at" },
            "missing required column \"occurred_at\" in the touchpoints header",
        ),
        (
            CsvKind::Spend,
            "date,channel,cost,Cost\n",
            HeaderError::DuplicateColumn { column: "cost".to_owned() },
            "column \"cost\" appears twice in the header",
        ),
        (
            CsvKind::Spend,
            "",
            HeaderError::Empty { kind: CsvKind::Spend },
            "the file is empty (expected a header row: date,channel,source,campaign,cost,currency,impressions,clicks)",
        ),
        (CsvKind::Spend, "\n\n", HeaderError::Empty { kind: CsvKind::Spend }, "the file is empty"),
    ];
    for (kind, text, expected, shown) in cases {
        let e = read_csv(*kind, text.as_bytes(), eur()).unwrap_err();
        assert_eq!(&e, expected, "{text:?}");
        assert!(e.to_string().starts_with(shown), "{e}");
    }
}

#[test]
fn kinds_by_name_and_file_name() {
    for kind in CsvKind::ALL {
        assert_eq!(CsvKind::from_name(kind.name()), Some(kind));
        assert_eq!(
            CsvKind::from_file_name(&format!("{}.csv", kind.name())),
            Some(kind)
        );
        assert!(kind
            .required_columns()
            .iter()
            .all(|c| kind.columns().contains(c)));
    }
    let cases: &[(&str, Option<CsvKind>)] = &[
        ("exports/2025_deals.csv", Some(CsvKind::Deals)),
        ("C:\\data\\Q1-Spend.CSV", Some(CsvKind::Spend)),
        ("acme.touchpoints.csv", Some(CsvKind::Touchpoints)),
        ("accounts.tsv", None),
        ("accounts", None),
        ("myaccounts.csv", None),
        ("deals_2025.csv", None),
        ("events.ndjson", None),
    ];
    for (file, expected) in cases {
        assert_eq!(CsvKind::from_file_name(file), *expected, "{file}");
    }
    assert_eq!(CsvKind::from_name("Deals"), None);
    assert_eq!(
        CsvKind::Deals.columns(),
        [
            "deal_id",
            "account_id",
            "kind",
            "status",
            "amount",
            "currency",
            "created_at",
            "closed_at",
            "contract_start",
            "contract_end"
        ]
    );
}

/// Hands out one byte per read, so line breaks fall across reads.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(slot)) => {
                *slot = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn line_numbers_are_physical_lines() {
    let cases: &[(&str, &[u64])] = &[
        ("account_id\na\nb\n", &[2, 3]),
        ("account_id\r\na\r\nb", &[2, 3]),
        ("account_id\ra\r\rb\r", &[2, 4]),
        ("\n\naccount_id\n\na\n\n\nb\n", &[5, 8]),
        ("\u{feff}account_id\r\n\r\na\r\n", &[3]),
        ("account_id,name\r\na,\"x\r\ny\n\nz\"\r\nb,\r\n", &[2, 6]),
        ("account_id\n  \na\n", &[3]),
    ];
    for (text, expected) in cases {
        let whole: Vec<u64> = ok(CsvKind::Accounts, text)
            .into_iter()
            .map(|(line, _)| line)
            .collect();
        assert_eq!(&whole, expected, "{text:?}");
        let trickled: Vec<u64> = read_csv(CsvKind::Accounts, Trickle(text.as_bytes()), eur())
            .unwrap()
            .map(|row| row.unwrap().line)
            .collect();
        assert_eq!(&trickled, expected, "trickled {text:?}");
    }
    // Past the reader's buffer: the 5,000th row is on line 5,002 after a blank line.
    let mut text = String::from("account_id,name\r\n\r\n");
    for i in 0..5_000 {
        text.push_str(&format!("acct_{i},\"name {i}\"\r\n"));
    }
    let rows = ok(CsvKind::Accounts, &text);
    assert_eq!((rows.len(), rows[0].0, rows[4_999].0), (5_000, 3, 5_002));
    // A row that is not UTF-8 is reported at its line, and reading goes on.
    let mut bytes = b"account_id,name\na,ok\n\nb,caf".to_vec();
    bytes.extend_from_slice(&[0xe9, b'\n', b'c', b',', b'x', b'\n']);
    let rows: Vec<Result<u64, RowError>> = read_csv(CsvKind::Accounts, bytes.as_slice(), eur())
        .unwrap()
        .map(|row| row.map(|r| r.line))
        .collect();
    assert_eq!(rows[0], Ok(2));
    assert_eq!(rows[1].as_ref().unwrap_err().line, 4);
    assert!(rows[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .starts_with("line 4: "));
    assert_eq!(rows[2], Ok(5));
}
