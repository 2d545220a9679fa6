//! Data files: rows become INSERT statements (one row per line, statements
//! bounded by `-s`) or LOAD DATA / CSV rows with their companion `.sql`;
//! files rotate to the next sub-part past `-F` megabytes.

use common::escape::{self, FieldKind, ValueKind};
use common::naming::{ChunkId, DataExt, DumpFile};

use anyhow::Result;

use crate::catalog::Table;
use crate::cli::{Format, Options};
use crate::output::{FileOut, Output};

/// The four header lines every `.sql` file starts with.
pub fn file_header(set_names: &str, sql_mode: &str, tz_utc: bool, compact: bool) -> String {
    let mut s = format!("/*!40101 SET NAMES {set_names}*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n");
    if !compact {
        s.push_str(&format!("/*!40101 SET SQL_MODE='{sql_mode}'*/;\n"));
    }
    if tz_utc {
        s.push_str("/*!40103 SET TIME_ZONE='+00:00' */;\n");
    }
    s
}

/// Headers for table schema files and for all other files.
#[derive(Debug, Clone)]
pub struct Headers {
    pub schema: String,
    pub other: String,
}

/// A writer's buffer is written out once past `BUF_FLUSH` bytes: at least
/// the file writer's own buffer, so that it takes the bytes without another
/// copy.
const BUF_FLUSH: usize = 256 * 1024;
const BUF_CAPACITY: usize = BUF_FLUSH + 32 * 1024;

/// Writes the rows of one chunk (one part) of a table.
pub struct ChunkWriter<'a> {
    out: &'a Output,
    table: &'a Table,
    opts: &'a Options,
    header: &'a str,
    part: u64,
    sub: u64,
    file: Option<FileOut>,
    stmt_open: bool,
    stmt_bytes: u64,
    insert_head: Vec<u8>,
    kinds: Vec<(ValueKind, FieldKind)>,
    /// Text not yet handed to the file: rows are formatted straight into
    /// it and it is written in large pieces.
    buf: Vec<u8>,
    pub rows: u64,
    pub max_statement: u64,
}

impl<'a> ChunkWriter<'a> {
    pub fn new(out: &'a Output, opts: &'a Options, headers: &'a Headers, table: &'a Table, part: u64) -> Self {
        let cols: Vec<String> = table.data_columns().map(|c| escape::ident(&c.name)).collect();
        let mut head = format!("{} INTO {}", opts.verb.sql(), escape::ident(&table.name));
        if opts.complete_insert || table.needs_column_list() {
            head.push_str(&format!(" ({})", cols.join(",")));
        }
        head.push_str(" VALUES");
        let kinds = table.data_columns().map(|c| (c.kind, FieldKind::for_kind(c.kind, opts.hex_blob))).collect();
        ChunkWriter {
            out,
            table,
            opts,
            header: &headers.other,
            part,
            sub: 0,
            file: None,
            stmt_open: false,
            stmt_bytes: 0,
            insert_head: head.into_bytes(),
            kinds,
            buf: Vec::with_capacity(BUF_CAPACITY),
            rows: 0,
            max_statement: 0,
        }
    }

    fn data_file(&self, ext: DataExt) -> DumpFile {
        DumpFile::Data {
            db: self.table.db_form.clone(),
            table: self.table.name_form.clone(),
            chunk: ChunkId::new(self.part, self.sub),
            ext,
            compression: self.out.compression,
        }
    }

    fn open(&mut self) -> Result<()> {
        match self.opts.format {
            Format::Insert => {
                let mut f = self.out.create(self.data_file(DataExt::Sql))?;
                f.write(self.header.as_bytes())?;
                self.stmt_bytes = self.header.len() as u64;
                self.file = Some(f);
            }
            Format::LoadData | Format::Csv => {
                let mut f = self.out.create(self.data_file(DataExt::Dat))?;
                if self.opts.include_header {
                    f.write(&self.header_line())?;
                }
                self.file = Some(f);
            }
        }
        Ok(())
    }

    /// Adds one row; `values` are in data-column order.
    pub fn row<'v>(&mut self, values: impl IntoIterator<Item = Option<&'v [u8]>>) -> Result<()> {
        if self.file.is_none() {
            self.open()?;
        }
        match self.opts.format {
            Format::Insert => {
                // The row goes after `\n,`, as the next row of the open
                // statement; `insert_row` moves it if it must start a new one.
                let start = self.buf.len();
                self.buf.extend_from_slice(b"\n,(");
                for (i, (v, (kind, _))) in values.into_iter().zip(&self.kinds).enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    escape::sql_value_into(&mut self.buf, v, *kind, self.opts.hex_blob);
                }
                self.buf.push(b')');
                self.insert_row(start)?;
            }
            Format::LoadData | Format::Csv => {
                let fmt = &self.opts.field_format;
                self.buf.extend_from_slice(&fmt.lines_starting_by);
                for (i, (v, (kind, field))) in values.into_iter().zip(&self.kinds).enumerate() {
                    if i > 0 {
                        self.buf.push(fmt.terminated_by);
                    }
                    escape::field_into(&mut self.buf, v, *kind, *field, fmt);
                }
                self.buf.extend_from_slice(&fmt.lines_terminated_by);
                self.flush_if_full()?;
                self.rotate_if_big()?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Bytes of the current file, written or still buffered.
    fn file_bytes(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.bytes) + self.buf.len() as u64
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buf.len() >= BUF_FLUSH {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<()> {
        if let Some(f) = self.file.as_mut() {
            if !self.buf.is_empty() {
                f.write(&self.buf)?;
            }
        }
        self.buf.clear();
        Ok(())
    }

    /// The row formatted at `buf[start..]` as `\n,(…)` joins the open
    /// statement, or starts the next one (in the next file past `-F`).
    fn insert_row(&mut self, start: usize) -> Result<()> {
        let limit = self.opts.statement_size as u64;
        let row_len = (self.buf.len() - start - 2) as u64;
        if self.stmt_open && self.stmt_bytes + 2 + row_len + 3 <= limit {
            self.stmt_bytes += 2 + row_len;
            return self.flush_if_full();
        }
        let row = self.buf.split_off(start + 2);
        self.buf.truncate(start);
        if self.stmt_open {
            self.close_statement()?;
            if self.rotate_if_big()? {
                self.open()?;
            }
        }
        self.buf.extend_from_slice(&self.insert_head);
        self.buf.extend_from_slice(&row);
        self.stmt_bytes += (self.insert_head.len() + row.len()) as u64;
        self.stmt_open = true;
        self.flush_if_full()
    }

    fn close_statement(&mut self) -> Result<()> {
        if !self.stmt_open {
            return Ok(());
        }
        self.buf.extend_from_slice(b"\n;\n");
        self.stmt_bytes += 3;
        self.max_statement = self.max_statement.max(self.stmt_bytes);
        self.stmt_open = false;
        self.stmt_bytes = 0;
        Ok(())
    }

    /// Past `-F` MB, closes the file; the next row opens the next sub-part.
    /// Returns whether it rotated.
    fn rotate_if_big(&mut self) -> Result<bool> {
        let mb = self.opts.chunk_filesize_mb;
        if self.file.is_none() || mb == 0 || self.file_bytes().div_ceil(1 << 20) <= mb {
            return Ok(false);
        }
        self.close_file()?;
        self.sub += 1;
        Ok(true)
    }

    fn close_file(&mut self) -> Result<()> {
        self.close_statement()?;
        self.flush_buf()?;
        let Some(f) = self.file.take() else { return Ok(()) };
        match self.opts.format {
            Format::Insert => self.out.finish(f),
            Format::LoadData | Format::Csv => {
                let dat_name = f.file.file_name();
                // The statement file goes first: a stream reader then knows
                // what the `.dat` is for when it arrives.
                let dat_path = self.out.finish_unannounced(f)?;
                let sql = self.load_data_sql(&dat_name);
                self.out.write_file(self.data_file(DataExt::Sql), sql.as_bytes())?;
                self.out.publish(&dat_path)?;
                Ok(())
            }
        }
    }

    /// `--include-header`: the column names as a line of fields.
    fn header_line(&self) -> Vec<u8> {
        let fmt = &self.opts.field_format;
        let mut line = fmt.lines_starting_by.to_vec();
        for (i, c) in self.table.data_columns().enumerate() {
            if i > 0 {
                line.push(fmt.terminated_by);
            }
            escape::field_into(&mut line, Some(c.name.as_bytes()), ValueKind::Text, FieldKind::Raw, fmt);
        }
        line.extend_from_slice(&fmt.lines_terminated_by);
        line
    }

    fn load_data_sql(&self, dat_name: &str) -> String {
        let fmt = &self.opts.field_format;
        let mut targets = Vec::new();
        let mut sets = Vec::new();
        for (i, c) in self.table.data_columns().enumerate() {
            let field = self.kinds[i].1;
            let var = format!("@rdumper_c{i}");
            match field.set_expression(&var) {
                Some(expr) => {
                    targets.push(var);
                    sets.push(format!("{}={expr}", escape::ident(&c.name)));
                }
                None => targets.push(escape::ident(&c.name)),
            }
        }
        let mut s = self.header.to_string();
        s.push_str(&format!(
            "LOAD DATA LOCAL INFILE '{dat_name}' INTO TABLE {} CHARACTER SET {} {} {}({})",
            escape::ident(&self.table.name),
            self.opts.load_data_charset,
            fmt.clause(),
            if self.opts.include_header { "IGNORE 1 LINES " } else { "" },
            targets.join(",")
        ));
        if !sets.is_empty() {
            s.push_str(&format!(" SET {}", sets.join(",")));
        }
        s.push_str(";\n");
        s
    }

    /// Ends the chunk: closes the statement and the file.
    pub fn finish(mut self) -> Result<(u64, u64)> {
        self.close_file()?;
        Ok((self.rows, self.max_statement))
    }
}
