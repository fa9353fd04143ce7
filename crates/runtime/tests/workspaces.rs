//! One lock per workspace: a long read of one workspace never holds up what is applied to
//! another, while a read still sees everything submitted before it.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use tenure_config::Config;
use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, StoredEntry, SubscriptionRow, Timestamp,
    WorkspaceId,
};
use tenure_runtime::Live;

/// Only a guard against a hang: the wait ends as soon as the other workspace is applied.
const GUARD: Duration = Duration::from_secs(60);

fn paying(workspace: &str, seq: i64, account: &str) -> StoredEntry {
    StoredEntry {
        seq,
        entry: Entry {
            workspace: WorkspaceId::parse(workspace).unwrap(),
            source: Source::Import,
            received_at: Timestamp::from_millis(0),
            body: EntryBody::Subscription(SubscriptionRow {
                account_id: AccountId::parse(account).unwrap(),
                effective_at: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
                mrr: Money::new(10_000, Currency::USD),
                plan: None,
                seats: None,
            }),
        },
    }
}

#[test]
fn a_long_read_of_one_workspace_does_not_hold_up_another() {
    let live = Arc::new(Live::empty(Config::default().engine()));
    live.start_applier();
    let (alpha, beta) = (
        WorkspaceId::parse("alpha").unwrap(),
        WorkspaceId::parse("beta").unwrap(),
    );
    live.submit(vec![paying("alpha", 1, "a")]);
    live.read(&alpha, |model| {
        assert_eq!(model.account_ids().count(), 1, "the read saw alpha's entry");
        // While alpha's model is read, beta's entries are applied and beta is read.
        let (done, applied) = mpsc::channel();
        let other = Arc::clone(&live);
        let beta = beta.clone();
        std::thread::spawn(move || {
            other.submit(vec![paying("beta", 2, "b"), paying("beta", 3, "c")]);
            let _ = done.send(other.read(&beta, |m| m.account_ids().count()));
        });
        assert_eq!(applied.recv_timeout(GUARD), Ok(2));
    });
    assert_eq!(live.read(&beta, |m| m.account_ids().count()), 2);
}
