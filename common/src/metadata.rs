//! The dump's `metadata` file: written by the dumper in mydumper 1.0's key-file
//! format, read by the loader in that format, the older key-file variants,
//! and the plain-text format of mydumper 0.10–0.13.

use crate::keyfile::{unquote, KeyFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuoteChar {
    #[default]
    Backtick,
    DoubleQuote,
}

impl QuoteChar {
    pub fn char(self) -> char {
        match self {
            QuoteChar::Backtick => '`',
            QuoteChar::DoubleQuote => '"',
        }
    }
    fn keyword(self) -> &'static str {
        match self {
            QuoteChar::Backtick => "BACKTICK",
            QuoteChar::DoubleQuote => "DOUBLE_QUOTE",
        }
    }
    pub fn parse(v: &str) -> Option<QuoteChar> {
        match v.trim().to_ascii_uppercase().as_str() {
            "BACKTICK" | "BT" | "`" => Some(QuoteChar::Backtick),
            "DOUBLE_QUOTE" | "DQ" | "\"" => Some(QuoteChar::DoubleQuote),
            _ => None,
        }
    }
    /// Quotes an identifier, doubling the quote character inside it.
    pub fn quote(self, ident: &str) -> String {
        let q = self.char();
        let mut s = String::with_capacity(ident.len() + 2);
        s.push(q);
        for c in ident.chars() {
            if c == q {
                s.push(q);
            }
            s.push(c);
        }
        s.push(q);
        s
    }
}

/// The binary log position the snapshot corresponds to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePosition {
    pub log_file: String,
    pub log_pos: u64,
    pub gtid: String,
}

/// A replica's place in its source's binary log (`SHOW SLAVE STATUS`),
/// for setting up a new replica of the same source from the dump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaPosition {
    /// The replication connection's name (`Connection_name`), if any.
    pub channel: String,
    /// The source's file and position of the last event applied.
    pub log_file: String,
    pub log_pos: u64,
    /// GTIDs applied (`Gtid_Slave_Pos`, or MySQL's `Executed_Gtid_Set`).
    pub gtid: String,
    /// Every column of the status, for the record.
    pub status: Vec<(String, String)>,
}

/// One table, view or sequence section: ``[`db`.`tbl`]`` (file-name forms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableMeta {
    pub db: String,
    pub table: String,
    pub real_table_name: Option<String>,
    pub rows: u64,
    pub is_view: bool,
    pub is_sequence: bool,
    /// Decimal `CHECKSUM TABLE` value of the source.
    pub data_checksum: Option<String>,
    pub schema_checksum: Option<String>,
    pub indexes_checksum: Option<String>,
    pub triggers_checksum: Option<String>,
}

/// One database section: ``[`db`]`` (real name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseMeta {
    pub db: String,
    pub entries: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataFormat {
    #[default]
    KeyFile,
    /// mydumper 0.10–0.13 plain text.
    Text,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub format: MetadataFormat,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub quote_character: QuoteChar,
    pub local_infile: bool,
    /// `[myloader_session_variables]`, in order.
    pub session_variables: Vec<(String, String)>,
    pub source: Option<SourcePosition>,
    /// `--source-data` bits the [source] section is written with (0: the
    /// position as comments only), and the host named in it.
    pub source_data: u32,
    pub source_host: String,
    /// The live keys of the [source] section, as read (for rloader's
    /// `--source-data`).
    pub source_entries: Vec<(String, String)>,
    /// `--replica-data`: where the dumped server, a replica, was in its
    /// source's binary log.
    pub replication: Option<ReplicaPosition>,
    pub tables: Vec<TableMeta>,
    pub databases: Vec<DatabaseMeta>,
    pub max_statement_size: Option<u64>,
    pub num_sequences: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata: {0}")]
    Syntax(#[from] crate::keyfile::KeyFileError),
    #[error("metadata: bad section name {0:?}")]
    BadSection(String),
    #[error("metadata: bad value for {key} in [{section}]: {value:?}")]
    BadValue { section: String, key: String, value: String },
}

impl Metadata {
    /// Parses any metadata format mydumper has written (or a stream's
    /// `metadata.header` / `metadata.partial.N`, which are key files too).
    pub fn parse(text: &str) -> Result<Metadata, MetadataError> {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        if first.starts_with("Started dump at:") {
            return Ok(Self::parse_text(text));
        }
        Self::parse_keyfile(text)
    }

    fn parse_text(text: &str) -> Metadata {
        let mut m = Metadata { format: MetadataFormat::Text, ..Metadata::default() };
        let mut pos = SourcePosition::default();
        let mut in_master = false;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("Started dump at:") {
                m.started = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("Finished dump at:") {
                m.finished = Some(v.trim().to_string());
            } else if line.starts_with("SHOW MASTER STATUS:") {
                in_master = true;
            } else if line.starts_with("SHOW SLAVE STATUS:") || !line.starts_with('\t') {
                in_master = false;
            } else if in_master {
                let l = line.trim();
                if let Some(v) = l.strip_prefix("Log:") {
                    pos.log_file = v.trim().to_string();
                } else if let Some(v) = l.strip_prefix("Pos:") {
                    pos.log_pos = v.trim().parse().unwrap_or(0);
                } else if let Some(v) = l.strip_prefix("GTID:") {
                    pos.gtid = v.trim().to_string();
                }
            }
        }
        if !pos.log_file.is_empty() {
            m.source = Some(pos);
        }
        m
    }

    fn parse_keyfile(text: &str) -> Result<Metadata, MetadataError> {
        let kf = KeyFile::parse(text)?;
        let mut m = Metadata::default();
        let mut comments: Vec<&str> = kf.leading_comments.iter().map(String::as_str).collect();
        for g in &kf.groups {
            comments.extend(g.comments.iter().map(String::as_str));
        }
        for c in comments {
            if let Some(v) = c.strip_prefix("Started dump at:") {
                m.started = Some(v.trim().to_string());
            } else if let Some(v) = c.strip_prefix("Finished dump at:") {
                m.finished = Some(v.trim().to_string());
            }
        }
        for g in &kf.groups {
            let bad = |key: &str, value: &str| MetadataError::BadValue {
                section: g.name.clone(),
                key: key.to_string(),
                value: value.to_string(),
            };
            match g.name.as_str() {
                "config" => {
                    for (k, v) in &g.entries {
                        match k.as_str() {
                            "quote-character" | "quote_character" => {
                                m.quote_character = QuoteChar::parse(v).ok_or_else(|| bad(k, v))?
                            }
                            "local-infile" => m.local_infile = v != "0",
                            "max-statement-size" => m.max_statement_size = Some(v.parse().map_err(|_| bad(k, v))?),
                            "num-sequences" => m.num_sequences = Some(v.parse().map_err(|_| bad(k, v))?),
                            _ => {}
                        }
                    }
                }
                "myloader_session_variables" => m.session_variables.extend(g.entries.iter().cloned()),
                name if name.starts_with("source") || name.starts_with("master") => {
                    m.source = Some(parse_source(g));
                    m.source_entries = g.entries.clone();
                }
                name if name.starts_with("replication") => {}
                name if name.starts_with('`') || name.starts_with('"') => {
                    let idents = parse_idents(name).ok_or_else(|| MetadataError::BadSection(name.to_string()))?;
                    match idents.as_slice() {
                        [db, table] => m.tables.push(table_meta(db, table, g, &bad)?),
                        [db] => m.databases.push(DatabaseMeta { db: db.clone(), entries: g.entries.clone() }),
                        _ => return Err(MetadataError::BadSection(name.to_string())),
                    }
                }
                _ => {}
            }
        }
        Ok(m)
    }

    /// Whether the dump that wrote this metadata finished.
    pub fn is_complete(&self) -> bool {
        self.finished.is_some()
    }

    /// The section of a table, by file-name forms.
    pub fn table(&self, db: &str, table: &str) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.db == db && t.table == table)
    }

    /// Adds what `other` says (a later stream partial or the final metadata).
    pub fn merge(&mut self, other: Metadata) {
        if other.started.is_some() {
            self.started = other.started;
        }
        if other.finished.is_some() {
            self.finished = other.finished;
        }
        if other.local_infile {
            self.local_infile = true;
        }
        if other.quote_character != QuoteChar::default() {
            self.quote_character = other.quote_character;
        }
        for (k, v) in other.session_variables {
            match self.session_variables.iter_mut().find(|(mk, _)| *mk == k) {
                Some(e) => e.1 = v,
                None => self.session_variables.push((k, v)),
            }
        }
        if other.source.is_some() {
            self.source = other.source;
            self.source_entries = other.source_entries;
        }
        for t in other.tables {
            match self.tables.iter_mut().find(|x| x.db == t.db && x.table == t.table) {
                Some(mine) => *mine = t,
                None => self.tables.push(t),
            }
        }
        for d in other.databases {
            match self.databases.iter_mut().find(|x| x.db == d.db) {
                Some(mine) => *mine = d,
                None => self.databases.push(d),
            }
        }
        self.max_statement_size = other.max_statement_size.or(self.max_statement_size);
        self.num_sequences = other.num_sequences.or(self.num_sequences);
    }

    /// Items 1–3 of the file: start line, `[config]`, session variables.
    /// This is also the whole of a stream's `metadata.header`.
    pub fn header_text(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.started {
            s.push_str(&format!("# Started dump at: {t}\n"));
        }
        s.push_str("[config]\n");
        s.push_str(&format!("quote-character = {}\n", self.quote_character.keyword()));
        if self.local_infile {
            s.push_str("local-infile = 1\n");
        }
        s.push('\n');
        if !self.session_variables.is_empty() {
            s.push_str("[myloader_session_variables]\n");
            for (k, v) in &self.session_variables {
                s.push_str(&format!("{k}={v}\n"));
            }
            s.push('\n');
        }
        s
    }

    /// The table and database sections.
    pub fn sections_text(&self) -> String {
        let q = self.quote_character;
        let mut s = String::new();
        for t in &self.tables {
            s.push_str(&format!("[{}.{}]\n", q.quote(&t.db), q.quote(&t.table)));
            if let Some(r) = &t.real_table_name {
                let doubled = r.replace('`', "``");
                s.push_str(&format!("real_table_name={doubled}\n"));
            }
            s.push_str(&format!("rows = {}\n", t.rows));
            if t.is_sequence {
                s.push_str("is_sequence = 1\n");
            }
            if t.is_view {
                s.push_str("is_view = 1\n");
            }
            for (k, v) in [
                ("data_checksum", &t.data_checksum),
                ("schema_checksum", &t.schema_checksum),
                ("indexes_checksum", &t.indexes_checksum),
                ("triggers_checksum", &t.triggers_checksum),
            ] {
                if let Some(v) = v {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s.push('\n');
        }
        for d in &self.databases {
            s.push_str(&format!("[{}]\n", q.quote(&d.db)));
            for (k, v) in &d.entries {
                s.push_str(&format!("{k} = {v}\n"));
            }
            s.push('\n');
        }
        s
    }

    /// The whole `metadata` file as mydumper 1.0 writes it. The
    /// `# Finished dump at:` line is written only when `finished` is set.
    pub fn to_text(&self) -> String {
        let mut s = self.header_text();
        if let Some(p) = &self.source {
            s.push_str("[source]\n");
            s.push_str("# Channel_Name = '' # It can be use to setup replication FOR CHANNEL\n");
            let bits = self.source_data;
            if bits == 0 {
                s.push_str(&format!("# executed_gtid_set = \"{}\"\n", p.gtid));
                s.push_str(&format!("# SOURCE_LOG_FILE = \"{}\"\n", p.log_file));
                s.push_str(&format!("# SOURCE_LOG_POS = {}\n\n", p.log_pos));
            } else {
                // `--source-data`: live keys that rloader/myloader's
                // `--source-data` turns into the replication statements.
                let bit = |n: u32| u8::from(bits & (1 << n) != 0);
                s.push_str(&format!("#SOURCE_HOST = \"{}\"\n#SOURCE_PORT = \n#SOURCE_USER = \"\"\n#SOURCE_PASSWORD = \"\"\n", self.source_host));
                s.push_str(if bit(3) == 1 { "SOURCE_SSL = 1\n" } else { "#SOURCE_SSL = {0|1}\n" });
                s.push_str(&format!("executed_gtid_set = \"{}\"\n", p.gtid));
                if bit(4) == 1 {
                    s.push_str("SOURCE_AUTO_POSITION = 1\n");
                    s.push_str(&format!("#SOURCE_LOG_FILE = \"{}\"\n#SOURCE_LOG_POS = {}\n", p.log_file, p.log_pos));
                } else {
                    s.push_str(&format!("SOURCE_LOG_FILE = \"{}\"\nSOURCE_LOG_POS = {}\n", p.log_file, p.log_pos));
                    s.push_str("#SOURCE_AUTO_POSITION = {0|1}\n");
                }
                s.push_str(&format!(
                    "myloader_exec_reset_replica = {}\nmyloader_exec_change_source = {}\nmyloader_exec_start_replica = {}\n\n",
                    bit(0),
                    bit(1),
                    bit(2)
                ));
            }
        }
        if let Some(r) = &self.replication {
            match r.channel.as_str() {
                "" => s.push_str("[replication]\n"),
                c => s.push_str(&format!("[replication.{c}]\n")),
            }
            s.push_str(&format!("Executed_Gtid_Set = \"{}\"\n", r.gtid));
            s.push_str(&format!("SOURCE_LOG_FILE = \"{}\"\n", r.log_file));
            s.push_str(&format!("SOURCE_LOG_POS = {}\n", r.log_pos));
            s.push_str("#SOURCE_AUTO_POSITION = {0|1}\n");
            for (k, v) in &r.status {
                s.push_str(&format!("# {k} = '{}'\n", v.replace(['\n', '\r'], " ")));
            }
            s.push_str("#SOURCE_SSL = {0|1}\n");
            s.push_str("myloader_exec_reset_replica = 0\nmyloader_exec_change_source = 0\nmyloader_exec_start_replica = 0\n\n");
        }
        s.push_str(&self.sections_text());
        s.push_str("[config]\n");
        s.push_str(&format!("max-statement-size = {}\n", self.max_statement_size.unwrap_or(0)));
        s.push_str(&format!("num-sequences = {}\n", self.num_sequences.unwrap_or(0)));
        if let Some(t) = &self.finished {
            s.push_str(&format!("# Finished dump at: {t}\n"));
        }
        s
    }
}

fn parse_source(g: &crate::keyfile::Group) -> SourcePosition {
    let mut p = SourcePosition::default();
    let mut take = |k: &str, v: &str| {
        let v = unquote(v);
        match k.trim() {
            "SOURCE_LOG_FILE" | "File" => p.log_file = v.to_string(),
            "SOURCE_LOG_POS" | "Position" => p.log_pos = v.parse().unwrap_or(0),
            "executed_gtid_set" | "Executed_Gtid_Set" => p.gtid = v.to_string(),
            _ => {}
        }
    };
    for (k, v) in &g.entries {
        take(k, v);
    }
    // 1.0 writes the coordinates as comments: `# SOURCE_LOG_POS = 4711`
    for c in &g.comments {
        if let Some((k, v)) = c.split_once('=') {
            take(k, v.split(" #").next().unwrap_or(v));
        }
    }
    p
}

fn table_meta(
    db: &str,
    table: &str,
    g: &crate::keyfile::Group,
    bad: &dyn Fn(&str, &str) -> MetadataError,
) -> Result<TableMeta, MetadataError> {
    let mut t = TableMeta { db: db.to_string(), table: table.to_string(), ..TableMeta::default() };
    for (k, v) in &g.entries {
        match k.as_str() {
            "real_table_name" => t.real_table_name = Some(v.replace("``", "`")),
            "rows" | "Rows" => t.rows = v.parse().map_err(|_| bad(k, v))?,
            "is_view" => t.is_view = v != "0",
            "is_sequence" => t.is_sequence = v != "0",
            "data_checksum" => t.data_checksum = Some(v.clone()),
            "schema_checksum" => t.schema_checksum = Some(v.clone()),
            "indexes_checksum" => t.indexes_checksum = Some(v.clone()),
            "triggers_checksum" => t.triggers_checksum = Some(v.clone()),
            _ => {}
        }
    }
    Ok(t)
}

/// Splits ``"`db`.`tbl`"`` (or the double-quoted form) into its identifiers.
fn parse_idents(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let q = chars.next()?;
        if q != '`' && q != '"' {
            return None;
        }
        let mut ident = String::new();
        loop {
            let c = chars.next()?;
            if c == q {
                if chars.peek() == Some(&q) {
                    chars.next();
                    ident.push(q);
                } else {
                    break;
                }
            } else {
                ident.push(c);
            }
        }
        out.push(ident);
        match chars.next() {
            None => return Some(out),
            Some('.') => continue,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let m = Metadata {
            started: Some("2026-01-02 03:04:05".into()),
            finished: Some("2026-01-02 03:04:09".into()),
            session_variables: vec![("SQL_MODE".into(), "'NO_AUTO_VALUE_ON_ZERO' /*!40101".into())],
            source: Some(SourcePosition { log_file: "bin.000007".into(), log_pos: 4711, gtid: "0-1-4711".into() }),
            tables: vec![TableMeta {
                db: "shop".into(),
                table: "mydumper_0".into(),
                real_table_name: Some("price`list".into()),
                rows: 3,
                data_checksum: Some("123".into()),
                ..TableMeta::default()
            }],
            databases: vec![DatabaseMeta { db: "shop".into(), entries: vec![("schema_checksum".into(), "fdf2173b".into())] }],
            max_statement_size: Some(1000123),
            num_sequences: Some(0),
            ..Metadata::default()
        };
        let text = m.to_text();
        assert!(text.contains("[`shop`.`mydumper_0`]\nreal_table_name=price``list\nrows = 3\n"));
        assert!(text.ends_with("# Finished dump at: 2026-01-02 03:04:09\n"));
        let back = Metadata::parse(&text).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn replication_section() {
        let m = Metadata {
            replication: Some(ReplicaPosition {
                channel: String::new(),
                log_file: "primary-bin.000003".into(),
                log_pos: 2063,
                gtid: "0-1-9".into(),
                status: vec![("Master_Host".into(), "db1".into()), ("Last_Error".into(), "a\nb".into())],
            }),
            finished: Some("x".into()),
            ..Metadata::default()
        };
        let text = m.to_text();
        assert!(text.contains(
            "[replication]\nExecuted_Gtid_Set = \"0-1-9\"\nSOURCE_LOG_FILE = \"primary-bin.000003\"\nSOURCE_LOG_POS = 2063\n#SOURCE_AUTO_POSITION = {0|1}\n# Master_Host = 'db1'\n# Last_Error = 'a b'\n#SOURCE_SSL = {0|1}\nmyloader_exec_reset_replica = 0\n"
        ), "{text}");
        // Read back, the section changes nothing rloader uses.
        let back = Metadata::parse(&text).unwrap();
        assert!(back.is_complete() && back.source.is_none() && back.tables.is_empty());
        let named = Metadata { replication: Some(ReplicaPosition { channel: "east".into(), ..ReplicaPosition::default() }), ..Metadata::default() };
        assert!(named.to_text().contains("[replication.east]\n"));
    }

    #[test]
    fn source_data_keys() {
        let pos = SourcePosition { log_file: "bin.000002".into(), log_pos: 77, gtid: "0-1-3".into() };
        let m = Metadata { source: Some(pos.clone()), source_data: 7, source_host: "db1".into(), ..Metadata::default() };
        let text = m.to_text();
        assert!(text.contains("#SOURCE_HOST = \"db1\"\n"), "{text}");
        assert!(text.contains("executed_gtid_set = \"0-1-3\"\nSOURCE_LOG_FILE = \"bin.000002\"\nSOURCE_LOG_POS = 77\n"), "{text}");
        assert!(text.contains("myloader_exec_reset_replica = 1\nmyloader_exec_change_source = 1\nmyloader_exec_start_replica = 1\n"));
        let back = Metadata::parse(&text).unwrap();
        assert_eq!(back.source, Some(pos.clone()));
        assert!(back.source_entries.iter().any(|(k, v)| k == "SOURCE_LOG_POS" && v == "77"));
        let auto = Metadata { source: Some(pos), source_data: 1 << 4 | 1 << 3, ..Metadata::default() }.to_text();
        assert!(auto.contains("SOURCE_SSL = 1\n") && auto.contains("SOURCE_AUTO_POSITION = 1\n#SOURCE_LOG_FILE"), "{auto}");
    }

    #[test]
    fn reads_text_metadata() {
        let m = Metadata::parse(
            "Started dump at: 2021-03-01 12:00:00\nSHOW MASTER STATUS:\n\tLog: mysql-bin.000003\n\tPos: 154\n\tGTID:\n\nFinished dump at: 2021-03-01 12:00:09\n",
        )
        .unwrap();
        assert_eq!(m.format, MetadataFormat::Text);
        assert!(m.is_complete());
        assert_eq!(m.source.unwrap().log_pos, 154);
    }

    #[test]
    fn incomplete_without_finished_line() {
        let m = Metadata::parse("# Started dump at: x\n[config]\nquote-character = BACKTICK\n").unwrap();
        assert!(!m.is_complete());
    }

    #[test]
    fn parses_quoted_section_names() {
        assert_eq!(parse_idents("`a``b`.`c`"), Some(vec!["a`b".into(), "c".into()]));
        assert_eq!(parse_idents("\"db\""), Some(vec!["db".into()]));
        assert_eq!(parse_idents("`a`x"), None);
    }
}
