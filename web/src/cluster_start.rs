//! Starting the cluster for a page: the preset in the address, the workers,
//! `window.pgplay`, and the model fed with every node's events. Shared by
//! the full page and the embed.

use std::collections::BTreeMap;

use pgplay_web::cluster::PgplayCluster;
use pgplay_web::protocol::{Event, NodeStatus};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::app::{query_param, ClusterRef, Model, Msg};

fn preset() -> String {
    query_param("preset")
        .and_then(|name| pgplay_cluster::Preset::parse(&name))
        .unwrap_or_default()
        .name()
        .to_string()
}

/// Starts the cluster once; returns (the cluster once it streams, why it did not start).
#[hook]
pub fn use_cluster(
    model: UseReducerDispatcher<Model>,
) -> (
    UseStateHandle<Option<ClusterRef>>,
    UseStateHandle<Option<String>>,
) {
    let cluster = use_state(|| None::<ClusterRef>);
    let failed = use_state(|| None::<String>);
    {
        let (cluster, failed) = (cluster.clone(), failed.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match PgplayCluster::start(preset()).await {
                    Ok(handle) => {
                        if let Some(window) = web_sys::window() {
                            let _ = js_sys::Reflect::set(
                                &window,
                                &JsValue::from_str("pgplay"),
                                &JsValue::from(handle.clone()),
                            );
                        }
                        if let Ok(map) = serde_json::from_str::<BTreeMap<String, Option<NodeStatus>>>(
                            &handle.status(),
                        ) {
                            // Status first, so the stream view knows which node writes WAL.
                            for (name, status) in &map {
                                if let Some(status) = status.clone() {
                                    model.dispatch(Msg::Events(
                                        name.clone(),
                                        vec![Event::Status(Box::new(status))],
                                    ));
                                }
                            }
                            for name in map.keys() {
                                let recent: Vec<Event> =
                                    serde_json::from_str(&handle.recent_events(name.clone()))
                                        .unwrap_or_default();
                                model.dispatch(Msg::Events(name.clone(), recent));
                            }
                        }
                        let dispatcher = model.clone();
                        let callback = Closure::<dyn FnMut(JsValue)>::new(move |json: JsValue| {
                            let text = json.as_string().unwrap_or_default();
                            if let Ok((node, events)) =
                                serde_json::from_str::<(String, Vec<Event>)>(&text)
                            {
                                dispatcher.dispatch(Msg::Events(node, events));
                            }
                        });
                        handle.subscribe(
                            callback
                                .as_ref()
                                .unchecked_ref::<js_sys::Function>()
                                .clone(),
                        );
                        callback.forget();
                        cluster.set(Some(ClusterRef(handle)));
                    }
                    Err(error) => failed.set(Some(
                        error.as_string().unwrap_or_else(|| format!("{error:?}")),
                    )),
                }
            });
            || ()
        });
    }
    (cluster, failed)
}
