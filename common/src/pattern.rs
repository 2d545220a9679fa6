//! Object selection both programs spell alike: `-T db.table` lists with
//! SQL LIKE wildcards, and `-O` files of `db.table` or `db` lines to leave
//! out, all caseless as in mydumper.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// `-T` and `-O` together: the databases and tables a run takes.
#[derive(Debug, Default)]
pub struct TableFilter {
    /// `-T`: lower-case `(db, table)` LIKE patterns.
    tables: Vec<(String, String)>,
    /// `-O`: lower-case `db.table` and `db` entries left out.
    omit: Vec<String>,
}

impl TableFilter {
    /// From `-T` entries (see [`tables_list`]) and an `-O` file.
    pub fn new(tables: &[String], default_dbs: &[String], db_option: &str, omit_from: Option<&Path>) -> Result<TableFilter> {
        Ok(TableFilter {
            tables: tables_list(tables, default_dbs, db_option)?,
            omit: match omit_from {
                Some(p) => omit_file(p)?,
                None => Vec::new(),
            },
        })
    }

    /// Whether neither `-T` nor `-O` was given.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.omit.is_empty()
    }

    /// Whether `-T` was given.
    pub fn has_tables_list(&self) -> bool {
        !self.tables.is_empty()
    }

    /// Whether database `db` may be taken at all: `-O` does not leave it
    /// out, and `-T` (when given) names tables in it.
    pub fn database(&self, db: &str) -> bool {
        let db = db.to_lowercase();
        !self.omit.contains(&db) && (self.tables.is_empty() || self.tables.iter().any(|(d, _)| like(d, &db)))
    }

    /// Whether `db.name` is taken, its database as a whole aside (see
    /// [`TableFilter::database`]): `-O` does not name it, and `-T` (when
    /// given) does.
    pub fn object(&self, db: &str, name: &str) -> bool {
        let (db, name) = (db.to_lowercase(), name.to_lowercase());
        !self.omit.contains(&format!("{db}.{name}"))
            && (self.tables.is_empty() || self.tables.iter().any(|(d, t)| like(d, &db) && like(t, &name)))
    }
}

/// `-T/--tables-list` entries (each possibly a comma-separated list) as
/// lower-case `(db pattern, table pattern)` pairs; an entry without a
/// database applies to each of `default_dbs`, and fails without one.
fn tables_list(entries: &[String], default_dbs: &[String], db_option: &str) -> Result<Vec<(String, String)>> {
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
fn omit_file(path: &Path) -> Result<Vec<String>> {
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

    #[test]
    fn databases_and_objects() {
        let dir = tempfile::tempdir().unwrap();
        let omit = dir.path().join("omit");
        std::fs::write(&omit, "# no\nshop.secret\nOld\n").unwrap();
        let f = TableFilter::new(&["shop.%,old.t".into()], &[], "-B", Some(&omit)).unwrap();
        assert!(f.database("Shop") && !f.database("old") && !f.database("other"));
        assert!(f.object("shop", "Orders") && !f.object("shop", "secret") && !f.object("other", "t"));
        assert!(TableFilter::default().database("any") && TableFilter::default().object("any", "t"));
    }
}
