//! Similar-request groups over real HTTP: which new cases the server groups, answering a group
//! (once per case, idempotently, a stale case not blocking the others) and merging duplicates.

mod common;

use common::{TestApp, actions, new_case, spawn_app};
use jieyou::client::{ClientError, new_idempotency_key};
use jieyou::wire::{
    CaseDetail, CaseVersion, GroupAnswerBody, GroupMergeBody, NewCase, Problem, Requester, Status,
};

fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Api(p) => *p,
        other => panic!("expected a problem answer, got {other:?}"),
    }
}

fn call(phone: &str, town: &str, category: &str, title: &str, text: &str) -> NewCase {
    let mut c = new_case(title);
    c.requester = Requester {
        name: format!("来电人{}", &phone[phone.len() - 4..]),
        phone: phone.into(),
    };
    c.location.town = town.into();
    c.location.address = String::new();
    c.category = category.into();
    c.description = text.into();
    c
}

async fn create(app: &TestApp, new: &NewCase) -> CaseDetail {
    app.intake
        .create_case(new, &new_idempotency_key())
        .await
        .expect("case created")
}

/// Three villagers of 金星村 asking where to get a pass, in their own words.
async fn pass_questions(app: &TestApp) -> Vec<CaseDetail> {
    let mut cases = vec![];
    for (phone, title, text) in [
        (
            "13819044037",
            "出村通行证怎么办理",
            "芹阳办事处金星村，我要去县城上班，出村通行证去哪里办？",
        ),
        (
            "13757045038",
            "金星村通行证在哪里办",
            "请问金星村出村通行证去哪里办理？我要去县城上班。",
        ),
        (
            "15858046039",
            "上班需要出村通行证",
            "我是金星村的，在县城上班，出村通行证到哪里办理，需要带什么？",
        ),
    ] {
        let new = call(phone, "芹阳办事处", "travel_permit", title, text);
        cases.push(create(app, &new).await);
    }
    cases
}

fn versions(cases: &[CaseDetail]) -> Vec<CaseVersion> {
    cases
        .iter()
        .map(|c| CaseVersion {
            id: c.case.id,
            version: c.case.version,
        })
        .collect()
}

async fn events_named(app: &TestApp, id: i64, action: &str) -> Vec<serde_json::Value> {
    app.operator
        .case(id)
        .await
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| e.payload)
        .collect()
}

#[tokio::test]
async fn the_same_caller_about_the_same_need_is_grouped_under_the_first_case() {
    let app = spawn_app().await;
    let first = create(
        &app,
        &call(
            "13905701101",
            "马金镇",
            "medical_transport",
            "父亲透析需要转运",
            "我父亲78岁尿毒症，每周要去县医院血透，下庄村封控出不去。",
        ),
    )
    .await;
    let again = create(
        &app,
        &call(
            "13905701101",
            "马金镇",
            "medical_transport",
            "再次求助：车还没安排",
            "上午打过电话，明天要去医院，还没有消息。",
        ),
    )
    .await;
    // The same caller about something else is another request.
    let other = create(
        &app,
        &call(
            "13905701101",
            "马金镇",
            "supplies",
            "家里米吃完了",
            "封控买不到米。",
        ),
    )
    .await;
    assert_eq!(first.case.group, None, "the anchor is not changed");
    assert_eq!(again.case.group, Some(first.case.id));
    assert_eq!(other.case.group, None);
    // The anchor's version did not move when the member arrived.
    assert_eq!(
        app.operator.case(first.case.id).await.unwrap().case.version,
        1
    );
    let groups = app.operator.groups().await.unwrap().groups;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].anchor, first.case.id);
    assert_eq!(groups[0].count, 2);
    assert_eq!(
        groups[0].cases,
        versions(&[first.clone(), again.clone()]),
        "oldest first, with their versions"
    );
}

#[tokio::test]
async fn the_same_question_reworded_in_one_town_groups_and_a_different_one_stays_apart() {
    let app = spawn_app().await;
    let cases = pass_questions(&app).await;
    let anchor = cases[0].case.id;
    assert_eq!(cases[1].case.group, Some(anchor));
    assert_eq!(cases[2].case.group, Some(anchor));
    // Same town and topic, another need: renewing an expired pass.
    let renew = create(
        &app,
        &call(
            "13905748041",
            "芹阳办事处",
            "travel_permit",
            "通行证过期了怎么续",
            "芹阳办事处的通行证昨天到期了，还要继续去医院陪护，怎么续办？",
        ),
    )
    .await;
    assert_eq!(renew.case.group, None);
    // The same words from another town are another village's question.
    let elsewhere = create(
        &app,
        &call(
            "13819053047",
            "马金镇",
            "travel_permit",
            "出村通行证怎么办理",
            "我要去县城上班，出村通行证去哪里办？",
        ),
    )
    .await;
    assert_eq!(elsewhere.case.group, None);
    // A case that has left the queue is no longer grouped with.
    app.act(
        &app.operator,
        &cases[0],
        actions::triage(jieyou::wire::Tier::Blue),
    )
    .await
    .unwrap();
    app.act(
        &app.operator,
        &cases[1],
        actions::triage(jieyou::wire::Tier::Blue),
    )
    .await
    .unwrap();
    app.act(
        &app.operator,
        &cases[2],
        actions::triage(jieyou::wire::Tier::Blue),
    )
    .await
    .unwrap();
    let late = create(
        &app,
        &call(
            "13567047040",
            "芹阳办事处",
            "travel_permit",
            "通行证办理地点",
            "金星村村民，要去县城上班，出村通行证在什么地方办？",
        ),
    )
    .await;
    assert_eq!(late.case.group, None);
    assert!(app.operator.groups().await.unwrap().groups.is_empty());
}

#[tokio::test]
async fn answering_a_group_answers_each_case_once_with_its_own_filled_reply() {
    let app = spawn_app().await;
    let cases = pass_questions(&app).await;
    let body = GroupAnswerBody {
        cases: versions(&cases),
        text: "{requester}您好：{town}出村通行证请到村委会办理，带身份证（{ref}）。".into(),
        answer: None,
    };
    let key = new_idempotency_key();
    let first = app.operator.answer_group(&body, &key).await.unwrap();
    assert_eq!((first.done, first.failed), (3, 0));
    for (c, r) in cases.iter().zip(&first.results) {
        assert_eq!(r.id, c.case.id);
        assert_eq!(r.status, 200);
        let answered = r.case.as_ref().expect("the answered case");
        assert_eq!(answered.case.status, Status::Resolved);
        let events = events_named(&app, c.case.id, "answer-online").await;
        assert_eq!(events.len(), 1, "one event on case {}", c.case.id);
        assert_eq!(
            events[0]["text"],
            format!(
                "{}您好：芹阳办事处出村通行证请到村委会办理，带身份证（{}）。",
                c.case.requester.name, c.case.reference
            )
        );
    }
    // The same request again (a retry after a lost answer): the same results, no new event.
    let retried = app.operator.answer_group(&body, &key).await.unwrap();
    assert_eq!(retried, first);
    for c in &cases {
        assert_eq!(
            events_named(&app, c.case.id, "answer-online").await.len(),
            1
        );
    }
    // The key names this request: another text under it is refused for each case.
    let other = GroupAnswerBody {
        text: "另一段答复".into(),
        ..body
    };
    let refused = app.operator.answer_group(&other, &key).await.unwrap();
    assert_eq!(refused.done, 0);
    assert!(refused.results.iter().all(|r| r.status == 422));
}

#[tokio::test]
async fn a_case_changed_meanwhile_does_not_block_the_others() {
    let app = spawn_app().await;
    let cases = pass_questions(&app).await;
    app.act(&app.operator2, &cases[1], actions::note("回电未接通"))
        .await
        .unwrap();
    let body = GroupAnswerBody {
        cases: versions(&cases),
        text: "出村通行证请到村委会办理。".into(),
        answer: None,
    };
    let outcome = app
        .operator
        .answer_group(&body, &new_idempotency_key())
        .await
        .unwrap();
    assert_eq!((outcome.done, outcome.failed), (2, 1));
    let stale = &outcome.results[1];
    assert_eq!(stale.status, 412);
    let p = stale.problem.as_ref().expect("the problem of that case");
    assert!(p.kind.ends_with("/stale-version"), "{}", p.kind);
    assert_eq!(p.current.as_ref().unwrap().case.version, 2);
    assert!(
        events_named(&app, cases[1].case.id, "answer-online")
            .await
            .is_empty()
    );
    for i in [0, 2] {
        assert_eq!(outcome.results[i].status, 200);
        assert_eq!(
            events_named(&app, cases[i].case.id, "answer-online")
                .await
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn merging_duplicates_closes_each_into_the_kept_case_and_records_it_on_both() {
    let app = spawn_app().await;
    let cases = pass_questions(&app).await;
    let keep = cases[0].case.id;
    let body = GroupMergeBody {
        into: keep,
        cases: versions(&cases[1..]),
        note: Some("同一问题".into()),
    };
    let key = new_idempotency_key();
    let outcome = app.operator.merge_group(&body, &key).await.unwrap();
    assert_eq!((outcome.done, outcome.failed), (2, 0));
    for c in &cases[1..] {
        let now = app.operator.case(c.case.id).await.unwrap().case;
        assert_eq!(now.status, Status::Closed);
        assert_eq!(now.merged_into, Some(keep));
        let merged = events_named(&app, c.case.id, "merge").await;
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0]["into"], keep);
    }
    let merged_in = events_named(&app, keep, "merged-in").await;
    let from: Vec<i64> = merged_in
        .iter()
        .map(|p| p["duplicate"].as_i64().unwrap())
        .collect();
    assert_eq!(from, vec![cases[1].case.id, cases[2].case.id]);
    // Retried: nothing merged twice.
    let retried = app.operator.merge_group(&body, &key).await.unwrap();
    assert_eq!(retried, outcome);
    assert_eq!(events_named(&app, keep, "merged-in").await.len(), 2);
}

#[tokio::test]
async fn group_requests_that_cannot_be_right_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let cases = pass_questions(&app).await;
    let answer = |cases: Vec<CaseVersion>, text: &str| GroupAnswerBody {
        cases,
        text: text.into(),
        answer: None,
    };
    let key = new_idempotency_key();
    for (body, field) in [
        (answer(vec![], "好的"), "cases"),
        (
            answer(vec![versions(&cases)[0], versions(&cases)[0]], "好的"),
            "cases",
        ),
        (answer(versions(&cases), "  "), "text"),
        (answer(versions(&cases), "{requestor}您好"), "text"),
    ] {
        let p = problem(app.operator.answer_group(&body, &key).await.unwrap_err());
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, field);
    }
    let p = problem(
        app.observer
            .answer_group(&answer(versions(&cases), "好的"), &key)
            .await
            .unwrap_err(),
    );
    assert_eq!(p.status, 403);
    let merge = |into: i64| GroupMergeBody {
        into,
        cases: versions(&cases[1..]),
        note: None,
    };
    let p = problem(
        app.operator
            .merge_group(&merge(cases[1].case.id), &key)
            .await
            .unwrap_err(),
    );
    assert_eq!((p.status, p.errors[0].field.as_str()), (422, "cases"));
    let p = problem(
        app.operator
            .merge_group(&merge(999_999), &key)
            .await
            .unwrap_err(),
    );
    assert_eq!((p.status, p.errors[0].field.as_str()), (422, "into"));
    // Nothing was acted on.
    for c in &cases {
        assert_eq!(app.operator.case(c.case.id).await.unwrap().case.version, 1);
    }
    let doc = app
        .observer
        .get_json::<serde_json::Value>("/api/v1/openapi.json")
        .await
        .unwrap();
    for path in ["/api/v1/groups/answer", "/api/v1/groups/merge"] {
        assert!(doc["paths"][path]["post"]["responses"]["422"].is_object());
    }
    assert!(doc["paths"]["/api/v1/groups"]["get"].is_object());
}
