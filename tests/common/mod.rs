//! The test harness: every test gets its own SQLite file (or PostgreSQL database, see `pg`), its own server on 127.0.0.1:0 with a
//! manual clock, and typed clients signed in as each role.
//! `actions` builds every `CaseAction`; `checks` holds the desk's clock and reads cases back.
#![allow(dead_code)]

pub mod actions;
pub mod checks;
pub mod pg;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jieyou::client::{Client, new_idempotency_key};
use jieyou::server::{ManualClock, RunningServer, ServerConfig};
use jieyou::wire::{
    CaseAction, CaseDetail, Channel, Department, DepartmentKind, Location, NewCase, Requester,
    Role, Tier,
};

pub struct TestApp {
    pub server: RunningServer,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    /// The database URL the server runs on.
    pub database: String,
    pub intake: Client,
    pub operator: Client,
    pub operator2: Client,
    pub supervisor: Client,
    pub observer: Client,
    pub admin: Client,
    /// Signed in as a user of `departments[0]`.
    pub dept_a: Client,
    /// Signed in as a user of `departments[1]`.
    pub dept_b: Client,
    pub departments: Vec<Department>,
}

/// 2022-05-08 21:04 in Kaihua (UTC+8): the seed article's evening.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 5, 8, 13, 4, 0).unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerConfig::default()).await
}

pub async fn spawn_app_with(config: ServerConfig) -> TestApp {
    spawn_on(config, false).await
}

/// For tests of SQLite's own mechanics (its file, its locks, its page cap): always SQLite.
pub async fn spawn_app_sqlite() -> TestApp {
    spawn_on(ServerConfig::default(), true).await
}

/// [`spawn_app_sqlite`] with a configuration.
pub async fn spawn_app_with_sqlite(config: ServerConfig) -> TestApp {
    spawn_on(config, true).await
}

async fn spawn_on(mut config: ServerConfig, sqlite: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    config.listen = "127.0.0.1:0".into();
    // Tests climb the escalation ladder explicitly, at the manual clock's time.
    config.escalation_interval_seconds = 0;
    config.database = if sqlite {
        format!("sqlite:{}", dir.path().join("jieyou.db").display())
    } else {
        pg::database_url(dir.path(), "jieyou.db").await
    };
    let database = config.database.clone();
    let clock = ManualClock::new(start_time());
    let server = jieyou::server::spawn(config, Arc::new(clock.clone()))
        .await
        .expect("server starts");
    let store = &server.store;
    let health = store
        .add_department("卫健局", DepartmentKind::Bureau)
        .await
        .unwrap();
    let transport = store
        .add_department("交通运输局", DepartmentKind::Bureau)
        .await
        .unwrap();
    let url = server.url();
    let client = |token: String| Client::new(&url, &token).unwrap();
    let mut tokens = vec![];
    for (name, role, dept) in [
        ("intake-wang", Role::Intake, None),
        ("op-li", Role::Operator, None),
        ("op-zhao", Role::Operator, None),
        ("sup-chen", Role::Supervisor, None),
        ("obs-sun", Role::Observer, None),
        ("admin", Role::Admin, None),
        ("wj-zhang", Role::Department, Some(health.id)),
        ("jt-liu", Role::Department, Some(transport.id)),
    ] {
        tokens.push(store.add_user(name, role, dept).await.unwrap());
    }
    let mut t = tokens.into_iter();
    TestApp {
        intake: client(t.next().unwrap()),
        operator: client(t.next().unwrap()),
        operator2: client(t.next().unwrap()),
        supervisor: client(t.next().unwrap()),
        observer: client(t.next().unwrap()),
        admin: client(t.next().unwrap()),
        dept_a: client(t.next().unwrap()),
        dept_b: client(t.next().unwrap()),
        departments: vec![health, transport],
        server,
        clock,
        dir,
        database,
    }
}

pub fn new_case(title: &str) -> NewCase {
    NewCase {
        channel: Channel::Hotline12345,
        category: "medical_transport".into(),
        title: title.into(),
        description: "78岁尿毒症患者需定期血透,小区封控无法出行".into(),
        requester: Requester {
            name: "葛先生".into(),
            phone: "13800000000".into(),
        },
        location: Location {
            town: "马金镇".into(),
            address: "下庄村".into(),
            lat: Some(29.13),
            long: Some(118.41),
        },
    }
}

impl TestApp {
    pub fn advance(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
    }

    pub async fn create(&self, title: &str) -> CaseDetail {
        self.intake
            .create_case(&new_case(title), &new_idempotency_key())
            .await
            .expect("case created")
    }

    /// Acts with the case's current version, as a console would.
    pub async fn act(
        &self,
        who: &Client,
        case: &CaseDetail,
        action: CaseAction,
    ) -> Result<CaseDetail, jieyou::client::ClientError> {
        who.act(
            case.case.id,
            case.case.version,
            &action,
            &new_idempotency_key(),
        )
        .await
    }
}

/// A red case dispatched to department A: 21:04 received, 21:09 triaged, 21:14 dispatched (the
/// clock is set to those times).
pub async fn dispatched_red(app: &TestApp, title: &str) -> CaseDetail {
    let c = app.create(title).await;
    app.clock.set(checks::t(5));
    let c = app
        .act(&app.operator, &c, actions::triage(Tier::Red))
        .await
        .unwrap();
    app.clock.set(checks::t(10));
    app.act(&app.operator, &c, actions::dispatch(app.departments[0].id))
        .await
        .unwrap()
}
