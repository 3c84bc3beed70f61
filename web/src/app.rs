//! The root component. For now: it starts the default cluster (primary,
//! standby1, standby2, each in its own worker), publishes it as
//! `window.pgplay`, and shows each node's role, timeline and WAL positions
//! as the workers report them. The consoles, WAL stream and controls of the
//! playground build on this.

use std::collections::BTreeMap;

use pgplay_web::cluster::PgplayCluster;
use pgplay_web::protocol::NodeStatus;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Clone, PartialEq)]
enum Phase {
    Starting,
    Ready,
    Failed(String),
}

/// The whole page.
#[component]
pub fn App() -> Html {
    let phase = use_state(|| Phase::Starting);
    let nodes = use_state(BTreeMap::<String, Option<NodeStatus>>::new);
    {
        let (phase, nodes) = (phase.clone(), nodes.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match PgplayCluster::start("default".into()).await {
                    Ok(cluster) => {
                        if let Some(window) = web_sys::window() {
                            let _ = js_sys::Reflect::set(
                                &window,
                                &JsValue::from_str("pgplay"),
                                &JsValue::from(cluster.clone()),
                            );
                        }
                        let refresh = {
                            let (cluster, nodes) = (cluster.clone(), nodes.clone());
                            move || {
                                if let Ok(map) = serde_json::from_str(&cluster.status()) {
                                    nodes.set(map);
                                }
                            }
                        };
                        refresh();
                        let callback = Closure::<dyn FnMut(JsValue)>::new(move |_| refresh());
                        cluster.subscribe(
                            callback
                                .as_ref()
                                .unchecked_ref::<js_sys::Function>()
                                .clone(),
                        );
                        callback.forget();
                        phase.set(Phase::Ready);
                    }
                    Err(error) => phase.set(Phase::Failed(
                        error.as_string().unwrap_or_else(|| format!("{error:?}")),
                    )),
                }
            });
            || ()
        });
    }
    let state_text = match &*phase {
        Phase::Starting => "Starting the primary and two standbys…".to_string(),
        Phase::Ready => "Streaming: the primary and both standbys are running.".to_string(),
        Phase::Failed(why) => format!("The cluster did not start: {why}"),
    };
    html! {
        <>
            <header class="app-header">
                <h1>{ "pgplay" }</h1>
                <p class="tagline">{ "A PostgreSQL streaming-replication playground" }</p>
            </header>
            <main>
                <section class="panel" aria-labelledby="cluster-heading">
                    <h2 id="cluster-heading">{ "Cluster" }</h2>
                    <p role="status" aria-live="polite" data-phase={ match &*phase { Phase::Starting => "starting", Phase::Ready => "ready", Phase::Failed(_) => "failed" } }>
                        { state_text }
                    </p>
                    <table aria-label="Nodes">
                        <thead><tr>
                            <th>{ "node" }</th><th>{ "role" }</th><th>{ "timeline" }</th>
                            <th>{ "write" }</th><th>{ "flush" }</th><th>{ "replay" }</th><th>{ "walreceiver" }</th>
                        </tr></thead>
                        <tbody>
                            { for nodes.iter().map(|(name, status)| node_row(name, status.as_ref())) }
                        </tbody>
                    </table>
                </section>
            </main>
        </>
    }
}

fn node_row(name: &str, status: Option<&NodeStatus>) -> Html {
    let Some(s) = status else {
        return html! { <tr><th scope="row">{ name }</th><td colspan="6">{ "starting" }</td></tr> };
    };
    html! {
        <tr>
            <th scope="row">{ name }</th>
            <td>{ &s.role }</td>
            <td>{ s.timeline }</td>
            <td>{ &s.write }</td>
            <td>{ &s.flush }</td>
            <td>{ s.replay.clone().unwrap_or_else(|| "-".into()) }</td>
            <td>{ s.receiver.clone().unwrap_or_else(|| "-".into()) }</td>
        </tr>
    }
}
