//! The root component: a header and, for now, a placeholder panel where the topology, consoles
//! and WAL stream will live.

use yew::prelude::*;

/// The whole page.
#[component]
pub fn App() -> Html {
    html! {
        <>
            <header class="app-header">
                <h1>{ "pgplay" }</h1>
                <p class="tagline">{ "A PostgreSQL streaming-replication playground" }</p>
            </header>
            <main>
                <Placeholder />
            </main>
        </>
    }
}

/// Stands where the cluster view will go, so the layout and styles can be checked already.
#[component]
fn Placeholder() -> Html {
    html! {
        <section class="panel" aria-labelledby="cluster-heading">
            <h2 id="cluster-heading">{ "Cluster" }</h2>
            <p>{ "The cluster view is not built yet: nodes, consoles and the WAL stream will appear here." }</p>
        </section>
    }
}
