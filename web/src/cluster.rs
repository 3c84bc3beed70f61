//! The page's side of the browser cluster: it starts one dedicated worker
//! per node, routes connection requests by creating a MessageChannel and
//! transferring its two ports to the two workers (WAL then flows worker to
//! worker, never through the page), sets link faults at both ends, runs
//! server commands, and fans the workers' event batches out to subscribers.
//!
//! [`PgplayCluster`] is the same API exported to JavaScript (`window.pgplay`
//! on the playground page): promises in, JSON out.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, Atomics, Function, Int32Array, Promise, Uint8Array};
use pgplay_cluster::link::{pair, LinkFaults};
use pgplay_cluster::ports::ClientPorts;
use pgplay_cluster::preset::PRIMARY;
use pgplay_cluster::{plan, Action, BaseBackup, Host, Members, NetworkFault, Preset, ShellCommand};
use pgplay_node::durable::DurableCopy;
use pgplay_node::RecoveryConf;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{MessageChannel, MessageEvent, MessagePort, Worker, WorkerOptions, WorkerType};

use crate::protocol::*;

/// Where Trunk puts the worker's loader (`data-loader-shim`).
pub const WORKER_URL: &str = "./pgplay-worker_loader.js";
/// The system identifier of the playground's clusters.
/// A new cluster's system identifier, drawn as `initdb` draws it: the clock's seconds and
/// microseconds, and 12 bits that PostgreSQL takes from its process id (here, chance). Every
/// `initdb` gets its own, so a standby refuses to stream from a different cluster.
/// Most nodes (workers) one page runs: a shared link or a script cannot start more, so a few
/// kilobytes of text never cost the learner's tab gigabytes.
pub const MAX_NODES: usize = 8;

fn new_system_identifier() -> u64 {
    let millis = js_sys::Date::now().max(0.0);
    let seconds = (millis / 1000.0) as u64;
    let micros = ((millis % 1000.0) * 1000.0) as u64 + (js_sys::Math::random() * 1000.0) as u64;
    let process = (js_sys::Math::random() * 4096.0) as u64;
    (seconds << 32) | ((micros & 0xF_FFFF) << 12) | (process & 0xFFF)
}

struct Handle {
    worker: Worker,
    ready: bool,
    queue: Vec<(Vec<u8>, Option<MessagePort>)>,
    port: u16,
    status: Option<NodeStatus>,
    /// Why the worker died, if it did.
    crashed: Option<String>,
    /// The upstream this node last reported streaming from (kept while it
    /// is stopped or its status is stale), to rebuild it if its worker dies.
    last_upstream: Option<(String, u16)>,
    /// The node's data directory, kept from the worker's durable changes:
    /// what a new worker starts from with crash recovery if this one dies.
    durable: DurableCopy,
    /// Started from `durable` and not heard from since: if it dies now, its
    /// files do not start (a recovery that fails), so it is not tried again.
    restarting_from_files: bool,
    /// Shared memory the worker's statements read at each interrupt check, so a cancel reaches
    /// a statement that keeps the worker busy (a message would wait for it to end). Only on a
    /// cross-origin isolated page; given to the worker when it is ready.
    cancel_flag: Option<Int32Array>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

/// A worker started before its node exists, so that its wasm loads while the primary's `initdb`
/// and base backups run; [`Cluster::spawn`] takes it.
struct Spare {
    worker: Worker,
    ready: Rc<Cell<bool>>,
    failed: Rc<Cell<bool>>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

/// A cancel flag for a worker: one 32-bit word of shared memory, where the page can create
/// SharedArrayBuffer (a cross-origin isolated page: served with `Cross-Origin-Opener-Policy:
/// same-origin` and `Cross-Origin-Embedder-Policy: require-corp`).
fn new_cancel_flag() -> Option<Int32Array> {
    let isolated =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crossOriginIsolated"))
            .ok()?
            .as_bool()?;
    isolated.then(|| Int32Array::new(&js_sys::SharedArrayBuffer::new(4)))
}

fn new_worker() -> Result<Worker, JsValue> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Classic);
    Worker::new_with_options(WORKER_URL, &options)
}

#[derive(Default)]
struct Inner {
    /// Workers started ahead of their nodes (at most the standbys of a preset).
    spares: Vec<Spare>,
    nodes: BTreeMap<String, Handle>,
    next_id: u32,
    next_request: u32,
    client_ports: ClientPorts,
    pending: BTreeMap<u32, (Function, Function)>,
    /// The archive directories of archive_command and restore_command, one
    /// for all nodes (bounded by `ARCHIVE_CAPACITY` files).
    archive: pgplay_node::archive::ArchiveStore,
    subscribers: Vec<Function>,
    /// Each open connection: (client node, server node).
    conns: BTreeMap<u64, (String, String)>,
    /// Each link's faults, which both ends' workers apply.
    faults: LinkFaults,
    /// The last log lines and WAL records of each node, for views that open later.
    recent: BTreeMap<String, std::collections::VecDeque<Event>>,
}

/// Log lines and WAL records the page keeps per node.
const RECENT_EVENTS: usize = 400;

impl Inner {
    /// Keeps `event` among the node's last [`RECENT_EVENTS`], for views that open later.
    fn remember(&mut self, name: &str, event: &Event) {
        let recent = self.recent.entry(name.to_string()).or_default();
        if recent.len() == RECENT_EVENTS {
            recent.pop_front();
        }
        recent.push_back(event.clone());
    }
}

#[derive(Clone, Default)]
pub struct Cluster(Rc<RefCell<Inner>>);

impl Cluster {
    pub fn new() -> Cluster {
        Cluster::default()
    }

    /// Starts a worker for node `name` listening on `port`.
    pub fn spawn(&self, name: &str, port: u16, start: NodeStart) -> Result<(), JsValue> {
        // The spare's handlers stay alive until the node's replace them.
        let spare = self.0.borrow_mut().spares.pop();
        let (worker, ready) = match &spare {
            Some(spare) if !spare.failed.get() => (spare.worker.clone(), spare.ready.get()),
            Some(spare) => {
                spare.worker.terminate();
                (new_worker()?, false)
            }
            None => (new_worker()?, false),
        };
        let (me, node) = (self.clone(), name.to_string());
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let bytes = Uint8Array::new(&event.data()).to_vec();
            match decode::<FromWorker>(&bytes) {
                Ok(message) => me.on_worker_message(&node, message),
                Err(error) => web_sys::console::error_1(&JsValue::from_str(&error)),
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        let (me, node) = (self.clone(), name.to_string());
        let onerror =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
                me.worker_died(&node, event.message());
            });
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        let id = {
            let mut inner = self.0.borrow_mut();
            inner.next_id += 1;
            inner.next_id
        };
        // A spare that is ready already said so: the flag goes now, else with the node's Ready.
        let cancel_flag = new_cancel_flag();
        if let (true, Some(flag)) = (ready, &cancel_flag) {
            let _ = worker.post_message(flag);
        }
        self.0.borrow_mut().nodes.insert(
            name.to_string(),
            Handle {
                worker,
                ready,
                queue: Vec::new(),
                port,
                status: None,
                crashed: None,
                last_upstream: None,
                durable: DurableCopy::default(),
                restarting_from_files: false,
                cancel_flag: cancel_flag.clone(),
                _onmessage: onmessage,
                _onerror: onerror,
            },
        );
        self.send(
            name,
            &ToWorker::Init {
                name: name.to_string(),
                id,
                port,
                start,
            },
            None,
        );
        drop(spare);
        Ok(())
    }

    /// Starts `count` workers ahead of the nodes [`Cluster::spawn`] will give them to, less the
    /// spares there are already.
    pub fn warm_up(&self, count: usize) {
        let have = self.0.borrow().spares.len();
        for _ in have..count {
            let Ok(worker) = new_worker() else {
                return;
            };
            self.keep_spare(worker, false, false);
        }
    }

    /// Takes the workers the page's HTML started before the UI's wasm had loaded
    /// (`window.pgplayWorkers` in `index.html`, each marked `pgplayReady` once it said Ready,
    /// `pgplayFailed` if it failed to load), as spares: their wasm loads meanwhile, which
    /// otherwise waits for the UI's own wasm. A page without that script has none.
    pub fn adopt_prestarted(&self) {
        let window = js_sys::global();
        let key = JsValue::from_str("pgplayWorkers");
        let Ok(list) = js_sys::Reflect::get(&window, &key) else {
            return;
        };
        let _ = js_sys::Reflect::delete_property(window.unchecked_ref::<js_sys::Object>(), &key);
        let Ok(list) = list.dyn_into::<Array>() else {
            return;
        };
        for worker in list.iter() {
            let Ok(worker) = worker.dyn_into::<Worker>() else {
                continue;
            };
            let flag = |name: &str| {
                js_sys::Reflect::get(&worker, &JsValue::from_str(name))
                    .ok()
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)
            };
            let (ready, failed) = (flag("pgplayReady"), flag("pgplayFailed"));
            self.keep_spare(worker, ready, failed);
        }
    }

    /// Ends the spares no node took (a preset with fewer standbys than were started).
    fn end_spares(&self) {
        for spare in self.0.borrow_mut().spares.drain(..) {
            spare.worker.terminate();
        }
    }

    /// Keeps `worker` as a spare, listening for its Ready or its failure until a node takes it.
    fn keep_spare(&self, worker: Worker, ready: bool, failed: bool) {
        let (ready, failed) = (Rc::new(Cell::new(ready)), Rc::new(Cell::new(failed)));
        let flag = ready.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let bytes = Uint8Array::new(&event.data()).to_vec();
            if matches!(decode::<FromWorker>(&bytes), Ok(FromWorker::Ready)) {
                flag.set(true);
            }
        });
        let flag = failed.clone();
        let onerror =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |_event: web_sys::ErrorEvent| {
                flag.set(true)
            });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        self.0.borrow_mut().spares.push(Spare {
            worker,
            ready,
            failed,
            _onmessage: onmessage,
            _onerror: onerror,
        });
    }

    /// Posts a message to a worker, or queues it until the worker is ready.
    fn send(&self, name: &str, message: &ToWorker, port: Option<MessagePort>) {
        let bytes = encode(message);
        let mut inner = self.0.borrow_mut();
        let Some(handle) = inner.nodes.get_mut(name) else {
            return;
        };
        if handle.ready {
            post_to(&handle.worker, &bytes, port);
        } else {
            handle.queue.push((bytes, port));
        }
    }

    /// Sends a request; the promise settles with the worker's reply.
    pub fn request(&self, name: &str, make: impl FnOnce(u32) -> ToWorker) -> Promise {
        let known = self.0.borrow().nodes.get(name).map(|h| h.crashed.clone());
        match known {
            None => return Promise::reject(&JsValue::from_str(&format!("no node \"{name}\""))),
            Some(Some(why)) => {
                return Promise::reject(&JsValue::from_str(&format!(
                    "node \"{name}\" is gone: its worker failed ({why})"
                )))
            }
            Some(None) => {}
        }
        let request = {
            let mut inner = self.0.borrow_mut();
            inner.next_request += 1;
            inner.next_request
        };
        let me = self.clone();
        let promise = Promise::new(&mut |resolve, reject| {
            me.0.borrow_mut().pending.insert(request, (resolve, reject));
        });
        self.send(name, &make(request), None);
        promise
    }

    fn on_worker_message(&self, name: &str, message: FromWorker) {
        match message {
            FromWorker::Ready => {
                let mut inner = self.0.borrow_mut();
                if let Some(handle) = inner.nodes.get_mut(name) {
                    handle.ready = true;
                    if let Some(flag) = &handle.cancel_flag {
                        let _ = handle.worker.post_message(flag);
                    }
                    for (bytes, port) in std::mem::take(&mut handle.queue) {
                        post_to(&handle.worker, &bytes, port);
                    }
                }
            }
            FromWorker::Reply { request, reply } => {
                let Some((resolve, reject)) = self.0.borrow_mut().pending.remove(&request) else {
                    return;
                };
                let _ = match reply {
                    Reply::Text(text) => resolve.call1(&JsValue::NULL, &JsValue::from_str(&text)),
                    Reply::Failed(text) => reject.call1(&JsValue::NULL, &JsValue::from_str(&text)),
                    Reply::Image(bytes) => {
                        resolve.call1(&JsValue::NULL, &Uint8Array::from(bytes.as_slice()))
                    }
                };
            }
            FromWorker::Connect { conn, host, port } => self.connect(name, conn, &host, port),
            FromWorker::Events(events) => {
                for event in &events {
                    let mut inner = self.0.borrow_mut();
                    match event {
                        Event::Status(status) => {
                            if let Some(handle) = inner.nodes.get_mut(name) {
                                handle.status = Some(NodeStatus::clone(status));
                                if status.upstream.is_some() {
                                    handle.last_upstream = status.upstream.clone();
                                } else if status.running && status.replay.is_none() {
                                    // Promoted: a primary now.
                                    handle.last_upstream = None;
                                }
                            }
                        }
                        Event::Log(_) | Event::Wal { .. } => inner.remember(name, event),
                        Event::WalSkipped(_) => {}
                    }
                }
                self.publish(name, &events);
            }
            FromWorker::Panicked(text) => self.worker_died(name, text),
            FromWorker::ArchivePut {
                path,
                bytes,
                unless_exists,
            } => {
                let result = self.0.borrow_mut().archive.put(&path, bytes, unless_exists);
                self.send(name, &ToWorker::ArchiveResult { result }, None);
            }
            FromWorker::ArchiveGet { path } => {
                let result = self.0.borrow().archive.get(&path);
                self.send(name, &ToWorker::RestoreResult { result }, None);
            }
            FromWorker::Durable(changes) => {
                if let Some(handle) = self.0.borrow_mut().nodes.get_mut(name) {
                    handle.durable.apply(*changes);
                    handle.restarting_from_files = false;
                }
            }
        }
    }

    fn publish(&self, name: &str, events: &[Event]) {
        let subscribers = self.0.borrow().subscribers.clone();
        if subscribers.is_empty() {
            return;
        }
        let json = serde_json::to_string(&(name, events)).unwrap_or_default();
        let value = JsValue::from_str(&json);
        for subscriber in subscribers {
            let _ = subscriber.call1(&JsValue::NULL, &value);
        }
    }

    /// The page's own log lines about a node (its worker died, what replaced it):
    /// kept with the node's recent events and sent to subscribers.
    fn announce(&self, name: &str, lines: &[Event]) {
        {
            let mut inner = self.0.borrow_mut();
            for line in lines {
                inner.remember(name, line);
            }
        }
        self.publish(name, lines);
    }

    /// A worker panicked or failed to load: report it, never hang silently.
    fn worker_died(&self, name: &str, why: String) {
        let pending: Vec<(Function, Function)> = {
            let mut inner = self.0.borrow_mut();
            if let Some(handle) = inner.nodes.get_mut(name) {
                handle.crashed = Some(why.clone());
                handle.worker.terminate();
                if let Some(status) = handle.status.as_mut() {
                    status.running = false;
                    status.role = "crashed".into();
                }
            }
            std::mem::take(&mut inner.pending).into_values().collect()
        };
        self.close_connections_of(name);
        let message = format!("node \"{name}\" is gone: its worker failed ({why})");
        for (_, reject) in pending {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&message));
        }
        self.replace_dead(name, &why);
    }

    /// The connections of a dead worker end at once at their other ends, as a crashed process's
    /// sockets do: its standbys' walreceivers see the stream end and reconnect.
    fn close_connections_of(&self, name: &str) {
        let others: Vec<(u64, String)> = {
            let mut inner = self.0.borrow_mut();
            let gone: Vec<u64> = inner
                .conns
                .iter()
                .filter(|(_, (client, server))| client == name || server == name)
                .map(|(conn, _)| *conn)
                .collect();
            gone.into_iter()
                .filter_map(|conn| {
                    let (client, server) = inner.conns.remove(&conn)?;
                    Some((conn, if client == name { server } else { client }))
                })
                .collect()
        };
        for (conn, other) in others {
            self.send(&other, &ToWorker::PeerGone { conn }, None);
        }
    }

    /// A dead worker is replaced, never left silent. Its server's files are
    /// in the page ([`Handle::durable`]), so a new worker starts from them:
    /// crash recovery, the same data and system identifier, and its
    /// standbys stream on (PostgreSQL's answer to a crashed server process).
    /// Without a copy (the worker died before sending one), a standby is
    /// made again by a base backup from its upstream and a primary by a
    /// new `initdb`, whose new system identifier the old standbys refuse.
    fn replace_dead(&self, name: &str, why: &str) {
        let Some(mut handle) = self.0.borrow_mut().nodes.remove(name) else {
            return;
        };
        let (port, upstream) = (handle.port, handle.last_upstream.clone());
        let durable = std::mem::take(&mut handle.durable);
        let failed_again = handle.restarting_from_files;
        drop(handle);
        if durable.is_complete() && !failed_again {
            self.restart_from_files(name, port, upstream, durable, why);
            return;
        }
        let mut lines = vec![Event::Log(format!(
            "PANIC:  node \"{name}\" is gone: its worker failed ({why})"
        ))];
        if failed_again {
            lines.push(Event::Log(format!(
                "LOG:  pgplay: the worker restarted from \"{name}\"'s data directory failed \
                 before it was up, so its files are not tried again"
            )));
        }
        self.announce(name, &lines);
        self.replace_without_files(name, port, upstream);
    }

    /// A new worker for `name` from the files the page kept.
    fn restart_from_files(
        &self,
        name: &str,
        port: u16,
        upstream: Option<(String, u16)>,
        durable: DurableCopy,
        why: &str,
    ) {
        let running = durable.was_running();
        let bytes = durable.to_bytes();
        let lines = if running {
            vec![
                Event::Log(format!(
                    "LOG:  pgplay: {name}'s server process crashed (its worker failed: {why}); \
                     restarting it with crash recovery from its data directory (kept by the page)"
                )),
                Event::Log("LOG:  all server processes terminated; reinitializing".into()),
            ]
        } else {
            vec![Event::Log(format!(
                "LOG:  pgplay: {name}'s worker failed ({why}) while its server was stopped; a new \
                 worker holds its data directory (kept by the page)"
            ))]
        };
        self.announce(name, &lines);
        if self
            .spawn(name, port, NodeStart::Recover { bytes })
            .is_err()
        {
            self.announce(
                name,
                &[Event::Log(format!(
                    "PANIC:  pgplay: no new worker could be started for \"{name}\""
                ))],
            );
            return;
        }
        if let Some(handle) = self.0.borrow_mut().nodes.get_mut(name) {
            handle.durable = durable;
            handle.last_upstream = upstream;
            handle.restarting_from_files = true;
        }
    }

    /// No files to start from: a standby by a fresh base backup from its
    /// upstream, a primary by a fresh `initdb`.
    fn replace_without_files(&self, name: &str, port: u16, upstream: Option<(String, u16)>) {
        let restarted = format!("LOG:  pgplay: worker of \"{name}\" restarted");
        match upstream.and_then(|(host, up_port)| self.resolve(&host, up_port)) {
            Some(upstream) => {
                let promise = self.preset_standby(name, &upstream);
                let (me, name) = (self.clone(), name.to_string());
                wasm_bindgen_futures::spawn_local(async move {
                    if JsFuture::from(promise).await.is_ok() {
                        me.announce(&name, &[Event::Log(restarted)]);
                    }
                });
            }
            None => {
                let _ = self.spawn(
                    name,
                    port,
                    NodeStart::Initdb {
                        system_identifier: new_system_identifier(),
                        segment_size: None,
                    },
                );
                let lost = format!(
                    "LOG:  pgplay: \"{name}\" had no upstream to copy, so its worker was \
                     replaced by a new cluster (initdb, a new system identifier): its data was \
                     in the failed worker's memory and is lost"
                );
                self.announce(name, &[Event::Log(lost), Event::Log(restarted)]);
            }
        }
    }

    /// `rm -rf NAME`: a stopped node's worker ends and the page forgets its
    /// data directory, so that `pg_basebackup -D NAME` can make it again.
    fn remove_data_directory(&self, name: &str) -> Result<(), String> {
        let handle = {
            let mut inner = self.0.borrow_mut();
            let handle = inner
                .nodes
                .get(name)
                .ok_or_else(|| format!("rm: cannot remove '{name}': No such file or directory"))?;
            // A node that has not reported yet is starting: running.
            let stopped =
                handle.crashed.is_none() && handle.status.as_ref().is_some_and(|s| !s.running);
            if !stopped {
                return Err(pgplay_cluster::still_running(name));
            }
            inner.recent.remove(name);
            inner.nodes.remove(name)
        };
        self.close_connections_of(name);
        if let Some(handle) = handle {
            // Its handlers go with the handle: the worker must not call them any more.
            handle.worker.set_onmessage(None);
            handle.worker.set_onerror(None);
            handle.worker.terminate();
        }
        Ok(())
    }

    /// Bytes the page holds of a node's data directory (WAL segments and the
    /// last checkpoint's data image).
    pub fn kept_bytes(&self, name: &str) -> Option<usize> {
        let inner = self.0.borrow();
        let handle = inner.nodes.get(name)?;
        Some(handle.durable.bytes_held())
    }

    /// Kills a node's worker as a browser would (tab memory pressure, a bug):
    /// the cluster reports it and replaces the worker.
    pub fn kill_worker(&self, name: &str) {
        self.worker_died(name, "killed".into());
    }

    fn resolve(&self, host: &str, port: u16) -> Option<String> {
        let inner = self.0.borrow();
        let nodes = inner.nodes.iter().map(|(name, h)| (name.as_str(), h.port));
        pgplay_node::resolve_host(host, port, nodes).map(str::to_string)
    }

    /// A walreceiver wants a connection: a MessageChannel between the two workers.
    fn connect(&self, client: &str, conn: u64, host: &str, port: u16) {
        let server = self.resolve(host, port).filter(|server| {
            let inner = self.0.borrow();
            inner
                .nodes
                .get(server)
                .is_some_and(|h| h.crashed.is_none() && h.status.as_ref().is_none_or(|s| s.running))
        });
        let Some(server) = server else {
            self.send(client, &ToWorker::ConnectRefused { conn }, None);
            return;
        };
        let Ok(channel) = MessageChannel::new() else {
            self.send(client, &ToWorker::ConnectRefused { conn }, None);
            return;
        };
        let (fault, client_port) = {
            let mut inner = self.0.borrow_mut();
            inner
                .conns
                .insert(conn, (client.to_string(), server.clone()));
            let fault = inner.faults.get(client, &server);
            (fault, inner.client_ports.next_port())
        };
        self.send(
            &server,
            &ToWorker::PeerPort {
                conn,
                role: PeerRole::Server {
                    client_addr: "127.0.0.1".into(),
                    client_port,
                },
                fault,
                peer: client.to_string(),
            },
            Some(channel.port2()),
        );
        self.send(
            client,
            &ToWorker::PeerPort {
                conn,
                role: PeerRole::Client,
                fault,
                peer: server,
            },
            Some(channel.port1()),
        );
    }

    /// The faults of the link between `a` and `b`.
    pub fn link_fault(&self, a: &str, b: &str) -> LinkFault {
        self.0.borrow().faults.get(a, b)
    }

    /// The open connections between `a` and `b`: (conn, client, server).
    fn conns_between(&self, a: &str, b: &str) -> Vec<(u64, String, String)> {
        self.0
            .borrow()
            .conns
            .iter()
            .filter(|(_, (c, s))| pair(c, s) == pair(a, b))
            .map(|(conn, (c, s))| (*conn, c.clone(), s.clone()))
            .collect()
    }

    /// Delay, loss or partition on the link between two nodes (both directions).
    pub fn set_fault(&self, a: &str, b: &str, fault: LinkFault) {
        self.0.borrow_mut().faults.set(a, b, fault);
        for (conn, client, server) in self.conns_between(a, b) {
            self.send(&client, &ToWorker::SetFault { conn, fault }, None);
            self.send(&server, &ToWorker::SetFault { conn, fault }, None);
        }
    }

    /// A `pgplay-net` command: a cut breaks the open connections (the client's
    /// worker tells the server's), the others change the link's faults.
    fn network(&self, a: &str, b: &str, fault: NetworkFault) {
        if fault == NetworkFault::Cut {
            for (conn, client, _) in self.conns_between(a, b) {
                self.0.borrow_mut().conns.remove(&conn);
                self.send(&client, &ToWorker::Cut { conn }, None);
            }
            return;
        }
        let now = self.0.borrow().faults.get(a, b).apply(fault);
        self.set_fault(a, b, now);
    }

    /// Reads a command line against the nodes there are (the simulator's
    /// parser, checks and errors, with the page's limit on workers).
    fn plan(&self, line: &str) -> Result<Action, String> {
        let nodes = self.members();
        let nodes: Vec<(&str, u16)> = nodes.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        let members = Members {
            nodes: &nodes,
            max_nodes: Some(MAX_NODES),
        };
        plan(line, members)
    }

    /// psql's Ctrl+C in a session: a commit waiting for synchronous
    /// standbys stops waiting, and its psql request is answered.
    pub fn cancel(&self, node: &str, session: &str) {
        if let Some(flag) = self
            .0
            .borrow()
            .nodes
            .get(node)
            .and_then(|h| h.cancel_flag.clone())
        {
            let _ = Atomics::store(&flag, 0, cancel_tag(session));
        }
        let session = session.to_string();
        self.send(node, &ToWorker::Cancel { session }, None);
    }

    pub fn psql(&self, node: &str, session: &str, line: &str) -> Promise {
        let (session, line) = (session.to_string(), line.to_string());
        self.request(node, move |request| ToWorker::Psql {
            request,
            session,
            line,
        })
    }

    /// A server command line (`pg_ctl -D standby1 promote`, `pg_basebackup ... -D standby3 -R`):
    /// the simulator's path ([`pgplay_cluster::run_command`]), the actions carried out by the
    /// page's [`Host`].
    pub fn run(&self, line: &str) -> Promise {
        pgplay_cluster::run_command(&mut self.clone(), line)
    }

    /// `pg_basebackup -h <upstream> -D <name> -R` as the presets (and a
    /// dead worker's replacement) make a standby: planned as the learner's
    /// line is, set up with `application_name=<name>` and started at once.
    pub fn preset_standby(&self, name: &str, upstream: &str) -> Promise {
        match self.plan(&format!("pg_basebackup -h {upstream} -D {name} -R")) {
            Ok(Action::BaseBackup(copy)) => self.base_backup(copy, true),
            Ok(other) => Promise::reject(&JsValue::from_str(&format!("not a copy: {other:?}"))),
            Err(error) => Promise::reject(&JsValue::from_str(&error)),
        }
    }

    /// `pg_basebackup` as planned: an image from the upstream's worker, then
    /// a new worker on the planned port. With `as_preset` the copy is set
    /// up as the presets' standbys are: `application_name=<name>` in its
    /// `primary_conninfo`, started at once. Otherwise it is what
    /// PostgreSQL's `pg_basebackup` leaves: a stopped copy.
    fn base_backup(&self, copy: BaseBackup, as_preset: bool) -> Promise {
        let BaseBackup {
            upstream,
            node,
            port,
            user,
            password,
            recovery_conf,
            slot,
        } = copy;
        let name_owned = node.clone();
        let image = self.request(&upstream, move |request| ToWorker::BaseBackup {
            request,
            name: name_owned,
            user,
            password,
            write_recovery_conf: recovery_conf != RecoveryConf::None,
            name_in_conninfo: as_preset,
            slot,
        });
        let me = self.clone();
        future_to_promise(async move {
            let bytes = JsFuture::from(image).await?;
            let bytes = Uint8Array::new(&bytes).to_vec();
            let start = NodeStart::Image {
                bytes,
                start: as_preset,
            };
            me.spawn(&node, port, start)?;
            Ok(JsValue::from_str(""))
        })
    }

    pub fn subscribe(&self, callback: Function) {
        self.0.borrow_mut().subscribers.push(callback);
    }

    /// The last log lines and WAL records of a node, oldest first.
    pub fn recent_events(&self, name: &str) -> Vec<Event> {
        self.0
            .borrow()
            .recent
            .get(name)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The last log lines of a node, oldest first.
    pub fn log_lines(&self, name: &str) -> Vec<String> {
        self.recent_events(name)
            .into_iter()
            .filter_map(|e| match e {
                Event::Log(line) => Some(line),
                _ => None,
            })
            .collect()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.0.borrow().nodes.keys().cloned().collect()
    }

    /// Every node's last status, as JSON: `{"primary": {...}, ...}`.
    pub fn status_json(&self) -> String {
        let inner = self.0.borrow();
        let map: BTreeMap<&String, Option<&NodeStatus>> = inner
            .nodes
            .iter()
            .map(|(name, handle)| (name, handle.status.as_ref()))
            .collect();
        serde_json::to_string(&map).unwrap_or_default()
    }

    /// True once every standby's walreceiver streams.
    pub fn all_streaming(&self) -> bool {
        let inner = self.0.borrow();
        inner.nodes.values().all(|h| match &h.status {
            Some(status) => {
                status.receiver.is_none() || status.receiver.as_deref() == Some("streaming")
            }
            None => false,
        })
    }

    /// Starts a preset (`pgplay_cluster::preset`, as the simulator starts
    /// it); an unknown name is the default preset.
    pub async fn start_preset(&self, preset: &str) -> Result<(), JsValue> {
        let preset = Preset::parse(preset).unwrap_or_default();
        self.adopt_prestarted();
        self.spawn(
            PRIMARY,
            pgplay_cluster::ports::FIRST_SERVER_PORT,
            NodeStart::Initdb {
                system_identifier: new_system_identifier(),
                segment_size: None,
            },
        )?;
        let standbys = preset.standbys();
        self.warm_up(standbys.len());
        for (name, upstream) in standbys {
            JsFuture::from(self.preset_standby(name, upstream)).await?;
        }
        self.end_spares();
        for _ in 0..2000 {
            if self.all_streaming() {
                for line in preset.primary_setup() {
                    JsFuture::from(self.psql(PRIMARY, "preset", line)).await?;
                }
                return Ok(());
            }
            sleep_ms(5).await;
        }
        Err(JsValue::from_str(
            "the standbys did not start streaming within 10 s",
        ))
    }
}

/// The page as the cluster's host: actions by messages to the workers,
/// answered with promises.
impl Host for Cluster {
    type Answer = Promise;

    fn members(&self) -> Vec<(String, u16)> {
        let inner = self.0.borrow();
        inner
            .nodes
            .iter()
            .map(|(name, h)| (name.clone(), h.port))
            .collect()
    }

    fn max_nodes(&self) -> Option<usize> {
        Some(MAX_NODES)
    }

    fn answer(&mut self, result: Result<String, String>) -> Promise {
        match result {
            Ok(text) => Promise::resolve(&JsValue::from_str(&text)),
            Err(text) => Promise::reject(&JsValue::from_str(&text)),
        }
    }

    fn base_backup(&mut self, copy: BaseBackup) -> Promise {
        Cluster::base_backup(self, copy, false)
    }

    fn network(&mut self, a: &str, b: &str, fault: NetworkFault) {
        Cluster::network(self, a, b, fault);
    }

    fn list_archive(&self, dir: &str) -> Result<String, String> {
        self.0.borrow().archive.ls(dir)
    }

    /// The node's worker runs the parsed command on its node.
    fn run_on_node(&mut self, node: &str, _line: &str, command: ShellCommand) -> Promise {
        self.request(node, move |request| ToWorker::Command { request, command })
    }

    fn remove_data_directory(&mut self, node: &str) -> Promise {
        let result = Cluster::remove_data_directory(self, node).map(|()| String::new());
        self.answer(result)
    }
}

fn post_to(worker: &Worker, bytes: &[u8], port: Option<MessagePort>) {
    let array = Uint8Array::from(bytes);
    let transfer = Array::of1(&array.buffer());
    if let Some(port) = port {
        transfer.push(&port);
    }
    let _ = worker.post_message_with_transfer(&array, &transfer);
}

pub async fn sleep_ms(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// The browser cluster for JavaScript: `const c = await PgplayCluster.start("default")`.
#[wasm_bindgen]
#[derive(Clone)]
pub struct PgplayCluster {
    cluster: Cluster,
}

#[wasm_bindgen]
impl PgplayCluster {
    /// Starts a preset and resolves once every standby streams.
    pub async fn start(preset: String) -> Result<PgplayCluster, JsValue> {
        let cluster = Cluster::new();
        cluster.start_preset(&preset).await?;
        Ok(PgplayCluster { cluster })
    }

    /// One line typed at psql on `node` (session "default"); resolves to what psql prints.
    pub fn psql(&self, node: String, line: String) -> Promise {
        self.cluster.psql(&node, "default", &line)
    }

    /// The first error a statement on `node` (session "default") met since the last call,
    /// and forgets it: resolves to the JSON `{severity, sqlstate, message, detail?, hint?}`,
    /// or to "" when none failed.
    #[wasm_bindgen(js_name = takeError)]
    pub fn take_error(&self, node: String) -> Promise {
        self.cluster
            .request(&node, move |request| ToWorker::TakeError {
                request,
                session: "default".into(),
            })
    }

    /// psql's Ctrl+C on `node` (session "default"): a commit waiting for
    /// synchronous standbys stops waiting with PostgreSQL's WARNING.
    pub fn cancel(&self, node: String) {
        self.cluster.cancel(&node, "default");
    }

    /// psql in a named session, for several sessions on one node.
    #[wasm_bindgen(js_name = psqlSession)]
    pub fn psql_session(&self, node: String, session: String, line: String) -> Promise {
        self.cluster.psql(&node, &session, &line)
    }

    /// A server command: `pg_ctl -D standby1 promote`, `pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R`, ...
    pub fn run(&self, line: String) -> Promise {
        self.cluster.run(&line)
    }

    /// Delay (ms) or partition the link between two nodes (a loss set by
    /// `pgplay-net loss` stays).
    #[wasm_bindgen(js_name = setLink)]
    pub fn set_link(&self, a: String, b: String, delay_ms: u32, partitioned: bool) {
        let loss_percent = self.cluster.link_fault(&a, &b).loss_percent;
        self.cluster.set_fault(
            &a,
            &b,
            LinkFault {
                delay_ms,
                partitioned,
                loss_percent,
            },
        );
    }

    /// Replaces `postgresql.conf`, `postgresql.auto.conf` or `pg_hba.conf` of a node;
    /// takes effect at `pg_ctl reload` or restart. Rejects text PostgreSQL could not parse.
    #[wasm_bindgen(js_name = writeFile)]
    pub fn write_file(&self, node: String, file: String, text: String) -> Promise {
        self.cluster
            .request(&node, move |request| ToWorker::WriteFile {
                request,
                file,
                text,
            })
    }

    /// The last server log lines of a node (up to 200), oldest first.
    pub fn log(&self, node: String) -> Vec<String> {
        self.cluster.log_lines(&node)
    }

    /// The last log lines and WAL records of a node (up to 400) as JSON events, oldest first.
    #[wasm_bindgen(js_name = recentEvents)]
    pub fn recent_events(&self, node: String) -> String {
        serde_json::to_string(&self.cluster.recent_events(&node)).unwrap_or_default()
    }

    /// Every node's last status as JSON.
    pub fn status(&self) -> String {
        self.cluster.status_json()
    }

    pub fn nodes(&self) -> Vec<String> {
        self.cluster.node_names()
    }

    /// `callback(json)` for every batch of events: `[node, [event, ...]]`.
    pub fn subscribe(&self, callback: Function) {
        self.cluster.subscribe(callback);
    }

    /// Benchmark: `rows` single-row INSERTs on `node`, `perSecond` of them
    /// (0: flat out); resolves once every standby replayed the last commit, to JSON
    /// `{"rows","elapsed_ms","replicated_ms","standbys"}`.
    pub fn load(&self, node: String, rows: u32, per_second: u32) -> Promise {
        self.cluster.request(&node, move |request| ToWorker::Load {
            request,
            rows,
            per_second,
        })
    }

    /// Benchmark: `commits` commits under `synchronous_commit = remote_apply` on `node`, each
    /// timed inside its worker until a synchronous standby applied it; resolves to JSON
    /// `{"commits","p50_ms","p99_ms","max_ms"}`.
    #[wasm_bindgen(js_name = syncProbe)]
    pub fn sync_probe(&self, node: String, commits: u32) -> Promise {
        self.cluster
            .request(&node, move |request| ToWorker::SyncProbe {
                request,
                commits,
            })
    }

    /// Commit-to-replay lag measured on a standby: JSON `{"count","p50_ms","p99_ms","max_ms"}`.
    #[wasm_bindgen(js_name = lagStats)]
    pub fn lag_stats(&self, node: String, reset: bool) -> Promise {
        self.cluster
            .request(&node, move |request| ToWorker::LagStats { request, reset })
    }

    /// Kills a node's worker (as a crash of the browser worker would); it is reported and
    /// replaced by a worker that restarts the server from its files, with crash recovery.
    #[wasm_bindgen(js_name = killWorker)]
    pub fn kill_worker(&self, node: String) {
        self.cluster.kill_worker(&node);
    }

    /// Bytes the page keeps of a node's data directory (its WAL segments and
    /// the last checkpoint's data image), or undefined for an unknown node.
    #[wasm_bindgen(js_name = keptBytes)]
    pub fn kept_bytes(&self, node: String) -> Option<f64> {
        self.cluster.kept_bytes(&node).map(|b| b as f64)
    }

    #[wasm_bindgen(js_name = allStreaming)]
    pub fn all_streaming(&self) -> bool {
        self.cluster.all_streaming()
    }
}
