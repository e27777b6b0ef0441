//! The candidates of similar-request grouping, held in memory: every open untriaged case with
//! what the rule compares ([`similar::Prepared`]), indexed by phone and by town as stored. A
//! new case is compared with them in microseconds instead of reading and normalising up to two
//! hundred rows inside the write lock.
//!
//! The index follows the change feed, not the writes of this process: it remembers the feed
//! sequence it has applied and, inside the write transaction (after the write took its own
//! sequence number, so every lower number is committed and visible), reads the cases changed
//! since then. Normally those are the few this process just wrote; a case another server
//! instance wrote to the same database is seen the same way. Every change of a case takes a
//! sequence number, so when the applied one is just below the write's own, nothing changed and
//! nothing is read. The group is chosen before the new case is inserted, which is then written
//! with it and added to the index as written. Whatever a write added to the index is undone
//! with it: a write that fails after changing the index, or a group commit that does not
//! commit, drops the index, and the next write loads it again from the table.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use sqlx::Row;

use super::{DbConnection, DbRow, StoreError};
use crate::domain::CaseRecord;
use crate::similar::{self, Prepared, Request};
use crate::wire::Status;

/// At most the newest this many open untriaged cases of one phone, and of one town, are
/// compared with a new case: a bound on the work of one intake however long the queue grows.
const PER_KEY: usize = 100;

/// The columns the index reads of a case.
const COLUMNS: &str = "id, status, tier, requester_phone, town, category, title, description,
    group_id, change_seq";

#[derive(Default)]
pub(super) struct CandidateIndex {
    /// `None`: not loaded (at start, or dropped with a write that did not commit).
    state: Mutex<Option<State>>,
}

struct State {
    /// The feed sequence up to which every change of a case is applied.
    applied: i64,
    cases: HashMap<i64, Candidate>,
    by_phone: HashMap<String, BTreeSet<i64>>,
    by_town: HashMap<String, BTreeSet<i64>>,
}

struct Candidate {
    phone: String,
    town: String,
    group: Option<i64>,
    prepared: Prepared,
}

impl CandidateIndex {
    fn lock(&self) -> MutexGuard<'_, Option<State>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything; the next write loads the index from the table.
    pub(super) fn drop_all(&self) {
        *self.lock() = None;
    }

    /// A write that may change the index: unless [`Tentative::keep`] is called, the index is
    /// dropped when it ends (an error or a panic rolls back what it wrote).
    pub(super) fn tentative(self: &Arc<Self>) -> Tentative {
        Tentative {
            index: Some(self.clone()),
        }
    }

    /// The cases changed since the applied sequence, or (`true`) every open untriaged case
    /// when the index is not loaded.
    async fn changes(&self, conn: &mut DbConnection) -> Result<(Vec<DbRow>, bool), StoreError> {
        let applied = self.lock().as_ref().map(|s| s.applied);
        Ok(match applied {
            Some(applied) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM cases WHERE change_seq > $1"
                )))
                .bind(applied)
                .fetch_all(&mut *conn)
                .await?;
                (rows, false)
            }
            None => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM cases WHERE status = 'new' AND tier IS NULL"
                )))
                .fetch_all(&mut *conn)
                .await?;
                (rows, true)
            }
        })
    }
}

impl State {
    fn apply(&mut self, row: &DbRow) -> Result<(), StoreError> {
        let id: i64 = row.try_get("id")?;
        self.remove(id);
        let status: String = row.try_get("status")?;
        let tier: Option<String> = row.try_get("tier")?;
        if status != "new" || tier.is_some() {
            return Ok(());
        }
        let phone: String = row.try_get("requester_phone")?;
        let town: String = row.try_get("town")?;
        let category: String = row.try_get("category")?;
        let title: String = row.try_get("title")?;
        let description: String = row.try_get("description")?;
        let prepared = Prepared::of(&Request {
            phone: &phone,
            town: &town,
            category: &category,
            title: &title,
            description: &description,
        });
        self.by_phone.entry(phone.clone()).or_default().insert(id);
        self.by_town.entry(town.clone()).or_default().insert(id);
        self.cases.insert(
            id,
            Candidate {
                phone,
                town,
                group: row.try_get("group_id")?,
                prepared,
            },
        );
        Ok(())
    }

    fn remove(&mut self, id: i64) {
        let Some(c) = self.cases.remove(&id) else {
            return;
        };
        for (map, key) in [(&mut self.by_phone, &c.phone), (&mut self.by_town, &c.town)] {
            if let Some(ids) = map.get_mut(key) {
                ids.remove(&id);
                if ids.is_empty() {
                    map.remove(key);
                }
            }
        }
    }

    /// The anchor of the most similar candidate to `new` (ties: the earliest), among the
    /// newest [`PER_KEY`] of its phone and of its town.
    fn best(&self, phone: &str, town: &str, new: &Prepared) -> Option<i64> {
        let newest = |ids: Option<&BTreeSet<i64>>| -> Vec<i64> {
            ids.map(|ids| ids.iter().rev().take(PER_KEY).copied().collect())
                .unwrap_or_default()
        };
        let mut ids = newest(self.by_phone.get(phone));
        ids.extend(newest(self.by_town.get(town)));
        // Oldest first, so that of equally similar cases the earliest wins.
        ids.sort_unstable();
        ids.dedup();
        let mut best: Option<(f64, i64)> = None;
        for c in ids {
            let cand = &self.cases[&c];
            if let Some(score) = similar::score_prepared(new, &cand.prepared)
                && best.is_none_or(|(s, _)| score > s)
            {
                best = Some((score, cand.group.unwrap_or(c)));
            }
        }
        best.map(|(_, anchor)| anchor)
    }
}

/// See [`CandidateIndex::tentative`].
pub(super) struct Tentative {
    index: Option<Arc<CandidateIndex>>,
}

impl Tentative {
    pub(super) fn keep(mut self) {
        self.index = None;
    }
}

impl Drop for Tentative {
    fn drop(&mut self) {
        if let Some(index) = self.index.take() {
            index.drop_all();
        }
    }
}

/// The group a new case (to be written at feed sequence `seq`, not inserted yet) joins: the
/// anchor of the most similar open untriaged case from the same phone or town that is the same
/// request (ties: the earliest). Other cases are not changed. The case is then inserted with
/// this group and handed to [`added`].
pub(super) async fn choose_group(
    index: &CandidateIndex,
    conn: &mut DbConnection,
    seq: i64,
    rec: &CaseRecord,
) -> Result<Option<i64>, StoreError> {
    if rec.tier.is_some() {
        return Ok(None);
    }
    // Brought up to `seq - 1`: every change below the sequence this write took is committed
    // (or made earlier in this transaction) and visible here.
    loop {
        let applied = index.lock().as_ref().map(|s| s.applied);
        let (rows, whole) = if applied == Some(seq - 1) {
            (Vec::new(), false)
        } else {
            index.changes(conn).await?
        };
        let mut guard = index.lock();
        if guard.is_none() && !whole {
            // Dropped meanwhile: load it whole.
            continue;
        }
        let state = match &mut *guard {
            Some(state) if !whole => state,
            slot => slot.insert(State {
                applied: seq - 1,
                cases: HashMap::new(),
                by_phone: HashMap::new(),
                by_town: HashMap::new(),
            }),
        };
        for row in &rows {
            state.apply(row)?;
        }
        state.applied = state.applied.max(seq - 1);
        let new = Prepared::of(&request(rec));
        return Ok(state.best(&rec.requester_phone, &rec.town, &new));
    }
}

/// The new case `rec`, inserted as `id` at feed sequence `seq` in the group [`choose_group`]
/// chose, is a candidate itself from now on.
pub(super) fn added(index: &CandidateIndex, id: i64, seq: i64, rec: &CaseRecord) {
    let mut guard = index.lock();
    let Some(state) = &mut *guard else { return };
    // Only when the index is where `choose_group` left it; otherwise the next write reads the
    // case from the table.
    if state.applied != seq - 1 {
        return;
    }
    state.applied = seq;
    if rec.status != Status::New || rec.tier.is_some() {
        return;
    }
    let prepared = Prepared::of(&request(rec));
    state.remove(id);
    state
        .by_phone
        .entry(rec.requester_phone.clone())
        .or_default()
        .insert(id);
    state
        .by_town
        .entry(rec.town.clone())
        .or_default()
        .insert(id);
    state.cases.insert(
        id,
        Candidate {
            phone: rec.requester_phone.clone(),
            town: rec.town.clone(),
            group: rec.group,
            prepared,
        },
    );
}

fn request(r: &CaseRecord) -> Request<'_> {
    Request {
        phone: &r.requester_phone,
        town: &r.town,
        category: &r.category,
        title: &r.title,
        description: &r.description,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::domain::Actor;
    use crate::server::store::{Store, StoredAnswer, Written, record_from_row};
    use crate::wire::{
        CaseAction, Channel, Location, MergeBody, NewCase, Policy, Requester, Role, Tier, TierBody,
    };

    /// The group as the store chose it before the index: the newest hundred open untriaged
    /// cases of the phone and of the town read from the table and scored one by one.
    async fn scored_from_the_table(store: &Store, id: i64, rec: &CaseRecord) -> Option<i64> {
        let mut conn = store.read.acquire().await.unwrap();
        let mut candidates = BTreeMap::new();
        for (column, key) in [
            ("requester_phone", &rec.requester_phone),
            ("town", &rec.town),
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT * FROM cases WHERE {column} = $1 AND status = 'new' AND tier IS NULL
                   AND id != $2 ORDER BY id DESC LIMIT 100"
            )))
            .bind(key)
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            for row in &rows {
                let c = record_from_row(row).unwrap();
                candidates.insert(c.id, c);
            }
        }
        let new = request(rec);
        let mut best: Option<(f64, &CaseRecord)> = None;
        for c in candidates.values() {
            if let Some(score) = similar::score(&new, &request(c))
                && best.is_none_or(|(s, _)| score > s)
            {
                best = Some((score, c));
            }
        }
        best.map(|(_, c)| c.group.unwrap_or(c.id))
    }

    fn supervisor() -> Actor {
        Actor {
            name: "sup-wang".into(),
            role: Role::Supervisor,
            department_id: None,
        }
    }

    fn new_case(phone: &str, town: &str, category: &str, title: &str) -> NewCase {
        NewCase {
            channel: Channel::Hotline12345,
            category: category.into(),
            title: title.into(),
            description: String::new(),
            requester: Requester {
                name: "张三".into(),
                phone: phone.into(),
            },
            location: Location {
                town: town.into(),
                address: String::new(),
                lat: None,
                long: None,
            },
        }
    }

    fn answer(_: &CaseRecord, _: &[crate::wire::Event], _: i64) -> StoredAnswer {
        StoredAnswer {
            status: 201,
            body: vec![],
        }
    }

    async fn create(store: &Store, new: &NewCase) -> CaseRecord {
        match store
            .create_case(new, &supervisor(), Utc::now(), None, answer)
            .await
            .unwrap()
        {
            Written::Fresh(rec, _) => rec,
            Written::Replayed(_) => unreachable!("no idempotency key"),
        }
    }

    async fn act(store: &Store, id: i64, action: CaseAction) {
        store
            .act(id, None, &action, &supervisor(), Utc::now(), None, answer)
            .await
            .unwrap();
    }

    fn triage(tier: Tier) -> CaseAction {
        CaseAction::Triage(TierBody { tier, note: None })
    }

    async fn open(url: &str) -> Store {
        Store::open(url, "KH", chrono_tz::Asia::Shanghai, Policy::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn grouping_with_the_index_matches_scoring_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("desk.db").display());
        let store = open(&url).await;
        let phones = [
            "13800000001",
            "138 0000 0001",
            "13900000002",
            "110",
            "13700000003",
        ];
        let towns = ["马金镇", "华埠镇", " 马金镇"];
        let categories = ["medical_transport", "supplies", "travel_permit"];
        let titles = [
            "透析病人需要转运",
            "老父亲要去医院血透",
            "家里大米吃完了",
            "出村通行证怎么办理",
            "出村通行证在哪里办理",
            "请问通行证怎么开",
            "需要转运去医院透析",
            "米和油快吃完了",
            "药",
            "",
        ];
        let mut rng = StdRng::seed_from_u64(12345);
        let mut open_ids: Vec<i64> = vec![];
        let (mut grouped, mut checked) = (0, 0);
        for step in 0..500 {
            let roll = rng.random_range(0..100);
            if roll < 70 || open_ids.len() < 2 {
                let new = new_case(
                    phones[rng.random_range(0..phones.len())],
                    towns[rng.random_range(0..towns.len())],
                    categories[rng.random_range(0..categories.len())],
                    titles[rng.random_range(0..titles.len())],
                );
                let rec = create(&store, &new).await;
                let expected = scored_from_the_table(&store, rec.id, &rec).await;
                assert_eq!(rec.group, expected, "step {step}: case {}", rec.id);
                grouped += usize::from(rec.group.is_some());
                checked += 1;
                open_ids.push(rec.id);
            } else if roll < 85 {
                let id = open_ids.swap_remove(rng.random_range(0..open_ids.len()));
                act(&store, id, triage(Tier::Blue)).await;
            } else if roll < 97 {
                let id = open_ids.swap_remove(rng.random_range(0..open_ids.len()));
                let into = open_ids[rng.random_range(0..open_ids.len())];
                act(
                    &store,
                    id,
                    CaseAction::Merge(MergeBody { into, note: None }),
                )
                .await;
            } else {
                // As after a group commit that did not commit: loaded again from the table.
                store.candidates.drop_all();
            }
        }
        // The sequence exercised both outcomes and the bound on candidates per town.
        assert!(grouped > 50 && grouped < checked, "{grouped} of {checked}");
        let per_town: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases WHERE status = 'new' AND tier IS NULL AND town = $1",
        )
        .bind(towns[0])
        .fetch_one(&store.read)
        .await
        .unwrap();
        assert!(per_town > PER_KEY as i64, "{per_town}");
        store.close().await;
    }

    #[tokio::test]
    async fn a_case_written_by_another_instance_is_a_candidate_until_triaged() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("desk.db").display());
        let (a, b) = (open(&url).await, open(&url).await);
        let title = "出村通行证怎么办理";
        // B's index is loaded before A writes: it learns of A's case from the feed.
        let other = create(&b, &new_case("13900000009", "华埠镇", "supplies", "米")).await;
        assert_eq!(other.group, None);

        let first = create(
            &a,
            &new_case("13800000001", "马金镇", "travel_permit", title),
        )
        .await;
        let second = create(
            &b,
            &new_case("13800000002", "马金镇", "travel_permit", title),
        )
        .await;
        assert_eq!(second.group, Some(first.id));
        let third = create(
            &a,
            &new_case("13800000003", "马金镇", "travel_permit", title),
        )
        .await;
        assert_eq!(third.group, Some(first.id));

        for id in [first.id, second.id, third.id] {
            act(&a, id, triage(Tier::Orange)).await;
        }
        let fourth = create(
            &b,
            &new_case("13800000004", "马金镇", "travel_permit", title),
        )
        .await;
        assert_eq!(fourth.group, None);
        a.close().await;
        b.close().await;
    }
}
