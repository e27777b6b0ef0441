//! The policy answer library through real HTTP: versions, validity windows, retirement, the
//! answer a case was answered with, the follow-up list, roles, and bad input.

mod common;

use chrono::{Duration, FixedOffset};
use common::spawn_app;
use common::{TestApp, checks};
use jieyou::client::{Client, ClientError, new_idempotency_key};
use jieyou::wire::{
    Answer, AnswerBody, AnswerRef, CaseAction, CaseDetail, NewAnswer, Problem, Timestamp,
};
use reqwest::{Method, StatusCode};

fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Api(p) => *p,
        other => panic!("expected a problem answer, got {other:?}"),
    }
}

fn fields(p: &Problem) -> Vec<&str> {
    p.errors.iter().map(|e| e.field.as_str()).collect()
}

fn new_answer(title: &str, body: &str, tags: &[&str]) -> NewAnswer {
    NewAnswer {
        title: title.into(),
        body: body.into(),
        category: Some("medical_transport".into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        valid_from: None,
        valid_until: None,
    }
}

fn kaihua(minutes_from_start: i64) -> Timestamp {
    (common::start_time() + Duration::minutes(minutes_from_start))
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
}

const DIALYSIS: &str =
    "{requester}您好：{town}的透析患者凭医院预约单可申请透析专用通行证，由所在村（社区）代办。";

async fn add(app: &TestApp, new: &NewAnswer) -> Answer {
    app.supervisor
        .create_answer(new, &new_idempotency_key())
        .await
        .expect("answer created")
}

async fn answer_with(
    app: &TestApp,
    who: &Client,
    case: &CaseDetail,
    text: &str,
    answer: Option<AnswerRef>,
) -> Result<CaseDetail, ClientError> {
    app.act(
        who,
        case,
        CaseAction::AnswerOnline(AnswerBody {
            text: text.into(),
            answer,
        }),
    )
    .await
}

fn reference(a: &Answer) -> Option<AnswerRef> {
    Some(AnswerRef {
        id: a.id,
        version: a.version,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_keeps_the_old_version_and_each_case_keeps_the_version_it_was_answered_with() {
    let app = spawn_app().await;
    let v1 = add(
        &app,
        &new_answer("透析通行证", DIALYSIS, &["透析", "通行证"]),
    )
    .await;
    assert_eq!(v1.version, 1);
    let first = app.create("透析出行").await;
    answer_with(&app, &app.operator, &first, "v1 的答复", reference(&v1))
        .await
        .unwrap();

    let mut edit = new_answer(
        "透析通行证",
        "{requester}您好：通行证改由镇卫生院直接办理。",
        &["透析"],
    );
    edit.valid_until = Some(kaihua(60 * 24 * 30));
    let v2 = app.supervisor.update_answer(v1.id, 1, &edit).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.body, edit.body);

    let detail = app.operator.answer(v1.id).await.unwrap();
    let versions: Vec<(i64, &str)> = detail
        .versions
        .iter()
        .map(|v| (v.version, v.body.as_str()))
        .collect();
    assert_eq!(versions, vec![(2, edit.body.as_str()), (1, DIALYSIS)]);
    assert_eq!(detail.versions[1].tags, vec!["透析", "通行证"]);

    let second = app.create("透析出行又问").await;
    let done = answer_with(&app, &app.operator, &second, "v2 的答复", reference(&v2))
        .await
        .unwrap();
    let event = done.events.last().unwrap();
    assert_eq!(event.action, "answer-online");
    assert_eq!(
        event.payload["answer"],
        serde_json::json!({"id": v1.id, "version": 2})
    );
    assert_eq!(event.payload["text"], "v2 的答复");

    let used = app.supervisor.answer_cases(v1.id, 7).await.unwrap();
    let by_case: Vec<(i64, i64)> = used.cases.iter().map(|u| (u.case_id, u.version)).collect();
    assert_eq!(by_case, vec![(second.case.id, 2), (first.case.id, 1)]);
    assert_eq!(app.operator.answer(v1.id).await.unwrap().answer.uses, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_superseded_version_is_refused_naming_answer_and_nothing_is_written() {
    let app = spawn_app().await;
    let v1 = add(&app, &new_answer("透析通行证", DIALYSIS, &[])).await;
    app.supervisor
        .update_answer(
            v1.id,
            1,
            &new_answer("透析通行证", "已改为镇卫生院办理。", &[]),
        )
        .await
        .unwrap();
    let case = app.create("透析出行").await;
    let p = problem(
        answer_with(&app, &app.operator, &case, "旧答复", reference(&v1))
            .await
            .unwrap_err(),
    );
    assert_eq!((p.status, fields(&p)), (422, vec!["answer"]));
    let now = app.operator.case(case.case.id).await.unwrap();
    assert_eq!(now.case.version, case.case.version);
    assert!(
        app.supervisor
            .answer_cases(v1.id, 7)
            .await
            .unwrap()
            .cases
            .is_empty()
    );
    // Without a library answer the operator answers freehand, as before.
    answer_with(&app, &app.operator, &case, "已电话答复", None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_not_yet_valid_and_retired_answers_are_refused_and_hidden_from_search() {
    let app = spawn_app().await;
    let mut expired = new_answer("封控区核酸", "{town}封控区每日一检。", &["核酸"]);
    expired.valid_from = Some(kaihua(-60 * 24));
    expired.valid_until = Some(kaihua(60));
    let expired = add(&app, &expired).await;
    let mut later = new_answer("解封后出行", "{town}解封后凭绿码出行。", &["出行"]);
    later.valid_from = Some(kaihua(60 * 24));
    let later = add(&app, &later).await;
    let retired = add(
        &app,
        &new_answer("旧药店名单", "以下药店可送药上门。", &["药店"]),
    )
    .await;
    let current = add(&app, &new_answer("透析通行证", DIALYSIS, &["透析"])).await;
    app.supervisor
        .retire_answer(retired.id, &new_idempotency_key())
        .await
        .unwrap();

    // Before `expired` runs out it is offered; an hour later it is not.
    let titles = |list: Vec<Answer>| list.into_iter().map(|a| a.title).collect::<Vec<_>>();
    let mut before = titles(app.operator.answers(false).await.unwrap().answers);
    before.sort();
    assert_eq!(before, vec!["封控区核酸", "透析通行证"]);
    app.advance(61);
    assert_eq!(
        titles(app.operator.answers(false).await.unwrap().answers),
        vec!["透析通行证"]
    );
    let all = app.supervisor.answers(true).await.unwrap().answers;
    assert_eq!(all.len(), 4);
    assert!(
        all.iter()
            .any(|a| a.id == retired.id && a.retired_at.is_some())
    );

    let case = app.create("封控区核酸").await;
    for a in [&expired, &later, &retired] {
        let p = problem(
            answer_with(&app, &app.operator, &case, "答复", reference(a))
                .await
                .unwrap_err(),
        );
        assert_eq!((p.status, fields(&p)), (422, vec!["answer"]), "{}", a.title);
    }
    let p = problem(
        answer_with(
            &app,
            &app.operator,
            &case,
            "答复",
            Some(AnswerRef {
                id: 999,
                version: 1,
            }),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(fields(&p), vec!["answer"]);
    answer_with(&app, &app.operator, &case, "答复", reference(&current))
        .await
        .unwrap();
    // A retired answer cannot be edited back to life.
    let p = problem(
        app.supervisor
            .update_answer(retired.id, 1, &new_answer("旧药店名单", "新名单", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(p.status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_matches_title_tags_and_body_and_lists_the_most_used_first() {
    let app = spawn_app().await;
    let pass = add(
        &app,
        &new_answer("通行证办理", "到村委会申请。", &["通行证"]),
    )
    .await;
    let milk = add(
        &app,
        &new_answer("婴幼儿奶粉", "{town}供销社可代购奶粉。", &["母婴"]),
    )
    .await;
    let pharmacy = add(
        &app,
        &new_answer("送药上门", "华埠镇天天大药房可送药。", &["Pharmacy"]),
    )
    .await;
    for title in ["奶粉1", "奶粉2"] {
        let c = app.create(title).await;
        answer_with(&app, &app.operator, &c, "奶粉答复", reference(&milk))
            .await
            .unwrap();
    }
    let c = app.create("药").await;
    answer_with(&app, &app.operator, &c, "药答复", reference(&pharmacy))
        .await
        .unwrap();
    let ids = |list: Vec<Answer>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(app.operator.answers(false).await.unwrap().answers),
        vec![milk.id, pharmacy.id, pass.id]
    );
    assert_eq!(
        ids(app.intake.search_answers("母婴").await.unwrap().answers),
        vec![milk.id]
    );
    assert_eq!(
        ids(app.intake.search_answers("pharmacy").await.unwrap().answers),
        vec![pharmacy.id]
    );
    assert_eq!(
        ids(app.intake.search_answers("村委会").await.unwrap().answers),
        vec![pass.id]
    );
    let list: jieyou::wire::AnswerList = app
        .operator
        .get_json("/api/v1/answers?category=water_supply")
        .await
        .unwrap();
    assert!(list.answers.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_follow_up_list_covers_the_last_n_days() {
    let app = spawn_app().await;
    let a = add(&app, &new_answer("透析通行证", DIALYSIS, &[])).await;
    let old = app.create("十天前的透析件").await;
    answer_with(&app, &app.operator, &old, "答复", reference(&a))
        .await
        .unwrap();
    app.clock.set(checks::t(60 * 24 * 10));
    let recent = app.create("今天的透析件").await;
    answer_with(&app, &app.operator, &recent, "答复", reference(&a))
        .await
        .unwrap();
    let week = app.supervisor.answer_cases(a.id, 7).await.unwrap();
    assert_eq!((week.answer_id, week.days), (a.id, 7));
    let refs: Vec<&str> = week.cases.iter().map(|u| u.reference.as_str()).collect();
    assert_eq!(refs, vec![recent.case.reference.as_str()]);
    assert_eq!(week.cases[0].answered_by, "op-li");
    let month = app.supervisor.answer_cases(a.id, 30).await.unwrap();
    assert_eq!(month.cases.len(), 2);
    for bad in ["0", "91", "x"] {
        let (status, ctype, body) = app
            .supervisor
            .raw(
                Method::GET,
                &format!("/api/v1/answers/{}/cases?days={bad}", a.id),
                &[],
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(ctype, "application/problem+json");
        let p: Problem = serde_json::from_slice(&body).unwrap();
        assert_eq!(fields(&p), vec!["days"]);
    }
    let p = problem(app.supervisor.answer_cases(999, 7).await.unwrap_err());
    assert_eq!(p.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn desk_staff_read_the_library_and_only_supervisors_and_admins_write_it() {
    let app = spawn_app().await;
    let a = add(&app, &new_answer("透析通行证", DIALYSIS, &[])).await;
    app.admin
        .create_answer(
            &new_answer("奶粉", "供销社代购。", &[]),
            &new_idempotency_key(),
        )
        .await
        .unwrap();
    for reader in [
        &app.intake,
        &app.operator,
        &app.supervisor,
        &app.observer,
        &app.admin,
    ] {
        assert_eq!(reader.answers(false).await.unwrap().answers.len(), 2);
        reader.answer(a.id).await.unwrap();
    }
    for who in [&app.dept_a] {
        assert_eq!(problem(who.answers(false).await.unwrap_err()).status, 403);
        assert_eq!(problem(who.answer(a.id).await.unwrap_err()).status, 403);
        assert_eq!(
            problem(who.answer_cases(a.id, 7).await.unwrap_err()).status,
            403
        );
    }
    assert_eq!(
        problem(app.intake.answer_cases(a.id, 7).await.unwrap_err()).status,
        403
    );
    app.operator.answer_cases(a.id, 7).await.unwrap();
    let edit = new_answer("透析通行证", "改了", &[]);
    for writer in [&app.intake, &app.operator, &app.observer, &app.dept_a] {
        let key = new_idempotency_key();
        assert_eq!(
            problem(writer.create_answer(&edit, &key).await.unwrap_err()).status,
            403
        );
        assert_eq!(
            problem(writer.update_answer(a.id, 1, &edit).await.unwrap_err()).status,
            403
        );
        assert_eq!(
            problem(writer.retire_answer(a.id, &key).await.unwrap_err()).status,
            403
        );
    }
    let detail = app.operator.answer(a.id).await.unwrap();
    assert_eq!((detail.answer.version, detail.answer.retired_at), (1, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_answers_are_refused_naming_each_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut bad = new_answer(" ", "{requestor}您好", &["ok", "坏\u{202e}标签"]);
    bad.category = Some("no_such_category".into());
    bad.valid_from = Some(kaihua(60));
    bad.valid_until = Some(kaihua(0));
    let p = problem(
        app.supervisor
            .create_answer(&bad, &new_idempotency_key())
            .await
            .unwrap_err(),
    );
    assert_eq!(p.status, 422);
    assert_eq!(
        fields(&p),
        vec!["title", "body", "category", "tags[1]", "valid_until"]
    );
    assert!(p.errors[1].message.contains("{requestor}"));
    assert!(
        app.supervisor
            .answers(true)
            .await
            .unwrap()
            .answers
            .is_empty()
    );

    for (body, field) in [
        (
            r#"{"title":"t","body":"b","valid_from":"yesterday"}"#,
            "valid_from",
        ),
        (r#"{"title":"t","body":"b","colour":"red"}"#, "colour"),
        (r#"{"body":"b"}"#, "title"),
    ] {
        let (status, ctype, bytes) = send(
            &app.supervisor,
            Method::POST,
            "/api/v1/answers",
            &[],
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(ctype, "application/problem+json");
        let p: Problem = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(fields(&p), vec![field], "{body}");
    }

    let a = add(&app, &new_answer("透析通行证", DIALYSIS, &[])).await;
    let edit = serde_json::to_vec(&new_answer("透析通行证", "改了", &[])).unwrap();
    let path = format!("/api/v1/answers/{}", a.id);
    let (status, ..) = send(&app.supervisor, Method::PUT, &path, &[], &edit).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    let (status, _, body) = send(
        &app.supervisor,
        Method::PUT,
        &path,
        &[("if-match", "\"7\"")],
        &edit,
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let p: Problem = serde_json::from_slice(&body).unwrap();
    assert!(p.kind.ends_with("/stale-version"), "{}", p.kind);
    let (status, ..) = send(
        &app.supervisor,
        Method::PUT,
        &path,
        &[("if-match", "W/\"1\"")],
        &edit,
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.operator.answer(a.id).await.unwrap().versions.len(), 1);
    let (status, ..) = app
        .supervisor
        .raw(Method::GET, "/api/v1/answers/abc", &[], vec![])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A JSON request as sent by hand: status, content type and body.
async fn send(
    who: &Client,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (StatusCode, String, Vec<u8>) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    who.raw(method, path, &all, body.to_vec()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_states_the_librarys_bounds() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.observer.get_json("/api/v1/openapi.json").await.unwrap();
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]["anyOf"][0]
            .clone()
    };
    let days = param("/api/v1/answers/{id}/cases", "days");
    assert_eq!(
        (days["minimum"].clone(), days["maximum"].clone()),
        (1.into(), 90.into())
    );
    assert_eq!(param("/api/v1/answers", "q")["maxLength"], 200);
    assert_eq!(
        param("/api/v1/answers", "category")["pattern"],
        "^[a-z0-9_]{1,64}$"
    );
    let new = &doc["components"]["schemas"]["NewAnswer"]["properties"];
    assert_eq!(new["title"]["maxLength"], 100);
    assert_eq!(new["tags"]["maxItems"], 12);
    let put = &doc["paths"]["/api/v1/answers/{id}"]["put"]["responses"];
    for status in ["401", "409", "412", "422", "428"] {
        assert!(
            put[status]["content"]
                .get("application/problem+json")
                .is_some(),
            "{status}"
        );
    }
    for path in ["/api/v1/answers/{id}/retire", "/api/v1/answers"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
}
