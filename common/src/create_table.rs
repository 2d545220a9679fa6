//! The server's `CREATE TABLE` layout (`SHOW CREATE TABLE`: one definition
//! per line, two spaces in front), taken apart to leave out or move its
//! indexes and constraints: rdumper's and rloader's `--skip-indexes` and
//! `--skip-constraints`, rloader's deferred indexes (`--optimize-keys`).

use crate::escape::ident;

/// Reads a quoted identifier at the start of `s` (backticks or double
/// quotes, doubled quote inside); returns it and the rest.
pub fn read_ident(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next()?;
    if q != '`' && q != '"' {
        let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(s.len());
        if end == 0 {
            return None;
        }
        return Some((s[..end].to_string(), &s[end..]));
    }
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if chars.peek().map(|(_, c)| *c) == Some(q) {
                chars.next();
                out.push(q);
                continue;
            }
            return Some((out, &s[i + 1..]));
        }
        out.push(c);
    }
    None
}

/// A server-formatted `CREATE TABLE` (`SHOW CREATE TABLE` layout: one
/// definition per line, two spaces in front) taken apart.
pub struct Layout<'a> {
    pub head: &'a str,
    pub defs: Vec<&'a str>,
    /// From the closing parenthesis on: engine, options, partitions.
    pub tail: String,
    /// The AUTO_INCREMENT columns, quoted.
    pub auto_inc: Vec<String>,
}

#[derive(PartialEq)]
pub enum Definition {
    Other,
    /// A secondary index (not one over an AUTO_INCREMENT column, which the
    /// column needs).
    Index,
    ForeignKey,
    /// Another named constraint (CHECK).
    Constraint,
}

impl<'a> Layout<'a> {
    pub fn parse(create: &'a str) -> Option<Layout<'a>> {
        let lines: Vec<&str> = create.split('\n').collect();
        if lines.len() < 3 || !lines[0].trim_end().ends_with('(') {
            return None;
        }
        let close = lines.iter().position(|l| l.starts_with(')'))?;
        let defs: Vec<&str> = lines[1..close].iter().map(|l| l.strip_suffix(',').unwrap_or(l)).collect();
        let auto_inc = defs
            .iter()
            .filter(|d| d.starts_with("  `") && d.contains(" AUTO_INCREMENT"))
            .filter_map(|d| read_ident(d.trim_start()).map(|(n, _)| ident(&n)))
            .collect();
        Some(Layout { head: lines[0], defs, tail: lines[close..].join("\n"), auto_inc })
    }

    pub fn kind(&self, d: &str) -> Definition {
        let body = d.trim_start();
        let is_index =
            d.starts_with("  ") && ["KEY ", "UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY ", "INDEX "].iter().any(|k| body.starts_with(k));
        if is_index && !self.auto_inc.iter().any(|c| index_columns(body).contains(c)) {
            Definition::Index
        } else if d.starts_with("  CONSTRAINT ") && body.contains(" FOREIGN KEY ") {
            Definition::ForeignKey
        } else if d.starts_with("  CONSTRAINT ") {
            Definition::Constraint
        } else {
            Definition::Other
        }
    }

    pub fn create(&self, keep: &[&str]) -> String {
        format!("{}\n{}\n{}", self.head, keep.join(",\n"), self.tail)
    }
}

/// `--skip-indexes` (secondary indexes, but those an AUTO_INCREMENT column
/// needs) and `--skip-constraints` (foreign keys and table CHECK
/// constraints; a column's own CHECK is part of the column):
/// a server-formatted `CREATE TABLE` without them; `None` when it has none
/// or not that layout.
pub fn strip_keys(create: &str, indexes: bool, constraints: bool) -> Option<String> {
    let layout = Layout::parse(create)?;
    let keep: Vec<&str> = layout
        .defs
        .iter()
        .copied()
        .filter(|d| match layout.kind(d) {
            Definition::Index => !indexes,
            Definition::ForeignKey | Definition::Constraint => !constraints,
            Definition::Other => true,
        })
        .collect();
    (keep.len() < layout.defs.len()).then(|| layout.create(&keep))
}

/// The column-list part of an index definition: text between the first `(`
/// and its matching `)`.
fn index_columns(def: &str) -> &str {
    let Some(open) = def.find('(') else { return "" };
    let mut depth = 0;
    let mut in_q = false;
    for (i, c) in def[open..].char_indices() {
        match c {
            '`' => in_q = !in_q,
            '(' if !in_q => depth += 1,
            ')' if !in_q => {
                depth -= 1;
                if depth == 0 {
                    return &def[open..open + i + 1];
                }
            }
            _ => {}
        }
    }
    &def[open..]
}
