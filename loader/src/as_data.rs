//! Multi-row INSERTs sent as LOAD DATA.
//!
//! The server parses an INSERT's rows as SQL, an item for every literal,
//! before it stores one; LOAD DATA hands each field's bytes straight to the
//! column. For a sysbench-shaped dump the INSERTs cost the server about a
//! tenth more CPU. So a data file's large INSERTs go as `LOAD DATA LOCAL`
//! with the rows as tab-separated text, wherever that stores the same:
//!
//! - a quoted string is stored by the same call in both (the column's
//!   `store` of the bytes in the session's character set), into any column;
//!   `_binary` strings only when that character set is `binary` (then they
//!   are the same strings); hex literals only then, and only into string
//!   columns (elsewhere a hex literal is a number);
//! - NULL is `\N`;
//! - a number only where the column reads its text as the same value: an
//!   integer into integer, DECIMAL and floating-point columns, a decimal
//!   into DECIMAL and floating-point ones, an exponent form into
//!   floating-point ones, never a negative zero.
//!
//! Anything else (functions, other introducers, DEFAULT, a number for a
//! date, YEAR, BIT, ENUM or SET column, a row of the wrong width) keeps the
//! statement as it is. `LOAD DATA LOCAL` reports what would have been an
//! error (a duplicate key, a bad value) as a warning, so the caller keeps
//! its result only when there were no warnings and every row was stored,
//! and otherwise rolls back and sends the INSERTs as written.

use mysql::consts::{ColumnFlags, ColumnType};

use crate::sqltext::{is_word, literal_end, skip_blanks, unescape, word_end};
use common::escape::{field_into, FieldFormat, FieldKind, ValueKind};

/// Statements shorter than this stay INSERTs: the first one of a file costs
/// two extra queries (the session's settings and the table's columns).
pub const MIN_BYTES: usize = 16 * 1024;

/// The file name the LOAD DATA statements ask for.
pub const INFILE_NAME: &str = "rloader-insert-rows";

/// What a column accepts besides strings and NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// TINYINT … BIGINT: integers.
    Integer,
    /// DECIMAL: integers and decimals.
    Decimal,
    /// FLOAT, DOUBLE: any number.
    Floating,
    /// CHAR, VARCHAR, BINARY, VARBINARY, TEXT, BLOB: hex and `_binary`
    /// strings as bytes (in a binary session).
    Bytes,
    /// Everything else: strings and NULL only.
    Other,
}

impl ColumnKind {
    /// The kind for a column of a result set's metadata.
    pub fn of(ty: ColumnType, flags: ColumnFlags) -> ColumnKind {
        use ColumnType::*;
        match ty {
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG => ColumnKind::Integer,
            MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => ColumnKind::Decimal,
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => ColumnKind::Floating,
            MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB
                if !flags.intersects(ColumnFlags::ENUM_FLAG | ColumnFlags::SET_FLAG) =>
            {
                ColumnKind::Bytes
            }
            _ => ColumnKind::Other,
        }
    }
}

/// A table's columns as `SELECT *` lists them (what an INSERT without a
/// column list fills).
#[derive(Debug, Clone)]
pub struct Columns {
    pub names: Vec<String>,
    pub kinds: Vec<ColumnKind>,
}

/// The parts of `INSERT INTO t [(cols)] VALUES`.
#[derive(Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// The table as written (`` `t` `` or `` `db`.`t` ``).
    pub table: &'a str,
    /// Its database and name parts as written.
    pub schema: Option<&'a str>,
    pub name: &'a str,
    /// The column list as written, without parentheses.
    pub columns: Option<Vec<&'a str>>,
    /// Where the rows start.
    pub rows_at: usize,
}

/// How the rows' literals are to be read.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// The session's character set is `binary`.
    pub binary: bool,
}

/// The keyword `word` at `i` (after blanks), returning the index after it.
fn keyword(b: &[u8], i: usize, word: &str) -> Option<usize> {
    let i = skip_blanks(b, i);
    let end = i + word.len();
    (end <= b.len() && b[i..end].eq_ignore_ascii_case(word.as_bytes()) && b.get(end).is_none_or(|&c| !is_word(c))).then_some(end)
}

/// An identifier at `i` (after blanks): backquoted or a plain word.
fn identifier(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let i = skip_blanks(b, i);
    match b.get(i)? {
        b'`' => Some((i, literal_end(b, i)?)),
        &c if is_word(c) => Some((i, word_end(b, i))),
        _ => None,
    }
}

/// After an item of a parenthesized list: the index past the `,` or `)`
/// at `i` (after blanks), and whether it was the `)`.
fn list_step(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let i = skip_blanks(b, i);
    match b.get(i)? {
        b',' => Some((i + 1, false)),
        b')' => Some((i + 1, true)),
        _ => None,
    }
}

/// `INSERT INTO name [(col, …)] VALUES`, nothing more (no IGNORE, no
/// priority, no partition list).
pub fn parse_head(stmt: &str) -> Option<Head<'_>> {
    let b = stmt.as_bytes();
    let i = keyword(b, 0, "INSERT")?;
    let i = keyword(b, i, "INTO")?;
    let (start, mut end) = identifier(b, i)?;
    let (mut schema, mut name) = (None, &stmt[start..end]);
    if b.get(end) == Some(&b'.') {
        let (s, e) = identifier(b, end + 1).filter(|&(s, _)| s == end + 1)?;
        (schema, name, end) = (Some(name), &stmt[s..e], e);
    }
    let table = &stmt[start..end];
    let mut i = skip_blanks(b, end);
    let mut columns = None;
    if b.get(i) == Some(&b'(') {
        let mut list = Vec::new();
        i += 1;
        loop {
            let (s, e) = identifier(b, i)?;
            list.push(&stmt[s..e]);
            let (next, closed) = list_step(b, e)?;
            i = next;
            if closed {
                break;
            }
        }
        columns = Some(list);
    }
    let rows_at = keyword(b, i, "VALUES").or_else(|| keyword(b, i, "VALUE"))?;
    Some(Head { table, schema, name, columns, rows_at })
}

/// An identifier's name: backquotes removed, doubled ones undone.
pub fn unquote(ident: &str) -> String {
    match ident.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
        Some(inner) => inner.replace("``", "`"),
        None => ident.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Integer,
    Decimal,
    Exponent,
}

/// A number literal at `i`: its end and form. A negative zero is `None`.
fn number(b: &[u8], i: usize) -> Option<(usize, Number)> {
    let mut j = i;
    let negative = b.get(j) == Some(&b'-');
    if negative {
        j += 1;
    }
    let digits = |mut k: usize| {
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        k
    };
    let int_end = digits(j);
    if int_end == j {
        return None;
    }
    let mut nonzero = b[j..int_end].iter().any(|&c| c != b'0');
    let mut form = Number::Integer;
    j = int_end;
    if b.get(j) == Some(&b'.') {
        let frac_end = digits(j + 1);
        if frac_end == j + 1 {
            return None;
        }
        nonzero |= b[j + 1..frac_end].iter().any(|&c| c != b'0');
        form = Number::Decimal;
        j = frac_end;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_end = digits(k);
        if exp_end == k {
            return None;
        }
        form = Number::Exponent;
        j = exp_end;
    }
    if b.get(j).is_some_and(|&c| is_word(c) || c == b'.') || (negative && !nonzero) {
        return None;
    }
    // The server reads a longer integer or decimal as a double.
    let digits = b[i..j].iter().take_while(|&&c| c != b'e' && c != b'E').filter(|c| c.is_ascii_digit()).count();
    if form != Number::Exponent && digits > 65 {
        return None;
    }
    Some((j, form))
}

/// Hex digits as bytes, appended to `out` (an odd count gets a leading
/// zero, as the server reads `0xABC`).
fn hex_bytes(digits: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let val = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
    let mut i = 0;
    if digits.len() % 2 == 1 {
        out.push(val(digits[0])?);
        i = 1;
    }
    while i < digits.len() {
        out.push(val(digits[i])? << 4 | val(digits[i + 1])?);
        i += 2;
    }
    Some(())
}

/// Writes the rows of `stmt` from `head.rows_at` to `out` as LOAD DATA
/// text (tab-separated, `\` escapes, one line a row) for columns of
/// `kinds`, and returns how many rows there are; `None` (with `out` in any
/// state) if a value or the shape does not qualify.
pub fn rows_into(stmt: &str, rows_at: usize, kinds: &[ColumnKind], session: Session, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> Option<u64> {
    let b = stmt.as_bytes();
    let mut i = rows_at;
    let mut rows = 0u64;
    loop {
        i = skip_blanks(b, i);
        if b.get(i) != Some(&b'(') {
            return None;
        }
        i += 1;
        let mut col = 0;
        loop {
            let kind = *kinds.get(col)?;
            if col > 0 {
                out.push(b'\t');
            }
            i = skip_blanks(b, i);
            i = value_into(b, i, kind, session, out, scratch)?;
            col += 1;
            let (next, closed) = list_step(b, i)?;
            i = next;
            if closed {
                break;
            }
        }
        if col != kinds.len() {
            return None;
        }
        out.push(b'\n');
        rows += 1;
        i = skip_blanks(b, i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b';') if skip_blanks(b, i + 1) == b.len() => return Some(rows),
            None => return Some(rows),
            _ => return None,
        }
    }
}

/// One value at `i` written as a field; returns the index after it.
fn value_into(b: &[u8], i: usize, kind: ColumnKind, session: Session, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> Option<usize> {
    let field = |out: &mut Vec<u8>, bytes: &[u8]| field_into(out, Some(bytes), ValueKind::Text, FieldKind::Raw, &FieldFormat::LOAD_DATA);
    let bytes_allowed = session.binary && kind == ColumnKind::Bytes;
    match *b.get(i)? {
        q @ (b'\'' | b'"') => {
            let end = literal_end(b, i)?;
            let body = &b[i + 1..end - 1];
            // A quote inside the body is a doubled one.
            if memchr::memchr2(b'\\', q, body).is_some() {
                scratch.clear();
                scratch.extend_from_slice(&unescape(body, q));
                field(out, scratch);
            } else {
                field(out, body);
            }
            Some(end)
        }
        b'0' if matches!(b.get(i + 1), Some(b'x')) => {
            if !bytes_allowed {
                return None;
            }
            let mut end = i + 2;
            while end < b.len() && b[end].is_ascii_hexdigit() {
                end += 1;
            }
            if end == i + 2 || b.get(end).is_some_and(|&c| is_word(c)) {
                return None;
            }
            scratch.clear();
            hex_bytes(&b[i + 2..end], scratch)?;
            field(out, scratch);
            Some(end)
        }
        b'x' | b'X' if b.get(i + 1) == Some(&b'\'') => {
            if !bytes_allowed {
                return None;
            }
            let close = i + 2 + b[i + 2..].iter().position(|&c| c == b'\'')?;
            let digits = &b[i + 2..close];
            if digits.len() % 2 == 1 {
                return None;
            }
            scratch.clear();
            hex_bytes(digits, scratch)?;
            field(out, scratch);
            Some(close + 1)
        }
        b'_' => {
            // In a binary session `_binary '…'` is the same string as `'…'`.
            let rest = keyword(b, i, "_binary")?;
            if !session.binary {
                return None;
            }
            let j = skip_blanks(b, rest);
            if !matches!(b.get(j), Some(b'\'' | b'"')) {
                return None;
            }
            value_into(b, j, kind, session, out, scratch)
        }
        b'N' | b'n' => {
            let end = keyword(b, i, "NULL")?;
            field_into(out, None, ValueKind::Text, FieldKind::Raw, &FieldFormat::LOAD_DATA);
            Some(end)
        }
        b'-' | b'0'..=b'9' => {
            let (end, form) = number(b, i)?;
            let ok = match form {
                Number::Integer => matches!(kind, ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Floating),
                Number::Decimal => matches!(kind, ColumnKind::Decimal | ColumnKind::Floating),
                Number::Exponent => kind == ColumnKind::Floating,
            };
            if !ok {
                return None;
            }
            out.extend_from_slice(&b[i..end]);
            Some(end)
        }
        _ => None,
    }
}

/// The LOAD DATA statement for rows of `head` in character set `charset`,
/// naming the columns (`names`, already quoted).
pub fn statement(table: &str, charset: &str, names: &[String]) -> String {
    format!(
        "LOAD DATA LOCAL INFILE '{INFILE_NAME}' INTO TABLE {table} CHARACTER SET {charset} {} ({})",
        FieldFormat::LOAD_DATA.clause(),
        names.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnKind::*;

    const BIN: Session = Session { binary: true };
    const UTF8: Session = Session { binary: false };

    fn rows(stmt: &str, kinds: &[ColumnKind], s: Session) -> Option<(u64, Vec<u8>)> {
        let head = parse_head(stmt)?;
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let n = rows_into(stmt, head.rows_at, kinds, s, &mut out, &mut scratch)?;
        Some((n, out))
    }

    #[test]
    fn heads() {
        let h = parse_head("INSERT INTO `t` VALUES(1)").unwrap();
        assert_eq!((h.table, h.schema, h.name), ("`t`", None, "`t`"));
        assert_eq!((h.columns, &"INSERT INTO `t` VALUES(1)"[h.rows_at..]), (None, "(1)"));
        let s = "insert  into `d``b`.`t x` (`a`, b ,`c``d`) value (1,2,3);";
        let h = parse_head(s).unwrap();
        assert_eq!((h.table, h.schema, h.name), ("`d``b`.`t x`", Some("`d``b`"), "`t x`"));
        assert_eq!(h.columns, Some(vec!["`a`", "b", "`c``d`"]));
        assert_eq!(&s[h.rows_at..], " (1,2,3);");
        assert_eq!(unquote("`c``d`"), "c`d");
        assert_eq!(unquote("b"), "b");
        for no in [
            "INSERT IGNORE INTO t VALUES (1)",
            "REPLACE INTO t VALUES (1)",
            "INSERT INTO t SELECT 1",
            "INSERT INTO t PARTITION (p0) VALUES (1)",
            "INSERT INTO t SET a = 1",
            "INSERT INTO t (a VALUES (1)",
            "INSERTINTO t VALUES (1)",
        ] {
            assert_eq!(parse_head(no), None, "{no}");
        }
    }

    #[test]
    fn values_become_fields() {
        let kinds = [Integer, Bytes, Floating, Decimal, Other];
        let (n, out) = rows(
            "INSERT INTO `t` VALUES (1,'a\\tb\\\\c\\nd',1.5e-3,-2.50,'2020-01-01'),\n(-7, \"it''s \\\"q\\\"\" ,  2 , 3 ,NULL) ;\n",
            &kinds,
            UTF8,
        )
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(out, b"1\ta\\tb\\\\c\\nd\t1.5e-3\t-2.50\t2020-01-01\n-7\tit''s \"q\"\t2\t3\t\\N\n");
        // Doubled quotes of the statement's own quote character are one.
        let (_, out) = rows("INSERT INTO t VALUES ('it''s')", &[Bytes], UTF8).unwrap();
        assert_eq!(out, b"it's\n");
        // Tabs, newlines and NUL are escaped, as LOAD DATA reads them back.
        let (_, out) = rows("INSERT INTO t VALUES ('\t\n\\0')", &[Bytes], UTF8).unwrap();
        assert_eq!(out, b"\\t\\n\\0\n");
    }

    #[test]
    fn numbers_only_where_the_column_reads_the_text_alike() {
        for (v, ok) in [
            ("5", [true, true, true, false, false]),
            ("-5", [true, true, true, false, false]),
            ("0", [true, true, true, false, false]),
            ("1.5", [false, true, true, false, false]),
            ("1e5", [false, false, true, false, false]),
            ("-1.5E-5", [false, false, true, false, false]),
        ] {
            for (kind, want) in [Integer, Decimal, Floating, Bytes, Other].into_iter().zip(ok) {
                let stmt = format!("INSERT INTO t VALUES ({v})");
                assert_eq!(rows(&stmt, &[kind], BIN).is_some(), want, "{v} into {kind:?}");
            }
        }
        let long = "1".repeat(66);
        assert!(rows(&format!("INSERT INTO t VALUES ({})", &long[1..]), &[Decimal], BIN).is_some());
        for v in [long.clone(), format!("0.{}", &long[1..])] {
            assert!(rows(&format!("INSERT INTO t VALUES ({v})"), &[Decimal], BIN).is_none(), "{v}");
        }
        for bad in ["-0", "-0.00", "1.", ".5", "1e", "1x", "1.2.3", "--1", "1 2"] {
            let stmt = format!("INSERT INTO t VALUES ({bad})");
            assert!(rows(&stmt, &[Floating], BIN).is_none(), "{bad}");
        }
    }

    #[test]
    fn bytes_only_into_string_columns_of_a_binary_session() {
        let (_, out) = rows("INSERT INTO t VALUES (0xABC,X'00ff',_binary 'a\\'b',_binary\"c\")", &[Bytes; 4], BIN).unwrap();
        assert_eq!(out, b"\\n\xbc\t\\0\xff\ta'b\tc\n");
        for kind in [Integer, Decimal, Floating, Other] {
            assert_eq!(rows("INSERT INTO t VALUES (_binary '2020-01-01')", &[kind], BIN).unwrap().1, b"2020-01-01\n");
        }
        for v in ["0xAB", "X'AB'", "_binary 'a'"] {
            assert!(rows(&format!("INSERT INTO t VALUES ({v})"), &[Bytes], UTF8).is_none(), "{v} in utf8");
        }
        for v in ["0xAB", "X'AB'"] {
            for kind in [Integer, Decimal, Floating, Other] {
                assert!(rows(&format!("INSERT INTO t VALUES ({v})"), &[kind], BIN).is_none(), "{v} into {kind:?}");
            }
        }
        for v in ["X'ABC'", "0x", "0xAG", "_latin1'a'", "_binary 0xAB"] {
            assert!(rows(&format!("INSERT INTO t VALUES ({v})"), &[Bytes], BIN).is_none(), "{v}");
        }
    }

    #[test]
    fn anything_else_stays_an_insert() {
        for stmt in [
            "INSERT INTO t VALUES (1)",
            "INSERT INTO t VALUES (1,2,3)",
            "INSERT INTO t VALUES (1),(2,3)",
            "INSERT INTO t VALUES (DEFAULT,1)",
            "INSERT INTO t VALUES (NOW(),1)",
            "INSERT INTO t VALUES (1,NULLX)",
            "INSERT INTO t VALUES (1,2) ON DUPLICATE KEY UPDATE a = 1",
            "INSERT INTO t VALUES (1,2); SELECT 1",
            "INSERT INTO t VALUES (1,/* c */2)",
            "INSERT INTO t VALUES (1,2)(3,4)",
            "INSERT INTO t VALUES (1,'2)",
            "INSERT INTO t VALUES",
        ] {
            assert!(rows(stmt, &[Integer, Integer], BIN).is_none(), "{stmt}");
        }
        assert_eq!(rows("INSERT INTO t VALUES (1,NULL),(2,null) ; ", &[Integer, Integer], BIN).unwrap().0, 2);
    }

    #[test]
    fn the_statement_names_every_column() {
        assert_eq!(
            statement("`d`.`t`", "binary", &["`a`".into(), "`b c`".into()]),
            format!("LOAD DATA LOCAL INFILE '{INFILE_NAME}' INTO TABLE `d`.`t` CHARACTER SET binary {} (`a`,`b c`)", FieldFormat::LOAD_DATA.clause())
        );
    }
}
