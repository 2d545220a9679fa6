//! Turning statement bytes into query text the client library can send.
//!
//! The client sends queries as `&str`, but dump files carry raw bytes inside
//! string literals (binary columns, latin1 text). A statement that is valid
//! UTF-8 is sent as it is. Otherwise each quoted string literal that is not
//! valid UTF-8 is rewritten as a hex literal `X'…'` holding exactly the bytes
//! the literal denotes; a charset introducer in front of it (`_binary`,
//! `_latin1`) stays and applies to the hex literal. Invalid UTF-8 outside
//! string literals cannot be expressed and is an error.

use std::borrow::Cow;
use std::fmt::Write;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TextError {
    #[error("invalid UTF-8 outside a string literal at byte {offset} of the statement")]
    InvalidOutsideLiteral { offset: usize },
    #[error("unterminated quoted literal starting at byte {offset} of the statement")]
    Unterminated { offset: usize },
}

/// The statement as query text; see the module documentation.
pub fn to_query(stmt: &[u8]) -> Result<Cow<'_, str>, TextError> {
    if let Ok(s) = std::str::from_utf8(stmt) {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(stmt.len() * 2);
    let mut i = 0;
    let mut code_start = 0;
    while i < stmt.len() {
        let b = stmt[i];
        if b == b'\'' || b == b'"' || b == b'`' {
            push_code(&mut out, stmt, code_start, i)?;
            let end = literal_end(stmt, i).ok_or(TextError::Unterminated { offset: i })?;
            let whole = &stmt[i..end];
            match std::str::from_utf8(whole) {
                Ok(s) => out.push_str(s),
                Err(_) if b == b'`' => {
                    return Err(TextError::InvalidOutsideLiteral { offset: i });
                }
                Err(_) => {
                    let bytes = unescape(&whole[1..whole.len() - 1], b);
                    out.push_str(" X'");
                    for byte in bytes {
                        let _ = write!(out, "{byte:02X}");
                    }
                    out.push('\'');
                }
            }
            i = end;
            code_start = i;
        } else {
            i += 1;
        }
    }
    push_code(&mut out, stmt, code_start, stmt.len())?;
    Ok(Cow::Owned(out))
}

fn push_code(out: &mut String, stmt: &[u8], from: usize, to: usize) -> Result<(), TextError> {
    match std::str::from_utf8(&stmt[from..to]) {
        Ok(s) => {
            out.push_str(s);
            Ok(())
        }
        Err(e) => Err(TextError::InvalidOutsideLiteral { offset: from + e.valid_up_to() }),
    }
}

/// Whether `c` may be part of an unquoted identifier or keyword.
pub fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Index just past the word of identifier characters starting at `at`.
pub fn word_end(b: &[u8], at: usize) -> usize {
    at + b[at..].iter().position(|&c| !is_word(c)).unwrap_or(b.len() - at)
}

/// Index of the first non-blank byte at or after `at` (or the end).
pub fn skip_blanks(b: &[u8], at: usize) -> usize {
    at + b[at..].iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len() - at)
}

/// Index just past the closing quote of the literal opening at `start`.
pub fn literal_end(stmt: &[u8], start: usize) -> Option<usize> {
    let q = stmt[start];
    let mut i = start + 1;
    loop {
        if i >= stmt.len() {
            return None;
        }
        // Only the quote and (outside backticks) the backslash matter.
        let at = if q == b'`' { memchr::memchr(q, &stmt[i..]) } else { memchr::memchr2(q, b'\\', &stmt[i..]) };
        i += at?;
        if stmt[i] == b'\\' {
            i += 2;
            continue;
        }
        if stmt.get(i + 1) == Some(&q) {
            i += 2;
            continue;
        }
        return Some(i + 1);
    }
}

/// The bytes a string literal's body denotes: backslash escapes as the
/// server reads them (`\%` and `\_` stay two characters), doubled quotes
/// as one.
pub fn unescape(body: &[u8], quote: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'\\' && i + 1 < body.len() {
            let e = body[i + 1];
            match e {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(26),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', e]),
                other => out.push(other),
            }
            i += 2;
        } else if b == quote && body.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_borrowed() {
        let s = "INSERT INTO `t` VALUES(1,\"ünï\")".as_bytes();
        assert!(matches!(to_query(s), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn invalid_literals_become_hex() {
        let s = b"INSERT INTO `t` VALUES(1,_binary \"\xff\\0\\\"a\",\"ok\",'\xe9''\\n')";
        let q = to_query(s).unwrap();
        assert_eq!(q, "INSERT INTO `t` VALUES(1,_binary  X'FF002261',\"ok\", X'E9270A')");
    }

    #[test]
    fn introducer_without_space_stays_separate() {
        let q = to_query(b"SELECT _latin1'\xe9t\xe9'").unwrap();
        assert_eq!(q, "SELECT _latin1 X'E974E9'");
    }

    #[test]
    fn like_escapes_stay_two_characters() {
        assert_eq!(unescape(b"a\\%b\\_c\\x", b'"'), b"a\\%b\\_cx");
        assert_eq!(unescape(b"\\Z\\b\\r\\t\\\\", b'"'), [26, 8, b'\r', b'\t', b'\\']);
    }

    #[test]
    fn invalid_outside_literal_is_an_error() {
        assert_eq!(to_query(b"SELECT \xff"), Err(TextError::InvalidOutsideLiteral { offset: 7 }));
        assert_eq!(to_query(b"SELECT `\xff`"), Err(TextError::InvalidOutsideLiteral { offset: 7 }));
        assert!(matches!(to_query(b"SELECT '\xff"), Err(TextError::Unterminated { .. })));
    }

    #[test]
    fn quotes_inside_other_quotes_are_text() {
        let q = to_query(b"SELECT \"it's\", '\xff\"'").unwrap();
        assert_eq!(q, "SELECT \"it's\",  X'FF22'");
    }
}
