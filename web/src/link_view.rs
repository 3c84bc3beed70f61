//! The details of one replication link, opened from the drawing (a click or
//! Enter on its line): the sender's `pg_stat_replication` row and the
//! receiver's `pg_stat_wal_receiver` row as psql prints them (`\x`, read every
//! second while open), the lag in bytes and time, whether `pgplay-net` cut or
//! slowed it, and the buttons that cut, heal, slow or speed it up, each with
//! its command.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pgplay_cluster::NetworkFault;
use pgplay_web::drawing::{Drawing, DrawnLink};
use pgplay_web::scenario::Action;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::app::{interval, run_action, ClusterRef, Model};
use crate::drawing_view::{link_label, link_lag, link_state};

#[derive(Properties, PartialEq)]
pub struct LinkDetailsProps {
    pub cluster: ClusterRef,
    pub model: UseReducerHandle<Model>,
    pub drawing: Rc<Drawing>,
    /// (upstream, standby).
    pub link: (String, String),
    pub on_close: Callback<()>,
}

/// The SQL that reads the sender's row of this link: its walsender serves the
/// standby's `application_name` (`walreceiver` when `primary_conninfo` names none).
fn sender_query(application_name: &str) -> String {
    format!(
        "SELECT * FROM pg_stat_replication WHERE application_name = '{}';",
        application_name.replace('\'', "''")
    )
}

const RECEIVER_QUERY: &str = "SELECT * FROM pg_stat_wal_receiver;";

/// Runs `sql` on `node` in the details' own psql session, expanded (`\x`).
async fn expanded(cluster: &ClusterRef, node: &str, sql: &str) -> String {
    let session = "link-details".to_string();
    let on = cluster
        .0
        .psql_session(node.into(), session.clone(), "\\x on".into());
    let _ = JsFuture::from(on).await;
    let promise = cluster.0.psql_session(node.into(), session, sql.into());
    match JsFuture::from(promise).await {
        Ok(value) | Err(value) => value.as_string().unwrap_or_default(),
    }
}

/// A button that runs a `pgplay-net` command on the link.
fn fault_button(
    cluster: &ClusterRef,
    model: &UseReducerHandle<Model>,
    label: String,
    command: String,
) -> Html {
    let (cluster, model, line) = (cluster.clone(), model.dispatcher(), command.clone());
    let onclick = move |_| {
        let (cluster, model, line) = (cluster.clone(), model.clone(), line.clone());
        wasm_bindgen_futures::spawn_local(async move {
            run_action(&cluster, &model, Action::Shell(line)).await;
        });
    };
    html! {
        <button type="button" aria-label={label.clone()} title={command.clone()} {onclick}>
            { label }<code>{ command }</code>
        </button>
    }
}

fn facts(l: &DrawnLink) -> Html {
    let fault = if l.fault.cut {
        "cut (pgplay-net partition): messages are held until healed".to_string()
    } else if l.fault.slowed() {
        let mut parts = Vec::new();
        if l.fault.delay_ms > 0 {
            parts.push(format!("{} ms more per message", l.fault.delay_ms));
        }
        if l.fault.loss_percent > 0 {
            parts.push(format!(
                "{}% of packets lost and sent again",
                l.fault.loss_percent
            ));
        }
        format!("slowed: {}", parts.join(", "))
    } else {
        "none".to_string()
    };
    html! {
        <dl>
            <dt>{ "state" }</dt><dd>{ link_state(l) }</dd>
            <dt>{ "sync state" }</dt><dd>{ l.sync_state.clone().unwrap_or_else(|| "no walsender".into()) }</dd>
            <dt>{ "lag (bytes · replay time)" }</dt><dd>{ link_lag(l).unwrap_or_else(|| "unknown: no walsender".into()) }</dd>
            <dt>{ "network fault" }</dt><dd>{ fault }</dd>
        </dl>
    }
}

#[component]
pub fn LinkDetails(props: &LinkDetailsProps) -> Html {
    let (upstream, standby) = props.link.clone();
    // What the details session last read, by node.
    let read = use_mut_ref(BTreeMap::<String, String>::new);
    let redraw = use_force_update();
    let application_name = props
        .model
        .nodes
        .get(&upstream)
        .zip(props.model.nodes.get(&standby))
        .and_then(|(u, s)| u.sender_to(s))
        .map(|s| s.application_name.clone());
    {
        let (cluster, read, redraw) = (props.cluster.clone(), read.clone(), redraw.clone());
        let watched = (upstream.clone(), standby.clone(), application_name.clone());
        use_effect_with(watched, move |(upstream, standby, application_name)| {
            read.borrow_mut().clear();
            let poll = poller(cluster, read, redraw, upstream, standby, application_name);
            poll();
            let timer = interval(1000, poll);
            move || drop(timer)
        });
    }
    let Some(l) = props
        .drawing
        .links
        .iter()
        .find(|l| l.upstream == upstream && l.standby == standby)
    else {
        return html! {
            <section class="link-details" aria-label={format!("Link {upstream} → {standby}")}>
                <p>{ format!("{standby} no longer streams from {upstream}.") }</p>
                <button type="button" onclick={props.on_close.reform(|_| ())}>{ "Close link details" }</button>
            </section>
        };
    };
    let (cut, slow) = (l.fault.cut, l.fault.delay_ms > 0);
    let cut_button = if cut {
        (
            format!("Heal link {upstream} to {standby}"),
            NetworkFault::Heal,
        )
    } else {
        (
            format!("Cut link {upstream} to {standby}"),
            NetworkFault::Partition,
        )
    };
    let slow_button = if slow {
        (
            format!("Speed up link {upstream} to {standby}"),
            NetworkFault::Delay(0),
        )
    } else {
        (
            format!("Slow link {upstream} to {standby}"),
            NetworkFault::Delay(200),
        )
    };
    let read = read.borrow().clone();
    let shown = |node: &str| {
        read.get(node)
            .cloned()
            .unwrap_or_else(|| "(reading…)".into())
    };
    html! {
        <section class="link-details" aria-label={format!("Link {upstream} → {standby}")}>
            <h3>
                <span>{ format!("Link {upstream} → {standby}") }</span>
                <button type="button" onclick={props.on_close.reform(|_| ())}>{ "Close link details" }</button>
            </h3>
            <p role="status">{ link_label(l) }</p>
            { facts(l) }
            <div class="views">
                <div>
                    <h4>{ format!("pg_stat_replication on {upstream} (the sender)") }</h4>
                    <pre aria-label={format!("pg_stat_replication row on {upstream}")}>
                        { match &application_name {
                            Some(name) => format!("{upstream}=# \\x on\n{upstream}=# {}\n{}", sender_query(name), shown(&upstream)),
                            None => format!("{upstream} has no walsender for {standby}: the link does not stream."),
                        } }
                    </pre>
                </div>
                <div>
                    <h4>{ format!("pg_stat_wal_receiver on {standby} (the receiver)") }</h4>
                    <pre aria-label={format!("pg_stat_wal_receiver row on {standby}")}>
                        { format!("{standby}=# \\x on\n{standby}=# {RECEIVER_QUERY}\n{}", shown(&standby)) }
                    </pre>
                </div>
            </div>
            <div class="controls">
                { fault_button(&props.cluster, &props.model, cut_button.0, cut_button.1.command(&upstream, &standby)) }
                { fault_button(&props.cluster, &props.model, slow_button.0, slow_button.1.command(&upstream, &standby)) }
            </div>
        </section>
    }
}

/// Reads both ends' rows into `read`, then redraws.
fn poller(
    cluster: ClusterRef,
    read: Rc<RefCell<BTreeMap<String, String>>>,
    redraw: UseForceUpdateHandle,
    upstream: &str,
    standby: &str,
    application_name: &Option<String>,
) -> impl Fn() + Clone + 'static {
    let mut queries = vec![(standby.to_string(), RECEIVER_QUERY.to_string())];
    if let Some(name) = application_name {
        queries.push((upstream.to_string(), sender_query(name)));
    }
    move || {
        for (node, sql) in queries.clone() {
            let (cluster, read, redraw) = (cluster.clone(), read.clone(), redraw.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let text = expanded(&cluster, &node, &sql).await;
                read.borrow_mut().insert(node, text);
                redraw.force_update();
            });
        }
    }
}
