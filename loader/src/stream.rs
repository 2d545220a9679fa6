//! Stream mode: one thread reads a mydumper stream from stdin, writes each
//! file into the load's own directory and hands it to the scheduler only
//! once it is complete. Several dumps may follow one another: each goes into
//! a directory of its own. How far it reads ahead of the load is up to the
//! backlog (see `backlog`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use common::naming::DumpFile;
use common::stream::{StreamError, StreamHeader, StreamReader};
use crossbeam_channel::Sender;

use crate::exec::Shared;
use crate::scheduler::Input;

/// Starts the stream thread; it ends at the end of the input or at the
/// first error, which it reports as [`Input::Failed`]. `input` is read
/// through no other buffer (see `StreamReader::copy_payload_to_file`).
pub fn spawn(input: File, base: PathBuf, tx: Sender<Input>, shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("stream".into()).spawn(move || {
        if let Err(msg) = receive(input, &base, &tx, &shared) {
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

fn receive(input: File, base: &Path, tx: &Sender<Input>, shared: &Shared) -> Result<(), String> {
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
        shared.backlog.wait_room();
        // Through the page cache, from which the worker that loads it reads
        // it back soon after: most of a stream's files never reach the disk.
        let mut out = shared
            .backlog
            .create(&path)
            .map_err(|e| format!("stream: header {:?}: cannot create {}: {e}", header_text(&header), path.display()))?;
        let copied = reader.copy_payload_to_file(&header, &mut out).and_then(|n| out.set_len(n).map(|_| n).map_err(StreamError::from));
        match copied {
            Ok(n) => shared.backlog.received(&path, n),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(format!("stream: header {:?}: {e}", header_text(&header)));
            }
        }
        drop(out);
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
