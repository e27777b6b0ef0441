//! The answer editor in `App::update`: the library fetched after sign-in and refreshed when
//! old, incremental search with pinyin initials, inserting a filled answer, editing it, and
//! the reference the send keeps. No terminal.

use chrono::Duration;
use crossterm::event::KeyCode;

use crate::client::ClientError;
use crate::console::action::{Action, Effect};
use crate::console::app::{App, EditorFocus, Mode};
use crate::console::fixtures::{self, now};
use crate::console::i18n::Lang;
use crate::console::test_keys::{acts, code, ctrl, key, typed};
use crate::wire::{
    Answer, AnswerBody, AnswerList, AnswerRef, CaseAction, FieldError, Problem, Role,
};

fn answer(id: i64, title: &str, tags: &[&str], body: &str, uses: i64) -> Answer {
    let at = (now() - Duration::days(2)).with_timezone(&fixtures::zone());
    Answer {
        id,
        version: 1,
        title: title.into(),
        body: body.into(),
        category: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        valid_from: None,
        valid_until: None,
        retired_at: None,
        updated_at: at,
        updated_by: "sup-chen".into(),
        uses,
    }
}

/// A desk's library as the server lists it, most used first; one answer expired an hour ago.
pub fn library() -> AnswerList {
    let mut dialysis = answer(
        1,
        "透析患者出行通行证",
        &["透析", "通行证"],
        "{requester}您好：{town}的透析患者凭医院预约单到所在村（社区）申请通行证，工单{ref}已登记。",
        12,
    );
    dialysis.version = 3;
    let mut expired = answer(
        5,
        "旧版核酸检测安排",
        &["核酸"],
        "{town}每日上午核酸检测。",
        9,
    );
    expired.valid_until = Some((now() - Duration::hours(1)).with_timezone(&fixtures::zone()));
    AnswerList {
        answers: vec![
            dialysis,
            expired,
            answer(
                2,
                "送药上门的药店",
                &["买药", "药店"],
                "{town}天天大药房、康德大药房可送药上门，电话预约。",
                8,
            ),
            answer(
                3,
                "婴幼儿奶粉供应",
                &["奶粉", "母婴"],
                "{requester}您好：{town}供销社可代购婴幼儿奶粉，次日送达。",
                5,
            ),
            answer(
                4,
                "居家隔离期限",
                &["隔离"],
                "密切接触者居家隔离7天，第1、4、7天各做一次核酸。",
                3,
            ),
        ],
    }
}

/// An operator's console with the library loaded at `now()`, on case 134 (a blue case).
pub fn app(lang: Lang) -> App {
    let mut app = fixtures::app(lang);
    app.update(Action::AnswersLoaded {
        list: library(),
        at: now(),
    });
    app
}

fn editor_focus(app: &App) -> Option<EditorFocus> {
    match &app.mode {
        Mode::Text(f) => f.editor.as_ref().map(|e| e.focus),
        _ => None,
    }
}

fn titles(app: &App, q: &str) -> Vec<String> {
    app.library_items(q)
        .iter()
        .map(|a| a.title.clone())
        .collect()
}

#[test]
fn signing_in_fetches_the_library_for_those_who_answer_and_not_for_departments() {
    let mut operator = fixtures::app(Lang::En);
    let session = |me| {
        Action::SessionLoaded(Box::new(crate::console::action::Session {
            me,
            policy: Default::default(),
            departments: fixtures::departments(),
            catalog: crate::catalog::Catalog::kaihua(),
        }))
    };
    // The fixture signed in already; a reconnect does not fetch again.
    assert!(operator.library.loading);
    assert!(operator.update(session(fixtures::me())).is_empty());
    let mut fresh = App::new(
        crate::console::i18n::I18n::new(Lang::En),
        fixtures::keymap(),
        Default::default(),
        "http://x",
        now(),
    );
    assert_eq!(
        fresh.update(session(fixtures::me())),
        vec![Effect::FetchAnswers { all: false }]
    );
    let mut dept = App::new(
        crate::console::i18n::I18n::new(Lang::En),
        fixtures::keymap(),
        Default::default(),
        "http://x",
        now(),
    );
    assert!(dept.update(session(fixtures::department_user())).is_empty());
    assert_eq!(fixtures::department_user().role, Role::Department);
}

#[test]
fn the_list_matches_title_tags_body_and_pinyin_initials_and_hides_what_may_not_be_sent() {
    let app = app(Lang::En);
    assert_eq!(
        titles(&app, ""),
        vec![
            "透析患者出行通行证",
            "送药上门的药店",
            "婴幼儿奶粉供应",
            "居家隔离期限"
        ]
    );
    assert_eq!(
        titles(&app, "txz"),
        vec!["透析患者出行通行证"],
        "tag 通行证"
    );
    assert_eq!(
        titles(&app, "TXHZ"),
        vec!["透析患者出行通行证"],
        "title initials"
    );
    assert_eq!(titles(&app, "yd"), vec!["送药上门的药店"]);
    assert_eq!(titles(&app, "naifen"), vec!["婴幼儿奶粉供应"]);
    assert_eq!(titles(&app, "供销社"), vec!["婴幼儿奶粉供应"], "body");
    assert!(titles(&app, "核酸检测安排").is_empty(), "expired");
}

#[test]
fn enter_inserts_the_answer_filled_from_the_case_and_the_send_names_it() {
    let mut app = app(Lang::En);
    assert!(
        app.update(key('o')).is_empty(),
        "a fresh library is not fetched again"
    );
    assert_eq!(editor_focus(&app), Some(EditorFocus::List));
    typed(&mut app, "txz");
    app.update(code(KeyCode::Enter));
    assert_eq!(editor_focus(&app), Some(EditorFocus::Text));
    let case = app.cases[&134].clone();
    let expected = crate::answers::fill(&library().answers[0].body, &case);
    assert!(expected.contains(&case.reference));
    let effects = app.update(ctrl('s'));
    let sent = acts(&effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].3,
        CaseAction::AnswerOnline(AnswerBody {
            text: expected,
            answer: Some(AnswerRef { id: 1, version: 3 }),
        })
    );
}

#[test]
fn edited_text_keeps_the_reference_and_freehand_text_has_none() {
    let mut app = app(Lang::En);
    app.update(key('o'));
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Enter));
    typed(&mut app, "（周末照常）");
    let sent = acts(&app.update(ctrl('s')));
    let CaseAction::AnswerOnline(body) = &sent[0].3 else {
        panic!("{sent:?}")
    };
    assert!(
        body.text.ends_with("电话预约。（周末照常）"),
        "{}",
        body.text
    );
    assert_eq!(body.answer, Some(AnswerRef { id: 2, version: 1 }));

    let mut app = self::app(Lang::En);
    app.update(key('o'));
    app.update(code(KeyCode::Tab));
    typed(&mut app, "已电话答复");
    let sent = acts(&app.update(ctrl('s')));
    assert_eq!(
        sent[0].3,
        CaseAction::AnswerOnline(AnswerBody {
            text: "已电话答复".into(),
            answer: None,
        })
    );
}

#[test]
fn tab_moves_between_list_and_text_and_a_paste_goes_where_the_focus_is() {
    let mut app = app(Lang::En);
    app.update(key('o'));
    app.update(Action::Paste("nai".into()));
    let Mode::Text(f) = &app.mode else { panic!() };
    assert_eq!(f.editor.as_ref().unwrap().query.as_str(), "nai");
    assert_eq!(f.text.as_str(), "");
    app.update(code(KeyCode::Tab));
    app.update(Action::Paste("你好".into()));
    app.update(code(KeyCode::BackTab));
    assert_eq!(editor_focus(&app), Some(EditorFocus::List));
    app.update(code(KeyCode::Enter));
    let Mode::Text(f) = &app.mode else { panic!() };
    assert!(
        f.text.as_str().contains("供销社"),
        "Enter replaces the text with the answer"
    );
    // Ctrl-N and Ctrl-P move the choice too; it stays within the list.
    app.update(code(KeyCode::Tab));
    app.update(ctrl('p'));
    app.update(ctrl('n'));
    app.update(ctrl('n'));
    let Mode::Text(f) = &app.mode else { panic!() };
    assert_eq!(
        f.editor.as_ref().unwrap().selected,
        0,
        "one match for \"nai\""
    );
}

#[test]
fn an_old_library_is_fetched_again_and_a_failure_keeps_the_last_list() {
    let mut app = app(Lang::En);
    app.update(Action::Tick(now() + Duration::seconds(61)));
    assert_eq!(
        app.update(key('o')),
        vec![Effect::FetchAnswers { all: false }]
    );
    app.update(Action::AnswersFailed {
        error: ClientError::Unreachable("connection refused".into()),
        at: now() + Duration::seconds(62),
    });
    assert_eq!(app.library_items("").len(), 4, "the last good list stays");
    let error = app.library.error.clone().unwrap();
    assert!(error.contains("connection refused"), "{error}");
    assert!(!app.library.loading);
}

#[test]
fn a_refused_answer_reference_says_why_and_fetches_the_library_again() {
    let mut app = app(Lang::ZhCn);
    app.update(key('o'));
    app.update(code(KeyCode::Enter));
    let sent = acts(&app.update(ctrl('s')));
    let problem = Problem {
        kind: format!("{}validation", crate::wire::PROBLEM_TYPE_BASE),
        title: "Invalid request".into(),
        status: 422,
        detail: "answer: library answer 1 is at version 4, not 3".into(),
        errors: vec![FieldError {
            field: "answer".into(),
            message: "library answer 1 is at version 4, not 3; insert it again".into(),
        }],
        current: None,
        current_department: None,
    };
    let effects = app.update(Action::ActionFailed {
        request: sent[0].0,
        error: ClientError::Api(Box::new(problem)),
    });
    assert!(effects.contains(&Effect::FetchAnswers { all: false }));
    let Mode::Text(f) = &app.mode else {
        panic!("the form stays open")
    };
    let error = f.error.clone().unwrap();
    assert!(error.contains("所选答复已修改、停用或过期"), "{error}");
}

/// A supervisor's console with the library panel open and loaded.
pub fn supervisor_library(lang: Lang) -> App {
    let mut app = fixtures::supervisor_app(lang);
    let effects = app.update(key('L'));
    assert_eq!(effects, vec![Effect::FetchAnswers { all: true }]);
    app.update(Action::AnswersLoaded {
        list: library(),
        at: now(),
    });
    app
}

/// Two cases answered with the dialysis answer, one with the version before the current.
pub fn follow_up() -> crate::wire::AnswerCases {
    let at = |m: i64| (now() - Duration::minutes(m)).with_timezone(&fixtures::zone());
    crate::wire::AnswerCases {
        answer_id: 1,
        days: 7,
        cases: vec![
            crate::wire::AnswerUse {
                case_id: 119,
                reference: "KH-20220508-0119".into(),
                title: "透析出行".into(),
                version: 3,
                answered_at: at(30),
                answered_by: "op-li".into(),
            },
            crate::wire::AnswerUse {
                case_id: 88,
                reference: "KH-20220506-0088".into(),
                title: "血透病人如何出村".into(),
                version: 2,
                answered_at: at(60 * 40),
                answered_by: "op-zhao".into(),
            },
        ],
    }
}

#[test]
fn a_supervisor_retires_an_answer_only_after_confirming_and_lists_the_cases_answered_with_it() {
    let mut app = supervisor_library(Lang::En);
    assert!(app.update(key('R')).is_empty(), "R asks first");
    assert!(
        app.update(code(KeyCode::Esc)).is_empty(),
        "Esc keeps the answer"
    );
    assert!(matches!(&app.mode, Mode::Library(p) if !p.confirm_retire));
    app.update(key('R'));
    let effects = app.update(code(KeyCode::Enter));
    let [Effect::RetireAnswer { id: 1, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let mut retired = library().answers[0].clone();
    retired.retired_at = Some(now().with_timezone(&fixtures::zone()));
    app.update(Action::AnswerRetired(Box::new(retired)));
    assert!(app.library.answers[0].retired_at.is_some());
    assert!(
        app.library_items("").iter().all(|a| a.id != 1),
        "no longer offered"
    );
    assert!(app.update(key('R')).is_empty());
    assert!(
        matches!(&app.mode, Mode::Library(p) if !p.confirm_retire),
        "a retired answer is not retired twice"
    );
    assert_eq!(
        app.update(key('c')),
        vec![Effect::FetchAnswerCases { id: 1, days: 7 }]
    );
    app.update(Action::AnswerCasesLoaded(follow_up()));
    let Mode::Library(p) = &app.mode else {
        panic!()
    };
    assert!(
        matches!(&p.follow_up, Some(crate::console::app::FollowUp::Loaded(c)) if c.cases.len() == 2)
    );
    app.update(code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn operators_have_no_library_panel() {
    let mut app = app(Lang::En);
    assert!(app.update(key('L')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("not available"))
    );
}

/// The form of the open library panel.
fn form(app: &App) -> &crate::console::app::AnswerForm {
    match &app.mode {
        Mode::Library(p) => p.form.as_ref().expect("the form is open"),
        m => panic!("{m:?}"),
    }
}

#[test]
fn a_supervisor_writes_a_new_answer_by_keys_and_the_library_shows_it_once_saved() {
    let mut app = supervisor_library(Lang::ZhCn);
    assert!(app.update(key('n')).is_empty());
    typed(&mut app, "孕产妇就医绿色通道");
    app.update(code(KeyCode::Tab));
    typed(&mut app, "jyzy");
    app.update(code(KeyCode::Tab));
    assert_eq!(form(&app).category.as_deref(), Some("medical_transport"));
    typed(&mut app, "孕妇，就医、绿色通道 孕妇");
    app.update(code(KeyCode::Tab));
    typed(&mut app, "2022-06-30");
    app.update(code(KeyCode::Tab));
    typed(&mut app, "{requester}您好：{town}孕产妇可走绿色通道。");
    let effects = app.update(ctrl('s'));
    let [
        Effect::SaveAnswer {
            editing: None,
            new,
            idempotency_key,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert!(!idempotency_key.is_empty());
    assert_eq!(new.title, "孕产妇就医绿色通道");
    assert_eq!(new.category.as_deref(), Some("medical_transport"));
    assert_eq!(new.tags, vec!["孕妇", "就医", "绿色通道"]);
    assert_eq!(
        new.valid_until.map(|u| u.to_rfc3339()),
        Some("2022-06-30T00:00:00+08:00".into())
    );
    assert_eq!(new.body, "{requester}您好：{town}孕产妇可走绿色通道。");
    assert!(form(&app).sending);
    assert!(
        app.update(key('x')).is_empty(),
        "no second send while one is out"
    );

    let mut saved = answer(9, &new.title, &["孕妇"], &new.body, 0);
    saved.category = new.category.clone();
    app.update(Action::AnswerSaved(Box::new(saved)));
    let Mode::Library(p) = &app.mode else {
        panic!()
    };
    assert!(p.form.is_none(), "saved: the form closes");
    assert_eq!(app.library_selected(p).map(|a| a.id), Some(9));
}

#[test]
fn editing_an_answer_starts_from_it_and_sends_the_version_it_was_read_at() {
    let mut app = supervisor_library(Lang::En);
    app.update(key('e'));
    let f = form(&app);
    assert_eq!(f.editing, Some((1, 3)));
    assert_eq!(
        f.fields[crate::console::app::A_TAGS].as_str(),
        "透析, 通行证"
    );
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    typed(&mut app, "请致电 12345。");
    let effects = app.update(ctrl('s'));
    let [
        Effect::SaveAnswer {
            editing: Some((1, 3)),
            new,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert!(new.body.ends_with("工单{ref}已登记。请致电 12345。"));
    assert_eq!(new.tags, vec!["透析", "通行证"]);
}

#[test]
fn the_form_refuses_what_the_server_would_and_keeps_what_was_typed() {
    let mut app = supervisor_library(Lang::En);
    app.update(key('n'));
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    typed(&mut app, "next tuesday");
    app.update(code(KeyCode::Tab));
    typed(&mut app, "Dear {name}");
    assert!(app.update(ctrl('s')).is_empty(), "nothing is sent");
    let f = form(&app);
    use crate::console::app::{A_BODY, A_TITLE, A_UNTIL};
    assert_eq!(f.errors.get(&A_TITLE).map(String::as_str), Some("required"));
    assert!(f.errors[&A_UNTIL].contains("2026-12-31"));
    assert!(f.errors[&A_BODY].contains("{name}"), "{:?}", f.errors);
    assert_eq!(f.focus, A_TITLE, "the first wrong field has the cursor");
    assert_eq!(f.fields[A_BODY].as_str(), "Dear {name}");

    // What only the server knows comes back on the field it names.
    typed(&mut app, "Passes");
    for _ in 0..3 {
        app.update(code(KeyCode::Tab));
    }
    for _ in 0.."next tuesday".len() {
        app.update(code(KeyCode::Backspace));
    }
    app.update(code(KeyCode::Tab));
    for _ in 0.."{name}".len() {
        app.update(code(KeyCode::Backspace));
    }
    typed(&mut app, "{requester}");
    assert_eq!(app.update(ctrl('s')).len(), 1);
    let problem = Problem {
        kind: format!("{}validation", crate::wire::PROBLEM_TYPE_BASE),
        title: "Unprocessable".into(),
        status: 422,
        detail: "body is too long".into(),
        errors: vec![FieldError {
            field: "body".into(),
            message: "at most 4000 characters".into(),
        }],
        current: None,
        current_department: None,
    };
    app.update(Action::AnswerSaveFailed {
        error: ClientError::Api(Box::new(problem)),
    });
    let f = form(&app);
    assert!(!f.sending);
    assert_eq!(
        f.errors.get(&A_BODY).map(String::as_str),
        Some("at most 4000 characters")
    );
    assert_eq!(f.fields[A_TITLE].as_str(), "Passes");
}
