//! File naming of a dump directory, in both directions: an object becomes a
//! file name (`DumpFile::file_name`) and a file name becomes an object
//! (`DumpFile::parse`). The rules are mydumper 1.0's, and parsing also accepts
//! the forms older mydumper versions wrote.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Compression of a file, recognised by its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
    /// Through the program of `--exec-per-thread`, with the suffix of
    /// `--exec-per-thread-extension` (see `compress::set_exec`).
    Exec,
}

impl Compression {
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
            Compression::Exec => crate::compress::exec().map(|e| e.extension.as_str()).unwrap_or(""),
        }
    }

    /// Splits a known compression suffix off a file name.
    pub fn split(name: &str) -> (&str, Compression) {
        if let Some(stem) = crate::compress::exec().and_then(|e| name.strip_suffix(e.extension.as_str())) {
            (stem, Compression::Exec)
        } else if let Some(stem) = name.strip_suffix(".gz") {
            (stem, Compression::Gzip)
        } else if let Some(stem) = name.strip_suffix(".zst") {
            (stem, Compression::Zstd)
        } else {
            (name, Compression::None)
        }
    }

    /// Parses mydumper's `-c` argument: `GZIP`, `ZSTD` (any case), or empty
    /// for the default (zstd, as mydumper 1.0 prefers it).
    pub fn from_option(value: &str) -> Option<Compression> {
        match value.to_ascii_uppercase().as_str() {
            "" | "1" | "ZSTD" => Some(Compression::Zstd),
            "GZIP" | "GZ" => Some(Compression::Gzip),
            "0" | "NONE" => Some(Compression::None),
            _ => None,
        }
    }
}

/// Whether a data file holds SQL statements or LOAD DATA / CSV rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataExt {
    Sql,
    Dat,
}

impl DataExt {
    pub fn as_str(self) -> &'static str {
        match self {
            DataExt::Sql => ".sql",
            DataExt::Dat => ".dat",
        }
    }
}

/// Position of a data file within its table: mydumper's part and sub-part.
/// Treated as an opaque sort key. `part == None` is mydumper 0.10's
/// unnumbered `DB.TBL.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkId {
    pub part: Option<u64>,
    pub sub: u64,
}

impl ChunkId {
    pub fn new(part: u64, sub: u64) -> Self {
        ChunkId { part: Some(part), sub }
    }
}

/// Every kind of file a dump directory can hold. Database and table names
/// here are the *file-name forms* (see [`FileNameMapper`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DumpFile {
    /// `metadata`: the dump's global metadata, written last.
    Metadata,
    /// `metadata.partial`: a metadata file still being written.
    MetadataPartialFile,
    /// `metadata.header`: the first file of a stream.
    MetadataHeader,
    /// `metadata.partial.N`: stream metadata written during the dump.
    MetadataPartial(u64),
    /// `DB-schema-create.sql`
    SchemaCreate { db: String, compression: Compression },
    /// `DB.TBL-schema.sql`: a table, or a view's placeholder table.
    TableSchema { db: String, table: String, compression: Compression },
    /// `DB.VIEW-schema-view.sql`
    ViewSchema { db: String, table: String, compression: Compression },
    /// `DB.SEQ-schema-sequence.sql`
    SequenceSchema { db: String, table: String, compression: Compression },
    /// `DB-schema-triggers.sql` or `DB.TBL-schema-triggers.sql`
    Triggers { db: String, table: Option<String>, compression: Compression },
    /// `DB-schema-post.sql`: routines and events.
    Post { db: String, compression: Compression },
    /// `DB.TBL.PPPPP[.SSSSS].sql|dat`, or 0.10's `DB.TBL.sql`.
    Data { db: String, table: String, chunk: ChunkId, ext: DataExt, compression: Compression },
    /// `all-schema-create-tablespace.sql`
    Tablespace { compression: Compression },
    /// Files older versions wrote that carry nothing to load: per-table
    /// metadata (`DB.TBL.metadata`, `DB.TBL-metadata`) and checksum files.
    Ignored(String),
    /// `resume`, `resume.partial`: loader state.
    Resume,
    /// `not_updated_tables`
    NotUpdatedTables,
}

impl DumpFile {
    /// The file's name in a dump directory.
    pub fn file_name(&self) -> String {
        match self {
            DumpFile::Metadata => "metadata".into(),
            DumpFile::MetadataPartialFile => "metadata.partial".into(),
            DumpFile::MetadataHeader => "metadata.header".into(),
            DumpFile::MetadataPartial(n) => format!("metadata.partial.{n}"),
            DumpFile::SchemaCreate { db, compression } => {
                format!("{db}-schema-create.sql{}", compression.suffix())
            }
            DumpFile::TableSchema { db, table, compression } => {
                format!("{db}.{table}-schema.sql{}", compression.suffix())
            }
            DumpFile::ViewSchema { db, table, compression } => {
                format!("{db}.{table}-schema-view.sql{}", compression.suffix())
            }
            DumpFile::SequenceSchema { db, table, compression } => {
                format!("{db}.{table}-schema-sequence.sql{}", compression.suffix())
            }
            DumpFile::Triggers { db, table: Some(t), compression } => {
                format!("{db}.{t}-schema-triggers.sql{}", compression.suffix())
            }
            DumpFile::Triggers { db, table: None, compression } => {
                format!("{db}-schema-triggers.sql{}", compression.suffix())
            }
            DumpFile::Post { db, compression } => {
                format!("{db}-schema-post.sql{}", compression.suffix())
            }
            DumpFile::Data { db, table, chunk, ext, compression } => {
                let mut s = format!("{db}.{table}");
                if let Some(part) = chunk.part {
                    s.push_str(&format!(".{part:05}"));
                    if chunk.sub != 0 {
                        s.push_str(&format!(".{:05}", chunk.sub));
                    }
                }
                s.push_str(ext.as_str());
                s.push_str(compression.suffix());
                s
            }
            DumpFile::Tablespace { compression } => {
                format!("all-schema-create-tablespace.sql{}", compression.suffix())
            }
            DumpFile::Ignored(name) => name.clone(),
            DumpFile::Resume => "resume".into(),
            DumpFile::NotUpdatedTables => "not_updated_tables".into(),
        }
    }

    /// Classifies a file name. `None` for names that are no mydumper file
    /// kind (and names that are unsafe as a file name: see [`is_safe_file_name`]).
    pub fn parse(name: &str) -> Option<DumpFile> {
        if !is_safe_file_name(name) {
            return None;
        }
        match name {
            "metadata" => return Some(DumpFile::Metadata),
            "metadata.partial" => return Some(DumpFile::MetadataPartialFile),
            "metadata.header" => return Some(DumpFile::MetadataHeader),
            "resume" | "resume.partial" => return Some(DumpFile::Resume),
            "not_updated_tables" => return Some(DumpFile::NotUpdatedTables),
            _ => {}
        }
        if let Some(n) = name.strip_prefix("metadata.partial.") {
            return n.parse().ok().map(DumpFile::MetadataPartial);
        }
        if name.ends_with(".metadata")
            || name.ends_with("-metadata")
            || name.ends_with(".checksum")
            || name.ends_with("-checksum")
        {
            return Some(DumpFile::Ignored(name.to_string()));
        }
        let (stem, compression) = Compression::split(name);
        if let Some(rest) = stem.strip_suffix(".sql") {
            if rest == "all-schema-create-tablespace" {
                return Some(DumpFile::Tablespace { compression });
            }
            if let Some(db) = rest.strip_suffix("-schema-create") {
                return non_empty(db).map(|db| DumpFile::SchemaCreate { db, compression });
            }
            if let Some(db) = rest.strip_suffix("-schema-post") {
                return non_empty(db).map(|db| DumpFile::Post { db, compression });
            }
            if let Some(obj) = rest.strip_suffix("-schema-view") {
                let (db, table) = split_db_table(obj)?;
                return Some(DumpFile::ViewSchema { db, table, compression });
            }
            if let Some(obj) = rest.strip_suffix("-schema-sequence") {
                let (db, table) = split_db_table(obj)?;
                return Some(DumpFile::SequenceSchema { db, table, compression });
            }
            if let Some(obj) = rest.strip_suffix("-schema-triggers") {
                return match split_db_table(obj) {
                    Some((db, table)) => Some(DumpFile::Triggers { db, table: Some(table), compression }),
                    None => non_empty(obj).map(|db| DumpFile::Triggers { db, table: None, compression }),
                };
            }
            if let Some(obj) = rest.strip_suffix("-schema") {
                let (db, table) = split_db_table(obj)?;
                return Some(DumpFile::TableSchema { db, table, compression });
            }
            return parse_data(rest, DataExt::Sql, compression);
        }
        if let Some(rest) = stem.strip_suffix(".dat") {
            return parse_data(rest, DataExt::Dat, compression);
        }
        None
    }

    pub fn compression(&self) -> Compression {
        match self {
            DumpFile::SchemaCreate { compression, .. }
            | DumpFile::TableSchema { compression, .. }
            | DumpFile::ViewSchema { compression, .. }
            | DumpFile::SequenceSchema { compression, .. }
            | DumpFile::Triggers { compression, .. }
            | DumpFile::Post { compression, .. }
            | DumpFile::Data { compression, .. }
            | DumpFile::Tablespace { compression } => *compression,
            _ => Compression::None,
        }
    }

    /// The database (file-name form) this file belongs to, if any.
    pub fn db(&self) -> Option<&str> {
        match self {
            DumpFile::SchemaCreate { db, .. }
            | DumpFile::TableSchema { db, .. }
            | DumpFile::ViewSchema { db, .. }
            | DumpFile::SequenceSchema { db, .. }
            | DumpFile::Triggers { db, .. }
            | DumpFile::Post { db, .. }
            | DumpFile::Data { db, .. } => Some(db),
            _ => None,
        }
    }

    /// The table (file-name form) this file belongs to, if any.
    pub fn table(&self) -> Option<&str> {
        match self {
            DumpFile::TableSchema { table, .. }
            | DumpFile::ViewSchema { table, .. }
            | DumpFile::SequenceSchema { table, .. }
            | DumpFile::Data { table, .. } => Some(table),
            DumpFile::Triggers { table, .. } => table.as_deref(),
            _ => None,
        }
    }

    /// Any of the metadata files.
    pub fn is_metadata(&self) -> bool {
        matches!(
            self,
            DumpFile::Metadata
                | DumpFile::MetadataHeader
                | DumpFile::MetadataPartial(_)
                | DumpFile::MetadataPartialFile
        )
    }
}

impl fmt::Display for DumpFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// `db.table`: file-name forms never contain a dot, so the first dot splits.
fn split_db_table(obj: &str) -> Option<(String, String)> {
    let (db, table) = obj.split_once('.')?;
    if db.is_empty() || table.is_empty() {
        return None;
    }
    Some((db.to_string(), table.to_string()))
}

fn parse_data(rest: &str, ext: DataExt, compression: Compression) -> Option<DumpFile> {
    let (db, tail) = rest.split_once('.')?;
    if db.is_empty() || tail.is_empty() {
        return None;
    }
    let pieces: Vec<&str> = tail.split('.').collect();
    let numeric = |s: &str| s.len() >= 5 && s.bytes().all(|b| b.is_ascii_digit());
    let (table, chunk) = match pieces.as_slice() {
        [t @ .., p, s] if !t.is_empty() && numeric(p) && numeric(s) => {
            (t.join("."), ChunkId::new(p.parse().ok()?, s.parse().ok()?))
        }
        [t @ .., p] if !t.is_empty() && numeric(p) => (t.join("."), ChunkId::new(p.parse().ok()?, 0)),
        _ => (tail.to_string(), ChunkId { part: None, sub: 0 }),
    };
    Some(DumpFile::Data { db: db.to_string(), table, chunk, ext, compression })
}

/// A name that is safe to create inside a directory: not empty, no `/`, `\`,
/// NUL or other control bytes, not `.` or `..`, and not hidden.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(|c| c.is_control())
}

/// Whether mydumper writes a database or table name verbatim into file names:
/// ASCII letters, digits, `_`, `-` and space, no dot, not starting with
/// `mydumper_`.
pub fn is_verbatim_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b' ')
        && !name.to_ascii_lowercase().starts_with("mydumper_")
}

/// Gives each database and table its file-name form: the name itself when it
/// is verbatim-safe, else `mydumper_N` from one counter shared by databases
/// and tables, keyed by the bare name (as mydumper does).
#[derive(Debug, Default)]
pub struct FileNameMapper {
    inner: Mutex<(u64, HashMap<String, String>)>,
    /// `--masquerade-filename`: every name gets a number.
    masquerade: bool,
}

impl FileNameMapper {
    pub fn new(masquerade: bool) -> Self {
        FileNameMapper { masquerade, ..Self::default() }
    }

    pub fn file_name_form(&self, name: &str) -> String {
        if !self.masquerade && is_verbatim_name(name) {
            return name.to_string();
        }
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (next, map) = &mut *guard;
        if let Some(form) = map.get(name) {
            return form.clone();
        }
        let form = format!("mydumper_{next}");
        *next += 1;
        map.insert(name.to_string(), form.clone());
        form
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(f: DumpFile) {
        let name = f.file_name();
        assert_eq!(DumpFile::parse(&name), Some(f), "{name}");
    }

    #[test]
    fn names_round_trip() {
        let z = Compression::Zstd;
        round_trip(DumpFile::Metadata);
        round_trip(DumpFile::MetadataHeader);
        round_trip(DumpFile::MetadataPartial(12));
        round_trip(DumpFile::SchemaCreate { db: "torture-2".into(), compression: z });
        round_trip(DumpFile::TableSchema { db: "db".into(), table: "x-schema".into(), compression: z });
        round_trip(DumpFile::TableSchema { db: "torture".into(), table: "weird name".into(), compression: Compression::None });
        round_trip(DumpFile::ViewSchema { db: "d".into(), table: "v".into(), compression: Compression::Gzip });
        round_trip(DumpFile::SequenceSchema { db: "d".into(), table: "s".into(), compression: Compression::None });
        round_trip(DumpFile::Triggers { db: "d".into(), table: None, compression: Compression::None });
        round_trip(DumpFile::Triggers { db: "d".into(), table: Some("t".into()), compression: Compression::None });
        round_trip(DumpFile::Post { db: "d".into(), compression: Compression::None });
        round_trip(DumpFile::Data {
            db: "d".into(),
            table: "dash-table".into(),
            chunk: ChunkId::new(3, 0),
            ext: DataExt::Sql,
            compression: z,
        });
        round_trip(DumpFile::Data {
            db: "d".into(),
            table: "t".into(),
            chunk: ChunkId::new(123456, 2),
            ext: DataExt::Dat,
            compression: Compression::None,
        });
    }

    #[test]
    fn parses_mydumper_names() {
        assert_eq!(
            DumpFile::parse("torture.weird name.00000.sql"),
            Some(DumpFile::Data {
                db: "torture".into(),
                table: "weird name".into(),
                chunk: ChunkId::new(0, 0),
                ext: DataExt::Sql,
                compression: Compression::None
            })
        );
        assert_eq!(
            DumpFile::parse("wide.t.00001.00002.sql").unwrap().file_name(),
            "wide.t.00001.00002.sql"
        );
        // mydumper 0.10's unnumbered data file
        assert_eq!(
            DumpFile::parse("sakila.actor.sql.gz"),
            Some(DumpFile::Data {
                db: "sakila".into(),
                table: "actor".into(),
                chunk: ChunkId { part: None, sub: 0 },
                ext: DataExt::Sql,
                compression: Compression::Gzip
            })
        );
        assert!(matches!(DumpFile::parse("sakila.actor.metadata"), Some(DumpFile::Ignored(_))));
        assert!(matches!(DumpFile::parse("sakila.actor-schema-checksum"), Some(DumpFile::Ignored(_))));
    }

    #[test]
    fn refuses_unsafe_and_unknown_names() {
        for bad in ["../x.sql", "/etc/passwd", "a/b.sql", "..", ".", ".hidden.sql", "a\0b.sql", "x.txt", "", "db-schema.sql"] {
            assert_eq!(DumpFile::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn file_name_forms() {
        let m = FileNameMapper::new(false);
        assert_eq!(m.file_name_form("weird name"), "weird name");
        assert_eq!(m.file_name_form("torture-2"), "torture-2");
        assert_eq!(m.file_name_form("ünïcödé"), "mydumper_0");
        assert_eq!(m.file_name_form("a.b"), "mydumper_1");
        assert_eq!(m.file_name_form("ünïcödé"), "mydumper_0");
        assert_eq!(m.file_name_form("mydumper_x"), "mydumper_2");
        let masked = FileNameMapper::new(true);
        assert_eq!(masked.file_name_form("sakila"), "mydumper_0");
        assert_eq!(masked.file_name_form("actor"), "mydumper_1");
        assert_eq!(masked.file_name_form("sakila"), "mydumper_0");
    }
}
