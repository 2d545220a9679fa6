//! Stream mode: one thread reads a mydumper stream from stdin, writes each
//! file into the load's own directory and hands it to the scheduler only
//! once it is complete. Several dumps may follow one another: each goes into
//! a directory of its own.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use common::compress::{self, WriteMode};
use common::naming::{Compression, DumpFile};
use common::stream::{StreamError, StreamHeader, StreamReader};
use crossbeam_channel::Sender;

use crate::scheduler::Input;

/// Starts the stream thread; it ends at the end of the input or at the
/// first error, which it reports as [`Input::Failed`].
pub fn spawn<R: Read + Send + 'static>(input: R, base: PathBuf, tx: Sender<Input>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("stream".into()).spawn(move || {
        if let Err(msg) = receive(input, &base, &tx) {
            let _ = tx.send(Input::Failed(msg));
        }
    })
}

fn header_text(h: &StreamHeader) -> String {
    match h.size {
        Some(n) => format!("-- {} {n}", h.name),
        None => format!("-- {}", h.name),
    }
}

fn receive<R: Read>(input: R, base: &Path, tx: &Sender<Input>) -> Result<(), String> {
    let mut reader = StreamReader::new(input);
    let mut dumps = 0usize;
    let mut current: Option<PathBuf> = None;
    loop {
        let header = match reader.next_header() {
            Ok(Some(h)) => h,
            Ok(None) => break,
            Err(e) => return Err(format!("stream: {e}")),
        };
        let dir = match &current {
            Some(d) => d.clone(),
            None => {
                if !matches!(header.file, DumpFile::MetadataHeader | DumpFile::Metadata) {
                    return Err(format!(
                        "stream: a dump must start with metadata.header, not header {:?}",
                        header_text(&header)
                    ));
                }
                dumps += 1;
                let d = if dumps == 1 { base.to_path_buf() } else { base.join(format!("dump-{dumps}")) };
                std::fs::create_dir_all(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
                current = Some(d.clone());
                d
            }
        };
        let path = dir.join(&header.name);
        // Through the page cache, from which the worker that loads it reads
        // it back soon after and deletes it: most of a stream's files never
        // reach the disk.
        let mut out = compress::create(&path, Compression::None, WriteMode::Buffered)
            .map_err(|e| format!("stream: header {:?}: cannot create {}: {e}", header_text(&header), path.display()))?;
        let copied = reader.copy_payload(&header, &mut out).and_then(|_| out.finish().map_err(StreamError::from));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&path);
            return Err(format!("stream: header {:?}: {e}", header_text(&header)));
        }
        let is_end = header.file == DumpFile::Metadata;
        if tx.send(Input::File { dir: dir.clone(), name: header.name.clone(), kind: header.file }).is_err() {
            return Ok(());
        }
        if is_end {
            current = None;
            if tx.send(Input::EndOfDump { dir }).is_err() {
                return Ok(());
            }
        }
    }
    match current {
        Some(_) => Err("stream: the input ended before the dump's final metadata file: truncated stream".into()),
        None if dumps == 0 => Err("stream: no dump on stdin".into()),
        None => Ok(()),
    }
}
