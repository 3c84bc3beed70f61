//! Splitting REPL input into statements, and psql's prompt.

/// What an unfinished buffer is waiting for; decides psql's prompt
/// character (`%R`): `=` ready, `-` continuation, `*` inside a comment,
/// `'` / `"` / `$` inside a quote, `(` inside parentheses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PromptStatus {
    #[default]
    Ready,
    Continue,
    Comment,
    SingleQuote,
    DoubleQuote,
    DollarQuote,
    Paren,
}

impl PromptStatus {
    fn marker(self) -> char {
        match self {
            PromptStatus::Ready => '=',
            PromptStatus::Continue => '-',
            PromptStatus::Comment => '*',
            PromptStatus::SingleQuote => '\'',
            PromptStatus::DoubleQuote => '"',
            PromptStatus::DollarQuote => '$',
            PromptStatus::Paren => '(',
        }
    }
}

/// Transaction state shown by psql's `%x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TxStatus {
    #[default]
    Idle,
    InTransaction,
    Failed,
}

/// psql's default prompt (`%/%R%x%# `), e.g. `postgres=# `, `postgres-# `,
/// `postgres=*# ` (in a transaction), `postgres=!# ` (failed transaction),
/// `postgres'# `. Non-superusers get `>` instead of `#`.
pub fn prompt(database: &str, status: PromptStatus, tx: TxStatus, superuser: bool) -> String {
    let tx = match tx {
        TxStatus::Idle => "",
        TxStatus::InTransaction => "*",
        TxStatus::Failed => "!",
    };
    let user = if superuser { '#' } else { '>' };
    format!("{database}{}{tx}{user} ", status.marker())
}

/// The outcome of [`split_statements`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Complete statements, each ending with its `;`, with leading
    /// whitespace and `--` comments dropped as psql does.
    pub statements: Vec<String>,
    /// The unfinished remainder (empty if nothing is pending).
    pub rest: String,
    /// The prompt status for `rest`.
    pub status: PromptStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Normal,
    SingleQuote { escapes: bool },
    DoubleQuote,
    BlockComment { depth: usize },
    LineComment,
    Dollar { tag: String },
}

/// Lexer over one statement; `pos` indexes `chars`.
struct Scanner<'a> {
    chars: &'a [char],
    pos: usize,
    state: State,
    parens: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// Advances over one lexical step; returns true at a terminating `;`.
    fn step(&mut self) -> bool {
        let c = self.chars[self.pos];
        self.pos += 1;
        match self.state.clone() {
            State::Normal => return self.normal(c),
            State::SingleQuote { escapes } => self.single_quote(c, escapes),
            State::DoubleQuote => {
                if c == '"' && self.at(self.pos) == Some('"') {
                    self.pos += 1;
                } else if c == '"' {
                    self.state = State::Normal;
                }
            }
            State::BlockComment { depth } => self.block_comment(c, depth),
            State::LineComment => {
                if c == '\n' {
                    self.state = State::Normal;
                }
            }
            State::Dollar { tag } => {
                let end: Vec<char> = tag.chars().collect();
                if self.chars[self.pos - 1..].starts_with(&end) {
                    self.pos += end.len() - 1;
                    self.state = State::Normal;
                }
            }
        }
        false
    }

    fn normal(&mut self, c: char) -> bool {
        let next = self.at(self.pos);
        match c {
            ';' if self.parens == 0 => return true,
            '(' => self.parens += 1,
            ')' => self.parens = self.parens.saturating_sub(1),
            '\'' => {
                self.state = State::SingleQuote {
                    escapes: self.is_escape_string(),
                }
            }
            '"' => self.state = State::DoubleQuote,
            '-' if next == Some('-') => self.state = State::LineComment,
            '/' if next == Some('*') => {
                self.pos += 1;
                self.state = State::BlockComment { depth: 1 };
            }
            '$' => self.dollar(),
            _ => {}
        }
        false
    }

    /// `E'...'` (not part of a longer identifier) allows backslash escapes.
    fn is_escape_string(&self) -> bool {
        let q = self.pos - 1;
        let e = q.checked_sub(1).and_then(|i| self.at(i));
        let before = q.checked_sub(2).and_then(|i| self.at(i));
        matches!(e, Some('e' | 'E')) && !before.is_some_and(is_ident_char)
    }

    fn single_quote(&mut self, c: char, escapes: bool) {
        match c {
            '\\' if escapes => self.pos = (self.pos + 1).min(self.chars.len()),
            '\'' if self.at(self.pos) == Some('\'') => self.pos += 1,
            '\'' => self.state = State::Normal,
            _ => {}
        }
    }

    fn block_comment(&mut self, c: char, depth: usize) {
        let next = self.at(self.pos);
        if c == '*' && next == Some('/') {
            self.pos += 1;
            self.state = if depth == 1 {
                State::Normal
            } else {
                State::BlockComment { depth: depth - 1 }
            };
        } else if c == '/' && next == Some('*') {
            self.pos += 1;
            self.state = State::BlockComment { depth: depth + 1 };
        }
    }

    /// `$tag$` opens a dollar quote unless the `$` continues an identifier
    /// (`a$b`) or is a parameter (`$1`).
    fn dollar(&mut self) {
        let start = self.pos - 1;
        if start > 0 && is_ident_char(self.chars[start - 1]) {
            return;
        }
        let mut i = self.pos;
        while self.at(i).is_some_and(|c| is_ident_char(c) && c != '$') {
            i += 1;
        }
        let tag_ok = i == self.pos || !self.chars[self.pos].is_ascii_digit();
        if tag_ok && self.at(i) == Some('$') {
            self.state = State::Dollar {
                tag: self.chars[start..=i].iter().collect(),
            };
            self.pos = i + 1;
        }
    }

    fn status(&self, pending: bool) -> PromptStatus {
        match self.state {
            State::BlockComment { .. } => PromptStatus::Comment,
            State::SingleQuote { .. } => PromptStatus::SingleQuote,
            State::DoubleQuote => PromptStatus::DoubleQuote,
            State::Dollar { .. } => PromptStatus::DollarQuote,
            _ if self.parens > 0 => PromptStatus::Paren,
            _ if pending => PromptStatus::Continue,
            _ => PromptStatus::Ready,
        }
    }
}

/// Skips whitespace and `--` comments (psql drops them before a statement).
fn skip_leading_noise(chars: &[char], mut i: usize) -> usize {
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if chars.get(i) == Some(&'-') && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else {
            return i;
        }
    }
}

/// Splits buffered input into complete `;`-terminated statements and the
/// unfinished rest, honouring quotes (`'...'` with `''`, `E'...'` with
/// backslashes), `"identifiers"`, `--` and nested `/* */` comments,
/// `$tag$` dollar quotes and parentheses (a `;` inside them does not end
/// a statement, as in psql).
pub fn split_statements(input: &str) -> Split {
    let chars: Vec<char> = input.chars().collect();
    let mut split = Split::default();
    let mut start = skip_leading_noise(&chars, 0);
    let mut sc = Scanner {
        chars: &chars,
        pos: start,
        state: State::Normal,
        parens: 0,
    };
    while sc.pos < chars.len() {
        if sc.step() {
            split.statements.push(chars[start..sc.pos].iter().collect());
            start = skip_leading_noise(&chars, sc.pos);
            sc = Scanner {
                chars: &chars,
                pos: start,
                state: State::Normal,
                parens: 0,
            };
        }
    }
    split.rest = chars[start..].iter().collect();
    split.status = sc.status(!split.rest.is_empty());
    split
}

/// True if a statement holds nothing but whitespace, comments and `;`
/// (psql sends it, and the server answers with nothing to print).
pub fn statement_is_empty(statement: &str) -> bool {
    let chars: Vec<char> = statement.chars().collect();
    let mut i = 0;
    loop {
        i = skip_leading_noise(&chars, i);
        match (chars.get(i), chars.get(i + 1)) {
            (None, _) => return true,
            (Some(';'), _) => i += 1,
            (Some('/'), Some('*')) => i = skip_block_comment(&chars, i),
            _ => return false,
        }
    }
}

fn skip_block_comment(chars: &[char], start: usize) -> usize {
    let mut sc = Scanner {
        chars,
        pos: start,
        state: State::Normal,
        parens: 0,
    };
    sc.step();
    while sc.pos < chars.len() && sc.state != State::Normal {
        sc.step();
    }
    sc.pos
}

/// psql's query buffer for a line-by-line REPL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryBuffer {
    pending: String,
    status: PromptStatus,
}

impl QueryBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one input line (without its newline) and returns the statements
    /// it completes; the unfinished rest stays buffered.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        let split = split_statements(&self.pending);
        self.pending = split.rest;
        self.status = split.status;
        split.statements
    }

    /// The unfinished text.
    pub fn pending(&self) -> &str {
        &self.pending
    }

    /// What the buffer waits for (the prompt's `%R`).
    pub fn status(&self) -> PromptStatus {
        self.status
    }

    /// End of input: psql sends the unfinished text as it is (`;` or not, even inside a quote,
    /// which the server then reports). `None` when nothing but blanks and comments is left.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        self.status = PromptStatus::Ready;
        (!statement_is_empty(&rest)).then_some(rest)
    }

    /// Forgets the unfinished text (psql's `\r`, or Ctrl-C).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.status = PromptStatus::Ready;
    }

    /// Whether `line` is a backslash command: it starts with `\` and the
    /// buffer is not inside a quote or comment. (psql also accepts
    /// backslash commands in the middle of a line; this crate does not.)
    pub fn is_meta_command(&self, line: &str) -> bool {
        let quoted = matches!(
            self.status,
            PromptStatus::Comment
                | PromptStatus::SingleQuote
                | PromptStatus::DoubleQuote
                | PromptStatus::DollarQuote
        );
        !quoted && line.trim_start().starts_with('\\')
    }
}
