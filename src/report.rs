//! Hourly statistics and the daily work report (每日工作报告), computed from the event log
//! alone: each event carries, in its payload, the tier, department and timeliness as they were
//! when it happened, so a report for a past day never changes when cases change later.
//! Rendered as JSON, CSV, Markdown, and a self-contained HTML page.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::Event;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub received: u64,
    pub answered_online: u64,
    pub dispatched: u64,
    pub resolved: u64,
    pub closed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HourRow {
    pub start: DateTime<FixedOffset>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// `GET /api/v1/stats/hourly`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HourlyStats {
    pub time_zone: String,
    pub hours: Vec<HourRow>,
}

/// What became of the day's arrivals by the end of the day. `received` is always the sum of
/// the other four.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Arrivals {
    pub received: u64,
    pub answered_online: u64,
    pub dispatched: u64,
    /// Closed as duplicates of another case.
    pub merged: u64,
    pub still_open: u64,
}

/// Resolutions of one tier on the day (answered online or resolved by a department).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TierRow {
    /// `red`, `orange`, `blue`, or `untriaged`.
    pub tier: String,
    pub resolved: u64,
    pub on_time: u64,
    pub overdue: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DepartmentRow {
    pub department_id: i64,
    pub name: String,
    pub dispatched: u64,
    pub signed_for: u64,
    pub signed_late: u64,
    pub resolved: u64,
    pub resolved_on_time: u64,
    pub resolved_late: u64,
    pub returns: u64,
    pub avg_minutes_to_sign: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpRow {
    pub satisfied: u64,
    pub fairly_satisfied: u64,
    pub dissatisfied: u64,
}

/// `GET /api/v1/reports/daily?date=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DailyReport {
    pub desk_name: String,
    /// The desk's local date, `YYYY-MM-DD`.
    pub date: String,
    pub time_zone: String,
    pub totals: Counts,
    pub returns: u64,
    pub extensions_requested: u64,
    pub extensions_approved: u64,
    pub urges: u64,
    pub escalations: u64,
    pub arrivals: Arrivals,
    pub by_tier: Vec<TierRow>,
    pub by_department: Vec<DepartmentRow>,
    pub follow_up: FollowUpRow,
    /// 24 rows, the desk's local hours 00–23.
    pub hourly: Vec<HourRow>,
}

/// The UTC bounds of a local day in `tz` (23 or 25 hours long across a DST change).
pub fn day_bounds(date: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        start_of_day(date, tz),
        // The last representable date ends where it starts rather than overflowing.
        start_of_day(date.succ_opt().unwrap_or(date), tz),
    )
}

/// The first instant of a local day. Where daylight-saving time starts at midnight, 00:00
/// does not exist and the day starts at the first local minute that does (e.g. 01:00).
fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=24 * 60)
        .find_map(|m| {
            let local = midnight.checked_add_signed(Duration::minutes(m))?;
            tz.from_local_datetime(&local).earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// One CSV cell: quoted when it holds a separator, a quote or a line break; and never read
/// as a formula by a spreadsheet (a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'`), since names in the report are typed by people.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One Markdown table cell: a `|` cannot end the cell, a line break cannot end the row.
pub fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn count_into(counts: &mut Counts, e: &Event) {
    match e.action.as_str() {
        "received" => counts.received += 1,
        "answer-online" => counts.answered_online += 1,
        "dispatch" => counts.dispatched += 1,
        "resolve" => counts.resolved += 1,
        _ => {}
    }
    if e.to_status == Some(crate::wire::Status::Closed)
        && e.from_status != Some(crate::wire::Status::Closed)
    {
        counts.closed += 1;
    }
}

/// Hour-by-hour counts of `events` in `[from, to)`, by the desk's local hours.
pub fn hourly(events: &[Event], from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> HourlyStats {
    let local_from = from.with_timezone(&tz);
    let first = local_from
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(local_from)
        .with_timezone(&Utc);
    let mut rows: BTreeMap<DateTime<Utc>, Counts> = BTreeMap::new();
    let mut t = first;
    while t < to {
        rows.insert(t, Counts::default());
        t += Duration::hours(1);
    }
    for e in events {
        let at = e.at.with_timezone(&Utc);
        if at < from || at >= to {
            continue;
        }
        let hours = (at - first).num_hours();
        let bucket = first + Duration::hours(hours);
        if let Some(c) = rows.get_mut(&bucket) {
            count_into(c, e);
        }
    }
    HourlyStats {
        time_zone: tz.name().to_string(),
        hours: rows
            .into_iter()
            .map(|(start, counts)| HourRow {
                start: start.with_timezone(&tz).fixed_offset(),
                counts,
            })
            .collect(),
    }
}

fn payload_str<'a>(e: &'a Event, key: &str) -> Option<&'a str> {
    e.payload.get(key).and_then(|v| v.as_str())
}

fn payload_bool(e: &Event, key: &str) -> Option<bool> {
    e.payload.get(key).and_then(|v| v.as_bool())
}

fn payload_i64(e: &Event, key: &str) -> Option<i64> {
    e.payload.get(key).and_then(|v| v.as_i64())
}

/// The daily report of `date` from the events of that local day (oldest first).
/// `department_names` names departments whose dispatch is not among the day's events.
pub fn daily(
    desk_name: &str,
    date: NaiveDate,
    tz: Tz,
    events: &[Event],
    department_names: &HashMap<i64, String>,
) -> DailyReport {
    let (from, to) = day_bounds(date, tz);
    let day: Vec<&Event> = events
        .iter()
        .filter(|e| {
            let at = e.at.with_timezone(&Utc);
            at >= from && at < to
        })
        .collect();
    let mut totals = Counts::default();
    let mut report = DailyReport {
        desk_name: desk_name.to_string(),
        date: date.format("%Y-%m-%d").to_string(),
        time_zone: tz.name().to_string(),
        totals: Counts::default(),
        returns: 0,
        extensions_requested: 0,
        extensions_approved: 0,
        urges: 0,
        escalations: 0,
        arrivals: Arrivals::default(),
        by_tier: vec![],
        by_department: vec![],
        follow_up: FollowUpRow::default(),
        hourly: vec![],
    };
    let mut tiers: BTreeMap<&str, TierRow> = BTreeMap::new();
    let mut depts: BTreeMap<i64, DepartmentRow> = BTreeMap::new();
    let mut sign_minutes: HashMap<i64, Vec<f64>> = HashMap::new();
    // The first disposal of each case received today.
    let mut arrivals: HashMap<i64, Option<&str>> = HashMap::new();
    for e in &day {
        count_into(&mut totals, e);
        match e.action.as_str() {
            "received" => {
                arrivals.insert(e.case_id, None);
            }
            "answer-online" | "dispatch" | "merge" => {
                if let Some(slot @ None) = arrivals.get_mut(&e.case_id) {
                    *slot = Some(match e.action.as_str() {
                        "answer-online" => "answered_online",
                        "dispatch" => "dispatched",
                        _ => "merged",
                    });
                }
            }
            _ => {}
        }
        match e.action.as_str() {
            "return" => report.returns += 1,
            "request-extension" => report.extensions_requested += 1,
            "decide-extension" if payload_bool(e, "approve") == Some(true) => {
                report.extensions_approved += 1;
            }
            "urge" => report.urges += 1,
            "escalate" => report.escalations += 1,
            "follow-up" => match payload_str(e, "result") {
                Some("satisfied") => report.follow_up.satisfied += 1,
                Some("fairly_satisfied") => report.follow_up.fairly_satisfied += 1,
                Some("dissatisfied") => report.follow_up.dissatisfied += 1,
                _ => {}
            },
            _ => {}
        }
        if matches!(e.action.as_str(), "resolve" | "answer-online") {
            let tier = payload_str(e, "tier").unwrap_or("untriaged");
            let row = tiers.entry(tier).or_insert_with(|| TierRow {
                tier: tier.to_string(),
                ..Default::default()
            });
            row.resolved += 1;
            if payload_bool(e, "on_time").unwrap_or(true) {
                row.on_time += 1;
            } else {
                row.overdue += 1;
            }
        }
        let Some(dept_id) = payload_i64(e, "department_id") else {
            continue;
        };
        // A supervisor resolving on a department's behalf is not the department's work.
        if e.action == "resolve" && e.actor_role != crate::wire::Role::Department {
            continue;
        }
        let row = depts.entry(dept_id).or_insert_with(|| DepartmentRow {
            department_id: dept_id,
            name: department_names
                .get(&dept_id)
                .cloned()
                .unwrap_or_else(|| format!("#{dept_id}")),
            ..Default::default()
        });
        // The name as it was when the event happened.
        if let Some(name) = payload_str(e, "department_name") {
            row.name = name.to_string();
        }
        match e.action.as_str() {
            "dispatch" => row.dispatched += 1,
            "sign-for" => {
                row.signed_for += 1;
                if payload_bool(e, "on_time") == Some(false) {
                    row.signed_late += 1;
                }
                if let Some(m) = e.payload.get("minutes_to_sign").and_then(|v| v.as_f64()) {
                    sign_minutes.entry(dept_id).or_default().push(m);
                }
            }
            "resolve" => {
                row.resolved += 1;
                if payload_bool(e, "on_time").unwrap_or(true) {
                    row.resolved_on_time += 1;
                } else {
                    row.resolved_late += 1;
                }
            }
            "return" => row.returns += 1,
            _ => {}
        }
    }
    for (id, ms) in sign_minutes {
        if let Some(row) = depts.get_mut(&id) {
            row.avg_minutes_to_sign = Some(ms.iter().sum::<f64>() / ms.len() as f64);
        }
    }
    for outcome in arrivals.values() {
        report.arrivals.received += 1;
        match outcome {
            Some("answered_online") => report.arrivals.answered_online += 1,
            Some("dispatched") => report.arrivals.dispatched += 1,
            Some(_) => report.arrivals.merged += 1,
            None => report.arrivals.still_open += 1,
        }
    }
    let order = ["red", "orange", "blue", "untriaged"];
    report.by_tier = order
        .iter()
        .map(|t| {
            tiers.remove(t).unwrap_or_else(|| TierRow {
                tier: t.to_string(),
                ..Default::default()
            })
        })
        .collect();
    report.by_department = depts.into_values().collect();
    report.totals = totals;
    let day_events: Vec<Event> = day.into_iter().cloned().collect();
    report.hourly = hourly(&day_events, from, to, tz).hours;
    report
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

fn tier_label(t: &str) -> &'static str {
    match t {
        "red" => "红 red",
        "orange" => "橙 orange",
        "blue" => "蓝 blue",
        _ => "未分类 untriaged",
    }
}

impl DailyReport {
    /// The day's totals: machine name, label for people, count.
    fn total_rows(&self) -> [(&'static str, &'static str, u64); 10] {
        let t = &self.totals;
        [
            ("received", "Received 受理", t.received),
            (
                "answered_online",
                "Answered online 在线答复",
                t.answered_online,
            ),
            ("dispatched", "Dispatched 派单", t.dispatched),
            ("resolved", "Resolved by departments 办结反馈", t.resolved),
            ("closed", "Closed 关闭", t.closed),
            ("returns", "Returns 退单", self.returns),
            (
                "extensions_requested",
                "Extensions requested 申请延期",
                self.extensions_requested,
            ),
            (
                "extensions_approved",
                "Extensions approved 批准延期",
                self.extensions_approved,
            ),
            ("urges", "Urged 催办", self.urges),
            ("escalations", "Escalation steps 升级", self.escalations),
        ]
    }

    /// Long ("tidy") CSV: `section,key,metric,value`, one number a line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("section,key,metric,value\n");
        let mut line = |section: &str, key: &str, metric: &str, value: String| {
            let _ = writeln!(
                out,
                "{},{},{},{}",
                csv_cell(section),
                csv_cell(key),
                csv_cell(metric),
                value
            );
        };
        for (m, _, v) in self.total_rows() {
            line("totals", &self.date, m, v.to_string());
        }
        let a = &self.arrivals;
        for (m, v) in [
            ("received", a.received),
            ("answered_online", a.answered_online),
            ("dispatched", a.dispatched),
            ("merged", a.merged),
            ("still_open", a.still_open),
        ] {
            line("arrivals", &self.date, m, v.to_string());
        }
        for r in &self.by_tier {
            line("tier", &r.tier, "resolved", r.resolved.to_string());
            line("tier", &r.tier, "on_time", r.on_time.to_string());
            line("tier", &r.tier, "overdue", r.overdue.to_string());
        }
        for d in &self.by_department {
            for (m, v) in [
                ("dispatched", d.dispatched),
                ("signed_for", d.signed_for),
                ("signed_late", d.signed_late),
                ("resolved", d.resolved),
                ("resolved_on_time", d.resolved_on_time),
                ("resolved_late", d.resolved_late),
                ("returns", d.returns),
            ] {
                line("department", &d.name, m, v.to_string());
            }
            if let Some(avg) = d.avg_minutes_to_sign {
                line(
                    "department",
                    &d.name,
                    "avg_minutes_to_sign",
                    format!("{avg:.1}"),
                );
            }
        }
        let f = &self.follow_up;
        line(
            "follow_up",
            &self.date,
            "satisfied",
            f.satisfied.to_string(),
        );
        line(
            "follow_up",
            &self.date,
            "fairly_satisfied",
            f.fairly_satisfied.to_string(),
        );
        line(
            "follow_up",
            &self.date,
            "dissatisfied",
            f.dissatisfied.to_string(),
        );
        for h in &self.hourly {
            let key = h.start.format("%H:00").to_string();
            line("hourly", &key, "received", h.counts.received.to_string());
            line(
                "hourly",
                &key,
                "resolved",
                (h.counts.resolved + h.counts.answered_online).to_string(),
            );
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let a = &self.arrivals;
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# {} 每日工作报告 · Daily report {}\n",
            markdown_cell(&self.desk_name),
            self.date
        );
        let _ = writeln!(
            md,
            "Time zone: {}. Counted from the event log.\n",
            self.time_zone
        );
        md.push_str("## Totals\n\n| | count |\n|---|---:|\n");
        for (_, label, v) in self.total_rows() {
            let _ = writeln!(md, "| {label} | {v} |");
        }
        let _ = writeln!(
            md,
            "\n## Today's arrivals by the end of the day\n\n{} received = {} answered online + {} dispatched + {} merged as duplicates + {} still open.\n",
            a.received, a.answered_online, a.dispatched, a.merged, a.still_open
        );
        md.push_str("## On time by tier (resolutions)\n\n| tier | resolved | on time | overdue | on-time rate |\n|---|---:|---:|---:|---:|\n");
        for r in &self.by_tier {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                tier_label(&r.tier),
                r.resolved,
                r.on_time,
                r.overdue,
                pct(r.on_time, r.resolved)
            );
        }
        md.push_str("\n## Departments\n\n| department | dispatched | signed for | signed late | avg min to sign | resolved | on time | late | returns |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        if self.by_department.is_empty() {
            md.push_str("| (none) | | | | | | | | |\n");
        }
        for d in &self.by_department {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                markdown_cell(&d.name),
                d.dispatched,
                d.signed_for,
                d.signed_late,
                d.avg_minutes_to_sign
                    .map_or("—".into(), |m| format!("{m:.1}")),
                d.resolved,
                d.resolved_on_time,
                d.resolved_late,
                d.returns
            );
        }
        let f = &self.follow_up;
        let _ = writeln!(
            md,
            "\n## Follow-up calls 回访\n\nSatisfied 满意 {} · fairly satisfied 基本满意 {} · dissatisfied 不满意 {}\n",
            f.satisfied, f.fairly_satisfied, f.dissatisfied
        );
        md.push_str("## Hour by hour\n\n| hour | received | resolved | dispatched |\n|---|---:|---:|---:|\n");
        for h in &self.hourly {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                h.start.format("%H:00"),
                h.counts.received,
                h.counts.resolved + h.counts.answered_online,
                h.counts.dispatched
            );
        }
        md
    }

    /// One self-contained page (inline CSS and SVG, no scripts, no fetches) for printing or
    /// forwarding.
    pub fn to_html(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<title>{desk} 每日工作报告 {date}</title>\
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}\
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:.3em .6em}}\
td.n{{text-align:right}}h1{{font-size:1.5em}}.legend span{{margin-right:1.5em}}\
@media print{{body{{margin:0}}}}</style></head><body>\n\
<h1>{desk} 每日工作报告 · Daily report {date}</h1>\n<p>Time zone {tz}. Counted from the event log.</p>\n",
            desk = esc(&self.desk_name),
            date = esc(&self.date),
            tz = esc(&self.time_zone)
        );
        h.push_str("<table><tr><th></th><th>count</th></tr>\n");
        for (_, label, v) in self.total_rows() {
            let _ = writeln!(h, "<tr><td>{label}</td><td class=\"n\">{v}</td></tr>");
        }
        h.push_str("</table>\n<h2>Hour by hour 每小时</h2>\n");
        h.push_str(&self.hourly_svg());
        h.push_str("<h2>On time by tier</h2>\n<table><tr><th>tier</th><th>resolved</th><th>on time</th><th>overdue</th><th>rate</th></tr>\n");
        for r in &self.by_tier {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                tier_label(&r.tier),
                r.resolved,
                r.on_time,
                r.overdue,
                pct(r.on_time, r.resolved)
            );
        }
        h.push_str("</table>\n<h2>Departments</h2>\n<table><tr><th>department</th><th>dispatched</th><th>signed for</th><th>signed late</th><th>avg min to sign</th><th>resolved</th><th>late</th><th>returns</th></tr>\n");
        for d in &self.by_department {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&d.name),
                d.dispatched,
                d.signed_for,
                d.signed_late,
                d.avg_minutes_to_sign
                    .map_or("—".into(), |m| format!("{m:.1}")),
                d.resolved,
                d.resolved_late,
                d.returns
            );
        }
        let f = &self.follow_up;
        let _ = write!(
            h,
            "</table>\n<h2>Follow-up calls 回访</h2>\n<p>Satisfied 满意 {} · fairly satisfied 基本满意 {} · dissatisfied 不满意 {}</p>\n</body></html>\n",
            f.satisfied, f.fairly_satisfied, f.dissatisfied
        );
        h
    }

    /// Paired bars per hour: arrivals (dark) and resolutions (light).
    fn hourly_svg(&self) -> String {
        let (w, hgt, pad) = (720.0_f64, 220.0_f64, 30.0_f64);
        let max = self
            .hourly
            .iter()
            .map(|r| {
                r.counts
                    .received
                    .max(r.counts.resolved + r.counts.answered_online)
            })
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let slot = (w - pad) / self.hourly.len().max(1) as f64;
        let bar = (slot / 2.0 - 1.0).max(1.0);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{hgt}\" role=\"img\" aria-label=\"arrivals and resolutions per hour\">\n"
        );
        let base = hgt - 20.0;
        let _ = writeln!(
            s,
            "<line x1=\"{pad}\" y1=\"{base}\" x2=\"{w}\" y2=\"{base}\" stroke=\"#444\"/><text x=\"0\" y=\"14\" font-size=\"11\">{max:.0}</text>"
        );
        for (i, r) in self.hourly.iter().enumerate() {
            let x = pad + i as f64 * slot;
            let rec = r.counts.received as f64 / max * (base - 10.0);
            let res = (r.counts.resolved + r.counts.answered_online) as f64 / max * (base - 10.0);
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{rec:.1}\" fill=\"#c0392b\"><title>{} received {}</title></rect>\
<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{res:.1}\" fill=\"#7fb3d5\"><title>{} resolved {}</title></rect>",
                base - rec,
                r.start.format("%H:00"),
                r.counts.received,
                x + bar + 1.0,
                base - res,
                r.start.format("%H:00"),
                r.counts.resolved + r.counts.answered_online,
            );
            if i % 3 == 0 {
                let _ = writeln!(
                    s,
                    "<text x=\"{x:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
                    hgt - 5.0,
                    r.start.format("%H")
                );
            }
        }
        s.push_str("</svg>\n<p class=\"legend\"><span style=\"color:#c0392b\">■ received 受理</span><span style=\"color:#7fb3d5\">■ resolved 办结</span></p>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        for (raw, cell) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "\"'\rcmd\""),
            ("卫健局", "卫健局"),
            ("a=b", "a=b"),
            ("a,b", "\"a,b\""),
        ] {
            assert_eq!(csv_cell(raw), cell, "{raw:?}");
        }
    }

    #[test]
    fn markdown_cells_keep_their_row() {
        assert_eq!(markdown_cell("a|b"), "a\\|b");
        assert_eq!(markdown_cell("a\\|b"), "a\\\\\\|b");
        assert_eq!(markdown_cell("a\nb\r\nc"), "a b  c");
        assert_eq!(markdown_cell("卫健局"), "卫健局");
    }

    fn report_with_department(name: &str) -> DailyReport {
        let date = NaiveDate::from_ymd_opt(2022, 5, 8).unwrap();
        let mut r = daily(
            "desk",
            date,
            chrono_tz::Asia::Shanghai,
            &[],
            &HashMap::new(),
        );
        r.by_department.push(DepartmentRow {
            department_id: 1,
            name: name.into(),
            dispatched: 1,
            ..Default::default()
        });
        r
    }

    #[test]
    fn a_department_name_cannot_inject_a_formula_or_a_column() {
        let csv = report_with_department("=HYPERLINK(\"http://evil\",\"x\")").to_csv();
        for line in csv.lines().filter(|l| l.starts_with("department,")) {
            let key = &line["department,".len()..];
            assert!(key.starts_with("\"'="), "{line}");
        }
        let md = report_with_department("a|b\n| x |").to_markdown();
        let rows: Vec<&str> = md.lines().filter(|l| l.contains("a\\|b")).collect();
        assert_eq!(rows.len(), 1, "{md}");
        // Ten cells: nine columns between unescaped pipes.
        let unescaped = rows[0].replace("\\|", "");
        assert_eq!(unescaped.matches('|').count(), 10, "{}", rows[0]);
    }

    #[test]
    fn day_bounds_of_the_last_date_do_not_panic() {
        let (from, to) = day_bounds(NaiveDate::MAX, chrono_tz::UTC);
        assert!(from <= to);
    }
}
