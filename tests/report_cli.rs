//! `jieyou report daily` as a user runs it: the real binary against a real server.

mod common;
mod e2e;

use std::process::Command;

use common::spawn_app;
use e2e::{BIN, succeeded};
use jieyou::report::DailyReport;
use jieyou::wire::{AnswerBody, CaseAction, DispatchBody, Role, Tier, TierBody};

fn run(url: &str, token: &str, format: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "report",
            "daily",
            "--date",
            "2022-05-08",
            "--format",
            format,
        ])
        .args(["--server", url, "--token", token])
        .output()
        .unwrap();
    succeeded(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_daily_prints_every_format() {
    let app = spawn_app().await;
    let sup = app
        .server
        .store
        .add_user("sup-report", Role::Supervisor, None)
        .await
        .unwrap();
    let a = app.create("透析病人需要转运").await;
    let a = app
        .act(
            &app.operator,
            &a,
            CaseAction::Triage(TierBody {
                tier: Tier::Red,
                note: None,
            }),
        )
        .await
        .unwrap();
    app.advance(20);
    app.act(
        &app.operator,
        &a,
        CaseAction::Dispatch(DispatchBody {
            department_id: app.departments[0].id,
            note: None,
        }),
    )
    .await
    .unwrap();
    let b = app.create("询问返乡隔离政策").await;
    app.act(
        &app.operator,
        &b,
        CaseAction::AnswerOnline(AnswerBody {
            text: "已答复".into(),
            answer: None,
        }),
    )
    .await
    .unwrap();
    let url = app.server.url();

    let json: DailyReport = serde_json::from_str(&run(&url, &sup, "json")).unwrap();
    let api: DailyReport = app
        .supervisor
        .get_json("/api/v1/reports/daily?date=2022-05-08")
        .await
        .unwrap();
    assert_eq!(json, api);
    assert_eq!(json.totals.received, 2);
    assert_eq!(
        (json.arrivals.dispatched, json.arrivals.answered_online),
        (1, 1)
    );
    assert_eq!(json.by_department[0].name, "卫健局");

    let md = run(&url, &sup, "md");
    assert!(
        md.starts_with("# 开化县求助平台 每日工作报告 · Daily report 2022-05-08"),
        "{md}"
    );
    assert!(md.contains("| Received 受理 | 2 |"));
    assert!(md.contains("| 卫健局 | 1 |"));

    let csv = run(&url, &sup, "csv");
    assert!(csv.starts_with("section,key,metric,value\n"));
    assert!(csv.contains("\ntotals,2022-05-08,received,2\n"));
    assert!(csv.contains("\ndepartment,卫健局,dispatched,1\n"));

    let html = run(&url, &sup, "html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("</svg>"));
    // Self-contained: nothing fetched, nothing run.
    assert!(!html.contains("<script") && !html.contains("http-equiv") && !html.contains("src="));
    // The 21:00 hour holds both arrivals: one bar each, titled for the reader.
    assert!(html.contains("<title>21:00 received 2</title>"), "{html}");

    // A wrong token is a clear error, not a panic.
    let out = Command::new(BIN)
        .args(["report", "daily", "--server", &url, "--token", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401") && !err.contains("panicked"), "{err}");
}
