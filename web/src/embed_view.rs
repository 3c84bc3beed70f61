//! The page in embed mode (`?embed=...`, see `pgplay_web::embed`): the
//! named views only, no header, laid out for a 720×480 iframe; a script
//! player for a scripted example; and the postMessage bridge for the host
//! page, which answers only the allowed origins.

use std::cell::RefCell;
use std::rc::Rc;

use pgplay_web::embed::{EmbedConfig, EmbedMessage, HostMessage, SqlError, View, MAX_QUEUED};
use pgplay_web::scenario::{self, Action};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::app::{run_action, ClusterRef, Model};
use crate::console_view::Console;
use crate::drawing_view::{use_drawing, ClusterDrawing};
use crate::lesson_view::LessonPanel;
use crate::wal_view::WalStream;

#[derive(Properties, PartialEq)]
pub struct EmbedProps {
    pub config: Rc<EmbedConfig>,
    pub cluster: Option<ClusterRef>,
    pub failed: Option<String>,
    pub model: UseReducerHandle<Model>,
}

#[component]
pub fn EmbedApp(props: &EmbedProps) -> Html {
    let drawing = use_drawing(&props.model);
    use_host_bridge(
        props.config.clone(),
        props.cluster.clone(),
        props.failed.clone(),
        props.model.clone(),
    );
    let config = &props.config;
    let (status, phase) = match (&props.cluster, &props.failed) {
        (_, Some(why)) => (format!("The cluster did not start: {why}"), "failed"),
        (None, None) => (
            "Starting the primary and its standbys…".to_string(),
            "starting",
        ),
        (Some(_), None) => (pgplay_web::drawing::status_sentence(&drawing), "ready"),
    };
    let shown: Vec<String> = props
        .model
        .nodes
        .keys()
        .filter(|n| config.shows_node(n))
        .cloned()
        .collect();
    html! {
        <main class="embed" aria-label="pgplay">
            <p class="embed-status" role="status" aria-live="polite" data-phase={phase}>{ status }</p>
            if let Some(cluster) = props.cluster.clone() {
                if let Some(script) = &config.script {
                    <ScriptPlayer cluster={cluster.clone()} model={props.model.clone()} script={Rc::<str>::from(script.as_str())} />
                }
                { for config.views.iter().map(|view| match view {
                    View::Console => html! {
                        <section class="embed-view consoles" aria-label="psql">
                            <div class="console-grid">
                                { for shown.iter().map(|name| html! {
                                    <Console key={name.clone()} node={name.clone()} cluster={cluster.clone()} model={props.model.clone()} />
                                }) }
                            </div>
                        </section>
                    },
                    View::Cluster => html! {
                        <section class="embed-view" aria-label="Cluster">
                            <ClusterDrawing drawing={drawing.clone()} />
                        </section>
                    },
                    View::Wal => html! { <WalStream model={props.model.clone()} /> },
                    View::Lesson => html! {
                        <LessonPanel cluster={cluster.clone()} model={props.model.clone()} />
                    },
                }) }
            }
            <p class="embed-credit"><a href="./" target="_blank" rel="noopener">{ "Open in pgplay" }</a></p>
        </main>
    }
}

#[derive(Properties, PartialEq)]
pub struct PlayerProps {
    pub cluster: ClusterRef,
    pub model: UseReducerHandle<Model>,
    pub script: Rc<str>,
}

fn describe(action: &Action) -> String {
    match action {
        Action::Sql { node, text } => format!("{node}=# {text}"),
        Action::Shell(line) => format!("$ {line}"),
    }
}

/// Steps through a scenario: one action per "Next step", the rest with
/// "Run all", and "Reset" for a fresh cluster.
#[component]
fn ScriptPlayer(props: &PlayerProps) -> Html {
    let actions = use_memo(props.script.clone(), |script| scenario::parse(script));
    // Results of the actions run so far (whether each ran), in order.
    let done = use_state(Vec::<bool>::new);
    let running = use_state(|| false);
    let play = {
        let (cluster, model, actions) = (
            props.cluster.clone(),
            props.model.dispatcher(),
            actions.clone(),
        );
        let (done, running) = (done.clone(), running.clone());
        Callback::from(move |all: bool| {
            if *running || done.len() >= actions.len() {
                return;
            }
            running.set(true);
            let (cluster, model, actions, done, running) = (
                cluster.clone(),
                model.clone(),
                actions.clone(),
                done.clone(),
                running.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let mut results = (*done).clone();
                while results.len() < actions.len() {
                    let action = actions[results.len()].clone();
                    let (ran, _) = run_action(&cluster, &model, action).await;
                    results.push(ran);
                    done.set(results.clone());
                    if !all || !ran {
                        break;
                    }
                }
                running.set(false);
            });
        })
    };
    let total = actions.len();
    let next = done.len();
    let progress = if next == total {
        format!("All {total} steps run.")
    } else {
        format!("Step {} of {total} next.", next + 1)
    };
    html! {
        <section class="player" aria-label="Script player">
            <div class="controls">
                <button type="button" disabled={*running || next == total}
                    onclick={{ let play = play.clone(); move |_| play.emit(false) }}>{ "Next step" }</button>
                <button type="button" disabled={*running || next == total}
                    onclick={{ let play = play.clone(); move |_| play.emit(true) }}>{ "Run all" }</button>
                <button type="button" onclick={|_| reload()} title="a fresh cluster">{ "Reset" }</button>
                <span role="status" aria-label="Script progress">{ progress }</span>
            </div>
            <ol class="player-steps" aria-label="Script steps">
                { for actions.iter().enumerate().map(|(index, action)| {
                    let state = match done.get(index) {
                        Some(true) => "done",
                        Some(false) => "failed",
                        None if index == next => "next",
                        None => "",
                    };
                    html! {
                        <li class={classes!("player-step", state)} aria-current={(state == "next").then_some("step")}>
                            <code>{ describe(action) }</code>
                            { match state { "done" => " ✓", "failed" => " ✗", _ => "" } }
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}

fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// Posts `message` to the host page at `origin`.
fn post(message: &EmbedMessage, origin: &str) {
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
        return;
    };
    let Ok(text) = serde_json::to_string(message) else {
        return;
    };
    if let Ok(value) = js_sys::JSON::parse(&text) {
        let _ = parent.post_message(&value, origin);
    }
}

/// The origin of the page that framed this one, when the browser tells it.
fn host_origin() -> Option<String> {
    let referrer = web_sys::window()?.document()?.referrer();
    let rest = referrer.split_once("://")?;
    let host = rest.1.split('/').next()?;
    Some(format!("{}://{host}", rest.0))
}

/// What the bridge knows between messages.
#[derive(Default)]
struct Bridge {
    /// Set once the cluster streams.
    cluster: Option<ClusterRef>,
    /// Why the cluster did not start.
    failed: Option<String>,
    /// Allowed messages that came before the cluster streamed, in order (at most
    /// [`MAX_QUEUED`]).
    queued: Vec<(String, HostMessage)>,
    /// Origins told `pgplay:ready` (or `pgplay:failed`), or waiting to be.
    greeted: Vec<String>,
    /// Origins that asked for events.
    subscribers: Vec<String>,
}

type SharedBridge = Rc<RefCell<Bridge>>;

/// The message that tells `origin` how the start went, once it is known.
fn greeting(bridge: &Bridge) -> Option<EmbedMessage> {
    if let Some(reason) = &bridge.failed {
        return Some(EmbedMessage::Failed {
            reason: reason.clone(),
        });
    }
    let cluster = bridge.cluster.as_ref()?;
    Some(EmbedMessage::Ready {
        nodes: cluster.0.nodes(),
    })
}

/// Answers one message from an allowed `origin`; keeps it while the cluster starts.
fn handle(
    bridge: &SharedBridge,
    model: &UseReducerDispatcher<Model>,
    origin: String,
    message: HostMessage,
) {
    let mut state = bridge.borrow_mut();
    if let HostMessage::Hello = message {
        if !state.greeted.contains(&origin) && state.greeted.len() < MAX_QUEUED {
            state.greeted.push(origin.clone());
        }
        if let Some(greeting) = greeting(&state) {
            post(&greeting, &origin);
        }
        return;
    }
    let Some(cluster) = state.cluster.clone() else {
        if state.failed.is_some() {
            if let Some(id) = message.id() {
                let output = format!(
                    "The cluster did not start: {}",
                    state.failed.clone().unwrap_or_default()
                );
                post(&result(id, false, output, None), &origin);
            }
        } else if state.queued.len() < MAX_QUEUED {
            state.queued.push((origin, message));
        } else if let Some(id) = message.id() {
            let output = format!("too many messages before pgplay:ready (at most {MAX_QUEUED})");
            post(&result(id, false, output, None), &origin);
        }
        return;
    };
    let model = model.clone();
    match message {
        HostMessage::Hello => {}
        HostMessage::Psql { id, node, sql } => {
            if !cluster.0.nodes().contains(&node) {
                post(
                    &result(id, false, format!("no node \"{node}\""), None),
                    &origin,
                );
                return;
            }
            wasm_bindgen_futures::spawn_local(async move {
                // What the reader typed before is not the host's error.
                let _ = take_error(&cluster, &node).await;
                let action = Action::Sql {
                    node: node.clone(),
                    text: sql,
                };
                let (ok, output) = run_action(&cluster, &model, action).await;
                let error = take_error(&cluster, &node).await;
                post(&result(id, ok, output, error), &origin);
            });
        }
        HostMessage::Run { id, command } => {
            wasm_bindgen_futures::spawn_local(async move {
                let (ok, output) = run_action(&cluster, &model, Action::Shell(command)).await;
                post(&result(id, ok, output, None), &origin);
            });
        }
        HostMessage::Status { id } => post(
            &EmbedMessage::Status {
                id,
                status: cluster.0.status(),
            },
            &origin,
        ),
        HostMessage::Subscribe => {
            if !state.subscribers.contains(&origin) {
                state.subscribers.push(origin);
            }
        }
        HostMessage::Unsubscribe => state.subscribers.retain(|o| *o != origin),
    }
}

fn result(id: u64, ok: bool, output: String, error: Option<SqlError>) -> EmbedMessage {
    EmbedMessage::Result {
        id,
        ok,
        output,
        error,
    }
}

/// The first error psql met on `node` since the last call (see `PgplayCluster::take_error`).
async fn take_error(cluster: &ClusterRef, node: &str) -> Option<SqlError> {
    let text = JsFuture::from(cluster.0.take_error(node.to_string()))
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str(&text).ok()
}

/// Answers the host page's messages: `pgplay:psql` and `pgplay:run` run as
/// if typed (shown in the consoles and recorded in the scenario),
/// `pgplay:status`, `pgplay:subscribe` for event batches, and
/// `pgplay:hello` for `pgplay:ready`. It listens from the first render, so
/// what an allowed host sends while the cluster starts is kept and answered
/// once it streams. Messages from origins not in `&origin=` are ignored.
#[hook]
fn use_host_bridge(
    config: Rc<EmbedConfig>,
    cluster: Option<ClusterRef>,
    failed: Option<String>,
    model: UseReducerHandle<Model>,
) {
    let bridge: SharedBridge = use_mut_ref(Bridge::default);
    let dispatcher = model.dispatcher();
    {
        let (bridge, config) = (bridge.clone(), config.clone());
        use_effect_with((), move |_| {
            let listener = (!config.origins.is_empty()).then(|| {
                let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                    move |event: web_sys::MessageEvent| {
                        let origin = event.origin();
                        if !config.allows(&origin) {
                            return;
                        }
                        let text = js_sys::JSON::stringify(&event.data())
                            .ok()
                            .and_then(|t| t.as_string())
                            .unwrap_or_default();
                        if let Ok(message) = serde_json::from_str::<HostMessage>(&text) {
                            handle(&bridge, &dispatcher, origin, message);
                        }
                    },
                );
                if let Some(window) = web_sys::window() {
                    let _ = window.add_event_listener_with_callback(
                        "message",
                        handler.as_ref().unchecked_ref(),
                    );
                }
                handler
            });
            move || {
                if let (Some(handler), Some(window)) = (&listener, web_sys::window()) {
                    let _ = window.remove_event_listener_with_callback(
                        "message",
                        handler.as_ref().unchecked_ref(),
                    );
                }
                drop(listener);
            }
        });
    }
    let started = (cluster.is_some(), failed.clone());
    let dispatcher = model.dispatcher();
    use_effect_with(started, move |_| {
        if config.origins.is_empty() || (cluster.is_none() && failed.is_none()) {
            return;
        }
        if let Some(cluster) = &cluster {
            // Events go to the origins that asked for them.
            let forward = {
                let bridge = bridge.clone();
                Closure::<dyn FnMut(JsValue)>::new(move |json: JsValue| {
                    let subscribers = bridge.borrow().subscribers.clone();
                    if subscribers.is_empty() {
                        return;
                    }
                    let text = json.as_string().unwrap_or_default();
                    if let Ok((node, events)) =
                        serde_json::from_str::<(String, serde_json::Value)>(&text)
                    {
                        let message = EmbedMessage::Events {
                            node,
                            events: events.to_string(),
                        };
                        for origin in &subscribers {
                            post(&message, origin);
                        }
                    }
                })
            };
            cluster
                .0
                .subscribe(forward.as_ref().unchecked_ref::<js_sys::Function>().clone());
            forward.forget();
        }
        let (greeted, queued) = {
            let mut state = bridge.borrow_mut();
            state.cluster = cluster;
            state.failed = failed;
            // The framing page hears it unasked when the browser tells its origin.
            if let Some(host) = host_origin().filter(|o| config.allows(o)) {
                if !state.greeted.contains(&host) {
                    state.greeted.push(host);
                }
            }
            (state.greeted.clone(), std::mem::take(&mut state.queued))
        };
        if let Some(greeting) = greeting(&bridge.borrow()) {
            for origin in &greeted {
                post(&greeting, origin);
            }
        }
        for (origin, message) in queued {
            handle(&bridge, &dispatcher, origin, message);
        }
    });
}
