//! `App::update` for hotline intake: text fields, paste, pickers, the caller lookup, and keys
//! typed faster than the server answers. No terminal, no network: answers are simulated.

use crossterm::event::KeyCode;

use crate::console::action::{Action, Effect, RequestId};
use crate::console::app::*;
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::test_keys::{acts, code, ctrl, key, select, typed};
use crate::wire::{Case, CaseAction, CaseList, Role, Status, TextBody, Tier, TierBody};

fn form(app: &App) -> &NewCaseForm {
    match &app.mode {
        Mode::NewCase(f) => f,
        other => panic!("not on the new-case form: {other:?}"),
    }
}
fn answered(app: &mut App, request: RequestId, case: Case) -> Vec<Effect> {
    app.update(Action::ActionDone {
        request,
        case: Box::new(fixtures::detail(&case)),
    })
}
fn intake_app() -> App {
    let mut me = fixtures::me();
    me.name = "intake-wang".into();
    me.role = Role::Intake;
    fixtures::app_as(Lang::En, me, fixtures::sample_cases())
}

#[test]
fn intake_staff_open_on_the_new_case_form_and_operators_do_not() {
    let app = intake_app();
    assert_eq!(form(&app).focus, TITLE);
    assert!(matches!(fixtures::app(Lang::En).mode, Mode::Normal));
}

#[test]
fn text_fields_edit_at_the_cursor_like_a_shell_line() {
    let mut app = intake_app();
    typed(&mut app, "老人走失 马金镇 急");
    app.update(ctrl('w'));
    assert_eq!(form(&app).fields[TITLE], "老人走失 马金镇 ");
    app.update(code(KeyCode::Home));
    app.update(code(KeyCode::Delete));
    app.update(code(KeyCode::Right));
    typed(&mut app, "人");
    assert_eq!(form(&app).fields[TITLE], "人人走失 马金镇 ");
    app.update(code(KeyCode::End));
    app.update(code(KeyCode::Left));
    app.update(code(KeyCode::Backspace));
    assert_eq!(form(&app).fields[TITLE], "人人走失 马金 ");
    app.update(code(KeyCode::Left));
    app.update(ctrl('u'));
    assert_eq!(form(&app).fields[TITLE], "金 ");
    assert_eq!(form(&app).fields[TITLE].cursor(), 0);
}

#[test]
fn a_paste_of_3000_cjk_characters_is_one_update_and_its_line_breaks_never_send() {
    let mut app = fixtures::app(Lang::En);
    select(&mut app, 134);
    app.update(key('o'));
    let text: String = "透析病人需要转运\n".repeat(375);
    let pasted: String = text.chars().take(3000).collect();
    let fx = app.update(Action::Paste(pasted.clone()));
    assert!(fx.is_empty(), "a paste sends nothing: {fx:?}");
    let Mode::Text(f) = &app.mode else {
        panic!("the answer form stays open")
    };
    assert!(!f.sending);
    assert_eq!(f.text, pasted.as_str(), "whole, line breaks kept");
    assert_eq!(f.text.cursor(), 3000);
    // In a one-line field a pasted line break is a space.
    let mut app = intake_app();
    let fx = app.update(Action::Paste("发热\r\n儿童\n".into()));
    assert!(fx.is_empty());
    assert_eq!(form(&app).fields[TITLE], "发热 儿童 ");
    assert!(!form(&app).sending);
    // With nothing to type into, a paste is not a string of commands.
    let mut app = fixtures::app(Lang::En);
    select(&mut app, 134);
    assert!(app.update(Action::Paste("tr".into())).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_title_too_long_is_shown_on_its_field_and_nothing_is_sent() {
    let mut app = intake_app();
    app.update(Action::Paste("长".repeat(crate::wire::MAX_TITLE_CHARS + 1)));
    assert!(app.update(ctrl('s')).is_empty());
    let f = form(&app);
    assert_eq!(f.focus, TITLE);
    assert!(f.errors[&TITLE].contains("at most"), "{:?}", f.errors);
}

#[test]
fn pickers_filter_by_pinyin_initials_and_take_no_free_text() {
    let mut app = intake_app();
    let codes = |c: Vec<Choice>| c.into_iter().map(|c| c.code).collect::<Vec<_>>();
    assert_eq!(codes(app.choices(CATEGORY, "jy")), ["medical_transport"]);
    assert_eq!(codes(app.choices(CATEGORY, "elderly")), ["elderly_care"]);
    assert_eq!(codes(app.choices(TOWN, "mj")), ["马金镇"]);
    assert_eq!(codes(app.choices(TOWN, "华埠")), ["华埠镇"]);
    assert_eq!(app.choices(TOWN, "").len(), 15);
    app.update(code(KeyCode::Tab));
    typed(&mut app, "zc");
    app.update(code(KeyCode::Down));
    assert_eq!(form(&app).pick, 0, "政策咨询 is the only match");
    app.update(code(KeyCode::Enter));
    assert_eq!(form(&app).category.as_deref(), Some("policy_question"));
    assert_eq!(form(&app).focus, NAME);
    for _ in 0..2 {
        app.update(code(KeyCode::Tab));
    }
    typed(&mut app, "xyz");
    app.update(code(KeyCode::Enter));
    let f = form(&app);
    assert_eq!((f.focus, f.town.as_deref()), (TOWN, None), "no free text");
    assert!(f.errors.contains_key(&TOWN));
    app.update(ctrl('u'));
    typed(&mut app, "h");
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Tab));
    let f = form(&app);
    assert_eq!(
        f.town.as_deref(),
        Some(app.choices(TOWN, "h")[1].code.as_str())
    );
    assert!(!f.errors.contains_key(&TOWN));
}

/// The keys of a typical call: category, town, caller, phone, title, description (a committed
/// CJK character counts as one key). Before the pickers the same call took 79: `n`, the
/// category code typed over `general` (7 + 17), the town typed in full.
#[test]
fn a_typical_call_takes_55_keys() {
    let mut app = intake_app();
    let mut keys = 0;
    let mut fx = vec![];
    let mut press = |app: &mut App, a: Action| {
        keys += 1;
        fx.extend(app.update(a));
    };
    let title = "透析病人需要转运";
    let description = "78岁尿毒症患者需定期血透，小区封控无法出行";
    for c in title.chars() {
        press(&mut app, key(c));
    }
    press(&mut app, code(KeyCode::Tab));
    for c in "jy".chars() {
        press(&mut app, key(c));
    }
    press(&mut app, code(KeyCode::Enter));
    for c in "葛先生".chars() {
        press(&mut app, key(c));
    }
    press(&mut app, code(KeyCode::Tab));
    for c in "13800001111".chars() {
        press(&mut app, key(c));
    }
    press(&mut app, code(KeyCode::Tab));
    for c in "mj".chars() {
        press(&mut app, key(c));
    }
    press(&mut app, code(KeyCode::Enter));
    press(&mut app, code(KeyCode::Tab));
    for c in description.chars() {
        press(&mut app, key(c));
    }
    press(&mut app, ctrl('s'));
    assert_eq!(keys, 55);
    let created = fx
        .iter()
        .find_map(|e| match e {
            Effect::Create { case, .. } => Some(case.clone()),
            _ => None,
        })
        .expect("created");
    assert_eq!(created.category, "medical_transport");
    assert_eq!(created.location.town, "马金镇");
    assert_eq!(created.requester.phone, "13800001111");
    assert_eq!(created.title, title);
    assert_eq!(created.description, description);
}

#[test]
fn t_r_t_b_in_one_burst_ends_blue_on_the_versions_the_server_returns() {
    let mut app = fixtures::app(Lang::En);
    select(&mut app, 134);
    let mut fx = vec![];
    for c in "trtb".chars() {
        fx.extend(app.update(key(c)));
    }
    let sent = acts(&fx);
    assert_eq!(sent.len(), 1, "one request at a time: {sent:?}");
    let (r1, id, v1, a1) = sent[0].clone();
    assert_eq!((id, v1), (134, 1));
    assert_eq!(
        a1,
        CaseAction::Triage(TierBody {
            tier: Tier::Red,
            note: None
        })
    );
    let mut red = app.cases[&134].clone();
    red.version = 2;
    red.tier = Some(Tier::Red);
    red.status = Status::Triaged;
    let next = acts(&answered(&mut app, r1, *red.clone()));
    assert_eq!(next.len(), 1);
    let (r2, _, v2, a2) = next[0].clone();
    assert_eq!(v2, 2, "sent with the version the triage returned");
    assert_eq!(
        a2,
        CaseAction::Retier(TierBody {
            tier: Tier::Blue,
            note: None
        }),
        "the second t re-tiers the case the first one triaged"
    );
    let mut blue = red;
    blue.version = 3;
    blue.tier = Some(Tier::Blue);
    answered(&mut app, r2, *blue);
    assert_eq!(app.cases[&134].tier, Some(Tier::Blue));
    assert!(app.in_flight.is_none());
    assert!(matches!(app.mode, Mode::Normal));
}

fn lookup_answer(cases: Vec<Case>) -> CaseList {
    CaseList {
        cases,
        next_cursor: None,
        server_time: now().with_timezone(&fixtures::zone()),
    }
}

#[test]
fn a_repeat_caller_is_looked_up_after_a_pause_and_the_call_becomes_a_note() {
    let mut app = intake_app();
    typed(&mut app, "还是没有车");
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    let fx = typed(&mut app, "葛先生");
    let soon: Vec<u64> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::LookupSoon { generation } => Some(*generation),
            _ => None,
        })
        .collect();
    assert_eq!(
        soon.len(),
        2,
        "葛先 and 葛先生; one character is too little"
    );
    // Only the last pause asks the server.
    assert!(app.update(Action::LookupDue(soon[0])).is_empty());
    let fx = app.update(Action::LookupDue(soon[1]));
    assert_eq!(
        fx,
        [Effect::LookupCaller {
            generation: soon[1],
            phone: None,
            requester: Some("葛先生".into()),
        }]
    );
    // A phone with enough digits is the better key.
    app.update(code(KeyCode::Tab));
    let fx = typed(&mut app, "138-0000-0000");
    let Some(Effect::LookupSoon { generation }) = fx.last().cloned() else {
        panic!("{fx:?}")
    };
    let fx = app.update(Action::LookupDue(generation));
    assert!(matches!(
        &fx[..],
        [Effect::LookupCaller { phone: Some(p), requester: None, .. }] if p == "13800000000"
    ));
    let mut closed = app.cases[&42].clone();
    closed.id = 7;
    closed.reference = "KH-20220501-0007".into();
    closed.status = Status::Closed;
    let open = app.cases[&42].clone();
    // A stale answer is dropped; the current one lists the open case first.
    app.update(Action::CallerCasesLoaded {
        generation: soon[1],
        list: lookup_answer(vec![*closed.clone()]),
    });
    assert!(form(&app).lookup.cases.is_empty());
    app.update(Action::CallerCasesLoaded {
        generation,
        list: lookup_answer(vec![*closed, *open.clone()]),
    });
    let ids: Vec<i64> = form(&app).lookup.cases.iter().map(|c| c.id).collect();
    assert_eq!(ids, [42, 7]);
    app.update(ctrl('l'));
    assert!(form(&app).lookup.focused);
    app.update(code(KeyCode::Enter));
    let Mode::Text(note) = &app.mode else {
        panic!("a note on the open case: {:?}", app.mode)
    };
    assert!(note.repeat_call);
    assert_eq!(note.case_id, 42);
    assert_eq!(note.text, "Repeat call from 葛先生: 还是没有车");
    let fx = app.update(ctrl('s'));
    let sent = acts(&fx);
    assert_eq!(
        (sent[0].1, sent[0].2, sent[0].3.clone()),
        (
            42,
            open.version,
            CaseAction::Note(TextBody {
                text: "Repeat call from 葛先生: 还是没有车".into()
            })
        )
    );
    let mut noted = open;
    noted.version += 1;
    answered(&mut app, sent[0].0, *noted);
    // No duplicate case; the next call starts on an empty form.
    let f = form(&app);
    assert!(f.fields.iter().all(|v| v.as_str().is_empty()));
    app.update(code(KeyCode::Esc));
    app.update(key('n'));
    assert!(
        form(&app).fields[TITLE].as_str().is_empty(),
        "the form of the repeat call is gone"
    );
}

#[test]
fn the_filter_and_the_dispatch_picker_edit_like_the_other_fields() {
    let mut app = fixtures::app(Lang::En);
    app.update(key('/'));
    typed(&mut app, "马金 透析");
    app.update(ctrl('w'));
    assert_eq!(app.filter, "马金 ");
    app.update(Action::Paste("池淮\n".into()));
    assert_eq!(app.filter, "马金 池淮 ");
    app.update(ctrl('u'));
    assert_eq!(app.filter, "");
    app.update(code(KeyCode::Esc));
    select(&mut app, 134);
    // An untriaged case asks for its tier first.
    app.update(key('a'));
    app.update(key('r'));
    typed(&mut app, "wjx");
    app.update(code(KeyCode::Left));
    app.update(code(KeyCode::Backspace));
    let Mode::Picker(p) = &app.mode else {
        panic!("the dispatch picker")
    };
    assert_eq!(p.query, "wx");
    assert_eq!(p.query.cursor(), 1);
}
