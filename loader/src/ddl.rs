//! Reading and reshaping the DDL statements of a dump: names of created
//! tables and databases, deferred secondary indexes (`--optimize-keys`),
//! DEFINER removal (`--skip-definer`), `SET` hints (`--ignore-set`), and the
//! session and global variable statements of option files and metadata.

use common::create_table::{read_ident, Definition, Layout};
pub use common::create_table::strip_keys;

/// Quotes an identifier with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes a string literal.
pub fn quote_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('\'');
    for c in s.chars() {
        match c {
            '\'' => o.push_str("''"),
            '\\' => o.push_str("\\\\"),
            c => o.push(c),
        }
    }
    o.push('\'');
    o
}

/// Skips whitespace and version comments' `/*!NNNNN` and `*/` markers.
fn skip_blanks(mut s: &str) -> &str {
    loop {
        let t = s.trim_start();
        if let Some(rest) = t.strip_prefix("/*!") {
            s = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        } else if let Some(rest) = t.strip_prefix("*/") {
            s = rest;
        } else {
            return t;
        }
    }
}

fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let s = skip_blanks(s);
    if s.get(..kw.len()).is_some_and(|head| head.eq_ignore_ascii_case(kw)) {
        let rest = &s[kw.len()..];
        if rest.chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
            return Some(rest);
        }
    }
    None
}

/// The name a `CREATE TABLE` statement creates, and whether it says
/// `IF NOT EXISTS`. `None` for other statements (including `CREATE SEQUENCE`).
pub fn created_table(stmt: &str) -> Option<(String, bool)> {
    let rest = strip_keyword(stmt, "CREATE")?;
    let rest = strip_keyword(rest, "OR").and_then(|r| strip_keyword(r, "REPLACE")).unwrap_or(rest);
    let rest = strip_keyword(rest, "TEMPORARY").unwrap_or(rest);
    let rest = strip_keyword(rest, "TABLE")?;
    let (rest, if_not_exists) = match strip_keyword(rest, "IF")
        .and_then(|r| strip_keyword(r, "NOT"))
        .and_then(|r| strip_keyword(r, "EXISTS"))
    {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (name, _) = read_ident(skip_blanks(rest))?;
    Some((name, if_not_exists))
}

/// `--append-if-not-exist`: a `CREATE TABLE` without `IF NOT EXISTS` with
/// it; `None` for other statements.
pub fn add_if_not_exists(stmt: &str) -> Option<String> {
    if created_table(stmt)?.1 {
        return None;
    }
    let rest = strip_keyword(strip_keyword(stmt, "CREATE")?, "TABLE")?;
    let at = stmt.len() - rest.len();
    Some(format!("{} IF NOT EXISTS{}", &stmt[..at], &stmt[at..]))
}

/// The database a `CREATE DATABASE` / `CREATE SCHEMA` statement creates.
pub fn created_database(stmt: &str) -> Option<String> {
    let rest = strip_keyword(stmt, "CREATE")?;
    let rest = strip_keyword(rest, "DATABASE").or_else(|| strip_keyword(rest, "SCHEMA"))?;
    let rest = strip_keyword(rest, "IF")
        .and_then(|r| strip_keyword(r, "NOT"))
        .and_then(|r| strip_keyword(r, "EXISTS"))
        .unwrap_or(rest);
    read_ident(skip_blanks(rest)).map(|(n, _)| n)
}

/// The database a `USE` statement names.
pub fn used_database(stmt: &str) -> Option<String> {
    read_ident(skip_blanks(strip_keyword(stmt, "USE")?)).map(|(n, _)| n)
}

/// `LOAD DATA [LOW_PRIORITY|CONCURRENT] LOCAL INFILE '<name>'`: the name.
pub fn load_data_file(stmt: &str) -> Option<String> {
    let rest = strip_keyword(stmt, "LOAD")?;
    let rest = strip_keyword(rest, "DATA")?;
    let rest = strip_keyword(rest, "LOW_PRIORITY").or_else(|| strip_keyword(rest, "CONCURRENT")).unwrap_or(rest);
    let rest = strip_keyword(rest, "LOCAL")?;
    let rest = strip_keyword(rest, "INFILE")?.trim_start();
    let body = rest.strip_prefix('\'')?;
    let end = body.find('\'')?;
    Some(body[..end].to_string())
}

/// A LOAD DATA statement that names no CHARACTER SET, with
/// `CHARACTER SET binary` added after its table: mydumper writes the data
/// files' bytes as the server holds them (its sessions use SET NAMES
/// binary), so they must not be converted from the database's character set.
pub fn load_data_binary(stmt: &str) -> Option<String> {
    load_data_file(stmt)?;
    let upper = stmt.to_ascii_uppercase();
    if upper.contains(" CHARACTER SET ") {
        return None;
    }
    let at = upper.find(" INTO TABLE ")? + " INTO TABLE ".len();
    let rest = &stmt[at..];
    let trimmed = rest.trim_start();
    let (_, after) = read_ident(trimmed)?;
    let end = at + (rest.len() - trimmed.len()) + (trimmed.len() - after.len());
    Some(format!("{} CHARACTER SET binary{}", &stmt[..end], &stmt[end..]))
}

/// A `CREATE TABLE` with its secondary indexes and foreign keys taken out,
/// to be added once the data is in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeferredKeys {
    /// The CREATE TABLE without the deferred lines.
    pub create: String,
    /// `ADD …` clauses for indexes, in their original order.
    pub indexes: Vec<String>,
    /// `ADD CONSTRAINT … FOREIGN KEY …` clauses.
    pub foreign_keys: Vec<String>,
}

impl DeferredKeys {
    /// `ALTER TABLE` statements adding the indexes: one per FULLTEXT index
    /// (InnoDB adds one at a time), the others `batch` at a time (0: all
    /// together).
    pub fn index_statements(&self, table: &str, batch: usize) -> Vec<String> {
        let t = quote_ident(table);
        let (fulltext, other): (Vec<_>, Vec<_>) = self.indexes.iter().partition(|c| c.starts_with("ADD FULLTEXT"));
        let mut out = Vec::new();
        let batch = if batch == 0 { other.len().max(1) } else { batch };
        for group in other.chunks(batch) {
            out.push(format!("ALTER TABLE {t} {}", group.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
        }
        for f in fulltext {
            out.push(format!("ALTER TABLE {t} {f}"));
        }
        out
    }

    pub fn foreign_key_statement(&self, table: &str) -> Option<String> {
        (!self.foreign_keys.is_empty()).then(|| format!("ALTER TABLE {} {}", quote_ident(table), self.foreign_keys.join(", ")))
    }
}

/// Splits the secondary indexes and foreign keys off a server-formatted
/// `CREATE TABLE` of one of `engines` (`--optimize-keys-engines`: those
/// whose secondary indexes are worth building after the load). Indexes over
/// an AUTO_INCREMENT column stay, as the column needs one. `None` when
/// there is nothing to defer, the engine is another, or the statement does
/// not have that layout.
pub fn defer_keys(create: &str, engines: &[String]) -> Option<DeferredKeys> {
    let layout = Layout::parse(create)?;
    let engine = layout.tail.split_once("ENGINE=").map(|(_, r)| r.split(|c: char| c.is_whitespace()).next().unwrap_or(""));
    let engine_ok = engine.is_some_and(|e| engines.iter().any(|x| x == e));
    if !engine_ok || layout.tail.contains("SEQUENCE=1") {
        return None;
    }
    let mut keep = Vec::new();
    let mut out = DeferredKeys::default();
    for &d in &layout.defs {
        match layout.kind(d) {
            Definition::Index => out.indexes.push(format!("ADD {}", d.trim_start())),
            Definition::ForeignKey => out.foreign_keys.push(format!("ADD {}", d.trim_start())),
            _ => keep.push(d),
        }
    }
    if out.indexes.is_empty() && out.foreign_keys.is_empty() {
        return None;
    }
    out.create = layout.create(&keep);
    Some(out)
}

/// A CREATE statement with its `DEFINER=user@host` clause removed (the
/// object is owned by the loading user) or replaced, as `definer` says;
/// `None` when it stays as it is.
pub fn set_definer(stmt: &str, definer: &common::definer::Definer) -> Option<String> {
    if *definer == common::definer::Definer::Keep {
        return None;
    }
    strip_keyword(stmt, "CREATE")?;
    definer.apply(stmt)
}

/// The variable a `/*!NNNNN SET VAR=… */` header hint sets, upper-cased.
pub fn hint_set_variable(stmt: &str) -> Option<String> {
    let rest = stmt.trim_start().strip_prefix("/*!")?;
    let rest = strip_keyword(rest.trim_start_matches(|c: char| c.is_ascii_digit()), "SET")?;
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '@')).unwrap_or(rest.len());
    Some(rest[..end].trim_start_matches('@').to_ascii_uppercase())
}

/// `SET SESSION` for a `[myloader_session_variables]` entry. A value ending
/// in a version comment opener (`'X' /*!40101`) is set inside that comment,
/// as myloader does.
pub fn session_statement(key: &str, value: &str) -> String {
    let key = key.trim().to_ascii_uppercase();
    let value = value.trim();
    if let Some(pos) = value.rfind("/*!") {
        let version = value[pos..].trim();
        let v = value[..pos].trim();
        format!("{version} SET SESSION {key} = {v} */")
    } else {
        format!("SET SESSION {key} = {value}")
    }
}

/// The SQL_MODE to load with when a dump does not name one (mydumper 0.10
/// files carry none): the server's, with `NO_AUTO_VALUE_ON_ZERO` (zeros in
/// AUTO_INCREMENT columns stay zeros) and without the modes that would
/// reject or misread dumped values (strict modes, `NO_BACKSLASH_ESCAPES`,
/// `ANSI_QUOTES`, `PIPES_AS_CONCAT`), as mydumper derives its files' mode.
pub fn load_sql_mode(server_mode: &str) -> String {
    const DROP: &[&str] = &["STRICT_TRANS_TABLES", "STRICT_ALL_TABLES", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "PIPES_AS_CONCAT", "ANSI", "TRADITIONAL", "ORACLE"];
    let mut modes = vec!["NO_AUTO_VALUE_ON_ZERO".to_string()];
    for m in server_mode.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let up = m.to_ascii_uppercase();
        if !DROP.contains(&up.as_str()) && !modes.contains(&up) {
            modes.push(up);
        }
    }
    modes.join(",")
}

/// A saved global variable value written back as SQL: numbers bare, the
/// rest quoted.
pub fn restore_value(v: &str) -> String {
    if !v.is_empty() && v.parse::<f64>().is_ok() {
        v.to_string()
    } else {
        quote_str(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--optimize-keys-engines`'s default.
    fn engines() -> Vec<String> {
        vec!["InnoDB".to_string(), "ROCKSDB".to_string()]
    }

    #[test]
    fn names_of_created_objects() {
        assert_eq!(created_table("CREATE TABLE `a``b` (\n x int)"), Some(("a`b".into(), false)));
        assert_eq!(created_table("CREATE TABLE IF NOT EXISTS `v`(\n`id` int)"), Some(("v".into(), true)));
        assert_eq!(created_table("CREATE SEQUENCE `s` start with 1"), None);
        assert_eq!(created_table("INSERT INTO `t` VALUES(1)"), None);
        assert_eq!(created_table("ünï"), None);
        assert_eq!(
            created_database("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `ünï` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"),
            Some("ünï".into())
        );
        assert_eq!(created_database("CREATE DATABASE `torture` /*!40100 x */"), Some("torture".into()));
        assert_eq!(
            load_data_file("LOAD DATA LOCAL INFILE 'db.t.00000.dat.zst' INTO TABLE `t`"),
            Some("db.t.00000.dat.zst".into())
        );
    }

    #[test]
    fn load_data_reads_bytes_as_they_are() {
        assert_eq!(
            load_data_binary("LOAD DATA LOCAL INFILE 'd.t.00000.dat' INTO TABLE `t``x` FIELDS TERMINATED BY ','").unwrap(),
            "LOAD DATA LOCAL INFILE 'd.t.00000.dat' INTO TABLE `t``x` CHARACTER SET binary FIELDS TERMINATED BY ','"
        );
        assert_eq!(load_data_binary("LOAD DATA LOCAL INFILE 'd.t.00000.dat' INTO TABLE `t` CHARACTER SET latin1 FIELDS"), None);
        assert_eq!(load_data_binary("INSERT INTO `t` VALUES(1)"), None);
    }

    const CHILD: &str = "CREATE TABLE `child` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `parent_id` int(11) DEFAULT NULL,\n  `body` text,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`id`,`parent_id`),\n  KEY `parent_id` (`parent_id`),\n  FULLTEXT KEY `ft` (`body`),\n  CONSTRAINT `child_ibfk_1` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE,\n  CONSTRAINT `chk` CHECK (`id` > 0)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

    #[test]
    fn defers_secondary_keys_and_foreign_keys() {
        let d = defer_keys(CHILD, &engines()).unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `child` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `parent_id` int(11) DEFAULT NULL,\n  `body` text,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`id`,`parent_id`),\n  CONSTRAINT `chk` CHECK (`id` > 0)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(
            d.index_statements("child", 0),
            vec!["ALTER TABLE `child` ADD KEY `parent_id` (`parent_id`)".to_string(), "ALTER TABLE `child` ADD FULLTEXT KEY `ft` (`body`)".to_string()]
        );
        assert_eq!(
            d.foreign_key_statement("child").unwrap(),
            "ALTER TABLE `child` ADD CONSTRAINT `child_ibfk_1` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE"
        );
    }

    #[test]
    fn if_not_exists_is_added() {
        assert_eq!(add_if_not_exists("CREATE TABLE `t` (\n  `id` int\n)").unwrap(), "CREATE TABLE IF NOT EXISTS `t` (\n  `id` int\n)");
        assert_eq!(
            add_if_not_exists("\ncreate table `we``ird` (a int)").unwrap(),
            "\ncreate table IF NOT EXISTS `we``ird` (a int)"
        );
        assert_eq!(add_if_not_exists("CREATE TABLE IF NOT EXISTS `t` (a int)"), None);
        assert_eq!(add_if_not_exists("CREATE VIEW `v` AS SELECT 1"), None);
        assert_eq!(add_if_not_exists("INSERT INTO `t` VALUES (1)"), None);
    }

    #[test]
    fn indexes_in_batches() {
        let d = DeferredKeys {
            create: String::new(),
            indexes: vec!["ADD KEY `a` (`a`)".into(), "ADD KEY `b` (`b`)".into(), "ADD FULLTEXT KEY `f` (`f`)".into(), "ADD KEY `c` (`c`)".into()],
            foreign_keys: vec![],
        };
        assert_eq!(
            d.index_statements("t", 2),
            vec![
                "ALTER TABLE `t` ADD KEY `a` (`a`), ADD KEY `b` (`b`)".to_string(),
                "ALTER TABLE `t` ADD KEY `c` (`c`)".to_string(),
                "ALTER TABLE `t` ADD FULLTEXT KEY `f` (`f`)".to_string(),
            ]
        );
        assert_eq!(d.index_statements("t", 0).len(), 2);
        assert_eq!(d.index_statements("t", 1).len(), 4);
    }

    #[test]
    fn strips_indexes_or_constraints() {
        let no_indexes = strip_keys(CHILD, true, false).unwrap();
        assert!(!no_indexes.contains("KEY `parent_id`") && !no_indexes.contains("FULLTEXT"), "{no_indexes}");
        assert!(no_indexes.contains("UNIQUE KEY `u`") && no_indexes.contains("FOREIGN KEY") && no_indexes.contains("CHECK"));
        let no_constraints = strip_keys(CHILD, false, true).unwrap();
        assert!(!no_constraints.contains("CONSTRAINT"), "{no_constraints}");
        assert!(no_constraints.contains("KEY `parent_id`") && no_constraints.ends_with(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"));
        // Any engine; nothing to take out is None.
        assert!(strip_keys(&CHILD.replace("InnoDB", "MyISAM"), true, true).is_some());
        assert_eq!(strip_keys("CREATE TABLE `t` (\n  `id` int,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB", true, true), None);
    }

    #[test]
    fn leaves_other_tables_alone() {
        assert_eq!(defer_keys(&CHILD.replace("InnoDB", "MyISAM"), &engines()), None);
        assert_eq!(defer_keys("CREATE TABLE `t` (\n  `id` int,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB", &engines()), None);
        assert_eq!(defer_keys("CREATE TABLE IF NOT EXISTS `v`(\n`id` int\n) ENGINE=MEMORY", &engines()), None);
    }

    #[test]
    fn partitioned_table_tail_is_kept() {
        let c = "CREATE TABLE `p` (\n  `id` int NOT NULL,\n  `k` int,\n  PRIMARY KEY (`id`),\n  KEY `k` (`k`)\n) ENGINE=InnoDB\n PARTITION BY HASH (`id`)\nPARTITIONS 4";
        let d = defer_keys(c, &engines()).unwrap();
        assert!(d.create.ends_with("PRIMARY KEY (`id`)\n) ENGINE=InnoDB\n PARTITION BY HASH (`id`)\nPARTITIONS 4"));
        assert_eq!(d.indexes, vec!["ADD KEY `k` (`k`)"]);
    }

    #[test]
    fn definer_is_removed_or_replaced_in_create_statements_only() {
        use common::definer::Definer;
        let strip_definer = |s: &str| set_definer(s, &Definer::Skip);
        assert_eq!(
            strip_definer("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW SET @a=1 */").unwrap(),
            "/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW SET @a=1 */"
        );
        assert_eq!(strip_definer("DROP TRIGGER IF EXISTS `x`"), None);
        assert_eq!(strip_definer("INSERT INTO t VALUES ('DEFINER=`a`@`b`')"), None);
        let app = Definer::from_options(false, Some("app@localhost")).unwrap();
        assert_eq!(
            set_definer("CREATE DEFINER=`root`@`%` PROCEDURE `p`() SELECT 1", &app).unwrap(),
            "CREATE DEFINER=`app`@`localhost` PROCEDURE `p`() SELECT 1"
        );
        assert_eq!(set_definer("INSERT INTO t VALUES ('DEFINER=`a`@`b`')", &app), None);
        assert_eq!(set_definer("CREATE DEFINER=`root`@`%` PROCEDURE `p`() SELECT 1", &Definer::Keep), None);
    }

    #[test]
    fn hints_and_sessions() {
        assert_eq!(hint_set_variable("/*!40103 SET TIME_ZONE='+00:00' */"), Some("TIME_ZONE".into()));
        assert_eq!(hint_set_variable("/*!40014 SET FOREIGN_KEY_CHECKS=0*/"), Some("FOREIGN_KEY_CHECKS".into()));
        assert_eq!(hint_set_variable("SET @a=1"), None);
        assert_eq!(
            session_statement("SQL_MODE", "'NO_AUTO_VALUE_ON_ZERO' /*!40101"),
            "/*!40101 SET SESSION SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO' */"
        );
        assert_eq!(session_statement("innodb_lock_wait_timeout", "1"), "SET SESSION INNODB_LOCK_WAIT_TIMEOUT = 1");
        assert_eq!(restore_value("151"), "151");
        assert_eq!(
            load_sql_mode("STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"),
            "NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"
        );
        assert_eq!(restore_value("ON"), "'ON'");
        assert_eq!(quote_str("a'b\\"), "'a''b\\\\'");
    }
}
