//! Value formatting for dump files: how one column value of a row becomes
//! SQL text (INSERT files) or a field of a LOAD DATA / CSV file.
//!
//! SQL output is always valid UTF-8, so that a file can be sent through a
//! client that only takes text: values whose bytes are valid UTF-8 are
//! written as escaped strings, any other bytes as a hex literal `0x…`.
//! Values never contain a raw newline, so `;\n` always ends a statement.

use std::borrow::Cow;

/// How a column's values are written. Decided from the column's type in
/// `information_schema.COLUMNS` (`DATA_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Integers, DECIMAL, DOUBLE, YEAR: the server's text, unquoted.
    Number,
    /// FLOAT: selected as a double (`col + 0e0`) and written as the
    /// shortest text that reads back as the same single-precision value.
    Float,
    /// BIT: a hex literal of the raw bytes.
    Bits,
    /// Character strings, ENUM, SET, JSON: quoted; hex with `--hex-blob`.
    Text,
    /// Dates and times: always quoted, never hex (they are text in the
    /// server's own format).
    Formatted,
    /// INET4, INET6, UUID: text with a `_utf8mb4` introducer. Under
    /// `SET NAMES binary` a plain string would be taken as the type's
    /// binary form and load as NULL.
    Parsed,
    /// BINARY, VARBINARY, BLOBs, geometry: `_binary "…"` when the bytes are
    /// valid UTF-8, else hex; always hex with `--hex-blob`.
    Binary,
}

impl ValueKind {
    /// The kind for a MariaDB/MySQL `DATA_TYPE` (lower or upper case).
    pub fn from_data_type(data_type: &str) -> ValueKind {
        match data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal" | "numeric" | "double"
            | "real" | "double precision" | "year" => ValueKind::Number,
            "float" => ValueKind::Float,
            "bit" => ValueKind::Bits,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "geometry" | "point"
            | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
            | "geometrycollection" => ValueKind::Binary,
            "date" | "time" | "datetime" | "timestamp" => ValueKind::Formatted,
            "inet4" | "inet6" | "uuid" => ValueKind::Parsed,
            _ => ValueKind::Text,
        }
    }

    /// Whether `--hex-blob` turns values of this kind into hex.
    pub fn hex_blob_applies(self) -> bool {
        matches!(self, ValueKind::Text | ValueKind::Binary)
    }
}

/// Appends `bytes` escaped as `mysql_real_escape_string` does: NUL, LF,
/// CR, backslash, both quotes and Ctrl-Z get a backslash form; every other
/// byte is copied.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    escape_table_into(out, bytes, &SQL_ESCAPES);
}

/// How bytes are escaped: for each byte, the character written after the
/// escape character in its escaped form, or 0 when the byte is copied as it
/// is; the escape character; and the (at most four) bytes above the control
/// characters that are escaped, for the block scan.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EscapeTable {
    table: [u8; 256],
    escape: u8,
    others: [u8; 4],
}

/// NUL, LF, CR, the escape character and Ctrl-Z as the server reads them
/// back, TAB as `\t` if `tab`, and the `also` bytes as the escape character
/// + the byte itself.
const fn escape_table(escape: u8, also: [Option<u8>; 3], tab: bool) -> EscapeTable {
    let mut t = [0u8; 256];
    // Unused slots repeat a control character, which is checked anyway.
    let mut others = [escape, 0x1f, 0x1f, 0x1f];
    let mut i = 0;
    while i < also.len() {
        if let Some(b) = also[i] {
            t[b as usize] = b;
            if b >= 0x20 && b != escape {
                others[i + 1] = b;
            }
        }
        i += 1;
    }
    if tab {
        t[b'\t' as usize] = b't';
    }
    t[0] = b'0';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[escape as usize] = escape;
    t[0x1a] = b'Z';
    EscapeTable { table: t, escape, others }
}

const SQL_ESCAPES: EscapeTable = escape_table(b'\\', [Some(b'\''), Some(b'"'), None], false);

/// Copies the runs of bytes that need no escape whole, and escapes the
/// others as `esc` says. Returns whether all bytes were ASCII.
#[inline]
fn escape_table_into(out: &mut Vec<u8>, bytes: &[u8], esc: &EscapeTable) -> bool {
    out.reserve(bytes.len());
    let mut start = 0;
    let mut i = 0;
    let mut ascii = true;
    while i < bytes.len() {
        let (plain, plain_ascii) = plain_prefix(&bytes[i..], esc);
        ascii &= plain_ascii;
        i += plain;
        // The block with an escape (or the short tail), byte by byte.
        let end = (i + 16).min(bytes.len());
        while i < end {
            let b = bytes[i];
            ascii &= b.is_ascii();
            let e = esc.table[b as usize];
            if e != 0 {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(&[esc.escape, e]);
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    ascii
}

/// How many leading bytes certainly need no escape: whole 16-byte blocks
/// without control characters and without `esc.others`, checked with SSE2
/// (part of every x86-64 CPU); and whether those bytes are all ASCII.
#[cfg(target_arch = "x86_64")]
#[inline]
fn plain_prefix(bytes: &[u8], esc: &EscapeTable) -> (usize, bool) {
    use std::arch::x86_64::*;
    let mut done = 0;
    let high_bits;
    // SAFETY: SSE2 is always available on x86_64; each load reads 16 bytes
    // inside `bytes`, unaligned.
    unsafe {
        let ctl = _mm_set1_epi8(0x1f);
        let o0 = _mm_set1_epi8(esc.others[0] as i8);
        let o1 = _mm_set1_epi8(esc.others[1] as i8);
        let o2 = _mm_set1_epi8(esc.others[2] as i8);
        let o3 = _mm_set1_epi8(esc.others[3] as i8);
        // Lanes of bytes that may need an escape: control characters or `others`.
        let escapes = |x| {
            let low = _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl);
            _mm_or_si128(
                _mm_or_si128(_mm_or_si128(low, _mm_cmpeq_epi8(x, o0)), _mm_cmpeq_epi8(x, o3)),
                _mm_or_si128(_mm_cmpeq_epi8(x, o1), _mm_cmpeq_epi8(x, o2)),
            )
        };
        let mut seen = _mm_setzero_si128();
        while done + 16 <= bytes.len() {
            let x = _mm_loadu_si128(bytes.as_ptr().add(done) as *const __m128i);
            let hit = escapes(x);
            if _mm_movemask_epi8(hit) != 0 {
                break;
            }
            seen = _mm_or_si128(seen, x);
            done += 16;
        }
        // A short tail: the last 16 bytes, overlapping checked ones.
        if done < bytes.len() && done + 16 > bytes.len() && bytes.len() >= 16 {
            let x = _mm_loadu_si128(bytes.as_ptr().add(bytes.len() - 16) as *const __m128i);
            let hit = escapes(x);
            if _mm_movemask_epi8(hit) == 0 {
                seen = _mm_or_si128(seen, x);
                done = bytes.len();
            }
        }
        high_bits = _mm_movemask_epi8(seen);
    }
    (done, high_bits == 0)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn plain_prefix(_bytes: &[u8], _esc: &EscapeTable) -> (usize, bool) {
    (0, true)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the upper-case hex digits of `bytes`.
pub fn hex_digits_into(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    }
}

/// Appends a hex literal `0x…` (`""` for no bytes: `0x` alone is no literal).
pub fn hex_literal_into(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    out.extend_from_slice(b"0x");
    hex_digits_into(out, bytes);
}

/// Appends a quoted, escaped string.
pub fn quoted_into(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    escape_into(out, bytes);
    out.push(b'"');
}

fn looks_numeric(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// The shortest decimal text that reads back (through a double, as the
/// server parses it) as the single-precision value `text` denotes. `text` is
/// the exact double the server printed for `float_col + 0e0`.
pub fn float_text(text: &str) -> Option<String> {
    let d: f64 = text.trim().parse().ok()?;
    let f = d as f32;
    if !f.is_finite() {
        return None;
    }
    let short = format_float(f as f64, &f.to_string());
    match short.parse::<f64>() {
        Ok(back) if back as f32 == f => Some(short),
        _ => Some(format_float(f as f64, &(f as f64).to_string())),
    }
}

/// Rust prints `1e38` as `100000000000000000000000000000000000000`; use
/// exponent notation for very large and very small magnitudes to keep
/// values short.
fn format_float(v: f64, plain: &str) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-5..1e16).contains(&a) {
        // `{:e}` gives the shortest round-trip digits in exponent form.
        let s = format!("{:e}", v as f32);
        if s.parse::<f64>().map(|b| b as f32 == v as f32).unwrap_or(false) {
            return s;
        }
        return format!("{v:e}");
    }
    plain.to_string()
}

/// Appends one value as SQL for an INSERT statement.
pub fn sql_value_into(out: &mut Vec<u8>, value: Option<&[u8]>, kind: ValueKind, hex_blob: bool) {
    let Some(bytes) = value else {
        out.extend_from_slice(b"NULL");
        return;
    };
    match kind {
        ValueKind::Number if looks_numeric(bytes) => out.extend_from_slice(bytes),
        ValueKind::Float => match std::str::from_utf8(bytes).ok().and_then(float_text) {
            Some(s) => out.extend_from_slice(s.as_bytes()),
            None => text_or_hex(out, bytes, false),
        },
        ValueKind::Bits => hex_literal_into(out, bytes),
        ValueKind::Binary => {
            if hex_blob && !bytes.is_empty() {
                hex_literal_into(out, bytes)
            } else if std::str::from_utf8(bytes).is_ok() {
                out.extend_from_slice(b"_binary ");
                quoted_into(out, bytes);
            } else {
                hex_literal_into(out, bytes)
            }
        }
        ValueKind::Text if hex_blob && !bytes.is_empty() => hex_literal_into(out, bytes),
        ValueKind::Parsed if std::str::from_utf8(bytes).is_ok() => {
            out.extend_from_slice(b"_utf8mb4");
            quoted_into(out, bytes);
        }
        _ => text_or_hex(out, bytes, false),
    }
}

/// A quoted string if `bytes` are UTF-8, else a hex literal. The bytes are
/// escaped first and checked for UTF-8 only if some are not ASCII.
fn text_or_hex(out: &mut Vec<u8>, bytes: &[u8], _binary: bool) {
    let mark = out.len();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let ascii = escape_table_into(out, bytes, &SQL_ESCAPES);
    if ascii || std::str::from_utf8(bytes).is_ok() {
        out.push(b'"');
    } else {
        out.truncate(mark);
        hex_literal_into(out, bytes);
    }
}

/// Field layout of a LOAD DATA (`.dat`) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFormat {
    pub terminated_by: u8,
    /// `None` for no enclosure (LOAD_DATA), `Some(b'"')` for CSV.
    pub enclosed_by: Option<u8>,
    pub escaped_by: u8,
    pub lines_starting_by: Cow<'static, [u8]>,
    pub lines_terminated_by: Cow<'static, [u8]>,
    escapes: EscapeTable,
}

impl FieldFormat {
    /// mydumper's LOAD_DATA: TAB-separated, no enclosure, `\` escapes.
    pub const LOAD_DATA: FieldFormat = FieldFormat {
        terminated_by: b'\t',
        enclosed_by: None,
        escaped_by: b'\\',
        lines_starting_by: Cow::Borrowed(b""),
        lines_terminated_by: Cow::Borrowed(b"\n"),
        escapes: escape_table(b'\\', [Some(b'\t'), None, None], true),
    };
    /// mydumper's CSV: comma-separated, `"` enclosure, `\` escapes.
    pub const CSV: FieldFormat = FieldFormat {
        terminated_by: b',',
        enclosed_by: Some(b'"'),
        escaped_by: b'\\',
        lines_starting_by: Cow::Borrowed(b""),
        lines_terminated_by: Cow::Borrowed(b"\n"),
        escapes: escape_table(b'\\', [Some(b','), Some(b'"'), None], false),
    };

    /// A layout of one's own (`--fields-*`, `--lines-*`). The escape
    /// character must differ from the separators and from the letters of
    /// the escape sequences; every byte that could end a field or a line
    /// inside a value is escaped.
    pub fn new(
        terminated_by: u8,
        enclosed_by: Option<u8>,
        escaped_by: u8,
        lines_starting_by: &[u8],
        lines_terminated_by: &[u8],
    ) -> Result<FieldFormat, String> {
        let printable = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t';
        if !printable(terminated_by) || !enclosed_by.is_none_or(printable) || !(0x21..0x7f).contains(&escaped_by) {
            return Err("separators, enclosure and escape must be single ASCII characters".into());
        }
        if escaped_by.is_ascii_alphanumeric() || escaped_by == terminated_by || Some(escaped_by) == enclosed_by {
            return Err(format!("{:?} cannot be the escape character", escaped_by as char));
        }
        if Some(terminated_by) == enclosed_by {
            return Err("the field separator and the enclosure must differ".into());
        }
        if lines_terminated_by.is_empty() || lines_terminated_by.iter().chain(lines_starting_by).any(|&b| !b.is_ascii()) {
            return Err("line separators must be ASCII, and lines must end with something".into());
        }
        let line_end = lines_terminated_by[0];
        let line_end = (line_end != terminated_by && Some(line_end) != enclosed_by && line_end >= 0x20).then_some(line_end);
        Ok(FieldFormat {
            terminated_by,
            enclosed_by,
            escaped_by,
            lines_starting_by: Cow::Owned(lines_starting_by.to_vec()),
            lines_terminated_by: Cow::Owned(lines_terminated_by.to_vec()),
            escapes: escape_table(escaped_by, [Some(terminated_by), enclosed_by, line_end], terminated_by == b'\t'),
        })
    }

    /// The `FIELDS … LINES …` clause of the matching LOAD DATA statement.
    pub fn clause(&self) -> String {
        let lit = |bytes: &[u8]| -> String {
            bytes
                .iter()
                .map(|&b| match b {
                    b'\t' => "\\t".to_string(),
                    b'\n' => "\\n".to_string(),
                    b'\r' => "\\r".to_string(),
                    b'\\' => "\\\\".to_string(),
                    b'\'' => "\\'".to_string(),
                    b => (b as char).to_string(),
                })
                .collect()
        };
        format!(
            "FIELDS TERMINATED BY '{}' ENCLOSED BY '{}' ESCAPED BY '{}' LINES STARTING BY '{}' TERMINATED BY '{}'",
            lit(&[self.terminated_by]),
            lit(self.enclosed_by.as_slice()),
            lit(&[self.escaped_by]),
            lit(&self.lines_starting_by),
            lit(&self.lines_terminated_by)
        )
    }
}

/// How a column travels through a `.dat` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Bytes as stored, escaped.
    Raw,
    /// Hex digits, loaded with `UNHEX(@var)` (binary columns, `--hex-blob`).
    Hex,
    /// Hex digits of a BIT value, loaded with `CAST(CONV(@var,16,10) AS UNSIGNED)`.
    Bits,
    /// Text the server parses (INET6, UUID), loaded with `CONVERT(@var USING utf8mb4)`.
    Text,
}

impl FieldKind {
    pub fn for_kind(kind: ValueKind, hex_blob: bool) -> FieldKind {
        match kind {
            ValueKind::Bits => FieldKind::Bits,
            ValueKind::Binary => FieldKind::Hex,
            ValueKind::Text if hex_blob => FieldKind::Hex,
            ValueKind::Parsed => FieldKind::Text,
            _ => FieldKind::Raw,
        }
    }

    /// The `SET` expression that turns the user variable back into the
    /// column's value, if the field is not loaded directly.
    pub fn set_expression(self, var: &str) -> Option<String> {
        match self {
            FieldKind::Raw => None,
            FieldKind::Hex => Some(format!("UNHEX({var})")),
            FieldKind::Bits => Some(format!("CAST(CONV({var},16,10) AS UNSIGNED)")),
            FieldKind::Text => Some(format!("CONVERT({var} USING utf8mb4)")),
        }
    }
}

/// Appends one field of a `.dat` row (without separator). NULL is `\N`
/// (with the format's escape character).
pub fn field_into(out: &mut Vec<u8>, value: Option<&[u8]>, kind: ValueKind, field: FieldKind, fmt: &FieldFormat) {
    let Some(bytes) = value else {
        out.extend_from_slice(&[fmt.escaped_by, b'N']);
        return;
    };
    let converted;
    let bytes: &[u8] = match (field, kind) {
        (FieldKind::Hex, _) | (FieldKind::Bits, _) => {
            let mut v = Vec::with_capacity(bytes.len() * 2);
            hex_digits_into(&mut v, bytes);
            if v.is_empty() && field == FieldKind::Bits {
                v.push(b'0');
            }
            converted = v;
            &converted
        }
        (FieldKind::Raw, ValueKind::Float) => match std::str::from_utf8(bytes).ok().and_then(float_text) {
            Some(s) => {
                converted = s.into_bytes();
                &converted
            }
            None => bytes,
        },
        _ => bytes,
    };
    let enclose = fmt.enclosed_by.filter(|_| !matches!(kind, ValueKind::Number | ValueKind::Float) || field != FieldKind::Raw);
    if let Some(q) = enclose {
        out.push(q);
    }
    // A TAB separator is written `\t`, which the server reads as a TAB.
    escape_table_into(out, bytes, &fmt.escapes);
    if let Some(q) = enclose {
        out.push(q);
    }
}

/// Quotes an identifier with backticks, doubling backticks inside it.
pub fn ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for c in name.chars() {
        if c == '`' {
            s.push('`');
        }
        s.push(c);
    }
    s.push('`');
    s
}

/// Whether `s` is a plain SQL word (letters, digits, `_`; not empty), as
/// names of character sets, collations, engines and variables are: safe to
/// put into a statement unquoted.
pub fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A string literal for SQL text built by the programs (names in queries):
/// single-quoted, escaped.
pub fn string_literal(s: &str) -> String {
    let mut v = Vec::with_capacity(s.len() + 2);
    v.push(b'\'');
    escape_into(&mut v, s.as_bytes());
    v.push(b'\'');
    // Escaping keeps valid UTF-8 valid: only ASCII bytes are added.
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }

    fn sql(v: Option<&[u8]>, kind: ValueKind, hex: bool) -> String {
        let mut out = Vec::new();
        sql_value_into(&mut out, v, kind, hex);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_mysql_real_escape_string() {
        let mut out = Vec::new();
        escape_into(&mut out, b"a\0b\nc\rd\\e'f\"g\x1ah\ti");
        assert_eq!(out, b"a\\0b\\nc\\rd\\\\e\\'f\\\"g\\Zh\ti");
    }

    #[test]
    fn values_by_kind() {
        assert_eq!(sql(None, ValueKind::Text, false), "NULL");
        assert_eq!(sql(Some(b"NULL"), ValueKind::Text, false), "\"NULL\"");
        assert_eq!(sql(Some(b"-12.50"), ValueKind::Number, false), "-12.50");
        assert_eq!(sql(Some(b"x);DROP"), ValueKind::Number, false), "\"x);DROP\"");
        assert_eq!(sql(Some(b"\x05"), ValueKind::Bits, false), "0x05");
        assert_eq!(sql(Some(b"\xe9t\xe9"), ValueKind::Text, false), "0xE974E9");
        assert_eq!(sql(Some("été".as_bytes()), ValueKind::Text, false), "\"été\"");
        assert_eq!(sql(Some(b"ab"), ValueKind::Binary, false), "_binary \"ab\"");
        assert_eq!(sql(Some(b"\x00\xff"), ValueKind::Binary, false), "0x00FF");
        assert_eq!(sql(Some(b""), ValueKind::Binary, true), "_binary \"\"");
        assert_eq!(sql(Some(b"a"), ValueKind::Text, true), "0x61");
        assert_eq!(sql(Some(b"2020-01-01"), ValueKind::Formatted, true), "\"2020-01-01\"");
        assert_eq!(sql(Some(b"::1"), ValueKind::Parsed, false), "_utf8mb4\"::1\"");
        assert_eq!(sql(Some(b"l1\nl2"), ValueKind::Text, false), "\"l1\\nl2\"");
        let long_invalid = b"0123456789abcdef'0123456789abcdef\xff";
        assert_eq!(sql(Some(long_invalid), ValueKind::Text, false), format!("0x{}", hex(long_invalid)));
        let long_utf8 = "0123456789abcdef'0123456789abcdéf";
        assert_eq!(sql(Some(long_utf8.as_bytes()), ValueKind::Text, false), "\"0123456789abcdef\\'0123456789abcdéf\"");
    }

    #[test]
    fn floats_round_trip_exactly() {
        for v in [-3.40282e38f32, 1.17549e-38, 0.1, 1.0 / 3.0, 3.4028235e38, 1e-45, 0.0, -0.0, 16777217.0, 123456.79] {
            let exact = (v as f64).to_string();
            let s = float_text(&exact).unwrap();
            let back: f64 = s.parse().unwrap();
            assert_eq!((back as f32).to_bits(), v.to_bits(), "{v} -> {s}");
        }
        assert_eq!(float_text("0.10000000149011612").unwrap(), "0.1");
        assert_eq!(float_text("-3.402820018375656e38").unwrap(), "-3.40282e38");
    }

    #[test]
    fn kinds_from_data_type() {
        assert_eq!(ValueKind::from_data_type("BIGINT"), ValueKind::Number);
        assert_eq!(ValueKind::from_data_type("float"), ValueKind::Float);
        assert_eq!(ValueKind::from_data_type("point"), ValueKind::Binary);
        assert_eq!(ValueKind::from_data_type("inet6"), ValueKind::Parsed);
        assert_eq!(ValueKind::from_data_type("longtext"), ValueKind::Text);
        assert_eq!(ValueKind::from_data_type("enum"), ValueKind::Text);
    }

    #[test]
    fn load_data_fields() {
        let f = |v: Option<&[u8]>, k, fk, fmt| {
            let mut out = Vec::new();
            field_into(&mut out, v, k, fk, &fmt);
            out
        };
        let ld = || FieldFormat::LOAD_DATA;
        assert_eq!(f(None, ValueKind::Text, FieldKind::Raw, ld()), b"\\N");
        assert_eq!(f(Some(b"\\N"), ValueKind::Text, FieldKind::Raw, ld()), b"\\\\N");
        assert_eq!(f(Some(b"a\tb\nc"), ValueKind::Text, FieldKind::Raw, ld()), b"a\\tb\\nc");
        assert_eq!(f(Some(b"\x01\xff"), ValueKind::Binary, FieldKind::Hex, ld()), b"01FF");
        let csv = || FieldFormat::CSV;
        assert_eq!(f(Some(b"a,\"b"), ValueKind::Text, FieldKind::Raw, csv()), b"\"a\\,\\\"b\"");
        assert_eq!(f(Some(b"12"), ValueKind::Number, FieldKind::Raw, csv()), b"12");
        assert_eq!(ld().clause(), "FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES STARTING BY '' TERMINATED BY '\\n'");
    }

    /// The escaping rules one byte at a time, as the tables must apply them.
    fn escape_reference(bytes: &[u8], also: &[u8], tab: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                0 => out.extend_from_slice(b"\\0"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x1a => out.extend_from_slice(b"\\Z"),
                b'\t' if tab => out.extend_from_slice(b"\\t"),
                b if also.contains(&b) => out.extend_from_slice(&[b'\\', b]),
                _ => out.push(b),
            }
        }
        out
    }

    #[test]
    fn escape_tables_match_the_rules_for_every_byte() {
        let all: Vec<u8> = (0..=255u8).chain(b"plain run".iter().copied()).chain(0..=255u8).collect();
        let mut out = Vec::new();
        escape_into(&mut out, &all);
        assert_eq!(out, escape_reference(&all, b"'\"", false));
        let mut out = Vec::new();
        field_into(&mut out, Some(&all), ValueKind::Text, FieldKind::Raw, &FieldFormat::LOAD_DATA);
        assert_eq!(out, escape_reference(&all, b"\t", true));
        let mut out = Vec::new();
        field_into(&mut out, Some(&all), ValueKind::Text, FieldKind::Raw, &FieldFormat::CSV);
        let mut want = vec![b'"'];
        want.extend(escape_reference(&all, b",\"", false));
        want.push(b'"');
        assert_eq!(out, want);
        let odd = FieldFormat::new(b';', Some(b'|'), b'\\', b"", b"\n").unwrap();
        let mut out = Vec::new();
        field_into(&mut out, Some(&all), ValueKind::Text, FieldKind::Raw, &odd);
        let mut want = vec![b'|'];
        want.extend(escape_reference(&all, b";|", false));
        want.push(b'|');
        assert_eq!(out, want);
    }

    #[test]
    fn escapes_at_every_position_of_long_values() {
        for special in [0u8, b'\n', b'\r', b'\\', 0x1a, b'\'', b'"', b'\t', 0x1f, 0x80, 0xff] {
            for len in [15, 16, 17, 40] {
                for p in 0..len {
                    let mut v = vec![b'a'; len];
                    v[p] = special;
                    v[len - 1 - p] = special;
                    let mut out = Vec::new();
                    escape_into(&mut out, &v);
                    assert_eq!(out, escape_reference(&v, b"'\"", false), "{special:#x} at {p} of {len}");
                    let mut out = Vec::new();
                    field_into(&mut out, Some(&v), ValueKind::Text, FieldKind::Raw, &FieldFormat::LOAD_DATA);
                    assert_eq!(out, escape_reference(&v, b"\t", true), "{special:#x} at {p} of {len}");
                }
            }
        }
    }

    #[test]
    fn layouts_of_ones_own() {
        let f = FieldFormat::new(b'|', Some(b'\''), b'#', b">", b"$$\n").unwrap();
        let mut out = Vec::new();
        field_into(&mut out, Some(b"a#b|c'd$e\n\\"), ValueKind::Text, FieldKind::Raw, &f);
        assert_eq!(out, b"'a##b#|c#'d#$e#n\\'");
        let mut out = Vec::new();
        field_into(&mut out, None, ValueKind::Text, FieldKind::Raw, &f);
        assert_eq!(out, b"#N");
        assert_eq!(f.clause(), "FIELDS TERMINATED BY '|' ENCLOSED BY '\\'' ESCAPED BY '#' LINES STARTING BY '>' TERMINATED BY '$$\\n'");
        assert!(FieldFormat::new(b',', None, b'n', b"", b"\n").is_err());
        assert!(FieldFormat::new(b',', Some(b','), b'\\', b"", b"\n").is_err());
        assert!(FieldFormat::new(b',', None, b'\\', b"", b"").is_err());
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(string_literal("it's"), "'it\\'s'");
    }
}
