//! Synchronous replication: which standbys a commit waits for, and how far
//! they have confirmed.
//!
//! `synchronous_standby_names` lists standbys by `application_name`. In the
//! priority form (`FIRST n (a, b, c)`, or the pre-9.6 list `a, b, c` meaning
//! `FIRST 1`) the `n` streaming standbys listed first are `sync`, the other
//! listed ones `potential`; a commit waits for all `n`. In the quorum form
//! (`ANY n (a, b, c)`) every listed standby is a `quorum` candidate and a
//! commit waits for any `n` of them. `*` matches every standby.
//!
//! A committing backend waits until the synchronous standbys have written
//! (`synchronous_commit = remote_write`), flushed (`on`) or replayed
//! (`remote_apply`) its commit record. This module only computes: the node
//! keeps the waiters and releases them with [`confirmed`].

use pgplay_wal::Lsn;

/// How the listed standbys are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `FIRST n (...)` or a plain list: the first `n` by list position.
    Priority,
    /// `ANY n (...)`: any `n` of them.
    Quorum,
}

/// A parsed, non-empty `synchronous_standby_names`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncStandbyNames {
    pub method: Method,
    pub num_sync: u32,
    /// Names as written (quoted names unquoted); `*` matches any standby.
    pub names: Vec<String>,
}

/// Why a value is refused. The node words these as PostgreSQL does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// `syntax error at or near "X"` / `syntax error at end of input` (42601).
    Syntax(String),
    /// `number of synchronous standbys (0) must be greater than zero` (22023).
    ZeroCount,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Name(String),
    Num(String),
    First,
    Any,
    Char(char),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Name(s) | Token::Num(s) => s.clone(),
            Token::First => "FIRST".into(),
            Token::Any => "ANY".into(),
            Token::Char(c) => c.to_string(),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == '$'
}

/// Splits a value into tokens; the words keep what the user typed, so an
/// error can quote it.
fn tokens(text: &str) -> Result<Vec<(Token, String)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push((Token::Num(word.clone()), word));
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_cont(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let token = match word.to_ascii_lowercase().as_str() {
                "first" => Token::First,
                "any" => Token::Any,
                _ => Token::Name(word.clone()),
            };
            out.push((token, word));
        } else if c == '"' {
            let mut name = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ParseError::Syntax("unterminated quoted identifier".into()))
                    }
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        name.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        name.push(other);
                        i += 1;
                    }
                }
            }
            out.push((Token::Name(name.clone()), name));
        } else if c == '*' {
            out.push((Token::Name("*".into()), "*".into()));
            i += 1;
        } else {
            out.push((Token::Char(c), c.to_string()));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(Token, String)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn error(&self) -> ParseError {
        match self.tokens.get(self.at) {
            Some((_, word)) => ParseError::Syntax(format!("syntax error at or near \"{word}\"")),
            None => ParseError::Syntax("syntax error at end of input".into()),
        }
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).map(|(t, _)| t.clone());
        self.at += 1;
        token
    }

    fn expect_char(&mut self, c: char) -> Result<(), ParseError> {
        if self.peek() == Some(&Token::Char(c)) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// `standby_name [, ...]`; a standby name is a word or a number.
    fn names(&mut self) -> Result<Vec<String>, ParseError> {
        let mut names = Vec::new();
        loop {
            match self.peek() {
                Some(Token::Name(_) | Token::Num(_)) => {
                    names.push(self.next().map(|t| t.text()).unwrap_or_default())
                }
                _ => return Err(self.error()),
            }
            if self.peek() == Some(&Token::Char(',')) {
                self.at += 1;
            } else {
                return Ok(names);
            }
        }
    }

    fn count(&mut self) -> Result<u32, ParseError> {
        match self.peek() {
            Some(Token::Num(n)) => {
                let n = n.parse().unwrap_or(u32::MAX);
                self.at += 1;
                Ok(n)
            }
            _ => Err(self.error()),
        }
    }

    fn list_in_parens(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect_char('(')?;
        let names = self.names()?;
        self.expect_char(')')?;
        Ok(names)
    }
}

/// Parses `synchronous_standby_names`; `None` when it is empty (asynchronous
/// replication).
pub fn parse(text: &str) -> Result<Option<SyncStandbyNames>, ParseError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let (method, num_sync, names) = match p.peek() {
        Some(Token::First) => {
            p.at += 1;
            let n = p.count()?;
            (Method::Priority, n, p.list_in_parens()?)
        }
        Some(Token::Any) => {
            p.at += 1;
            let n = p.count()?;
            (Method::Quorum, n, p.list_in_parens()?)
        }
        Some(Token::Num(_)) if p.tokens.get(1).map(|(t, _)| t) == Some(&Token::Char('(')) => {
            let n = p.count()?;
            (Method::Priority, n, p.list_in_parens()?)
        }
        _ => (Method::Priority, 1, p.names()?),
    };
    if p.at < p.tokens.len() {
        return Err(p.error());
    }
    if num_sync == 0 {
        return Err(ParseError::ZeroCount);
    }
    Ok(Some(SyncStandbyNames {
        method,
        num_sync,
        names,
    }))
}

impl SyncStandbyNames {
    /// `pg_stat_replication.sync_priority` of a standby: its place in the
    /// list (1 for every listed standby in the quorum form), 0 when unlisted.
    pub fn priority(&self, application_name: &str) -> u32 {
        let position = self
            .names
            .iter()
            .position(|n| n == "*" || n.eq_ignore_ascii_case(application_name));
        match (position, self.method) {
            (None, _) => 0,
            (Some(_), Method::Quorum) => 1,
            (Some(i), Method::Priority) => i as u32 + 1,
        }
    }
}

/// A walsender as synchronous replication sees it, in walsender order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standby {
    pub priority: u32,
    /// Streaming (or stopping) and has reported a flush position.
    pub candidate: bool,
    pub write: Lsn,
    pub flush: Lsn,
    pub apply: Lsn,
}

/// `pg_stat_replication.sync_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    Async,
    Potential,
    Sync,
    Quorum,
}

impl SyncState {
    pub fn name(self) -> &'static str {
        match self {
            SyncState::Async => "async",
            SyncState::Potential => "potential",
            SyncState::Sync => "sync",
            SyncState::Quorum => "quorum",
        }
    }
}

/// The indexes of the standbys a commit waits for: the `num_sync` candidates
/// of best priority (ties by walsender order), or every candidate in the
/// quorum form.
fn sync_set(config: &SyncStandbyNames, standbys: &[Standby]) -> Vec<usize> {
    let mut candidates: Vec<usize> = (0..standbys.len())
        .filter(|&i| standbys[i].candidate && standbys[i].priority > 0)
        .collect();
    if config.method == Method::Priority {
        candidates.sort_by_key(|&i| (standbys[i].priority, i));
        candidates.truncate(config.num_sync as usize);
    }
    candidates
}

/// Each standby's sync state, in the order given.
pub fn states(config: Option<&SyncStandbyNames>, standbys: &[Standby]) -> Vec<SyncState> {
    let Some(config) = config else {
        return vec![SyncState::Async; standbys.len()];
    };
    let sync = sync_set(config, standbys);
    (0..standbys.len())
        .map(
            |i| match (standbys[i].priority, sync.contains(&i), config.method) {
                (0, _, _) => SyncState::Async,
                (_, true, Method::Priority) => SyncState::Sync,
                (_, true, Method::Quorum) => SyncState::Quorum,
                (_, false, _) => SyncState::Potential,
            },
        )
        .collect()
}

/// How far the synchronous standbys together have written, flushed and
/// replayed; `None` while fewer than `num_sync` of them are streaming, so
/// that nothing is released.
pub fn confirmed(config: &SyncStandbyNames, standbys: &[Standby]) -> Option<[Lsn; 3]> {
    let sync = sync_set(config, standbys);
    let n = config.num_sync as usize;
    if sync.len() < n {
        return None;
    }
    let nth = |get: fn(&Standby) -> Lsn| -> Lsn {
        let mut values: Vec<Lsn> = sync.iter().map(|&i| get(&standbys[i])).collect();
        values.sort_unstable_by(|a, b| b.cmp(a));
        // Priority: the slowest of the n chosen. Quorum: the n-th fastest.
        values[n - 1]
    };
    Some([nth(|s| s.write), nth(|s| s.flush), nth(|s| s.apply)])
}

/// What a commit waits for, from `synchronous_commit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    Write,
    Flush,
    Apply,
}

impl WaitFor {
    /// `None` for `off` and `local`, which never wait for a standby.
    pub fn from_setting(synchronous_commit: &str) -> Option<WaitFor> {
        match synchronous_commit {
            "remote_write" => Some(WaitFor::Write),
            "on" => Some(WaitFor::Flush),
            "remote_apply" => Some(WaitFor::Apply),
            _ => None,
        }
    }

    /// Is a commit ending at `lsn` confirmed by these positions?
    pub fn is_confirmed(self, lsn: Lsn, confirmed: [Lsn; 3]) -> bool {
        let at = match self {
            WaitFor::Write => confirmed[0],
            WaitFor::Flush => confirmed[1],
            WaitFor::Apply => confirmed[2],
        };
        at >= lsn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> SyncStandbyNames {
        parse(text).expect("valid").expect("not empty")
    }

    #[test]
    fn forms_of_the_setting() {
        assert_eq!(parse("  ").unwrap(), None);
        let plain = names("standby1, standby2");
        assert_eq!((plain.method, plain.num_sync), (Method::Priority, 1));
        assert_eq!(plain.names, ["standby1", "standby2"]);
        let first = names("FIRST 2 (a, \"b c\", *)");
        assert_eq!((first.method, first.num_sync), (Method::Priority, 2));
        assert_eq!(first.names, ["a", "b c", "*"]);
        let any = names("any 1(a,b)");
        assert_eq!((any.method, any.num_sync), (Method::Quorum, 1));
        let bare = names("2 (a, b)");
        assert_eq!((bare.method, bare.num_sync), (Method::Priority, 2));
        assert_eq!(names("1").names, ["1"]);
        assert_eq!(names("\"ANY\" , b").names, ["ANY", "b"]);
    }

    /// The DETAIL lines PostgreSQL 15 gives for these values.
    #[test]
    fn errors_name_the_token() {
        let syntax = |text: &str| match parse(text) {
            Err(ParseError::Syntax(detail)) => detail,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(syntax("a b"), "syntax error at or near \"b\"");
        assert_eq!(syntax("1 (a"), "syntax error at end of input");
        assert_eq!(syntax("first"), "syntax error at end of input");
        assert_eq!(syntax("ANY ("), "syntax error at or near \"(\"");
        assert_eq!(syntax("a,,b"), "syntax error at or near \",\"");
        assert_eq!(syntax("1 ()"), "syntax error at or near \")\"");
        assert_eq!(syntax("a, "), "syntax error at end of input");
        assert_eq!(syntax("a-b"), "syntax error at or near \"-\"");
        assert_eq!(syntax("1a"), "syntax error at or near \"a\"");
        assert_eq!(syntax("ANY 1 (a) b"), "syntax error at or near \"b\"");
        assert_eq!(syntax("(a)"), "syntax error at or near \"(\"");
        assert_eq!(parse("ANY 0 (a)"), Err(ParseError::ZeroCount));
        assert_eq!(parse("0 (a)"), Err(ParseError::ZeroCount));
    }

    fn standby(priority: u32, candidate: bool, lsn: u64) -> Standby {
        Standby {
            priority,
            candidate,
            write: Lsn(lsn + 20),
            flush: Lsn(lsn + 10),
            apply: Lsn(lsn),
        }
    }

    /// Rows from PostgreSQL's own test of sync_state (007_sync_rep.pl).
    #[test]
    fn states_follow_postgres() {
        let state_names = |text: &str, apps: &[&str]| -> Vec<(u32, &'static str)> {
            let config = names(text);
            let standbys: Vec<Standby> = apps
                .iter()
                .map(|a| standby(config.priority(a), true, 100))
                .collect();
            states(Some(&config), &standbys)
                .into_iter()
                .zip(&standbys)
                .map(|(s, b)| (b.priority, s.name()))
                .collect()
        };
        let apps = ["standby1", "standby2", "standby3"];
        assert_eq!(
            state_names("standby1,standby2", &apps),
            [(1, "sync"), (2, "potential"), (0, "async")]
        );
        assert_eq!(
            state_names("*", &apps),
            [(1, "sync"), (1, "potential"), (1, "potential")]
        );
        let four = ["standby1", "standby2", "standby3", "standby4"];
        assert_eq!(
            state_names("2(standby1,*,standby2)", &four),
            [(1, "sync"), (2, "sync"), (2, "potential"), (2, "potential")]
        );
        assert_eq!(
            state_names("6(standby4,standby0,standby3,standby2)", &four),
            [(0, "async"), (4, "sync"), (3, "sync"), (1, "sync")]
        );
        assert_eq!(
            state_names("ANY 2(standby1, standby2)", &four),
            [(1, "quorum"), (1, "quorum"), (0, "async"), (0, "async")]
        );
        assert_eq!(states(None, &[standby(0, true, 1)]), [SyncState::Async]);
    }

    #[test]
    fn a_commit_is_confirmed_by_the_slowest_sync_or_the_nth_quorum() {
        let first = names("FIRST 2 (a, b, c)");
        let standbys = [
            standby(1, true, 100),
            standby(2, true, 50),
            standby(3, true, 900),
        ];
        assert_eq!(
            confirmed(&first, &standbys),
            Some([Lsn(70), Lsn(60), Lsn(50)])
        );
        let any = names("ANY 2 (a, b, c)");
        assert_eq!(
            confirmed(&any, &standbys),
            Some([Lsn(120), Lsn(110), Lsn(100)])
        );
        // Not enough streaming standbys: nothing is confirmed.
        let down = [standby(1, true, 100), standby(2, false, 50)];
        assert_eq!(confirmed(&first, &down), None);
        assert!(WaitFor::Apply.is_confirmed(Lsn(50), [Lsn(70), Lsn(60), Lsn(50)]));
        assert!(!WaitFor::Apply.is_confirmed(Lsn(51), [Lsn(70), Lsn(60), Lsn(50)]));
        assert!(WaitFor::Write.is_confirmed(Lsn(70), [Lsn(70), Lsn(60), Lsn(50)]));
        assert_eq!(WaitFor::from_setting("local"), None);
        assert_eq!(WaitFor::from_setting("on"), Some(WaitFor::Flush));
    }
}
