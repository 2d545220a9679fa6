//! Checksums of definitions, as mydumper 1.0 records them in the metadata
//! and myloader checks them after a load: per table `schema_checksum`
//! (columns; a view's definition), `indexes_checksum` and
//! `triggers_checksum`; per database `schema_checksum` (character set and
//! collation), `post_checksum` (routines), `events_checksum` and
//! `triggers_checksum`. Each is the `BIT_XOR` of the `CRC32` of one text per
//! row of an `information_schema` table, written as lower-case hex, `0`
//! when there is no row; the texts are mydumper's, so that either program
//! checks what the other recorded. Recorded values compare without regard
//! to case (mydumper writes some in upper case).
//!
//! A database's checksums are read with one query per kind, grouped by
//! table, rather than one query per table: the same values, in a handful of
//! queries however many tables there are. `BIT_XOR` is associative, so the
//! database's trigger checksum is the XOR of its tables'.

use std::collections::HashMap;

use clap::Args;
use mysql::prelude::Queryable;

use crate::escape::string_literal;

/// The checksum options both programs take, spelled as mydumper spells them.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Checksum Options")]
pub struct ChecksumArgs {
    /// Checksums of everything: data, schemas, routines and triggers
    #[arg(short = 'M', long)]
    pub checksum_all: bool,
    /// Checksums of the tables' data (CHECKSUM TABLE)
    #[arg(long, visible_alias = "table-checksums")]
    pub data_checksums: bool,
    /// Checksums of databases', tables', indexes' and views' definitions
    /// (the default)
    #[arg(long, overrides_with = "no_schema_checksums")]
    pub schema_checksums: bool,
    /// No checksums of databases', tables', indexes' and views' definitions
    #[arg(long, overrides_with = "schema_checksums")]
    pub no_schema_checksums: bool,
    /// Checksums of each table's triggers too (routines, events and a whole
    /// database's triggers are checksummed whenever they are dumped)
    #[arg(long)]
    pub routine_checksums: bool,
    /// No checksum of databases' character set and collation
    #[arg(long)]
    pub skip_database_checksums: bool,
    /// No checksums of the tables' data
    #[arg(long)]
    pub skip_data_checksums: bool,
    /// No checksums of the tables' columns
    #[arg(long)]
    pub skip_table_checksums: bool,
    /// No checksums of the tables' indexes
    #[arg(long)]
    pub skip_index_checksums: bool,
    /// No checksums of the views' definitions
    #[arg(long)]
    pub skip_view_checksums: bool,
    /// No checksums of triggers
    #[arg(long)]
    pub skip_trigger_checksums: bool,
    /// No checksums of stored procedures and functions
    #[arg(long)]
    pub skip_routine_checksums: bool,
    /// No checksums of events
    #[arg(long)]
    pub skip_event_checksums: bool,
}

/// Which checksums are on: for rdumper, the ones it records (of the objects
/// it dumps); for rloader, the recorded ones it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    pub data: bool,
    pub table: bool,
    pub index: bool,
    pub view: bool,
    /// A table's own `triggers_checksum` (rdumper: with `--routine-checksums`).
    pub table_triggers: bool,
    pub database: bool,
    pub routines: bool,
    pub events: bool,
    /// A database's `triggers_checksum`.
    pub triggers: bool,
}

impl ChecksumArgs {
    /// The kinds these options turn on.
    pub fn kinds(&self) -> Result<Kinds, String> {
        let data = self.data_checksums || self.checksum_all;
        if self.data_checksums && self.skip_data_checksums {
            return Err("--data-checksums and --skip-data-checksums contradict each other".into());
        }
        let schema = !self.no_schema_checksums || self.checksum_all;
        Ok(Kinds {
            data: data && !self.skip_data_checksums,
            table: schema && !self.skip_table_checksums,
            index: schema && !self.skip_index_checksums,
            view: schema && !self.skip_view_checksums,
            table_triggers: (self.routine_checksums || self.checksum_all) && !self.skip_trigger_checksums,
            database: schema && !self.skip_database_checksums,
            routines: !self.skip_routine_checksums,
            events: !self.skip_event_checksums,
            triggers: !self.skip_trigger_checksums,
        })
    }
}

impl ChecksumArgs {
    /// The recorded checksums a load checks: all but those turned off
    /// (`--skip-*-checksums`, `--no-schema-checksums`). myloader checks a
    /// table's data and triggers only when told `--data-checksums` or
    /// `--routine-checksums`; a dump that records them asks for the check.
    pub fn checks(&self) -> Result<Kinds, String> {
        let recorded = self.kinds()?;
        Ok(Kinds {
            data: !self.skip_data_checksums,
            table_triggers: !self.skip_trigger_checksums,
            ..recorded
        })
    }
}

/// What to read of one database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub columns: bool,
    pub indexes: bool,
    pub views: bool,
    pub triggers: bool,
    pub schema: bool,
    pub routines: bool,
    pub events: bool,
}

impl Wanted {
    pub fn any(&self) -> bool {
        self.columns || self.indexes || self.views || self.triggers || self.schema || self.routines || self.events
    }
}

/// One database's checksums as the server has them now (zero for what was
/// not read, or has no row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseChecksums {
    /// By table name: columns (of views too).
    pub columns: HashMap<String, u64>,
    pub indexes: HashMap<String, u64>,
    /// By view name: its definition without the database's name.
    pub views: HashMap<String, u64>,
    /// By table name: its triggers' statements.
    pub triggers: HashMap<String, u64>,
    pub schema: u64,
    pub routines: u64,
    pub events: u64,
}

/// The text mydumper checksums for each row of a trigger or event: its
/// statement without spaces, tabs and line breaks.
fn squeezed(column: &str) -> String {
    format!("REPLACE(REPLACE(REPLACE(REPLACE({column}, CHAR(32), ''), CHAR(13), ''), CHAR(10), ''), CHAR(9), '')")
}

fn crc(text: &str) -> String {
    format!("BIT_XOR(CAST(CRC32({text}) AS UNSIGNED))")
}

impl DatabaseChecksums {
    /// Reads what `wanted` asks for of database `db`.
    pub fn read(conn: &mut mysql::Conn, db: &str, wanted: Wanted) -> Result<DatabaseChecksums, mysql::Error> {
        let lit = string_literal(db);
        let mut sums = DatabaseChecksums::default();
        let grouped = |conn: &mut mysql::Conn, name: &str, text: &str, from: &str, schema: &str| {
            let q = format!(
                "SELECT CAST({name} AS BINARY), {} FROM information_schema.{from} WHERE {schema} = {lit} GROUP BY 1",
                crc(text)
            );
            let rows: Vec<(Vec<u8>, Option<u64>)> = conn.query(q)?;
            Ok::<_, mysql::Error>(
                rows.into_iter().map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), v.unwrap_or(0))).collect(),
            )
        };
        let single = |conn: &mut mysql::Conn, text: &str, from: &str, schema: &str| {
            let q = format!("SELECT {} FROM information_schema.{from} WHERE {schema} = {lit}", crc(text));
            let v: Option<Option<u64>> = conn.query_first(q)?;
            Ok::<_, mysql::Error>(v.flatten().unwrap_or(0))
        };
        if wanted.columns {
            sums.columns = grouped(
                conn,
                "table_name",
                "CONCAT_WS(' ', column_name, ordinal_position, data_type)",
                "columns",
                "table_schema",
            )?;
        }
        if wanted.indexes {
            sums.indexes = grouped(
                conn,
                "table_name",
                "CONCAT_WS(' ', index_name, seq_in_index, column_name)",
                "statistics",
                "table_schema",
            )?;
        }
        if wanted.views {
            sums.views =
                grouped(conn, "table_name", "REPLACE(view_definition, table_schema, '')", "views", "table_schema")?;
        }
        if wanted.triggers {
            sums.triggers =
                grouped(conn, "event_object_table", &squeezed("action_statement"), "triggers", "event_object_schema")?;
        }
        if wanted.schema {
            sums.schema = single(
                conn,
                "CONCAT(default_character_set_name, default_collation_name)",
                "schemata",
                "schema_name",
            )?;
        }
        if wanted.routines {
            sums.routines = single(conn, "REPLACE(routine_definition, ' ', '')", "routines", "routine_schema")?;
        }
        if wanted.events {
            sums.events = single(conn, &squeezed("event_definition"), "events", "event_schema")?;
        }
        Ok(sums)
    }

    /// The value of `name` in `map`, by exact name, else by name without
    /// regard to case (a server with `lower_case_table_names`).
    fn of(map: &HashMap<String, u64>, name: &str) -> u64 {
        map.get(name)
            .copied()
            .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v))
            .unwrap_or(0)
    }

    pub fn table(&self, name: &str) -> String {
        hex(Self::of(&self.columns, name))
    }

    pub fn indexes(&self, name: &str) -> String {
        hex(Self::of(&self.indexes, name))
    }

    pub fn view(&self, name: &str) -> String {
        hex(Self::of(&self.views, name))
    }

    pub fn table_triggers(&self, name: &str) -> String {
        hex(Self::of(&self.triggers, name))
    }

    /// All the database's triggers.
    pub fn all_triggers(&self) -> String {
        hex(self.triggers.values().fold(0, |a, v| a ^ v))
    }
}

/// A checksum as the metadata writes it.
pub fn hex(v: u64) -> String {
    format!("{v:x}")
}

/// Whether a recorded checksum and one read now agree.
pub fn same(recorded: &str, now: &str) -> bool {
    recorded.trim().eq_ignore_ascii_case(now.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        c: ChecksumArgs,
    }

    fn kinds(args: &[&str]) -> Result<Kinds, String> {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        T::try_parse_from(v).map_err(|e| e.to_string())?.c.kinds()
    }

    #[test]
    fn defaults_are_mydumpers() {
        let k = kinds(&[]).unwrap();
        assert!(k.table && k.index && k.view && k.database && k.routines && k.events && k.triggers);
        assert!(!k.data && !k.table_triggers);
        let all = kinds(&["-M", "--no-schema-checksums"]).unwrap();
        assert!(all.data && all.table && all.table_triggers);
    }

    #[test]
    fn the_last_of_schema_and_no_schema_wins() {
        assert!(!kinds(&["--schema-checksums", "--no-schema-checksums"]).unwrap().table);
        assert!(kinds(&["--no-schema-checksums", "--schema-checksums"]).unwrap().table);
        let k = kinds(&["--no-schema-checksums"]).unwrap();
        assert!(!k.table && !k.index && !k.view && !k.database);
        assert!(k.routines && k.events && k.triggers, "definitions of code are not schema checksums");
    }

    #[test]
    fn skips_and_contradictions() {
        let k = kinds(&["--data-checksums", "--skip-index-checksums", "--skip-trigger-checksums"]).unwrap();
        assert!(k.data && k.table && !k.index && !k.triggers && !k.table_triggers);
        assert!(!kinds(&["-M", "--skip-data-checksums"]).unwrap().data);
        let e = kinds(&["--data-checksums", "--skip-data-checksums"]).unwrap_err();
        assert!(e.contains("contradict"), "{e}");
        assert!(kinds(&["--table-checksums"]).unwrap().data);
    }

    #[test]
    fn a_load_checks_what_was_recorded_unless_skipped() {
        let parse = |args: &[&str]| {
            let mut v = vec!["t"];
            v.extend_from_slice(args);
            T::try_parse_from(v).unwrap().c.checks().unwrap()
        };
        let k = parse(&[]);
        assert!(k.data && k.table_triggers && k.table && k.database);
        let k = parse(&["--skip-data-checksums", "--skip-trigger-checksums", "--no-schema-checksums"]);
        assert!(!k.data && !k.table_triggers && !k.triggers && !k.table && !k.view);
        assert!(k.routines && k.events);
    }

    #[test]
    fn lookups_fall_back_to_any_case_and_zero() {
        let mut s = DatabaseChecksums::default();
        s.columns.insert("Actor".into(), 0xb73b0f5d);
        s.triggers.insert("a".into(), 0xf0);
        s.triggers.insert("b".into(), 0x0f);
        assert_eq!(s.table("Actor"), "b73b0f5d");
        assert_eq!(s.table("actor"), "b73b0f5d");
        assert_eq!(s.table("film"), "0");
        assert_eq!(s.all_triggers(), "ff");
        assert!(same(" 5A5699D9", "5a5699d9"));
        assert!(!same("0", "1"));
    }
}
