//! The catalog: which databases, tables, views, sequences, triggers,
//! routines and events the dump takes, read from information_schema, with
//! what the writers need to know about each table (columns and their value
//! kinds, the key to chunk on, the engine, the row estimate).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use common::escape::{string_literal, ValueKind};
use common::naming::FileNameMapper;
use mysql::prelude::Queryable;
use mysql::{Row, Value};

use crate::cli::Options;

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub kind: ValueKind,
    /// Generated (virtual or stored): not written as data.
    pub generated: bool,
    /// MariaDB INVISIBLE: not in `SELECT *`, so INSERTs need a column list.
    pub invisible: bool,
    /// Character set and collation of a character column.
    pub charset: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Table,
    View,
    Sequence,
}

/// The column data chunks are cut on: the first column of the primary key
/// (or of a unique key).
#[derive(Debug, Clone)]
pub struct ChunkKey {
    pub column: String,
    /// Integer type: key ranges are possible.
    pub integer: bool,
    /// A CHAR, VARCHAR, BINARY or VARBINARY key (`--split-string-pk`): its
    /// character set and collation, `None` for the binary types.
    pub string: Option<Option<(String, String)>>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub db: String,
    pub name: String,
    /// File-name forms of the database and table names.
    pub db_form: String,
    pub name_form: String,
    pub kind: ObjectKind,
    pub engine: String,
    pub rows_estimate: u64,
    pub columns: Vec<Column>,
    pub key: Option<ChunkKey>,
    /// All columns of the key (for `--order-by-primary`).
    pub key_columns: Vec<String>,
    pub triggers: Vec<String>,
    /// Whether the data is skipped (system log tables, MERGE tables, `-d`).
    pub skip_data: bool,
    /// A view dumped as a table (`--views-as-tables`).
    pub from_view: bool,
}

impl Table {
    /// `db`.`table`, for SQL.
    pub fn qualified(&self) -> String {
        format!("{}.{}", common::escape::ident(&self.db), common::escape::ident(&self.name))
    }

    /// For messages.
    pub fn display(&self) -> String {
        self.qualified()
    }

    /// Whether the engine keeps a transactional snapshot of its rows: one
    /// of `engines` (`--optimize-keys-engines`, lower case; InnoDB is also
    /// called XtraDB).
    pub fn transactional(&self, engines: &[String]) -> bool {
        let e = self.engine.to_ascii_lowercase();
        e.is_empty() || engines.contains(&e) || (e == "xtradb" && engines.iter().any(|x| x == "innodb"))
    }

    /// Columns written as data.
    pub fn data_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| !c.generated)
    }

    /// Whether INSERTs must name their columns.
    pub fn needs_column_list(&self) -> bool {
        self.columns.iter().any(|c| c.generated || c.invisible)
    }
}

#[derive(Debug, Clone)]
pub struct Routine {
    /// `FUNCTION`, `PROCEDURE` or `EVENT`.
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Database {
    pub name: String,
    pub form: String,
    /// Whether `DB-schema-create.sql` is written.
    pub schema_create: bool,
    pub tables: Vec<Table>,
    /// Functions and procedures (`-R`), then events (`-E`).
    pub post: Vec<Routine>,
    /// Every base table of the database is dumped (no filter, ignored
    /// engine or `-U` left one out): its triggers are all in the dump.
    pub all_tables: bool,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub databases: Vec<Database>,
    /// With `-U`: the selected base tables skipped as not updated lately,
    /// as `db.table`.
    pub not_updated: Vec<String>,
}

/// A value as text; names in information_schema are UTF-8.
pub fn text(v: &Value) -> String {
    match v {
        Value::NULL => String::new(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

fn num(v: &Value) -> u64 {
    text(v).trim().parse().unwrap_or(0)
}

/// Runs a query, with the query in the error.
pub fn rows(conn: &mut mysql::Conn, q: &str) -> Result<Vec<Row>> {
    conn.query::<Row, _>(q).map_err(|e| common::conn::QueryError::new(&e)).with_context(|| {
        let short: String = q.chars().take(200).collect();
        format!("query failed: {short}")
    })
}

fn in_list(names: &[String]) -> String {
    names.iter().map(|n| string_literal(n)).collect::<Vec<_>>().join(",")
}

const INTEGER_TYPES: &[&str] = &["tinyint", "smallint", "mediumint", "int", "integer", "bigint"];

/// Reads the catalog of everything the options select.
pub fn load(conn: &mut mysql::Conn, opts: &Options, names: &FileNameMapper) -> Result<Catalog> {
    let f = &opts.filter;
    let dbs: Vec<String> = rows(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")?
        .iter()
        .map(|r| text(&r[0]))
        .filter(|d| f.database(d))
        .collect();
    if dbs.is_empty() {
        return Ok(Catalog::default());
    }
    let list = in_list(&dbs);

    // Columns of every table and view.
    let mut columns: BTreeMap<(String, String), Vec<Column>> = BTreeMap::new();
    for r in rows(
        conn,
        &format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_GENERATED, EXTRA, \
             CHARACTER_SET_NAME, COLLATION_NAME \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({list}) \
             ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
        ),
    )? {
        let data_type = text(&r[3]).to_ascii_lowercase();
        let extra = text(&r[5]).to_ascii_uppercase();
        let generated = text(&r[4]).eq_ignore_ascii_case("ALWAYS") || extra.contains("GENERATED");
        columns.entry((text(&r[0]), text(&r[1]))).or_default().push(Column {
            name: text(&r[2]),
            kind: ValueKind::from_data_type(&data_type),
            data_type,
            generated,
            invisible: extra.contains("INVISIBLE"),
            charset: match (&r[6], &r[7]) {
                (mysql::Value::NULL, _) | (_, mysql::Value::NULL) => None,
                (cs, coll) => Some((text(cs), text(coll))),
            },
        });
    }

    // Keys: PRIMARY first, else the first unique index.
    type Indexes = BTreeMap<(u8, String), Vec<String>>;
    let mut keys: BTreeMap<(String, String), Indexes> = BTreeMap::new();
    for r in rows(
        conn,
        &format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({list}) \
             ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
        ),
    )? {
        if num(&r[4]) != 0 {
            continue;
        }
        let index = text(&r[2]);
        let rank = if index == "PRIMARY" { 0 } else { 1 };
        keys.entry((text(&r[0]), text(&r[1]))).or_default().entry((rank, index)).or_default().push(text(&r[3]));
    }

    let mut triggers: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    if opts.triggers {
        for r in rows(
            conn,
            &format!(
                "SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS \
                 WHERE EVENT_OBJECT_SCHEMA IN ({list}) ORDER BY EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, ACTION_ORDER"
            ),
        )? {
            triggers.entry((text(&r[0]), text(&r[1]))).or_default().push(text(&r[2]));
        }
    }

    let mut post: BTreeMap<String, Vec<Routine>> = BTreeMap::new();
    if opts.routines {
        for r in rows(
            conn,
            &format!(
                "SELECT ROUTINE_SCHEMA, ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES \
                 WHERE ROUTINE_SCHEMA IN ({list}) AND ROUTINE_TYPE IN ('FUNCTION','PROCEDURE') \
                 ORDER BY ROUTINE_SCHEMA, ROUTINE_TYPE, ROUTINE_NAME"
            ),
        )? {
            let (db, name) = (text(&r[0]), text(&r[2]));
            if f.object(&db, &name) {
                let kind = if text(&r[1]).eq_ignore_ascii_case("FUNCTION") { "FUNCTION" } else { "PROCEDURE" };
                post.entry(db).or_default().push(Routine { kind, name });
            }
        }
    }
    if opts.events {
        for r in rows(
            conn,
            &format!(
                "SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS \
                 WHERE EVENT_SCHEMA IN ({list}) ORDER BY EVENT_SCHEMA, EVENT_NAME"
            ),
        )? {
            let (db, name) = (text(&r[0]), text(&r[1]));
            if f.object(&db, &name) {
                post.entry(db).or_default().push(Routine { kind: "EVENT", name });
            }
        }
    }

    let mut catalog = Catalog::default();
    // `-U DAYS`: base tables last updated before then are left out. A table
    // without an UPDATE_TIME (InnoDB's before its first change since the
    // server started) is dumped, as the comparison with NULL is not true.
    let not_updated: std::collections::BTreeSet<(String, String)> = match opts.updated_since {
        None => Default::default(),
        Some(days) => rows(
            conn,
            &format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({list}) \
                 AND TABLE_TYPE = 'BASE TABLE' AND UPDATE_TIME < NOW() - INTERVAL {days} DAY"
            ),
        )?
        .iter()
        .map(|r| (text(&r[0]), text(&r[1])))
        .collect(),
    };
    let table_rows = rows(
        conn,
        &format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE, ''), IFNULL(TABLE_ROWS, 0) \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({list}) ORDER BY TABLE_SCHEMA, TABLE_NAME"
        ),
    )?;
    let mut by_db: BTreeMap<String, Vec<Table>> = BTreeMap::new();
    // Base tables of each database, and those taken.
    let mut base: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &table_rows {
        let (db, name) = (text(&r[0]), text(&r[1]));
        let kind = match text(&r[2]).to_ascii_uppercase().as_str() {
            "VIEW" | "SYSTEM VIEW" => ObjectKind::View,
            "SEQUENCE" => ObjectKind::Sequence,
            _ => ObjectKind::Table,
        };
        if kind == ObjectKind::Table {
            base.entry(db.clone()).or_default().0 += 1;
        }
        if !f.object(&db, &name) {
            continue;
        }
        if kind == ObjectKind::View && opts.no_views {
            continue;
        }
        let engine = text(&r[3]);
        if kind == ObjectKind::Table && f.engine_ignored(&engine) {
            log::info!("skipping {db}.{name}: engine {engine} is ignored");
            continue;
        }
        let key_id = (db.clone(), name.clone());
        if kind == ObjectKind::Table && not_updated.contains(&key_id) {
            log::info!("skipping {db}.{name}: not updated in the last {} days", opts.updated_since.unwrap_or(0));
            catalog.not_updated.push(format!("{db}.{name}"));
            continue;
        }
        let cols = columns.remove(&key_id).unwrap_or_default();
        // A view whose tables or columns are gone has no columns; a table
        // the server cannot open has no engine.
        let broken = match kind {
            ObjectKind::View if cols.is_empty() => Some(
                match conn.query_drop(format!("SHOW COLUMNS FROM {}.{}", common::escape::ident(&db), common::escape::ident(&name))) {
                    Err(e) => common::conn::server_message(&e),
                    Ok(()) => "it has no columns".to_string(),
                },
            ),
            ObjectKind::Table if engine.is_empty() => Some("the server reports no engine for it".to_string()),
            _ => None,
        };
        if let Some(why) = broken {
            if opts.exit_if_broken_table_found {
                anyhow::bail!("`{db}`.`{name}` is broken: {why} (--exit-if-broken-table-found)");
            }
            log::warn!("`{db}`.`{name}` is broken: {why}; dumped as it is");
        }
        let from_view = kind == ObjectKind::View && opts.views_as_tables;
        let kind = if from_view { ObjectKind::Table } else { kind };
        let key_columns: Vec<String> = keys.get(&key_id).and_then(|k| k.values().next().cloned()).unwrap_or_default();
        let key = key_columns.first().map(|c| {
            let col = cols.iter().find(|col| &col.name == c);
            ChunkKey {
                column: c.clone(),
                integer: col.is_some_and(|col| INTEGER_TYPES.contains(&col.data_type.as_str())),
                string: col
                    .filter(|col| ["char", "varchar", "binary", "varbinary"].contains(&col.data_type.as_str()))
                    .map(|col| col.charset.clone()),
            }
        });
        let system_log = db.eq_ignore_ascii_case("mysql")
            && ["general_log", "slow_log", "innodb_index_stats", "innodb_table_stats", "transaction_registry"]
                .contains(&name.to_ascii_lowercase().as_str());
        let skip_data = opts.no_data || system_log || engine.eq_ignore_ascii_case("MRG_MYISAM");
        if kind == ObjectKind::Table && !from_view {
            base.entry(db.clone()).or_default().1 += 1;
        }
        by_db.entry(db.clone()).or_default().push(Table {
            db_form: names.file_name_form(&db),
            name_form: names.file_name_form(&name),
            db,
            name,
            kind,
            engine,
            rows_estimate: num(&r[4]),
            columns: cols,
            key,
            key_columns,
            triggers: triggers.remove(&key_id).unwrap_or_default(),
            skip_data,
            from_view,
        });
    }
    for db in dbs {
        let tables = by_db.remove(&db).unwrap_or_default();
        let post = post.remove(&db).unwrap_or_default();
        let schema_create = f.database_selected(&db) && (!opts.no_schemas || f.has_tables_list());
        if tables.is_empty() && post.is_empty() && !schema_create {
            continue;
        }
        let all_tables = base.get(&db).is_none_or(|(all, taken)| all == taken);
        catalog.databases.push(Database { form: names.file_name_form(&db), name: db, schema_create, tables, post, all_tables });
    }
    Ok(catalog)
}
