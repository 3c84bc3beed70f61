//! The scenario panel: what the learner ran, as a pgplay script, with a
//! link that replays it on a fresh cluster (`#script=...`) and the command
//! that runs it in a terminal. Opening such a link replays the script once
//! the cluster streams.

use pgplay_web::cluster::sleep_ms;
use pgplay_web::scenario::{self, Action};
use wasm_bindgen::{JsCast, JsValue};
use yew::prelude::*;

use crate::app::{run_action, ClusterRef, Model, TopologyProps};

/// Pause between replayed actions, as a person would leave between inputs.
const REPLAY_PAUSE_MS: i32 = 150;

/// The script in the page's address (`#script=...`), if any.
pub fn linked_script() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let encoded = hash.strip_prefix("#script=")?;
    js_sys::decode_uri_component(encoded)
        .ok()
        .and_then(|text| text.as_string())
}

/// The address that replays `script` on a fresh cluster of this preset.
fn link_to(script: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let base = format!(
        "{}{}{}",
        location.origin().ok()?,
        location.pathname().ok()?,
        location.search().ok()?
    );
    let encoded: String = js_sys::encode_uri_component(script).into();
    Some(format!("{base}#script={encoded}"))
}

/// Puts text on the clipboard when the browser allows it.
fn copy_to_clipboard(text: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let clipboard = js_sys::Reflect::get(&window, &JsValue::from_str("navigator"))
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")))
        .ok()
        .filter(|c| !c.is_undefined());
    if let Some(clipboard) = clipboard {
        if let Ok(write) = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")) {
            if let Ok(write) = write.dyn_into::<js_sys::Function>() {
                // A refused permission rejects the promise; the link is shown anyway.
                let _ = write.call1(&clipboard, &JsValue::from_str(text));
            }
        }
    }
}

async fn replay(
    cluster: ClusterRef,
    model: UseReducerDispatcher<Model>,
    actions: Vec<Action>,
    progress: UseStateHandle<String>,
) {
    let total = actions.len();
    for (index, action) in actions.into_iter().enumerate() {
        progress.set(format!(
            "Replaying the linked scenario: {} of {total}",
            index + 1
        ));
        run_action(&cluster, &model, action).await;
        sleep_ms(REPLAY_PAUSE_MS).await;
    }
    progress.set(format!("Replayed the linked scenario: {total} steps."));
}

#[component]
pub fn ScenarioPanel(props: &TopologyProps) -> Html {
    let progress = use_state(String::new);
    let link = use_state(|| None::<String>);
    {
        let (cluster, model, progress) = (
            props.cluster.clone(),
            props.model.dispatcher(),
            progress.clone(),
        );
        use_effect_with((), move |_| {
            if let Some(text) = linked_script() {
                let actions = scenario::parse(&text);
                if !actions.is_empty() {
                    wasm_bindgen_futures::spawn_local(replay(cluster, model, actions, progress));
                }
            }
            || ()
        });
    }
    let actions: Vec<Action> = props.model.scenario.iter().map(|a| (**a).clone()).collect();
    let text = scenario::script(&actions);
    let share = {
        let (text, link) = (text.clone(), link.clone());
        Callback::from(move |_| {
            if let Some(url) = link_to(&text) {
                copy_to_clipboard(&url);
                link.set(Some(url));
            }
        })
    };
    html! {
        <section class="panel" aria-labelledby="scenario-heading">
            <h2 id="scenario-heading">{ "Scenario" }</h2>
            <p>{ "Everything run from the consoles, the controls and the lesson, as a script. A link replays it on a fresh cluster; in a terminal, save it as scenario.psql and run " }<code>{ "pgplay < scenario.psql" }</code>{ "." }</p>
            <p role="status" aria-label="Scenario status">{ (*progress).clone() }</p>
            <pre class="scenario" aria-label="Scenario script">{ if text.is_empty() { "(nothing run yet)".to_string() } else { text.clone() } }</pre>
            <button type="button" onclick={share} disabled={text.is_empty()}>{ "Copy a link to this scenario" }</button>
            if let Some(url) = &*link {
                <label for="scenario-link">{ "Scenario link" }</label>
                <input id="scenario-link" type="text" readonly=true value={url.clone()} />
            }
        </section>
    }
}
