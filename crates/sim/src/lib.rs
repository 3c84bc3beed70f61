//! A deterministic cluster: pgplay nodes on a virtual network under a
//! virtual clock, everything random drawn from one seed.
//!
//! The simulator owns time. It delivers each message at `now + latency +
//! jitter` (in order per connection, like TCP), wakes nodes when their
//! timers are due, and applies faults: the link faults of
//! [`pgplay_cluster::link`] (delay, loss, partitions that hold traffic until
//! healed and break a connection whose buffer is full, cuts), as the page's
//! workers apply them, and crashes that kill a server.
//! Iteration is over ordered maps only, so a seed replays exactly.
//!
//! Where to start reading: [`Sim::run_until`] is the event loop;
//! [`Sim::route`] is the network; [`check`] holds the invariants.

pub mod bench;
pub mod check;
pub mod fuzz;
mod rng;
pub mod shell;

use std::collections::BTreeMap;

use pgplay_cluster::link::{broken_log_line, pair, BreakReason, Held, InOrder, LinkFaults, Offer};
use pgplay_cluster::ports::{next_server_port, ClientPorts};
use pgplay_cluster::preset::{Preset, PRIMARY};
use pgplay_cluster::{BaseBackup, LinkFault, NetworkFault};
use pgplay_engine::interrupt::{InterruptSource, SimulatedClock};
use pgplay_engine::{SessionId, StatementResult};
use pgplay_node::archive::ArchiveStore;
use pgplay_node::durable::DurableCopy;
use pgplay_node::{Node, Output, PeerEvent, RecoveryConf, StopMode};
use pgplay_replication::ConnId;
use pgplay_wal::time::Timestamp;
use pgplay_wal::SegmentSize;

pub use rng::Rng;

/// Microseconds per millisecond, for readability.
pub const MS: Timestamp = 1_000;
pub const SECOND: Timestamp = 1_000_000;
/// How long (simulated) a session waits for synchronous standbys before the
/// simulator cancels the wait, as a learner's Ctrl+C in psql would.
pub const SYNC_WAIT_LIMIT: Timestamp = 60 * SECOND;
/// The longest `pg_sleep()` the simulator lets pass (simulated) before it cancels the statement,
/// as a learner's Ctrl+C would: an hour costs milliseconds to simulate, years would cost hours.
pub const SLEEP_LIMIT: Timestamp = 3600 * SECOND;

/// Most messages held back by partitions per connection and direction (as
/// each end's worker in the page holds what it sends); beyond it the
/// connection breaks (a real TCP connection would time out).
pub use pgplay_cluster::link::HELD_CAPACITY;
/// Most events queued on the network at once.
pub const QUEUE_CAPACITY: usize = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetConfig {
    pub latency: Timestamp,
    pub jitter: Timestamp,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency: MS / 2,
            jitter: 0,
        }
    }
}

#[derive(Clone, Debug)]
struct Link {
    client: String,
    server: String,
    closed: bool,
}

#[derive(Clone, Debug)]
struct Delivery {
    to: String,
    conn: ConnId,
    event: PeerEvent,
}

pub struct Sim {
    pub now: Timestamp,
    pub seed: u64,
    rng: Rng,
    pub net: NetConfig,
    nodes: BTreeMap<String, Node>,
    links: BTreeMap<ConnId, Link>,
    queue: BTreeMap<(Timestamp, u64), Delivery>,
    seq: u64,
    /// Each (connection, towards the server?)'s deliveries, kept in order.
    in_order: BTreeMap<(ConnId, bool), InOrder>,
    /// Delay, loss and partitions between two nodes (`pgplay-net`).
    faults: LinkFaults,
    /// What partitions hold, per (connection, towards the server?).
    held: BTreeMap<(ConnId, bool), Held<Delivery>>,
    next_node_id: u32,
    client_ports: ClientPorts,
    system_identifier: u64,
    segment_size: Option<SegmentSize>,
    /// The archive directories every node's archive_command and
    /// restore_command copy into and out of.
    pub archive: ArchiveStore,
    /// Each node's data directory kept outside it, when asked for
    /// ([`Sim::keep_data_directories`]).
    kept: Option<BTreeMap<String, DurableCopy>>,
    /// Makes each node's `CHECK_FOR_INTERRUPTS()` source ([`Sim::with_interrupts`]).
    interrupt_source: InterruptSourceMaker,
}

/// Makes the interrupt source of a node the simulator adds.
pub type InterruptSourceMaker = std::sync::Arc<dyn Fn() -> Box<dyn InterruptSource> + Send + Sync>;

impl Sim {
    pub fn new(seed: u64) -> Sim {
        let mut rng = Rng::new(seed);
        let system_identifier = 7_000_000_000_000_000_000 + rng.below(1_000_000_000_000_000_000);
        Sim {
            now: 0,
            seed,
            rng,
            net: NetConfig::default(),
            nodes: BTreeMap::new(),
            links: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            in_order: BTreeMap::new(),
            faults: LinkFaults::default(),
            held: BTreeMap::new(),
            next_node_id: 1,
            client_ports: ClientPorts::default(),
            system_identifier,
            segment_size: None,
            archive: ArchiveStore::default(),
            kept: None,
            interrupt_source: std::sync::Arc::new(|| Box::new(SimulatedClock)),
        }
    }

    /// Each node added from now on gets its `CHECK_FOR_INTERRUPTS()` source from `make`
    /// instead of the simulated clock (the CLI's wall clock and Ctrl+C).
    pub fn with_interrupts(mut self, make: InterruptSourceMaker) -> Sim {
        self.interrupt_source = make;
        self
    }

    /// A new node's statements are bounded by the simulator's source: by default each unit of
    /// work costs [`pgplay_engine::interrupt::WORK_UNIT_MICROS`] of simulated time, which
    /// `statement_timeout` counts and the cluster lives through after the statement.
    fn insert_node(&mut self, name: &str, mut node: Node) {
        node.db.interrupts.set_source((self.interrupt_source)());
        self.nodes.insert(name.to_string(), node);
    }

    pub fn with_segment_size(mut self, size: SegmentSize) -> Sim {
        self.segment_size = Some(size);
        self
    }

    /// The cluster every scenario starts from: `primary` and two standbys
    /// made by `pg_basebackup -R`, streaming asynchronously, each standby's
    /// application_name its node name. Ports follow `base_port`.
    pub fn standard(seed: u64, base_port: u16) -> Sim {
        Sim::new(seed).with_standard_cluster(base_port)
    }

    /// Starts the clock at `now` instead of 2000-01-01 (the CLI uses the wall clock).
    pub fn starting_at(mut self, now: Timestamp) -> Sim {
        self.now = now;
        self
    }

    /// Adds `primary`, `standby1` and `standby2` (see [`Sim::standard`]).
    pub fn with_standard_cluster(self, base_port: u16) -> Sim {
        self.with_preset(Preset::Default, base_port)
    }

    /// Adds a preset's nodes, as the page starts them: the primary on
    /// `base_port`, each standby on the next port, then the primary's setup.
    pub fn with_preset(self, preset: Preset, base_port: u16) -> Sim {
        let mut sim = self;
        sim.add_primary(PRIMARY, base_port);
        for (name, upstream) in preset.standbys() {
            let port = next_server_port(sim.nodes.values().map(|n| n.port));
            sim.add_standby(name, port, upstream)
                .expect("a fresh primary accepts a base backup");
        }
        sim.run_for(100 * MS);
        if !preset.primary_setup().is_empty() {
            let session = sim.open_session(PRIMARY).expect("the primary exists");
            for sql in preset.primary_setup() {
                sim.execute(PRIMARY, session, sql);
            }
            sim.close_session(PRIMARY, session);
            sim.run_for(100 * MS);
        }
        sim
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// `initdb` and `pg_ctl start`: a new cluster, so a new system identifier, which every
    /// standby of another cluster refuses to stream from (as PostgreSQL draws one from the clock
    /// and its process id, we draw one from the seed's and the node's number).
    pub fn add_primary(&mut self, name: &str, port: u16) {
        let system_identifier = self.system_identifier ^ (u64::from(self.next_node_id) << 12);
        let mut node = Node::initdb(name, system_identifier, self.segment_size, self.now);
        node.place(self.next_node_id, port);
        self.next_node_id += 1;
        self.insert_node(name, node);
    }

    /// `pg_basebackup -h <upstream> -D <name> -R -X stream` (no slot) with
    /// `application_name=<name>` in `primary_conninfo`, then `pg_ctl start`.
    pub fn add_standby(&mut self, name: &str, port: u16, upstream: &str) -> Result<(), String> {
        self.base_backup(&BaseBackup {
            upstream: upstream.into(),
            node: name.into(),
            port,
            user: "postgres".into(),
            password: None,
            recovery_conf: RecoveryConf::WrittenNamed,
            slot: None,
        })?;
        self.start(name)?;
        Ok(())
    }

    /// `pg_basebackup -h <upstream> -D <node> [-R] [-S SLOT [-C]] -X stream`: a new, stopped
    /// node.
    pub fn base_backup(&mut self, copy: &BaseBackup) -> Result<(), String> {
        let (name, upstream) = (copy.node.as_str(), copy.upstream.as_str());
        pgplay_cluster::shell::check_data_directory("pg_basebackup", name)?;
        if self.nodes.contains_key(name) {
            return Err(format!(
                "pg_basebackup: error: directory \"{name}\" exists but is not empty"
            ));
        }
        let now = self.now;
        let source = self
            .nodes
            .get_mut(upstream)
            .ok_or_else(|| format!("pg_basebackup: error: could not translate host name \"{upstream}\" to address: Name or service not known"))?;
        let slot = copy.slot.as_ref().map(|(s, create)| (s.as_str(), *create));
        let mut node = source.base_backup_with_slot(
            now,
            name,
            &copy.user,
            copy.password.as_deref(),
            copy.recovery_conf,
            slot,
        )?;
        self.drain(upstream);
        node.place(self.next_node_id, copy.port);
        self.next_node_id += 1;
        self.insert_node(name, node);
        Ok(())
    }

    /// `rm -rf NAME`: a stopped node goes with its data directory (and the
    /// copy kept of it), so that `pg_basebackup -D NAME` can make it again.
    pub fn remove_data_directory(&mut self, name: &str) -> Result<(), String> {
        let node = self
            .nodes
            .get(name)
            .ok_or_else(|| format!("rm: cannot remove '{name}': No such file or directory"))?;
        if node.is_running() {
            return Err(pgplay_cluster::still_running(name));
        }
        self.nodes.remove(name);
        if let Some(kept) = self.kept.as_mut() {
            kept.remove(name);
        }
        Ok(())
    }

    /// The node a host name and port reach, as [`Sim::route`] resolves them.
    pub fn resolve_host(&self, host: &str, port: u16) -> Option<String> {
        self.resolve(host, port)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.nodes.get_mut(name)
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    // ----- clients and commands ------------------------------------------

    pub fn open_session(&mut self, node: &str) -> Option<SessionId> {
        Some(self.nodes.get_mut(node)?.db.open_session())
    }

    /// Ends a session (psql quits): an open transaction is rolled back.
    pub fn close_session(&mut self, node: &str, session: SessionId) {
        if let Some(target) = self.nodes.get_mut(node) {
            target.close_session(session);
        }
    }

    /// One line typed at psql on `node`: SQL or a backslash command.
    pub fn psql_line(&mut self, node: &str, psql: &mut pgplay_node::Psql, line: &str) -> String {
        self.psql_input(node, psql, |target, now, psql| {
            target.psql_line(now, psql, line)
        })
    }

    /// The end of psql's input on `node`: what is left in the buffer is sent.
    pub fn psql_end_of_input(&mut self, node: &str, psql: &mut pgplay_node::Psql) -> String {
        self.psql_input(node, psql, |target, now, psql| {
            target.psql_end_of_input(now, psql)
        })
    }

    /// Hands psql's input to `node`, then runs the cluster as psql waits: for `pg_sleep` and
    /// the statements' work (simulated time), and for a commit waiting on synchronous standbys.
    fn psql_input(
        &mut self,
        node: &str,
        psql: &mut pgplay_node::Psql,
        input: impl FnOnce(&mut Node, Timestamp, &mut pgplay_node::Psql) -> String,
    ) -> String {
        let now = self.now;
        let Some(target) = self.nodes.get_mut(node) else {
            return format!("psql: error: no node \"{node}\" in this cluster\n");
        };
        let mut out = input(target, now, psql);
        let sleep = target.db.take_time_taken();
        self.drain(node);
        if sleep > SLEEP_LIMIT {
            // Simulating years of keepalives would take the CPU for hours: psql's Ctrl+C.
            self.run_for(SLEEP_LIMIT);
            out = format!(
                "-- pgplay: pg_sleep() still had {} s to go after {} s; cancelling, as Ctrl+C in psql would\n",
                (sleep - SLEEP_LIMIT) / SECOND,
                SLEEP_LIMIT / SECOND
            );
            if let Some(target) = self.nodes.get_mut(node) {
                out.push_str(&target.psql_cancelled(psql));
            }
        } else if sleep > 0 {
            self.run_for(sleep);
        }
        // A commit waiting for synchronous standbys: psql blocks while the
        // cluster runs; statements typed with it follow, and may wait too.
        while psql.waiting.is_some() {
            let locked = self
                .nodes
                .get(node)
                .is_some_and(|n| n.is_lock_waiting(psql.session));
            if !self.wait_for_sync(node, psql.session) {
                out.push_str(&format!(
                    "-- pgplay: {} in {} s; cancelling, as Ctrl+C in psql would\n",
                    if locked {
                        "no other session ended the transaction this statement waits for"
                    } else {
                        "no synchronous standby confirmed the commit"
                    },
                    SYNC_WAIT_LIMIT / 1_000_000
                ));
                if let Some(target) = self.nodes.get_mut(node) {
                    out.push_str(&target.psql_cancel(psql));
                }
            }
            let now = self.now;
            let Some(target) = self.nodes.get_mut(node) else {
                break;
            };
            match target.psql_resume(now, psql) {
                Some(more) => out.push_str(&more),
                None => break,
            }
            self.drain(node);
        }
        out
    }

    /// Runs the cluster until the session's backend stops waiting for
    /// synchronous standbys, at most [`SYNC_WAIT_LIMIT`]; false if it still waits.
    fn wait_for_sync(&mut self, node: &str, session: SessionId) -> bool {
        let deadline = self.now + SYNC_WAIT_LIMIT;
        let waiting = |sim: &Sim| sim.nodes.get(node).is_some_and(|n| n.is_waiting(session));
        self.run_until_or(deadline, &|sim| !waiting(sim));
        !waiting(self)
    }

    /// Runs SQL on a node now, then sends whatever it produced. A statement that waits for a
    /// row lock waits while the cluster runs (at most [`SYNC_WAIT_LIMIT`]; nobody else acts
    /// meanwhile, so only a timeout can release it), then is cancelled.
    pub fn execute(&mut self, node: &str, session: SessionId, sql: &str) -> Vec<StatementResult> {
        if let Some(results) = self.send(node, session, sql) {
            return results;
        }
        let deadline = self.now + SYNC_WAIT_LIMIT;
        let waiting = |sim: &Sim| sim.nodes.get(node).is_some_and(|n| n.is_waiting(session));
        self.run_until_or(deadline, &|sim| !waiting(sim));
        if let Some(target) = self.nodes.get_mut(node) {
            target.cancel_wait(session);
        }
        self.drain(node);
        self.poll(node, session).unwrap_or_default()
    }

    /// Runs SQL on a node now, as [`Sim::execute`], except that a statement waiting for a row
    /// lock is left waiting: `None` then, and [`Sim::poll`] collects its results once another
    /// session ended the transaction it waits for.
    pub fn send(
        &mut self,
        node: &str,
        session: SessionId,
        sql: &str,
    ) -> Option<Vec<StatementResult>> {
        let now = self.now;
        let Some(target) = self.nodes.get_mut(node) else {
            return Some(Vec::new());
        };
        let results = target.execute(now, session, sql);
        let waiting = target.is_waiting(session);
        let locked = target.is_lock_waiting(session);
        let sleep = target.db.take_time_taken();
        self.drain(node);
        if sleep > 0 {
            // pg_sleep() and the statement's work: the session waits while the cluster carries
            // on (at most an hour).
            self.run_for(sleep.min(SLEEP_LIMIT));
        }
        if locked {
            return None;
        }
        if !waiting {
            return Some(results);
        }
        // The commit waits for synchronous standbys while the cluster runs.
        if !self.wait_for_sync(node, session) {
            if let Some(target) = self.nodes.get_mut(node) {
                target.cancel_wait(session);
            }
        }
        self.drain(node);
        Some(
            self.nodes
                .get_mut(node)
                .and_then(|n| n.take_released(session))
                .unwrap_or_default(),
        )
    }

    /// The results of a session's statement that waited ([`Sim::send`]), once it is done.
    pub fn poll(&mut self, node: &str, session: SessionId) -> Option<Vec<StatementResult>> {
        let target = self.nodes.get_mut(node)?;
        if target.is_waiting(session) {
            return None;
        }
        target.take_released(session)
    }

    fn command(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Node, Timestamp) -> Result<String, String>,
    ) -> Result<String, String> {
        let now = self.now;
        let node = self
            .nodes
            .get_mut(name)
            .ok_or_else(|| format!("pg_ctl: directory \"{name}\" does not exist"))?;
        let result = f(node, now);
        self.drain(name);
        result
    }

    pub fn start(&mut self, name: &str) -> Result<String, String> {
        self.command(name, |n, now| n.start(now))
    }
    pub fn stop(&mut self, name: &str, mode: StopMode) -> Result<String, String> {
        self.command(name, |n, now| n.stop(now, mode))
    }
    pub fn restart(&mut self, name: &str) -> Result<String, String> {
        self.command(name, |n, now| n.restart(now))
    }
    pub fn promote(&mut self, name: &str) -> Result<String, String> {
        self.command(name, |n, now| n.pg_ctl_promote(now))
    }
    pub fn crash(&mut self, name: &str) -> Result<String, String> {
        self.command(name, |n, now| {
            n.crash(now);
            Ok(String::new())
        })
    }
    pub fn reload(&mut self, name: &str) -> Result<String, String> {
        self.command(name, |n, now| {
            n.reload(now);
            Ok("server signaled".into())
        })
    }

    /// From now on, each node's data directory is kept outside it, as the
    /// browser page keeps each worker's: the node's durable changes are
    /// taken after every step, before its messages go out.
    pub fn keep_data_directories(&mut self) {
        self.kept.get_or_insert_with(BTreeMap::new);
        for name in self.node_names() {
            self.keep_data_directory(&name);
        }
    }

    fn keep_data_directory(&mut self, name: &str) {
        let (Some(kept), Some(node)) = (self.kept.as_mut(), self.nodes.get_mut(name)) else {
            return;
        };
        if let Some(changes) = node.take_durable_changes() {
            kept.entry(name.to_string()).or_default().apply(changes);
        }
    }

    /// The kept copy of a node's data directory.
    pub fn kept_data_directory(&self, name: &str) -> Option<&DurableCopy> {
        self.kept.as_ref()?.get(name)
    }

    /// The node's process dies with its memory (what a failed browser
    /// worker is): its connections end as a killed process's do, and a
    /// node made from the kept copy of its data directory takes its place,
    /// started (crash recovery) if it was running. Needs
    /// [`Sim::keep_data_directories`].
    pub fn lose_process(&mut self, name: &str) -> Result<String, String> {
        let copy = self
            .kept_data_directory(name)
            .cloned()
            .ok_or_else(|| format!("no kept data directory for \"{name}\""))?;
        self.crash(name)?;
        let mut node = Node::from_durable(&copy, self.now)?;
        node.set_id(self.next_node_id);
        self.next_node_id += 1;
        self.insert_node(name, node);
        if copy.was_running() {
            self.start(name)
        } else {
            Ok(String::new())
        }
    }

    // ----- faults --------------------------------------------------------

    /// Traffic between `a` and `b` stops (held, in order) until [`Sim::heal`].
    pub fn partition(&mut self, a: &str, b: &str) {
        self.faults.apply(a, b, NetworkFault::Partition);
    }

    /// The partition between `a` and `b` ends (a delay or loss stays); held
    /// traffic flows.
    pub fn heal(&mut self, a: &str, b: &str) {
        let fault = self.faults.get(a, b);
        self.set_link_fault(
            a,
            b,
            LinkFault {
                partitioned: false,
                ..fault
            },
        );
    }

    /// The link between `a` and `b` gets these faults; what it held flows if
    /// it is no longer partitioned.
    pub fn set_link_fault(&mut self, a: &str, b: &str, fault: LinkFault) {
        self.faults.set(a, b, fault);
        self.release_held();
    }

    pub fn link_fault(&self, a: &str, b: &str) -> LinkFault {
        self.faults.get(a, b)
    }

    /// A `pgplay-net` command on the link between `a` and `b`.
    pub fn apply_network(&mut self, a: &str, b: &str, fault: NetworkFault) {
        if fault == NetworkFault::Cut {
            self.cut(a, b);
            return;
        }
        let now = self.faults.get(a, b).apply(fault);
        self.set_link_fault(a, b, now);
    }

    /// Sends what partitions held on the connections whose link healed.
    fn release_held(&mut self) {
        let ends: Vec<(ConnId, bool)> = self.held.keys().copied().collect();
        for (conn, toward_server) in ends {
            let Some(link) = self.links.get(&conn).cloned() else {
                continue;
            };
            let fault = self.faults.get(&link.client, &link.server);
            let Some(held) = self.held.get_mut(&(conn, toward_server)) else {
                continue;
            };
            let released = held.release(fault);
            if held.is_empty() {
                self.held.remove(&(conn, toward_server));
            }
            for delivery in released {
                self.schedule(conn, toward_server, delivery, fault.delay_ms);
            }
        }
    }

    pub fn heal_all(&mut self) {
        let pairs: Vec<(String, String)> = self
            .faults
            .faulty()
            .filter(|(_, fault)| fault.partitioned)
            .map(|(pair, _)| pair.clone())
            .collect();
        for (a, b) in pairs {
            self.heal(&a, &b);
        }
    }

    pub fn is_partitioned(&self, a: &str, b: &str) -> bool {
        self.faults.is_partitioned(a, b)
    }

    /// Breaks every open connection between `a` and `b`: both ends see it close.
    pub fn cut(&mut self, a: &str, b: &str) {
        let key = pair(a, b);
        let conns: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| !l.closed && pair(&l.client, &l.server) == key)
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            self.break_connection(conn, BreakReason::Cut);
        }
    }

    /// The network breaks one connection: what it carried is lost, both
    /// ends see it close, and each end's server log says why.
    fn break_connection(&mut self, conn: ConnId, reason: BreakReason) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        link.closed = true;
        let (client, server) = (link.client.clone(), link.server.clone());
        self.held.retain(|(held_conn, _), _| *held_conn != conn);
        self.queue.retain(|_, d| d.conn != conn);
        let now = self.now;
        for (to, peer) in [(&client, &server), (&server, &client)] {
            if let Some(node) = self.nodes.get_mut(to) {
                node.log_from_driver(broken_log_line(peer, reason));
            }
            self.push(
                now + self.net.latency,
                Delivery {
                    to: to.clone(),
                    conn,
                    event: PeerEvent::Closed,
                },
            );
        }
    }

    // ----- the network ---------------------------------------------------

    fn push(&mut self, at: Timestamp, delivery: Delivery) {
        assert!(self.queue.len() < QUEUE_CAPACITY, "network queue overflow");
        self.seq += 1;
        self.queue.insert((at, self.seq), delivery);
    }

    fn delay(&mut self) -> Timestamp {
        let jitter = if self.net.jitter > 0 {
            self.rng.below(self.net.jitter as u64 + 1) as Timestamp
        } else {
            0
        };
        self.net.latency + jitter
    }

    /// Queues a delivery on an open connection `extra_ms` later than the
    /// network's latency, after what is already in flight.
    fn schedule(&mut self, conn: ConnId, toward_server: bool, delivery: Delivery, extra_ms: u32) {
        let after = self.delay() + Timestamp::from(extra_ms) * MS;
        let now = self.now;
        let at = self
            .in_order
            .entry((conn, toward_server))
            .or_default()
            .due(now, after);
        self.push(at, delivery);
    }

    fn resolve(&self, host: &str, port: u16) -> Option<String> {
        let nodes = self.nodes.iter().map(|(name, n)| (name.as_str(), n.port));
        pgplay_node::resolve_host(host, port, nodes).map(str::to_string)
    }

    /// Carries out everything a node asked for.
    pub fn drain(&mut self, name: &str) {
        self.keep_data_directory(name);
        while let Some(output) = self.nodes.get_mut(name).and_then(|n| n.poll_output()) {
            self.route(name, output);
        }
    }

    fn route(&mut self, from: &str, output: Output) {
        match output {
            Output::Connect { conn, host, port } => {
                let target = self.resolve(&host, port);
                let reachable = target.as_ref().filter(|t| {
                    self.nodes.get(*t).is_some_and(|n| n.is_running())
                        && !self.is_partitioned(from, t)
                });
                let delay = self.delay();
                match reachable {
                    Some(server) => {
                        let server = server.clone();
                        self.links.insert(
                            conn,
                            Link {
                                client: from.to_string(),
                                server: server.clone(),
                                closed: false,
                            },
                        );
                        let client_port = self.client_ports.next_port();
                        let extra_ms = self.faults.get(from, &server).delay_ms;
                        self.schedule(
                            conn,
                            true,
                            Delivery {
                                to: server,
                                conn,
                                event: PeerEvent::Accepted {
                                    client_addr: "127.0.0.1".into(),
                                    client_port,
                                },
                            },
                            extra_ms,
                        );
                        self.schedule(
                            conn,
                            false,
                            Delivery {
                                to: from.to_string(),
                                conn,
                                event: PeerEvent::Connected,
                            },
                            extra_ms,
                        );
                    }
                    None => self.push(
                        self.now + delay,
                        Delivery {
                            to: from.to_string(),
                            conn,
                            event: PeerEvent::Refused,
                        },
                    ),
                }
            }
            Output::Send { conn, message } => self.send_on(from, conn, PeerEvent::Message(message)),
            Output::Close { conn } => {
                self.send_on(from, conn, PeerEvent::Closed);
                if let Some(link) = self.links.get_mut(&conn) {
                    link.closed = true;
                }
            }
            // The archive is a local directory: copies finish at once.
            Output::ArchivePut {
                path,
                bytes,
                unless_exists,
                ..
            } => {
                let result = self.archive.put(&path, bytes, unless_exists);
                let now = self.now;
                if let Some(node) = self.nodes.get_mut(from) {
                    node.archive_result(now, result);
                }
            }
            Output::ArchiveGet { path, .. } => {
                let result = self.archive.get(&path);
                let now = self.now;
                if let Some(node) = self.nodes.get_mut(from) {
                    node.restore_result(now, result);
                }
            }
        }
    }

    fn send_on(&mut self, from: &str, conn: ConnId, event: PeerEvent) {
        let Some(link) = self.links.get(&conn) else {
            return;
        };
        if link.closed {
            return;
        }
        let toward_server = link.client == from;
        let to = if toward_server {
            link.server.clone()
        } else {
            link.client.clone()
        };
        let delivery = Delivery { to, conn, event };
        let fault = self.faults.get(&link.client, &link.server);
        let rng = &mut self.rng;
        let draw = || rng.below(100) as u32;
        let end = (conn, toward_server);
        let offer = self
            .held
            .entry(end)
            .or_default()
            .offer(fault, delivery, draw);
        if self.held.get(&end).is_some_and(|h| h.is_empty()) {
            self.held.remove(&end);
        }
        match offer {
            Offer::Send { frame, delay_ms } => self.schedule(conn, toward_server, frame, delay_ms),
            Offer::Held => {}
            Offer::Break(reason) => self.break_connection(conn, reason),
        }
    }

    // ----- time ------------------------------------------------------------

    fn next_timer(&self) -> Option<(Timestamp, String)> {
        self.nodes
            .iter()
            .filter_map(|(name, n)| n.poll_timeout().map(|t| (t, name.clone())))
            .min()
    }

    /// Runs events and timers until `until`, then sets the clock there.
    pub fn run_until(&mut self, until: Timestamp) {
        self.run_until_or(until, &|_| false);
    }

    /// Runs events and timers until `until` or until `done` holds after an
    /// event; the clock stays at that event when `done` stopped the run.
    pub fn run_until_or(&mut self, until: Timestamp, done: &dyn Fn(&Sim) -> bool) {
        let mut spins_at_now = 0u32;
        let mut last_now = self.now;
        loop {
            if self.now == last_now {
                spins_at_now += 1;
                assert!(
                    spins_at_now < 1_000_000,
                    "simulation stuck at t={} (seed {})",
                    self.now,
                    self.seed
                );
            } else {
                spins_at_now = 0;
                last_now = self.now;
            }
            let next_delivery = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = self.next_timer();
            let delivery_first = match (next_delivery, &next_timer) {
                (Some(d), Some((t, _))) => d <= *t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if delivery_first {
                let at = next_delivery.expect("checked");
                if at > until {
                    break;
                }
                self.now = self.now.max(at);
                let (_, delivery) = self.queue.pop_first().expect("checked");
                let now = self.now;
                if let Some(node) = self.nodes.get_mut(&delivery.to) {
                    node.handle_peer(now, delivery.conn, delivery.event);
                    self.drain(&delivery.to);
                }
            } else {
                let (at, name) = next_timer.expect("checked");
                if at > until {
                    break;
                }
                self.now = self.now.max(at);
                let now = self.now;
                if let Some(node) = self.nodes.get_mut(&name) {
                    node.handle_timeout(now);
                }
                self.drain(&name);
            }
            if done(self) {
                return;
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, duration: Timestamp) {
        self.run_until(self.now + duration);
    }

    /// One readable line per node.
    pub fn status_lines(&self) -> Vec<String> {
        self.nodes.values().map(|n| n.status_line()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgplay_replication::protocol::Message;

    /// One more message than a partitioned connection holds breaks it, as
    /// the page's workers break theirs: both ends see it close and log why.
    #[test]
    fn a_full_partition_buffer_breaks_the_connection() {
        let mut sim = Sim::new(5).with_preset(Preset::OneStandby, 5432);
        sim.run_for(SECOND);
        let (conn, _) = sim
            .links
            .iter()
            .find(|(_, l)| !l.closed)
            .map(|(c, l)| (*c, l.clone()))
            .expect("the standby streams");
        sim.partition("primary", "standby1");
        for _ in 0..HELD_CAPACITY {
            sim.send_on("primary", conn, PeerEvent::Message(Message::Terminate));
        }
        assert!(!sim.links[&conn].closed);
        assert_eq!(sim.held[&(conn, false)].len(), HELD_CAPACITY);
        sim.send_on("primary", conn, PeerEvent::Message(Message::Terminate));
        assert!(sim.links[&conn].closed, "one more breaks the connection");
        assert!(sim.held.is_empty(), "and what it held is gone");
        for node in ["primary", "standby1"] {
            let said = sim
                .node_mut(node)
                .unwrap()
                .log()
                .any(|l| l.contains("the partition held 4096 messages"));
            assert!(said, "{node}'s log says why");
        }
    }
}
