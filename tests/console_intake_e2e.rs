//! Hotline intake with the real `jieyou` console in tmux against a real `jieyou serve`: a call
//! taken with the pickers and the caller lookup, a long bracketed paste, and a burst of keys
//! faster than the server answers. Every wait polls the screen or the server with a bound.

#![cfg(unix)]

mod e2e;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e::{Server, Tmux, WAIT, require_tmux, runtime, user_add};
use jieyou::client::{Client, ListQuery, new_idempotency_key};
use jieyou::wire::{Case, CaseAction, Channel, Location, NewCase, Requester, Tier, TierBody};

struct Desk {
    dir: tempfile::TempDir,
    server: Server,
    operator: String,
    intake_token: String,
    intake: Client,
    operator_client: Client,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = format!("sqlite:{}", dir.path().join("desk.db").display());
        let operator = user_add(&db, "op-li", "operator");
        let intake_token = user_add(&db, "intake-wang", "intake");
        let server = Server::start(&db, "127.0.0.1:0");
        Desk {
            intake: Client::new(&server.url, &intake_token).expect("client"),
            operator_client: Client::new(&server.url, &operator).expect("client"),
            dir,
            server,
            operator,
            intake_token,
        }
    }

    fn create(&self, title: &str, name: &str, phone: &str) -> Case {
        let new = NewCase {
            channel: Channel::Hotline12345,
            category: "medical_transport".into(),
            title: title.into(),
            description: "78岁尿毒症患者需定期血透,小区封控无法出行".into(),
            requester: Requester {
                name: name.into(),
                phone: phone.into(),
            },
            location: Location {
                town: "马金镇".into(),
                address: "下庄村".into(),
                lat: None,
                long: None,
            },
        };
        runtime()
            .block_on(self.intake.create_case(&new, &new_idempotency_key()))
            .expect("case created")
            .case
    }

    fn home(&self, who: &str) -> PathBuf {
        self.dir.path().join(format!("home-{who}"))
    }

    fn console(&self, name: &str, token: &str) -> Tmux {
        Tmux::console(
            name,
            &self.home(name),
            &["--server", &self.server.url, "--token", token],
            "en_US.UTF-8",
        )
    }
}

fn wait_server<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the server: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn intake_takes_a_call_with_pickers_and_the_lookup_finds_the_callers_open_case() {
    require_tmux();
    let desk = Desk::new();
    let earlier = desk.create("透析病人需要转运", "刘奶奶", "13900001111");
    let t = desk.console("intake-call", &desk.intake_token);
    t.wait_for("the form, live", |s| {
        s.contains("New case from a call") && s.contains("● live")
    });
    t.text("独居老人断药");
    t.keys(&["Tab"]);
    t.text("yp");
    t.wait_text("药品需求 · Medicine");
    t.keys(&["Enter"]);
    t.text("刘奶奶");
    t.keys(&["Tab"]);
    t.text("139-0000-1111");
    let s = t.wait_text("Earlier calls from this caller: 1 (1 open)");
    assert!(s.contains(&earlier.reference), "{s}");
    t.keys(&["Tab"]);
    t.text("hb");
    t.keys(&["Enter"]);
    t.keys(&["C-s"]);
    t.wait_text("Done: new case");
    let found = wait_server("the caller's two cases", || {
        let q = ListQuery {
            phone: Some("13900001111".into()),
            ..ListQuery::default()
        };
        let list = runtime().block_on(desk.intake.list(&q)).ok()?;
        (list.cases.len() == 2).then_some(list.cases)
    });
    let created = &found[0];
    assert_eq!(created.title, "独居老人断药");
    assert_eq!(created.category, "medicine");
    assert_eq!(created.location.town, "华埠镇");
    assert_eq!(created.requester.name, "刘奶奶");
    assert_eq!(found[1].id, earlier.id);
}

#[test]
fn a_3000_character_paste_is_answered_online_in_one_piece() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.create("询问返乡隔离政策", "葛先生", "13800000000");
    let c = runtime()
        .block_on(desk.operator_client.act(
            c.id,
            c.version,
            &CaseAction::Triage(TierBody {
                tier: Tier::Blue,
                note: None,
            }),
            &new_idempotency_key(),
        ))
        .expect("triaged")
        .case;
    let t = desk.console("paste", &desk.operator);
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    t.keys(&["o"]);
    t.wait_text("Answer online");
    let answer: String = "您好返乡人员请提前向村社区报备。"
        .chars()
        .cycle()
        .take(2999)
        .chain(['终'])
        .collect();
    t.paste(&answer);
    t.wait_text("终");
    t.keys(&["C-s"]);
    let stored = wait_server("the answer stored", || {
        let d = runtime().block_on(desk.operator_client.case(c.id)).ok()?;
        d.events
            .iter()
            .find(|e| e.action.starts_with("answer"))
            .and_then(|e| e.payload.get("text")?.as_str().map(str::to_string))
    });
    assert_eq!(stored.chars().count(), 3000);
    assert_eq!(stored, answer);
}

/// Typed, not pasted: a burst of more than a kilobyte that the console reads in several
/// pieces. All of it shows without another key press.
#[test]
fn a_760_character_burst_of_keys_arrives_whole_without_another_key() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.create("询问返乡隔离政策", "葛先生", "13800000000");
    let t = desk.console("burst-typed", &desk.operator);
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    t.keys(&["N"]);
    t.wait_text("Add a note");
    let note: String = "已联系家属车辆正在路上"
        .chars()
        .cycle()
        .take(759)
        .chain(['终'])
        .collect();
    t.text(&note);
    t.wait_text("终");
    t.keys(&["C-s"]);
    let stored = wait_server("the note stored", || {
        let d = runtime().block_on(desk.operator_client.case(c.id)).ok()?;
        d.events
            .iter()
            .find(|e| e.action == "note")
            .and_then(|e| e.payload.get("text")?.as_str().map(str::to_string))
    });
    assert_eq!(stored, note);
}

#[test]
fn t_r_t_b_typed_in_one_burst_ends_blue() {
    require_tmux();
    let desk = Desk::new();
    let c = desk.create("发热儿童需就医", "池女士", "13700000000");
    let t = desk.console("burst", &desk.operator);
    t.wait_for("the case, live", |s| {
        s.contains(&c.reference) && s.contains("● live")
    });
    // One write of four keys: the second t arrives before the first triage is answered.
    t.text("trtb");
    let done = wait_server("the case re-tiered blue", || {
        let d = runtime().block_on(desk.operator_client.case(c.id)).ok()?;
        (d.case.tier == Some(Tier::Blue)).then_some(d)
    });
    let actions: Vec<&str> = done.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["received", "triage", "retier"]);
    let s = t.wait_text("Done: re-tiered");
    assert!(!s.contains("refused"), "{s}");
}
