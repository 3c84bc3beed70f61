//! PostgreSQL 15's function catalog, taken from the real server: every built-in function's name,
//! argument and result types, kind, volatility and strictness (`data/pg_proc.tsv`, written by
//! `scripts/gen-pg-proc.sh`), with the types and implicit casts that overload resolution needs.
//!
//! Why: pgplay implements a fraction of PostgreSQL's functions. With the whole catalog it can
//! tell apart a function PostgreSQL has but pgplay lacks (0A000, said honestly) from one that
//! exists nowhere or is called with the wrong argument types (PostgreSQL's own 42883), and psql's
//! `\df` can list what PostgreSQL lists. [`Catalog::resolve`] follows PostgreSQL's
//! `func_get_detail` (parse_func.c): an exact match, then the candidates the inputs can reach by
//! implicit casts, then `func_select_candidate`'s rules (most exact matches, preferred types,
//! unknown literals resolved by type category, the last-gasp "unknowns are like the known
//! input"). The data is compiled in and parsed once on first use: no IO at run time.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::OnceLock;

/// The generated data file.
pub const DATA: &str = include_str!("../data/pg_proc.tsv");

/// `unknown`: the type of an untyped literal.
pub const UNKNOWN: u32 = 705;
/// `"any"`.
pub const ANY: u32 = 2276;

/// `pg_proc.prokind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Function,
    Aggregate,
    Window,
    Procedure,
}

impl Kind {
    /// The word psql's `\df` shows in its `Type` column.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Function => "func",
            Kind::Aggregate => "agg",
            Kind::Window => "window",
            Kind::Procedure => "proc",
        }
    }
}

/// `pg_proc.provolatile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

/// A row of `pg_type` as resolution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    pub oid: u32,
    /// `typname` (`int4`, `_text`).
    pub name: &'static str,
    /// `format_type(oid, NULL)` (`integer`, `text[]`).
    pub display: &'static str,
    /// `typcategory` (`N` numeric, `S` string, `A` array, `P` pseudo-type, ...).
    pub category: u8,
    pub preferred: bool,
    /// The element type of an array type.
    pub element: Option<u32>,
}

/// A row of `pg_proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub name: &'static str,
    pub kind: Kind,
    pub volatility: Volatility,
    pub strict: bool,
    pub returns_set: bool,
    /// `pronargdefaults`: how many trailing arguments may be left out.
    pub defaults: usize,
    /// `provariadic`: the element type of a VARIADIC last argument.
    pub variadic: Option<u32>,
    pub result: u32,
    /// `proargtypes` (input arguments only).
    pub args: Vec<u32>,
    result_text: &'static str,
    args_text: &'static str,
}

/// The outcome of looking a call up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<'a> {
    /// The function PostgreSQL would call, with the type it expects for each input.
    Found(Candidate<'a>),
    /// `function f(...) does not exist` (42883).
    NotFound,
    /// `function f(...) is not unique` (42725).
    Ambiguous,
    /// `typename(x)`: a type cast written as a function call.
    Coercion(u32),
}

/// A chosen function and the declared type for each input (variadic arguments expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub proc: &'a Proc,
    pub arg_types: Vec<u32>,
}

/// The function catalog, parsed.
#[derive(Debug, Default)]
pub struct Catalog {
    types: Vec<PgType>,
    type_index: HashMap<u32, usize>,
    type_names: HashMap<&'static str, u32>,
    casts: HashSet<(u32, u32)>,
    procs: Vec<Proc>,
    proc_names: HashMap<&'static str, Range<usize>>,
    pending_elements: Vec<(usize, &'static str)>,
}

/// The catalog of PostgreSQL 15's built-in functions.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::parse(DATA).0)
}

const POLYMORPHIC: &[&str] = &[
    "anyelement",
    "anyarray",
    "anynonarray",
    "anyenum",
    "anyrange",
    "anymultirange",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblenonarray",
    "anycompatiblerange",
    "anycompatiblemultirange",
];

impl Proc {
    /// `pg_get_function_result`: what `\df` shows as the result.
    pub fn result_display(&self, catalog: &Catalog) -> String {
        if !self.result_text.is_empty() {
            return self.result_text.to_string();
        }
        let set = if self.returns_set { "SETOF " } else { "" };
        format!("{set}{}", catalog.display(self.result))
    }

    /// `pg_get_function_arguments`: what `\df` shows as the arguments.
    pub fn arguments_display(&self, catalog: &Catalog) -> String {
        if !self.args_text.is_empty() {
            return self.args_text.to_string();
        }
        self.args
            .iter()
            .map(|t| catalog.display(*t))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Candidate<'_> {
    /// `name(type, ...)` with the declared types, as `regprocedure` prints them but spaced as
    /// PostgreSQL's messages space an argument list.
    pub fn signature(&self, catalog: &Catalog) -> String {
        let args: Vec<&str> = self.proc.args.iter().map(|t| catalog.display(*t)).collect();
        format!("{}({})", self.proc.name, args.join(", "))
    }
}

impl Catalog {
    /// Parses the data file; the second value lists the lines that could not be read.
    pub fn parse(text: &'static str) -> (Catalog, Vec<String>) {
        let mut catalog = Catalog::default();
        let mut bad = Vec::new();
        let mut pending_casts = Vec::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&'static str> = line.split('\t').collect();
            let ok = match fields.first() {
                Some(&"T") => catalog.parse_type(&fields),
                Some(&"C") if fields.len() == 3 => {
                    pending_casts.push((fields[1], fields[2]));
                    true
                }
                Some(&"F") => catalog.parse_proc(&fields),
                _ => false,
            };
            if !ok {
                bad.push(line.to_string());
            }
        }
        for (index, name) in std::mem::take(&mut catalog.pending_elements) {
            match catalog.type_oid(name) {
                Some(oid) => catalog.types[index].element = Some(oid),
                None => bad.push(format!("T\t{}: element {name}", catalog.types[index].name)),
            }
        }
        for (source, target) in pending_casts {
            match (catalog.type_oid(source), catalog.type_oid(target)) {
                (Some(s), Some(t)) => {
                    catalog.casts.insert((s, t));
                }
                _ => bad.push(format!("C\t{source}\t{target}")),
            }
        }
        // The file is sorted by name; index each name's run of rows.
        catalog.procs.sort_by(|a, b| a.name.cmp(b.name));
        let mut start = 0;
        for i in 1..=catalog.procs.len() {
            if i == catalog.procs.len() || catalog.procs[i].name != catalog.procs[start].name {
                catalog
                    .proc_names
                    .insert(catalog.procs[start].name, start..i);
                start = i;
            }
        }
        (catalog, bad)
    }

    fn parse_type(&mut self, f: &[&'static str]) -> bool {
        let [_, name, oid, category, preferred, element, display] = f else {
            return false;
        };
        let (Ok(oid), [category]) = (oid.parse::<u32>(), category.as_bytes()) else {
            return false;
        };
        // An element type may come later in the file: `parse` resolves it after all types.
        let element = match *element {
            "-" => None,
            e => Some(self.type_oid(e).unwrap_or(u32::MAX)),
        };
        if element == Some(u32::MAX) {
            self.pending_elements
                .push((self.types.len(), element_name(f)));
        }
        self.type_index.insert(oid, self.types.len());
        self.type_names.insert(name, oid);
        self.types.push(PgType {
            oid,
            name,
            display,
            category: *category,
            preferred: *preferred == "t",
            element,
        });
        true
    }

    fn parse_proc(&mut self, f: &[&'static str]) -> bool {
        let [_, name, kind, volatility, strict, retset, defaults, variadic, result, args, result_text, args_text] =
            f
        else {
            return false;
        };
        let kind = match *kind {
            "f" => Kind::Function,
            "a" => Kind::Aggregate,
            "w" => Kind::Window,
            "p" => Kind::Procedure,
            _ => return false,
        };
        let volatility = match *volatility {
            "i" => Volatility::Immutable,
            "s" => Volatility::Stable,
            "v" => Volatility::Volatile,
            _ => return false,
        };
        let Ok(defaults) = defaults.parse::<usize>() else {
            return false;
        };
        let variadic = match *variadic {
            "-" => None,
            v => match self.type_oid(v) {
                Some(oid) => Some(oid),
                None => return false,
            },
        };
        let Some(result) = self.type_oid(result) else {
            return false;
        };
        let mut arg_oids = Vec::new();
        for a in args.split(' ').filter(|a| !a.is_empty()) {
            match self.type_oid(a) {
                Some(oid) => arg_oids.push(oid),
                None => return false,
            }
        }
        if defaults > arg_oids.len() || (variadic.is_some() && arg_oids.is_empty()) {
            return false;
        }
        self.procs.push(Proc {
            name,
            kind,
            volatility,
            strict: *strict == "t",
            returns_set: *retset == "t",
            defaults,
            variadic,
            result,
            args: arg_oids,
            result_text,
            args_text,
        });
        true
    }

    /// Every function, sorted by name.
    pub fn functions(&self) -> &[Proc] {
        &self.procs
    }

    /// The functions called `name`.
    pub fn named(&self, name: &str) -> &[Proc] {
        match self.proc_names.get(name) {
            Some(range) => &self.procs[range.clone()],
            None => &[],
        }
    }

    pub fn type_by_oid(&self, oid: u32) -> Option<&PgType> {
        self.type_index.get(&oid).map(|i| &self.types[*i])
    }

    /// A type's OID by its `typname`.
    pub fn type_oid(&self, name: &str) -> Option<u32> {
        self.type_names.get(name).copied()
    }

    /// `format_type(oid, NULL)`.
    pub fn display(&self, oid: u32) -> &str {
        self.type_by_oid(oid).map(|t| t.display).unwrap_or("???")
    }

    fn category(&self, oid: u32) -> u8 {
        self.type_by_oid(oid).map(|t| t.category).unwrap_or(b'X')
    }

    fn preferred(&self, oid: u32) -> bool {
        self.type_by_oid(oid).is_some_and(|t| t.preferred)
    }

    fn element(&self, oid: u32) -> Option<u32> {
        self.type_by_oid(oid).and_then(|t| t.element)
    }

    fn is_polymorphic(&self, oid: u32) -> bool {
        self.type_by_oid(oid)
            .is_some_and(|t| POLYMORPHIC.contains(&t.name))
    }

    /// `find_coercion_pathway(target, source, COERCION_IMPLICIT)` for two concrete types: the
    /// same type, an implicit `pg_cast` entry, or arrays whose elements cast implicitly.
    pub fn implicit_cast(&self, source: u32, target: u32) -> bool {
        if source == target || self.casts.contains(&(source, target)) {
            return true;
        }
        match (self.element(source), self.element(target)) {
            (Some(s), Some(t)) => self.implicit_cast(s, t),
            _ => false,
        }
    }

    /// `can_coerce_type(..., COERCION_IMPLICIT)`: can every input become its declared type?
    pub fn can_coerce(&self, inputs: &[u32], targets: &[u32]) -> bool {
        let mut generic = false;
        for (input, target) in inputs.iter().zip(targets) {
            if input == target || *target == ANY {
                continue;
            }
            if self.is_polymorphic(*target) {
                generic = true;
                continue;
            }
            if *input == UNKNOWN || self.implicit_cast(*input, *target) {
                continue;
            }
            return false;
        }
        !generic || self.generic_consistent(inputs, targets)
    }

    /// `check_generic_type_consistency`: the polymorphic arguments agree on one element type
    /// (and the `anycompatible` ones have a common type).
    fn generic_consistent(&self, inputs: &[u32], targets: &[u32]) -> bool {
        let (mut element, mut array) = (None, None);
        let mut compatible = Vec::new();
        let (mut nonarray, mut enumeration, mut compatible_nonarray) = (false, false, false);
        for (input, target) in inputs.iter().zip(targets) {
            let Some(declared) = self.type_by_oid(*target).map(|t| t.name) else {
                continue;
            };
            nonarray |= declared == "anynonarray";
            enumeration |= declared == "anyenum";
            compatible_nonarray |= declared == "anycompatiblenonarray";
            if *input == UNKNOWN {
                continue;
            }
            let ok = match declared {
                "anyelement" | "anynonarray" | "anyenum" => agree_with(&mut element, *input),
                "anyarray" => agree_with(&mut array, *input),
                "anyrange" | "anymultirange" | "anycompatiblerange" | "anycompatiblemultirange" => {
                    self.category(*input) == b'R'
                }
                "anycompatible" | "anycompatiblenonarray" => {
                    compatible.push(*input);
                    true
                }
                "anycompatiblearray" => match self.element(*input) {
                    Some(e) => {
                        compatible.push(e);
                        true
                    }
                    None => false,
                },
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        if let Some(array) = array {
            let Some(array_element) = self.element(array) else {
                return false;
            };
            if !agree_with(&mut element, array_element) {
                return false;
            }
        }
        if let Some(e) = element {
            if nonarray && self.element(e).is_some() {
                return false;
            }
            if enumeration && self.category(e) != b'E' {
                return false;
            }
        }
        if !compatible.is_empty() {
            match self.common_type(&compatible) {
                Some(common) if compatible_nonarray && self.element(common).is_some() => {
                    return false
                }
                Some(_) => {}
                None => return false,
            }
        }
        true
    }

    /// `select_common_type` for known types: one category, the type the others cast to.
    fn common_type(&self, types: &[u32]) -> Option<u32> {
        let mut common = *types.first()?;
        for next in &types[1..] {
            if *next == common {
                continue;
            }
            if self.category(*next) != self.category(common) {
                return None;
            }
            if !self.preferred(common)
                && self.implicit_cast(common, *next)
                && !self.implicit_cast(*next, common)
            {
                common = *next;
            }
        }
        Some(common)
    }

    /// The candidates for a call of `name` with `n` inputs: each with its declared types,
    /// defaults left out and a VARIADIC argument expanded (`FuncnameGetCandidates`).
    fn candidates(&self, name: &str, n: usize) -> Vec<Candidate<'_>> {
        let mut out: Vec<(Candidate<'_>, bool)> = Vec::new();
        for proc in self.named(name) {
            if matches!(proc.kind, Kind::Procedure) {
                continue;
            }
            let declared = proc.args.len();
            let (arg_types, variadic) = match proc.variadic {
                Some(element) if declared <= n => {
                    let mut types = proc.args[..declared - 1].to_vec();
                    types.resize(n, element);
                    (types, true)
                }
                _ if declared == n => (proc.args.clone(), false),
                _ if declared > n && n + proc.defaults >= declared => {
                    (proc.args[..n].to_vec(), false)
                }
                _ => continue,
            };
            // Two forms with the same inputs: the one that needs no variadic expansion wins.
            if let Some(existing) = out.iter_mut().find(|(c, _)| c.arg_types == arg_types) {
                if existing.1 && !variadic {
                    *existing = (Candidate { proc, arg_types }, variadic);
                }
                continue;
            }
            out.push((Candidate { proc, arg_types }, variadic));
        }
        out.into_iter().map(|(c, _)| c).collect()
    }

    /// PostgreSQL's choice of function for `name(inputs)`; `UNKNOWN` stands for an untyped literal.
    pub fn resolve(&self, name: &str, inputs: &[u32]) -> Resolution<'_> {
        let candidates = self.candidates(name, inputs.len());
        if let Some(exact) = candidates.iter().find(|c| c.arg_types == inputs) {
            return Resolution::Found(exact.clone());
        }
        if inputs.len() == 1 {
            if let Some(target) = self.type_oid(name) {
                return Resolution::Coercion(target);
            }
        }
        let matching: Vec<Candidate<'_>> = candidates
            .into_iter()
            .filter(|c| self.can_coerce(inputs, &c.arg_types))
            .collect();
        match matching.len() {
            0 => Resolution::NotFound,
            1 => Resolution::Found(matching.into_iter().next().expect("one")),
            _ => match self.select_candidate(inputs, matching) {
                Some(c) => Resolution::Found(c),
                None => Resolution::Ambiguous,
            },
        }
    }

    /// `func_select_candidate`: narrow several reachable candidates down to one, or none.
    fn select_candidate<'a>(
        &self,
        inputs: &[u32],
        candidates: Vec<Candidate<'a>>,
    ) -> Option<Candidate<'a>> {
        let known = |i: usize| inputs[i] != UNKNOWN;
        // Most exact matches on the known inputs.
        let candidates = keep_best(candidates, |c| {
            (0..inputs.len())
                .filter(|&i| known(i) && c.arg_types[i] == inputs[i])
                .count()
        });
        if candidates.len() == 1 {
            return candidates.into_iter().next();
        }
        // Most exact matches or preferred types of the input's category where a cast is needed.
        let candidates = keep_best(candidates, |c| {
            (0..inputs.len())
                .filter(|&i| {
                    known(i)
                        && (c.arg_types[i] == inputs[i]
                            || (self.preferred(c.arg_types[i])
                                && self.category(c.arg_types[i]) == self.category(inputs[i])))
                })
                .count()
        });
        if candidates.len() == 1 {
            return candidates.into_iter().next();
        }
        if inputs.iter().all(|t| *t != UNKNOWN) {
            return None;
        }
        // Unknown literals: the category the candidates agree on there (STRING wins a conflict),
        // and a preferred type of it if any candidate has one.
        let mut resolved = true;
        let mut slots: Vec<Option<(u8, bool)>> = vec![None; inputs.len()];
        for (i, slot) in slots.iter_mut().enumerate() {
            if known(i) {
                continue;
            }
            let mut conflict = false;
            for c in &candidates {
                let (category, preferred) = (
                    self.category(c.arg_types[i]),
                    self.preferred(c.arg_types[i]),
                );
                match slot {
                    None => *slot = Some((category, preferred)),
                    Some((cat, pref)) if *cat == category => *pref |= preferred,
                    Some(_) if category == b'S' => *slot = Some((category, preferred)),
                    Some(_) => conflict = true,
                }
            }
            if conflict && slot.is_some_and(|(cat, _)| cat != b'S') {
                resolved = false;
                break;
            }
        }
        let mut candidates = candidates;
        if resolved {
            let kept: Vec<Candidate<'a>> = candidates
                .iter()
                .filter(|c| {
                    slots.iter().enumerate().all(|(i, slot)| match slot {
                        None => true,
                        Some((category, preferred)) => {
                            self.category(c.arg_types[i]) == *category
                                && (!preferred || self.preferred(c.arg_types[i]))
                        }
                    })
                })
                .cloned()
                .collect();
            if kept.len() == 1 {
                return kept.into_iter().next();
            }
            if !kept.is_empty() {
                candidates = kept;
            }
        }
        // Last gasp: the unknown inputs have the type of the known ones, if those all agree.
        let known_types: HashSet<u32> = inputs.iter().copied().filter(|t| *t != UNKNOWN).collect();
        if known_types.len() == 1 {
            let only = *known_types.iter().next().expect("one");
            let assumed = vec![only; inputs.len()];
            let mut fits = candidates
                .into_iter()
                .filter(|c| self.can_coerce(&assumed, &c.arg_types));
            let first = fits.next();
            if fits.next().is_none() {
                return first;
            }
        }
        None
    }
}

fn element_name(fields: &[&'static str]) -> &'static str {
    fields.get(5).copied().unwrap_or_default()
}

fn agree_with(slot: &mut Option<u32>, value: u32) -> bool {
    match slot {
        Some(existing) => *existing == value,
        None => {
            *slot = Some(value);
            true
        }
    }
}

/// The candidates with the highest score, or all of them when none scores.
fn keep_best<'a>(
    candidates: Vec<Candidate<'a>>,
    score: impl Fn(&Candidate<'a>) -> usize,
) -> Vec<Candidate<'a>> {
    let best = candidates.iter().map(&score).max().unwrap_or(0);
    candidates
        .into_iter()
        .filter(|c| score(c) == best)
        .collect()
}

#[cfg(test)]
mod tests;
