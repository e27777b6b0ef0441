//! The loop: terminal events, a one-second tick, the change-feed task and request tasks all
//! become `Action`s for `App::update`; its `Effect`s become tasks. Only this file touches the
//! terminal, the clock and the network.

use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::action::{Action, Effect};
use super::app::App;
use super::config::PollConfig;
use super::feed;
use super::pace::{Inbox, MAX_OTHER_PER_BATCH, Pacer};
use super::theme::Theme;
use super::ui;
use crate::client::{Client, ListQuery};

type Tx = mpsc::UnboundedSender<Action>;

/// Runs the console until the operator quits or the process is asked to stop.
pub async fn run(
    mut app: App,
    client: Client,
    theme: Theme,
    poll: PollConfig,
) -> anyhow::Result<()> {
    install_panic_hook();
    let mut terminal = ratatui::try_init()?;
    // Mouse capture and bracketed paste are extras the panic hook above also undoes.
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableMouseCapture,
        crossterm::event::EnableBracketedPaste
    );
    let result = event_loop(&mut app, &mut terminal, client, theme, poll).await;
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture
    );
    ratatui::restore();
    result
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::event::DisableBracketedPaste,
            crossterm::event::DisableMouseCapture
        );
        tracing::error!("panic: {info}");
        previous(info);
    }));
}

async fn event_loop(
    app: &mut App,
    terminal: &mut ratatui::DefaultTerminal,
    client: Client,
    theme: Theme,
    poll: PollConfig,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    // The feed waits while its answers are not taken: the server then puts more changes in
    // one answer instead of the loop falling behind.
    let (feed_tx, mut feed_rx) = mpsc::channel::<Action>(FEED_QUEUE);
    let cancel = CancellationToken::new();
    let refresh = Arc::new(Notify::new());
    let resnapshot = Arc::new(Notify::new());
    tokio::spawn(feed::run(
        client.clone(),
        feed_tx,
        refresh.clone(),
        resnapshot.clone(),
        cancel.clone(),
        poll,
    ));
    // R wakes a presence poll that a refused token stopped, as it wakes the feed.
    let presence_resume = Arc::new(Notify::new());
    tokio::spawn(super::presence::run(
        client.clone(),
        tx.clone(),
        presence_resume.clone(),
        cancel.clone(),
    ));
    let wake = Wakers {
        refresh,
        presence: presence_resume,
        resnapshot,
    };

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stop = Box::pin(shutdown_signal());
    if let Ok(size) = terminal.size() {
        app.update(Action::Resize {
            width: size.width,
            height: size.height,
        });
    }
    app.update(Action::Tick(Utc::now()));
    let mut inbox = Inbox::default();
    let mut pacer = Pacer::default();
    let mut detail: Option<AbortHandle> = None;
    let mut presence: Option<AbortHandle> = None;

    'outer: loop {
        if pacer.should_draw(Instant::now()) {
            // One synchronized update per frame: terminals that support it never show half a
            // frame.
            let _ = crossterm::queue!(
                std::io::stdout(),
                crossterm::terminal::BeginSynchronizedUpdate
            );
            terminal.draw(|f| ui::draw(f, app, &theme, Utc::now()))?;
            let _ = crossterm::execute!(
                std::io::stdout(),
                crossterm::terminal::EndSynchronizedUpdate
            );
            pacer.drawn(Instant::now());
        }
        if inbox.is_empty() {
            let frame = pacer.due_at();
            let next = tokio::select! {
                biased;
                _ = &mut stop => {
                    tracing::info!("stop signal");
                    break 'outer;
                }
                ev = events.next() => match ev {
                    Some(Ok(ev)) => terminal_action(ev),
                    Some(Err(e)) => {
                        tracing::error!("terminal input: {e}");
                        break 'outer;
                    }
                    None => break 'outer,
                },
                Some(a) = rx.recv() => Some(a),
                Some(a) = feed_rx.recv() => Some(a),
                _ = tick.tick() => Some(Action::Tick(Utc::now())),
                _ = sleep_until(frame), if frame.is_some() => None,
            };
            inbox.extend(next);
        } else if futures::poll!(&mut stop).is_ready() {
            tracing::info!("stop signal");
            break 'outer;
        }
        // Every key of a burst already read comes before anything else (a frame per key would
        // make a fast typist or an unbracketed paste wait for hundreds of frames). Polled with
        // this task's own waker: a stream left pending wakes this loop.
        for _ in 0..MAX_COALESCED {
            match futures::poll!(events.next()) {
                Poll::Ready(Some(Ok(ev))) => inbox.extend(terminal_action(ev)),
                Poll::Ready(Some(Err(e))) => {
                    tracing::error!("terminal input: {e}");
                    break 'outer;
                }
                Poll::Ready(None) => break 'outer,
                Poll::Pending => break,
            }
        }
        while inbox.waiting() < MAX_OTHER_PER_BATCH {
            match rx.try_recv().or_else(|_| feed_rx.try_recv()) {
                Ok(a) => inbox.push(a),
                Err(_) => break,
            }
        }
        let mut effects = Vec::new();
        for a in inbox.batch() {
            pacer.note(&a);
            effects.extend(app.update(a));
        }
        effects.extend(app.take_background());
        if effects.contains(&Effect::Quit) {
            // What this console had open is cleared before it goes, not left to lapse.
            if let Some(pending) = presence.take() {
                pending.abort();
            }
            for effect in &effects {
                if let Effect::Presence(update) = effect {
                    let _ = tokio::time::timeout(QUIT_GRACE, client.put_presence(update)).await;
                }
            }
            break 'outer;
        }
        for effect in effects {
            perform(effect, &client, &tx, &wake, &mut detail, &mut presence);
        }
    }
    cancel.cancel();
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Most terminal events applied between two frames.
const MAX_COALESCED: usize = 4096;

/// Feed answers waiting for the loop before the feed task waits too.
const FEED_QUEUE: usize = 2;

/// How long the cursor rests on a case before its timeline is asked for: scrolling through a
/// list asks for nothing but the case it stops on.
pub const DETAIL_DEBOUNCE: Duration = Duration::from_millis(150);

/// How long a quitting console waits for the server to hear that it has nothing open.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// What a terminal event means to the app; `None` for events it has no use for.
fn terminal_action(ev: Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(Action::Key(k)),
        Event::Mouse(m) => Some(Action::Mouse(m)),
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        Event::Paste(text) => Some(Action::Paste(text)),
        _ => None,
    }
}

#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(mut term), Ok(mut hup)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// What the loop's effects wake in the background tasks.
struct Wakers {
    /// The feed asks the server now.
    refresh: Arc<Notify>,
    /// A presence poll stopped by a refused token starts again.
    presence: Arc<Notify>,
    /// The feed drops its cursor and takes a snapshot.
    resnapshot: Arc<Notify>,
}

fn perform(
    effect: Effect,
    client: &Client,
    tx: &Tx,
    wake: &Wakers,
    detail: &mut Option<AbortHandle>,
    presence: &mut Option<AbortHandle>,
) {
    let client = client.clone();
    let tx = tx.clone();
    match effect {
        Effect::Quit => {}
        Effect::Presence(update) => {
            // Like the detail: moving through a list publishes only the case it stops on.
            if let Some(previous) = presence.take() {
                previous.abort();
            }
            let task = tokio::spawn(async move {
                tokio::time::sleep(DETAIL_DEBOUNCE).await;
                if let Err(error) = client.put_presence(&update).await {
                    // The next heartbeat says it again; the poll's failures are what show.
                    tracing::warn!("presence: {error}");
                }
            });
            *presence = Some(task.abort_handle());
        }
        Effect::FetchDepartments => {
            tokio::spawn(async move {
                match client.departments().await {
                    Ok(list) => {
                        let _ = tx.send(Action::DepartmentsLoaded(list));
                    }
                    Err(error) => tracing::warn!("departments not refreshed: {error}"),
                }
            });
        }
        Effect::PutDuty {
            department_id,
            roster,
        } => {
            tokio::spawn(async move {
                let _ = tx.send(match client.put_duty(department_id, &roster).await {
                    Ok(()) => Action::DutySaved,
                    Err(error) => Action::DutyFailed { error },
                });
            });
        }
        Effect::Shift(request) => {
            tokio::spawn(async move {
                let _ = tx.send(Action::Shifts(shift_request(&client, request).await));
            });
        }
        Effect::RefreshNow => {
            wake.refresh.notify_one();
            wake.presence.notify_one();
        }
        Effect::Resnapshot => wake.resnapshot.notify_one(),
        Effect::Alarm(alarm) => {
            // BEL and OSC sequences move no cursor: safe between two frames.
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(&alarm.bytes()).and_then(|()| out.flush());
        }
        Effect::RetireAnswer {
            id,
            idempotency_key,
        } => {
            tokio::spawn(async move {
                let _ = tx.send(match client.retire_answer(id, &idempotency_key).await {
                    Ok(a) => Action::AnswerRetired(Box::new(a)),
                    Err(error) => Action::AnswerRetireFailed { id, error },
                });
            });
        }
        Effect::SaveAnswer {
            editing,
            new,
            idempotency_key,
        } => {
            tokio::spawn(async move {
                let saved = match editing {
                    Some((id, version)) => client.update_answer(id, version, &new).await,
                    None => client.create_answer(&new, &idempotency_key).await,
                };
                let _ = tx.send(match saved {
                    Ok(a) => Action::AnswerSaved(Box::new(a)),
                    Err(error) => Action::AnswerSaveFailed { error },
                });
            });
        }
        Effect::FetchAnswerCases { id, days } => {
            tokio::spawn(async move {
                let _ = tx.send(match client.answer_cases(id, days).await {
                    Ok(cases) => Action::AnswerCasesLoaded(cases),
                    Err(error) => Action::AnswerCasesFailed { id, error },
                });
            });
        }
        Effect::FetchAnswers { all } => {
            tokio::spawn(async move {
                let a = match client.answers(all).await {
                    Ok(list) => Action::AnswersLoaded {
                        list,
                        at: Utc::now(),
                    },
                    Err(error) => {
                        tracing::warn!("answer library failed: {error}");
                        Action::AnswersFailed {
                            error,
                            at: Utc::now(),
                        }
                    }
                };
                let _ = tx.send(a);
            });
        }
        Effect::FetchReport => {
            tokio::spawn(async move {
                let a = match client
                    .get_json::<crate::report::DailyReport>("/api/v1/reports/daily")
                    .await
                {
                    Ok(report) => Action::ReportLoaded {
                        report: Box::new(report),
                        at: Utc::now(),
                    },
                    Err(error) => {
                        tracing::warn!("report failed: {error}");
                        Action::ReportFailed {
                            error,
                            at: Utc::now(),
                        }
                    }
                };
                let _ = tx.send(a);
            });
        }
        Effect::Act {
            request,
            case_id,
            version,
            action,
            idempotency_key,
        } => {
            tokio::spawn(async move {
                tracing::info!(case_id, version, action = action.name(), "act");
                let a = match client
                    .act(case_id, version, &action, &idempotency_key)
                    .await
                {
                    Ok(case) => Action::ActionDone {
                        request,
                        case: Box::new(case),
                    },
                    Err(error) => {
                        tracing::warn!(case_id, "act failed: {error}");
                        Action::ActionFailed { request, error }
                    }
                };
                let _ = tx.send(a);
            });
        }
        Effect::AnswerGroup {
            request,
            body,
            idempotency_key,
        } => {
            tokio::spawn(async move {
                tracing::info!(cases = body.cases.len(), "answer group");
                let a = match client.answer_group(&body, &idempotency_key).await {
                    Ok(outcome) => Action::GroupDone { request, outcome },
                    Err(error) => Action::GroupFailed { request, error },
                };
                let _ = tx.send(a);
            });
        }
        Effect::MergeGroup {
            request,
            body,
            idempotency_key,
        } => {
            tokio::spawn(async move {
                tracing::info!(into = body.into, cases = body.cases.len(), "merge group");
                let a = match client.merge_group(&body, &idempotency_key).await {
                    Ok(outcome) => Action::GroupDone { request, outcome },
                    Err(error) => Action::GroupFailed { request, error },
                };
                let _ = tx.send(a);
            });
        }
        Effect::Create {
            request,
            case,
            idempotency_key,
        } => {
            tokio::spawn(async move {
                let a = match client.create_case(&case, &idempotency_key).await {
                    Ok(case) => Action::ActionDone {
                        request,
                        case: Box::new(case),
                    },
                    Err(error) => {
                        tracing::warn!("create failed: {error}");
                        Action::ActionFailed { request, error }
                    }
                };
                let _ = tx.send(a);
            });
        }
        Effect::FetchDetail {
            case_id,
            reveal_phone,
        } => {
            // A newer request for the detail replaces one not yet answered.
            if let Some(previous) = detail.take() {
                previous.abort();
            }
            let task = tokio::spawn(async move {
                tokio::time::sleep(DETAIL_DEBOUNCE).await;
                let r = if reveal_phone {
                    client.case_with_phone(case_id).await
                } else {
                    client.case(case_id).await
                };
                let _ = tx.send(match r {
                    Ok(d) => Action::DetailLoaded(Box::new(d)),
                    Err(error) => Action::DetailFailed { case_id, error },
                });
            });
            *detail = Some(task.abort_handle());
        }
        Effect::LookupSoon { generation } => {
            tokio::spawn(async move {
                tokio::time::sleep(super::app::LOOKUP_DEBOUNCE).await;
                let _ = tx.send(Action::LookupDue(generation));
            });
        }
        Effect::LookupCaller {
            generation,
            phone,
            requester,
        } => {
            tokio::spawn(async move {
                let q = ListQuery {
                    phone,
                    requester,
                    limit: Some(20),
                    ..ListQuery::default()
                };
                let _ = tx.send(match client.list(&q).await {
                    Ok(list) => Action::CallerCasesLoaded { generation, list },
                    Err(error) => {
                        tracing::warn!("caller lookup failed: {error}");
                        Action::CallerLookupFailed { generation, error }
                    }
                });
            });
        }
        Effect::Search { query } => {
            tokio::spawn(async move {
                let q = ListQuery {
                    q: Some(query.clone()),
                    limit: Some(200),
                    ..ListQuery::default()
                };
                let _ = tx.send(match client.list(&q).await {
                    Ok(list) => Action::SearchLoaded { query, list },
                    Err(error) => Action::SearchFailed { query, error },
                });
            });
        }
    }
}

/// Performs a shift request; its answer, or its failure, as the app's action.
async fn shift_request(
    client: &Client,
    request: super::app::ShiftRequest,
) -> super::app::ShiftAction {
    use super::app::{ShiftAction as A, ShiftRequest as R};
    let result = match &request {
        R::Start { key } => client.start_shift(key).await.map(A::Started),
        R::End { note, key } => client
            .end_shift(&crate::wire::EndShift { note: note.clone() }, key)
            .await
            .map(|b| A::Ended(Box::new(b))),
        R::Unacknowledged => client.handovers(true).await.map(A::Unacknowledged),
        R::Ack { id, key } => client
            .ack_handover(*id, key)
            .await
            .map(|b| A::Acked(Box::new(b))),
        R::List => client.shifts(false).await.map(A::Listed),
        R::Recent => client.handovers(false).await.map(A::Recent),
        R::HandOver { shift_id, to, key } => client
            .hand_over_claims(
                *shift_id,
                &crate::wire::HandOverClaims { to: to.clone() },
                key,
            )
            .await
            .map(A::HandedOver),
    };
    result.unwrap_or_else(|error| {
        tracing::warn!("shift request failed: {error}");
        A::Failed { request, error }
    })
}
