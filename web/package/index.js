// pgplay's JavaScript package: the <pgplay-cluster> and <pgplay-console> elements and the
// Cluster API. Both drive pgplay's embed page (`?embed=...`) in an iframe through its
// postMessage API, the same messages a docs page may send by hand (README, "Embedding pgplay in
// a docs page"); the cluster itself runs in that page, one Web Worker per node.
//
// No dependencies and no build step: an ES module a page loads with one script tag.

export const VERSION = "0.1.0";

/// Where the embed page is: the directory above this file, as `trunk build` lays out dist/
/// (dist/index.html beside dist/package/index.js). A copy of the package elsewhere passes `src`.
const defaultSrc = () => new URL("../", import.meta.url).href;

/// How long `Cluster.start` waits for the cluster to stream.
const START_TIMEOUT_MS = 60_000;
/// How often the package says `pgplay:hello` until the embed answers (it may not listen yet).
const HELLO_EVERY_MS = 200;

/// An error PostgreSQL answered: `sqlstate` (`25006`), `message`, `severity`, and `detail`,
/// `hint` when the server gave them; `output` is what psql printed for the whole call.
export class PgplayError extends Error {
  constructor(error, output) {
    super(error.message);
    this.name = "PgplayError";
    this.severity = error.severity;
    this.sqlstate = error.sqlstate;
    this.code = error.sqlstate;
    if (error.detail != null) this.detail = error.detail;
    if (error.hint != null) this.hint = error.hint;
    this.output = output;
  }
}

/// The address of the embed page for these options.
export function embedUrl({ src, views = "console", preset, nodes, script, origin } = {}) {
  const url = new URL(src ?? defaultSrc(), document.baseURI);
  const list = (v) => (Array.isArray(v) ? v.join(",") : String(v));
  url.searchParams.set("embed", list(views));
  if (preset) url.searchParams.set("preset", preset);
  if (nodes) url.searchParams.set("nodes", list(nodes));
  url.searchParams.set("origin", origin ?? location.origin);
  url.hash = script ? `script=${encodeURIComponent(script)}` : "";
  return url.href;
}

/// A cluster running in an embed page's iframe.
export class Cluster {
  /// Starts a cluster in a new iframe and resolves once every standby streams.
  /// Without `container` the iframe is out of sight (a headless test's cluster).
  static async start(options = {}) {
    const iframe = document.createElement("iframe");
    iframe.title = options.title ?? "pgplay cluster";
    iframe.src = embedUrl({ views: "console", ...options });
    if (options.container) {
      iframe.style.cssText = "width:100%;height:480px;border:0;";
      options.container.append(iframe);
    } else {
      // Rendered (so the page runs as it does in view) but off screen and out of the tab order.
      iframe.setAttribute("aria-hidden", "true");
      iframe.tabIndex = -1;
      iframe.style.cssText = "position:fixed;left:-10000px;top:0;width:720px;height:480px;border:0;";
      document.body.append(iframe);
    }
    const cluster = new Cluster(iframe, { ownsFrame: true });
    try {
      await cluster.ready(options.timeout ?? START_TIMEOUT_MS);
    } catch (error) {
      cluster.close();
      throw error;
    }
    return cluster;
  }

  /// Drives an embed page already in `iframe` (its address must allow this page's origin).
  constructor(iframe, { ownsFrame = false } = {}) {
    this.iframe = iframe;
    this.nodes = [];
    this.closed = false;
    this._owns = ownsFrame;
    this._origin = new URL(iframe.src, document.baseURI).origin;
    this._nextId = 1;
    this._pending = new Map();
    this._listeners = new Map();
    this._state = "starting";
    this._waiting = [];
    // psql and run calls, one at a time: lines of two calls on one node would interleave in
    // its psql session.
    this._turn = Promise.resolve();
    this._onMessage = (event) => this._receive(event);
    addEventListener("message", this._onMessage);
    this._hello = setInterval(() => this._post({ type: "pgplay:hello" }), HELLO_EVERY_MS);
    this._post({ type: "pgplay:hello" });
  }

  /// Resolves once the cluster streams (rejects if it did not start, or after `timeoutMs`).
  ready(timeoutMs = START_TIMEOUT_MS) {
    if (this._state === "ready") return Promise.resolve(this);
    if (this._state !== "starting") return Promise.reject(this._failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`pgplay: the cluster did not stream within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this._waiting.push({
        resolve: () => { clearTimeout(timer); resolve(this); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
    });
  }

  /// Runs SQL in psql on `node`, as if typed in its console. Resolves to what psql printed;
  /// rejects with a PgplayError (sqlstate, message) if a statement failed.
  async psql(node, sql) {
    const answer = await this._inTurn({ type: "pgplay:psql", node, sql });
    if (answer.error) throw new PgplayError(answer.error, answer.output);
    if (!answer.ok) throw new Error(answer.output);
    return answer.output;
  }

  /// Runs a command of pgplay's shell language (`pg_ctl -D standby1 promote`,
  /// `pgplay-net partition primary standby1`); resolves to what it printed, rejects with its error.
  async run(command) {
    const answer = await this._inTurn({ type: "pgplay:run", command });
    if (!answer.ok) throw new Error(answer.output);
    return answer.output;
  }

  /// Every node's role, timeline, LSNs and senders: `{ primary: {...}, standby1: {...} }`.
  async status() {
    const answer = await this._request({ type: "pgplay:status" });
    return JSON.parse(answer.status);
  }

  /// Calls `fn(node, payload)` for each event of a kind: "log" (a server log line), "wal" (a
  /// WAL record: lsn, end, waldump, explain), "status" (a node's status), or "events" (each
  /// batch as it comes, an array of `{Log: ...}`, `{Wal: ...}`, `{WalSkipped: n}`,
  /// `{Status: ...}`). Returns a function that unsubscribes.
  subscribe(event, fn) {
    if (!["log", "wal", "status", "events"].includes(event)) {
      throw new TypeError(`pgplay: no event "${event}" (log, wal, status, events)`);
    }
    const first = this._listeners.size === 0;
    const set = this._listeners.get(event) ?? new Set();
    set.add(fn);
    this._listeners.set(event, set);
    if (first) this._post({ type: "pgplay:subscribe" });
    return () => {
      set.delete(fn);
      if (set.size === 0) this._listeners.delete(event);
      if (this._listeners.size === 0) this._post({ type: "pgplay:unsubscribe" });
    };
  }

  /// Ends the cluster: removes the iframe the package made (its workers end with it) and
  /// rejects what is still pending.
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this._hello);
    removeEventListener("message", this._onMessage);
    const error = new Error("pgplay: the cluster was closed");
    for (const { reject } of this._pending.values()) reject(error);
    this._pending.clear();
    this._fail(error);
    if (this._owns) this.iframe.remove();
  }

  _post(message) {
    if (this.closed) return;
    this.iframe.contentWindow?.postMessage(message, this._origin);
  }

  /// `_request` once the calls made before it are answered.
  _inTurn(message) {
    const answer = this._turn.then(() => this._request(message));
    this._turn = answer.catch(() => {});
    return answer;
  }

  /// Sends a request with a fresh id; resolves to the embed's answer. Requests made before
  /// the embed is ready are sent once it is.
  async _request(message) {
    if (this.closed) throw new Error("pgplay: the cluster was closed");
    await this.ready();
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._post({ ...message, id });
    });
  }

  _fail(error) {
    if (this._state === "starting") {
      this._state = "failed";
      this._failure = error;
      clearInterval(this._hello);
      for (const waiter of this._waiting.splice(0)) waiter.reject(error);
    }
  }

  _receive(event) {
    if (event.origin !== this._origin || event.source !== this.iframe.contentWindow) return;
    const message = event.data;
    if (!message || typeof message.type !== "string") return;
    switch (message.type) {
      case "pgplay:ready":
        if (this._state !== "starting") return;
        this._state = "ready";
        this.nodes = message.nodes;
        clearInterval(this._hello);
        for (const waiter of this._waiting.splice(0)) waiter.resolve();
        return;
      case "pgplay:failed":
        this._fail(new Error(`pgplay: the cluster did not start: ${message.reason}`));
        return;
      case "pgplay:result":
      case "pgplay:status": {
        const pending = this._pending.get(message.id);
        if (!pending) return;
        this._pending.delete(message.id);
        pending.resolve(message);
        return;
      }
      case "pgplay:events": {
        let events;
        try {
          events = JSON.parse(message.events);
        } catch {
          return;
        }
        const emit = (kind, payload) => {
          for (const fn of this._listeners.get(kind) ?? []) fn(message.node, payload);
        };
        emit("events", events);
        for (const item of events) {
          if ("Log" in item) emit("log", item.Log);
          else if ("Wal" in item) emit("wal", item.Wal);
          else if ("Status" in item) emit("status", item.Status);
        }
        return;
      }
    }
  }
}

/// Heights that show the named views without scrolling much (the embed is laid out for 480).
function heightFor(views) {
  const names = views.split(",").map((v) => v.trim()).filter(Boolean);
  return names.length <= 1 && names[0] !== "cluster" && names[0] !== "lesson" ? 360 : 480;
}

/// `<pgplay-cluster>` and `<pgplay-console>`: an embed in an iframe. Attributes: `preset`,
/// `nodes`, `script` (or the element's text), `views`, `src` (the embed page; default: beside
/// this package), `height` (px). `element.cluster` resolves to a Cluster driving it.
class PgplayElement extends HTMLElement {
  static defaultViews = "cluster,console";
  static observedAttributes = ["preset", "nodes", "script", "views", "src", "height"];

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._cluster = null;
  }

  connectedCallback() {
    this._render();
  }

  disconnectedCallback() {
    this._cluster?.close();
    this._cluster = null;
    this.shadowRoot.replaceChildren();
  }

  attributeChangedCallback(_name, before, after) {
    if (before !== after && this.isConnected && this._rendered) this._render();
  }

  /// A Cluster driving this element's embed: what the host runs shows in its consoles.
  get cluster() {
    if (!this._cluster) this._render();
    return this._cluster.ready();
  }

  _render() {
    this._cluster?.close();
    const views = this.getAttribute("views") ?? this.constructor.defaultViews;
    const script = this.getAttribute("script") ?? (this.textContent.trim() || undefined);
    const iframe = document.createElement("iframe");
    iframe.title = this.getAttribute("title") ?? `pgplay: ${views}`;
    iframe.src = embedUrl({
      src: this.getAttribute("src") ?? undefined,
      views,
      preset: this.getAttribute("preset") ?? undefined,
      nodes: this.getAttribute("nodes") ?? undefined,
      script,
    });
    const height = Number(this.getAttribute("height")) || heightFor(views);
    const style = document.createElement("style");
    style.textContent = `:host { display: block; max-width: 100%; }
iframe { display: block; width: 100%; height: ${height}px; border: 1px solid #8884; border-radius: 6px; }`;
    this.shadowRoot.replaceChildren(style, iframe);
    this._cluster = new Cluster(iframe);
    this._rendered = true;
  }
}

export class PgplayClusterElement extends PgplayElement {
  static defaultViews = "cluster,console";
}

export class PgplayConsoleElement extends PgplayElement {
  static defaultViews = "console";
}

if (typeof customElements !== "undefined") {
  if (!customElements.get("pgplay-cluster")) customElements.define("pgplay-cluster", PgplayClusterElement);
  if (!customElements.get("pgplay-console")) customElements.define("pgplay-console", PgplayConsoleElement);
}
