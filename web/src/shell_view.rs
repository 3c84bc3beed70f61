//! A shell on one node's machine, in the page: a `$` prompt where the learner
//! types the commands the lessons teach (`pg_ctl`, `pg_basebackup -R`, `cat`,
//! `echo ... >>`, `rm -rf NODE`, `pgplay-net`), exactly as the CLI's `\!`
//! takes them (`pgplay_cluster::shell`), with the CLI's output and errors.
//! Enter runs the line, ↑/↓ walk this shell's history. Each command is
//! recorded in the scenario as the controls' commands are, and a control
//! about this node (Promote, Stop, Rejoin ...) shows its commands here too.

use pgplay_web::scenario::Action;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use pgplay_web::psql_input::recall;

use crate::app::{joined, run_action_in, ClusterRef, Model};

/// What the shell offers, shown under its input.
const HELP: &str = "pg_ctl -D NODE promote|stop|start|restart|reload · pg_basebackup -h 127.0.0.1 -p PORT -D NODE -R · cat NODE/FILE · echo \"...\" >> NODE/FILE · rm -rf NODE · ls NODE/pg_wal · pgplay-net partition|heal A B · ↑ ↓ history";

#[derive(Properties, PartialEq)]
pub struct ShellProps {
    pub node: String,
    pub cluster: ClusterRef,
    pub model: UseReducerHandle<Model>,
}

#[component]
pub fn Shell(props: &ShellProps) -> Html {
    let input = use_state(String::new);
    let busy = use_state(|| None::<String>);
    let history = use_state(Vec::<String>::new);
    let cursor = use_state(|| 0usize);
    let output_ref = use_node_ref();
    let entries = props
        .model
        .shells
        .get(&props.node)
        .cloned()
        .unwrap_or_default();
    {
        // Keep the newest output in view, as a terminal does.
        let output_ref = output_ref.clone();
        let newest = entries.back().cloned();
        use_effect_with(newest, move |_| {
            if let Some(element) = output_ref.cast::<web_sys::Element>() {
                element.set_scroll_top(element.scroll_height());
            }
            || ()
        });
    }
    let run = {
        let (input, history, cursor, busy) =
            (input.clone(), history.clone(), cursor.clone(), busy.clone());
        let (cluster, node, model) = (
            props.cluster.clone(),
            props.node.clone(),
            props.model.dispatcher(),
        );
        Callback::from(move |line: String| {
            let line = line.trim().to_string();
            if line.is_empty() || busy.is_some() {
                return;
            }
            let mut past = (*history).clone();
            if past.last() != Some(&line) {
                past.push(line.clone());
            }
            cursor.set(past.len());
            history.set(past);
            input.set(String::new());
            busy.set(Some(line.clone()));
            let (cluster, node, model, busy) =
                (cluster.clone(), node.clone(), model.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                run_action_in(&cluster, &model, Action::Shell(line), Some(&node)).await;
                busy.set(None);
            });
        })
    };
    let onkeydown = {
        let (run, input, history, cursor) =
            (run.clone(), input.clone(), history.clone(), cursor.clone());
        Callback::from(move |event: KeyboardEvent| {
            let Some(field) = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            match event.key().as_str() {
                "Enter" => {
                    event.prevent_default();
                    run.emit(field.value());
                }
                key @ ("ArrowUp" | "ArrowDown") if !history.is_empty() => {
                    event.prevent_default();
                    let (at, line) = recall(&history, *cursor, key == "ArrowUp");
                    cursor.set(at);
                    field.set_value(&line);
                    input.set(line);
                }
                _ => {}
            }
        })
    };
    let oninput = {
        let input = input.clone();
        Callback::from(move |event: InputEvent| {
            if let Some(field) = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            {
                input.set(field.value());
            }
        })
    };
    let node = &props.node;
    let gone = !props.model.nodes.contains_key(node);
    html! {
        <div class="shell" role="group" aria-label={format!("Shell on {node}")}>
            <h3>{ format!("{node} $") }
                if gone { <span class="muted">{ " (no data directory: make it with pg_basebackup -D " }{ node }{ ")" }</span> }
            </h3>
            <pre ref={output_ref} class="shell-output" aria-label={format!("Shell output on {node}")} aria-live="polite">
                { joined(&entries) }
                if let Some(line) = &*busy { { format!("\n$ {line}\n…") } }
            </pre>
            <label for={format!("shell-{node}")} class="sr-only">{ format!("Shell for {node}") }</label>
            <div class="shell-input">
                <span class="prompt" aria-hidden="true">{ "$ " }</span>
                <input id={format!("shell-{node}")} type="text" spellcheck="false" autocapitalize="off"
                    autocomplete="off" value={(*input).clone()} {oninput} {onkeydown}
                    placeholder={format!("pg_ctl -D {node} status")} />
                <button type="button" aria-label={format!("Run in the shell on {node}")}
                    onclick={{ let (run, input) = (run.clone(), input.clone()); move |_| run.emit((*input).clone()) }}>
                    { "Run" }
                </button>
            </div>
            <p class="muted console-help">{ HELP }</p>
        </div>
    }
}
