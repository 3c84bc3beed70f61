//! The embed mode: the page in a docs site's iframe, showing only the views
//! the address names, with no header, sized for 720×480 and readable at
//! 320 px. A scripted example gets a player that steps through its script.
//! A host page may drive the embed with `postMessage`; the embed answers
//! only the origins its address allows (`&origin=`), since any page could
//! frame it.
//!
//! ```text
//! ?embed=console,cluster        the views, in order: console | cluster | wal | lesson
//! &nodes=primary,standby1       the nodes the views show (default: every node)
//! &preset=one-standby           the cluster's shape, as on the full page
//! &script=...  or  #script=...  a scenario (URL-encoded) the player steps through
//! &origin=https://docs.example  origins whose messages the embed answers (comma-separated)
//! ```
//!
//! This module is the address and the messages, as plain Rust (tested
//! natively); `embed_view` in the binary renders them.

use serde::{Deserialize, Serialize};

/// A view an embed can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// psql consoles, one per shown node.
    Console,
    /// The drawing of the cluster with its status sentence.
    Cluster,
    /// The WAL stream.
    Wal,
    /// The guided lesson (`&lesson=NNN`).
    Lesson,
}

impl View {
    pub fn parse(name: &str) -> Option<View> {
        match name.trim() {
            "console" | "psql" => Some(View::Console),
            "cluster" => Some(View::Cluster),
            "wal" => Some(View::Wal),
            "lesson" => Some(View::Lesson),
            _ => None,
        }
    }
}

/// What an embed's address asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmbedConfig {
    /// The views, in the order named; never empty.
    pub views: Vec<View>,
    /// The nodes the views show; empty: every node.
    pub nodes: Vec<String>,
    /// Origins allowed to drive the embed with postMessage.
    pub origins: Vec<String>,
    /// The scenario the script player steps through.
    pub script: Option<String>,
}

/// Most views, nodes or origins an address may name.
const MAX_NAMES: usize = 16;

impl EmbedConfig {
    /// Reads `location.search` and `location.hash`. None: not an embed.
    /// An `embed=` naming no known view shows the console.
    pub fn parse(search: &str, hash: &str) -> Option<EmbedConfig> {
        let embed = param(search, "embed")?;
        let mut views: Vec<View> = list(&embed).iter().filter_map(|v| View::parse(v)).collect();
        views.dedup();
        if views.is_empty() {
            views.push(View::Console);
        }
        let script = param(search, "script")
            .or_else(|| hash.strip_prefix("#script=").map(percent_decode))
            .filter(|s| !s.trim().is_empty());
        Some(EmbedConfig {
            views,
            nodes: param(search, "nodes").map(|n| list(&n)).unwrap_or_default(),
            origins: param(search, "origin")
                .map(|o| list(&o))
                .unwrap_or_default(),
            script,
        })
    }

    pub fn shows(&self, view: View) -> bool {
        self.views.contains(&view)
    }

    /// Whether the embed shows `node`.
    pub fn shows_node(&self, node: &str) -> bool {
        self.nodes.is_empty() || self.nodes.iter().any(|n| n == node)
    }

    /// Whether a message from `origin` is answered.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(MAX_NAMES)
        .map(str::to_string)
        .collect()
}

/// The decoded value of `name` in a query string (`?a=1&b=2`).
pub fn param(search: &str, name: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .map(|v| percent_decode(&v.replace('+', " ")))
}

/// `%XX` escapes decoded (as UTF-8; a broken escape stays as it is).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a host page sends the embed (`iframe.contentWindow.postMessage(message, embedOrigin)`).
/// Messages from an allowed origin that arrive before the cluster streams are kept (at most
/// [`MAX_QUEUED`]) and answered once it does, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum HostMessage {
    /// Asks for `pgplay:ready` (or `pgplay:failed`): answered once the cluster streams, at
    /// once if it already does. A host whose origin the browser does not tell the embed
    /// (`document.referrer`) learns this way that the embed is ready; the JS package sends it
    /// until answered, as the embed may not listen yet.
    #[serde(rename = "pgplay:hello")]
    Hello,
    /// Runs SQL in psql on a node, as if typed in its console; answered by a `pgplay:result`.
    #[serde(rename = "pgplay:psql")]
    Psql { id: u64, node: String, sql: String },
    /// Runs a command of the shell language (`pg_ctl -D standby1 promote`); answered by a
    /// `pgplay:result`.
    #[serde(rename = "pgplay:run")]
    Run { id: u64, command: String },
    /// Asks for each node's role, LSNs and senders; answered by a `pgplay:status`.
    #[serde(rename = "pgplay:status")]
    Status { id: u64 },
    /// Starts `pgplay:events` messages (log lines, WAL records, status), batched every 50 ms.
    #[serde(rename = "pgplay:subscribe")]
    Subscribe,
    /// Stops them.
    #[serde(rename = "pgplay:unsubscribe")]
    Unsubscribe,
}

impl HostMessage {
    /// The request's id, for the messages that are answered with one.
    pub fn id(&self) -> Option<u64> {
        match self {
            HostMessage::Psql { id, .. } | HostMessage::Run { id, .. } => Some(*id),
            HostMessage::Status { id } => Some(*id),
            _ => None,
        }
    }
}

/// Most messages kept while the cluster starts; one more is answered with
/// [`EmbedMessage::Result`] `ok: false` (or ignored, if it has no id).
pub const MAX_QUEUED: usize = 64;

/// An error PostgreSQL answered, as its protocol carries it (psql prints
/// `severity:  message`, and the SQLSTATE with `\set VERBOSITY verbose`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlError {
    /// ERROR, FATAL or PANIC.
    pub severity: String,
    /// The five-character SQLSTATE (`25006`).
    pub sqlstate: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What the embed sends its host (only to the allowed origins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EmbedMessage {
    /// The cluster streams; these are its nodes.
    #[serde(rename = "pgplay:ready")]
    Ready { nodes: Vec<String> },
    /// The cluster did not start; the embed answers nothing else.
    #[serde(rename = "pgplay:failed")]
    Failed { reason: String },
    /// The answer to `pgplay:psql` or `pgplay:run`: what psql or the command printed. `ok`:
    /// the SQL was sent or the command ran. `error`: for `pgplay:psql`, the first ERROR
    /// PostgreSQL answered (psql goes on with the next statement, as it does by default).
    #[serde(rename = "pgplay:result")]
    Result {
        id: u64,
        ok: bool,
        output: String,
        #[serde(default)]
        error: Option<SqlError>,
    },
    /// The answer to `pgplay:status`: the JSON of `pgplay.status()`.
    #[serde(rename = "pgplay:status")]
    Status { id: u64, status: String },
    /// One batch of a node's events, as `pgplay.subscribe` gives them (JSON text).
    #[serde(rename = "pgplay:events")]
    Events { node: String, events: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_an_embed_without_embed() {
        assert_eq!(EmbedConfig::parse("?preset=cascading", ""), None);
        assert_eq!(EmbedConfig::parse("", "#script=SELECT"), None);
    }

    #[test]
    fn views_nodes_origins_and_script() {
        let config = EmbedConfig::parse(
            "?embed=console,cluster,bogus&nodes=primary,standby1&origin=http://a.test,https://b.test&script=SELECT%201%3B",
            "",
        )
        .unwrap();
        assert_eq!(config.views, vec![View::Console, View::Cluster]);
        assert!(config.shows_node("standby1") && !config.shows_node("standby2"));
        assert!(config.allows("https://b.test") && !config.allows("https://c.test"));
        assert_eq!(config.script.as_deref(), Some("SELECT 1;"));
        let hashed = EmbedConfig::parse("?embed=wal", "#script=%5C!%20pg_ctl").unwrap();
        assert_eq!(hashed.views, vec![View::Wal]);
        assert!(hashed.shows_node("anything"));
        assert_eq!(hashed.script.as_deref(), Some("\\! pg_ctl"));
        assert!(!hashed.allows("http://127.0.0.1:8080"));
        assert_eq!(
            EmbedConfig::parse("?embed=", "").unwrap().views,
            vec![View::Console]
        );
    }

    #[test]
    fn messages_are_the_documented_json() {
        let hello: HostMessage = serde_json::from_str(r#"{"type":"pgplay:hello"}"#).unwrap();
        assert_eq!(hello, HostMessage::Hello);
        let psql: HostMessage = serde_json::from_str(
            r#"{"type":"pgplay:psql","id":7,"node":"standby1","sql":"INSERT INTO t VALUES (1);"}"#,
        )
        .unwrap();
        assert_eq!(psql.id(), Some(7));
        assert!(serde_json::from_str::<HostMessage>(r#"{"type":"pgplay:psql","id":"x"}"#).is_err());
        let result = EmbedMessage::Result {
            id: 7,
            ok: true,
            output: "ERROR:  cannot execute INSERT in a read-only transaction\n".into(),
            error: Some(SqlError {
                severity: "ERROR".into(),
                sqlstate: "25006".into(),
                message: "cannot execute INSERT in a read-only transaction".into(),
                ..SqlError::default()
            }),
        };
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"type":"pgplay:result","id":7,"ok":true,"output":"ERROR:  cannot execute INSERT in a read-only transaction\n","error":{"severity":"ERROR","sqlstate":"25006","message":"cannot execute INSERT in a read-only transaction"}}"#
        );
        let failed = EmbedMessage::Failed {
            reason: "no workers".into(),
        };
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"type":"pgplay:failed","reason":"no workers"}"#
        );
    }

    #[test]
    fn broken_escapes_stay() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
