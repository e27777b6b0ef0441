//! What hotline intake needs from the central request API, through real HTTP: the catalog of
//! categories and towns, refusal of anything outside it, and looking a caller up by phone or
//! by name.

mod common;

use common::{new_case, spawn_app};
use jieyou::client::{ClientError, ListQuery, new_idempotency_key};
use jieyou::wire::{NewCase, Problem, Requester};

fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Api(p) => *p,
        other => panic!("expected a problem answer, got {other:?}"),
    }
}

fn call(title: &str, name: &str, phone: &str) -> NewCase {
    let mut c = new_case(title);
    c.requester = Requester {
        name: name.into(),
        phone: phone.into(),
    };
    c
}

#[tokio::test]
async fn categories_and_towns_are_served_with_their_labels() {
    let app = spawn_app().await;
    let categories = app.intake.categories().await.unwrap();
    let medical = categories
        .iter()
        .find(|c| c.code == "medical_transport")
        .expect("the Kaihua categories by default");
    assert_eq!(medical.label, "就医转运");
    assert_eq!(medical.label_en, "Medical transport");
    assert_eq!(categories.len(), 9);
    let towns = app.operator.towns().await.unwrap();
    assert_eq!(towns.len(), 15);
    assert!(
        towns
            .iter()
            .any(|t| t.code == "马金镇" && t.label == "马金镇")
    );
    let doc = app
        .observer
        .get_json::<serde_json::Value>("/api/v1/openapi.json")
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/categories"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/towns"]["get"].is_object());
}

#[tokio::test]
async fn a_category_or_town_outside_the_catalog_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let mut c = new_case("询问返乡隔离政策");
    c.category = "general".into();
    let p = problem(
        app.intake
            .create_case(&c, &new_idempotency_key())
            .await
            .unwrap_err(),
    );
    assert_eq!(p.status, 422);
    assert_eq!(
        p.errors
            .iter()
            .map(|e| e.field.as_str())
            .collect::<Vec<_>>(),
        ["category"]
    );
    let mut c = new_case("询问返乡隔离政策");
    c.location.town = "马金".into();
    let p = problem(
        app.intake
            .create_case(&c, &new_idempotency_key())
            .await
            .unwrap_err(),
    );
    assert_eq!(p.status, 422);
    assert_eq!(
        p.errors
            .iter()
            .map(|e| e.field.as_str())
            .collect::<Vec<_>>(),
        ["location.town"]
    );
    let list = app.operator.list(&ListQuery::default()).await.unwrap();
    assert!(list.cases.is_empty(), "nothing half-written");
}

#[tokio::test]
async fn a_caller_is_found_by_phone_digits_and_by_name_with_the_phone_masked() {
    let app = spawn_app().await;
    let key = new_idempotency_key;
    let a = app
        .intake
        .create_case(&call("透析病人需要转运", "葛先生", "138-0000 1111"), &key())
        .await
        .unwrap();
    let b = app
        .intake
        .create_case(&call("药品快用完了", "葛先生", "13800001111"), &key())
        .await
        .unwrap();
    app.intake
        .create_case(&call("发热儿童需就医", "池女士", "13900002222"), &key())
        .await
        .unwrap();
    let by_phone = |phone: &str| ListQuery {
        phone: Some(phone.into()),
        ..ListQuery::default()
    };
    for who in [&app.intake, &app.operator, &app.supervisor] {
        let found = who.list(&by_phone("13800001111")).await.unwrap();
        let ids: Vec<i64> = found.cases.iter().map(|c| c.id).collect();
        assert_eq!(ids, [b.case.id, a.case.id], "newest first, both spellings");
        for c in &found.cases {
            let p = &c.requester.phone;
            assert!(
                p.starts_with("138") && p.ends_with("1111") && !p.contains("0000"),
                "masked: {p}"
            );
        }
    }
    let by_name = ListQuery {
        requester: Some("葛".into()),
        ..ListQuery::default()
    };
    let found = app.intake.list(&by_name).await.unwrap();
    assert_eq!(found.cases.len(), 2);
    assert!(found.cases.iter().all(|c| c.requester.name == "葛先生"));
    let none = app.intake.list(&by_phone("1380000")).await.unwrap();
    assert!(none.cases.is_empty(), "digits match whole, not in part");
}

#[tokio::test]
async fn only_desk_staff_look_callers_up_and_bad_values_are_named() {
    let app = spawn_app().await;
    app.create("透析病人需要转运").await;
    let q = ListQuery {
        phone: Some("13800000000".into()),
        ..ListQuery::default()
    };
    for who in [&app.observer, &app.dept_a, &app.admin] {
        let p = problem(who.list(&q).await.unwrap_err());
        assert_eq!(p.status, 403);
    }
    let q = ListQuery {
        requester: Some("葛先生".into()),
        ..ListQuery::default()
    };
    assert_eq!(
        problem(app.observer.list(&q).await.unwrap_err()).status,
        403
    );
    // Without the caller parameters, listing is as before.
    assert_eq!(
        app.observer
            .list(&ListQuery::default())
            .await
            .unwrap()
            .cases
            .len(),
        1
    );
    let q = ListQuery {
        phone: Some("138-0000".into()),
        ..ListQuery::default()
    };
    let p = problem(app.operator.list(&q).await.unwrap_err());
    assert_eq!((p.status, p.errors[0].field.as_str()), (400, "phone"));
}
