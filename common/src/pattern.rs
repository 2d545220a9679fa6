//! Object selection both programs spell alike: `-T db.table` lists with
//! SQL LIKE wildcards, and `-O` files of `db.table` or `db` lines to leave
//! out, all caseless as in mydumper.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// `-T/--tables-list` entries (each possibly a comma-separated list) as
/// lower-case `(db pattern, table pattern)` pairs; an entry without a
/// database applies to each of `default_dbs`, and fails without one.
pub fn tables_list(entries: &[String], default_dbs: &[String], db_option: &str) -> Result<Vec<(String, String)>> {
    let mut tables = Vec::new();
    for entry in entries.iter().flat_map(|l| l.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
        match entry.split_once('.') {
            Some((db, t)) => tables.push((db.to_lowercase(), t.to_lowercase())),
            None if default_dbs.is_empty() => {
                bail!("-T/--tables-list: {entry:?} needs a database: write db.table or give {db_option}")
            }
            None => tables.extend(default_dbs.iter().map(|db| (db.to_lowercase(), entry.to_lowercase()))),
        }
    }
    Ok(tables)
}

/// The lower-case `db.table` and `db` lines of an `-O/--omit-from-file`
/// file (blank lines and `#` comments left out).
pub fn omit_file(path: &Path) -> Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("-O/--omit-from-file: cannot read {}", path.display()))?
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

/// SQL LIKE matching with `%` and `_` (both inputs already lower case).
pub fn like(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards() {
        assert!(like("t%", "torture"));
        assert!(like("t_rture", "torture"));
        assert!(like("%", ""));
        assert!(!like("t_", "tor"));
        assert!(like("a%b%c", "axxbyyc"));
    }

    #[test]
    fn lists_and_defaults() {
        let l = tables_list(&["Shop.Orders, items".into()], &["shop".into(), "b".into()], "-B").unwrap();
        assert_eq!(l, [("shop", "orders"), ("shop", "items"), ("b", "items")].map(|(a, b)| (a.to_string(), b.to_string())));
        let e = tables_list(&["items".into()], &[], "-s").unwrap_err().to_string();
        assert!(e.contains("items") && e.contains("-s"), "{e}");
    }
}
