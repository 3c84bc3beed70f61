//! The WAL stream: pg_waldump lines of the node that writes WAL, newest
//! first, with each standby's sent/write/flush/replay cursor on the record
//! it has reached. The page keeps up to [`WAL_ROWS`] records and renders
//! only the rows in view (fixed row height, spacers above and below), so
//! thousands of records a second cost the same as a few.

use std::rc::Rc;

use yew::prelude::*;

use crate::app::{ModelProps, WalRow, WAL_ROWS};

/// Height of one row in pixels; `static/style.css` sets the same.
const ROW_HEIGHT: f64 = 22.0;
/// Height of the scrolling list in pixels; `static/style.css` sets the same.
const VIEW_HEIGHT: f64 = 440.0;
/// Rows rendered beyond the visible ones, above and below.
const OVERSCAN: usize = 10;

fn rmgr_class(line: &str) -> String {
    let rmgr = line
        .strip_prefix("rmgr: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("other");
    format!("rmgr-{}", rmgr.to_ascii_lowercase())
}

/// The rows to render for a scroll position: (first index, one past the last).
fn window(scroll_top: f64, total: usize) -> (usize, usize) {
    let first = ((scroll_top / ROW_HEIGHT).floor().max(0.0) as usize).saturating_sub(OVERSCAN);
    let visible = (VIEW_HEIGHT / ROW_HEIGHT).ceil() as usize;
    let last = (first + visible + 2 * OVERSCAN).min(total);
    (first.min(last), last)
}

#[component]
pub fn WalStream(props: &ModelProps) -> Html {
    let selected = use_state(|| None::<Rc<WalRow>>);
    let paused = use_state(|| None::<Vec<Rc<WalRow>>>);
    let scroll_top = use_state(|| 0.0f64);
    // Newest first.
    let rows: Vec<Rc<WalRow>> = match &*paused {
        Some(frozen) => frozen.clone(),
        None => props.model.wal.iter().rev().cloned().collect(),
    };
    // Each standby's sent/write/flush/replay positions, as its walsender reports them.
    let cursors = |row: &WalRow| -> Vec<String> {
        let Some(writer) = props.model.nodes.get(&row.node) else {
            return Vec::new();
        };
        writer
            .senders
            .iter()
            .filter_map(|s| {
                let kinds: Vec<&str> = [
                    ("sent", &s.sent),
                    ("write", &s.write),
                    ("flush", &s.flush),
                    ("replay", &s.replay),
                ]
                .into_iter()
                .filter(|(_, lsn)| **lsn == row.end)
                .map(|(kind, _)| kind)
                .collect();
                let standby = props
                    .model
                    .nodes
                    .iter()
                    .find(|(_, status)| status.id == s.standby_id)
                    .map_or(s.application_name.as_str(), |(name, _)| name.as_str());
                (!kinds.is_empty()).then(|| format!("{standby} {}", kinds.join("/")))
            })
            .collect()
    };
    let pause = {
        let (paused, rows) = (paused.clone(), rows.clone());
        Callback::from(move |_| {
            paused.set(if paused.is_some() {
                None
            } else {
                Some(rows.clone())
            })
        })
    };
    let onscroll = {
        let scroll_top = scroll_top.clone();
        Callback::from(move |event: Event| {
            if let Some(element) = event.target_dyn_into::<web_sys::Element>() {
                scroll_top.set(element.scroll_top() as f64);
            }
        })
    };
    let (first, last) = window(*scroll_top, rows.len());
    let above = first as f64 * ROW_HEIGHT;
    let below = (rows.len() - last) as f64 * ROW_HEIGHT;
    let total = rows.len();
    html! {
        <section class="panel wal" aria-labelledby="wal-heading">
            <h2 id="wal-heading">{ "WAL stream" }</h2>
            <button type="button" aria-label={ if paused.is_some() { "Resume the WAL stream" } else { "Pause the WAL stream" } } onclick={pause}>
                { if paused.is_some() { "Resume" } else { "Pause" } }
            </button>
            <span class="muted">
                { format!(" {total} records (newest first, up to {WAL_ROWS} kept)") }
                if props.model.skipped > 0 {
                    { format!("; {} not shown (too many at once)", props.model.skipped) }
                }
            </span>
            <div class="wal-scroll" {onscroll} style={format!("height: {VIEW_HEIGHT}px")}
                tabindex="0" role="region" aria-label="WAL records, scroll for older">
                <div style={format!("height: {above}px")} aria-hidden="true"></div>
                <ol class="wal-records" aria-label="WAL records">
                    { for rows[first..last].iter().enumerate().map(|(offset, row)| {
                        let marks = cursors(row);
                        let select = { let (selected, row) = (selected.clone(), row.clone()); move |_| selected.set(Some(row.clone())) };
                        html! {
                            <li key={row.number} class={rmgr_class(&row.waldump)}
                                aria-setsize={total.to_string()} aria-posinset={(first + offset + 1).to_string()}>
                                <button type="button" class="wal-line" onclick={select} aria-label={format!("WAL record at {}", row.lsn)}>
                                    <code>{ &row.waldump }</code>
                                </button>
                                { for marks.into_iter().map(|m| html! { <span class="cursor">{ format!("◀ {m}") }</span> }) }
                            </li>
                        }
                    }) }
                </ol>
                <div style={format!("height: {below}px")} aria-hidden="true"></div>
            </div>
            if let Some(row) = &*selected {
                <div class="wal-detail" role="region" aria-label="Selected WAL record">
                    <p><strong>{ format!("{} to {}", row.lsn, row.end) }</strong>{ format!(" on {}", row.node) }</p>
                    <p>{ &row.explain }</p>
                    <pre>{ &row.waldump }</pre>
                </div>
            }
        </section>
    }
}
