//! The drawing of the cluster: an SVG with a box per node (placed by topology, coloured by
//! timeline, its write/flush/replay positions as bars on one LSN axis) and an edge per
//! replication connection (its lag in bytes and time, its sync state, dashed and red when
//! `pgplay-net` cut or slowed it), plus the split-brain banner. Everything drawn has an
//! accessible name, so a screen reader (and the e2e test) reads the same picture. The
//! geometry is here; what is drawn is `pgplay_web::drawing`, tested natively.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pgplay_web::drawing::{self, Drawing, DrawnLink, DrawnNode, Memory};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::app::Model;

/// A node's box.
const BOX_W: f64 = 210.0;
const BOX_H: f64 = 104.0;
/// Space each column and row takes.
const COL_W: f64 = 240.0;
const ROW_H: f64 = 190.0;
const MARGIN: f64 = 12.0;
/// The position bars inside a box.
const BAR_X: f64 = 52.0;
const BAR_W: f64 = 80.0;
/// Widest lag bar on an edge.
const LAG_W: f64 = 48.0;
/// The tag on an edge (state, sync state, lag), placed nearer the standby so that the tags
/// of sibling standbys do not overlap.
const TAG_W: f64 = 150.0;
const TAG_AT: f64 = 0.62;

/// How long a dot of WAL takes along an edge, and the least time between two dots on one
/// edge: a batch sent sooner after the last one rides with it (a person can follow this).
const DOT_MS: f64 = 1200.0;
const DOT_GAP_MS: f64 = 400.0;

/// The dots of WAL on one edge: the `sent_lsn` last seen, and when each dot set off.
#[derive(Default)]
struct Dots {
    sent: Option<u64>,
    started: Vec<(u64, f64)>,
    next_id: u64,
}

/// Notes WAL sent on each link since the last render; returns the dots in flight by link.
fn wal_dots(
    dots: &RefCell<BTreeMap<(String, String), Dots>>,
    d: &Drawing,
) -> BTreeMap<(String, String), Vec<(u64, f64)>> {
    let now = js_sys::Date::now();
    let mut dots = dots.borrow_mut();
    dots.retain(|(up, down), _| {
        d.links
            .iter()
            .any(|l| &l.upstream == up && &l.standby == down)
    });
    for l in &d.links {
        let link = dots
            .entry((l.upstream.clone(), l.standby.clone()))
            .or_default();
        link.started.retain(|(_, t)| now - t < DOT_MS);
        let moved = matches!((link.sent, l.sent), (Some(a), Some(b)) if b > a);
        let free = link
            .started
            .last()
            .is_none_or(|(_, t)| now - t >= DOT_GAP_MS);
        if moved && free && !l.fault.cut {
            link.started.push((link.next_id, now));
            link.next_id += 1;
        }
        if free || l.sent.is_none() {
            // A batch that could not get its own dot is counted with the next one.
            link.sent = l.sent;
        }
    }
    dots.iter()
        .map(|(k, v)| (k.clone(), v.started.clone()))
        .collect()
}

/// The picture of the cluster, recomputed from the page's model; it remembers what each
/// node last was while it ran, so a crashed primary keeps its place.
#[hook]
pub fn use_drawing(model: &Model) -> Rc<Drawing> {
    let memory = use_mut_ref(Memory::new);
    drawing::remember(&mut memory.borrow_mut(), &model.nodes);
    let faults = drawing::faults(model.scenario.iter().map(|a| &**a));
    let drawn = drawing::layout(&model.nodes, &memory.borrow(), &faults);
    Rc::new(drawn)
}

/// The colour of a timeline (1 blue, 2 green, 3 orange, 4 purple, then again; style.css has
/// a lighter set for the dark scheme).
fn timeline_colour(timeline: u32) -> String {
    format!("var(--timeline-{})", (timeline.max(1) - 1) % 4 + 1)
}

/// The centre of a node's box.
fn centre(node: &DrawnNode) -> (f64, f64) {
    (
        MARGIN + node.column * COL_W + COL_W / 2.0,
        MARGIN + node.depth as f64 * ROW_H + BOX_H / 2.0,
    )
}

/// Scrolls to a node's card and focuses it (its controls and details are there).
fn open_details(name: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(card) = document.get_element_by_id(&format!("node-card-{name}")) {
        card.scroll_into_view_with_bool(true);
        if let Ok(focus) = js_sys::Reflect::get(&card, &"focus".into()) {
            if let Some(focus) = focus.dyn_ref::<js_sys::Function>() {
                let _ = focus.call0(&card);
            }
        }
    }
}

/// Bytes as a person reads them.
fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} kB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

#[derive(Properties, PartialEq)]
pub struct DrawingProps {
    pub drawing: Rc<Drawing>,
    /// Called with (upstream, standby) when a link is clicked or chosen with
    /// Enter; without it links are pictures only.
    #[prop_or_default]
    pub on_link: Option<Callback<(String, String)>>,
    /// The link whose details are open, drawn highlighted.
    #[prop_or_default]
    pub selected: Option<(String, String)>,
}

/// The drawing, with the split-brain banner above it.
#[component]
pub fn ClusterDrawing(props: &DrawingProps) -> Html {
    let d = &*props.drawing;
    let width = MARGIN * 2.0 + d.columns as f64 * COL_W;
    let height = MARGIN * 2.0 + (d.rows as f64 - 1.0) * ROW_H + BOX_H + 8.0;
    let writers = drawing::writers(d);
    let dots = use_mut_ref(BTreeMap::new);
    let dots = wal_dots(&dots, d);
    html! {
        <figure class="cluster-drawing" aria-label="Cluster drawing">
            if writers.len() > 1 {
                <div class="split-brain" role="alert">
                    <strong>{ "Split brain: " }</strong>
                    { split_brain_text(&writers) }
                </div>
            }
            <div class="drawing-scroll">
            <svg viewBox={format!("0 0 {width} {height}")} role="group" aria-label="Nodes and replication links"
                style={format!("max-width: {}px", width * 1.3)}>
                <title>{ "The cluster: each node below the node it streams WAL from" }</title>
                { for d.links.iter().map(|l| link(d, l, props.on_link.as_ref(), props.selected.as_ref())) }
                { for d.links.iter().map(|l| moving_wal(d, l, &dots)) }
                { for d.nodes.iter().map(|n| node(d, n)) }
            </svg>
            </div>
            <figcaption>{ "Boxes are nodes, coloured by timeline; bars are their write, flush and replay positions on one LSN axis. Lines are replication connections (dashed: not streaming; red: cut or slowed by pgplay-net). Click a node for its card, a line for the link's details." }</figcaption>
        </figure>
    }
}

fn split_brain_text(writers: &[&str]) -> String {
    let (all, them, stop) = if writers.len() == 2 {
        (
            "both",
            "the other never sees",
            "stop one before clients write to both",
        )
    } else {
        (
            "all",
            "the others never see",
            "stop all but one before clients write to them",
        )
    };
    format!(
        "{} {all} accept writes. Each takes commits {them}, each on its own timeline; {stop}.",
        writers.join(" and ")
    )
}

/// Where a position sits on the shared LSN axis, as a fraction of the bar.
fn fraction(d: &Drawing, lsn: u64) -> f64 {
    // The lowest position keeps a third of the bar, so that it is seen.
    let span = d.lsn_max.saturating_sub(d.lsn_min);
    let start = d.lsn_min.saturating_sub(span / 2 + 1);
    let whole = (d.lsn_max - start).max(1) as f64;
    (lsn.saturating_sub(start) as f64 / whole).clamp(0.0, 1.0)
}

/// The accessible name of a node: everything its box shows, in words.
fn node_label(n: &DrawnNode) -> String {
    let role = match (n.running, n.was_primary) {
        (true, _) => n.role.clone(),
        (false, true) => "primary (stopped)".to_string(),
        (false, false) => "standby (stopped)".to_string(),
    };
    let positions: Vec<String> = n
        .positions
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!(
        "{}: {role}, timeline {}, {}; {}",
        n.name,
        n.timeline,
        n.state,
        positions.join(", ")
    )
}

fn node(d: &Drawing, n: &DrawnNode) -> Html {
    let (cx, cy) = centre(n);
    let (x, y) = (cx - BOX_W / 2.0, cy - BOX_H / 2.0);
    let colour = &timeline_colour(n.timeline);
    let label = node_label(n);
    let name = n.name.clone();
    let onclick = {
        let name = name.clone();
        Callback::from(move |_: MouseEvent| open_details(&name))
    };
    let onkeydown = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" || e.key() == " " {
            e.prevent_default();
            open_details(&name);
        }
    });
    let role = match (n.running, n.was_primary) {
        (true, _) => n.role.as_str(),
        (false, true) => "primary",
        (false, false) => "standby",
    };
    let bars = [("write", n.write), ("flush", n.flush), ("replay", n.replay)];
    html! {
        <g class={classes!("drawn-node", (!n.running).then_some("stopped"))} role="button" tabindex="0"
            aria-label={label.clone()} transform={format!("translate({x} {y})")} {onclick} {onkeydown}>
            <title>{ label }</title>
            <rect class="node-box" width={BOX_W.to_string()} height={BOX_H.to_string()} rx="8"
                style={format!("stroke: {colour}")} />
            <rect width="8" height={BOX_H.to_string()} rx="3" style={format!("fill: {colour}")} />
            <text class="node-name" x="16" y="20">{ &n.name }</text>
            <text class="node-meta" x={(BOX_W - 8.0).to_string()} y="20" text-anchor="end"
                style={format!("fill: {colour}")}>{ format!("TL {}", n.timeline) }</text>
            <text class="node-meta" x="16" y="37">{ format!("{role} · {}", n.state) }</text>
            { for bars.iter().enumerate().filter_map(|(i, (what, lsn))| lsn.map(|lsn| position_bar(d, i, what, lsn, n, colour))) }
        </g>
    }
}

fn position_bar(d: &Drawing, i: usize, what: &str, lsn: u64, n: &DrawnNode, colour: &str) -> Html {
    let y = 50.0 + i as f64 * 17.0;
    let text = n
        .positions
        .iter()
        .find(|(k, _)| *k == what)
        .map(|(_, v)| v.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_default();
    html! {
        <g aria-hidden="true">
            <text class="bar-label" x="16" y={(y + 9.0).to_string()}>{ what }</text>
            <rect class="bar-track" x={BAR_X.to_string()} y={y.to_string()} width={BAR_W.to_string()} height="10" rx="2" />
            <rect x={BAR_X.to_string()} y={y.to_string()} width={(BAR_W * fraction(d, lsn)).to_string()} height="10" rx="2"
                style={format!("fill: {colour}")} />
            <text class="bar-lsn" x={(BAR_X + BAR_W + 6.0).to_string()} y={(y + 9.0).to_string()}>{ text }</text>
        </g>
    }
}

/// How a link is, in a few words: shown on the edge and read out.
pub(crate) fn link_state(l: &DrawnLink) -> String {
    if l.fault.cut {
        "cut".to_string()
    } else if l.fault.delay_ms > 0 {
        format!("slowed {} ms", l.fault.delay_ms)
    } else if l.fault.loss_percent > 0 {
        format!("losing {}%", l.fault.loss_percent)
    } else if l.streaming {
        "streaming".to_string()
    } else {
        "not streaming".to_string()
    }
}

pub(crate) fn link_lag(l: &DrawnLink) -> Option<String> {
    let b = l.lag_bytes?;
    Some(match l.lag_ms {
        Some(ms) => format!("{} · {ms:.1} ms", bytes(b)),
        None => bytes(b),
    })
}

pub(crate) fn link_label(l: &DrawnLink) -> String {
    let mut label = format!(
        "Replication {} → {}: {}",
        l.upstream,
        l.standby,
        link_state(l)
    );
    if let Some(sync) = &l.sync_state {
        label.push_str(&format!(", {sync}"));
    }
    if let Some(lag) = link_lag(l) {
        label.push_str(&format!(", lag {lag}"));
    }
    label
}

fn link(
    d: &Drawing,
    l: &DrawnLink,
    on_link: Option<&Callback<(String, String)>>,
    selected: Option<&(String, String)>,
) -> Html {
    let find = |name: &str| d.nodes.iter().find(|n| n.name == name);
    let (Some(up), Some(down)) = (find(&l.upstream), find(&l.standby)) else {
        return html! {};
    };
    let ((x1, y1), (x2, y2)) = (centre(up), centre(down));
    let (y1, y2) = (y1 + BOX_H / 2.0, y2 - BOX_H / 2.0);
    let (mx, my) = (x1 + (x2 - x1) * TAG_AT, y1 + (y2 - y1) * TAG_AT);
    let troubled = l.fault.cut || l.fault.slowed();
    let key = (l.upstream.clone(), l.standby.clone());
    let class = classes!(
        "drawn-link",
        troubled.then_some("troubled"),
        (!l.streaming || l.fault.cut).then_some("idle"),
        on_link.is_some().then_some("clickable"),
        (selected == Some(&key)).then_some("selected")
    );
    let label = link_label(l);
    let lag_fill = l
        .lag_bytes
        .map(|b| (((b + 1) as f64).log2() / 24.0).clamp(0.02, 1.0) * LAG_W)
        .unwrap_or(0.0);
    let sync = l.sync_state.clone().unwrap_or_default();
    let (role, tabindex) = match on_link {
        Some(_) => ("button", Some("0")),
        None => ("img", None),
    };
    let onclick = on_link.map(|open| {
        let (open, key) = (open.clone(), key.clone());
        Callback::from(move |_: MouseEvent| open.emit(key.clone()))
    });
    let onkeydown = on_link.map(|open| {
        let (open, key) = (open.clone(), key.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                open.emit(key.clone());
            }
        })
    });
    html! {
        <g class={class} {role} {tabindex} aria-label={label.clone()} {onclick} {onkeydown}>
            <title>{ label }</title>
            // A wide, invisible line: the link is easy to click.
            <line class="hit" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
            <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
            <g aria-hidden="true" transform={format!("translate({} {})", mx - TAG_W / 2.0, my - 19.0)}>
                <rect class="link-tag" width={TAG_W.to_string()} height="38" rx="5" />
                <text class="link-state" x={(TAG_W / 2.0).to_string()} y="14" text-anchor="middle">
                    { if sync.is_empty() { link_state(l) } else { format!("{} · {sync}", link_state(l)) } }
                </text>
                <rect class="bar-track" x="4" y="21" width={LAG_W.to_string()} height="8" rx="2" />
                <rect class="lag-bar" x="4" y="21" width={lag_fill.to_string()} height="8" rx="2" />
                <text class="bar-lsn" x={(LAG_W + 8.0).to_string()} y="29">{ link_lag(l).unwrap_or_default() }</text>
            </g>
        </g>
    }
}

/// A dot per batch of WAL on its way down an edge (CSS moves it from end to end).
fn moving_wal(
    d: &Drawing,
    l: &DrawnLink,
    dots: &BTreeMap<(String, String), Vec<(u64, f64)>>,
) -> Html {
    let find = |name: &str| d.nodes.iter().find(|n| n.name == name);
    let (Some(up), Some(down)) = (find(&l.upstream), find(&l.standby)) else {
        return html! {};
    };
    let ((x1, y1), (x2, y2)) = (centre(up), centre(down));
    let (y1, y2) = (y1 + BOX_H / 2.0, y2 - BOX_H / 2.0);
    let key = (l.upstream.clone(), l.standby.clone());
    let style = format!(
        "--x1: {x1}px; --y1: {y1}px; --x2: {x2}px; --y2: {y2}px; animation-duration: {DOT_MS}ms"
    );
    html! {
        { for dots.get(&key).into_iter().flatten().map(|(id, _)| html! {
            <circle key={*id} class="wal-dot" r="5" cx="0" cy="0" style={style.clone()} aria-hidden="true" />
        }) }
    }
}
