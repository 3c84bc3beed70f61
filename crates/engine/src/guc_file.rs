//! The configuration file format (`postgresql.conf`, `postgresql.auto.conf`)
//! as PostgreSQL 15's lexer (`guc-file.l`) reads it: `name [=] value` lines,
//! `#` comments, quoted strings with their escapes, unquoted words and
//! numbers with units. A line PostgreSQL cannot read is a syntax error at the
//! token its parser stopped at, and the rest of the file is still read, so
//! the server can report every bad line as PostgreSQL does. What the values
//! mean is `guc`'s business.

/// One `name = value` line of a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfLine {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// A parsed configuration file: its settings in order, and its syntax errors
/// (line, and the token the parser stopped at, None at the end of a line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfFile {
    pub lines: Vec<ConfLine>,
    pub errors: Vec<(usize, Option<String>)>,
}

impl ConfFile {
    /// PostgreSQL's words for syntax error number `index`, in file `path`.
    pub fn error_message(&self, index: usize, path: &str) -> String {
        match &self.errors[index] {
            (line, None) => {
                format!("syntax error in file \"{path}\" line {line}, near end of line")
            }
            (line, Some(token)) => {
                format!("syntax error in file \"{path}\" line {line}, near token \"{token}\"")
            }
        }
    }

    /// The first syntax error, for an editor that refuses unparsable files.
    pub fn check(&self, path: &str) -> std::result::Result<(), String> {
        match self.errors.is_empty() {
            true => Ok(()),
            false => Err(self.error_message(0, path)),
        }
    }
}

/// A token of PostgreSQL's configuration file lexer (`guc-file.l`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Id,
    QualifiedId,
    String,
    UnquotedString,
    Integer,
    Real,
    Equals,
    /// Any other character.
    Error,
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_letter_or_digit(b: u8) -> bool {
    is_letter(b) || b.is_ascii_digit()
}

fn count(bytes: &[u8], from: usize, accept: impl Fn(u8) -> bool) -> usize {
    bytes
        .get(from..)
        .unwrap_or(&[])
        .iter()
        .take_while(|b| accept(**b))
        .count()
}

/// Length of `'...'` at the start (quotes doubled or backslash-escaped).
fn quoted_length(bytes: &[u8]) -> usize {
    let mut at = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if at + 1 < bytes.len() => at += 2,
            b'\'' if bytes.get(at + 1) == Some(&b'\'') => at += 2,
            b'\'' => return at + 1,
            _ => at += 1,
        }
    }
    0
}

/// The longest token at the start of `bytes`, the earlier rule on a tie, as flex picks.
fn next_token(bytes: &[u8]) -> (Token, usize) {
    let first = bytes[0];
    let id = if is_letter(first) {
        1 + count(bytes, 1, is_letter_or_digit)
    } else {
        0
    };
    let qualified = if id > 0
        && bytes.get(id) == Some(&b'.')
        && bytes.get(id + 1).is_some_and(|b| is_letter(*b))
    {
        id + 2 + count(bytes, id + 2, is_letter_or_digit)
    } else {
        0
    };
    let unquoted = if id > 0 {
        1 + count(bytes, 1, |b| is_letter_or_digit(b) || b"-._:/".contains(&b))
    } else {
        0
    };
    let string = if first == b'\'' {
        quoted_length(bytes)
    } else {
        0
    };
    let sign = usize::from(first == b'-' || first == b'+');
    let decimal = count(bytes, sign, |b| b.is_ascii_digit());
    let hex = if bytes.get(sign) == Some(&b'0') && matches!(bytes.get(sign + 1), Some(b'x')) {
        count(bytes, sign + 2, |b| b.is_ascii_hexdigit())
    } else {
        0
    };
    let integer = [decimal, if hex > 0 { hex + 2 } else { 0 }]
        .into_iter()
        .filter(|n| *n > 0)
        .map(|n| sign + n + count(bytes, sign + n, |b| b.is_ascii_alphabetic()))
        .max()
        .unwrap_or(0);
    let real = if bytes.get(sign + decimal) == Some(&b'.') {
        let mut end = sign + decimal + 1;
        end += count(bytes, end, |b| b.is_ascii_digit());
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let exponent_sign = usize::from(matches!(bytes.get(end + 1), Some(b'-' | b'+')));
            let digits = count(bytes, end + 1 + exponent_sign, |b| b.is_ascii_digit());
            if digits > 0 {
                end += 1 + exponent_sign + digits;
            }
        }
        end
    } else {
        0
    };
    let equals = usize::from(first == b'=');
    let candidates = [
        (Token::Id, id),
        (Token::QualifiedId, qualified),
        (Token::String, string),
        (Token::UnquotedString, unquoted),
        (Token::Integer, integer),
        (Token::Real, real),
        (Token::Equals, equals),
    ];
    let mut best = (Token::Error, 1);
    for (token, length) in candidates {
        if length > 0 && (best.0 == Token::Error || length > best.1) {
            best = (token, length);
        }
    }
    best
}

/// The tokens of one line, comments and blanks left out.
fn tokens(line: &str) -> Vec<(Token, &str)> {
    let bytes = line.as_bytes();
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\r' => at += 1,
            b'#' => break,
            _ => {
                let (token, length) = next_token(&bytes[at..]);
                out.push((token, &line[at..at + length]));
                at += length;
            }
        }
    }
    out
}

/// A quoted value without its quotes and escapes (`''`, `\n`, octal `\123`).
fn dequote(quoted: &str) -> String {
    let inner: Vec<char> = quoted[1..quoted.len() - 1].chars().collect();
    let mut out = String::new();
    let mut at = 0;
    while at < inner.len() {
        let c = inner[at];
        at += 1;
        if c == '\'' && inner.get(at) == Some(&'\'') {
            at += 1;
            out.push('\'');
        } else if c == '\\' && at < inner.len() {
            let escaped = inner[at];
            at += 1;
            match escaped {
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '0'..='7' => {
                    let mut code = escaped.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match inner.get(at).and_then(|c| c.to_digit(8)) {
                            Some(digit) => {
                                code = code * 8 + digit;
                                at += 1;
                            }
                            None => break,
                        }
                    }
                    out.extend(char::from_u32(code));
                }
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses configuration file text as PostgreSQL does: `name [=] value`
/// lines, `#` comments, quoted strings; a bad line is a syntax error at its
/// token, and parsing goes on with the next line.
pub fn parse_conf(text: &str) -> ConfFile {
    let mut file = ConfFile::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let tokens = tokens(line);
        let Some(&(first, name)) = tokens.first() else {
            continue;
        };
        let mut rest = tokens[1..].iter().copied().peekable();
        let error =
            |token: Option<(Token, &str)>| (number, token.map(|(_, text)| text.to_string()));
        if first != Token::Id && first != Token::QualifiedId {
            file.errors.push(error(Some((first, name))));
            continue;
        }
        if rest
            .peek()
            .is_some_and(|(token, _)| *token == Token::Equals)
        {
            rest.next();
        }
        let value = match rest.next() {
            Some((Token::String, quoted)) => dequote(quoted),
            Some((Token::Id | Token::Integer | Token::Real | Token::UnquotedString, text)) => {
                text.to_string()
            }
            other => {
                file.errors.push(error(other));
                continue;
            }
        };
        if let Some(extra) = rest.next() {
            file.errors.push(error(Some(extra)));
            continue;
        }
        file.lines.push(ConfLine {
            name: name.to_string(),
            value,
            line: number,
        });
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conf_files() {
        let parsed = parse_conf("wal_level = hot_standby # comment\nmax_wal_senders 5\narchive_command = 'cp %p /a/%f'\nx.y = 'it''s'\n");
        assert!(parsed.errors.is_empty(), "{parsed:?}");
        let value = |name: &str| {
            parsed
                .lines
                .iter()
                .find(|l| l.name == name)
                .map(|l| (l.value.as_str(), l.line))
        };
        assert_eq!(value("wal_level"), Some(("hot_standby", 1)));
        assert_eq!(value("max_wal_senders"), Some(("5", 2)));
        assert_eq!(value("archive_command"), Some(("cp %p /a/%f", 3)));
        assert_eq!(value("x.y"), Some(("it's", 4)));
    }

    /// Each case as PostgreSQL 15 answered it (psql, \set VERBOSITY verbose).
    #[test]
    fn syntax_errors_name_the_token_postgres_stopped_at() {
        let errors = |text: &str| parse_conf(text).errors;
        assert_eq!(
            errors("archive_command = 'cp %p /x\n"),
            vec![(1, Some("'".to_string()))]
        );
        assert_eq!(
            errors("\nwork_mem = 1.5MB\n"),
            vec![(2, Some("MB".to_string()))]
        );
        assert_eq!(errors("port =\n"), vec![(1, None)]);
        assert_eq!(errors("= 5\n"), vec![(1, Some("=".to_string()))]);
        assert_eq!(errors("port = 5 6\n"), vec![(1, Some("6".to_string()))]);
        assert!(errors(
            "checkpoint_timeout = 5min\nwork_mem = -1\nx = 0x1F\ny = .5e3\nz = a/b:c-d.e\n"
        )
        .is_empty());
        assert_eq!(errors("z = /tmp/a\n"), vec![(1, Some("/".to_string()))]);
        assert_eq!(errors("work_mem = 1e5\n"), vec![(1, Some("5".to_string()))]);
        assert_eq!(errors("z = a/b c\n"), vec![(1, Some("c".to_string()))]);
    }
}
