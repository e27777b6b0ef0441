//! Shifts, the handover brief each leaves (computed from live data and the shift's events when
//! it ends, then kept as written), who of the next shift acknowledged it, and departments'
//! duty contacts.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::DbRow;
use super::dialect::Sql;
use super::{Store, StoreError, from_ms, ms, record_from_row};
use crate::domain::{self, Actor, CaseRecord};
use crate::wire::{
    Acknowledgement, BriefCase, BriefTotals, ClockKind, Department, DutyContact, EscalationStep,
    Event, HandoverBrief, MAX_BRIEF_CASES, PendingExtension, Role, Shift, ShiftCounts, Tier,
};

/// What `handovers.brief` holds: the brief without what the row and its acks say.
#[derive(Debug, Serialize, Deserialize)]
struct StoredBrief {
    red_open: Vec<BriefCase>,
    claimed: Vec<BriefCase>,
    pending_extensions: Vec<BriefCase>,
    promised: Vec<BriefCase>,
    escalated: Vec<BriefCase>,
    counts: ShiftCounts,
    totals: BriefTotals,
}

/// Why a shift request was refused: the route words each as its own problem.
#[derive(Debug)]
pub enum ShiftRefusal {
    /// Starting a shift while one runs.
    AlreadyOnShift(Box<Shift>),
    /// Ending a shift without a running one.
    NotOnShift(String),
}

const SHIFT_COLUMNS: &str = "s.id, s.started_at, s.ended_at, u.name, u.role
    FROM shifts s JOIN users u ON u.id = s.user_id";

impl Store {
    fn when(&self, v: i64) -> crate::wire::Timestamp {
        from_ms(v).with_timezone(&self.tz).fixed_offset()
    }

    fn shift_from_row(&self, r: &DbRow) -> Result<Shift, StoreError> {
        let role: String = r.try_get("role")?;
        Ok(Shift {
            id: r.try_get("id")?,
            user: r.try_get("name")?,
            role: Role::parse(&role).unwrap_or(Role::Observer),
            started_at: self.when(r.try_get("started_at")?),
            ended_at: r
                .try_get::<Option<i64>, _>("ended_at")?
                .map(|v| self.when(v)),
        })
    }

    /// The id and role of a user by name.
    pub async fn user_named(&self, name: &str) -> Result<Option<(i64, Role)>, StoreError> {
        let row = sqlx::query("SELECT id, role FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let id: i64 = r.try_get("id")?;
        let role: String = r.try_get("role")?;
        Ok(Role::parse(&role).map(|role| (id, role)))
    }

    async fn user_id(&self, name: &str) -> Result<i64, StoreError> {
        match self.user_named(name).await? {
            Some((id, _)) => Ok(id),
            None => Err(StoreError::NotFound(format!("user {name}"))),
        }
    }

    /// The user's running shift.
    pub async fn current_shift(&self, user: &str) -> Result<Option<Shift>, StoreError> {
        let sql = format!("SELECT {SHIFT_COLUMNS} WHERE u.name = $1 AND s.ended_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| self.shift_from_row(&r)).transpose()
    }

    pub async fn shift(&self, id: i64) -> Result<Shift, StoreError> {
        let sql = format!("SELECT {SHIFT_COLUMNS} WHERE s.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => self.shift_from_row(&r),
            None => Err(StoreError::NotFound(format!("shift {id}"))),
        }
    }

    /// The latest shift of each user who was on shift after `since`, running ones first.
    pub async fn latest_shifts(
        &self,
        since: DateTime<Utc>,
        only_running: bool,
    ) -> Result<Vec<Shift>, StoreError> {
        let sql = format!(
            "SELECT {SHIFT_COLUMNS}
              WHERE s.id IN (SELECT MAX(id) FROM shifts GROUP BY user_id)
                AND (s.ended_at IS NULL OR (s.ended_at >= $1 AND $2 = 0))
              ORDER BY CASE WHEN s.ended_at IS NULL THEN 0 ELSE 1 END, s.started_at DESC, s.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(since))
            .bind(i64::from(only_running))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| self.shift_from_row(r)).collect()
    }

    /// Starts a shift for `actor` at `now`.
    pub async fn start_shift(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<Shift, ShiftRefusal>, StoreError> {
        let user_id = self.user_id(&actor.name).await?;
        let mut tx = self.begin_write().await?;
        let running = sqlx::query("SELECT id FROM shifts WHERE user_id = $1 AND ended_at IS NULL")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if running.is_some() {
            tx.rollback().await;
            return Ok(match self.current_shift(&actor.name).await? {
                Some(s) => Err(ShiftRefusal::AlreadyOnShift(Box::new(s))),
                None => Err(ShiftRefusal::NotOnShift(actor.name.clone())),
            });
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO shifts (user_id, started_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(user_id)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.health.committed();
        Ok(Ok(Shift {
            id,
            user: actor.name.clone(),
            role: actor.role,
            started_at: self.when(ms(now)),
            ended_at: None,
        }))
    }

    /// Ends `actor`'s running shift at `now` and stores its brief.
    pub async fn end_shift(
        &self,
        actor: &Actor,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<HandoverBrief, ShiftRefusal>, StoreError> {
        let Some(mut shift) = self.current_shift(&actor.name).await? else {
            return Ok(Err(ShiftRefusal::NotOnShift(actor.name.clone())));
        };
        let started = shift.started_at.with_timezone(&Utc);
        let body = self.compute_brief(&actor.name, started, now).await?;
        let json = serde_json::to_string(&body).unwrap_or_default();
        let mut tx = self.begin_write().await?;
        let ended =
            sqlx::query("UPDATE shifts SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
                .bind(ms(now))
                .bind(shift.id)
                .execute(&mut *tx)
                .await?;
        if ended.rows_affected() == 0 {
            // Ended by a concurrent request meanwhile.
            tx.rollback().await;
            return Ok(Err(ShiftRefusal::NotOnShift(actor.name.clone())));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO handovers (shift_id, written_at, note, brief) VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(shift.id)
        .bind(ms(now))
        .bind(note)
        .bind(&json)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.health.committed();
        shift.ended_at = Some(self.when(ms(now)));
        Ok(Ok(assemble(
            id,
            shift,
            self.when(ms(now)),
            note.to_string(),
            body,
            vec![],
        )))
    }

    /// The brief of `user`'s shift `[from, to]`, from the cases as they are now and the
    /// shift's events.
    async fn compute_brief(
        &self,
        user: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<StoredBrief, StoreError> {
        let names: HashMap<i64, String> = self
            .departments()
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let open: Vec<CaseRecord> = sqlx::query("SELECT * FROM cases WHERE status != 'closed'")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(record_from_row)
            .collect::<Result<_, _>>()?;
        // The end of the window is inclusive: an action in the shift's last millisecond counts.
        let events = self
            .events_between(from, to + Duration::milliseconds(1))
            .await?;
        let brief =
            |rec: &CaseRecord, detail: Option<String>| self.brief_case(rec, &names, to, detail);
        let next_due = |rec: &CaseRecord| {
            domain::next_due(&domain::deadlines(rec, &self.policy, to)).map(|d| d.due_at)
        };

        let mut red: Vec<&CaseRecord> = open.iter().filter(|r| r.tier == Some(Tier::Red)).collect();
        // Next deadline first; cases with none last.
        red.sort_by_key(|r| (next_due(r).is_none(), next_due(r), r.id));
        let red_open: Vec<BriefCase> = red.iter().map(|r| brief(r, None)).collect();

        let claimed_rows = sqlx::query("SELECT * FROM cases WHERE claimed_by = $1 ORDER BY id")
            .bind(user)
            .fetch_all(&self.read)
            .await?;
        let mut claimed = vec![];
        for r in &claimed_rows {
            claimed.push(brief(&record_from_row(r)?, None));
        }

        let pending_extensions: Vec<BriefCase> = open
            .iter()
            .filter_map(|r| {
                let p = r.pending_extension.as_ref()?;
                let until = p.until.with_timezone(&self.tz).format("%Y-%m-%d %H:%M");
                let mut c = brief(
                    r,
                    Some(format!("{} → {until}: {}", p.requested_by, p.reason)),
                );
                c.extension = Some(PendingExtension {
                    until: p.until.with_timezone(&self.tz).fixed_offset(),
                    reason: p.reason.clone(),
                    requested_by: p.requested_by.clone(),
                    requested_at: p.requested_at.with_timezone(&self.tz).fixed_offset(),
                });
                Some(c)
            })
            .collect();

        let answered: Vec<i64> = unique_cases(&events, |e| {
            e.action == "answer-online" && e.actor == user && !e.system
        });
        let mut promised = vec![];
        for id in answered {
            let rec = self.case(id).await?;
            let follow_up = domain::deadlines(&rec, &self.policy, to)
                .into_iter()
                .find(|d| d.clock == ClockKind::FollowUp && d.met_at.is_none());
            if let Some(d) = follow_up {
                let due = d.due_at.with_timezone(&self.tz);
                let mut c = brief(
                    &rec,
                    Some(format!("follow-up due {}", due.format("%Y-%m-%d %H:%M"))),
                );
                c.follow_up_due = Some(due.fixed_offset());
                promised.push(c);
            }
        }

        // The highest rung each case reached during the shift.
        let mut rungs: BTreeMap<i64, (Option<EscalationStep>, String, String)> = BTreeMap::new();
        for e in events.iter().filter(|e| e.action == "escalate") {
            let step = e.payload["step"].as_str().unwrap_or("").to_string();
            let clock = e.payload["clock"].as_str().unwrap_or("").to_string();
            let rank = serde_json::from_value::<EscalationStep>(e.payload["step"].clone()).ok();
            match rungs.get(&e.case_id) {
                Some((higher, ..)) if *higher > rank => {}
                _ => {
                    rungs.insert(e.case_id, (rank, step, clock));
                }
            }
        }
        let mut escalated = vec![];
        for (id, (_, step, clock)) in rungs {
            let mut c = brief(&self.case(id).await?, Some(format!("{step} ({clock})")));
            c.rung = Some(step);
            c.rung_clock = Some(clock).filter(|c| !c.is_empty());
            escalated.push(c);
        }

        let count = |action: &str| events.iter().filter(|e| e.action == action).count() as i64;
        let overdue = open
            .iter()
            .filter(|r| {
                domain::deadlines(r, &self.policy, to)
                    .iter()
                    .any(|d| d.met_at.is_none() && d.breached)
            })
            .count() as i64;
        let totals = BriefTotals {
            red_open: red_open.len() as i64,
            claimed: claimed.len() as i64,
            pending_extensions: pending_extensions.len() as i64,
            promised: promised.len() as i64,
            escalated: escalated.len() as i64,
        };
        let cut = |mut v: Vec<BriefCase>| {
            v.truncate(MAX_BRIEF_CASES);
            v
        };
        Ok(StoredBrief {
            red_open: cut(red_open),
            claimed: cut(claimed),
            pending_extensions: cut(pending_extensions),
            promised: cut(promised),
            escalated: cut(escalated),
            counts: ShiftCounts {
                received: count("received"),
                answered_online: count("answer-online"),
                dispatched: count("dispatch"),
                overdue,
            },
            totals,
        })
    }

    fn brief_case(
        &self,
        rec: &CaseRecord,
        names: &HashMap<i64, String>,
        now: DateTime<Utc>,
        detail: Option<String>,
    ) -> BriefCase {
        let next = domain::next_due(&domain::deadlines(rec, &self.policy, now));
        BriefCase {
            id: rec.id,
            reference: rec.reference.clone(),
            tier: rec.tier,
            status: rec.status.as_str().to_string(),
            title: rec.title.clone(),
            department: rec.department_id.and_then(|d| names.get(&d).cloned()),
            claimed_by: rec.claimed_by.clone(),
            next_deadline: next.map(|d| d.due_at.with_timezone(&self.tz).fixed_offset()),
            detail,
            rung: None,
            rung_clock: None,
            follow_up_due: None,
            extension: None,
        }
    }

    /// The cases `user` holds a claim on, by id.
    pub async fn claimed_by(&self, user: &str) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM cases WHERE claimed_by = $1 ORDER BY id")
            .bind(user)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(record_from_row).collect::<Result<_, _>>()?)
    }

    async fn handovers_where(
        &self,
        condition: &str,
        bind: Option<i64>,
        limit: i64,
    ) -> Result<Vec<HandoverBrief>, StoreError> {
        let sql = format!(
            "SELECT h.id AS handover_id, h.written_at, h.note, h.brief, h.shift_id,
                    s.user_id AS shift_user_id, {SHIFT_COLUMNS}
               JOIN handovers h ON h.shift_id = s.id
              WHERE {condition}
              ORDER BY h.written_at DESC, h.id DESC
              LIMIT {limit}"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(v) = bind {
            q = q.bind(v);
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("handover_id")?;
            let brief: String = r.try_get("brief")?;
            let body: StoredBrief = serde_json::from_str(&brief)
                .map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))?;
            out.push(assemble(
                id,
                self.shift_from_row(r)?,
                self.when(r.try_get("written_at")?),
                r.try_get("note")?,
                body,
                self.acks(id).await?,
            ));
        }
        Ok(out)
    }

    async fn acks(&self, handover: i64) -> Result<Vec<Acknowledgement>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.name, a.at FROM handover_acks a JOIN users u ON u.id = a.user_id
              WHERE a.handover_id = $1 ORDER BY a.at, u.name",
        )
        .bind(handover)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Acknowledgement {
                    user: r.try_get("name")?,
                    at: self.when(r.try_get("at")?),
                })
            })
            .collect()
    }

    /// The latest `limit` briefs, newest first.
    pub async fn recent_handovers(&self, limit: i64) -> Result<Vec<HandoverBrief>, StoreError> {
        self.handovers_where("1 = 1", None, limit).await
    }

    pub async fn handover(&self, id: i64) -> Result<HandoverBrief, StoreError> {
        self.handovers_where("h.id = $1", Some(id), 1)
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("handover {id}")))
    }

    /// The briefs `user` has yet to read: the newest brief of each other user's shift that
    /// ended since `user`'s own previous shift ended (in the last 24 hours if none did), not
    /// acknowledged by `user`. Newest first.
    pub async fn unacknowledged_handovers(
        &self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<HandoverBrief>, StoreError> {
        let user_id = self.user_id(user).await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT MAX(ended_at) FROM shifts WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&self.read)
                .await?;
        let since = previous.unwrap_or(ms(now - Duration::hours(24)));
        let condition = format!(
            "s.ended_at > {since} AND s.user_id != $1 AND NOT EXISTS
               (SELECT 1 FROM handover_acks a WHERE a.handover_id = h.id AND a.user_id = $1)"
        );
        let all = self.handovers_where(&condition, Some(user_id), 500).await?;
        let mut seen = HashSet::new();
        Ok(all
            .into_iter()
            .filter(|h| seen.insert(h.shift.user.clone()))
            .collect())
    }

    /// Records that `user` read the brief (once; a repeat keeps the first time).
    pub async fn acknowledge_handover(
        &self,
        id: i64,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<HandoverBrief, StoreError> {
        self.handover(id).await?;
        let user_id = self.user_id(user).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO handover_acks (handover_id, user_id, at) VALUES ($1, $2, $3)
             ON CONFLICT (handover_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.health.committed();
        self.handover(id).await
    }

    /// Replaces the department's duty contacts.
    pub async fn set_duty(
        &self,
        department: i64,
        contacts: &[DutyContact],
    ) -> Result<(), StoreError> {
        self.department(department).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM department_duty WHERE department_id = $1")
            .bind(department)
            .execute(&mut *tx)
            .await?;
        if !contacts.is_empty() {
            let mut insert = Sql::new(
                "INSERT INTO department_duty (department_id, position, name, phone, until) VALUES ",
            );
            for (i, c) in contacts.iter().enumerate() {
                insert.push(if i == 0 { "(" } else { ", (" });
                insert.bind(department).push(", ").bind(i as i64).push(", ");
                insert.bind(c.name.trim().to_string()).push(", ");
                insert.bind(c.phone.trim().to_string()).push(", ");
                insert
                    .bind(c.until.map(|u| ms(u.with_timezone(&Utc))))
                    .push(")");
            }
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.health.committed();
        Ok(())
    }

    /// Fills in `on_duty` of each department: its contacts not expired at `now`.
    pub async fn with_duty(
        &self,
        departments: &mut [Department],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT department_id, name, phone, until FROM department_duty
              WHERE until IS NULL OR until > $1 ORDER BY department_id, position",
        )
        .bind(ms(now))
        .fetch_all(&self.read)
        .await?;
        let mut by_department: HashMap<i64, Vec<DutyContact>> = HashMap::new();
        for r in &rows {
            by_department
                .entry(r.try_get("department_id")?)
                .or_default()
                .push(DutyContact {
                    name: r.try_get("name")?,
                    phone: r.try_get("phone")?,
                    until: r.try_get::<Option<i64>, _>("until")?.map(|v| self.when(v)),
                });
        }
        for d in departments {
            d.on_duty = by_department.remove(&d.id).unwrap_or_default();
        }
        Ok(())
    }

    /// Of `cases`, those `department` holds.
    pub async fn held_by_department(
        &self,
        department: i64,
        cases: &[i64],
    ) -> Result<HashSet<i64>, StoreError> {
        if cases.is_empty() {
            return Ok(HashSet::new());
        }
        let mut q = Sql::new("SELECT id FROM cases WHERE department_id = ");
        q.bind(department).push(" AND id IN (");
        for (n, id) in cases.iter().enumerate() {
            if n > 0 {
                q.push(", ");
            }
            q.bind(*id);
        }
        q.push(")");
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("id").map_err(StoreError::from))
            .collect()
    }
}

/// The cases of matching events, each once, in the order first seen.
fn unique_cases(events: &[Event], keep: impl Fn(&Event) -> bool) -> Vec<i64> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|e| keep(e))
        .map(|e| e.case_id)
        .filter(|id| seen.insert(*id))
        .collect()
}

fn assemble(
    id: i64,
    shift: Shift,
    written_at: crate::wire::Timestamp,
    note: String,
    body: StoredBrief,
    acks: Vec<Acknowledgement>,
) -> HandoverBrief {
    HandoverBrief {
        id,
        shift,
        written_at,
        note,
        red_open: body.red_open,
        claimed: body.claimed,
        pending_extensions: body.pending_extensions,
        promised: body.promised,
        escalated: body.escalated,
        counts: body.counts,
        totals: body.totals,
        acks,
    }
}
