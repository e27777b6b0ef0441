//! The demo's embedded data (`assets/demo/kaihua.toml`: Kaihua county's townships, bureaus,
//! request templates, names) and the deterministic generator of a seeded desk: a few hundred
//! cases spread over the last hours, each with a planned history that the server's store replays
//! with explicit timestamps.
//!
//! The generator plans every case's whole life with realistic (and sometimes late) delays, then
//! keeps only the steps that happened before `now`. A prefix of a legal history is legal, so the
//! cut leaves cases in every state, and the late delays leave some of them overdue.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use figment::Figment;
use figment::providers::{Format, Toml};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

use crate::domain::{Actor, CaseRecord, Refusal};
use crate::wire::{
    AnswerBody, CaseAction, Channel, Department, DepartmentKind, DispatchBody,
    ExtensionDecisionBody, ExtensionRequestBody, FollowUpBody, Location, NewCase, NewDepartment,
    NoteBody, Policy, ReasonBody, Requester, Role, Satisfaction, TextBody, Tier, TierBody,
};

/// The embedded demo data, as written.
pub const KAIHUA_TOML: &str = include_str!("../../assets/demo/kaihua.toml");

/// The template department that stands for the requester's own township.
pub const LOCAL_TOWNSHIP: &str = "属地";

/// Longest template title, in characters.
pub const MAX_TEMPLATE_TITLE_CHARS: usize = 20;

/// The request categories every demo data set must define.
pub const CATEGORY_CODES: [&str; 9] = [
    "medical_transport",
    "medicine",
    "supplies",
    "travel_permit",
    "policy_question",
    "quarantine",
    "elderly_care",
    "complaint",
    "other",
];

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("demo data does not parse: {0}")]
    Parse(String),
    #[error("demo data is inconsistent: {0}")]
    Invalid(String),
    #[error("department {0:?} of the demo data does not exist on the server")]
    UnknownDepartment(String),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoData {
    pub desk: String,
    pub ref_prefix: String,
    pub staff: Vec<StaffMember>,
    pub departments: Vec<DepartmentSpec>,
    pub towns: Vec<Town>,
    pub categories: Vec<Category>,
    pub templates: Vec<Template>,
    pub names: Names,
    pub return_reasons: Vec<Text>,
    pub extension_reasons: Vec<Text>,
    pub urge_notes: Vec<Text>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSpec {
    pub name: String,
    pub kind: DepartmentKind,
    /// The department's duty officer: the actor of its replies.
    pub duty: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Town {
    pub name: String,
    pub lat: f64,
    pub long: f64,
    pub places: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub label: String,
    pub label_en: String,
    pub progress: Vec<String>,
    pub resolve: Vec<String>,
    pub answer: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Answered online by the desk.
    Online,
    /// Handed to a department.
    Dispatch,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub category: String,
    pub tier: Tier,
    pub route: Route,
    /// The first is the usual one; [`LOCAL_TOWNSHIP`] is the requester's township.
    pub departments: Vec<String>,
    pub weight: u32,
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub resolve: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub surnames: Vec<String>,
    pub given: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub text: String,
}

/// A user the demo needs on the server: desk staff, and one duty officer per department.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoUser {
    pub name: String,
    pub role: Role,
    /// For department users: the department's name.
    pub department: Option<String>,
}

/// A new request drawn from the templates.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnRequest {
    /// Index into [`DemoData::templates`].
    pub template: usize,
    pub new_case: NewCase,
}

impl DemoData {
    /// The embedded Kaihua data, parsed and validated.
    pub fn embedded() -> Result<DemoData, DataError> {
        DemoData::parse(KAIHUA_TOML)
    }

    /// Parses and validates demo data in the format documented at the top of `kaihua.toml`.
    pub fn parse(toml: &str) -> Result<DemoData, DataError> {
        let data: DemoData = Figment::from(Toml::string(toml))
            .extract()
            .map_err(|e| DataError::Parse(e.to_string()))?;
        data.validate()?;
        Ok(data)
    }

    fn validate(&self) -> Result<(), DataError> {
        let bad = |m: String| Err(DataError::Invalid(m));
        for role in [Role::Intake, Role::Operator, Role::Supervisor] {
            if !self.staff.iter().any(|s| s.role == role) {
                return bad(format!("no staff member with role {}", role.as_str()));
            }
        }
        if let Some(s) = self.staff.iter().find(|s| {
            !matches!(
                s.role,
                Role::Intake | Role::Operator | Role::Supervisor | Role::Observer | Role::Admin
            )
        }) {
            return bad(format!(
                "staff member {} has role {}",
                s.name,
                s.role.as_str()
            ));
        }
        let mut names = HashSet::new();
        for name in self.department_names() {
            if !names.insert(name) {
                return bad(format!("department {name} is listed twice"));
            }
        }
        if self.towns.is_empty() {
            return bad("no towns".into());
        }
        if let Some(t) = self.towns.iter().find(|t| t.places.is_empty()) {
            return bad(format!("town {} has no places", t.name));
        }
        for code in CATEGORY_CODES {
            let Some(c) = self.category(code) else {
                return bad(format!("category {code} is missing"));
            };
            if c.progress.is_empty() || c.resolve.is_empty() || c.answer.is_empty() {
                return bad(format!(
                    "category {code} lacks progress, resolve or answer texts"
                ));
            }
        }
        if self.templates.is_empty() {
            return bad("no templates".into());
        }
        for t in &self.templates {
            let which = &t.title;
            if self.category(&t.category).is_none() {
                return bad(format!("template {which}: unknown category {}", t.category));
            }
            let title_chars = t.title.chars().count();
            if title_chars == 0 || title_chars > MAX_TEMPLATE_TITLE_CHARS {
                return bad(format!("template {which}: title must be 1–20 characters"));
            }
            let sentences = t
                .description
                .chars()
                .filter(|c| matches!(c, '。' | '\u{ff1f}' | '\u{ff01}'))
                .count();
            if !(1..=3).contains(&sentences) {
                return bad(format!(
                    "template {which}: description must be 1–3 sentences"
                ));
            }
            // Chinese text takes full-width punctuation (U+FF0C, U+FF1F, …), not ASCII.
            if let Some(c) = t
                .title
                .chars()
                .chain(t.description.chars())
                .find(|c| matches!(c, ',' | '?' | '!' | ';' | ':' | '(' | ')'))
            {
                return bad(format!(
                    "template {which}: half-width {c:?} in Chinese text"
                ));
            }
            if t.weight == 0 {
                return bad(format!("template {which}: weight must be positive"));
            }
            if t.departments.is_empty() {
                return bad(format!("template {which}: no departments"));
            }
            for d in &t.departments {
                if d != LOCAL_TOWNSHIP && !names.contains(d.as_str()) {
                    return bad(format!("template {which}: unknown department {d}"));
                }
            }
        }
        if self.names.surnames.is_empty() || self.names.given.is_empty() {
            return bad("no requester names".into());
        }
        if self.return_reasons.is_empty()
            || self.extension_reasons.is_empty()
            || self.urge_notes.is_empty()
        {
            return bad("return, extension and urge texts must not be empty".into());
        }
        Ok(())
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// Bureaus, squads, hospitals, then every town as a township.
    pub fn department_names(&self) -> impl Iterator<Item = &str> {
        self.departments
            .iter()
            .map(|d| d.name.as_str())
            .chain(self.towns.iter().map(|t| t.name.as_str()))
    }

    /// The departments to create on the server, in this order.
    pub fn new_departments(&self) -> Vec<NewDepartment> {
        self.departments
            .iter()
            .map(|d| NewDepartment {
                name: d.name.clone(),
                kind: d.kind,
            })
            .chain(self.towns.iter().map(|t| NewDepartment {
                name: t.name.clone(),
                kind: DepartmentKind::Township,
            }))
            .collect()
    }

    /// The duty officer's name of a department (towns: `<town>值班员`).
    pub fn duty_officer(&self, department: &str) -> String {
        match self.departments.iter().find(|d| d.name == department) {
            Some(d) => d.duty.clone(),
            None => format!("{department}值班员"),
        }
    }

    /// The users the demo needs: staff first, then one duty officer per department.
    pub fn users(&self) -> Vec<DemoUser> {
        let staff = self.staff.iter().map(|s| DemoUser {
            name: s.name.clone(),
            role: s.role,
            department: None,
        });
        let duty = self.department_names().map(|d| DemoUser {
            name: self.duty_officer(d),
            role: Role::Department,
            department: Some(d.to_string()),
        });
        staff.chain(duty).collect()
    }

    fn staff_with(&self, role: Role) -> Vec<&StaffMember> {
        self.staff.iter().filter(|s| s.role == role).collect()
    }

    /// The template a case was drawn from, recognised by its title and category.
    pub fn template_for(&self, category: &str, title: &str) -> Option<&Template> {
        self.templates
            .iter()
            .find(|t| t.title == title && t.category == category)
    }

    /// The departments a request usually goes to, by name, with [`LOCAL_TOWNSHIP`] resolved
    /// to `town`. Falls back to the first template of the category, then to the town.
    pub fn usual_departments(&self, category: &str, title: &str, town: &str) -> Vec<String> {
        let t = self
            .template_for(category, title)
            .or_else(|| self.templates.iter().find(|t| t.category == category));
        let names: Vec<String> = match t {
            Some(t) => t.departments.clone(),
            None => vec![LOCAL_TOWNSHIP.to_string()],
        };
        let mut out: Vec<String> = Vec::new();
        for n in names {
            let n = if n == LOCAL_TOWNSHIP {
                town.to_string()
            } else {
                n
            };
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// A new request from a weighted random template, requester and place.
    pub fn draw_request(&self, rng: &mut impl Rng) -> DrawnRequest {
        let weights = WeightedIndex::new(self.templates.iter().map(|t| t.weight))
            .expect("validated: templates exist and weights are positive");
        let template = weights.sample(rng);
        let tpl = &self.templates[template];
        let town = self.towns.choose(rng).expect("validated: towns exist");
        let place = town.places.choose(rng).expect("validated: places exist");
        let address = if place.ends_with('村') {
            format!("{place}{}号", rng.random_range(1..=180))
        } else if place.ends_with("街") || place.ends_with("路") {
            format!("{place}{}号", rng.random_range(1..=320))
        } else {
            format!(
                "{place}{}幢{}单元{}室",
                rng.random_range(1..=24),
                rng.random_range(1..=3),
                rng.random_range(1..=6) * 100 + rng.random_range(1..=4)
            )
        };
        let channel = *[
            (Channel::Hotline12345, 40),
            (Channel::Web, 30),
            (Channel::Open311, 10),
            (Channel::WalkIn, 10),
            (Channel::Hotline110, 10),
        ]
        .choose_weighted(rng, |c| c.1)
        .map(|c| &c.0)
        .unwrap_or(&Channel::Hotline12345);
        let surname = self.names.surnames.choose(rng).expect("validated");
        let name = match rng.random_range(0..4) {
            0 => format!("{surname}先生"),
            1 => format!("{surname}女士"),
            _ => format!(
                "{surname}{}",
                self.names.given.choose(rng).expect("validated")
            ),
        };
        DrawnRequest {
            template,
            new_case: NewCase {
                channel,
                category: tpl.category.clone(),
                title: tpl.title.clone(),
                description: tpl.description.replace("{place}", place),
                requester: Requester {
                    name,
                    phone: random_phone(rng),
                },
                location: Location {
                    town: town.name.clone(),
                    address,
                    lat: Some(round5(town.lat + rng.random_range(-0.012..0.012))),
                    long: Some(round5(town.long + rng.random_range(-0.012..0.012))),
                },
            },
        }
    }

    fn progress_text(&self, category: &str, rng: &mut impl Rng) -> String {
        self.category(category)
            .and_then(|c| c.progress.choose(rng).cloned())
            .unwrap_or_else(|| "正在办理。".into())
    }

    fn resolve_text(&self, tpl: &Template, rng: &mut impl Rng) -> String {
        tpl.resolve.clone().unwrap_or_else(|| {
            self.category(&tpl.category)
                .and_then(|c| c.resolve.choose(rng).cloned())
                .unwrap_or_else(|| "已办结。".into())
        })
    }

    fn answer_text(&self, tpl: &Template, rng: &mut impl Rng) -> String {
        tpl.answer.clone().unwrap_or_else(|| {
            self.category(&tpl.category)
                .and_then(|c| c.answer.choose(rng).cloned())
                .unwrap_or_else(|| "您好，已答复。".into())
        })
    }

    fn return_reason(&self, other: &str, rng: &mut impl Rng) -> String {
        self.return_reasons
            .choose(rng)
            .map(|t| t.text.replace("{other}", other))
            .unwrap_or_else(|| "不属于我单位职责。".into())
    }

    fn extension_reason(&self, rng: &mut impl Rng) -> String {
        pick_text(&self.extension_reasons, rng, "需延长办理时限。")
    }

    fn urge_note(&self, rng: &mut impl Rng) -> String {
        pick_text(&self.urge_notes, rng, "请尽快办理。")
    }

    /// Texts the simulator's departments use for an in-progress case of `category`.
    pub fn department_texts(&self, category: &str, title: &str, rng: &mut impl Rng) -> Replies {
        let tpl = self
            .template_for(category, title)
            .or_else(|| self.templates.iter().find(|t| t.category == category))
            .unwrap_or(&self.templates[0]);
        Replies {
            progress: self.progress_text(category, rng),
            resolve: self.resolve_text(tpl, rng),
            answer: self.answer_text(tpl, rng),
            extension_reason: self.extension_reason(rng),
        }
    }

    /// A reason a department gives when it returns a case it thinks belongs to `other`.
    pub fn return_reason_for(&self, other: &str, rng: &mut impl Rng) -> String {
        self.return_reason(other, rng)
    }
}

/// Ready-made texts for one reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Replies {
    pub progress: String,
    pub resolve: String,
    pub answer: String,
    pub extension_reason: String,
}

fn pick_text(texts: &[Text], rng: &mut impl Rng, fallback: &str) -> String {
    texts
        .choose(rng)
        .map(|t| t.text.clone())
        .unwrap_or_else(|| fallback.into())
}

fn round5(x: f64) -> f64 {
    (x * 100_000.0).round() / 100_000.0
}

/// A mainland mobile number with a real carrier prefix.
pub fn random_phone(rng: &mut impl Rng) -> String {
    const PREFIXES: [&str; 24] = [
        "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
        "155", "157", "158", "159", "177", "180", "182", "186", "187", "188", "189",
    ];
    let prefix = PREFIXES.choose(rng).copied().unwrap_or("138");
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

// ---- the seed plan ---------------------------------------------------------------------------

/// How to generate the seeded desk.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    pub seed: u64,
    /// The moment the plan is seen from: no step is later.
    pub now: DateTime<Utc>,
    /// How many cases (default 300).
    pub cases: usize,
    /// How far back the oldest case was received (default 12 h).
    pub span: Duration,
}

impl PlanOptions {
    pub fn new(seed: u64, now: DateTime<Utc>) -> PlanOptions {
        PlanOptions {
            seed,
            now,
            cases: 300,
            span: Duration::hours(12),
        }
    }
}

/// One step of a planned history, to replay as `store.act(id, None, &action, &actor, at)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: CaseAction,
}

/// A case to create as `store.create_case(&new_case, &intake, received_at)`, then its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCase {
    pub received_at: DateTime<Utc>,
    pub intake: Actor,
    pub new_case: NewCase,
    /// In time order, all at or after `received_at` and at or before the plan's `now`.
    pub steps: Vec<PlannedStep>,
}

/// The seeded desk: cases in order of receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedPlan {
    pub now: DateTime<Utc>,
    pub cases: Vec<PlannedCase>,
}

/// Department ids by name, from the server's `GET /api/v1/departments` (or the store).
fn department_ids(
    data: &DemoData,
    departments: &[Department],
) -> Result<BTreeMap<String, i64>, DataError> {
    let mut ids = BTreeMap::new();
    for name in data.department_names() {
        let d = departments
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| DataError::UnknownDepartment(name.to_string()))?;
        ids.insert(name.to_string(), d.id);
    }
    Ok(ids)
}

/// Plans the seeded desk: `opts.cases` cases received over `opts.span` before `opts.now`, each
/// with the steps that happened by `opts.now`. `departments` are the server's (matched by name;
/// every department of [`DemoData::new_departments`] must exist). Same inputs, same plan.
pub fn plan(
    data: &DemoData,
    departments: &[Department],
    opts: &PlanOptions,
) -> Result<SeedPlan, DataError> {
    let ids = department_ids(data, departments)?;
    // Whole milliseconds, as the store keeps them, so a replay reads back what was planned.
    let now = DateTime::from_timestamp_millis(opts.now.timestamp_millis()).unwrap_or(opts.now);
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let span_secs = opts.span.num_seconds().max(60);
    // A steady stream over the span, plus a fresh batch nobody has triaged yet.
    let fresh = (opts.cases / 30).max(6).min(opts.cases);
    let mut received: Vec<DateTime<Utc>> = (0..opts.cases)
        .map(|i| {
            let back = if i < fresh {
                rng.random_range(0..15 * 60)
            } else {
                rng.random_range(0..span_secs)
            };
            now - Duration::seconds(back)
        })
        .collect();
    received.sort();
    let mut cases = Vec::with_capacity(opts.cases);
    for at in received {
        let drawn = data.draw_request(&mut rng);
        let mut planner = Planner {
            data,
            ids: &ids,
            rng: &mut rng,
            received: at,
            t: at,
            steps: Vec::new(),
        };
        planner.plan_life(&drawn, now);
        let mut steps = planner.steps;
        steps.retain(|s| s.at <= now);
        let intake = data.staff_with(Role::Intake);
        let intake = intake.choose(&mut rng).expect("validated");
        cases.push(PlannedCase {
            received_at: at,
            intake: Actor {
                name: intake.name.clone(),
                role: Role::Intake,
                department_id: None,
            },
            new_case: drawn.new_case,
            steps,
        });
    }
    Ok(SeedPlan { now, cases })
}

struct Planner<'a, R: Rng> {
    data: &'a DemoData,
    ids: &'a BTreeMap<String, i64>,
    rng: &'a mut R,
    received: DateTime<Utc>,
    /// The time of the last planned step.
    t: DateTime<Utc>,
    steps: Vec<PlannedStep>,
}

impl<R: Rng> Planner<'_, R> {
    /// A random duration of `lo..=hi` minutes (`lo` if the range is empty).
    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::seconds(self.rng.random_range(lo * 60..=hi.max(lo) * 60))
    }

    /// Plans `action` by `actor` at `at`, or a minute after the last step if that is later.
    fn push(&mut self, at: DateTime<Utc>, actor: Actor, action: CaseAction) {
        let at = at.max(self.t + Duration::minutes(1));
        self.t = at;
        self.steps.push(PlannedStep { at, actor, action });
    }

    fn after(&mut self, lo: i64, hi: i64, actor: Actor, action: CaseAction) {
        let at = self.t + self.minutes(lo, hi);
        self.push(at, actor, action);
    }

    fn staff(&mut self, role: Role) -> Actor {
        let staff = self.data.staff_with(role);
        let s = staff.choose(self.rng).expect("validated");
        Actor {
            name: s.name.clone(),
            role,
            department_id: None,
        }
    }

    fn department(&self, name: &str) -> Actor {
        Actor {
            name: self.data.duty_officer(name),
            role: Role::Department,
            department_id: self.ids.get(name).copied(),
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn plan_life(&mut self, drawn: &DrawnRequest, now: DateTime<Utc>) {
        let data = self.data;
        let tpl = &data.templates[drawn.template];
        let new = &drawn.new_case;
        let policy = Policy::default();
        let age = now - self.received;

        // Triage: usually within minutes; the newest wait for the human operator; a few late.
        let triage_delay = if age < Duration::minutes(15) && self.chance(0.75) {
            self.minutes(16, 30)
        } else if age < Duration::minutes(60) && self.chance(0.25) {
            // Slipped through the cracks: still untriaged now, past the 15-minute clock.
            age + self.minutes(1, 30)
        } else if self.chance(0.08) {
            self.minutes(17, 120)
        } else {
            self.minutes(2, 12)
        };
        // The desk sometimes judges a request harder or easier than usual.
        let tier = match (tpl.tier, self.rng.random_range(0..10)) {
            (Tier::Blue, 0) => Tier::Orange,
            (Tier::Orange, 0) => Tier::Red,
            (Tier::Orange, 1) => Tier::Blue,
            (Tier::Red, 0) => Tier::Orange,
            (t, _) => t,
        };
        let operator = self.staff(Role::Operator);
        let claims = tier == Tier::Red && self.chance(0.3);
        let triage_at = self.received + triage_delay;
        if claims {
            self.push(
                triage_at - Duration::minutes(1),
                operator.clone(),
                CaseAction::Claim(NoteBody::default()),
            );
        }
        self.push(
            triage_at,
            operator.clone(),
            CaseAction::Triage(TierBody { tier, note: None }),
        );
        let tp = *policy.tier(tier);
        let feedback_due = self.received + Duration::minutes(tp.feedback_minutes);

        if tpl.route == Route::Online && tier == Tier::Blue && self.chance(0.9) {
            let answer = data.answer_text(tpl, self.rng);
            if self.chance(0.06) {
                // Answered after the feedback deadline.
                let at = feedback_due + self.minutes(5, 60);
                self.push(
                    at,
                    operator.clone(),
                    CaseAction::AnswerOnline(AnswerBody {
                        text: answer,
                        answer: None,
                    }),
                );
            } else {
                self.after(
                    3,
                    40,
                    operator.clone(),
                    CaseAction::AnswerOnline(AnswerBody {
                        text: answer,
                        answer: None,
                    }),
                );
            }
            if self.chance(0.7) {
                self.after(10, 120, operator, CaseAction::Close(NoteBody::default()));
            }
            return;
        }

        // Dispatch: within the tier's clock, a few late.
        let choices = data.usual_departments(&new.category, &new.title, &new.location.town);
        let mut department = choices[0].clone();
        let dispatch_limit = tp.dispatch_minutes.unwrap_or(120);
        let dispatch_at = if self.chance(0.1) {
            self.received + Duration::minutes(dispatch_limit) + self.minutes(5, 180)
        } else {
            self.t + self.minutes(3, (dispatch_limit / 2).max(10))
        };
        self.push(
            dispatch_at,
            operator.clone(),
            dispatch(self.ids, &department),
        );
        if claims {
            self.after(
                1,
                3,
                operator.clone(),
                CaseAction::Release(NoteBody::default()),
            );
        }

        // A department sometimes returns the case; the desk re-dispatches elsewhere.
        if choices.len() > 1 && self.chance(0.1) {
            let other = choices[1].clone();
            let reason = data.return_reason(&other, self.rng);
            let actor = self.department(&department);
            self.after(4, 25, actor, CaseAction::Return(ReasonBody { reason }));
            department = other;
            self.after(3, 20, operator.clone(), dispatch(self.ids, &department));
        }
        let actor = self.department(&department);

        // Sign for within the clock, some late; a supervisor urges some late ones.
        let sign_limit = tp.sign_for_minutes;
        if self.chance(0.08) {
            // A department that does not answer for hours.
            self.after(
                45,
                360,
                actor.clone(),
                CaseAction::SignFor(NoteBody::default()),
            );
        } else if self.chance(0.14) {
            if self.chance(0.5) {
                let urge_at = self.t + Duration::minutes(sign_limit) + self.minutes(1, 10);
                let note = data.urge_note(self.rng);
                let supervisor = self.staff(Role::Supervisor);
                self.push(
                    urge_at,
                    supervisor,
                    CaseAction::Urge(NoteBody { note: Some(note) }),
                );
            }
            let at = self.t + self.minutes(sign_limit / 2, sign_limit * 2);
            self.push(at, actor.clone(), CaseAction::SignFor(NoteBody::default()));
        } else {
            self.after(
                1,
                sign_limit - 3,
                actor.clone(),
                CaseAction::SignFor(NoteBody::default()),
            );
        }

        // Progress notes, sometimes an extension, then the result.
        for _ in 0..self.rng.random_range(0..=2) {
            let text = data.progress_text(&new.category, self.rng);
            self.after(
                10,
                50,
                actor.clone(),
                CaseAction::Progress(TextBody { text }),
            );
        }
        let mut due = feedback_due;
        if self.chance(0.12) {
            let until = due.max(self.t) + self.minutes(90, 300);
            let reason = data.extension_reason(self.rng);
            self.after(
                5,
                30,
                actor.clone(),
                CaseAction::RequestExtension(ExtensionRequestBody {
                    until: until.fixed_offset(),
                    reason,
                }),
            );
            let approve = self.chance(0.8);
            if approve {
                due = until;
            }
            let supervisor = self.staff(Role::Supervisor);
            self.after(
                5,
                40,
                supervisor,
                CaseAction::DecideExtension(ExtensionDecisionBody {
                    approve,
                    note: None,
                }),
            );
        }
        let text = data.resolve_text(tpl, self.rng);
        let resolve_at = if self.chance(0.15) {
            due + self.minutes(5, 300)
        } else {
            let window = (due - self.t).num_minutes();
            self.t + self.minutes(window.clamp(5, 20), (window * 3 / 4).max(10))
        };
        self.push(
            resolve_at,
            actor.clone(),
            CaseAction::Resolve(TextBody { text }),
        );

        // Red cases are followed up (回访); the rest are closed by the desk.
        if tier == Tier::Red {
            let supervisor = self.staff(Role::Supervisor);
            let result = *[
                (Satisfaction::Satisfied, 7),
                (Satisfaction::FairlySatisfied, 2),
                (Satisfaction::Dissatisfied, 1),
            ]
            .choose_weighted(self.rng, |r| r.1)
            .map(|r| &r.0)
            .unwrap_or(&Satisfaction::Satisfied);
            self.after(20, 240, supervisor.clone(), follow_up(result));
            if result == Satisfaction::Dissatisfied {
                self.after(
                    5,
                    14,
                    actor.clone(),
                    CaseAction::SignFor(NoteBody::default()),
                );
                let text = data.resolve_text(tpl, self.rng);
                self.after(30, 120, actor, CaseAction::Resolve(TextBody { text }));
                self.after(30, 180, supervisor, follow_up(Satisfaction::Satisfied));
            }
        } else if self.chance(0.8) {
            self.after(10, 90, operator, CaseAction::Close(NoteBody::default()));
        }
    }
}

fn dispatch(ids: &BTreeMap<String, i64>, department: &str) -> CaseAction {
    CaseAction::Dispatch(DispatchBody {
        department_id: ids.get(department).copied().unwrap_or_default(),
        note: None,
    })
}

fn follow_up(result: Satisfaction) -> CaseAction {
    CaseAction::FollowUp(FollowUpBody { result, note: None })
}

impl SeedPlan {
    /// Replays the plan through [`crate::domain::apply`] under `policy` as the store would, without a store:
    /// ids are 1, 2, … in order of receipt. Fails with the case index and the refusal of the
    /// first step the lifecycle rules do not accept.
    pub fn dry_run(&self, policy: &Policy) -> Result<Vec<CaseRecord>, (usize, Refusal)> {
        let mut out = Vec::with_capacity(self.cases.len());
        for (i, pc) in self.cases.iter().enumerate() {
            let mut rec = record_of(i as i64 + 1, pc);
            for step in &pc.steps {
                crate::domain::apply(&mut rec, &step.action, &step.actor, policy, step.at)
                    .map_err(|e| (i, e))?;
            }
            out.push(rec);
        }
        Ok(out)
    }
}

/// A freshly created case record, as the store would make it.
pub fn record_of(id: i64, pc: &PlannedCase) -> CaseRecord {
    let reference = format!("KH-{}-{id:04}", pc.received_at.format("%Y%m%d"));
    CaseRecord {
        id,
        ..CaseRecord::received(reference, &pc.new_case, pc.received_at)
    }
}

/// Counts of a replayed plan, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanSummary {
    pub cases: usize,
    /// Open cases (not resolved or closed) without a tier.
    pub untriaged: usize,
    /// Open cases per tier: red, orange, blue.
    pub open_red: usize,
    pub open_orange: usize,
    pub open_blue: usize,
    /// Cases per status (`new`, `triaged`, …).
    pub by_status: BTreeMap<&'static str, usize>,
    /// Cases per tier (untriaged under "none").
    pub by_tier: BTreeMap<&'static str, usize>,
    /// Cases past an unmet deadline at `now`.
    pub overdue_now: usize,
    /// Of those, per tier ("none" for untriaged).
    pub overdue_by_tier: BTreeMap<&'static str, usize>,
    /// Unmet deadlines past due at `now`, per clock.
    pub overdue_by_clock: BTreeMap<&'static str, usize>,
    /// Cases with a deadline met late.
    pub met_late: usize,
    pub returned: usize,
    pub extended: usize,
    pub urged: usize,
    pub followed_up: usize,
}

/// Summarises replayed records under `policy` at `now`.
pub fn summarize(records: &[CaseRecord], policy: &Policy, now: DateTime<Utc>) -> PlanSummary {
    let mut s = PlanSummary {
        cases: records.len(),
        ..PlanSummary::default()
    };
    for r in records {
        *s.by_status.entry(r.status.as_str()).or_default() += 1;
        *s.by_tier
            .entry(r.tier.map(Tier::as_str).unwrap_or("none"))
            .or_default() += 1;
        if r.status.is_open() {
            match r.tier {
                None => s.untriaged += 1,
                Some(Tier::Red) => s.open_red += 1,
                Some(Tier::Orange) => s.open_orange += 1,
                Some(Tier::Blue) => s.open_blue += 1,
            }
        }
        let ds = crate::domain::deadlines(r, policy, now);
        if ds.iter().any(|d| d.met_at.is_none() && d.breached) {
            s.overdue_now += 1;
            *s.overdue_by_tier
                .entry(r.tier.map(Tier::as_str).unwrap_or("none"))
                .or_default() += 1;
        }
        for d in ds.iter().filter(|d| d.met_at.is_none() && d.breached) {
            *s.overdue_by_clock.entry(d.clock.as_str()).or_default() += 1;
        }
        if ds.iter().any(|d| d.met_at.is_some() && d.breached) {
            s.met_late += 1;
        }
        s.returned += usize::from(r.return_count > 0);
        s.extended += usize::from(r.extension_count > 0);
        s.urged += usize::from(r.urge_count > 0);
        s.followed_up += usize::from(r.followed_up_at.is_some());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ClockKind;

    fn data() -> DemoData {
        DemoData::embedded().expect("embedded demo data parses and validates")
    }

    /// The server's departments as the lead's seeding creates them: in order, ids from 1.
    fn server_departments(data: &DemoData) -> Vec<Department> {
        data.new_departments()
            .into_iter()
            .enumerate()
            .map(|(i, d)| Department {
                id: i as i64 + 1,
                name: d.name,
                kind: d.kind,
                active: true,
                version: 1,
                on_duty: Vec::new(),
            })
            .collect()
    }

    fn now() -> DateTime<Utc> {
        "2022-05-08T13:00:00Z".parse().unwrap()
    }

    fn seed_plan(seed: u64) -> SeedPlan {
        let d = data();
        // A "now" with nanoseconds, like the wall clock's.
        let now = now() + Duration::nanoseconds(123_456_789);
        let p = plan(&d, &server_departments(&d), &PlanOptions::new(seed, now)).unwrap();
        assert_eq!(p.now, now - Duration::nanoseconds(456_789));
        p
    }

    #[test]
    fn embedded_data_parses_and_every_template_department_exists() {
        let d = data();
        assert_eq!(d.towns.len(), 15);
        assert!(d.towns.iter().any(|t| t.name == "马金镇"));
        let names: HashSet<&str> = d.department_names().collect();
        for t in &d.templates {
            for dep in &t.departments {
                assert!(
                    dep == LOCAL_TOWNSHIP || names.contains(dep.as_str()),
                    "{dep}"
                );
            }
            assert!(
                t.title.chars().count() <= MAX_TEMPLATE_TITLE_CHARS,
                "{}",
                t.title
            );
        }
        for code in CATEGORY_CODES {
            assert!(d.templates.iter().any(|t| t.category == code), "{code}");
        }
        // Every user named in histories has a department that exists.
        for u in d.users() {
            if let Some(dep) = &u.department {
                assert!(names.contains(dep.as_str()));
            }
        }
        assert_eq!(d.new_departments().len(), names.len());
    }

    #[test]
    fn validation_rejects_unknown_departments_and_long_titles() {
        let bad_dep = KAIHUA_TOML.replacen(
            "departments = [\"卫健局\", \"交通运输局\"]",
            "departments = [\"卫生部\"]",
            1,
        );
        assert_ne!(bad_dep, KAIHUA_TOML);
        assert!(
            matches!(DemoData::parse(&bad_dep), Err(DataError::Invalid(m)) if m.contains("卫生部"))
        );
        let long = KAIHUA_TOML.replacen(
            "title = \"透析病人需要转运\"",
            "title = \"透析病人需要转运透析病人需要转运透析病人需要转运\"",
            1,
        );
        assert!(matches!(DemoData::parse(&long), Err(DataError::Invalid(_))));
        assert!(matches!(
            DemoData::parse("desk = 1"),
            Err(DataError::Parse(_))
        ));
        let ascii_comma = KAIHUA_TOML.replacen("我在杭州工作\u{ff0c}", "我在杭州工作,", 1);
        assert_ne!(ascii_comma, KAIHUA_TOML);
        assert!(
            matches!(DemoData::parse(&ascii_comma), Err(DataError::Invalid(m)) if m.contains("half-width"))
        );
    }

    #[test]
    fn plan_needs_every_department_on_the_server() {
        let d = data();
        let mut deps = server_departments(&d);
        deps.retain(|x| x.name != "商务局");
        assert!(matches!(
            plan(&d, &deps, &PlanOptions::new(1, now())),
            Err(DataError::UnknownDepartment(n)) if n == "商务局"
        ));
    }

    #[test]
    fn plan_is_deterministic_per_seed() {
        assert_eq!(seed_plan(1), seed_plan(1));
        assert_ne!(seed_plan(1), seed_plan(2));
    }

    #[test]
    fn planned_cases_are_well_formed() {
        let p = seed_plan(1);
        assert_eq!(p.cases.len(), 300);
        let oldest = p.now - Duration::hours(12);
        let mut channels = HashSet::new();
        for pair in p.cases.windows(2) {
            assert!(pair[0].received_at <= pair[1].received_at);
        }
        for c in &p.cases {
            assert!(c.received_at >= oldest && c.received_at <= p.now);
            assert_eq!(c.intake.role, Role::Intake);
            channels.insert(c.new_case.channel);
            assert!(!c.new_case.description.contains("{place}"));
            assert_eq!(c.new_case.requester.phone.len(), 11);
            let mut t = c.received_at;
            for s in &c.steps {
                assert!(
                    s.at > t && s.at <= p.now,
                    "steps must be in order and in the past"
                );
                assert_eq!(s.at.timestamp_subsec_nanos() % 1_000_000, 0, "whole ms");
                t = s.at;
            }
        }
        assert_eq!(channels.len(), Channel::ALL.len());
    }

    #[test]
    fn every_planned_step_is_accepted_by_the_lifecycle_rules() {
        for seed in [1, 2, 3, 42, 2022] {
            let p = seed_plan(seed);
            if let Err((i, refusal)) = p.dry_run(&Policy::default()) {
                panic!("seed {seed}: case {i} {:?}: {refusal}", p.cases[i]);
            }
        }
    }

    #[test]
    fn seeded_desk_fills_every_queue_and_the_overdue_board() {
        let policy = Policy::default();
        for seed in [1, 7, 99] {
            let records = seed_plan(seed).dry_run(&Policy::default()).unwrap();
            let s = summarize(&records, &policy, now());
            assert!(s.untriaged >= 3, "seed {seed}: {s:?}");
            assert!(s.open_red >= 3, "seed {seed}: {s:?}");
            assert!(s.open_orange >= 3, "seed {seed}: {s:?}");
            assert!(s.open_blue >= 1, "seed {seed}: {s:?}");
            assert!(s.overdue_now >= 5, "seed {seed}: {s:?}");
            // Open and overdue now: cases not triaged in time, and departments running late.
            for clock in ["triage", "sign_for", "feedback"] {
                assert!(s.overdue_by_clock.contains_key(clock), "seed {seed}: {s:?}");
            }
            assert!(s.overdue_by_tier.contains_key("red"), "seed {seed}: {s:?}");
            assert!(s.met_late >= 5, "seed {seed}: {s:?}");
            assert!(s.returned >= 1 && s.extended >= 1 && s.urged >= 1, "{s:?}");
            assert!(
                s.by_status.get("closed").copied().unwrap_or(0) >= 50,
                "{s:?}"
            );
            // Every kind of lateness the supervisor board shows.
            let breached = |clock: ClockKind| {
                records.iter().any(|r| {
                    crate::domain::deadlines(r, &policy, now())
                        .iter()
                        .any(|d| d.clock == clock && d.breached)
                })
            };
            for clock in [
                ClockKind::Triage,
                ClockKind::Dispatch,
                ClockKind::SignFor,
                ClockKind::Feedback,
            ] {
                assert!(breached(clock), "seed {seed}: no {clock:?} breach");
            }
        }
    }

    #[test]
    fn summary_of_seed_1() {
        let records = seed_plan(1).dry_run(&Policy::default()).unwrap();
        let s = summarize(&records, &Policy::default(), now());
        println!("{s:#?}");
        assert_eq!(s.cases, 300);
    }
}
