//! The inside of a node worker: one `pgplay_node::Node`, driven by messages
//! from the page and from peer workers, by `setTimeout` for its timers, and
//! by the browser clock for `now`. Everything the node asks for goes out as
//! messages: replication frames on MessagePorts, connection requests and
//! batched events to the page.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use js_sys::{Array, Atomics, Int32Array, Uint8Array};
use pgplay_cluster::link::{broken_log_line, BreakReason, Held, InOrder, Offer};
use pgplay_engine::explain::{explain_with, ExplainCatalog};
use pgplay_engine::interrupt::InterruptSource;
use pgplay_engine::SessionId;
use pgplay_node::durable::DurableCopy;
use pgplay_node::{coalesce_sends, Node, Output, PeerEvent, Psql, RecoveryConf};
use pgplay_psql::TxStatus;
use pgplay_replication::{ConnId, Message, MAX_SEND_SIZE};
use pgplay_wal::time::{from_unix_millis, Timestamp};
use pgplay_wal::{Lsn, ReadRecord, SegmentSize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent, MessagePort, Performance};

use crate::protocol::*;

thread_local! {
    /// The worker's `performance`, looked up once: `now` runs for every statement.
    static PERFORMANCE: Option<Performance> = js_sys::global()
        .dyn_into::<DedicatedWorkerGlobalScope>()
        .ok()
        .and_then(|scope| scope.performance());
}

/// Milliseconds since 1970 by the browser's high-resolution clock
/// (`performance.timeOrigin + performance.now()`), comparable across workers.
fn now_millis() -> f64 {
    PERFORMANCE.with(|p| match p {
        Some(p) => p.time_origin() + p.now(),
        None => js_sys::Date::now(),
    })
}

/// Microseconds since 2000-01-01 by [`now_millis`].
fn now() -> Timestamp {
    from_unix_millis(0) + (now_millis() * 1000.0) as i64
}

/// `statement_timeout` on the browser's clock: a statement runs in real time here.
#[derive(Default)]
struct BrowserClock {
    started: Timestamp,
}

impl InterruptSource for BrowserClock {
    fn statement_started(&mut self) {
        self.started = now();
    }
    fn elapsed_micros(&mut self, _work: u64) -> i64 {
        now() - self.started
    }
    fn take_cancel(&mut self) -> bool {
        take_shared_cancel()
    }
}

thread_local! {
    /// The page's cancel flag, shared memory the page writes while this worker is busy running a
    /// statement (a message would wait until the statement ends). Only on a cross-origin
    /// isolated page, where SharedArrayBuffer exists; elsewhere a cancel ends only sleeps and
    /// waits, and `statement_timeout` still ends any statement.
    static CANCEL_FLAG: RefCell<Option<Int32Array>> = const { RefCell::new(None) };
    /// The [`cancel_tag`] of the session whose statement runs now (0: none).
    static RUNNING: Cell<i32> = const { Cell::new(0) };
}

/// The statement running now was cancelled from the page: true once, and the flag is cleared.
fn take_shared_cancel() -> bool {
    let running = RUNNING.with(Cell::get);
    if running == 0 {
        return false;
    }
    CANCEL_FLAG.with(|flag| {
        let flag = flag.borrow();
        let Some(flag) = flag.as_ref() else {
            return false;
        };
        Atomics::compare_exchange(flag, 0, running, 0).is_ok_and(|old| old == running)
    })
}

/// Forgets a cancel meant for `session`'s statement that ended before it saw it.
fn clear_shared_cancel(session: &str) {
    CANCEL_FLAG.with(|flag| {
        if let Some(flag) = flag.borrow().as_ref() {
            let _ = Atomics::compare_exchange(flag, 0, cancel_tag(session), 0);
        }
    });
}

/// Runs `f` as `session`'s statement: the page's cancel flag for it counts meanwhile.
fn running_for<T>(session: &str, f: impl FnOnce() -> T) -> T {
    RUNNING.with(|running| running.set(cancel_tag(session)));
    let out = f();
    RUNNING.with(|running| running.set(0));
    out
}

/// One replication connection's end in this worker, with the faults of its
/// link applied to what this end sends (`pgplay_cluster::link`).
struct Link {
    port: MessagePort,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    fault: LinkFault,
    /// What a partition holds of this end's frames.
    held: Held<Vec<u8>>,
    /// The due times of this end's frames, kept in order.
    in_order: InOrder,
    /// The node at the other end.
    peer: String,
}

struct State {
    scope: DedicatedWorkerGlobalScope,
    node: Option<Node>,
    links: BTreeMap<u64, Link>,
    sessions: BTreeMap<String, Psql>,
    timer: Option<(i32, Timestamp)>,
    events: Vec<Event>,
    /// WAL records not described to the page since the last batch.
    skipped: u64,
    log_seen: u64,
    wal_seen: Lsn,
    /// The newest WAL records since the last batch (at most `WAL_EVENTS_PER_BATCH`): only these
    /// are put into words, once per batch, not every record as it is written.
    recent_wal: VecDeque<ReadRecord>,
    explain: Option<ExplainCatalog>,
    batch_scheduled: bool,
    /// The role and walreceiver state the page was last told: a change is sent at once, not
    /// with the next batch (the page waits for "streaming" to show the cluster).
    shown_state: Option<(&'static str, Option<&'static str>)>,
    /// Commit-to-replay lag of each replayed commit (µs), newest last.
    lags: VecDeque<Timestamp>,
    /// psql requests whose backend waits for synchronous standbys, by
    /// session: the request to answer and what psql printed so far. At most
    /// one per session, so bounded by the sessions the page opens.
    waiting: BTreeMap<String, (u32, String)>,
    /// psql requests whose statement sleeps (`pg_sleep`), by session: the request answered
    /// when the time is up, or at once by a cancel. At most one per session.
    sleeping: BTreeMap<String, u32>,
    /// Work queued behind the messages already waiting ([`yield_then`]): at most one benchmark
    /// slice at a time.
    yielded: VecDeque<Box<dyn FnOnce()>>,
    /// The port [`yield_then`] posts to (its pair's handler runs the queued work).
    yield_port: Option<YieldPort>,
    /// A benchmark load waiting for the standbys to replay its last commit.
    load: Option<LoadWait>,
    /// The `remote_apply` probe under way.
    probe: Option<Probe>,
}

/// The channel [`yield_then`] posts to itself through: the port it posts to, the port that
/// listens, and the listener (kept alive with them).
type YieldPort = (MessagePort, MessagePort, Closure<dyn FnMut(MessageEvent)>);

/// A finished load, answered once every walsender's standby replayed up to `target`.
struct LoadWait {
    request: u32,
    rows: u32,
    started: f64,
    commit_ms: f64,
    target: Lsn,
}

/// Commits one after another under `synchronous_commit = remote_apply`, each timed in this worker
/// from the INSERT until the synchronous standby's reply released it.
struct Probe {
    request: u32,
    session: SessionId,
    left: u32,
    started: f64,
    samples: Vec<f64>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|cell| cell.borrow_mut().as_mut().map(f))
}

fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
    let bytes = Uint8Array::from(encode(message).as_slice());
    let transfer = Array::of1(&bytes.buffer());
    let _ = scope.post_message_with_transfer(&bytes, &transfer);
}

/// Worker entry: listen, then say so.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        web_sys::console::error_1(&JsValue::from_str(&text));
        if let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() {
            post(&scope, &FromWorker::Panicked(text));
        }
    }));
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    STATE.with(|cell| {
        *cell.borrow_mut() = Some(State {
            scope: scope.clone(),
            node: None,
            links: BTreeMap::new(),
            sessions: BTreeMap::new(),
            timer: None,
            events: Vec::new(),
            skipped: 0,
            log_seen: 0,
            wal_seen: Lsn::INVALID,
            recent_wal: VecDeque::new(),
            explain: None,
            batch_scheduled: false,
            shown_state: None,
            lags: VecDeque::new(),
            waiting: BTreeMap::new(),
            sleeping: BTreeMap::new(),
            yielded: VecDeque::new(),
            yield_port: None,
            load: None,
            probe: None,
        })
    });
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        if let Some(flag) = event.data().dyn_ref::<Int32Array>() {
            CANCEL_FLAG.with(|shared| *shared.borrow_mut() = Some(flag.clone()));
            return;
        }
        let bytes = Uint8Array::new(&event.data()).to_vec();
        match decode::<ToWorker>(&bytes) {
            Ok(message) => {
                let port = event.ports().get(0).dyn_into::<MessagePort>().ok();
                handle(message, port);
            }
            Err(error) => web_sys::console::error_1(&JsValue::from_str(&error)),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&scope, &FromWorker::Ready);
}

fn reply(request: u32, reply: Reply) {
    with_state(|s| {
        post_durable(s);
        post(&s.scope, &FromWorker::Reply { request, reply })
    });
}

/// Sends the page what changed in the node's data directory, if anything
/// did. Called before replies and before the node's messages go out, so
/// that a commit acknowledged to psql or a flush confirmed to the upstream
/// is in the page's copy when this worker dies.
fn post_durable(s: &mut State) {
    if let Some(changes) = s.node.as_mut().and_then(|n| n.take_durable_changes()) {
        post(&s.scope, &FromWorker::Durable(Box::new(changes)));
    }
}

fn handle(message: ToWorker, port: Option<MessagePort>) {
    let now = now();
    match message {
        ToWorker::Init {
            name,
            id,
            port: listen,
            start,
        } => {
            let mut node = match start {
                NodeStart::Initdb {
                    system_identifier,
                    segment_size,
                } => {
                    let size = segment_size.and_then(SegmentSize::new);
                    let mut node = Node::initdb(&name, system_identifier, size, now);
                    node.place(id, listen);
                    node
                }
                NodeStart::Recover { bytes } => match recover(&bytes, id, now) {
                    Ok(node) => node,
                    Err(error) => {
                        web_sys::console::error_1(&JsValue::from_str(&error));
                        return;
                    }
                },
                NodeStart::Image { bytes, start } => match Node::from_image(&bytes, now) {
                    Ok(mut node) => {
                        node.name = name;
                        node.place(id, listen);
                        if start {
                            let _ = node.start(now);
                        }
                        node
                    }
                    Err(error) => {
                        web_sys::console::error_1(&JsValue::from_str(&error));
                        return;
                    }
                },
            };
            node.db
                .interrupts
                .set_source(Box::new(BrowserClock::default()));
            with_state(|s| s.node = Some(node));
        }
        ToWorker::Psql {
            request,
            session,
            line,
        } => {
            // `None`: the answer comes later, when the commit's wait for
            // synchronous standbys ends ([`resolve_waits`]).
            let answer = with_state(|s| {
                let Some(node) = s.node.as_mut() else {
                    return Some((String::new(), 0));
                };
                let psql = s.sessions.entry(session.clone()).or_insert_with(|| {
                    let mut psql = node.connect();
                    // `\timing` in the page shows the browser's time.
                    psql.clock = Some(now_millis);
                    psql
                });
                let out = running_for(&session, || node.psql_line(now, psql, &line));
                if psql.waiting.is_some() {
                    if s.waiting.contains_key(&session) {
                        // Typed while waiting: psql queued it; its output
                        // comes with the waiting request's answer.
                        return Some((String::new(), 0));
                    }
                    s.waiting.insert(session.clone(), (request, out));
                    return None;
                }
                // A session on a server that restarted is a new backend.
                if node.db.session(psql.session).is_none() {
                    psql.session = node.db.open_session();
                }
                Some((out, node.db.take_time_taken()))
            })
            .unwrap_or(Some(Default::default()));
            let Some((out, sleep_micros)) = answer else {
                pump();
                return;
            };
            // pg_sleep(): this backend answers late; the server goes on meanwhile, and a
            // cancel may answer first.
            let delay_ms = (sleep_micros.max(0) / 1000).min(u32::MAX as i64) as u32;
            if delay_ms == 0 {
                reply(request, Reply::Text(out));
            } else {
                answer_after_sleep(request, session, out, delay_ms);
            }
        }
        ToWorker::TakeError { request, session } => {
            let error = with_state(|s| s.sessions.get_mut(&session)?.take_error()).flatten();
            let json = error.map(|e| {
                serde_json::to_string(&crate::embed::SqlError {
                    severity: e.severity,
                    sqlstate: e.sqlstate,
                    message: e.message,
                    detail: e.detail,
                    hint: e.hint,
                })
                .unwrap_or_default()
            });
            reply(request, Reply::Text(json.unwrap_or_default()));
        }
        ToWorker::ArchiveResult { result } => {
            with_state(|s| {
                if let Some(node) = s.node.as_mut() {
                    node.archive_result(now, result);
                }
            });
        }
        ToWorker::RestoreResult { result } => {
            with_state(|s| {
                if let Some(node) = s.node.as_mut() {
                    node.restore_result(now, result);
                }
            });
        }
        ToWorker::Cancel { session } => {
            clear_shared_cancel(&session);
            let slept = with_state(|s| {
                let request = s.sleeping.remove(&session)?;
                let node = s.node.as_mut()?;
                let psql = s.sessions.get(&session)?;
                Some((request, node.psql_cancelled(psql)))
            })
            .flatten();
            if let Some((request, text)) = slept {
                reply(request, Reply::Text(text));
            } else {
                cancel_wait(&session);
            }
        }
        ToWorker::Command { request, command } => {
            let result = with_state(|s| match s.node.as_mut() {
                Some(node) => pgplay_cluster::run_local(node, now, &command),
                None => Err("the server is not initialized".into()),
            })
            .unwrap_or_else(|| Err("no worker state".into()));
            reply(
                request,
                match result {
                    Ok(text) => Reply::Text(text),
                    Err(text) => Reply::Failed(text),
                },
            );
        }
        ToWorker::BaseBackup {
            request,
            name,
            user,
            password,
            write_recovery_conf,
            name_in_conninfo,
            slot,
        } => {
            let recovery_conf = match (write_recovery_conf, name_in_conninfo) {
                (true, true) => RecoveryConf::WrittenNamed,
                (write, _) => RecoveryConf::from_flag(write),
            };
            let result = with_state(|s| {
                let node = s.node.as_mut().ok_or("not initialized".to_string())?;
                let slot = slot.as_ref().map(|(s, create)| (s.as_str(), *create));
                node.base_backup_with_slot(
                    now,
                    &name,
                    &user,
                    password.as_deref(),
                    recovery_conf,
                    slot,
                )
                .map(|copy| copy.to_image())
            })
            .unwrap_or_else(|| Err("no worker state".into()));
            reply(
                request,
                match result {
                    Ok(bytes) => Reply::Image(bytes),
                    Err(text) => Reply::Failed(text),
                },
            );
        }
        ToWorker::Cut { conn } => break_link(conn, BreakReason::Cut),
        ToWorker::PeerPort {
            conn,
            role,
            fault,
            peer,
        } => {
            if let Some(port) = port {
                attach(conn, port, fault, peer);
                let event = match role {
                    PeerRole::Client => PeerEvent::Connected,
                    PeerRole::Server {
                        client_addr,
                        client_port,
                    } => PeerEvent::Accepted {
                        client_addr,
                        client_port,
                    },
                };
                with_state(|s| {
                    if let Some(node) = s.node.as_mut() {
                        node.handle_peer(now, ConnId(conn), event);
                    }
                });
            }
        }
        ToWorker::PeerGone { conn } => {
            with_state(|s| {
                if let Some(link) = s.links.remove(&conn) {
                    link.port.close();
                }
                if let Some(node) = s.node.as_mut() {
                    node.handle_peer(now, ConnId(conn), PeerEvent::Closed);
                }
            });
        }
        ToWorker::ConnectRefused { conn } => {
            with_state(|s| {
                if let Some(node) = s.node.as_mut() {
                    node.handle_peer(now, ConnId(conn), PeerEvent::Refused);
                }
            });
        }
        ToWorker::WriteFile {
            request,
            file,
            text,
        } => {
            let result = with_state(|s| match s.node.as_mut() {
                Some(node) => node.write_file(&file, &text),
                None => Err("the server is not initialized".into()),
            })
            .unwrap_or_else(|| Err("no worker state".into()));
            reply(
                request,
                match result {
                    Ok(()) => Reply::Text(String::new()),
                    Err(text) => Reply::Failed(text),
                },
            );
        }
        ToWorker::Load {
            request,
            rows,
            per_second,
        } => {
            start_load(request, rows, per_second);
        }
        ToWorker::SyncProbe { request, commits } => start_probe(request, commits),
        ToWorker::LagStats { request, reset } => {
            let json = with_state(|s| {
                let millis: Vec<f64> = s
                    .lags
                    .iter()
                    .map(|micros| *micros as f64 / 1000.0)
                    .collect();
                if reset {
                    s.lags.clear();
                }
                latency_summary("count", millis)
            })
            .unwrap_or_default();
            reply(request, Reply::Text(json));
        }
        ToWorker::SetFault { conn, fault } => {
            let flush = with_state(|s| {
                let link = s.links.get_mut(&conn)?;
                link.fault = fault;
                let released = link.held.release(fault);
                let after = Timestamp::from(fault.delay_ms) * 1000;
                let frames: Vec<(Vec<u8>, u32)> = released
                    .into_iter()
                    .map(|bytes| (bytes, wait_ms(link.in_order.due(now, after), now)))
                    .collect();
                Some((link.port.clone(), frames))
            })
            .flatten();
            if let Some((port, frames)) = flush {
                for (bytes, delay_ms) in frames {
                    post_frame(&port, bytes, delay_ms);
                }
            }
        }
    }
    pump();
}

/// A node started again from the data directory the page kept: crash
/// recovery if it was running, as after a crash of its server process.
fn recover(bytes: &[u8], id: u32, now: Timestamp) -> Result<Node, String> {
    let copy = DurableCopy::from_bytes(bytes)?;
    let mut node = Node::from_durable(&copy, now)?;
    node.set_id(id);
    if copy.was_running() {
        // A failed start is in the node's log, which the page shows.
        let _ = node.start(now);
    }
    Ok(node)
}

/// Wires a replication port: frames from the peer go to the node.
fn attach(conn: u64, port: MessagePort, fault: LinkFault, peer: String) {
    let from = peer.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let bytes = Uint8Array::new(&event.data()).to_vec();
        let (peer_event, broken) = match decode::<PeerFrame>(&bytes) {
            Ok(PeerFrame::Message(inner)) => match decode::<Message>(&inner) {
                Ok(message) => (PeerEvent::Message(message), None),
                Err(_) => (PeerEvent::Closed, None),
            },
            Ok(PeerFrame::Broken(reason)) => (PeerEvent::Closed, Some(reason)),
            _ => (PeerEvent::Closed, None),
        };
        let closed = peer_event == PeerEvent::Closed;
        with_state(|s| {
            if let Some(node) = s.node.as_mut() {
                if let Some(reason) = broken {
                    node.log_from_driver(broken_log_line(&from, reason));
                }
                node.handle_peer(now(), ConnId(conn), peer_event);
            }
            if closed {
                if let Some(link) = s.links.remove(&conn) {
                    link.port.close();
                }
            }
        });
        pump();
    });
    port.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    with_state(|s| {
        s.links.insert(
            conn,
            Link {
                port,
                _onmessage: onmessage,
                fault,
                held: Held::default(),
                in_order: InOrder::default(),
                peer,
            },
        )
    });
}

fn post_frame(port: &MessagePort, bytes: Vec<u8>, delay_ms: u32) {
    let send = {
        let port = port.clone();
        move || {
            let array = Uint8Array::from(bytes.as_slice());
            let transfer = Array::of1(&array.buffer());
            let _ = port.post_message_with_transferable(&array, &transfer);
        }
    };
    after_ms(delay_ms, send);
}

/// Runs `f` after `delay_ms` (at once when zero), on this worker's timers.
/// psql's Ctrl+C for a backend waiting for synchronous standbys: the WARNING joins what the
/// waiting request will print.
fn cancel_wait(session: &str) {
    let note = with_state(|s| {
        let node = s.node.as_mut()?;
        let psql = s.sessions.get(session)?;
        Some(node.psql_cancel(psql))
    })
    .flatten()
    .unwrap_or_default();
    with_state(|s| {
        if let Some((_, out)) = s.waiting.get_mut(session) {
            out.push_str(&note);
        }
    });
}

/// pg_sleep(): the psql request is answered once the time is up, unless a cancel answered it
/// first (the statement's session is then no longer in `sleeping`).
fn answer_after_sleep(request: u32, session: String, out: String, delay_ms: u32) {
    with_state(|s| s.sleeping.insert(session.clone(), request));
    after_ms(delay_ms, move || {
        let still_sleeping = with_state(|s| {
            let ours = s.sleeping.get(&session) == Some(&request);
            if ours {
                s.sleeping.remove(&session);
            }
            ours
        });
        if still_sleeping == Some(true) {
            reply(request, Reply::Text(out));
        }
    });
}

fn after_ms(delay_ms: u32, f: impl FnOnce() + 'static) {
    if delay_ms == 0 {
        f();
        return;
    }
    let callback = Closure::once_into_js(f);
    with_state(|s| {
        let _ = s
            .scope
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.unchecked_ref(),
                delay_ms.min(i32::MAX as u32) as i32,
            );
    });
}

/// Milliseconds from `now` until `due` (µs), rounded up so that a frame
/// never fires before the one due before it.
fn wait_ms(due: Timestamp, now: Timestamp) -> u32 {
    let micros = (due - now).max(0);
    ((micros + 999) / 1000).min(i64::from(i32::MAX)) as u32
}

/// Sends one frame on a link, honouring its faults (`pgplay_cluster::link`, as
/// the simulator does): delayed, sent again after losses, held by a partition,
/// or the connection breaks.
fn send_on(conn: u64, frame: &PeerFrame) {
    let bytes = encode(frame);
    let now = now();
    let offer = with_state(|s| {
        let link = s.links.get_mut(&conn)?;
        let draw = || (js_sys::Math::random() * 100.0) as u32;
        Some(match link.held.offer(link.fault, bytes, draw) {
            Offer::Send { frame, delay_ms } => {
                let due = link.in_order.due(now, Timestamp::from(delay_ms) * 1000);
                Ok(Some((link.port.clone(), frame, wait_ms(due, now))))
            }
            Offer::Held => Ok(None),
            Offer::Break(reason) => Err(reason),
        })
    })
    .flatten();
    match offer {
        Some(Ok(Some((port, bytes, delay_ms)))) => post_frame(&port, bytes, delay_ms),
        Some(Err(reason)) => break_link(conn, reason),
        _ => {}
    }
}

/// The network breaks a connection: the other end hears at once, whatever
/// the link holds back (as both ends of a broken TCP connection come to
/// know), this node's connection closes, and its server log says why.
fn break_link(conn: u64, reason: BreakReason) {
    let Some(link) = with_state(|s| s.links.remove(&conn)).flatten() else {
        return;
    };
    post_frame(&link.port, encode(&PeerFrame::Broken(reason)), 0);
    link.port.close();
    with_state(|s| {
        if let Some(node) = s.node.as_mut() {
            node.log_from_driver(broken_log_line(&link.peer, reason));
            node.handle_peer(now(), ConnId(conn), PeerEvent::Closed);
        }
    });
}

/// Carries out the node's outputs, rearms its timer, gathers events.
fn pump() {
    loop {
        loop {
            let outputs = with_state(|s| {
                // What leaves the worker next may tell a standby about WAL: it is in the page first.
                post_durable(s);
                let node = s.node.as_mut()?;
                let drained: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
                (!drained.is_empty()).then(|| coalesce_sends(drained, MAX_SEND_SIZE as usize))
            })
            .flatten();
            let Some(outputs) = outputs else {
                break;
            };
            outputs.into_iter().for_each(carry_out);
        }
        // A released wait may have run the statements queued behind it: their WAL goes out in
        // this turn too.
        let resumed = resolve_waits();
        let probed = advance_probe();
        if !resumed && !probed {
            break;
        }
    }
    answer_load_when_replicated();
    arm_timer();
    gather_events();
}

/// One output of the node, done.
fn carry_out(output: Output) {
    match output {
        Output::Connect { conn, host, port } => {
            with_state(|s| {
                post(
                    &s.scope,
                    &FromWorker::Connect {
                        conn: conn.0,
                        host,
                        port,
                    },
                )
            });
        }
        Output::Send { conn, message } => {
            send_on(conn.0, &PeerFrame::Message(encode(&message)));
        }
        Output::ArchivePut {
            path,
            bytes,
            unless_exists,
            ..
        } => with_state(|s| {
            post(
                &s.scope,
                &FromWorker::ArchivePut {
                    path,
                    bytes,
                    unless_exists,
                },
            )
        })
        .unwrap_or_default(),
        Output::ArchiveGet { path, .. } => {
            with_state(|s| post(&s.scope, &FromWorker::ArchiveGet { path })).unwrap_or_default()
        }
        Output::Close { conn } => {
            send_on(conn.0, &PeerFrame::Close);
            with_state(|s| {
                if let Some(link) = s.links.remove(&conn.0) {
                    link.port.close();
                }
            });
        }
    }
}

/// Answers the psql requests whose wait for synchronous standbys has ended; whether any wait
/// ended (the statements queued behind it then ran).
fn resolve_waits() -> bool {
    let answered = with_state(|s| {
        let node = s.node.as_mut()?;
        let now = now();
        let mut answered = Vec::new();
        let mut resumed = false;
        let sessions: Vec<String> = s.waiting.keys().cloned().collect();
        for name in sessions {
            let Some(psql) = s.sessions.get_mut(&name) else {
                continue;
            };
            if let Some(more) = node.psql_resume(now, psql) {
                resumed = true;
                if let Some((_, out)) = s.waiting.get_mut(&name) {
                    out.push_str(&more);
                }
            }
            if psql.waiting.is_none() {
                if let Some(done) = s.waiting.remove(&name) {
                    answered.push(done);
                }
            }
        }
        Some((answered, resumed))
    })
    .flatten()
    .unwrap_or_default();
    let (answered, resumed) = answered;
    for (request, out) in answered {
        reply(request, Reply::Text(out));
    }
    resumed
}

fn arm_timer() {
    let wanted = with_state(|s| s.node.as_ref().and_then(|n| n.poll_timeout())).flatten();
    let Some(at) = wanted else {
        return;
    };
    let armed = with_state(|s| s.timer.map(|(_, t)| t)).flatten();
    if armed.is_some_and(|t| t <= at) {
        return;
    }
    let delay = ((at - now()) / 1000).clamp(0, i32::MAX as i64) as i32;
    let callback = Closure::once_into_js(move || {
        with_state(|s| {
            s.timer = None;
            if let Some(node) = s.node.as_mut() {
                node.handle_timeout(now());
            }
        });
        pump();
    });
    with_state(|s| {
        if let Some((id, _)) = s.timer.take() {
            s.scope.clear_timeout_with_handle(id);
        }
        if let Ok(id) = s
            .scope
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay)
        {
            s.timer = Some((id, at));
        }
    });
}

/// New log lines and WAL records, queued for the next batch.
fn gather_events() {
    let changed = with_state(|s| {
        if s.node.is_none() {
            return false;
        }
        gather_log(s);
        gather_wal(s);
        let state = s.node.as_ref().map(|n| {
            let status = n.status();
            (status.role, status.receiver)
        });
        let changed = state != s.shown_state;
        s.shown_state = state;
        if !s.batch_scheduled {
            s.batch_scheduled = true;
            let callback = Closure::once_into_js(flush_batch);
            let _ = s
                .scope
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    callback.unchecked_ref(),
                    BATCH_INTERVAL_MS,
                );
        }
        changed
    });
    if changed == Some(true) {
        yield_then(flush_batch_now);
    }
}

fn gather_log(s: &mut State) {
    let Some(node) = s.node.as_mut() else {
        return;
    };
    let total = node.log_total();
    if total <= s.log_seen {
        return;
    }
    let new = (total - s.log_seen) as usize;
    let lines: Vec<String> = node.log().cloned().collect();
    s.log_seen = total;
    for line in lines.iter().skip(lines.len().saturating_sub(new)) {
        push_event(s, Event::Log(line.clone()));
    }
}

/// The WAL flushed since the last look: on a standby each replayed commit's lag; and the newest
/// records, kept for the next batch's narration.
fn gather_wal(s: &mut State) {
    let Some(node) = s.node.as_ref() else {
        return;
    };
    let flushed = node.db.wal.flush_lsn();
    let oldest = node.db.wal.oldest_segment_start().unwrap_or(flushed);
    if s.wal_seen == Lsn::INVALID || s.wal_seen < oldest {
        // At start, or the checkpointer recycled segments we had not described.
        s.wal_seen = oldest;
    }
    if flushed <= s.wal_seen {
        return;
    }
    let standby = node.db.in_recovery;
    let at = now();
    let reads = node
        .db
        .wal
        .records_from(s.wal_seen)
        .map_while(Result::ok)
        .take_while(|r| r.end <= flushed);
    for read in reads {
        s.wal_seen = node.db.wal.position_after(&read.record, read.end);
        if standby {
            record_lag(&mut s.lags, at, &read.record);
        }
        if s.recent_wal.len() == WAL_EVENTS_PER_BATCH {
            s.recent_wal.pop_front();
            s.skipped += 1;
        }
        s.recent_wal.push_back(read);
    }
}

/// The records kept since the last batch, in pg_waldump's words and in plain words.
fn narrate_wal(s: &mut State) -> Vec<Event> {
    let Some(node) = s.node.as_ref() else {
        s.recent_wal.clear();
        return Vec::new();
    };
    if s.recent_wal.is_empty() {
        return Vec::new();
    }
    if !s.explain.as_ref().is_some_and(|e| e.is_current(&node.db)) {
        s.explain = Some(ExplainCatalog::new(&node.db));
    }
    let catalog = s.explain.as_ref().expect("just built");
    s.recent_wal
        .drain(..)
        .map(|r| Event::Wal {
            lsn: r.lsn.to_string(),
            end: r.end.to_string(),
            waldump: r.record.waldump_line(r.lsn, r.length),
            explain: explain_with(catalog, &r.record),
        })
        .collect()
}

/// A standby's commit-to-replay lag for a replayed commit, in a ring of `LAG_SAMPLES`.
fn record_lag(lags: &mut VecDeque<Timestamp>, at: Timestamp, record: &pgplay_wal::Record) {
    if let pgplay_wal::RecordBody::Transaction(pgplay_wal::TransactionRecord::Commit {
        time, ..
    }) = &record.body
    {
        if lags.len() == LAG_SAMPLES {
            lags.pop_front();
        }
        lags.push_back(at - time);
    }
}

fn push_event(s: &mut State, event: Event) {
    if s.events.len() >= EVENT_BUFFER && matches!(event, Event::Wal { .. }) {
        s.skipped += 1;
        return;
    }
    s.events.push(event);
}

/// This worker's WebAssembly linear memory, in bytes.
fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map(|b| u64::from(b.byte_length()))
        .unwrap_or(0)
}

fn memory_detail(s: &State, node: &Node) -> MemoryDetail {
    let held = node.footprint();
    MemoryDetail {
        wal_segments: held.wal.segments as u64,
        wal_written_bytes: held.wal.written_bytes as u64,
        wal_allocated_bytes: held.wal.allocated_bytes as u64,
        wal_pooled_bytes: held.wal.pooled_bytes as u64,
        clog_bytes: held.clog_bytes as u64,
        tuples: held.tuples as u64,
        log_lines: held.log_lines as u64,
        events_queued: s.events.len() as u64,
        lag_samples: s.lags.len() as u64,
        held_frames: s.links.values().map(|l| l.held.len() as u64).sum(),
    }
}

fn status(s: &State, node: &Node) -> NodeStatus {
    let status = node.status();
    NodeStatus {
        id: node.id,
        port: node.port,
        role: status.role.to_string(),
        running: node.is_running(),
        timeline: status.timeline.0,
        write: status.write.to_string(),
        flush: status.flush.to_string(),
        // A standby whose replay pg_wal_replay_pause() stopped says so next to its replay LSN.
        replay: status.replay.map(|l| match node.db.replay_paused {
            true => format!("{l} (paused)"),
            false => l.to_string(),
        }),
        receiver: status.receiver.map(str::to_string),
        upstream: node.upstream(),
        senders: node
            .sender_positions()
            .into_iter()
            .map(|s| SenderStatus {
                lag_bytes: node.db.wal.flush_lsn().0.saturating_sub(s.replay.0),
                replay_lag_ms: s.replay_lag.map(|us| us as f64 / 1000.0),
                standby_id: s.standby_id,
                application_name: s.application_name,
                state: s.state,
                sent: s.sent.to_string(),
                write: s.write.to_string(),
                flush: s.flush.to_string(),
                replay: s.replay.to_string(),
                sync_state: s.sync_state.to_string(),
            })
            .collect(),
        transactions: open_transactions(s, node),
        memory_bytes: wasm_memory_bytes(),
        memory: memory_detail(s, node),
    }
}

/// The page's psql sessions on this node inside a transaction block (true:
/// a failed one), for their prompts.
fn open_transactions(s: &State, node: &Node) -> BTreeMap<String, bool> {
    s.sessions
        .iter()
        .filter_map(|(name, psql)| match node.transaction_status(psql) {
            TxStatus::Idle => None,
            TxStatus::InTransaction => Some((name.clone(), false)),
            TxStatus::Failed => Some((name.clone(), true)),
        })
        .collect()
}

/// A batch out of turn: the timer's batch comes as planned.
fn flush_batch_now() {
    with_state(send_batch);
}

fn flush_batch() {
    with_state(|s| {
        s.batch_scheduled = false;
        send_batch(s);
    });
}

fn send_batch(s: &mut State) {
    let mut events = std::mem::take(&mut s.events);
    if s.skipped > 0 {
        events.push(Event::WalSkipped(std::mem::take(&mut s.skipped)));
    }
    events.extend(narrate_wal(s));
    let node_status = s.node.as_ref().map(|node| status(s, node));
    events.extend(node_status.map(|status| Event::Status(Box::new(status))));
    post(&s.scope, &FromWorker::Events(events));
}

/// Commits the flat-out load runs between two pumps (which ship their WAL as one message).
const LOAD_CHUNK: u32 = 200;
/// Milliseconds the flat-out load runs before it lets the messages waiting for this worker in:
/// the standbys' replies, which move the walsenders' window (their WAL goes out at every pump).
/// Each yield costs a trip through the browser's message loop, so not too often.
const LOAD_SLICE_MS: f64 = 20.0;

/// The benchmark load: single-row autocommit INSERTs, all at once or paced
/// in 10 ms slices; WAL goes out to the standbys as it is committed. The
/// reply comes once every standby replayed the last commit.
fn start_load(request: u32, rows: u32, per_second: u32) {
    with_state(|s| {
        if let Some(node) = s.node.as_mut() {
            let mut psql = node.connect();
            node.psql_line(
                now(),
                &mut psql,
                "CREATE TABLE IF NOT EXISTS bench (id bigint, payload text);",
            );
        }
    });
    pump();
    let started = now_millis();
    let per_slice = if per_second == 0 {
        rows
    } else {
        (per_second / 100).max(1)
    };
    load_slice(request, 0, rows, per_slice, per_second == 0, started);
}

/// Rows `from..end` in one session.
fn insert_rows(from: u32, end: u32) {
    with_state(|s| {
        if let Some(node) = s.node.as_mut() {
            let session = node.db.open_session();
            let mut sql = String::with_capacity(64);
            for row in from..end {
                use std::fmt::Write;
                sql.clear();
                let _ = write!(sql, "INSERT INTO bench VALUES ({row}, 'row {row}')");
                node.execute(now(), session, &sql);
            }
            node.db.close_session(session);
        }
    });
}

fn load_slice(request: u32, done: u32, rows: u32, per_slice: u32, flat_out: bool, started: f64) {
    let slice_start = now_millis();
    let mut end = (done + per_slice).min(rows);
    let mut id = done;
    while id < end {
        let chunk_end = (id + LOAD_CHUNK).min(end);
        insert_rows(id, chunk_end);
        pump();
        id = chunk_end;
        if flat_out && now_millis() - slice_start >= LOAD_SLICE_MS {
            end = id;
        }
    }
    if end >= rows {
        load_done(request, rows, started);
        return;
    }
    let next = move || load_slice(request, end, rows, per_slice, flat_out, started);
    if flat_out {
        yield_then(next);
        return;
    }
    let callback = Closure::once_into_js(next);
    with_state(|s| {
        let _ = s
            .scope
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), 10);
    });
}

/// The last commit is in: the answer waits for the standbys to replay it.
fn load_done(request: u32, rows: u32, started: f64) {
    let commit_ms = now_millis() - started;
    with_state(|s| {
        let target = s
            .node
            .as_ref()
            .map_or(Lsn::INVALID, |n| n.db.wal.flush_lsn());
        s.load = Some(LoadWait {
            request,
            rows,
            started,
            commit_ms,
            target,
        });
    });
    answer_load_when_replicated();
}

/// Answers the finished load once every streaming standby replayed its last commit:
/// `{"rows","elapsed_ms","replicated_ms","standbys"}`.
fn answer_load_when_replicated() {
    let answer = with_state(|s| {
        let wait = s.load.as_ref()?;
        let node = s.node.as_ref()?;
        let senders = node.sender_positions();
        if senders.iter().any(|p| p.replay < wait.target) {
            return None;
        }
        let wait = s.load.take()?;
        Some((
            wait.request,
            format!(
                "{{\"rows\":{},\"elapsed_ms\":{:.1},\"replicated_ms\":{:.1},\"standbys\":{}}}",
                wait.rows,
                wait.commit_ms,
                now_millis() - wait.started,
                senders.len()
            ),
        ))
    })
    .flatten();
    if let Some((request, json)) = answer {
        reply(request, Reply::Text(json));
    }
}

/// Runs `f` as a task of its own, after the messages already waiting for this worker, without
/// the 4 ms that browsers add to nested `setTimeout(0)`s: a message to ourselves.
fn yield_then(f: impl FnOnce() + 'static) {
    with_state(|s| {
        s.yielded.push_back(Box::new(f));
        if s.yield_port.is_none() {
            let Ok(channel) = MessageChannel::new() else {
                return;
            };
            let run = Closure::<dyn FnMut(MessageEvent)>::new(|_event: MessageEvent| {
                if let Some(f) = with_state(|s| s.yielded.pop_front()).flatten() {
                    f();
                }
            });
            channel
                .port1()
                .set_onmessage(Some(run.as_ref().unchecked_ref()));
            s.yield_port = Some((channel.port2(), channel.port1(), run));
        }
        if let Some((port, _, _)) = s.yield_port.as_ref() {
            let _ = port.post_message(&JsValue::NULL);
        }
    });
}

/// `remote_apply` commits, one after another: `synchronous_standby_names` must name a standby.
fn start_probe(request: u32, commits: u32) {
    let started = with_state(|s| {
        let node = s.node.as_mut().ok_or("the server is not initialized")?;
        if node
            .db
            .settings
            .get("synchronous_standby_names")
            .trim()
            .is_empty()
        {
            return Err("synchronous_standby_names is empty: no commit would wait");
        }
        if s.probe.is_some() {
            return Err("a probe is already running");
        }
        let session = node.db.open_session();
        for sql in [
            "SET synchronous_commit = remote_apply",
            "CREATE TABLE IF NOT EXISTS probe (id int)",
        ] {
            node.execute(now(), session, sql);
            let _ = node.take_released(session);
        }
        s.probe = Some(Probe {
            request,
            session,
            left: commits,
            started: 0.0,
            samples: Vec::with_capacity(commits.min(100_000) as usize),
        });
        Ok(())
    })
    .unwrap_or(Err("no worker state"));
    match started {
        Ok(()) => {
            // A wait for the CREATE TABLE (its commit waits too) ends in pump first.
            pump();
        }
        Err(text) => reply(request, Reply::Failed(text.into())),
    }
}

/// The probe's next step, after its commit was released: take the sample, commit again or
/// answer. True when it committed again (its WAL is to be shipped).
fn advance_probe() -> bool {
    let step = with_state(|s| {
        let probe = s.probe.as_mut()?;
        let node = s.node.as_mut()?;
        if node.is_waiting(probe.session) {
            return None;
        }
        let _ = node.take_released(probe.session);
        let at = now_millis();
        if probe.started > 0.0 {
            probe.samples.push(at - probe.started);
        }
        if probe.left == 0 {
            node.db.close_session(probe.session);
            let probe = s.probe.take()?;
            return Some(Err(probe));
        }
        probe.left -= 1;
        probe.started = now_millis();
        node.execute(now(), probe.session, "INSERT INTO probe VALUES (1)");
        Some(Ok(()))
    })
    .flatten();
    match step {
        Some(Ok(())) => true,
        Some(Err(probe)) => {
            let json = latency_summary("commits", probe.samples);
            reply(probe.request, Reply::Text(json));
            false
        }
        None => false,
    }
}

/// `{"KEY":n,"p50_ms","p99_ms","max_ms"}` of durations in milliseconds (zeros when there are none).
fn latency_summary(count_key: &str, mut millis: Vec<f64>) -> String {
    millis.sort_by(f64::total_cmp);
    let at = |p: f64| {
        millis
            .get(((millis.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    format!(
        "{{\"{count_key}\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        millis.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}
