//! Cutting a large multi-row INSERT into smaller ones.
//!
//! Dumps hold INSERT statements of up to `--statement-size` bytes (1 MB by
//! default). The server parses a statement whole before it inserts a row,
//! so a 1 MB statement builds a parse tree of several megabytes and then
//! walks it, out of the CPU caches; with more loading threads than cores
//! the cost grows. The same rows sent as statements of about
//! [`PIECE_BYTES`] loaded a sysbench-shaped dump about a tenth faster. The
//! pieces run in the file's transaction, one after another, so the rows
//! and their order are the same as the statement's.

use crate::sqltext::{is_word, literal_end, skip_blanks, word_end};

/// Size the pieces are cut to.
pub const PIECE_BYTES: usize = 128 * 1024;

/// The pieces of `stmt`, an `INSERT`/`REPLACE … VALUES (…),(…)…`, of about
/// `target` bytes each (a row longer than that is a piece of its own), or
/// `None` if the statement is smaller than two pieces or not of that form
/// (`INSERT … SELECT`, `ON DUPLICATE KEY UPDATE`, comments in the rows…).
pub fn split_insert(stmt: &str, target: usize) -> Option<Vec<String>> {
    if stmt.len() < 2 * target {
        return None;
    }
    let b = stmt.as_bytes();
    let verb = first_word(b, 0)?;
    if !(verb.eq_ignore_ascii_case(b"INSERT") || verb.eq_ignore_ascii_case(b"REPLACE")) {
        return None;
    }
    let head_end = values_keyword_end(b)?;
    let rows = rows(b, head_end)?;
    if rows.len() < 2 {
        return None;
    }
    let head = stmt[..head_end].trim_end();
    let mut pieces = Vec::new();
    let mut first = 0;
    while first < rows.len() {
        let mut last = first;
        while last + 1 < rows.len() && rows[last + 1].1 - rows[first].0 <= target {
            last += 1;
        }
        pieces.push(format!("{head} {}", &stmt[rows[first].0..rows[last].1]));
        first = last + 1;
    }
    Some(pieces)
}

/// The word starting at or after `at` (after blanks).
fn first_word(b: &[u8], at: usize) -> Option<&[u8]> {
    let start = skip_blanks(b, at);
    (start < b.len()).then(|| &b[start..word_end(b, start)])
}

/// The end of the `VALUES` (or `VALUE`) keyword that starts the rows: the
/// first one outside quotes and parentheses. `None` for `SELECT` or `SET`
/// forms, or comments before it.
fn values_keyword_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => i = literal_end(b, i)?,
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            b'/' | b'#' | b'-' if depth == 0 => return None,
            c if is_word(c) => {
                let end = word_end(b, i);
                let w = &b[i..end];
                if depth == 0 {
                    if w.eq_ignore_ascii_case(b"VALUES") || w.eq_ignore_ascii_case(b"VALUE") {
                        return Some(end);
                    }
                    if w.eq_ignore_ascii_case(b"SELECT") || w.eq_ignore_ascii_case(b"SET") {
                        return None;
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    None
}

/// The rows after the VALUES keyword: each `(…)` as (start, end), with
/// nothing but blanks and commas between them and blanks (and a `;`)
/// after the last.
fn rows(b: &[u8], from: usize) -> Option<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut i = from;
    loop {
        i = skip_blanks(b, i);
        if b.get(i) != Some(&b'(') {
            return None;
        }
        let start = i;
        let mut depth = 0usize;
        loop {
            match *b.get(i)? {
                b'\'' | b'"' | b'`' => i = literal_end(b, i)?,
                b'(' => {
                    depth += 1;
                    i += 1;
                }
                b')' => {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
                // A comment inside a row: leave the statement whole.
                b'#' => return None,
                b'/' if b.get(i + 1) == Some(&b'*') => return None,
                b'-' if b.get(i + 1) == Some(&b'-') => return None,
                _ => i += 1,
            }
        }
        out.push((start, i));
        i = skip_blanks(b, i);
        match b.get(i) {
            Some(b',') => i += 1,
            None => return Some(out),
            Some(b';') if b[i + 1..].iter().all(|c| c.is_ascii_whitespace()) => return Some(out),
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of each piece, re-joined, are the statement's rows.
    fn rows_of(s: &str) -> Vec<String> {
        let b = s.as_bytes();
        let end = values_keyword_end(b).unwrap();
        rows(b, end).unwrap().into_iter().map(|(a, z)| s[a..z].to_string()).collect()
    }

    fn check(stmt: &str, target: usize) -> Vec<String> {
        let pieces = split_insert(stmt, target).expect("split");
        let joined: Vec<String> = pieces.iter().flat_map(|p| rows_of(p)).collect();
        assert_eq!(joined, rows_of(stmt));
        let head = &stmt[..values_keyword_end(stmt.as_bytes()).unwrap()];
        for p in &pieces {
            assert!(p.starts_with(head.trim_end()), "{p}");
        }
        pieces
    }

    #[test]
    fn rdumper_and_mydumper_layouts() {
        let rows: Vec<String> = (0..100).map(|i| format!("({i},\"v{i}\",NULL)")).collect();
        let rd = format!("INSERT INTO `t` VALUES{}", rows.join("\n,"));
        let my = format!("INSERT INTO `t` VALUES\n{};", rows.join(",\n"));
        for s in [rd, my] {
            let pieces = check(&s, 200);
            assert!(pieces.len() >= 8, "{}", pieces.len());
            assert!(pieces.iter().all(|p| p.len() <= 200 + 40), "{pieces:?}");
        }
    }

    #[test]
    fn quotes_parentheses_and_escapes_inside_values() {
        let row = r#"(1,'a''b),(c',"x\"),(\\",_binary 'q\'',POINT(1,2),0x2C28,`x`)"#;
        let s = format!("REPLACE INTO `t` (`a`,`values`,`(b)`) VALUES {row},{row} , {row},{row}");
        let pieces = check(&s, 60);
        assert_eq!(pieces.len(), 4, "a row longer than the target is a piece of its own");
        assert_eq!(pieces[0], format!("REPLACE INTO `t` (`a`,`values`,`(b)`) VALUES {row}"));
        let s = format!("INSERT IGNORE INTO t VALUE {row},{row},{row},{row};\n");
        assert_eq!(check(&s, 130).len(), 2);
    }

    #[test]
    fn other_statements_stay_whole() {
        let long = "x".repeat(100);
        for s in [
            format!("INSERT INTO t SELECT * FROM u WHERE a = '{long}'"),
            format!("INSERT INTO t SET a = '{long}', b = 2"),
            format!("INSERT INTO t VALUES (1,'{long}'),(2,'{long}') ON DUPLICATE KEY UPDATE a = 1"),
            format!("INSERT INTO t VALUES (1,'{long}') /* c */,(2,'{long}')"),
            format!("INSERT INTO t VALUES (1,'{long}' -- c\n),(2,'{long}')"),
            format!("UPDATE t SET a = '{long}', b = '{long}'"),
            format!("INSERT INTO t VALUES (1,'{long}'),(2,'{long}"),
            format!("INSERT INTO t VALUES (1,'{long}')"),
        ] {
            assert_eq!(split_insert(&s, 40), None, "{s}");
        }
        // Too small to be worth cutting.
        assert_eq!(split_insert("INSERT INTO t VALUES (1),(2)", 1000), None);
    }
}
