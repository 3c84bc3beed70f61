//! PostgreSQL's isolation-tester spec format, read and run the way PostgreSQL 15's
//! `isolationtester` runs it, so one spec file and one expected output serve both sides.
//!
//! sqllogictest runs one statement at a time on one connection and cannot say "session A
//! blocks, session B commits, A finishes". PostgreSQL's own concurrency tests
//! (`src/test/isolation`) can: a spec names sessions and their steps, permutations order the
//! steps, and the output shows a step that blocks as `<waiting ...>` and its end later as
//! `<... completed>`. The real-PostgreSQL side of pgplay's specs is PostgreSQL 15's own
//! `isolationtester` (tests/postgres/isolation.sh), which writes the expected files; pgplay's
//! side is [`run`] over a [`Backend`] (the `pgplay isolation` command drives the simulator), so
//! this module reproduces that tool's output byte for byte: step lines, `PQprint`'s aligned
//! result tables, errors as `SEVERITY:  primary message` (no DETAIL, which often holds xids or
//! pids) and notices as `session: NOTICE:  ...`.
//!
//! Blocker annotations in permutations (`s1a(s2b)`, `(*)`) are read and ignored: pgplay knows
//! exactly when a step waits, so it never needs them.

use std::fmt::Write as _;

/// A parsed spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    pub setup: Vec<String>,
    pub teardown: Option<String>,
    pub sessions: Vec<SpecSession>,
    /// Each permutation as step names; empty: every interleaving of the sessions' steps.
    pub permutations: Vec<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecSession {
    pub name: String,
    pub setup: Option<String>,
    pub teardown: Option<String>,
    pub steps: Vec<SpecStep>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecStep {
    pub name: String,
    pub sql: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Sql(String),
    Open,
    Close,
    Comma,
    Star,
}

fn tokens(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '{' => {
                let start = line;
                let mut sql = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => {
                            line += usize::from(c == '\n');
                            sql.push(c);
                        }
                        None => return Err(format!("line {start}: unterminated SQL block")),
                    }
                }
                // specscanner.l's `{space}` is `[ \t\r\f]`: a block keeps its newlines.
                let sql = sql.trim_matches([' ', '\t', '\r', '\x0c']);
                out.push((Token::Sql(sql.to_string()), start));
            }
            '"' => {
                let mut word = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\n') | None => {
                            return Err(format!("line {line}: unterminated quoted identifier"))
                        }
                        Some(c) => word.push(c),
                    }
                }
                out.push((Token::Word(word), line));
            }
            '(' => out.push((Token::Open, line)),
            ')' => out.push((Token::Close, line)),
            ',' => out.push((Token::Comma, line)),
            '*' => out.push((Token::Star, line)),
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        word.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push((Token::Word(word), line));
            }
            other => return Err(format!("line {line}: syntax error at \"{other}\"")),
        }
    }
    Ok(out)
}

/// Reads a spec file's text.
pub fn parse(text: &str) -> Result<Spec, String> {
    let tokens = tokens(text)?;
    let mut spec = Spec::default();
    let mut at = 0;
    let keyword = |at: usize| match tokens.get(at) {
        Some((Token::Word(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let sql = |at: usize| -> Result<String, String> {
        match tokens.get(at) {
            Some((Token::Sql(sql), _)) => Ok(sql.clone()),
            Some((_, line)) => Err(format!("line {line}: expected {{ SQL }}")),
            None => Err("unexpected end of spec: expected { SQL }".into()),
        }
    };
    let name = |at: usize| -> Result<String, String> {
        match tokens.get(at) {
            Some((Token::Word(w), _)) => Ok(w.clone()),
            Some((_, line)) => Err(format!("line {line}: expected a name")),
            None => Err("unexpected end of spec: expected a name".into()),
        }
    };
    while at < tokens.len() {
        let line = tokens[at].1;
        match keyword(at) {
            Some("setup") if spec.sessions.is_empty() => {
                spec.setup.push(sql(at + 1)?);
                at += 2;
            }
            Some("teardown") if spec.sessions.is_empty() => {
                spec.teardown = Some(sql(at + 1)?);
                at += 2;
            }
            Some("session") => {
                let mut session = SpecSession {
                    name: name(at + 1)?,
                    ..SpecSession::default()
                };
                at += 2;
                loop {
                    match keyword(at) {
                        Some("setup") => {
                            session.setup = Some(sql(at + 1)?);
                            at += 2;
                        }
                        Some("teardown") => {
                            session.teardown = Some(sql(at + 1)?);
                            at += 2;
                        }
                        Some("step") => {
                            session.steps.push(SpecStep {
                                name: name(at + 1)?,
                                sql: sql(at + 2)?,
                            });
                            at += 3;
                        }
                        _ => break,
                    }
                }
                if session.steps.is_empty() {
                    return Err(format!(
                        "line {line}: session {} has no steps",
                        session.name
                    ));
                }
                spec.sessions.push(session);
            }
            Some("permutation") => {
                at += 1;
                let mut steps = Vec::new();
                while let Some((Token::Word(w), _)) = tokens.get(at) {
                    if w == "permutation" {
                        break;
                    }
                    steps.push(w.clone());
                    at += 1;
                    // Blocker annotations: `(s1a, s2b)`, `(*)`, `(s1a notices 1)`.
                    if tokens.get(at).map(|t| &t.0) == Some(&Token::Open) {
                        while let Some((token, _)) = tokens.get(at) {
                            at += 1;
                            if *token == Token::Close {
                                break;
                            }
                        }
                    }
                }
                if steps.is_empty() {
                    return Err(format!("line {line}: empty permutation"));
                }
                spec.permutations.push(steps);
            }
            _ => return Err(format!("line {line}: syntax error")),
        }
    }
    if spec.sessions.is_empty() {
        return Err("the spec has no sessions".into());
    }
    let known: Vec<&str> = spec
        .sessions
        .iter()
        .flat_map(|s| s.steps.iter().map(|t| t.name.as_str()))
        .collect();
    for (i, name) in known.iter().enumerate() {
        if known[..i].contains(name) {
            return Err(format!("duplicate step name: {name}"));
        }
    }
    for permutation in &spec.permutations {
        for step in permutation {
            if !known.contains(&step.as_str()) {
                return Err(format!(
                    "undefined step \"{step}\" specified in permutation"
                ));
            }
        }
    }
    Ok(spec)
}

/// What one query returned, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    /// A statement without rows (nothing is printed for it).
    Command,
    Error {
        severity: String,
        message: String,
    },
    /// A NOTICE, WARNING... with its severity: printed as `session: SEVERITY:  message`.
    Notice {
        severity: String,
        message: String,
    },
}

/// The server side: connections that run SQL and may block.
pub trait Backend {
    /// Opens a connection; `session` is its name in the spec (`None`: the control connection
    /// that runs the spec's setup and teardown).
    fn connect(&mut self, session: Option<&str>) -> Result<usize, String>;
    /// Sends SQL on a connection: `Some` with what it returned when it completes, `None` when
    /// it waits for a lock held by another connection.
    fn send(&mut self, connection: usize, sql: &str) -> Option<Vec<Item>>;
    /// A waiting query's results once it has completed, else `None`. `patient`: the tester
    /// has nothing else to do (a later step is on this session, or the permutation ends), so
    /// the backend may let time pass (timeouts, deadlock checks).
    fn poll(&mut self, connection: usize, patient: bool) -> Option<Vec<Item>>;
    fn disconnect(&mut self, connection: usize);
}

/// `PQprint`'s aligned output with `|` between fields, as isolationtester prints a result.
pub fn print_rows(out: &mut String, columns: &[String], rows: &[Vec<Option<String>>]) {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = columns.iter().map(|c| width(c)).collect();
    let mut numeric = vec![true; columns.len()];
    for row in rows {
        for (j, value) in row.iter().enumerate().take(columns.len()) {
            let value = value.as_deref().unwrap_or("");
            widths[j] = widths[j].max(width(value));
            if !value
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'E' | 'e' | ' ' | '-'))
            {
                numeric[j] = false;
            }
        }
    }
    let line = |cells: Vec<String>| cells.join("|") + "\n";
    let pad = |s: &str, w: usize, right: bool| {
        let fill = " ".repeat(w.saturating_sub(width(s)));
        if right {
            fill + s
        } else {
            s.to_string() + &fill
        }
    };
    out.push_str(&line(
        columns
            .iter()
            .enumerate()
            .map(|(j, c)| pad(c, widths[j], numeric[j]))
            .collect(),
    ));
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&(dashes.join("+") + "\n"));
    for row in rows {
        out.push_str(&line(
            (0..columns.len())
                .map(|j| {
                    let value = row.get(j).cloned().flatten().unwrap_or_default();
                    pad(&value, widths[j], numeric[j])
                })
                .collect(),
        ));
    }
    let _ = writeln!(
        out,
        "({} row{})\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
}

fn print_items(out: &mut String, session: &str, items: &[Item]) {
    for item in items {
        match item {
            Item::Rows { columns, rows } => print_rows(out, columns, rows),
            Item::Command => {}
            Item::Error { severity, message } => {
                let _ = writeln!(out, "{severity}:  {message}");
            }
            Item::Notice { severity, message } => {
                let _ = writeln!(out, "{session}: {severity}:  {message}");
            }
        }
    }
}

/// Every interleaving of the sessions' steps that keeps each session's order.
fn all_permutations(spec: &Spec) -> Vec<Vec<String>> {
    fn recurse(
        spec: &Spec,
        next: &mut Vec<usize>,
        current: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        let mut any = false;
        for (i, session) in spec.sessions.iter().enumerate() {
            if next[i] < session.steps.len() {
                any = true;
                current.push(session.steps[next[i]].name.clone());
                next[i] += 1;
                recurse(spec, next, current, out);
                next[i] -= 1;
                current.pop();
            }
        }
        if !any && out.len() < MAX_PERMUTATIONS {
            out.push(current.clone());
        }
    }
    let mut out = Vec::new();
    recurse(
        spec,
        &mut vec![0; spec.sessions.len()],
        &mut Vec::new(),
        &mut out,
    );
    out
}

/// Most permutations a spec without `permutation` lines runs.
pub const MAX_PERMUTATIONS: usize = 1000;

/// Runs a spec as isolationtester does and returns its output. Err: the run could not go on
/// (a setup failed, a step stays blocked for ever); the output so far is in the message.
pub fn run(spec: &Spec, backend: &mut dyn Backend) -> Result<String, String> {
    let mut out = format!("Parsed test spec with {} sessions\n", spec.sessions.len());
    let permutations = if spec.permutations.is_empty() {
        all_permutations(spec)
    } else {
        spec.permutations.clone()
    };
    for permutation in &permutations {
        if let Err(error) = run_permutation(spec, permutation, backend, &mut out) {
            return Err(format!("{out}\n{error}"));
        }
    }
    Ok(out)
}

fn run_permutation(
    spec: &Spec,
    permutation: &[String],
    backend: &mut dyn Backend,
    out: &mut String,
) -> Result<(), String> {
    out.push_str("\nstarting permutation:");
    for step in permutation {
        let _ = write!(out, " {step}");
    }
    out.push('\n');
    let control = backend.connect(None)?;
    let mut connections = Vec::new();
    for session in &spec.sessions {
        connections.push(backend.connect(Some(&session.name))?);
    }
    for sql in &spec.setup {
        let items = backend.send(control, sql).ok_or("setup blocked")?;
        check_setup(out, &items, "setup failed")?;
    }
    for (i, session) in spec.sessions.iter().enumerate() {
        if let Some(sql) = &session.setup {
            let items = backend
                .send(connections[i], sql)
                .ok_or_else(|| format!("setup of session {} blocked", session.name))?;
            check_setup(
                out,
                &items,
                &format!("setup of session {} failed", session.name),
            )?;
        }
    }
    // The steps that wait, in the order they started: (session index, step).
    let mut waiting: Vec<(usize, &SpecStep)> = Vec::new();
    for name in permutation {
        let (s, step) = find_step(spec, name);
        if let Some(at) = waiting.iter().position(|(w, _)| *w == s) {
            // This session still runs an earlier step: wait for it to finish.
            let (_, earlier) = waiting.remove(at);
            match backend.poll(connections[s], true) {
                Some(items) => {
                    let _ = writeln!(out, "step {}: <... completed>", earlier.name);
                    print_items(out, &spec.sessions[s].name, &items);
                }
                None => {
                    return Err(format!(
                        "step {} is still waiting, so step {} cannot start (PostgreSQL's isolationtester would wait for it for ever)",
                        earlier.name, step.name
                    ))
                }
            }
            complete_waiting(spec, &connections, &mut waiting, backend, out, false);
        }
        let _ = write!(out, "step {}: {}", step.name, step.sql);
        match backend.send(connections[s], &step.sql) {
            Some(items) => {
                out.push('\n');
                print_items(out, &spec.sessions[s].name, &items);
                complete_waiting(spec, &connections, &mut waiting, backend, out, false);
            }
            None => {
                out.push_str(" <waiting ...>\n");
                complete_waiting(spec, &connections, &mut waiting, backend, out, false);
                waiting.push((s, step));
            }
        }
    }
    complete_waiting(spec, &connections, &mut waiting, backend, out, true);
    if let Some((_, step)) = waiting.first() {
        return Err(format!(
            "step {} is still waiting at the end of the permutation (PostgreSQL's isolationtester would wait for it for ever)",
            step.name
        ));
    }
    for (i, session) in spec.sessions.iter().enumerate() {
        if let Some(sql) = &session.teardown {
            if let Some(items) = backend.send(connections[i], sql) {
                print_items(out, &session.name, &items);
            }
        }
    }
    for connection in connections {
        backend.disconnect(connection);
    }
    if let Some(sql) = &spec.teardown {
        let items = backend.send(control, sql).ok_or("teardown blocked")?;
        check_setup(out, &items, "teardown failed")?;
    }
    backend.disconnect(control);
    Ok(())
}

/// isolationtester prints a setup's rows; an error ends the run.
fn check_setup(out: &mut String, items: &[Item], what: &str) -> Result<(), String> {
    for item in items {
        match item {
            Item::Rows { columns, rows } => print_rows(out, columns, rows),
            Item::Error { severity, message } => {
                return Err(format!("{what}: {severity}:  {message}"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Prints the waiting steps that have completed, oldest first, and keeps the rest; repeats
/// while some complete (one that ends may release another).
fn complete_waiting(
    spec: &Spec,
    connections: &[usize],
    waiting: &mut Vec<(usize, &SpecStep)>,
    backend: &mut dyn Backend,
    out: &mut String,
    patient: bool,
) {
    loop {
        let before = waiting.len();
        let mut at = 0;
        while at < waiting.len() {
            let (s, step) = waiting[at];
            match backend.poll(connections[s], patient) {
                Some(items) => {
                    let _ = writeln!(out, "step {}: <... completed>", step.name);
                    print_items(out, &spec.sessions[s].name, &items);
                    waiting.remove(at);
                }
                None => at += 1,
            }
        }
        if waiting.len() == before || waiting.is_empty() {
            break;
        }
    }
}

fn find_step<'a>(spec: &'a Spec, name: &str) -> (usize, &'a SpecStep) {
    spec.sessions
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.steps.iter().find(|t| t.name == name).map(|t| (i, t)))
        .expect("parse checked every permutation's steps")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sessions_steps_and_permutations() {
        let spec = parse(
            "# comment\nsetup { CREATE TABLE t (a int); }\nteardown { DROP TABLE t; }\n\
             session \"s1\"\nsetup { BEGIN; }\nstep s1a { SELECT 1; }\nstep \"s1b\" { COMMIT; }\n\
             session s2\nstep s2a { SELECT 2; }\npermutation s1a s2a(s1a) s1b\npermutation s2a(*) s1a s1b\n",
        )
        .unwrap();
        assert_eq!(spec.setup, vec!["CREATE TABLE t (a int);"]);
        assert_eq!(spec.sessions.len(), 2);
        assert_eq!(spec.sessions[0].setup.as_deref(), Some("BEGIN;"));
        assert_eq!(spec.sessions[0].steps[1].name, "s1b");
        assert_eq!(spec.permutations[0], vec!["s1a", "s2a", "s1b"]);
        assert_eq!(spec.permutations[1], vec!["s2a", "s1a", "s1b"]);
        assert!(parse("session s1 step a { x } permutation b").is_err());
    }

    #[test]
    fn without_permutations_every_interleaving_runs() {
        let spec = parse("session a step a1 {x} step a2 {x} session b step b1 {x}").unwrap();
        assert_eq!(all_permutations(&spec).len(), 3);
    }

    #[test]
    fn results_print_as_pqprint_aligns_them() {
        let mut out = String::new();
        print_rows(
            &mut out,
            &["id".into(), "name".into()],
            &[
                vec![Some("1".into()), Some("x".into())],
                vec![Some("10".into()), None],
            ],
        );
        assert_eq!(out, "id|name\n--+----\n 1|x   \n10|    \n(2 rows)\n\n");
        // A numeric column's header is right-aligned too.
        let mut out = String::new();
        print_rows(&mut out, &["v".into()], &[vec![Some("10".into())]]);
        assert_eq!(out, " v\n--\n10\n(1 row)\n\n");
    }
}
