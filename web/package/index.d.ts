// TypeScript declarations for pgplay's JavaScript package (index.js).

export declare const VERSION: string;

/** Options of `Cluster.start` and `embedUrl`. */
export interface StartOptions {
  /** The cluster's shape: "default" (primary, standby1, standby2), "one-standby", "cascading", "synchronous". */
  preset?: string;
  /** The nodes the consoles show (default: every node). */
  nodes?: string | string[];
  /** The embed page's address (default: the directory above this package, as dist/ lays it out). */
  src?: string | URL;
  /** The views: "console", "cluster", "wal", "lesson" (comma-separated or a list; default "console"). */
  views?: string | string[];
  /** A scenario (pgplay's scenario language) the embed's script player steps through. */
  script?: string;
  /** Where to show the iframe; without it the iframe is off screen (a headless cluster). */
  container?: Element;
  /** The iframe's accessible title. */
  title?: string;
  /** How long to wait for every standby to stream, in ms (default 60000). */
  timeout?: number;
}

/** The origin allowed to drive the embed; default: this page's (`location.origin`). */
export interface EmbedUrlOptions extends Omit<StartOptions, "container" | "title" | "timeout"> {
  origin?: string;
}

/** An error PostgreSQL answered. */
export declare class PgplayError extends Error {
  name: "PgplayError";
  /** ERROR, FATAL or PANIC. */
  severity: string;
  /** The SQLSTATE, e.g. "25006". */
  sqlstate: string;
  /** The same as `sqlstate`, as node-postgres names it. */
  code: string;
  detail?: string;
  hint?: string;
  /** What psql printed for the whole call. */
  output: string;
}

/** A WAL record as the event stream gives it. */
export interface WalRecord {
  lsn: string;
  end: string;
  /** The record as pg_waldump prints it. */
  waldump: string;
  /** What it means, in plain words. */
  explain: string;
}

/** A node's state, as `status()` and "status" events give it. */
export interface NodeStatus {
  id: number;
  port: number;
  role: string;
  running: boolean;
  timeline: number;
  write: string;
  flush: string;
  replay: string | null;
  receiver: string | null;
  upstream: [string, number] | null;
  senders: Array<Record<string, unknown>>;
  memory_bytes: number;
  [field: string]: unknown;
}

/** One item of an event batch. */
export type PgplayEvent =
  | { Log: string }
  | { Wal: WalRecord }
  | { WalSkipped: number }
  | { Status: NodeStatus };

export interface EventPayloads {
  log: string;
  wal: WalRecord;
  status: NodeStatus;
  events: PgplayEvent[];
}

/** A cluster running in pgplay's embed page, driven through its postMessage API. */
export declare class Cluster {
  /** Starts a cluster in a new iframe; resolves once every standby streams. */
  static start(options?: StartOptions): Promise<Cluster>;
  /** Drives the embed already in `iframe` (its address must allow this page's origin). */
  constructor(iframe: HTMLIFrameElement, options?: { ownsFrame?: boolean });
  readonly iframe: HTMLIFrameElement;
  /** The cluster's nodes, once ready. */
  readonly nodes: string[];
  readonly closed: boolean;
  /** Resolves once the cluster streams; rejects if it did not start or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<Cluster>;
  /** Runs SQL in psql on `node`; resolves to what psql printed, rejects with a PgplayError. */
  psql(node: string, sql: string): Promise<string>;
  /** Runs a command (`pg_ctl -D standby1 promote`); resolves to what it printed. */
  run(command: string): Promise<string>;
  /** Every node's status, by name. */
  status(): Promise<Record<string, NodeStatus | null>>;
  /** Calls `fn(node, payload)` for each event of that kind; returns the unsubscribe function. */
  subscribe<K extends keyof EventPayloads>(event: K, fn: (node: string, payload: EventPayloads[K]) => void): () => void;
  /** Ends the cluster (removes an iframe `start` made) and rejects what is pending. */
  close(): void;
}

/** The embed page's address for these options. */
export declare function embedUrl(options?: EmbedUrlOptions): string;

/** `<pgplay-cluster>`: the drawing and the consoles. Attributes: preset, nodes, script, views, src, height. */
export declare class PgplayClusterElement extends HTMLElement {
  /** A Cluster driving this element's embed, once it streams. */
  readonly cluster: Promise<Cluster>;
}

/** `<pgplay-console>`: the psql consoles. Attributes: preset, nodes, script, views, src, height. */
export declare class PgplayConsoleElement extends HTMLElement {
  readonly cluster: Promise<Cluster>;
}

declare global {
  interface HTMLElementTagNameMap {
    "pgplay-cluster": PgplayClusterElement;
    "pgplay-console": PgplayConsoleElement;
  }
}
