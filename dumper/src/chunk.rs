//! Chunking: a table with an integer key is cut into inclusive key ranges
//! that workers dump in parallel; other tables are one chunk. Plans are made
//! on a worker's connection, inside the snapshot, so they see exactly the
//! rows the chunks will read.

use anyhow::{anyhow, Result};
use common::escape::ident;
use mysql::prelude::Queryable;

use crate::catalog::{text, Table};
use crate::cli::Rows;

/// Tables with fewer estimated rows stay in one chunk (automatic sizing).
const MIN_SPLIT_ROWS: u64 = 10_000;
/// Rows per chunk for automatic sizing: large enough that most tables stay
/// whole, small enough that the workers share the rows evenly. A whole
/// table is read by a table scan; a key range costs the server a range scan
/// with a bound check per row, about a sixth more of its CPU per row. So a
/// table is cut only where its size would leave workers idle: each chunk
/// at most half of one worker's share of all the rows (`total_rows`, the
/// estimate for every table of the dump), which with the largest chunks
/// dumped first keeps the workers' ends close.
pub fn auto_chunk_rows(total_rows: u64, threads: usize) -> u64 {
    (total_rows / (2 * threads.max(1) as u64)).max(MIN_SPLIT_ROWS)
}
/// At most this many chunks per table (automatic and dynamic sizing).
const MAX_CHUNKS: u64 = 4096;

/// Part of a table: its file part number and the rows it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub part: u64,
    /// Inclusive bounds on the key; `None` = unbounded on that side. The
    /// chunk without a lower bound also takes rows whose key is NULL.
    pub lo: Option<i128>,
    pub hi: Option<i128>,
    pub whole: bool,
    /// The partition it reads (`--split-partitions`), all of it.
    pub partition: Option<String>,
    /// A range of a string key (`--split-string-pk`): its condition.
    pub text_range: Option<String>,
}

impl Chunk {
    pub fn whole() -> Chunk {
        Chunk { part: 0, lo: None, hi: None, whole: true, partition: None, text_range: None }
    }

    /// The `PARTITION (…)` clause of its SELECT, if any.
    pub fn partition_clause(&self) -> String {
        self.partition.as_ref().map(|p| format!(" PARTITION ({})", ident(p))).unwrap_or_default()
    }

    /// The WHERE condition of this chunk on `key`, if any.
    pub fn condition(&self, key: &str) -> Option<String> {
        if let Some(c) = &self.text_range {
            return Some(c.clone());
        }
        if self.whole {
            return None;
        }
        let k = ident(key);
        Some(match (self.lo, self.hi) {
            (None, None) => return None,
            (None, Some(hi)) => format!("({k} IS NULL OR {k} <= {hi})"),
            (Some(lo), None) => format!("{k} >= {lo}"),
            (Some(lo), Some(hi)) => format!("({lo} <= {k} AND {k} <= {hi})"),
        })
    }

    /// For messages: `00003 (rows with id 30000..39999)`.
    pub fn describe(&self, key: Option<&str>) -> String {
        if let Some(p) = &self.partition {
            return format!("chunk {:05} (partition {p})", self.part);
        }
        if let (Some(c), Some(k)) = (&self.text_range, key) {
            return format!("chunk {:05} ({k} range {})", self.part, c);
        }
        let range = match (self.whole, key, self.lo, self.hi) {
            (true, _, _, _) | (_, None, _, _) => String::new(),
            (_, Some(k), lo, hi) => format!(
                " ({k} {}..{})",
                lo.map(|v| v.to_string()).unwrap_or_default(),
                hi.map(|v| v.to_string()).unwrap_or_default()
            ),
        };
        format!("chunk {:05}{range}", self.part)
    }
}

fn int(v: &mysql::Value) -> Result<Option<i128>> {
    match v {
        mysql::Value::NULL => Ok(None),
        other => {
            let t = text(other);
            t.trim().parse::<i128>().map(Some).map_err(|_| anyhow!("key value {t:?} is not an integer"))
        }
    }
}

fn where_sql(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

/// `--split-partitions`/`--partition-regex`: one chunk per partition (per
/// subpartition where there are some) whose name `regex` matches, in the
/// table's order; `None` for a table without partitions, which is chunked
/// as any other.
pub fn partitions(conn: &mut mysql::Conn, t: &Table, regex: Option<&fancy_regex::Regex>) -> Result<Option<Vec<Chunk>>> {
    let q = format!(
        "SELECT PARTITION_NAME, SUBPARTITION_NAME FROM information_schema.PARTITIONS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND PARTITION_NAME IS NOT NULL \
         ORDER BY PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION",
        common::escape::string_literal(&t.db),
        common::escape::string_literal(&t.name)
    );
    let rows: Vec<mysql::Row> = conn.query(&q).map_err(|e| common::conn::QueryError::during(&e, &format!("while running {q}")))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut chunks = Vec::new();
    for r in &rows {
        let name = match &r[1] {
            mysql::Value::NULL => text(&r[0]),
            sub => text(sub),
        };
        let take = regex.is_none_or(|re| re.is_match(&name).unwrap_or(false) || re.is_match(&text(&r[0])).unwrap_or(false));
        if take {
            chunks.push(Chunk { partition: Some(name), part: chunks.len() as u64, ..Chunk::whole() });
        }
    }
    Ok(Some(chunks))
}

/// How large chunks are.
#[derive(Debug, Clone, Copy)]
pub struct Sizing {
    pub rows: Rows,
    pub threads: usize,
    /// The estimated rows of every table dumped.
    pub total_rows: u64,
    /// `--split-string-pk`.
    pub split_string: bool,
    /// `--rows-hard MIN:MAX` (MAX 0: none): bounds on the rows of a chunk
    /// sized automatically or dynamically.
    pub hard: Option<(u64, u64)>,
}

impl Sizing {
    /// Rows per chunk (`-r N`: N; rows of a string key's range).
    fn target(&self) -> u64 {
        let sized = match self.rows {
            Rows::Fixed(n) => return n.max(1),
            Rows::Dynamic { min, start, max } => {
                let s = start.max(min);
                if max > 0 {
                    s.min(max)
                } else {
                    s
                }
            }
            Rows::Auto => auto_chunk_rows(self.total_rows, self.threads),
        };
        let sized = match self.hard {
            Some((min, max)) => {
                let s = sized.max(min);
                if max > 0 {
                    s.min(max)
                } else {
                    s
                }
            }
            None => sized,
        };
        sized.max(1)
    }
}

/// A value of a string key as SQL that compares in the column's collation
/// (the bytes as read under SET NAMES binary, with the column's character
/// set); a binary column's as bytes.
fn string_literal_in(bytes: &[u8], charset: Option<&(String, String)>) -> Option<String> {
    let mut digits = Vec::with_capacity(bytes.len() * 2);
    common::escape::hex_digits_into(&mut digits, bytes);
    let hex = String::from_utf8_lossy(&digits);
    Some(match charset {
        Some((cs, coll)) if common::escape::is_word(cs) && common::escape::is_word(coll) => format!("_{cs} X'{hex}' COLLATE {coll}"),
        Some(_) => return None,
        None => format!("X'{hex}'"),
    })
}

/// `--split-string-pk`: a string key cut into ranges of about `target`
/// rows, from one read of the key in order (the server reads its smallest
/// index holding it); only the bounds are kept. A range takes the keys from
/// its bound up to the next one, the first also NULL keys.
fn plan_string(conn: &mut mysql::Conn, t: &Table, key: &crate::catalog::ChunkKey, target: u64) -> Result<Vec<Chunk>> {
    let charset = key.string.as_ref().and_then(|c| c.as_ref());
    let k = ident(&key.column);
    let q = format!("SELECT {k} FROM {} ORDER BY {k}", t.qualified());
    let mut bounds: Vec<String> = Vec::new();
    let mut seen = 0u64;
    let result = conn.query_iter(&q).map_err(|e| common::conn::QueryError::during(&e, &format!("while running {q}")))?;
    for row in result {
        let row = row.map_err(|e| common::conn::QueryError::during(&e, &format!("while running {q}")))?;
        let mysql::Value::Bytes(v) = &row[0] else { continue };
        if seen > 0 && seen.is_multiple_of(target) && (bounds.len() as u64) < MAX_CHUNKS {
            match string_literal_in(v, charset) {
                Some(lit) => bounds.push(lit),
                None => return Ok(vec![Chunk::whole()]),
            }
        }
        seen += 1;
    }
    if bounds.is_empty() {
        return Ok(vec![Chunk::whole()]);
    }
    let mut chunks = Vec::with_capacity(bounds.len() + 1);
    for i in 0..=bounds.len() {
        let cond = match (i.checked_sub(1).map(|j| &bounds[j]), bounds.get(i)) {
            (None, Some(hi)) => format!("({k} IS NULL OR {k} < {hi})"),
            (Some(lo), Some(hi)) => format!("({k} >= {lo} AND {k} < {hi})"),
            (Some(lo), None) => format!("{k} >= {lo}"),
            (None, None) => unreachable!("bounds is not empty"),
        };
        chunks.push(Chunk { part: i as u64, whole: false, text_range: Some(cond), ..Chunk::whole() });
    }
    Ok(chunks)
}

/// Plans the chunks of a table.
/// `--where` is left out: the key ranges cover every key and the chunks'
/// queries filter, so planning never scans the table (but for
/// `--split-string-pk`, which reads the key once).
pub fn plan(conn: &mut mysql::Conn, t: &Table, sizing: &Sizing) -> Result<Vec<Chunk>> {
    let rows = sizing.rows;
    if rows == Rows::Auto && t.rows_estimate < MIN_SPLIT_ROWS {
        return Ok(vec![Chunk::whole()]);
    }
    let target = sizing.target();
    if let Some(key) = t.key.as_ref().filter(|k| sizing.split_string && !k.integer && k.string.is_some()) {
        return plan_string(conn, t, key, target);
    }
    let Some(key) = t.key.as_ref().filter(|k| k.integer) else {
        return Ok(vec![Chunk::whole()]);
    };
    let k = ident(&key.column);
    let base: Vec<String> = Vec::new();
    let run = |conn: &mut mysql::Conn, q: String| -> Result<mysql::Row> {
        let r: Option<mysql::Row> =
            conn.query_first(&q).map_err(|e| common::conn::QueryError::during(&e, &format!("while running {q}")))?;
        r.ok_or_else(|| anyhow!("no answer to {q}"))
    };
    let r = run(conn, format!("SELECT MIN({k}), MAX({k}) FROM {}{}", t.qualified(), where_sql(&base)))?;
    let (Some(min), Some(max)) = (int(&r[0])?, int(&r[1])?) else {
        return Ok(vec![Chunk::whole()]);
    };
    let mut chunks = Vec::new();
    match rows {
        Rows::Fixed(n) => {
            let n = n as i128;
            // Parts encode the key range: part = ⌊low/N⌋ + 1 (keys below
            // zero shift the numbering so parts stay positive).
            let origin = min.div_euclid(n).min(0) * n;
            let mut lo = min.div_euclid(n) * n;
            loop {
                let hi = lo + n - 1;
                chunks.push(Chunk { part: ((lo - origin) / n + 1) as u64, lo: Some(lo), hi: Some(hi), whole: false, partition: None, text_range: None });
                if hi >= max {
                    break;
                }
                // Skip empty key ranges: jump to the next key present.
                let mut conds = base.clone();
                conds.push(format!("{k} > {hi}"));
                let r = run(conn, format!("SELECT MIN({k}) FROM {}{}", t.qualified(), where_sql(&conds)))?;
                match int(&r[0])? {
                    Some(next) => lo = next.div_euclid(n) * n,
                    None => break,
                }
            }
        }
        Rows::Auto | Rows::Dynamic { .. } => {
            let est = t.rows_estimate.max(1);
            let n = est.div_ceil(target);
            let span = max - min + 1;
            let n = (n.min(MAX_CHUNKS) as i128).clamp(1, span);
            let width = (span + n - 1) / n;
            let mut lo = min;
            let mut part = 0u64;
            while lo <= max {
                let hi = (lo + width - 1).min(max);
                chunks.push(Chunk { part, lo: Some(lo), hi: Some(hi), whole: false, partition: None, text_range: None });
                part += 1;
                lo = hi + 1;
            }
        }
    }
    // Open the ends: the first chunk takes NULL keys and anything below,
    // the last anything above.
    if let Some(first) = chunks.first_mut() {
        first.lo = None;
    }
    if let Some(last) = chunks.last_mut() {
        last.hi = None;
    }
    if chunks.len() == 1 && rows == Rows::Auto {
        return Ok(vec![Chunk::whole()]);
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_chunks_only_where_workers_would_wait() {
        // 8 tables of 500k rows, 2 or 4 workers: every table stays whole.
        assert!(auto_chunk_rows(4_000_000, 2) >= 500_000);
        assert!(auto_chunk_rows(4_000_000, 4) >= 500_000);
        // One table alone: two chunks per worker.
        assert_eq!(auto_chunk_rows(300_000, 4), 37_500);
        // A small dump is not cut into tiny pieces.
        assert_eq!(auto_chunk_rows(50_000, 8), MIN_SPLIT_ROWS);
    }

    #[test]
    fn hard_bounds_apply_to_sized_chunks_only() {
        let sizing = |rows, hard| Sizing { rows, threads: 2, total_rows: 4_000_000, split_string: false, hard };
        assert_eq!(sizing(Rows::Auto, None).target(), 1_000_000);
        assert_eq!(sizing(Rows::Auto, Some((0, 50_000))).target(), 50_000);
        assert_eq!(sizing(Rows::Auto, Some((2_000_000, 0))).target(), 2_000_000);
        assert_eq!(sizing(Rows::Dynamic { min: 10, start: 100, max: 0 }, Some((500, 0))).target(), 500);
        assert_eq!(sizing(Rows::Fixed(7), Some((500, 600))).target(), 7);
    }

    #[test]
    fn conditions() {
        let c = Chunk { part: 1, lo: None, hi: Some(9), whole: false, partition: None, text_range: None };
        assert_eq!(c.condition("id").unwrap(), "(`id` IS NULL OR `id` <= 9)");
        let c = Chunk { part: 2, lo: Some(10), hi: Some(19), whole: false, partition: None, text_range: None };
        assert_eq!(c.condition("id").unwrap(), "(10 <= `id` AND `id` <= 19)");
        let c = Chunk { part: 3, lo: Some(20), hi: None, whole: false, partition: None, text_range: None };
        assert_eq!(c.condition("id").unwrap(), "`id` >= 20");
        assert_eq!(Chunk::whole().condition("id"), None);
        let utf8 = ("utf8mb4".to_string(), "utf8mb4_general_ci".to_string());
        assert_eq!(string_literal_in("é'".as_bytes(), Some(&utf8)).unwrap(), "_utf8mb4 X'C3A927' COLLATE utf8mb4_general_ci");
        assert_eq!(string_literal_in(&[0, 255], None).unwrap(), "X'00FF'");
        assert_eq!(string_literal_in(b"a", Some(&("x;".to_string(), "y".to_string()))), None);
        let p = Chunk { partition: Some("p`1".into()), ..Chunk::whole() };
        assert_eq!(p.partition_clause(), " PARTITION (`p``1`)");
        assert_eq!(p.describe(Some("id")), "chunk 00000 (partition p`1)");
        assert_eq!(c.describe(Some("id")), "chunk 00003 (id 20..)");
    }
}
