//! `--pmm-path DIR` / `--pmm-resolution high|medium|low`: while the program
//! runs, a file of Prometheus metrics in DIR, written again every second
//! for a node_exporter textfile collector (Percona Monitoring and
//! Management's `…/textfile-collector/RESOLUTION-resolution` directory by
//! default, as mydumper's), and removed at the end. Each write goes through
//! a temporary file renamed over it, so that the collector never reads half
//! of one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;

/// The PMM options both programs take.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "PMM Options")]
pub struct PmmArgs {
    /// Directory of the metrics file [default with --pmm-resolution:
    /// /usr/local/percona/pmm2/collectors/textfile-collector/RESOLUTION-resolution]
    #[arg(long, value_name = "DIR")]
    pub pmm_path: Option<PathBuf>,
    /// high, medium or low: picks the default --pmm-path [default: high]
    #[arg(long, value_name = "RESOLUTION")]
    pub pmm_resolution: Option<String>,
}

impl PmmArgs {
    /// The directory to write metrics into, if either option asks for it.
    pub fn directory(&self) -> Result<Option<PathBuf>, String> {
        if let Some(r) = &self.pmm_resolution {
            if !["high", "medium", "low"].contains(&r.as_str()) {
                return Err(format!("--pmm-resolution {r:?}: expected high, medium or low"));
            }
        }
        Ok(match (&self.pmm_path, &self.pmm_resolution) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(r)) => Some(PathBuf::from(format!("/usr/local/percona/pmm2/collectors/textfile-collector/{r}-resolution"))),
            (None, None) => None,
        })
    }
}

/// One metric line: `PROGRAM_METRIC{name="LABEL"} VALUE`.
pub struct Sample {
    pub metric: &'static str,
    pub name: String,
    pub value: u64,
}

impl Sample {
    pub fn new(metric: &'static str, name: &str, value: u64) -> Sample {
        Sample { metric, name: name.to_string(), value }
    }
}

/// The text of a metrics file.
pub fn render(program: &str, samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|s| format!("{program}_{}{{name=\"{}\"}} {}\n", s.metric, s.name.replace('\\', "\\\\").replace('"', "\\\""), s.value))
        .collect()
}

/// The metrics file; dropping it removes the file.
pub struct MetricsFile {
    file: PathBuf,
    program: &'static str,
}

impl MetricsFile {
    /// Writes `DIR/FILE` (`mydumper.prom` or `myloader.prom`, the names
    /// mydumper's tools use) a first time: a directory that cannot be
    /// written is an error now, not a silent gap later.
    pub fn create(dir: &Path, file_name: &str, program: &'static str, first: &[Sample]) -> anyhow::Result<MetricsFile> {
        let m = MetricsFile { file: dir.join(file_name), program };
        m.write(first).map_err(|e| anyhow::anyhow!("--pmm-path: cannot write {}: {e}", m.file.display()))?;
        Ok(m)
    }

    fn write(&self, samples: &[Sample]) -> std::io::Result<()> {
        let tmp = self.file.with_extension("prom.tmp");
        std::fs::write(&tmp, render(self.program, samples))?;
        std::fs::rename(&tmp, &self.file)
    }

    /// Writes `sample()` every second until `stop` is set (run it on a
    /// thread of its own).
    pub fn run(&self, stop: &AtomicBool, sample: impl Fn() -> Vec<Sample>) {
        loop {
            for _ in 0..10 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Err(e) = self.write(&sample()) {
                log::warn!("--pmm-path: cannot write {}: {e}", self.file.display());
            }
        }
    }
}

impl Drop for MetricsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_file(self.file.with_extension("prom.tmp"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_defaults() {
        let text = render("mydumper", &[Sample { metric: "rows", name: "a\"b".into(), value: 7 }]);
        assert_eq!(text, "mydumper_rows{name=\"a\\\"b\"} 7\n");
        let a = PmmArgs { pmm_path: None, pmm_resolution: Some("low".into()) };
        assert_eq!(a.directory().unwrap().unwrap(), PathBuf::from("/usr/local/percona/pmm2/collectors/textfile-collector/low-resolution"));
        assert!(PmmArgs { pmm_path: None, pmm_resolution: Some("fast".into()) }.directory().is_err());
        assert_eq!(PmmArgs::default().directory().unwrap(), None);
    }

    #[test]
    fn the_file_is_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let m = MetricsFile::create(dir.path(), "x.prom", "t", &[Sample { metric: "rows", name: "all".into(), value: 1 }]).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("x.prom")).unwrap(), "t_rows{name=\"all\"} 1\n");
        std::thread::scope(|s| {
            s.spawn(|| m.run(&stop, || vec![Sample { metric: "rows", name: "all".into(), value: 2 }]));
            std::thread::sleep(Duration::from_millis(1300));
            stop.store(true, Ordering::Relaxed);
        });
        assert_eq!(std::fs::read_to_string(dir.path().join("x.prom")).unwrap(), "t_rows{name=\"all\"} 2\n");
        drop(m);
        assert!(!dir.path().join("x.prom").exists());
        assert!(MetricsFile::create(&dir.path().join("missing"), "x.prom", "t", &[]).is_err());
    }
}
