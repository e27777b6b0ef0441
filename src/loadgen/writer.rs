//! A simulated operator at the desk: takes hotline calls (creates cases in the demo's Kaihua
//! wording), triages them, claims them, answers blue ones online and dispatches the others, and
//! notes progress; each step with `If-Match` and an `Idempotency-Key`, as the console sends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use super::stats::Stats;
use crate::client::{Client, ClientError, new_idempotency_key};
use crate::demo::data::DemoData;
use crate::wire::{
    AnswerBody, CaseAction, CaseDetail, DispatchBody, NoteBody, Status, TextBody, Tier, TierBody,
};

/// What the server's catalog and departments allow a new case and a dispatch to name.
#[derive(Debug, Clone)]
pub struct Desk {
    pub categories: Vec<String>,
    pub towns: Vec<String>,
    pub departments: Vec<i64>,
}

/// A case this operator is working.
#[derive(Debug, Clone)]
struct Held {
    id: i64,
    version: i64,
    status: Status,
    tier: Option<Tier>,
    claimed: bool,
}

impl Held {
    fn of(d: &CaseDetail) -> Held {
        Held {
            id: d.case.id,
            version: d.case.version,
            status: d.case.status,
            tier: d.case.tier,
            claimed: d.case.claimed_by.is_some(),
        }
    }
}

const NOTES: [&str; 6] = [
    "已电话联系求助人,情况属实",
    "求助人表示今天下午在家等候",
    "已与村委会核实地址",
    "社区网格员正在上门了解情况",
    "求助人再次来电询问进度,已安抚",
    "已提醒承办单位尽快联系求助人",
];
const ANSWERS: [&str; 4] = [
    "您好,根据县防控指挥部最新通知,持48小时核酸阴性证明可正常通行,详情可拨打12345咨询。",
    "您好,您反映的问题已记录,所在社区将于今日内安排专人联系您。",
    "您好,相关药品可通过县人民医院线上问诊开具,由志愿者配送到家。",
    "您好,通行证明可在“浙里办”APP上申领,审核通过后即可使用。",
];

/// One operator writing at `per_second` until `stop`; every acknowledged write is recorded.
pub async fn run(
    client: Client,
    desk: Arc<Desk>,
    per_second: f64,
    stats: Arc<Stats>,
    stop: CancellationToken,
) {
    let data = DemoData::embedded().ok();
    let mut rng = StdRng::from_os_rng();
    let mut held: Vec<Held> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(0.001)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Writers start at different moments within their first interval, not all at once.
    let offset = rng.random_range(0.0..1.0) / per_second.max(0.001);
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs_f64(offset.min(5.0))) => {}
        () = stop.cancelled() => return,
    }
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        if held.len() < 3 || rng.random_bool(0.3) {
            let new = new_case(data.as_ref(), &desk, &mut rng);
            let key = new_idempotency_key();
            let done = write(&stats, "create", || client.create_case(&new, &key)).await;
            if let Some(d) = done {
                held.push(Held::of(&d));
            }
            continue;
        }
        let i = rng.random_range(0..held.len());
        let case = held[i].clone();
        let (kind, action) = next_step(&case, &desk, &mut rng);
        let key = new_idempotency_key();
        let done = write(&stats, kind, || {
            client.act(case.id, case.version, &action, &key)
        })
        .await;
        match done {
            Some(d) => {
                let now = Held::of(&d);
                if matches!(now.status, Status::New | Status::Triaged) {
                    held[i] = now;
                } else {
                    // Answered or handed to a department: off this operator's desk.
                    held.swap_remove(i);
                }
            }
            None => {
                held.swap_remove(i);
            }
        }
    }
}

/// Sends one write, retrying a transient failure with the same key as the console does.
async fn write<F, Fut>(stats: &Stats, kind: &'static str, send: F) -> Option<CaseDetail>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<CaseDetail, ClientError>>,
{
    for attempt in 0..3 {
        let t = Instant::now();
        match send().await {
            Ok(d) => {
                let at = Instant::now();
                stats.request(kind, at - t);
                stats.ack(d.case.id, d.case.version, at);
                return Some(d);
            }
            Err(e) => {
                stats.error(kind, &e);
                if !e.is_transient() || attempt == 2 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    None
}

/// The next step of the desk's work on a case it holds.
fn next_step(case: &Held, desk: &Desk, rng: &mut impl Rng) -> (&'static str, CaseAction) {
    if rng.random_bool(0.1) {
        let text = NOTES.choose(rng).copied().unwrap_or(NOTES[0]).to_string();
        return ("note", CaseAction::Note(TextBody { text }));
    }
    if case.status == Status::New {
        let tier = match rng.random_range(0..10) {
            0..2 => Tier::Red,
            2..5 => Tier::Orange,
            _ => Tier::Blue,
        };
        return ("triage", CaseAction::Triage(TierBody { tier, note: None }));
    }
    if !case.claimed {
        return ("claim", CaseAction::Claim(NoteBody::default()));
    }
    match (case.tier, desk.departments.choose(rng)) {
        (Some(Tier::Red | Tier::Orange), Some(d)) => (
            "dispatch",
            CaseAction::Dispatch(DispatchBody {
                department_id: *d,
                note: Some("请尽快联系求助人并反馈办理结果".into()),
            }),
        ),
        _ => {
            let text = ANSWERS
                .choose(rng)
                .copied()
                .unwrap_or(ANSWERS[0])
                .to_string();
            (
                "answer-online",
                CaseAction::AnswerOnline(AnswerBody { text, answer: None }),
            )
        }
    }
}

/// A hotline call in the demo's Kaihua wording, placed in the server's own catalog.
fn new_case(data: Option<&DemoData>, desk: &Desk, rng: &mut impl Rng) -> crate::wire::NewCase {
    use crate::wire::{Channel, Location, NewCase, Requester};
    let mut new = match data {
        Some(d) => d.draw_request(rng).new_case,
        None => NewCase {
            channel: Channel::Hotline12345,
            category: String::new(),
            title: "独居老人需要代购生活物资".into(),
            description: "老人行动不便,家中米面将尽,请求社区帮忙代购。".into(),
            requester: Requester {
                name: "王女士".into(),
                phone: crate::demo::data::random_phone(rng),
            },
            location: Location {
                town: String::new(),
                address: String::new(),
                lat: None,
                long: None,
            },
        },
    };
    if !desk.categories.contains(&new.category)
        && let Some(c) = desk.categories.choose(rng)
    {
        new.category = c.clone();
    }
    if !desk.towns.contains(&new.location.town)
        && let Some(t) = desk.towns.choose(rng)
    {
        new.location.town = t.clone();
    }
    new
}
