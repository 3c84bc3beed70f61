//! The guided lesson beside the cluster: one lesson per seed tutorial
//! (`pgplay_web::lessons`), chosen with `?lesson=NNN`. Each step runs its
//! SQL or command as if typed (the output lands in the node's console or
//! the command log, and in the scenario) and checks PostgreSQL's answer.

use std::collections::BTreeMap;

use pgplay_web::cluster::sleep_ms;
use pgplay_web::lessons::{self, Input, Lesson, Step, LESSONS};
use pgplay_web::psql_input::same_input;
use pgplay_web::scenario::Action;
use yew::prelude::*;

use crate::app::{execute, query_param, record, ClusterRef, Model, Msg, TopologyProps};

/// The lesson a page opens with when the address names none.
const DEFAULT_LESSON: &str = "003";
/// How often a waiting step is re-run.
const RETRY_MS: i32 = 200;

/// The lesson named in the address, or the default one.
pub fn current_lesson() -> &'static Lesson {
    query_param("lesson")
        .and_then(|id| lessons::lesson(&id))
        .or_else(|| lessons::lesson(DEFAULT_LESSON))
        .unwrap_or(&LESSONS[0])
}

fn action(step: &Step) -> Action {
    match step.input {
        Input::Sql(text) => Action::Sql {
            node: step.node.to_string(),
            text: text.to_string(),
        },
        Input::Shell(line) => Action::Shell(line.to_string()),
    }
}

/// Runs a step, re-running a waiting one until it succeeds or its time is
/// up; the last run is shown and recorded. Time spent waiting goes into the
/// scenario as `SELECT pg_sleep(s)`, so a replay (or `pgplay <` the script)
/// waits as long. Returns (succeeded, output).
async fn run_step(
    cluster: &ClusterRef,
    model: &UseReducerDispatcher<Model>,
    step: &Step,
) -> (bool, String) {
    let action = action(step);
    let tries = step.wait_seconds as i32 * 1000 / RETRY_MS;
    let mut attempt = 0;
    let (ran, output) = loop {
        let (ran, output) = execute(cluster, &action).await;
        if step.succeeded(ran, &output) || attempt >= tries {
            break (ran, output);
        }
        attempt += 1;
        sleep_ms(RETRY_MS).await;
    };
    if attempt > 0 {
        let seconds = f64::from(attempt * RETRY_MS) / 1000.0;
        model.dispatch(Msg::Ran(Action::Sql {
            node: step.node.to_string(),
            text: format!("SELECT pg_sleep({seconds});"),
        }));
    }
    record(model, action, &output);
    (step.succeeded(ran, &output), output)
}

/// Whether the learner ran the step's input: the same node and the same
/// words (spacing, line breaks, case and the final `;` aside).
fn typed_step(ran: &Action, step: &Step) -> bool {
    match (ran, action(step)) {
        (Action::Sql { node, text }, Action::Sql { node: n, text: t }) => {
            *node == n && same_input(text, &t)
        }
        (Action::Shell(line), Action::Shell(l)) => same_input(line, &l),
        _ => false,
    }
}

#[component]
pub fn LessonPanel(props: &TopologyProps) -> Html {
    let lesson = current_lesson();
    let results = use_state(BTreeMap::<usize, (bool, String)>::new);
    let running = use_state(|| false);
    // Runs steps from `from` on, stopping at the first that does not check out.
    let run_from = {
        let (cluster, model) = (props.cluster.clone(), props.model.dispatcher());
        let (results, running) = (results.clone(), running.clone());
        Callback::from(move |(from, to): (usize, usize)| {
            if *running {
                return;
            }
            running.set(true);
            let (cluster, model, results, running) = (
                cluster.clone(),
                model.clone(),
                results.clone(),
                running.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let mut map = (*results).clone();
                for index in from..to {
                    let (ok, output) = run_step(&cluster, &model, &lesson.steps[index]).await;
                    map.insert(index, (ok, output));
                    results.set(map.clone());
                    if !ok {
                        break;
                    }
                }
                running.set(false);
            });
        })
    };
    let next = (0..lesson.steps.len())
        .find(|i| !results.get(i).is_some_and(|(ok, _)| *ok))
        .unwrap_or(lesson.steps.len());
    {
        // A step the learner typed (or clicked) themselves ticks as if run
        // here, when PostgreSQL answered as the step expects; the lesson
        // moves on, so "Run step" never repeats what is already done.
        let (results, last) = (results.clone(), props.model.last_run.clone());
        use_effect_with(props.model.runs, move |_| {
            if let (Some(last), Some(step)) = (last, lesson.steps.get(next)) {
                if typed_step(&last.action, step) && step.succeeded(last.ran, &last.output) {
                    let mut map = (*results).clone();
                    map.insert(next, (true, last.output.clone()));
                    results.set(map);
                }
            }
            || ()
        });
    }
    html! {
        <section class="panel" aria-labelledby="lesson-heading">
            <h2 id="lesson-heading">{ format!("Lesson: {}", lesson.title) }</h2>
            <nav aria-label="Lessons" class="lessons">
                { for LESSONS.iter().map(|l| html! {
                    <a href={format!("?lesson={}", l.id)} aria-current={(l.id == lesson.id).then_some("page")}>
                        { format!("{} {}", l.id, l.title) }
                    </a>
                }) }
            </nav>
            <p>{ lesson.about }</p>
            <p class="muted">{ "Each lesson starts on a fresh cluster: primary, standby1 and standby2." }</p>
            <button type="button" disabled={*running || next == lesson.steps.len()}
                onclick={{ let run_from = run_from.clone(); let total = lesson.steps.len(); move |_| run_from.emit((next, total)) }}>
                { match next {
                    0 => "Run all steps".to_string(),
                    n if n == lesson.steps.len() => "All steps done".to_string(),
                    n => format!("Run steps {} to {}", n + 1, lesson.steps.len()),
                } }
            </button>
            <ol class="lesson" aria-label="Lesson steps">
                { for lesson.steps.iter().enumerate().map(|(index, step)| {
                    let result = results.get(&index).cloned();
                    let label = format!("Run step {}", index + 1);
                    let run_one = { let run_from = run_from.clone(); move |_| run_from.emit((index, index + 1)) };
                    html! {
                        <li aria-label={format!("Step {}", index + 1)}>
                            <p>{ step.text }</p>
                            <p><code>{ step.typed() }</code></p>
                            <button type="button" aria-label={label.clone()} onclick={run_one} disabled={*running}>{ label }</button>
                            if let Some((ok, out)) = result {
                                <span class={if ok { "check ok" } else { "check" }} role="status">
                                    { if ok { "✓ done" } else { "✗ not as expected" } }
                                </span>
                                <pre class="lesson-output">{ out }</pre>
                            }
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
