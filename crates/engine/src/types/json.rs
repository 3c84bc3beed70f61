//! PostgreSQL's `json` and `jsonb`.
//!
//! One parser serves both, written after PostgreSQL 15's `jsonapi.c` rather than taken from a
//! crate: its errors are part of the type (`22P02 invalid input syntax for type json` with a
//! DETAIL naming the token and a CONTEXT quoting the line up to it), numbers must keep their
//! digits (`1.50` stays `1.50`), and `json` must keep duplicate keys and the very text it was
//! given. The parse builds a tree whose nodes keep their source text ([`Node`]): `json` keeps
//! only the text (validated) and reparses it for its operators; `jsonb` is the normalised
//! [`Jsonb`] value (object keys sorted by length then bytes, the last of duplicate keys kept,
//! numbers as `numeric`), printed with PostgreSQL's spacing. Nesting is bounded: deeper than
//! [`MAX_DEPTH`] fails with PostgreSQL's `54001 stack depth limit exceeded`.

use std::cmp::Ordering;

use super::numeric::Numeric;
use crate::error::{code, DbError, Result};

/// The deepest nesting of arrays and objects a value may have. PostgreSQL's limit is its stack
/// (2 MB holds about 40,000 levels); pgplay's trees are walked recursively (output, comparison,
/// drop), so the bound is what every host's stack holds.
pub const MAX_DEPTH: usize = crate::stack::MAX_NESTING;

/// A `jsonb` value. Objects hold their keys sorted as PostgreSQL stores them (shorter keys
/// first, then bytewise) and unique.
#[derive(Clone, Debug, PartialEq)]
pub enum Jsonb {
    Null,
    Bool(bool),
    Number(Numeric),
    String(String),
    Array(Vec<Jsonb>),
    Object(Vec<(String, Jsonb)>),
}

/// A parsed JSON value with the text it was read from (for `json`, whose operators return
/// the source text of a member).
#[derive(Debug)]
pub struct Node<'a> {
    pub text: &'a str,
    pub kind: Kind<'a>,
}

#[derive(Debug)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Node<'a>>),
    /// The members in the order written, duplicates kept.
    Object(Vec<(String, Node<'a>)>),
}

/// Parses `text` as `json` input does: validation only (escapes are checked for form, not
/// decoded, so `"\u0000"` and lone surrogates pass, as in PostgreSQL).
pub fn validate(text: &str) -> Result<()> {
    parse_with(text, false).map(|_| ())
}

/// Parses `text` with its strings decoded (jsonb input, and json's operators).
pub fn parse(text: &str) -> Result<Node<'_>> {
    parse_with(text, true)
}

/// `jsonb_in`.
pub fn parse_jsonb(text: &str) -> Result<Jsonb> {
    parse(text).and_then(|node| to_jsonb(&node))
}

fn parse_with(text: &str, decode: bool) -> Result<Node<'_>> {
    let mut parser = Parser {
        lexer: Lexer {
            input: text,
            pos: 0,
            token_start: 0,
            line: 1,
            line_start: 0,
            token: Token::End,
            decode,
        },
        depth: 0,
    };
    parser.lexer.advance()?;
    let node = parser.value()?;
    if parser.lexer.token != Token::End {
        return Err(parser.lexer.parse_error(Context::End));
    }
    Ok(node)
}

/// A parsed node as a jsonb value.
pub fn to_jsonb(node: &Node<'_>) -> Result<Jsonb> {
    crate::stack::check()?;
    Ok(match &node.kind {
        Kind::Null => Jsonb::Null,
        Kind::Bool(b) => Jsonb::Bool(*b),
        Kind::Number => Jsonb::Number(Numeric::parse(node.text)?),
        Kind::String(s) => Jsonb::String(s.clone()),
        Kind::Array(items) => Jsonb::Array(items.iter().map(to_jsonb).collect::<Result<_>>()?),
        Kind::Object(members) => {
            let mut pairs = Vec::with_capacity(members.len());
            for (key, value) in members {
                pairs.push((key.clone(), to_jsonb(value)?));
            }
            Jsonb::Object(normalise(pairs))
        }
    })
}

/// Object members sorted as jsonb stores them, the last of equal keys kept.
pub fn normalise(pairs: Vec<(String, Jsonb)>) -> Vec<(String, Jsonb)> {
    let mut indexed: Vec<(usize, (String, Jsonb))> = pairs.into_iter().enumerate().collect();
    indexed.sort_by(|(ia, (a, _)), (ib, (b, _))| key_order(a, b).then(ib.cmp(ia)));
    let mut out: Vec<(String, Jsonb)> = Vec::with_capacity(indexed.len());
    for (_, (key, value)) in indexed {
        if out.last().is_some_and(|(k, _)| *k == key) {
            continue;
        }
        out.push((key, value));
    }
    out
}

/// jsonb's key order: shorter first, then bytewise.
pub fn key_order(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    ObjectStart,
    ObjectEnd,
    ArrayStart,
    ArrayEnd,
    Comma,
    Colon,
    String(String),
    Number,
    True,
    False,
    Null,
    End,
}

/// What the parser expected when it met the wrong token (`JsonParseContext`).
#[derive(Clone, Copy)]
enum Context {
    Value,
    String,
    ArrayNext,
    ObjectStart,
    ObjectLabel,
    ObjectNext,
    End,
}

struct Lexer<'a> {
    input: &'a str,
    /// `token_terminator`: where the current token ends.
    pos: usize,
    token_start: usize,
    line: usize,
    line_start: usize,
    token: Token,
    decode: bool,
}

fn alphanumeric(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Lexer<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    /// The end of the character starting at `at` (PostgreSQL's `pg_mblen`).
    fn char_end(&self, at: usize) -> usize {
        self.input[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8())
    }

    /// `json_lex`: the next token into `self.token`.
    fn advance(&mut self) -> Result<()> {
        let bytes = self.bytes();
        let mut s = self.pos;
        while s < bytes.len() && matches!(bytes[s], b' ' | b'\t' | b'\n' | b'\r') {
            if bytes[s] == b'\n' {
                self.line += 1;
                self.line_start = s + 1;
            }
            s += 1;
        }
        self.token_start = s;
        if s >= bytes.len() {
            self.pos = s;
            self.token = Token::End;
            return Ok(());
        }
        let single = match bytes[s] {
            b'{' => Some(Token::ObjectStart),
            b'}' => Some(Token::ObjectEnd),
            b'[' => Some(Token::ArrayStart),
            b']' => Some(Token::ArrayEnd),
            b',' => Some(Token::Comma),
            b':' => Some(Token::Colon),
            _ => None,
        };
        if let Some(token) = single {
            self.pos = s + 1;
            self.token = token;
            return Ok(());
        }
        match bytes[s] {
            b'"' => {
                let text = self.string(s)?;
                self.token = Token::String(text);
            }
            b'-' => self.number(s + 1)?,
            b'0'..=b'9' => self.number(s)?,
            _ => {
                let mut p = s;
                while p < bytes.len() && alphanumeric(bytes[p]) {
                    p += 1;
                }
                if p == s {
                    self.pos = self.char_end(s);
                    return Err(self.error(Detail::InvalidToken));
                }
                self.pos = p;
                self.token = match &self.input[s..p] {
                    "true" => Token::True,
                    "false" => Token::False,
                    "null" => Token::Null,
                    _ => return Err(self.error(Detail::InvalidToken)),
                };
            }
        }
        Ok(())
    }

    /// `json_lex_number`, from just after an optional minus sign.
    fn number(&mut self, mut s: usize) -> Result<()> {
        let bytes = self.bytes();
        let digit = |at: usize| at < bytes.len() && bytes[at].is_ascii_digit();
        let mut error = false;
        if s < bytes.len() && bytes[s] == b'0' {
            s += 1;
        } else if s < bytes.len() && (b'1'..=b'9').contains(&bytes[s]) {
            while digit(s) {
                s += 1;
            }
        } else {
            error = true;
        }
        if s < bytes.len() && bytes[s] == b'.' {
            s += 1;
            if !digit(s) {
                error = true;
            }
            while digit(s) {
                s += 1;
            }
        }
        if s < bytes.len() && matches!(bytes[s], b'e' | b'E') {
            s += 1;
            if s < bytes.len() && matches!(bytes[s], b'+' | b'-') {
                s += 1;
            }
            if !digit(s) {
                error = true;
            }
            while digit(s) {
                s += 1;
            }
        }
        while s < bytes.len() && alphanumeric(bytes[s]) {
            error = true;
            s += 1;
        }
        self.pos = s;
        if error {
            return Err(self.error(Detail::InvalidToken));
        }
        self.token = Token::Number;
        Ok(())
    }

    /// `json_lex_string`: the string starting at `start` (its opening quote), decoded.
    fn string(&mut self, start: usize) -> Result<String> {
        let bytes = self.bytes();
        let mut out = String::new();
        let mut high: Option<u32> = None;
        let mut s = start + 1;
        let mut run = s;
        loop {
            if s >= bytes.len() {
                self.pos = s;
                return Err(self.error(Detail::InvalidToken));
            }
            let b = bytes[s];
            if b == b'"' {
                break;
            }
            if b < 0x20 {
                self.pos = s;
                return Err(self.error(Detail::EscapingRequired(b)));
            }
            if b != b'\\' {
                if high.is_some() && self.decode {
                    self.pos = s + 1;
                    return Err(self.error(Detail::LowSurrogate));
                }
                s += 1;
                continue;
            }
            out.push_str(&self.input[run..s]);
            s += 1;
            if s >= bytes.len() {
                self.pos = s;
                return Err(self.error(Detail::InvalidToken));
            }
            if bytes[s] == b'u' {
                let mut ch = 0u32;
                for _ in 0..4 {
                    s += 1;
                    if s >= bytes.len() {
                        self.pos = s;
                        return Err(self.error(Detail::InvalidToken));
                    }
                    match (bytes[s] as char).to_digit(16) {
                        Some(v) => ch = ch * 16 + v,
                        None => {
                            self.pos = self.char_end(s);
                            return Err(self.error(Detail::UnicodeEscapeFormat));
                        }
                    }
                }
                s += 1;
                self.unicode(ch, &mut high, &mut out, s)?;
            } else {
                if high.is_some() && self.decode {
                    self.pos = s + 1;
                    return Err(self.error(Detail::LowSurrogate));
                }
                let decoded = match bytes[s] {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => {
                        self.token_start = s;
                        self.pos = self.char_end(s);
                        return Err(self.error(Detail::EscapingInvalid));
                    }
                };
                out.push(decoded);
                s += 1;
            }
            run = s;
        }
        out.push_str(&self.input[run..s]);
        if high.is_some() && self.decode {
            self.pos = s + 1;
            return Err(self.error(Detail::LowSurrogate));
        }
        self.pos = s + 1;
        Ok(out)
    }

    /// One `\uXXXX` escape ending at `end`, surrogate pairs joined.
    fn unicode(
        &mut self,
        ch: u32,
        high: &mut Option<u32>,
        out: &mut String,
        end: usize,
    ) -> Result<()> {
        if !self.decode {
            return Ok(());
        }
        let fail = |lexer: &mut Lexer<'_>, detail: Detail| {
            lexer.pos = end;
            Err(lexer.error(detail))
        };
        let code = if (0xD800..0xDC00).contains(&ch) {
            if high.is_some() {
                return fail(self, Detail::HighSurrogate);
            }
            *high = Some(ch);
            return Ok(());
        } else if (0xDC00..0xE000).contains(&ch) {
            let Some(first) = high.take() else {
                return fail(self, Detail::LowSurrogate);
            };
            0x10000 + ((first - 0xD800) << 10) + (ch - 0xDC00)
        } else {
            if high.is_some() {
                return fail(self, Detail::LowSurrogate);
            }
            ch
        };
        if code == 0 {
            return fail(self, Detail::CodePointZero);
        }
        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
        Ok(())
    }

    /// `report_parse_error`: the wrong token met in `context`.
    fn parse_error(&self, context: Context) -> DbError {
        if self.token == Token::End {
            return self.error(Detail::ExpectedMore);
        }
        self.error(Detail::Expected(context))
    }

    fn error(&self, detail: Detail) -> DbError {
        let token = &self.input[self.token_start.min(self.pos)..self.pos];
        let text = match detail {
            Detail::InvalidToken => format!("Token \"{token}\" is invalid."),
            Detail::EscapingRequired(b) => {
                format!("Character with value 0x{b:02x} must be escaped.")
            }
            Detail::EscapingInvalid => format!("Escape sequence \"\\{token}\" is invalid."),
            Detail::UnicodeEscapeFormat => {
                "\"\\u\" must be followed by four hexadecimal digits.".into()
            }
            Detail::HighSurrogate => {
                "Unicode high surrogate must not follow a high surrogate.".into()
            }
            Detail::LowSurrogate => "Unicode low surrogate must follow a high surrogate.".into(),
            Detail::CodePointZero => "\\u0000 cannot be converted to text.".into(),
            Detail::ExpectedMore => "The input string ended unexpectedly.".into(),
            Detail::Expected(context) => match context {
                Context::Value => format!("Expected JSON value, but found \"{token}\"."),
                Context::String => format!("Expected string, but found \"{token}\"."),
                Context::ArrayNext => format!("Expected \",\" or \"]\", but found \"{token}\"."),
                Context::ObjectStart => {
                    format!("Expected string or \"}}\", but found \"{token}\".")
                }
                Context::ObjectLabel => format!("Expected \":\", but found \"{token}\"."),
                Context::ObjectNext => format!("Expected \",\" or \"}}\", but found \"{token}\"."),
                Context::End => format!("Expected end of input, but found \"{token}\"."),
            },
        };
        let error = if matches!(detail, Detail::CodePointZero) {
            DbError::new(
                code::UNTRANSLATABLE_CHARACTER,
                "unsupported Unicode escape sequence",
            )
        } else {
            DbError::new(
                code::INVALID_TEXT_REPRESENTATION,
                "invalid input syntax for type json",
            )
        };
        error.with_detail(text).with_context(self.context())
    }

    /// `report_json_context`: `JSON data, line N: ` and the line up to the token's end, cut to
    /// its last 50 bytes or so with `...` around.
    fn context(&self) -> String {
        let input = self.input;
        let end = self.pos.min(input.len());
        let mut start = self.line_start.min(end);
        while end - start >= 50 {
            start = self.char_end(start);
        }
        if start - self.line_start <= 3 {
            start = self.line_start;
        }
        let prefix = if start > self.line_start { "..." } else { "" };
        let more = self.token != Token::End
            && end < input.len()
            && !matches!(input.as_bytes()[end], b'\n' | b'\r');
        let suffix = if more { "..." } else { "" };
        format!(
            "JSON data, line {}: {prefix}{}{suffix}",
            self.line,
            &input[start..end]
        )
    }
}

#[derive(Clone, Copy)]
enum Detail {
    InvalidToken,
    EscapingRequired(u8),
    EscapingInvalid,
    UnicodeEscapeFormat,
    HighSurrogate,
    LowSurrogate,
    CodePointZero,
    ExpectedMore,
    Expected(Context),
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn value(&mut self) -> Result<Node<'a>> {
        let start = self.lexer.token_start;
        let kind = match self.lexer.token.clone() {
            Token::ObjectStart => return self.object(),
            Token::ArrayStart => return self.array(),
            Token::String(s) => Kind::String(s),
            Token::Number => Kind::Number,
            Token::True => Kind::Bool(true),
            Token::False => Kind::Bool(false),
            Token::Null => Kind::Null,
            _ => return Err(self.lexer.parse_error(Context::Value)),
        };
        let end = self.lexer.pos;
        self.lexer.advance()?;
        Ok(Node {
            text: &self.lexer.input[start..end],
            kind,
        })
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        crate::stack::check()?;
        if self.depth > MAX_DEPTH {
            return Err(crate::stack::depth_exceeded());
        }
        Ok(())
    }

    fn expect(&mut self, token: Token, context: Context) -> Result<()> {
        if self.lexer.token != token {
            return Err(self.lexer.parse_error(context));
        }
        self.lexer.advance()
    }

    fn object(&mut self) -> Result<Node<'a>> {
        self.enter()?;
        let start = self.lexer.token_start;
        self.lexer.advance()?;
        let mut members = Vec::new();
        match self.lexer.token {
            Token::String(_) => loop {
                let Token::String(key) = self.lexer.token.clone() else {
                    return Err(self.lexer.parse_error(Context::String));
                };
                self.lexer.advance()?;
                self.expect(Token::Colon, Context::ObjectLabel)?;
                members.push((key, self.value()?));
                match self.lexer.token {
                    Token::Comma => self.lexer.advance()?,
                    Token::ObjectEnd => break,
                    _ => return Err(self.lexer.parse_error(Context::ObjectNext)),
                }
            },
            Token::ObjectEnd => {}
            _ => return Err(self.lexer.parse_error(Context::ObjectStart)),
        }
        let end = self.lexer.pos;
        self.lexer.advance()?;
        self.depth -= 1;
        Ok(Node {
            text: &self.lexer.input[start..end],
            kind: Kind::Object(members),
        })
    }

    fn array(&mut self) -> Result<Node<'a>> {
        self.enter()?;
        let start = self.lexer.token_start;
        self.lexer.advance()?;
        let mut items = Vec::new();
        if self.lexer.token != Token::ArrayEnd {
            items.push(self.value()?);
            while self.lexer.token == Token::Comma {
                self.lexer.advance()?;
                items.push(self.value()?);
            }
        }
        if self.lexer.token != Token::ArrayEnd {
            return Err(self.lexer.parse_error(Context::ArrayNext));
        }
        let end = self.lexer.pos;
        self.lexer.advance()?;
        self.depth -= 1;
        Ok(Node {
            text: &self.lexer.input[start..end],
            kind: Kind::Array(items),
        })
    }
}

/// `escape_json`: a string as a JSON string literal.
pub fn escape(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `jsonb_out`: `{"a": 1, "b": [1, 2]}`.
pub fn format(value: &Jsonb) -> String {
    let mut out = String::new();
    write(value, &mut out, None, 0);
    out
}

/// `jsonb_pretty`: four spaces a level.
pub fn pretty(value: &Jsonb) -> String {
    let mut out = String::new();
    write(value, &mut out, Some(4), 0);
    out
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(width) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(width * level));
    }
}

fn write(value: &Jsonb, out: &mut String, indent: Option<usize>, level: usize) {
    match value {
        Jsonb::Null => out.push_str("null"),
        Jsonb::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Jsonb::Number(n) => out.push_str(&n.to_string()),
        Jsonb::String(s) => escape(s, out),
        Jsonb::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if indent.is_some() { "," } else { ", " });
                }
                newline(out, indent, level + 1);
                write(item, out, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
        Jsonb::Object(pairs) => {
            out.push('{');
            for (i, (key, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(if indent.is_some() { "," } else { ", " });
                }
                newline(out, indent, level + 1);
                escape(key, out);
                out.push_str(": ");
                write(item, out, indent, level + 1);
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
}

/// The rank of a value's type in jsonb's order: null < string < number < boolean < array <
/// object.
fn rank(value: &Jsonb) -> u8 {
    match value {
        Jsonb::Null => 0,
        Jsonb::String(_) => 1,
        Jsonb::Number(_) => 2,
        Jsonb::Bool(_) => 3,
        Jsonb::Array(_) => 4,
        Jsonb::Object(_) => 5,
    }
}

/// `compareJsonbContainers` on two whole values: a scalar at the top level is PostgreSQL's
/// one-element "raw scalar" array, so it sorts after `[]` and before every other array.
pub fn cmp(a: &Jsonb, b: &Jsonb) -> Ordering {
    let scalar = |v: &Jsonb| !matches!(v, Jsonb::Array(_) | Jsonb::Object(_));
    match (a, b) {
        (Jsonb::Array(items), other) if scalar(other) => {
            if items.is_empty() {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (other, Jsonb::Array(items)) if scalar(other) => {
            if items.is_empty() {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        _ => cmp_inner(a, b),
    }
}

fn cmp_inner(a: &Jsonb, b: &Jsonb) -> Ordering {
    match (a, b) {
        (Jsonb::Null, Jsonb::Null) => Ordering::Equal,
        (Jsonb::Bool(x), Jsonb::Bool(y)) => x.cmp(y),
        (Jsonb::Number(x), Jsonb::Number(y)) => x.cmp_total(y),
        (Jsonb::String(x), Jsonb::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Jsonb::Array(x), Jsonb::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|(p, q)| cmp_inner(p, q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Jsonb::Object(x), Jsonb::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|((k, p), (l, q))| {
                    k.as_bytes().cmp(l.as_bytes()).then_with(|| cmp_inner(p, q))
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// `@>`: whether `a` contains `b` (`JsonbDeepContains`). At the top level a scalar contains
/// only an equal scalar; an array contains a scalar that is one of its elements.
pub fn contains(a: &Jsonb, b: &Jsonb) -> bool {
    match (a, b) {
        (Jsonb::Object(outer), Jsonb::Object(inner)) => {
            inner.iter().all(|(key, value)| match lookup(outer, key) {
                Some(found) => match (found, value) {
                    (Jsonb::Array(_) | Jsonb::Object(_), _) => {
                        std::mem::discriminant(found) == std::mem::discriminant(value)
                            && contains(found, value)
                    }
                    _ => cmp_inner(found, value).is_eq(),
                },
                None => false,
            })
        }
        (Jsonb::Array(outer), Jsonb::Array(inner)) => inner.iter().all(|item| match item {
            Jsonb::Array(_) | Jsonb::Object(_) => outer.iter().any(|candidate| {
                std::mem::discriminant(candidate) == std::mem::discriminant(item)
                    && contains(candidate, item)
            }),
            scalar => outer.iter().any(|c| cmp_inner(c, scalar).is_eq()),
        }),
        (Jsonb::Array(outer), scalar) if !matches!(scalar, Jsonb::Object(_)) => {
            outer.iter().any(|c| cmp_inner(c, scalar).is_eq())
        }
        (Jsonb::Array(_) | Jsonb::Object(_), _) | (_, Jsonb::Array(_) | Jsonb::Object(_)) => false,
        (x, y) => cmp_inner(x, y).is_eq(),
    }
}

/// An object's member by key.
pub fn lookup<'v>(pairs: &'v [(String, Jsonb)], key: &str) -> Option<&'v Jsonb> {
    pairs
        .binary_search_by(|(k, _)| key_order(k, key))
        .ok()
        .map(|i| &pairs[i].1)
}

/// `jsonb_typeof` / `json_typeof`.
pub fn type_name(value: &Jsonb) -> &'static str {
    match value {
        Jsonb::Null => "null",
        Jsonb::Bool(_) => "boolean",
        Jsonb::Number(_) => "number",
        Jsonb::String(_) => "string",
        Jsonb::Array(_) => "array",
        Jsonb::Object(_) => "object",
    }
}

/// The text `->>` gives: a string unquoted, null as SQL NULL, anything else as jsonb prints it.
pub fn as_text(value: &Jsonb) -> Option<String> {
    match value {
        Jsonb::Null => None,
        Jsonb::String(s) => Some(s.clone()),
        other => Some(format(other)),
    }
}

/// `cannot cast jsonb string to type numeric` (22023).
pub fn scalar_cast_error(value: &Jsonb, to: &super::DataType) -> DbError {
    let kind = match value {
        Jsonb::Null => "null",
        Jsonb::Bool(_) => "boolean",
        Jsonb::Number(_) => "numeric",
        Jsonb::String(_) => "string",
        Jsonb::Array(_) => "array",
        Jsonb::Object(_) => "object",
    };
    DbError::new(
        code::INVALID_PARAMETER_VALUE,
        format!("cannot cast jsonb {kind} to type {}", to.base_name()),
    )
}

/// Bytes a value holds, for `work_mem` accounting.
pub fn size(value: &Jsonb) -> u64 {
    let own = std::mem::size_of::<Jsonb>() as u64;
    own + match value {
        Jsonb::String(s) => s.len() as u64,
        Jsonb::Number(_) => 16,
        Jsonb::Array(items) => items.iter().map(size).sum(),
        Jsonb::Object(pairs) => pairs.iter().map(|(k, v)| k.len() as u64 + size(v)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        format(&parse_jsonb(text).unwrap())
    }

    #[test]
    fn jsonb_normalises() {
        assert_eq!(
            round_trip(r#"{"b": [1,  2]  , "aa":1, "a":{"x":1.50}}"#),
            r#"{"a": {"x": 1.50}, "b": [1, 2], "aa": 1}"#
        );
        assert_eq!(round_trip(r#"{"a":1,"a":2}"#), r#"{"a": 2}"#);
        assert_eq!(round_trip(r#""\u00e9\n\"/""#), "\"é\\n\\\"/\"");
        assert_eq!(round_trip("1e2"), "100");
    }

    #[test]
    fn errors_name_the_token_and_quote_the_line() {
        let error = validate(r#"{"a":}"#).unwrap_err();
        assert_eq!(error.message, "invalid input syntax for type json");
        assert_eq!(
            error.detail.as_deref(),
            Some("Expected JSON value, but found \"}\".")
        );
        assert_eq!(
            error.context.as_deref(),
            Some("JSON data, line 1: {\"a\":}")
        );
        let error = validate(r#"{"a" 1}"#).unwrap_err();
        assert_eq!(
            error.context.as_deref(),
            Some("JSON data, line 1: {\"a\" 1...")
        );
        assert!(validate(r#""\u0000""#).is_ok());
        assert_eq!(parse_jsonb(r#""\u0000""#).unwrap_err().code, "22P05");
    }

    #[test]
    fn deep_nesting_is_refused() {
        std::thread::Builder::new()
            .stack_size(crate::stack::MAX_STACK_DEPTH_BYTES * 4)
            .spawn(|| {
                let _base = crate::stack::StackBase::enter();
                let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
                assert_eq!(validate(&deep).unwrap_err().code, "54001");
                let deep = "[".repeat(100_000);
                assert_eq!(validate(&deep).unwrap_err().code, "54001");
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn ordering_follows_postgres() {
        let v = |t: &str| parse_jsonb(t).unwrap();
        assert!(cmp(&v("[]"), &v("null")).is_lt());
        assert!(cmp(&v("null"), &v("\"a\"")).is_lt());
        assert!(cmp(&v("1"), &v("true")).is_lt());
        assert!(cmp(&v("true"), &v("[1]")).is_lt());
        assert!(cmp(&v("[1]"), &v("{}")).is_lt());
        assert!(cmp(&v("1.0"), &v("1.00")).is_eq());
        assert!(contains(&v(r#"{"a":[1,2],"b":1}"#), &v(r#"{"a":[2]}"#)));
        assert!(contains(&v("[1,2]"), &v("1")));
        assert!(!contains(&v("1"), &v("[1]")));
    }
}
