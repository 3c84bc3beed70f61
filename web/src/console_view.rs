//! psql on one node, in the page: Enter runs the input once it ends with
//! `;` (or is a backslash command) and otherwise starts a new line under
//! psql's continuation prompt (`postgres-#`, `postgres'#`, `postgres(#`);
//! Shift+Enter always starts a new line and Ctrl+Enter always runs; ↑ on
//! the first line and ↓ on the last walk this node's history; Tab completes
//! keywords, functions and the node's tables and columns
//! (`pgplay_web::psql_input` decides all of these). `\! COMMAND` runs a
//! command of the shell language, as psql's `\!` runs a shell.

use std::cell::RefCell;
use std::rc::Rc;

use pgplay_psql::TxStatus;
use pgplay_web::psql_input::{self, complete, enter_runs, line_prompts, names_from_table};
use pgplay_web::scenario::Action;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::app::{joined, run_action, textarea_input, ClusterRef, Model, Msg};

#[derive(Properties, PartialEq)]
pub struct ConsoleProps {
    pub node: String,
    pub cluster: ClusterRef,
    pub model: UseReducerHandle<Model>,
}

/// A byte offset into `text` from a UTF-16 offset (what the DOM's selection counts).
fn byte_offset(text: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (index, c) in text.char_indices() {
        if units >= utf16 {
            return index;
        }
        units += c.len_utf16() as u32;
    }
    text.len()
}

fn utf16_offset(text: &str, bytes: usize) -> u32 {
    text[..bytes.min(text.len())].encode_utf16().count() as u32
}

/// Reads the node's tables and columns into `names`, for Tab.
fn refresh_names(cluster: &ClusterRef, node: &str, names: &Rc<RefCell<Vec<String>>>) {
    let (cluster, node, names) = (cluster.clone(), node.to_string(), names.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let promise =
            cluster
                .0
                .psql_session(node, "complete".into(), psql_input::NAMES_QUERY.to_string());
        if let Ok(value) = JsFuture::from(promise).await {
            *names.borrow_mut() = names_from_table(&value.as_string().unwrap_or_default());
        }
    });
}

#[component]
pub fn Console(props: &ConsoleProps) -> Html {
    let input = use_state(String::new);
    // psql is waiting for the server's answer (a commit that waits for
    // synchronous standbys can wait for ever, until cancelled).
    let busy = use_state(|| None::<String>);
    let history = use_state(Vec::<String>::new);
    let cursor = use_state(|| 0usize);
    let candidates = use_state(Vec::<String>::new);
    let names = use_mut_ref(Vec::<String>::new);
    let output_ref = use_node_ref();
    let entries = props
        .model
        .consoles
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
        let (input, history, cursor, busy, candidates) = (
            input.clone(),
            history.clone(),
            cursor.clone(),
            busy.clone(),
            candidates.clone(),
        );
        let (cluster, node, model, names) = (
            props.cluster.clone(),
            props.node.clone(),
            props.model.dispatcher(),
            names.clone(),
        );
        Callback::from(move |text: String| {
            if text.trim().is_empty() {
                return;
            }
            let mut past = (*history).clone();
            past.push(text.clone());
            cursor.set(past.len());
            history.set(past);
            input.set(String::new());
            candidates.set(Vec::new());
            let (cluster, node, model, busy, names) = (
                cluster.clone(),
                node.clone(),
                model.clone(),
                busy.clone(),
                names.clone(),
            );
            let text = text.trim_end().to_string();
            busy.set(Some(text.clone()));
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(command) = text.trim_start().strip_prefix("\\!") {
                    let line = command.trim().to_string();
                    let (_, output) = run_action(&cluster, &model, Action::Shell(line)).await;
                    model.dispatch(Msg::ConsoleOutput(
                        node.clone(),
                        format!("{node}=# {text}\n{output}"),
                    ));
                } else {
                    run_action(
                        &cluster,
                        &model,
                        Action::Sql {
                            node: node.clone(),
                            text,
                        },
                    )
                    .await;
                }
                busy.set(None);
                refresh_names(&cluster, &node, &names);
            });
        })
    };
    let onkeydown = {
        let (run, input, history, cursor, candidates, names) = (
            run.clone(),
            input.clone(),
            history.clone(),
            cursor.clone(),
            candidates.clone(),
            names.clone(),
        );
        Callback::from(move |event: KeyboardEvent| {
            let Some(area) = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
            else {
                return;
            };
            let value = area.value();
            let key = event.key();
            let start = area.selection_start().ok().flatten().unwrap_or(0);
            let end = area.selection_end().ok().flatten().unwrap_or(start);
            let plain = !(event.alt_key() || event.ctrl_key() || event.meta_key());
            match key.as_str() {
                "Enter" if event.ctrl_key() || event.meta_key() => {
                    event.prevent_default();
                    run.emit(value);
                }
                "Enter" if !event.shift_key() && !event.alt_key() && enter_runs(&value) => {
                    event.prevent_default();
                    run.emit(value);
                }
                "ArrowUp" | "ArrowDown" => {
                    let up = key == "ArrowUp";
                    // Plain arrows move between lines first, as in psql's readline.
                    let at_edge = if up {
                        !value[..byte_offset(&value, start)].contains('\n')
                    } else {
                        !value[byte_offset(&value, end)..].contains('\n')
                    };
                    if !(event.alt_key() || (plain && !event.shift_key() && at_edge)) {
                        return;
                    }
                    if history.is_empty() {
                        return;
                    }
                    event.prevent_default();
                    let at = if up {
                        cursor.saturating_sub(1)
                    } else {
                        (*cursor + 1).min(history.len())
                    };
                    cursor.set(at);
                    let text = history.get(at).cloned().unwrap_or_default();
                    area.set_value(&text);
                    input.set(text);
                }
                "Tab" if plain && !event.shift_key() => {
                    let at = byte_offset(&value, start);
                    if let Some(done) = complete(&value, at, &names.borrow()) {
                        event.prevent_default();
                        let caret = utf16_offset(&done.text, done.cursor);
                        area.set_value(&done.text);
                        let _ = area.set_selection_range(caret, caret);
                        input.set(done.text);
                        candidates.set(done.candidates);
                    }
                }
                _ => {}
            }
        })
    };
    let onfocus = {
        let (cluster, node, names) = (props.cluster.clone(), props.node.clone(), names.clone());
        Callback::from(move |_: FocusEvent| refresh_names(&cluster, &node, &names))
    };
    let oninput = {
        let (set, candidates) = (textarea_input(input.clone()), candidates.clone());
        Callback::from(move |event: InputEvent| {
            if !candidates.is_empty() {
                candidates.set(Vec::new());
            }
            set.emit(event);
        })
    };
    let cancel = {
        let (cluster, node) = (props.cluster.clone(), props.node.clone());
        Callback::from(move |_| cluster.0.cancel(node.clone()))
    };
    let node = &props.node;
    // psql's mark of the console session's transaction ("default"), as the worker last reported it.
    let tx = match props
        .model
        .nodes
        .get(node)
        .and_then(|n| n.transactions.get("default"))
    {
        None => TxStatus::Idle,
        Some(false) => TxStatus::InTransaction,
        Some(true) => TxStatus::Failed,
    };
    let prompts = line_prompts(&input, tx);
    let current_prompt = prompts.last().cloned().unwrap_or_default();
    let rows = prompts.len().clamp(2, 12).to_string();
    html! {
        <div class="console" role="group" aria-label={format!("Console for {node}")}>
            <h3>{ node }</h3>
            <pre ref={output_ref} class="console-output" aria-label={format!("psql output for {node}")} aria-live="polite">
                { joined(&entries) }
            </pre>
            <label for={format!("sql-{node}")}>
                { format!("SQL for {node}") }
                <span class="sr-only">{ format!(", prompt {current_prompt}") }</span>
            </label>
            <div class="psql-input">
                <pre class="prompt" aria-label={format!("psql prompt for {node}")}>{ prompts.join("\n") }</pre>
                <textarea id={format!("sql-{node}")} rows={rows} spellcheck="false" autocapitalize="off"
                    value={(*input).clone()} {oninput} {onkeydown} {onfocus}
                    placeholder="SELECT * FROM pg_stat_replication;" />
            </div>
            if !candidates.is_empty() {
                <p class="completions" role="status" aria-label={format!("Completions for {node}")}>
                    { candidates.join("  ") }
                </p>
            }
            <p class="muted console-help">{ "Enter runs a statement ending in ; (Shift+Enter: new line) · ↑ ↓ history · Tab completes · \\timing · \\! pg_ctl ..." }</p>
            <button type="button" aria-label={format!("Run on {node}")}
                onclick={{ let (run, input) = (run.clone(), input.clone()); move |_| run.emit((*input).clone()) }}>
                { format!("Run on {node}") }
            </button>
            if let Some(text) = &*busy {
                <div class="waiting" role="status" aria-label={format!("{node} is waiting")}>
                    <pre>{ format!("{node}=# {text}") }</pre>
                    <p>{ "Waiting for the server's answer. A commit under synchronous replication waits until its synchronous standbys confirm it." }</p>
                    <div class="controls">
                        <button type="button" aria-label={format!("Cancel query on {node}")} title="psql: Ctrl+C"
                            onclick={cancel}>
                            { format!("Cancel query on {node}") }<code>{ "Ctrl+C (a cancel request)" }</code>
                        </button>
                    </div>
                </div>
            }
        </div>
    }
}
