//! SQLite's side of playbooks: firings, the outbox, tasks, owners and leases (migration 5).
//!
//! These run on a connection of their own, not through the log's group-commit writer: each
//! call needs its own answer from inside its transaction (was the key new? which rows did this
//! claim get?), and they are few beside the log's appends. Every write is one `IMMEDIATE`
//! transaction, which takes SQLite's write lock at its start, so a read-then-write (a claim,
//! an upsert) cannot interleave with another connection's, in this process or another: that,
//! not the mutex around the connection, is what makes claims and leases exclusive.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use tenure_core::{Timestamp, WorkspaceId};

use crate::actions::*;
use crate::StoreError;

/// SQLite's `LIMIT -1` is no limit.
fn limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
}

/// The conditions of a filtered read, only those given: `(? IS NULL OR column = ?)` would
/// read the same rows, but SQLite cannot use an index through it and scans the workspace.
struct Where {
    sql: String,
    values: Vec<rusqlite::types::Value>,
}

impl Where {
    fn workspace(workspace: &WorkspaceId) -> Where {
        Where {
            sql: "workspace = ?1".into(),
            values: vec![workspace.as_str().to_owned().into()],
        }
    }

    /// Adds `condition` with its values, numbered after those before; `?` stands for each.
    fn and(mut self, condition: &str, values: Vec<rusqlite::types::Value>) -> Where {
        let mut numbered = String::new();
        for (i, part) in condition.split('?').enumerate() {
            if i > 0 {
                self.values.push(values[i - 1].clone());
                numbered.push_str(&format!("?{}", self.values.len()));
            }
            numbered.push_str(part);
        }
        self.sql.push_str(" AND ");
        self.sql.push_str(&numbered);
        self
    }

    /// Adds `column = value` if there is a value.
    fn equals(self, column: &str, value: Option<&str>) -> Where {
        match value {
            Some(v) => self.and(&format!("{column} = ?"), vec![v.to_owned().into()]),
            None => self,
        }
    }

    fn params(&self) -> rusqlite::ParamsFromIter<&Vec<rusqlite::types::Value>> {
        rusqlite::params_from_iter(&self.values)
    }
}

fn write(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn to_json(value: &serde_json::Value) -> String {
    // A `Value` always serialises: its map keys are strings.
    serde_json::to_string(value).expect("a JSON value serialises")
}

fn from_json(what: &str, raw: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

pub(crate) fn record_firings(
    conn: &mut Connection,
    workspace: &WorkspaceId,
    firings: &[(NewFiring, Vec<NewDelivery>)],
) -> Result<Vec<bool>, StoreError> {
    let tx = write(conn)?;
    let mut recorded = Vec::with_capacity(firings.len());
    for (firing, deliveries) in firings {
        recorded.push(insert_firing(&tx, workspace, firing, deliveries)?);
    }
    tx.commit()?;
    Ok(recorded)
}

/// Inserts the firing, and its deliveries if it was new; whether it was.
fn insert_firing(
    tx: &rusqlite::Transaction,
    workspace: &WorkspaceId,
    firing: &NewFiring,
    deliveries: &[NewDelivery],
) -> Result<bool, StoreError> {
    let inserted = tx.execute(
        "INSERT INTO firings (workspace, key, playbook, version, account, period, fired_at, cause)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (workspace, key) DO NOTHING",
        params![
            workspace.as_str(),
            firing.key,
            firing.playbook,
            firing.version,
            firing.account,
            firing.period,
            firing.fired_at.millis(),
            to_json(&firing.cause),
        ],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO deliveries (workspace, firing_key, playbook, account, step, destination,
             kind, payload, due_at, status, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?9, ?10)",
    )?;
    for d in deliveries {
        insert
            .execute(params![
                workspace.as_str(),
                firing.key,
                firing.playbook,
                firing.account,
                d.step,
                d.destination,
                d.kind,
                to_json(&d.payload),
                d.due_at.millis(),
                firing.fired_at.millis(),
            ])
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Database(format!(
                    "firing {}: two deliveries have step {}; each step of a firing needs its own number",
                    firing.key, d.step
                )),
                _ => e.into(),
            })?;
    }
    Ok(true)
}

pub(crate) fn firings(
    conn: &Connection,
    workspace: &WorkspaceId,
    filter: &FiringFilter,
) -> Result<Vec<FiringRecord>, StoreError> {
    let mut filtered = Where::workspace(workspace)
        .equals("playbook", filter.playbook.as_deref())
        .equals("account", filter.account.as_deref());
    if let Some(since) = filter.since {
        filtered = filtered.and("fired_at >= ?", vec![since.millis().into()]);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT key, playbook, version, account, period, fired_at, cause FROM firings
         WHERE {} ORDER BY fired_at DESC, rowid DESC LIMIT {}",
        filtered.sql,
        limit(filter.limit)
    ))?;
    let rows = stmt.query_map(filtered.params(), |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, i64>(5)?,
            row.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, playbook, version, account, period, fired_at, cause) = row?;
        let cause = from_json(&format!("firing {key}'s cause"), &cause)?;
        out.push(FiringRecord {
            key,
            playbook,
            version,
            account,
            period,
            fired_at: ts(fired_at),
            cause,
        });
    }
    Ok(out)
}

const DELIVERY_COLUMNS: &str = "id, workspace, firing_key, playbook, account, step, destination,
    kind, payload, due_at, status, attempts, next_attempt_at, lease_owner, lease_until,
    last_code, last_error, created_at, delivered_at, result";

/// A delivery row as read, before its text columns are checked.
struct RawDelivery {
    id: i64,
    workspace: String,
    firing_key: String,
    playbook: String,
    account: String,
    step: i64,
    destination: String,
    kind: String,
    payload: String,
    due_at: i64,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    last_code: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
    result: Option<String>,
}

impl RawDelivery {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            workspace: row.get(1)?,
            firing_key: row.get(2)?,
            playbook: row.get(3)?,
            account: row.get(4)?,
            step: row.get(5)?,
            destination: row.get(6)?,
            kind: row.get(7)?,
            payload: row.get(8)?,
            due_at: row.get(9)?,
            status: row.get(10)?,
            attempts: row.get(11)?,
            next_attempt_at: row.get(12)?,
            lease_owner: row.get(13)?,
            lease_until: row.get(14)?,
            last_code: row.get(15)?,
            last_error: row.get(16)?,
            created_at: row.get(17)?,
            delivered_at: row.get(18)?,
            result: row.get(19)?,
        })
    }

    fn check(self) -> Result<Delivery, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("delivery {}: {what}", self.id));
        let lease = match (self.lease_owner, self.lease_until) {
            (Some(owner), Some(until)) => Some(Lease {
                owner,
                until: ts(until),
            }),
            _ => None,
        };
        Ok(Delivery {
            id: DeliveryId(self.id),
            workspace: WorkspaceId::parse(&self.workspace).map_err(|e| corrupt(e.to_string()))?,
            step: u32::try_from(self.step).map_err(|_| corrupt(format!("step {}", self.step)))?,
            payload: from_json(&format!("delivery {}'s payload", self.id), &self.payload)?,
            status: DeliveryStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("status {:?}", self.status)))?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_code: self.last_code.and_then(|c| u16::try_from(c).ok()),
            firing_key: self.firing_key,
            playbook: self.playbook,
            account: self.account,
            destination: self.destination,
            kind: self.kind,
            due_at: ts(self.due_at),
            next_attempt_at: ts(self.next_attempt_at),
            lease,
            last_error: self.last_error,
            created_at: ts(self.created_at),
            delivered_at: self.delivered_at.map(ts),
            result: self.result,
        })
    }
}

fn delivery_by_id(
    conn: &Connection,
    workspace: &WorkspaceId,
    id: DeliveryId,
) -> Result<Option<Delivery>, StoreError> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1 AND workspace = ?2"
        ))?
        .query_row(params![id.0, workspace.as_str()], RawDelivery::read)
        .optional()?;
    raw.map(RawDelivery::check).transpose()
}

pub(crate) fn claim_deliveries(
    conn: &mut Connection,
    owner: &str,
    now: Timestamp,
    lease_ms: i64,
    max: usize,
    whose: ClaimFor<'_>,
) -> Result<Vec<Delivery>, StoreError> {
    let until = now.plus_millis(lease_ms.max(0));
    let mut values: Vec<rusqlite::types::Value> = vec![
        owner.to_owned().into(),
        until.millis().into(),
        now.millis().into(),
        limit(Some(max)).into(),
    ];
    // The rows come from the index of pending deliveries by due instant; the destination
    // only filters them.
    let destination = match whose {
        ClaimFor::Any => String::new(),
        ClaimFor::Only(name) => {
            values.push(name.to_owned().into());
            "AND destination = ?5".to_owned()
        }
        ClaimFor::NoneOf(names) => {
            let mut marks = Vec::new();
            for name in names {
                values.push(name.clone().into());
                marks.push(format!("?{}", values.len()));
            }
            format!("AND destination NOT IN ({})", marks.join(", "))
        }
    };
    let tx = write(conn)?;
    let claimed: Vec<RawDelivery> = {
        // `RETURNING` leases and reads in one statement; the write lock the transaction holds
        // from its start keeps any other claimer out between choosing the rows and leasing them.
        let mut stmt = tx.prepare_cached(&format!(
            "UPDATE deliveries SET lease_owner = ?1, lease_until = ?2
             WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE status = 'pending' AND next_attempt_at <= ?3
                   AND (lease_until IS NULL OR lease_until <= ?3) {destination}
                 ORDER BY next_attempt_at, id LIMIT ?4)
             RETURNING {DELIVERY_COLUMNS}"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(&values), RawDelivery::read)?;
        rows.collect::<Result<_, _>>()?
    };
    tx.commit()?;
    let mut out = claimed
        .into_iter()
        .map(RawDelivery::check)
        .collect::<Result<Vec<_>, _>>()?;
    // RETURNING gives no order; claimers are promised the earliest due first.
    out.sort_by_key(|d| (d.next_attempt_at, d.id));
    Ok(out)
}

pub(crate) fn finish_delivery(
    conn: &mut Connection,
    id: DeliveryId,
    owner: &str,
    at: Timestamp,
    attempt: &Attempted,
    duration_ms: u64,
) -> Result<bool, StoreError> {
    let tx = write(conn)?;
    // Held means still leased to `owner` and still pending. A lease that ran out but that no
    // one else claimed still counts: the attempt was made, and recording it avoids a second.
    let attempts: Option<i64> = tx
        .prepare_cached(
            "SELECT attempts FROM deliveries
             WHERE id = ?1 AND status = 'pending' AND lease_owner = ?2",
        )?
        .query_row(params![id.0, owner], |row| row.get(0))
        .optional()?;
    let Some(attempts) = attempts else {
        return Ok(false);
    };
    let number = attempts + 1;
    tx.execute(
        "INSERT INTO delivery_attempts (delivery, attempt, at, outcome, code, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id.0,
            number,
            at.millis(),
            attempt.outcome(),
            attempt.code(),
            attempt.error(),
            i64::try_from(duration_ms).unwrap_or(i64::MAX),
        ],
    )?;
    let status = attempt.status();
    let next = match attempt {
        Attempted::Retry { at: next, .. } => Some(next.millis()),
        _ => None,
    };
    let delivered_at = (status == DeliveryStatus::Delivered).then(|| at.millis());
    tx.execute(
        "UPDATE deliveries SET status = ?2, attempts = ?3,
             next_attempt_at = COALESCE(?4, next_attempt_at), delivered_at = ?5,
             last_code = ?6, last_error = ?7, result = ?8, lease_owner = NULL, lease_until = NULL
         WHERE id = ?1",
        params![
            id.0,
            status.as_str(),
            number,
            next,
            delivered_at,
            attempt.code(),
            attempt.error(),
            attempt.result(),
        ],
    )?;
    tx.commit()?;
    Ok(true)
}

pub(crate) fn deliveries(
    conn: &Connection,
    workspace: &WorkspaceId,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>, StoreError> {
    let filtered = Where::workspace(workspace)
        .equals("status", filter.status.map(DeliveryStatus::as_str))
        .equals("playbook", filter.playbook.as_deref())
        .equals("account", filter.account.as_deref())
        .equals("destination", filter.destination.as_deref());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {} ORDER BY id DESC LIMIT {}",
        filtered.sql,
        limit(filter.limit)
    ))?;
    let rows = stmt.query_map(filtered.params(), RawDelivery::read)?;
    rows.map(|row| row?.check()).collect()
}

pub(crate) fn delivery_tally(
    conn: &Connection,
    workspace: &WorkspaceId,
    prefix: &str,
) -> Result<Vec<DeliveryTally>, StoreError> {
    // A range on the playbook column rather than LIKE: the (workspace, playbook, id) index
    // serves it, and a prefix holding % or _ means itself.
    let mut stmt = conn.prepare_cached(
        "SELECT playbook, destination, status, result,
                CASE WHEN status = 'dead' THEN last_error END AS reason,
                COUNT(*), MAX(created_at)
         FROM deliveries
         WHERE workspace = ?1 AND playbook >= ?2 AND playbook < ?3
         GROUP BY playbook, destination, status, result, reason
         ORDER BY playbook, destination, status, result, reason",
    )?;
    let end = format!("{prefix}\u{10FFFF}");
    let rows = stmt.query_map(params![workspace.as_str(), prefix, end], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, i64>(5)?,
            row.get::<_, i64>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (playbook, destination, status, result, reason, count, latest) = row?;
        out.push(DeliveryTally {
            status: DeliveryStatus::parse(&status).ok_or_else(|| {
                StoreError::Corrupt(format!("a delivery of {playbook} has status {status:?}"))
            })?,
            playbook,
            destination,
            result,
            reason,
            count: u64::try_from(count).unwrap_or(0),
            latest: ts(latest),
        });
    }
    Ok(out)
}

pub(crate) fn delivery_attempts(
    conn: &Connection,
    workspace: &WorkspaceId,
    id: DeliveryId,
) -> Result<Vec<AttemptRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.attempt, a.at, a.outcome, a.code, a.error, a.duration_ms
         FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery
         WHERE a.delivery = ?1 AND d.workspace = ?2 ORDER BY a.attempt",
    )?;
    let rows = stmt.query_map(params![id.0, workspace.as_str()], |row| {
        Ok(AttemptRecord {
            attempt: u32::try_from(row.get::<_, i64>(0)?).unwrap_or(u32::MAX),
            at: ts(row.get(1)?),
            outcome: row.get(2)?,
            code: row
                .get::<_, Option<i64>>(3)?
                .and_then(|c| u16::try_from(c).ok()),
            error: row.get(4)?,
            duration_ms: u64::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn retry_delivery(
    conn: &mut Connection,
    workspace: &WorkspaceId,
    id: DeliveryId,
    now: Timestamp,
) -> Result<Retried, StoreError> {
    let tx = write(conn)?;
    let Some(found) = delivery_by_id(&tx, workspace, id)? else {
        return Ok(Retried::NotFound);
    };
    if found.status == DeliveryStatus::Delivered {
        return Ok(Retried::AlreadyDelivered {
            delivered_at: found.delivered_at,
        });
    }
    tx.execute(
        "UPDATE deliveries SET status = 'pending', result = NULL, next_attempt_at = ?2 WHERE id = ?1",
        params![id.0, now.millis()],
    )?;
    let delivery = delivery_by_id(&tx, workspace, id)?
        .ok_or_else(|| StoreError::Corrupt(format!("delivery {id} vanished while retried")))?;
    tx.commit()?;
    Ok(Retried::Pending {
        delivery: Box::new(delivery),
    })
}

pub(crate) fn upsert_task(
    conn: &mut Connection,
    workspace: &WorkspaceId,
    task: &NewTask,
) -> Result<(TaskId, bool), StoreError> {
    let tx = write(conn)?;
    let open: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM tasks
             WHERE workspace = ?1 AND playbook = ?2 AND account = ?3 AND status = 'open'",
        )?
        .query_row(
            params![workspace.as_str(), task.playbook, task.account],
            |row| row.get(0),
        )
        .optional()?;
    let answer = match open {
        Some(id) => {
            tx.execute(
                "UPDATE tasks SET title = ?2, due_at = ?3, firing_key = ?4,
                     owner = COALESCE(owner, ?5), updated_at = ?6
                 WHERE id = ?1",
                params![
                    id,
                    task.title,
                    task.due_at.map(Timestamp::millis),
                    task.firing_key,
                    task.owner,
                    task.at.millis(),
                ],
            )?;
            (TaskId(id), false)
        }
        None => {
            tx.execute(
                "INSERT INTO tasks (workspace, playbook, account, title, owner, due_at,
                     firing_key, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?8)",
                params![
                    workspace.as_str(),
                    task.playbook,
                    task.account,
                    task.title,
                    task.owner,
                    task.due_at.map(Timestamp::millis),
                    task.firing_key,
                    task.at.millis(),
                ],
            )?;
            (TaskId(tx.last_insert_rowid()), true)
        }
    };
    tx.commit()?;
    Ok(answer)
}

const TASK_COLUMNS: &str = "id, playbook, account, title, owner, due_at, firing_key, status,
    snoozed_until, created_at, updated_at, completed_at";

fn read_task(row: &Row<'_>, now: Timestamp) -> rusqlite::Result<Task> {
    let done = row.get::<_, String>(7)? == "done";
    let snoozed_until: Option<i64> = row.get(8)?;
    let status = match (done, snoozed_until) {
        (true, _) => TaskStatus::Done,
        (false, Some(until)) if until > now.millis() => TaskStatus::Snoozed,
        (false, _) => TaskStatus::Open,
    };
    Ok(Task {
        id: TaskId(row.get(0)?),
        playbook: row.get(1)?,
        account: row.get(2)?,
        title: row.get(3)?,
        owner: row.get(4)?,
        due_at: row.get::<_, Option<i64>>(5)?.map(ts),
        firing_key: row.get(6)?,
        status,
        snoozed_until: snoozed_until.map(ts),
        created_at: ts(row.get(9)?),
        updated_at: ts(row.get(10)?),
        completed_at: row.get::<_, Option<i64>>(11)?.map(ts),
    })
}

pub(crate) fn tasks(
    conn: &Connection,
    workspace: &WorkspaceId,
    filter: &TaskFilter,
    now: Timestamp,
) -> Result<Vec<Task>, StoreError> {
    // The status as of `now` is worked out in SQL too, so that `limit` counts matching rows.
    let now_ms = rusqlite::types::Value::from(now.millis());
    let mut filtered = Where::workspace(workspace)
        .equals("owner", filter.owner.as_deref())
        .equals("account", filter.account.as_deref());
    filtered = match filter.status {
        None => filtered,
        Some(TaskStatus::Done) => filtered.and("status = 'done'", vec![]),
        Some(TaskStatus::Snoozed) => {
            filtered.and("status = 'open' AND snoozed_until > ?", vec![now_ms])
        }
        Some(TaskStatus::Open) => filtered.and(
            "status = 'open' AND (snoozed_until IS NULL OR snoozed_until <= ?)",
            vec![now_ms],
        ),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE {} ORDER BY id LIMIT {}",
        filtered.sql,
        limit(filter.limit)
    ))?;
    let rows = stmt.query_map(filtered.params(), |row| read_task(row, now))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn update_task(
    conn: &mut Connection,
    workspace: &WorkspaceId,
    id: TaskId,
    change: &TaskChange,
    at: Timestamp,
) -> Result<Option<Task>, StoreError> {
    let tx = write(conn)?;
    let changed = match change {
        TaskChange::Assign(owner) => tx.execute(
            "UPDATE tasks SET owner = ?3, updated_at = ?4 WHERE id = ?1 AND workspace = ?2",
            params![id.0, workspace.as_str(), owner, at.millis()],
        )?,
        TaskChange::Complete => tx.execute(
            "UPDATE tasks SET status = 'done', completed_at = COALESCE(completed_at, ?3),
                 snoozed_until = NULL, updated_at = ?3
             WHERE id = ?1 AND workspace = ?2",
            params![id.0, workspace.as_str(), at.millis()],
        )?,
        TaskChange::Snooze { until } => tx.execute(
            "UPDATE tasks SET snoozed_until = CASE status WHEN 'open' THEN ?3 ELSE snoozed_until END,
                 updated_at = CASE status WHEN 'open' THEN ?4 ELSE updated_at END
             WHERE id = ?1 AND workspace = ?2",
            params![id.0, workspace.as_str(), until.millis(), at.millis()],
        )?,
    };
    if changed == 0 {
        return Ok(None);
    }
    let task = tx
        .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))?
        .query_row(params![id.0], |row| read_task(row, at))?;
    tx.commit()?;
    Ok(Some(task))
}

pub(crate) fn set_owner(
    conn: &mut Connection,
    workspace: &WorkspaceId,
    change: &OwnerChange,
) -> Result<(), StoreError> {
    let tx = write(conn)?;
    tx.execute(
        "INSERT INTO account_owners (workspace, account, team, owner, at, sla_due, playbook)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            workspace.as_str(),
            change.account,
            change.team,
            change.owner,
            change.at.millis(),
            change.sla_due.map(Timestamp::millis),
            change.playbook,
        ],
    )?;
    tx.commit()?;
    Ok(())
}

fn read_owner(row: &Row<'_>) -> rusqlite::Result<OwnerRecord> {
    Ok(OwnerRecord {
        account: row.get(0)?,
        team: row.get(1)?,
        owner: row.get(2)?,
        since: ts(row.get(3)?),
        sla_due: row.get::<_, Option<i64>>(4)?.map(ts),
        sla_met_at: row.get::<_, Option<i64>>(5)?.map(ts),
        playbook: row.get(6)?,
    })
}

/// The current change of each account: none later by instant, then by order of recording.
const CURRENT_OWNER: &str = "NOT EXISTS (
    SELECT 1 FROM account_owners later
    WHERE later.workspace = o.workspace AND later.account = o.account
      AND (later.at > o.at OR (later.at = o.at AND later.id > o.id)))";

pub(crate) fn owners(
    conn: &Connection,
    workspace: &WorkspaceId,
    account: Option<&str>,
) -> Result<Vec<OwnerRecord>, StoreError> {
    let filtered = Where::workspace(workspace).equals("account", account);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT account, team, owner, at, sla_due, sla_met_at, playbook FROM account_owners o
         WHERE {} AND {CURRENT_OWNER} ORDER BY account",
        filtered.sql
    ))?;
    let rows = stmt.query_map(filtered.params(), read_owner)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn owner_history(
    conn: &Connection,
    workspace: &WorkspaceId,
    account: &str,
) -> Result<Vec<OwnerRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT account, team, owner, at, sla_due, sla_met_at, playbook FROM account_owners
         WHERE workspace = ?1 AND account = ?2 ORDER BY at, id",
    )?;
    let rows = stmt.query_map(params![workspace.as_str(), account], read_owner)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn meet_sla(
    conn: &mut Connection,
    workspace: &WorkspaceId,
    account: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let tx = write(conn)?;
    let met = tx.execute(
        &format!(
            "UPDATE account_owners AS o SET sla_met_at = ?3
             WHERE workspace = ?1 AND account = ?2 AND sla_due IS NOT NULL
               AND sla_met_at IS NULL AND {CURRENT_OWNER}"
        ),
        params![workspace.as_str(), account, at.millis()],
    )?;
    tx.commit()?;
    Ok(met == 1)
}

pub(crate) fn sla_breaches(
    conn: &Connection,
    workspace: &WorkspaceId,
    since: Timestamp,
    now: Timestamp,
) -> Result<Vec<OwnerRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT account, team, owner, at, sla_due, sla_met_at, playbook FROM account_owners o
         WHERE workspace = ?1 AND sla_due > ?2 AND sla_due <= ?3
           AND (sla_met_at IS NULL OR sla_met_at > sla_due)
           AND NOT EXISTS (
               SELECT 1 FROM account_owners later
               WHERE later.workspace = o.workspace AND later.account = o.account
                 AND (later.at > o.at OR (later.at = o.at AND later.id > o.id))
                 AND later.at < o.sla_due)
         ORDER BY sla_due, account, id",
    )?;
    let rows = stmt.query_map(
        params![workspace.as_str(), since.millis(), now.millis()],
        read_owner,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn take_lease(
    conn: &mut Connection,
    name: &str,
    owner: &str,
    now: Timestamp,
    ms: i64,
) -> Result<bool, StoreError> {
    let tx = write(conn)?;
    // One statement decides and takes: the row is written only if the lease is free, ended,
    // or the owner's own.
    let taken = tx.execute(
        "INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
         WHERE leases.owner = excluded.owner OR leases.until <= ?4",
        params![
            name,
            owner,
            now.plus_millis(ms.max(0)).millis(),
            now.millis()
        ],
    )?;
    tx.commit()?;
    Ok(taken == 1)
}

pub(crate) fn release_lease(
    conn: &mut Connection,
    name: &str,
    owner: &str,
) -> Result<bool, StoreError> {
    let tx = write(conn)?;
    let released = tx.execute(
        "DELETE FROM leases WHERE name = ?1 AND owner = ?2",
        params![name, owner],
    )?;
    tx.commit()?;
    Ok(released == 1)
}
