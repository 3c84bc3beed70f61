//! The playground: the cluster's topology with its controls, a psql console
//! per node, the WAL stream with each standby's replay cursor,
//! `pg_stat_replication`, and the server logs. Every control shows the
//! command it stands for. The cluster runs in Web Workers
//! (`pgplay_web::cluster`); this module only renders what they report and
//! sends what the learner asks.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use pgplay_cluster::{NetworkFault, ShellCommand};
use pgplay_web::cluster::PgplayCluster;
use pgplay_web::drawing::{fault_between, faults, Drawing};
use pgplay_web::embed::EmbedConfig;
use pgplay_web::failover;
use pgplay_web::protocol::{Event, NodeStatus};
use pgplay_web::scenario::{self, Action};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::cluster_start::use_cluster;
use crate::console_view::Console;
use crate::drawing_view::{use_drawing, ClusterDrawing};
use crate::embed_view::EmbedApp;
use crate::lesson_view::LessonPanel;
use crate::link_view::LinkDetails;
use crate::scenario_view::ScenarioPanel;
use crate::shell_view::Shell;
use crate::wal_view::WalStream;

/// Most WAL records the stream view keeps (it renders only those in view).
pub const WAL_ROWS: usize = 10_000;
/// Most log lines kept per node.
const LOG_LINES: usize = 200;
/// Most entries a console keeps.
const CONSOLE_ENTRIES: usize = 100;

/// The cluster handle, comparable so it can be a prop.
#[derive(Clone)]
pub struct ClusterRef(pub PgplayCluster);
impl PartialEq for ClusterRef {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[derive(Clone, PartialEq)]
pub struct WalRow {
    /// Records seen before this one since the page opened.
    pub number: u64,
    pub node: String,
    pub lsn: String,
    pub end: String,
    pub waldump: String,
    pub explain: String,
}

/// What the page knows. Rows and lines are shared (`Rc`), so the copy
/// each update makes is cheap however long the lists are.
#[derive(Clone, PartialEq, Default)]
pub struct Model {
    pub nodes: BTreeMap<String, NodeStatus>,
    pub wal: VecDeque<Rc<WalRow>>,
    pub wal_seen: u64,
    pub skipped: u64,
    pub logs: BTreeMap<String, VecDeque<Rc<str>>>,
    pub commands: VecDeque<Rc<str>>,
    /// Each node's psql output, one entry per input.
    pub consoles: BTreeMap<String, VecDeque<Rc<str>>>,
    /// What the learner ran, in order: the shareable scenario.
    pub scenario: VecDeque<Rc<Action>>,
    /// How many actions the learner ran (consoles, controls, replays), and
    /// the last one with its outcome: a lesson ticks a step typed by hand.
    pub runs: u64,
    pub last_run: Option<Rc<RunOutcome>>,
    /// Each node's shell: the commands run there (typed, or by a control
    /// about that node) with what they printed. A shell outlives its node's
    /// `rm -rf`, so the rebuild that follows shows where it started.
    pub shells: BTreeMap<String, VecDeque<Rc<str>>>,
}

/// An action the learner ran, whether it ran, and what it printed.
#[derive(Clone, PartialEq, Debug)]
pub struct RunOutcome {
    pub action: Action,
    pub ran: bool,
    pub output: String,
}

pub enum Msg {
    Events(String, Vec<Event>),
    Command(String),
    ConsoleOutput(String, String),
    Ran(Action),
    Outcome(RunOutcome),
    /// A command and its output, for a node's shell; the flag says whether
    /// it ran (a failed command about a node that does not exist gets no shell).
    ShellOutput(String, String, bool),
    /// `rm -rf NODE` removed a stopped node: the page forgets its status.
    NodeRemoved(String),
}

/// Appends to a bounded list, dropping the oldest entry when full.
fn push_bounded<T>(list: &mut VecDeque<T>, bound: usize, item: T) {
    if list.len() == bound {
        list.pop_front();
    }
    list.push_back(item);
}

impl Reducible for Model {
    type Action = Msg;
    fn reduce(self: Rc<Self>, action: Msg) -> Rc<Self> {
        let mut model = (*self).clone();
        match action {
            Msg::Events(node, events) => {
                for event in events {
                    match event {
                        Event::Status(status) => {
                            model.nodes.insert(node.clone(), *status);
                        }
                        Event::Log(line) => {
                            let log = model.logs.entry(node.clone()).or_default();
                            push_bounded(log, LOG_LINES, line.into());
                        }
                        Event::Wal {
                            lsn,
                            end,
                            waldump,
                            explain,
                        } => {
                            // The stream view follows the node that writes WAL.
                            let writer = model.nodes.get(&node).is_none_or(|s| s.role == "primary");
                            if writer {
                                let row = WalRow {
                                    number: model.wal_seen,
                                    node: node.clone(),
                                    lsn,
                                    end,
                                    waldump,
                                    explain,
                                };
                                model.wal_seen += 1;
                                push_bounded(&mut model.wal, WAL_ROWS, Rc::new(row));
                            }
                        }
                        Event::WalSkipped(n) => model.skipped += n,
                    }
                }
            }
            Msg::Command(line) => push_bounded(&mut model.commands, LOG_LINES, line.into()),
            Msg::ConsoleOutput(node, text) => {
                let console = model.consoles.entry(node).or_default();
                push_bounded(console, CONSOLE_ENTRIES, text.into());
            }
            Msg::Ran(action) => {
                push_bounded(&mut model.scenario, scenario::MAX_ACTIONS, Rc::new(action))
            }
            Msg::Outcome(outcome) => {
                model.runs += 1;
                model.last_run = Some(Rc::new(outcome));
            }
            Msg::ShellOutput(node, text, ran) => {
                let known = model.nodes.contains_key(&node) || model.shells.contains_key(&node);
                if known || ran {
                    let shell = model.shells.entry(node).or_default();
                    push_bounded(shell, CONSOLE_ENTRIES, text.into());
                }
            }
            Msg::NodeRemoved(node) => {
                if model.nodes.get(&node).is_some_and(|s| !s.running) {
                    model.nodes.remove(&node);
                }
            }
        }
        Rc::new(model)
    }
}

/// What a cluster call printed: psql's or the command's output, or its error text.
pub async fn printed(promise: js_sys::Promise) -> String {
    outcome(promise).await.1
}

/// Whether a cluster call succeeded, and what it printed.
async fn outcome(promise: js_sys::Promise) -> (bool, String) {
    match JsFuture::from(promise).await {
        Ok(value) => (true, value.as_string().unwrap_or_default()),
        Err(value) => (false, value.as_string().unwrap_or_default()),
    }
}

/// Runs one action on the cluster without showing it: (whether it ran, its output).
/// SQL goes to psql line by line, as typed.
pub async fn execute(cluster: &ClusterRef, action: &Action) -> (bool, String) {
    match action {
        Action::Sql { node, text } => {
            let mut shown = String::new();
            for line in text.lines() {
                shown.push_str(&printed(cluster.0.psql(node.clone(), line.to_string())).await);
            }
            (true, shown)
        }
        Action::Shell(line) => outcome(cluster.0.run(line.clone())).await,
    }
}

/// Shows an action's output where a learner looks for it (the node's
/// console, or the command log and the shell of the node the command is
/// about) and adds it to the scenario.
pub fn record(model: &UseReducerDispatcher<Model>, action: Action, output: &str) {
    record_in(model, action, output, true, None);
}

/// [`record`], for an action that `ran` or not, a command shown in `shell`
/// (the shell it was typed in) or else in the shell of the node it is about.
fn record_in(
    model: &UseReducerDispatcher<Model>,
    action: Action,
    output: &str,
    ran: bool,
    shell: Option<&str>,
) {
    match &action {
        Action::Sql { node, text } => model.dispatch(Msg::ConsoleOutput(
            node.clone(),
            format!("{node}=# {text}\n{output}"),
        )),
        Action::Shell(line) => {
            let shown = if output.is_empty() {
                format!("$ {line}")
            } else {
                format!("$ {line}\n{output}")
            };
            model.dispatch(Msg::Command(shown.clone()));
            let parsed = pgplay_cluster::shell::parse(line);
            let about = parsed.as_ref().map(|c| c.node().to_string()).ok();
            if let Some(node) = shell
                .map(str::to_string)
                .or(about)
                .filter(|n| !n.is_empty())
            {
                model.dispatch(Msg::ShellOutput(node, shown, ran));
            }
            if let (true, Ok(ShellCommand::RemoveDataDir { node, .. })) = (ran, parsed) {
                model.dispatch(Msg::NodeRemoved(node));
            }
        }
    }
    model.dispatch(Msg::Ran(action));
}

/// Runs an action, shows its output and records it; returns (ran, output).
pub async fn run_action(
    cluster: &ClusterRef,
    model: &UseReducerDispatcher<Model>,
    action: Action,
) -> (bool, String) {
    run_action_in(cluster, model, action, None).await
}

/// [`run_action`], a command shown in the shell of `shell`.
pub async fn run_action_in(
    cluster: &ClusterRef,
    model: &UseReducerDispatcher<Model>,
    action: Action,
    shell: Option<&str>,
) -> (bool, String) {
    let (ran, output) = execute(cluster, &action).await;
    record_in(model, action.clone(), &output, ran, shell);
    model.dispatch(Msg::Outcome(RunOutcome {
        action,
        ran,
        output: output.clone(),
    }));
    (ran, output)
}

/// Runs command lines one after another in `shell`, as typed there, up to
/// the first that fails; whether all ran.
pub async fn run_commands_in(
    cluster: &ClusterRef,
    model: &UseReducerDispatcher<Model>,
    shell: &str,
    lines: Vec<String>,
) -> bool {
    for line in lines {
        if !run_action_in(cluster, model, Action::Shell(line), Some(shell))
            .await
            .0
        {
            return false;
        }
    }
    true
}

/// Lines as one text.
pub fn joined(lines: &VecDeque<Rc<str>>) -> String {
    lines.iter().map(|l| &**l).collect::<Vec<_>>().join("\n")
}

/// Keeps `state` equal to what is typed in a textarea.
pub fn textarea_input(state: UseStateHandle<String>) -> Callback<InputEvent> {
    Callback::from(move |event: InputEvent| {
        if let Some(area) = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
        {
            state.set(area.value());
        }
    })
}

/// A part of the page's address (`search`, `hash`), empty if unreadable.
pub fn location_part(part: impl Fn(&web_sys::Location) -> Result<String, JsValue>) -> String {
    web_sys::window()
        .and_then(|w| part(&w.location()).ok())
        .unwrap_or_default()
}

/// A parameter of the page's address (`?preset=cascading&lesson=001`).
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let prefix = format!("{name}=");
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix(prefix.as_str()).map(str::to_string))
}

/// Starts over: the same address without the scenario, which reloads the page.
fn reset() {
    if let Some(window) = web_sys::window() {
        let location = window.location();
        let search = location.search().unwrap_or_default();
        let _ = location.set_hash("");
        let _ = location.set_search(&search);
    }
}

/// The whole page.
#[component]
pub fn App() -> Html {
    let model = use_reducer(Model::default);
    let (cluster, failed) = use_cluster(model.dispatcher());
    if let Some(config) =
        EmbedConfig::parse(&location_part(|l| l.search()), &location_part(|l| l.hash()))
    {
        return html! { <EmbedApp config={Rc::new(config)} cluster={(*cluster).clone()} failed={(*failed).clone()} model={model} /> };
    }
    let drawing = use_drawing(&model);
    let selected_link = use_state(|| None::<(String, String)>);
    let on_link = {
        let selected = selected_link.clone();
        Callback::from(move |link: (String, String)| {
            let again = selected.as_ref() == Some(&link);
            selected.set((!again).then_some(link));
        })
    };
    let close_link = {
        let selected = selected_link.clone();
        Callback::from(move |()| selected.set(None))
    };
    // A shell per node, and one for a node whose data directory was removed.
    let terminals: Vec<String> = model
        .nodes
        .keys()
        .chain(model.shells.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let status_text = match (&*cluster, &*failed) {
        (_, Some(why)) => format!("The cluster did not start: {why}"),
        (None, None) => "Starting the primary and its standbys…".to_string(),
        (Some(_), None) => pgplay_web::drawing::status_sentence(&drawing),
    };
    let phase = match (&*cluster, &*failed) {
        (_, Some(_)) => "failed",
        (None, None) => "starting",
        (Some(_), None) => "ready",
    };
    html! {
        <>
            <header class="app-header">
                <h1>{ "pgplay" }</h1>
                <p class="tagline">{ "A PostgreSQL streaming-replication playground" }</p>
                <nav aria-label="Presets" class="presets">
                    <a href="?preset=default">{ "primary + 2 standbys" }</a>
                    <a href="?preset=one-standby">{ "one standby" }</a>
                    <a href="?preset=cascading">{ "cascading" }</a>
                    <a href="?preset=synchronous">{ "synchronous" }</a>
                </nav>
            </header>
            <div class="workspace">
                <main>
                    <section class="panel" aria-labelledby="cluster-heading">
                        <h2 id="cluster-heading">{ "Cluster" }</h2>
                        <p role="status" aria-live="polite" data-phase={phase}>{ status_text }</p>
                        <button type="button" class="reset" onclick={|_| reset()}
                            title="a fresh cluster of this preset">{ "Reset cluster" }</button>
                        if let Some(cluster) = (*cluster).clone() {
                            <ClusterDrawing drawing={drawing.clone()} on_link={on_link.clone()} selected={(*selected_link).clone()} />
                            if let Some(link) = (*selected_link).clone() {
                                <LinkDetails cluster={cluster.clone()} model={model.clone()} drawing={drawing.clone()} {link} on_close={close_link.clone()} />
                            }
                            <Topology cluster={cluster.clone()} model={model.clone()} drawing={drawing.clone()} />
                        }
                    </section>
                    if let Some(cluster) = (*cluster).clone() {
                        <section class="panel consoles" aria-labelledby="consoles-heading">
                            <h2 id="consoles-heading">{ "psql and shell" }</h2>
                            <div class="console-grid">
                                { for terminals.iter().map(|name| html! {
                                    <div class="node-terminals" key={name.clone()}>
                                        if model.nodes.contains_key(name) {
                                            <Console node={name.clone()} cluster={cluster.clone()} model={model.clone()} />
                                        }
                                        <Shell node={name.clone()} cluster={cluster.clone()} model={model.clone()} />
                                    </div>
                                }) }
                            </div>
                        </section>
                        <div class="two-columns">
                            <WalStream model={model.clone()} />
                            <Replication cluster={cluster.clone()} model={model.clone()} />
                        </div>
                        <ServerLog model={model.clone()} />
                        <ConfigEditor cluster={cluster.clone()} model={model.clone()} />
                        <ScenarioPanel cluster={cluster.clone()} model={model.clone()} />
                    }
                </main>
                if let Some(cluster) = (*cluster).clone() {
                    <aside class="lesson-aside" aria-label="Lesson">
                        <LessonPanel cluster={cluster.clone()} model={model.clone()} />
                    </aside>
                }
            </div>
        </>
    }
}

#[derive(Properties, PartialEq)]
pub struct TopologyProps {
    pub cluster: ClusterRef,
    pub model: UseReducerHandle<Model>,
}

#[derive(Properties, PartialEq)]
pub struct CardsProps {
    pub cluster: ClusterRef,
    pub model: UseReducerHandle<Model>,
    pub drawing: Rc<Drawing>,
}

/// What a node's card offers in a failover: "Promote standbyN" on a primary
/// that is down, "Rejoin as a standby of X" on a node a promotion left on an
/// older timeline. The rejoin's commands run in the node's shell, one by one.
fn failover_controls(props: &CardsProps, name: &str) -> Html {
    let candidates = failover::promote_candidates(&props.drawing, name);
    let rejoin = failover::rejoin(&props.model.nodes, name);
    if candidates.is_empty() && rejoin.is_none() {
        return html! {};
    }
    let run_in_shell = |shell: String, lines: Vec<String>| {
        let (cluster, model) = (props.cluster.clone(), props.model.dispatcher());
        move |_: MouseEvent| {
            let (cluster, model, shell, lines) =
                (cluster.clone(), model.clone(), shell.clone(), lines.clone());
            wasm_bindgen_futures::spawn_local(async move {
                run_commands_in(&cluster, &model, &shell, lines).await;
            });
        }
    };
    html! {
        <div class="failover" role="group" aria-label={format!("Failover from {name}")}>
            if !candidates.is_empty() {
                <p>{ format!("{name} is down and no node accepts writes. Promote a standby (the one with the most WAL loses the fewest commits):") }</p>
                <div class="controls">
                    { for candidates.into_iter().map(|c| html! {
                        <button type="button" aria-label={format!("Promote {} in place of {name}", c.name)} title={c.command.clone()}
                            onclick={run_in_shell(c.name.clone(), vec![c.command.clone()])}>
                            { format!("Promote {}", c.name) }<code>{ format!("{} · WAL to {}", c.command, c.flushed) }</code>
                        </button>
                    }) }
                </div>
            }
            if let Some(rejoin) = rejoin {
                <p>{ format!("{} is the primary on a newer timeline. {name} cannot follow it with its own WAL (it may hold commits the new primary never had): rebuild it as a standby of {}.", rejoin.upstream, rejoin.upstream) }</p>
                <div class="controls">
                    <button type="button" aria-label={format!("Rejoin {name} as a standby of {}", rejoin.upstream)}
                        title={rejoin.lines.join("\n")} onclick={run_in_shell(name.to_string(), rejoin.lines.clone())}>
                        { format!("Rejoin as a standby of {}", rejoin.upstream) }<code>{ rejoin.lines.join(" && ") }</code>
                    </button>
                </div>
            }
        </div>
    }
}

/// Nodes, their links, and the controls, each labelled with its command.
#[component]
fn Topology(props: &CardsProps) -> Html {
    // What pgplay-net last did to each link, from the commands run (the drawing's source too).
    let link_faults = faults(props.model.scenario.iter().map(|a| &**a));
    let run = {
        let (cluster, model) = (props.cluster.clone(), props.model.dispatcher());
        Callback::from(move |line: String| {
            let (cluster, model) = (cluster.clone(), model.clone());
            wasm_bindgen_futures::spawn_local(async move {
                run_action(&cluster, &model, Action::Shell(line)).await;
            });
        })
    };
    let next_standby = {
        let n = (1..)
            .find(|i| !props.model.nodes.contains_key(&format!("standby{i}")))
            .unwrap_or(9);
        format!("standby{n}")
    };
    // A copy is a stopped server: the button copies, then starts it.
    let add = [
        format!("pg_basebackup -h 127.0.0.1 -p 5432 -D {next_standby} -R"),
        format!("pg_ctl -D {next_standby} start"),
    ];
    let add_standby = {
        let (cluster, model, add) = (props.cluster.clone(), props.model.dispatcher(), add.clone());
        Callback::from(move |_| {
            let (cluster, model, add) = (cluster.clone(), model.clone(), add.clone());
            wasm_bindgen_futures::spawn_local(async move {
                for line in add {
                    if !run_action(&cluster, &model, Action::Shell(line)).await.0 {
                        break;
                    }
                }
            });
        })
    };
    html! {
        <>
            <ul class="nodes" aria-label="Nodes">
                { for props.model.nodes.iter().map(|(name, status)| {
                    let running = status.running;
                    let controls: Vec<(String, String)> = if running {
                        let mut c = vec![
                            (format!("Stop {name}"), format!("pg_ctl -D {name} -m fast stop")),
                            (format!("Crash {name}"), format!("pg_ctl -D {name} -m immediate stop")),
                        ];
                        if status.role != "primary" {
                            c.insert(0, (format!("Promote {name}"), format!("pg_ctl -D {name} promote")));
                        }
                        c
                    } else {
                        vec![(format!("Start {name}"), format!("pg_ctl -D {name} start"))]
                    };
                    let link = status.upstream.as_ref().and_then(|(host, port)| {
                        props.model.nodes.iter().find(|(n, s)| *n == host || s.port == *port).map(|(n, _)| n.clone())
                    });
                    html! {
                        <li class={classes!("node", format!("role-{}", status.role.replace(' ', "-")))} aria-label={format!("Node {name}")}
                            id={format!("node-card-{name}")} tabindex="-1">
                            <h3>{ name }</h3>
                            <dl>
                                <dt>{ "role" }</dt><dd>{ &status.role }</dd>
                                <dt>{ "timeline" }</dt><dd>{ status.timeline }</dd>
                                <dt>{ "state" }</dt><dd>{ if running { status.receiver.clone().unwrap_or_else(|| "running".into()) } else { "stopped".into() } }</dd>
                                <dt>{ "write / flush" }</dt><dd><code>{ format!("{} / {}", status.write, status.flush) }</code></dd>
                                if let Some(replay) = &status.replay {
                                    <dt>{ "replay" }</dt><dd><code>{ replay }</code></dd>
                                }
                                if let Some(upstream) = &link {
                                    <dt>{ "streams from" }</dt><dd>{ upstream }</dd>
                                    if let Some(sender) = props.model.nodes.get(upstream).and_then(|u| u.sender_to(status)) {
                                        <dt>{ "link lag" }</dt>
                                        <dd>{ format!("{} bytes{}", sender.lag_bytes, sender.replay_lag_ms.map(|ms| format!(", {ms:.1} ms")).unwrap_or_default()) }</dd>
                                        <dt>{ "sync state" }</dt>
                                        <dd class={format!("sync-{}", sender.sync_state)}>{ &sender.sync_state }</dd>
                                    }
                                }
                            </dl>
                            <div class="controls">
                                { for controls.into_iter().map(|(label, command)| {
                                    let run = run.clone();
                                    let line = command.clone();
                                    html! {
                                        <button type="button" aria-label={label.clone()} title={command.clone()}
                                            onclick={move |_| run.emit(line.clone())}>
                                            { label }<code>{ command }</code>
                                        </button>
                                    }
                                }) }
                                if let Some(upstream) = link {
                                    { {
                                        let cut = fault_between(&link_faults, &upstream, name).cut;
                                        let run = run.clone();
                                        let fault = if cut { NetworkFault::Heal } else { NetworkFault::Partition };
                                        let command = fault.command(&upstream, name);
                                        let label = if cut { format!("Heal link {upstream} to {name}") } else { format!("Cut link {upstream} to {name}") };
                                        let line = command.clone();
                                        html! {
                                            <button type="button" aria-label={label.clone()} title={command.clone()}
                                                onclick={move |_| run.emit(line.clone())}>{ label }<code>{ command }</code></button>
                                        }
                                    } }
                                    if let Some(sender) = props.model.nodes.get(&upstream).and_then(|u| u.sender_to(status)) {
                                        { {
                                            // synchronous_standby_names names the standby's application_name.
                                            let synchronous = sender.sync_state != "async";
                                            let sql = if synchronous {
                                                "ALTER SYSTEM RESET synchronous_standby_names;\nSELECT pg_reload_conf();".to_string()
                                            } else {
                                                format!("ALTER SYSTEM SET synchronous_standby_names = '{}';\nSELECT pg_reload_conf();", sender.application_name)
                                            };
                                            let label = if synchronous { format!("Make {name} asynchronous") } else { format!("Make {name} synchronous") };
                                            let (cluster, model, node, text) = (props.cluster.clone(), props.model.dispatcher(), upstream.clone(), sql.clone());
                                            html! {
                                                <button type="button" aria-label={label.clone()} title={sql.clone()} onclick={move |_| {
                                                    let (cluster, model, node, text) = (cluster.clone(), model.clone(), node.clone(), text.clone());
                                                    wasm_bindgen_futures::spawn_local(async move {
                                                        run_action(&cluster, &model, Action::Sql { node, text }).await;
                                                    });
                                                }}>{ label }<code>{ sql.replace('\n', " ") }</code></button>
                                            }
                                        } }
                                    }
                                    { {
                                        let slow = fault_between(&link_faults, &upstream, name).delay_ms > 0;
                                        let run = run.clone();
                                        let command = NetworkFault::Delay(if slow { 0 } else { 200 }).command(&upstream, name);
                                        let label = if slow { format!("Speed up link {upstream} to {name}") } else { format!("Slow link {upstream} to {name}") };
                                        let line = command.clone();
                                        html! {
                                            <button type="button" aria-label={label.clone()} title={command.clone()}
                                                onclick={move |_| run.emit(line.clone())}>{ label }<code>{ command }</code></button>
                                        }
                                    } }
                                }
                            </div>
                            { failover_controls(props, name) }
                        </li>
                    }
                }) }
            </ul>
            <div class="controls">
                <button type="button" aria-label={format!("Add {next_standby}")} onclick={add_standby}>
                    { format!("Add {next_standby}") }<code>{ add.join(" && ") }</code>
                </button>
            </div>
            <details class="command-log">
                <summary>{ "Commands run" }</summary>
                <pre aria-label="Command output">{ joined(&props.model.commands) }</pre>
            </details>
        </>
    }
}

#[derive(Properties, PartialEq)]
pub struct ModelProps {
    pub model: UseReducerHandle<Model>,
}

/// `pg_stat_replication` of every node that has walsenders, as they report
/// it, and `pg_stat_wal_receiver` of every standby, queried every second.
#[component]
fn Replication(props: &TopologyProps) -> Html {
    // What the monitor session last read, by (node, view); one shared map, so
    // answers arriving together do not overwrite each other.
    let polled = use_mut_ref(BTreeMap::<(String, &'static str), String>::new);
    let redraw = use_force_update();
    {
        let (cluster, polled) = (props.cluster.clone(), polled.clone());
        // Standbys show pg_stat_wal_receiver; every running node its slots.
        let watched: Vec<(String, bool)> = props
            .model
            .nodes
            .iter()
            .filter(|(_, s)| s.running)
            .map(|(n, s)| (n.clone(), s.replay.is_some()))
            .collect();
        use_effect_with(watched, move |watched| {
            let watched = watched.clone();
            polled
                .borrow_mut()
                .retain(|(n, view), _| match watched.iter().find(|(w, _)| w == n) {
                    Some((_, standby)) => *standby || *view != "receiver",
                    None => false,
                });
            let timer = interval(1000, move || {
                for (node, standby) in watched.clone() {
                    let mut queries = vec![(
                        "slots",
                        "SELECT slot_name, active, restart_lsn, wal_status FROM pg_replication_slots;",
                    )];
                    if standby {
                        queries.push((
                            "receiver",
                            "SELECT status, receive_start_lsn, written_lsn, flushed_lsn, sender_host, sender_port, slot_name FROM pg_stat_wal_receiver;",
                        ));
                    }
                    for (view, sql) in queries {
                        let (cluster, polled, redraw, node) = (
                            cluster.clone(),
                            polled.clone(),
                            redraw.clone(),
                            node.clone(),
                        );
                        wasm_bindgen_futures::spawn_local(async move {
                            let promise =
                                cluster
                                    .0
                                    .psql_session(node.clone(), "monitor".into(), sql.into());
                            if let Ok(value) = JsFuture::from(promise).await {
                                let text = value.as_string().unwrap_or_default();
                                polled.borrow_mut().insert((node, view), text);
                                redraw.force_update();
                            }
                        });
                    }
                }
            });
            move || drop(timer)
        });
    }
    let polled = polled.borrow().clone();
    let receivers: Vec<(String, String)> = polled
        .iter()
        .filter(|((_, view), _)| *view == "receiver")
        .map(|((n, _), t)| (n.clone(), t.clone()))
        .collect();
    let slots: Vec<(String, String)> = polled
        .iter()
        .filter(|((_, view), t)| *view == "slots" && !t.contains("(0 rows)"))
        .map(|((n, _), t)| (n.clone(), t.clone()))
        .collect();
    html! {
        <section class="panel" aria-labelledby="replication-heading">
            <h2 id="replication-heading">{ "pg_stat_replication" }</h2>
            <table aria-label="pg_stat_replication">
                <thead><tr>
                    <th>{ "upstream" }</th><th>{ "application_name" }</th><th>{ "state" }</th>
                    <th>{ "sent_lsn" }</th><th>{ "write_lsn" }</th><th>{ "flush_lsn" }</th><th>{ "replay_lsn" }</th>
                    <th>{ "replay_lag" }</th><th>{ "sync_state" }</th><th>{ "behind" }</th>
                </tr></thead>
                <tbody>
                    { for props.model.nodes.iter().flat_map(|(name, status)| status.senders.iter().map(move |s| {
                        // 0/0: nothing reported yet, which the view shows as NULL.
                        let lsn = |v: &String| if v == "0/0" { String::new() } else { v.clone() };
                        html! {
                            <tr>
                                <td>{ name }</td><td>{ &s.application_name }</td><td>{ &s.state }</td>
                                <td><code>{ lsn(&s.sent) }</code></td><td><code>{ lsn(&s.write) }</code></td>
                                <td><code>{ lsn(&s.flush) }</code></td><td><code>{ lsn(&s.replay) }</code></td>
                                <td>{ s.replay_lag_ms.map(|ms| format!("{ms:.1} ms")).unwrap_or_default() }</td>
                                <td>{ &s.sync_state }</td>
                                <td>{ format!("{} bytes", s.lag_bytes) }</td>
                            </tr>
                        }
                    })) }
                </tbody>
            </table>
            <h2 id="receiver-heading">{ "pg_stat_wal_receiver" }</h2>
            { for receivers.iter().map(|(node, text)| html! {
                <>
                    <h3>{ node }</h3>
                    <pre class="receiver" aria-label={format!("pg_stat_wal_receiver on {node}")}>{ text }</pre>
                </>
            }) }
            <h2 id="slots-heading">{ "pg_replication_slots" }</h2>
            if slots.is_empty() {
                <p class="muted">{ "No replication slots. Create one on the primary with SELECT pg_create_physical_replication_slot('standby1_slot'); and name it in the standby's primary_slot_name, or use pg_basebackup -C -S NAME -R." }</p>
            }
            { for slots.iter().map(|(node, text)| html! {
                <>
                    <h3>{ node }</h3>
                    <pre class="receiver" aria-label={format!("pg_replication_slots on {node}")}>{ text }</pre>
                </>
            }) }
        </section>
    }
}

/// A repeating timer that stops when dropped.
pub struct Interval {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            window.clear_interval_with_handle(self.id);
        }
    }
}

/// Calls `f` every `ms` milliseconds until the result is dropped.
pub fn interval(ms: i32, f: impl FnMut() + 'static) -> Option<Interval> {
    let callback = Closure::<dyn FnMut()>::new(f);
    let id = web_sys::window()?
        .set_interval_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            ms,
        )
        .ok()?;
    Some(Interval {
        id,
        _callback: callback,
    })
}

/// The server log of one node at a time.
#[component]
fn ServerLog(props: &ModelProps) -> Html {
    let shown = use_state(|| "primary".to_string());
    let lines = props
        .model
        .logs
        .get(&*shown)
        .map(joined)
        .unwrap_or_default();
    html! {
        <section class="panel" aria-labelledby="log-heading">
            <h2 id="log-heading">{ "Server log" }</h2>
            <div class="tabs" role="tablist" aria-label="Server log of">
                { for props.model.nodes.keys().map(|name| {
                    let (shown_state, n) = (shown.clone(), name.clone());
                    html! {
                        <button type="button" role="tab" aria-selected={(*shown == *name).to_string()}
                            onclick={move |_| shown_state.set(n.clone())}>{ name }</button>
                    }
                }) }
            </div>
            <pre class="server-log" aria-label={format!("Server log of {}", *shown)}>{ lines }</pre>
        </section>
    }
}

const CONFIG_FILES: [&str; 3] = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf"];

/// Edit a node's postgresql.conf, postgresql.auto.conf or pg_hba.conf, then
/// reload or restart it, as a DBA would with an editor and pg_ctl.
#[component]
fn ConfigEditor(props: &TopologyProps) -> Html {
    let node = use_state(|| "primary".to_string());
    let file = use_state(|| "pg_hba.conf".to_string());
    let text = use_state(String::new);
    let message = use_state(String::new);
    let load = {
        let (cluster, node, file, text, message) = (
            props.cluster.clone(),
            node.clone(),
            file.clone(),
            text.clone(),
            message.clone(),
        );
        Callback::from(move |(n, f): (String, String)| {
            node.set(n.clone());
            file.set(f.clone());
            let (cluster, text, message) = (cluster.clone(), text.clone(), message.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match JsFuture::from(cluster.0.run(format!("cat {n}/{f}"))).await {
                    Ok(value) => {
                        text.set(value.as_string().unwrap_or_default() + "\n");
                        message.set(format!("{n}/{f} loaded"));
                    }
                    Err(error) => message.set(error.as_string().unwrap_or_default()),
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| {
            load.emit(("primary".into(), "pg_hba.conf".into()));
            || ()
        });
    }
    // Saving is a command (`printf '%s\n' ... > NODE/FILE`), so the
    // scenario records it and replays it.
    let save = {
        let (cluster, node, file, text, message, model) = (
            props.cluster.clone(),
            node.clone(),
            file.clone(),
            text.clone(),
            message.clone(),
            props.model.dispatcher(),
        );
        Callback::from(move |_| {
            let (cluster, message, model) = (cluster.clone(), message.clone(), model.clone());
            let (n, f) = ((*node).clone(), (*file).clone());
            let line = pgplay_cluster::shell::write_file_command(&n, &f, &text);
            wasm_bindgen_futures::spawn_local(async move {
                match run_action(&cluster, &model, Action::Shell(line)).await {
                    (true, _) => {
                        message.set(format!("{n}/{f} saved: reload or restart {n} to apply it"))
                    }
                    (false, error) => message.set(error),
                }
            });
        })
    };
    let pg_ctl = {
        let (cluster, node, message, model) = (
            props.cluster.clone(),
            node.clone(),
            message.clone(),
            props.model.dispatcher(),
        );
        Callback::from(move |action: &'static str| {
            let line = format!("pg_ctl -D {} {action}", *node);
            let (cluster, message, model) = (cluster.clone(), message.clone(), model.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let out = printed(cluster.0.run(line.clone())).await;
                model.dispatch(Msg::Command(format!("$ {line}\n{out}")));
                message.set(format!("$ {line}: {}", out.lines().last().unwrap_or("")));
            });
        })
    };
    let oninput = textarea_input(text.clone());
    html! {
        <section class="panel" aria-labelledby="config-heading">
            <h2 id="config-heading">{ "Configuration files" }</h2>
            <div class="tabs" role="tablist" aria-label="Node to configure">
                { for props.model.nodes.keys().map(|n| {
                    let (load, n2, f) = (load.clone(), n.clone(), (*file).clone());
                    html! { <button type="button" role="tab" aria-selected={(*node == *n).to_string()} onclick={move |_| load.emit((n2.clone(), f.clone()))}>{ n }</button> }
                }) }
            </div>
            <div class="tabs" role="tablist" aria-label="File to edit">
                { for CONFIG_FILES.iter().map(|f| {
                    let (load, n, f2) = (load.clone(), (*node).clone(), f.to_string());
                    html! { <button type="button" role="tab" aria-selected={(*file == *f).to_string()} onclick={move |_| load.emit((n.clone(), f2.clone()))}>{ *f }</button> }
                }) }
            </div>
            <label for="config-text">{ format!("{}/{}", *node, *file) }</label>
            <textarea id="config-text" class="config-text" rows="12" spellcheck="false" value={(*text).clone()} {oninput} />
            <div class="controls">
                <button type="button" aria-label={format!("Save {}/{}", *node, *file)} onclick={save}>{ "Save" }</button>
                <button type="button" aria-label={format!("Reload {}", *node)} onclick={{ let c = pg_ctl.clone(); move |_| c.emit("reload") }}>
                    { format!("Reload {}", *node) }<code>{ format!("pg_ctl -D {} reload", *node) }</code>
                </button>
                <button type="button" aria-label={format!("Restart {}", *node)} onclick={{ let c = pg_ctl.clone(); move |_| c.emit("restart") }}>
                    { format!("Restart {}", *node) }<code>{ format!("pg_ctl -D {} restart", *node) }</code>
                </button>
            </div>
            <p role="status" aria-label="Configuration status">{ (*message).clone() }</p>
        </section>
    }
}
