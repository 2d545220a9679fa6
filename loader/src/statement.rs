//! Streaming statement splitter for dump files.
//!
//! A statement ends at a `;` followed by a newline (or the end of the file)
//! outside quotes (`'`, `"`, backtick) and comments. This is the boundary
//! mydumper writes; routine and trigger bodies carry their inner `;` as
//! `; \n`, so they stay whole. `-- `, `#` and `/* */` comments are dropped;
//! `/*! … */` and `/*+ … */` hints are kept as statement text. Memory is
//! bounded by the largest statement.

use std::io::{self, BufRead};

/// Statements larger than this are refused rather than buffered.
pub const MAX_STATEMENT: usize = 1 << 30;

/// One statement: its bytes (without the terminating newline) and the line
/// of the file it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: Vec<u8>,
    pub line: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("line {line}: the file ends inside a {what} that starts there")]
    Unterminated { what: &'static str, line: u64 },
    #[error("line {line}: the file ends inside a statement (no terminating ';')")]
    Incomplete { line: u64 },
    #[error("line {line}: statement larger than {MAX_STATEMENT} bytes")]
    TooLarge { line: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside a quoted string or identifier with this quote byte.
    Quote(u8),
    /// After a backslash inside a string.
    Escape(u8),
    /// Saw `;`: a newline next ends the statement.
    Semi,
    /// Saw `-`.
    Dash,
    /// Saw `--`: a blank next starts a comment.
    DashDash,
    /// Saw `/`.
    Slash,
    /// Saw `/*`: `!` or `+` next makes it a hint.
    SlashStar,
    LineComment,
    BlockComment,
    /// Saw `*` inside a block comment.
    BlockStar,
}

pub struct StatementReader<R: BufRead> {
    inner: R,
    split: Splitter,
    done: bool,
}

/// The splitting state, apart from the input so that it can scan the
/// input's buffer in place.
struct Splitter {
    line: u64,
    buf: Vec<u8>,
    start_line: u64,
    state: State,
    /// Line where the open quote or comment began, for errors.
    open_line: u64,
    /// The largest statement so far: the next buffer starts this big.
    largest: usize,
}

/// Bytes that end a run of ordinary statement text in `Normal` state.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let specials = b"'\"`;-/#";
    while i < specials.len() {
        t[specials[i] as usize] = true;
        i += 1;
    }
    t
};

impl<R: BufRead> StatementReader<R> {
    pub fn new(inner: R) -> Self {
        StatementReader {
            inner,
            split: Splitter { line: 1, buf: Vec::new(), start_line: 1, state: State::Normal, open_line: 1, largest: 0 },
            done: false,
        }
    }

    /// The next statement, or `None` at the end of the input.
    pub fn next_statement(&mut self) -> Result<Option<Statement>, SplitError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if chunk.is_empty() {
                self.done = true;
                return self.split.at_eof();
            }
            let (used, found) = self.split.scan(chunk);
            self.inner.consume(used);
            if let Some(s) = found {
                return Ok(Some(s));
            }
            if self.split.buf.len() > MAX_STATEMENT {
                return Err(SplitError::TooLarge { line: self.split.start_line });
            }
        }
    }
}

impl Splitter {
    /// Consumes bytes of `chunk` up to the end of a statement, or all of
    /// them: how many it used, and the statement if one ended. Runs inside
    /// quotes and of ordinary text are copied whole; the rest goes byte by
    /// byte through `feed`.
    fn scan(&mut self, chunk: &[u8]) -> (usize, Option<Statement>) {
        let mut i = 0;
        while i < chunk.len() {
            let rest = &chunk[i..];
            let run = match self.state {
                State::Quote(q) => {
                    let n = if q == b'`' { memchr::memchr(q, rest) } else { memchr::memchr2(q, b'\\', rest) };
                    n.unwrap_or(rest.len())
                }
                State::Normal if !self.buf.is_empty() => rest.iter().position(|&b| SPECIAL[b as usize]).unwrap_or(rest.len()),
                _ => 0,
            };
            if run > 0 {
                let seg = &rest[..run];
                self.line += memchr::memchr_iter(b'\n', seg).count() as u64;
                self.buf.extend_from_slice(seg);
                i += run;
                continue;
            }
            i += 1;
            if let Some(s) = self.feed(rest[0]) {
                return (i, Some(s));
            }
        }
        (i, None)
    }

    fn push(&mut self, b: u8) {
        if self.buf.is_empty() {
            if b.is_ascii_whitespace() {
                return;
            }
            self.start_line = self.line;
        }
        self.buf.push(b);
    }

    /// Takes the finished statement, skipping empty ones. The next buffer
    /// starts as big as the largest statement so far, so that it does not
    /// grow (and copy) step by step.
    fn finish(&mut self) -> Option<Statement> {
        while self.buf.last().is_some_and(|b| b.is_ascii_whitespace()) {
            self.buf.pop();
        }
        let only_semicolons = self.buf.iter().all(|&b| b == b';' || b.is_ascii_whitespace());
        if only_semicolons {
            self.buf.clear();
            return None;
        }
        self.largest = self.largest.max(self.buf.len());
        let text = std::mem::replace(&mut self.buf, Vec::with_capacity(self.largest + 64));
        Some(Statement { text, line: self.start_line })
    }

    /// Processes one byte in `Normal` state; returns nothing.
    fn normal(&mut self, b: u8) {
        match b {
            b'\'' | b'"' | b'`' => {
                self.open_line = self.line;
                self.push(b);
                self.state = State::Quote(b);
            }
            b';' => {
                self.push(b);
                self.state = State::Semi;
            }
            b'-' => self.state = State::Dash,
            b'/' => self.state = State::Slash,
            b'#' => self.state = State::LineComment,
            _ => self.push(b),
        }
    }

    /// Feeds one byte; returns a statement when one ends with it.
    fn feed(&mut self, b: u8) -> Option<Statement> {
        let mut out = None;
        match self.state {
            State::Normal => self.normal(b),
            State::Quote(q) => {
                self.buf.push(b);
                if b == q {
                    self.state = State::Normal;
                } else if b == b'\\' && q != b'`' {
                    self.state = State::Escape(q);
                }
            }
            State::Escape(q) => {
                self.buf.push(b);
                self.state = State::Quote(q);
            }
            State::Semi => {
                if b == b'\n' {
                    self.state = State::Normal;
                    out = self.finish();
                } else {
                    self.state = State::Normal;
                    self.normal(b);
                }
            }
            State::Dash => {
                if b == b'-' {
                    self.state = State::DashDash;
                } else {
                    self.push(b'-');
                    self.state = State::Normal;
                    self.normal(b);
                }
            }
            State::DashDash => {
                if b == b' ' || b == b'\t' || b == b'\r' {
                    self.state = State::LineComment;
                } else if b == b'\n' {
                    self.state = State::Normal;
                    self.push(b'\n');
                } else {
                    self.push(b'-');
                    self.push(b'-');
                    self.state = State::Normal;
                    self.normal(b);
                }
            }
            State::Slash => {
                if b == b'*' {
                    self.open_line = self.line;
                    self.state = State::SlashStar;
                } else {
                    self.push(b'/');
                    self.state = State::Normal;
                    self.normal(b);
                }
            }
            State::SlashStar => {
                if b == b'!' || b == b'+' {
                    self.push(b'/');
                    self.push(b'*');
                    self.push(b);
                    self.state = State::Normal;
                } else if b == b'*' {
                    self.state = State::BlockStar;
                } else {
                    self.state = State::BlockComment;
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    self.state = State::Normal;
                    self.push(b'\n');
                }
            }
            State::BlockComment => {
                if b == b'*' {
                    self.state = State::BlockStar;
                }
            }
            State::BlockStar => {
                if b == b'/' {
                    self.state = State::Normal;
                    self.push(b' ');
                } else if b != b'*' {
                    self.state = State::BlockComment;
                }
            }
        }
        if b == b'\n' {
            self.line += 1;
        }
        out
    }

    fn at_eof(&mut self) -> Result<Option<Statement>, SplitError> {
        match self.state {
            State::Quote(q) | State::Escape(q) => {
                let what = match q {
                    b'\'' => "single-quoted string",
                    b'"' => "double-quoted string",
                    _ => "quoted identifier",
                };
                return Err(SplitError::Unterminated { what, line: self.open_line });
            }
            State::BlockComment | State::BlockStar | State::SlashStar => {
                return Err(SplitError::Unterminated { what: "comment", line: self.open_line });
            }
            State::Semi => return Ok(self.finish()),
            State::Dash => self.push(b'-'),
            State::Slash => self.push(b'/'),
            State::DashDash => {
                self.push(b'-');
                self.push(b'-');
            }
            State::Normal | State::LineComment => {}
        }
        if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        Err(SplitError::Incomplete { line: self.start_line })
    }
}

impl<R: BufRead> Iterator for StatementReader<R> {
    type Item = Result<Statement, SplitError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_statement().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8]) -> Vec<(String, u64)> {
        // A tiny buffer exercises statements spanning reads.
        let r = io::BufReader::with_capacity(3, input);
        StatementReader::new(r)
            .map(|s| {
                let s = s.unwrap();
                (String::from_utf8_lossy(&s.text).into_owned(), s.line)
            })
            .collect()
    }

    #[test]
    fn splits_mydumper_file() {
        let f = b"/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\nINSERT INTO `t` VALUES(1,\"a;\nb\")\n,(2,'x'';\n')\n;\n";
        let got = split(f);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("/*!40101 SET NAMES binary*/;".into(), 1));
        assert_eq!(got[1].1, 2);
        assert_eq!(got[2], ("INSERT INTO `t` VALUES(1,\"a;\nb\")\n,(2,'x'';\n')\n;".into(), 3));
    }

    #[test]
    fn routine_bodies_stay_whole() {
        let f = b"CREATE TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW BEGIN\n  SET NEW.a = 1; \nEND;\nSET @a=1;\n";
        let got = split(f);
        assert_eq!(got.len(), 2);
        assert!(got[0].0.ends_with("SET NEW.a = 1; \nEND;"));
        assert_eq!(got[1], ("SET @a=1;".into(), 4));
    }

    #[test]
    fn comments_are_dropped_hints_kept() {
        let f = b"-- a comment;\n# another;\n/* block;\n*/ SELECT 1 /*! hint */;\nSELECT a--b FROM t;\nSELECT '-- no' -- yes;\n;\n";
        let got = split(f);
        assert_eq!(got[0], ("SELECT 1 /*! hint */;".into(), 4));
        assert_eq!(got[1].0, "SELECT a--b FROM t;");
        assert_eq!(got[2].0, "SELECT '-- no' \n;");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn escapes_inside_strings() {
        let f = b"INSERT INTO t VALUES(\"a\\\";\nb\",'c\\\\');\nSELECT 2;";
        let got = split(f);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], ("SELECT 2;".into(), 3));
    }

    #[test]
    fn old_layout_loads() {
        let f = b"INSERT INTO `t` VALUES\n(1,'a'),\n(2,'b');\n";
        assert_eq!(split(f), vec![("INSERT INTO `t` VALUES\n(1,'a'),\n(2,'b');".into(), 1)]);
    }

    #[test]
    fn semicolon_crlf_is_not_an_end() {
        let f = b"SELECT 1;\r\nSELECT 2;\n";
        assert_eq!(split(f).len(), 1);
    }

    #[test]
    fn truncated_input_is_an_error() {
        for (bad, line) in [(&b"SELECT 1;\nINSERT INTO t VALUES(1,'abc"[..], 2), (b"SELECT 1;\n\nINSERT INTO t VALUES(1)", 3), (b"/* open", 1)] {
            let e = StatementReader::new(bad).find_map(|r| r.err()).expect("an error");
            assert!(e.to_string().contains(&format!("line {line}")), "{e}");
        }
    }

    #[test]
    fn buffer_size_does_not_matter() {
        let f: &[u8] = b"/*!40101 SET NAMES binary*/;\n-- c;\n  INSERT INTO `t``x` VALUES(1,\"a\\\";\nb\",'c''d;\n',`e`)\n,(2,\"\",'')\n;\n\n# x\nSELECT a-b/c FROM t /* in; */ WHERE d='--';\nCREATE TRIGGER x BEGIN\n SET a = 1; \nEND;\n";
        let reference = split(f);
        assert_eq!(reference.len(), 4, "{reference:?}");
        for cap in [1, 2, 4, 7, 16, 1 << 16] {
            let r = io::BufReader::with_capacity(cap, f);
            let got: Vec<(String, u64)> = StatementReader::new(r)
                .map(|s| {
                    let s = s.unwrap();
                    (String::from_utf8_lossy(&s.text).into_owned(), s.line)
                })
                .collect();
            assert_eq!(got, reference, "buffer of {cap}");
        }
        assert_eq!(reference[1].1, 3);
        assert_eq!(reference[2], ("SELECT a-b/c FROM t   WHERE d='--';".into(), 10));
        assert_eq!(reference[3].1, 11);
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let f = b"INSERT INTO t VALUES(_binary \"\xff\xfe\");\n";
        let r = StatementReader::new(&f[..]).next().unwrap().unwrap();
        assert_eq!(r.text, b"INSERT INTO t VALUES(_binary \"\xff\xfe\");");
    }
}
