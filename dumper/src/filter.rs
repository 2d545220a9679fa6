//! Which databases and objects a dump takes: `-B`, `-T` (with `%`/`_`
//! wildcards), `-x` regular expressions on `db.table`, `-O` omit files and
//! `-i` ignored engines, all caseless as in mydumper.

use anyhow::{Context, Result};
use common::pattern::TableFilter;
use fancy_regex::Regex;

use crate::cli::FilterArgs;

/// Databases never dumped.
pub const SYSTEM_SCHEMAS: &[&str] = &["information_schema", "performance_schema", "data_dictionary"];

#[derive(Debug, Default)]
pub struct Filter {
    databases: Option<Vec<String>>,
    /// `-T` and `-O`.
    tables: TableFilter,
    regexes: Vec<Regex>,
    ignore_engines: Vec<String>,
}

impl Filter {
    pub fn from_args(a: &FilterArgs) -> Result<Filter> {
        let databases = a.database.as_ref().map(|d| {
            d.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>()
        });
        let tables = TableFilter::new(
            &a.tables_list,
            databases.as_deref().unwrap_or_default(),
            "-B",
            a.omit_from_file.as_deref(),
        )?;
        let regexes = a
            .regex
            .iter()
            .map(|r| Regex::new(&format!("(?i){r}")).with_context(|| format!("-x/--regex: bad regular expression {r:?}")))
            .collect::<Result<Vec<_>>>()?;
        let ignore_engines = a
            .ignore_engines
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        Ok(Filter { databases, tables, regexes, ignore_engines })
    }

    /// Whether any of the database's objects may be dumped.
    pub fn database(&self, db: &str) -> bool {
        if SYSTEM_SCHEMAS.iter().any(|s| s.eq_ignore_ascii_case(db)) {
            return false;
        }
        if let Some(dbs) = &self.databases {
            if !dbs.iter().any(|d| d == db) {
                return false;
            }
        }
        self.tables.database(db)
    }

    /// Whether the database is selected as such, so that its
    /// `DB-schema-create.sql` is written: named by `-B` or `-T`, or, in a
    /// full dump, matched by `-x` as a bare name (or no `-x` at all).
    pub fn database_selected(&self, db: &str) -> bool {
        if !self.database(db) {
            return false;
        }
        if self.databases.is_some() || self.tables.has_tables_list() {
            return true;
        }
        self.regexes.is_empty() || self.regexes.iter().any(|r| r.is_match(db).unwrap_or(false))
    }

    /// Whether `-T` was given (it keeps `DB-schema-create.sql` under `-m`).
    pub fn has_tables_list(&self) -> bool {
        self.tables.has_tables_list()
    }

    /// Whether the object `db.name` (table, view, sequence, routine, event) is dumped.
    pub fn object(&self, db: &str, name: &str) -> bool {
        if !self.database(db) || !self.tables.object(db, name) {
            return false;
        }
        let full = format!("{db}.{name}");
        self.regexes.is_empty() || self.regexes.iter().any(|r| r.is_match(&full).unwrap_or(false))
    }

    /// Whether tables of this engine are skipped (`-i`).
    pub fn engine_ignored(&self, engine: &str) -> bool {
        let e = engine.to_lowercase();
        self.ignore_engines.contains(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> FilterArgs {
        FilterArgs {
            database: None,
            tables_list: vec![],
            regex: vec![],
            omit_from_file: None,
            ignore_engines: None,
            where_clause: None,
            updated_since: None,
        }
    }

    #[test]
    fn regex_with_lookahead_and_schema_create() {
        let mut a = args();
        a.regex = vec![r"^(torture|torture-2)\.(?!big$)".into()];
        let f = Filter::from_args(&a).unwrap();
        assert!(f.object("torture", "all_types"));
        assert!(f.object("TORTURE", "x"));
        assert!(!f.object("torture", "big"));
        assert!(f.object("torture", "bigger"));
        assert!(!f.object("sakila", "actor"));
        assert!(!f.database_selected("torture"));
        assert!(!f.database("information_schema"));
    }

    #[test]
    fn databases_and_tables() {
        let mut a = args();
        a.database = Some("sakila,torture".into());
        a.tables_list = vec!["torture.p%,sakila.actor".into()];
        let f = Filter::from_args(&a).unwrap();
        assert!(f.object("torture", "parent"));
        assert!(f.object("torture", "partitioned"));
        assert!(!f.object("torture", "child"));
        assert!(f.object("sakila", "actor"));
        assert!(!f.database("mysql"));
        assert!(f.database_selected("sakila"));
    }
}
