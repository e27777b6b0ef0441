//! `GET /metrics` through real HTTP on a spawned server: what the gauges and counters show,
//! that every line is a valid exposition line in both text formats, and the `[metrics]`
//! switch and token.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{actions, checks, new_case, spawn_app, spawn_app_with, spawn_app_with_sqlite};
use jieyou::client::new_idempotency_key;
use jieyou::server::ServerConfig;
use jieyou::wire::{Problem, Tier};
use sqlx::Connection;

/// The bound of every wait for the server: a guard against hanging, not a measurement.
const BOUND: Duration = Duration::from_secs(20);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One sample: its metric name and labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    Series {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A parsed exposition: every sample, and the families declared by `# TYPE`.
#[derive(Debug)]
struct Exposition {
    samples: BTreeMap<Series, f64>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let s = series(name, labels);
        *self
            .samples
            .get(&s)
            .unwrap_or_else(|| panic!("no sample {s:?} in {:#?}", self.samples.keys()))
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_value(s: &str) -> bool {
    matches!(s, "+Inf" | "-Inf" | "NaN") || s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// `{a="x",b="y"}` at the start of `s`: the labels and the rest of the line.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("unquoted label value")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, '\n') => return Err("newline in label value".into()),
                (_, c) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn fail(line: &str, why: &str) -> ! {
    panic!("invalid exposition line {line:?}: {why}")
}

/// Checks every line strictly (metadata, sample syntax, names, label escapes, values, that each
/// sample belongs to a declared family, no sample twice) and returns the samples.
fn parse(text: &str, openmetrics: bool) -> Exposition {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    let body = if openmetrics {
        text.strip_suffix("# EOF\n")
            .expect("OpenMetrics ends with # EOF")
    } else {
        assert!(!text.contains("# EOF"), "{text}");
        text
    };
    assert!(body.ends_with('\n'), "the last line ends with a newline");
    for line in body.lines() {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut words = meta.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            if !is_metric_name(name) {
                fail(line, "bad metric name");
            }
            match kind {
                "HELP" => {}
                "TYPE" => {
                    let t = words.next().unwrap_or("");
                    let known: &[&str] = if openmetrics {
                        &["counter", "gauge", "histogram", "info", "unknown"]
                    } else {
                        &["counter", "gauge", "histogram", "untyped"]
                    };
                    if !known.contains(&t) {
                        fail(line, "unknown type");
                    }
                    if types.insert(name.to_string(), t.to_string()).is_some() {
                        fail(line, "family declared twice");
                    }
                }
                "UNIT" if openmetrics => {}
                _ => fail(line, "unknown metadata"),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        if !is_metric_name(name) {
            fail(line, "bad metric name");
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).unwrap_or_else(|e| fail(line, &e))
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let mut fields = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| fail(line, "no value"))
            .split(' ');
        let value = fields.next().unwrap_or("");
        if !is_value(value) {
            fail(line, "bad value");
        }
        if fields.next().is_some() {
            fail(
                line,
                "anything after the value (these metrics carry no timestamps)",
            );
        }
        let family = [
            "_total", "_bucket", "_count", "_sum", "_created", "_info", "",
        ]
        .iter()
        .find_map(|suffix| {
            let base = name.strip_suffix(suffix)?;
            let t = types.get(base).or_else(|| types.get(name))?;
            Some((base, t))
        });
        if family.is_none() {
            fail(line, "a sample of no declared family");
        }
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or(f64::NAN),
        };
        let key = Series {
            name: name.to_string(),
            labels,
        };
        if samples.insert(key, value).is_some() {
            fail(line, "the same series twice");
        }
    }
    Exposition { samples, types }
}

/// Scrapes as Prometheus does (asking for OpenMetrics), checking the answer's type and syntax.
async fn scrape(url: &str) -> Exposition {
    let resp = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], OPENMETRICS);
    parse(&resp.text().await.unwrap(), true)
}

#[tokio::test]
async fn open_and_overdue_cases_follow_the_store_and_the_server_clock() {
    let app = spawn_app().await;
    let url = app.server.url();
    let untriaged = app.create("独居老人缺药").await;
    let red = app.create("血透患者无法出行").await;
    let blue = app.create("小区垃圾未清运").await;
    app.clock.set(checks::t(5));
    app.act(&app.operator, &red, actions::triage(Tier::Red))
        .await
        .unwrap();
    app.act(&app.operator, &blue, actions::triage(Tier::Blue))
        .await
        .unwrap();
    let m = scrape(&url).await;
    let open = |m: &Exposition, tier, status| {
        m.get("jieyou_open_cases", &[("tier", tier), ("status", status)])
    };
    assert_eq!(open(&m, "none", "new"), 1.0);
    assert_eq!(open(&m, "red", "triaged"), 1.0);
    assert_eq!(open(&m, "blue", "triaged"), 1.0);
    assert_eq!(open(&m, "orange", "triaged"), 0.0, "every series exists");
    assert_eq!(open(&m, "red", "new"), 0.0);
    for tier in ["none", "blue", "orange", "red"] {
        assert_eq!(
            m.get("jieyou_overdue_cases", &[("tier", tier)]),
            0.0,
            "{tier}"
        );
    }

    // 21:24: the untriaged case is past its 15 minutes for triage; the red one has an hour to
    // be dispatched.
    app.clock.set(checks::t(20));
    let m = scrape(&url).await;
    assert_eq!(m.get("jieyou_overdue_cases", &[("tier", "none")]), 1.0);
    assert_eq!(m.get("jieyou_overdue_cases", &[("tier", "red")]), 0.0);

    // Dispatched: it leaves `triaged` for `dispatched`; at 23:04 its sign-for deadline has
    // passed too.
    let red = app.operator.case(red.case.id).await.unwrap();
    app.act(
        &app.operator,
        &red,
        actions::dispatch(app.departments[0].id),
    )
    .await
    .unwrap();
    app.clock.set(checks::t(120));
    let m = scrape(&url).await;
    assert_eq!(open(&m, "red", "triaged"), 0.0);
    assert_eq!(open(&m, "red", "dispatched"), 1.0);
    assert_eq!(m.get("jieyou_overdue_cases", &[("tier", "red")]), 1.0);
    assert_eq!(m.get("jieyou_overdue_cases", &[("tier", "none")]), 1.0);
    // The same judgement as the case list's `overdue` filter.
    let listed: serde_json::Value = app
        .operator
        .get_json("/api/v1/cases?overdue=true")
        .await
        .unwrap();
    let total: f64 = ["none", "blue", "orange", "red"]
        .iter()
        .map(|t| m.get("jieyou_overdue_cases", &[("tier", t)]))
        .sum();
    assert_eq!(listed["cases"].as_array().unwrap().len() as f64, total);
    assert!(untriaged.case.id > 0);
}

#[tokio::test]
async fn requests_are_counted_by_route_template_never_by_raw_path() {
    let app = spawn_app().await;
    let url = app.server.url();
    let a = app.create("路灯不亮").await;
    let b = app.create("井盖缺失").await;
    app.operator.case(a.case.id).await.unwrap();
    app.operator.case(b.case.id).await.unwrap();
    let missing = app.operator.case(999_999).await;
    assert!(missing.is_err());
    let nowhere = reqwest::get(format!("{url}/no/such/page/12345"))
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404);

    let m = scrape(&url).await;
    let route = "/api/v1/cases/{id}";
    let requests = |method, route, status| {
        m.get(
            "jieyou_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("GET", route, "200"), 2.0);
    assert_eq!(requests("GET", route, "404"), 1.0);
    assert_eq!(requests("POST", "/api/v1/cases", "201"), 2.0);
    assert_eq!(requests("GET", "unmatched", "404"), 1.0);
    assert_eq!(
        m.get(
            "jieyou_http_request_duration_seconds_count",
            &[("route", route), ("method", "GET")]
        ),
        3.0
    );
    // Route labels are templates: no case id, nor any other number past the API's version.
    for s in m.samples.keys() {
        if let Some(route) = s.labels.get("route") {
            let path = route.strip_prefix("/api/v1").unwrap_or(route);
            assert!(!path.contains(|c: char| c.is_ascii_digit()), "{s:?}");
        }
    }
    assert_eq!(m.types["jieyou_http_request_duration_seconds"], "histogram");
}

#[tokio::test]
async fn a_held_long_poll_shows_until_it_is_answered() {
    let app = spawn_app().await;
    let url = app.server.url();
    let snap = app.operator.changes(None, None).await.unwrap();
    assert_eq!(scrape(&url).await.get("jieyou_long_polls_held", &[]), 0.0);
    let poll = {
        let op = app.operator.clone();
        tokio::spawn(async move { op.changes(Some(&snap.cursor), Some(30)).await })
    };
    let held = |want: f64| {
        let url = url.clone();
        async move {
            tokio::time::timeout(BOUND, async {
                loop {
                    if scrape(&url).await.get("jieyou_long_polls_held", &[]) == want {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("jieyou_long_polls_held never became {want}"))
        }
    };
    held(1.0).await;
    let created = app.create("停水三天").await;
    let answer = tokio::time::timeout(BOUND, poll)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answer.cases[0].id, created.case.id);
    held(0.0).await;
}

#[tokio::test]
async fn a_refused_write_counts_as_a_store_error_and_probes_do_not() {
    let mut config = ServerConfig::default();
    config.limits.database_busy_timeout_ms = 200;
    let app = spawn_app_with_sqlite(config).await;
    let url = app.server.url();
    let busy = [("kind", "database-busy")];
    assert_eq!(
        scrape(&url).await.get("jieyou_store_errors_total", &busy),
        0.0
    );
    let path = app.dir.path().join("jieyou.db");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let refused = app
        .intake
        .create_case(&new_case("燃气泄漏"), &new_idempotency_key())
        .await;
    assert!(refused.is_err());
    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503, "the readiness probe sees the lock too");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();

    let m = scrape(&url).await;
    assert_eq!(m.get("jieyou_store_errors_total", &busy), 1.0);
    assert_eq!(
        m.get("jieyou_store_errors_total", &[("kind", "storage-full")]),
        0.0
    );
    assert_eq!(
        m.get(
            "jieyou_http_requests_total",
            &[
                ("route", "/api/v1/cases"),
                ("method", "POST"),
                ("status", "503")
            ]
        ),
        1.0
    );
}

#[tokio::test]
async fn both_text_formats_are_valid_and_say_the_build_and_the_feed_head() {
    let app = spawn_app().await;
    let url = app.server.url();
    app.create("楼道堆放杂物").await;
    app.create("噪音扰民").await;
    let head = app.server.feed.head();
    assert!(head > 0);

    let m = scrape(&url).await;
    assert_eq!(m.get("jieyou_feed_head", &[]), head as f64);
    assert_eq!(
        m.get(
            "jieyou_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(m.types["jieyou_build"], "info");
    assert_eq!(m.types["jieyou_http_requests"], "counter");
    assert_eq!(m.types["jieyou_open_cases"], "gauge");

    // Without asking for OpenMetrics (curl, older scrapers): the classic text format.
    let resp = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let classic = parse(&resp.text().await.unwrap(), false);
    assert_eq!(classic.get("jieyou_feed_head", &[]), head as f64);
    assert_eq!(classic.types["jieyou_build_info"], "gauge");
    assert_eq!(
        classic.get("jieyou_open_cases", &[("tier", "none"), ("status", "new")]),
        2.0
    );
    // Gzip when asked, as Prometheus does.
    let gz = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(format!("{url}/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
}

async fn problem(resp: reqwest::Response) -> Problem {
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn metrics_turned_off_answer_404() {
    let mut config = ServerConfig::default();
    config.metrics.enabled = false;
    let app = spawn_app_with(config).await;
    let resp = reqwest::get(format!("{}/metrics", app.server.url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(problem(resp).await.status, 404);
}

#[tokio::test]
async fn a_configured_token_is_required() {
    let mut config = ServerConfig::default();
    let token = "scrape-7f3c9a1e5b2d4806";
    config.metrics.token = Some(token.into());
    let app = spawn_app_with(config).await;
    let url = format!("{}/metrics", app.server.url());
    let http = reqwest::Client::new();
    let none = http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(problem(none).await.detail.contains("Bearer"));
    let wrong = http
        .get(&url)
        .bearer_auth("scrape-7f3c9a1e5b2d4807")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // An API user's token is not the metrics token.
    let api_user = http
        .get(&url)
        .bearer_auth(
            app.server
                .store
                .add_user("prom", jieyou::wire::Role::Observer, None)
                .await
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(api_user.status(), 401);
    let right = http.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(right.status(), 200);
    let text = right.text().await.unwrap();
    assert!(
        parse(&text, false)
            .samples
            .keys()
            .any(|s| s.name == "jieyou_open_cases"),
        "{text}"
    );
}

#[tokio::test]
async fn a_request_cut_off_by_the_request_timeout_is_counted_as_answered() {
    let mut config = ServerConfig::default();
    config.limits.request_timeout_seconds = 1;
    let app = spawn_app_with_sqlite(config).await;
    let url = app.server.url();
    let path = app.dir.path().join("jieyou.db");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    // The write waits for the lock longer than the request may take: the client gets the
    // request timeout's 503.
    let cut_off = app
        .intake
        .create_case(&new_case("电梯困人"), &new_idempotency_key())
        .await;
    assert!(cut_off.is_err());
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let m = scrape(&url).await;
    assert_eq!(
        m.get(
            "jieyou_http_requests_total",
            &[
                ("route", "/api/v1/cases"),
                ("method", "POST"),
                ("status", "503")
            ]
        ),
        1.0
    );
}
