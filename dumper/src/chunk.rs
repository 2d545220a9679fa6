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
}

impl Chunk {
    pub fn whole() -> Chunk {
        Chunk { part: 0, lo: None, hi: None, whole: true, partition: None }
    }

    /// The `PARTITION (…)` clause of its SELECT, if any.
    pub fn partition_clause(&self) -> String {
        self.partition.as_ref().map(|p| format!(" PARTITION ({})", ident(p))).unwrap_or_default()
    }

    /// The WHERE condition of this chunk on `key`, if any.
    pub fn condition(&self, key: &str) -> Option<String> {
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
            chunks.push(Chunk { part: chunks.len() as u64, lo: None, hi: None, whole: true, partition: Some(name) });
        }
    }
    Ok(Some(chunks))
}

/// Plans the chunks of a table.
/// `--where` is left out: the key ranges cover every key and the chunks'
/// queries filter, so planning never scans the table.
pub fn plan(conn: &mut mysql::Conn, t: &Table, rows: Rows, threads: usize, total_rows: u64) -> Result<Vec<Chunk>> {
    let Some(key) = t.key.as_ref().filter(|k| k.integer) else {
        return Ok(vec![Chunk::whole()]);
    };
    if rows == Rows::Auto && t.rows_estimate < MIN_SPLIT_ROWS {
        return Ok(vec![Chunk::whole()]);
    }
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
                chunks.push(Chunk { part: ((lo - origin) / n + 1) as u64, lo: Some(lo), hi: Some(hi), whole: false, partition: None });
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
            let target = match rows {
                Rows::Dynamic { min, start, max } => {
                    let mut s = start.max(min).max(1);
                    if max > 0 {
                        s = s.min(max);
                    }
                    s
                }
                _ => auto_chunk_rows(total_rows, threads),
            };
            let n = est.div_ceil(target);
            let span = max - min + 1;
            let n = (n.min(MAX_CHUNKS) as i128).clamp(1, span);
            let width = (span + n - 1) / n;
            let mut lo = min;
            let mut part = 0u64;
            while lo <= max {
                let hi = (lo + width - 1).min(max);
                chunks.push(Chunk { part, lo: Some(lo), hi: Some(hi), whole: false, partition: None });
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
    fn conditions() {
        let c = Chunk { part: 1, lo: None, hi: Some(9), whole: false, partition: None };
        assert_eq!(c.condition("id").unwrap(), "(`id` IS NULL OR `id` <= 9)");
        let c = Chunk { part: 2, lo: Some(10), hi: Some(19), whole: false, partition: None };
        assert_eq!(c.condition("id").unwrap(), "(10 <= `id` AND `id` <= 19)");
        let c = Chunk { part: 3, lo: Some(20), hi: None, whole: false, partition: None };
        assert_eq!(c.condition("id").unwrap(), "`id` >= 20");
        assert_eq!(Chunk::whole().condition("id"), None);
        let p = Chunk { partition: Some("p`1".into()), ..Chunk::whole() };
        assert_eq!(p.partition_clause(), " PARTITION (`p``1`)");
        assert_eq!(p.describe(Some("id")), "chunk 00000 (partition p`1)");
        assert_eq!(c.describe(Some("id")), "chunk 00003 (id 20..)");
    }
}
