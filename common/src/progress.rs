//! Progress bars on stderr, shown only when stderr is a terminal, so that
//! neither logs nor a stream on stdout are disturbed.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `total` items (files, tables, chunks), with the bytes and
/// rows that go with them in its message.
pub fn bar(total: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), target());
    let style = ProgressStyle::with_template(&format!(
        "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// A spinner for work of unknown size (a stream still arriving).
pub fn spinner(what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, target());
    let style = ProgressStyle::with_template(&format!("{{spinner}} [{{elapsed_precise}}] {{pos}} {what} {{msg}}"))
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

static HIDDEN: AtomicBool = AtomicBool::new(false);

/// No bars from now on (a process gone to the background keeps the
/// terminal's stderr for its log only).
pub fn hide() {
    HIDDEN.store(true, Ordering::Relaxed);
}

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() && !HIDDEN.load(Ordering::Relaxed) {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// `12.3 MB`, `1.2 GB`: bytes for humans.
pub fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}
