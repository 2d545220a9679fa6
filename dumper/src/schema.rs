//! Schema files: `CREATE DATABASE`, `CREATE TABLE`, view placeholders and
//! views, triggers, routines and events, sequences — each as the server
//! shows it, in mydumper's layout.

use anyhow::{anyhow, bail, Context, Result};
use common::definer::Definer;
use common::escape::ident;
use mysql::prelude::Queryable;
use mysql::Row;

use crate::catalog::{text, Routine, Table};
use crate::cli::Options;

/// Runs a `SHOW CREATE …` and returns its row.
fn show(conn: &mut mysql::Conn, q: &str) -> Result<Row> {
    let row: Option<Row> =
        conn.query_first(q).map_err(|e| common::conn::QueryError::during(&e, &format!("while running {q}")))?;
    row.ok_or_else(|| anyhow!("{q} returned nothing"))
}

/// A column of a row by name.
fn col(row: &Row, name: &str) -> Result<String> {
    let cols = row.columns_ref();
    let i = cols
        .iter()
        .position(|c| c.name_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| anyhow!("the server's answer has no column {name:?}"))?;
    match &row[i] {
        mysql::Value::NULL => bail!("the server returned no {name} (missing privileges?)"),
        v => Ok(text(v)),
    }
}

/// Rewrites `;\n` inside a body to `; \n`: loaders end statements at `;\n`.
fn protect_body(sql: &str) -> String {
    sql.replace(";\n", "; \n")
}

fn charset_block(client: &str, collation: &str, body: &str) -> String {
    format!(
        "SET @PREV_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT;\n\
         SET @PREV_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS;\n\
         SET @PREV_COLLATION_CONNECTION=@@COLLATION_CONNECTION;\n\
         SET character_set_client = {client};\n\
         SET character_set_results = {client};\n\
         SET collation_connection = {collation};\n\
         {body}\
         SET character_set_client = @PREV_CHARACTER_SET_CLIENT;\n\
         SET character_set_results = @PREV_CHARACTER_SET_RESULTS;\n\
         SET collation_connection = @PREV_COLLATION_CONNECTION;\n"
    )
}

pub fn database_create(conn: &mut mysql::Conn, db: &str) -> Result<String> {
    let row = show(conn, &format!("SHOW CREATE DATABASE IF NOT EXISTS {}", ident(db)))?;
    Ok(format!("{};\n", col(&row, "Create Database")?))
}

/// A table's CREATE TABLE, without its secondary indexes or its
/// constraints when `--skip-indexes`/`--skip-constraints` ask so.
pub fn table_create(conn: &mut mysql::Conn, t: &Table, opts: &Options) -> Result<String> {
    if t.from_view {
        return view_as_table(conn, t);
    }
    let row = show(conn, &format!("SHOW CREATE TABLE {}", t.qualified()))?;
    let create = col(&row, "Create Table")?;
    let create = match opts.skip_indexes || opts.skip_constraints {
        true => common::create_table::strip_keys(&create, opts.skip_indexes, opts.skip_constraints).unwrap_or(create),
        false => create,
    };
    Ok(format!("{create};\n"))
}

const LOB_TYPES: &[&str] = &[
    "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob", "json", "geometry",
    "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
];

/// `--views-as-tables`: a table of the view's columns, each with its type,
/// character set and collation, and nullability.
fn view_as_table(conn: &mut mysql::Conn, v: &Table) -> Result<String> {
    let q = format!(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
        common::escape::string_literal(&v.db),
        common::escape::string_literal(&v.name)
    );
    let rows = crate::catalog::rows(conn, &q)?;
    if rows.is_empty() {
        bail!("view {} has no columns to make a table of", v.display());
    }
    let cols: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut c = format!("  {} {}", ident(&text(&r[0])), text(&r[1]));
            let (charset, collation) = (text(&r[3]), text(&r[4]));
            if !charset.is_empty() {
                c.push_str(&format!(" CHARACTER SET {charset}"));
            }
            if !collation.is_empty() {
                c.push_str(&format!(" COLLATE {collation}"));
            }
            if text(&r[2]).eq_ignore_ascii_case("NO") {
                c.push_str(" NOT NULL");
            }
            c
        })
        .collect();
    Ok(format!("CREATE TABLE {} (\n{}\n);\n", ident(&v.name), cols.join(",\n")))
}

/// The stand-in table that lets views on views load before the real view:
/// the first column with its real type (unless the engine,
/// `--table-engine-for-view-dependency`, MEMORY by default, cannot hold
/// it), the others `int`.
pub fn view_placeholder(conn: &mut mysql::Conn, v: &Table, engine: &str) -> Result<String> {
    let mut cols = Vec::new();
    for (i, c) in v.columns.iter().enumerate() {
        let ty = if i == 0 && !LOB_TYPES.contains(&c.data_type.as_str()) {
            let r = show(
                conn,
                &format!(
                    "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND COLUMN_NAME = {}",
                    common::escape::string_literal(&v.db),
                    common::escape::string_literal(&v.name),
                    common::escape::string_literal(&c.name)
                ),
            )?;
            text(&r[0])
        } else {
            "int".to_string()
        };
        cols.push(format!("{} {ty}", ident(&c.name)));
    }
    if cols.is_empty() {
        cols.push("`rdumper_placeholder` int".into());
    }
    Ok(format!("CREATE TABLE IF NOT EXISTS {}(\n{}\n) ENGINE={engine};\n", ident(&v.name), cols.join(",\n")))
}

/// A SHOW CREATE result's statement, its DEFINER clause as `definer`
/// says (`--skip-definer`, `--replace-definer`).
fn create_statement(row: &Row, column: &str, definer: &Definer) -> Result<String> {
    let create = col(row, column)?;
    Ok(definer.apply(&create).unwrap_or(create))
}

pub fn view_create(conn: &mut mysql::Conn, v: &Table, definer: &Definer) -> Result<String> {
    // With the view's database current, the server leaves names in the
    // definition unqualified, so the view loads into a renamed database.
    crate::snapshot::exec(conn, &format!("USE {}", ident(&v.db)))?;
    let row = show(conn, &format!("SHOW CREATE VIEW {}", v.qualified()))?;
    let body = format!("{};\n", create_statement(&row, "Create View", definer)?);
    Ok(format!(
        "DROP TABLE IF EXISTS {name};\nDROP VIEW IF EXISTS {name};\n{}",
        charset_block(&col(&row, "character_set_client")?, &col(&row, "collation_connection")?, &body),
        name = ident(&v.name)
    ))
}

pub fn triggers(conn: &mut mysql::Conn, t: &Table, definer: &Definer) -> Result<String> {
    let mut s = String::new();
    for name in &t.triggers {
        let row = show(conn, &format!("SHOW CREATE TRIGGER {}.{}", ident(&t.db), ident(name)))?;
        let body = format!(
            "DROP TRIGGER IF EXISTS {};\n{};\n",
            ident(name),
            protect_body(&create_statement(&row, "SQL Original Statement", definer)?)
        );
        s.push_str(&charset_block(&col(&row, "character_set_client")?, &col(&row, "collation_connection")?, &body));
    }
    Ok(s)
}

pub fn post(conn: &mut mysql::Conn, db: &str, routines: &[Routine], definer: &Definer) -> Result<String> {
    let mut s = String::new();
    for r in routines {
        let q = format!("SHOW CREATE {} {}.{}", r.kind, ident(db), ident(&r.name));
        let row = show(conn, &q).with_context(|| format!("{} {db}.{}", r.kind.to_lowercase(), r.name))?;
        let create_col = match r.kind {
            "FUNCTION" => "Create Function",
            "PROCEDURE" => "Create Procedure",
            _ => "Create Event",
        };
        let body = format!(
            "DROP {} IF EXISTS {};\n{};\n",
            r.kind,
            ident(&r.name),
            protect_body(&create_statement(&row, create_col, definer)?)
        );
        s.push_str(&charset_block(&col(&row, "character_set_client")?, &col(&row, "collation_connection")?, &body));
    }
    Ok(s)
}

/// A sequence: dropped, created, and set to its next value.
pub fn sequence(conn: &mut mysql::Conn, t: &Table) -> Result<String> {
    let row = show(conn, &format!("SHOW CREATE SEQUENCE {}", t.qualified()))?;
    let create = col(&row, "Create Table")?;
    let next = show(conn, &format!("SELECT next_not_cached_value FROM {}", t.qualified()))?;
    let next = text(&next[0]);
    if next.is_empty() || !next.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        bail!("sequence {}: unexpected next value {next:?}", t.display());
    }
    Ok(format!(
        "DROP TABLE IF EXISTS {name};\nDROP VIEW IF EXISTS {name};\n{create};\nDO SETVAL({name}, {next}, 0);\n",
        name = ident(&t.name)
    ))
}
