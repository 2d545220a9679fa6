//! Cancellation on SIGINT/SIGTERM: the first signal sets a flag that workers
//! check between units of work, so they stop, clean up and exit non-zero; a
//! second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Installs the handlers. Exit status on a second signal: 130.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        // Order matters: the conditional exit sees the flag before this
        // signal sets it, so only a second signal exits at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(flag()))?;
        signal_hook::flag::register(sig, Arc::clone(flag()))?;
    }
    Ok(())
}

/// Whether the run was asked to stop (by a signal or by [`cancel`]).
pub fn is_cancelled() -> bool {
    flag().load(Ordering::Relaxed)
}

/// Asks every worker to stop (e.g. when the stream's reader went away).
pub fn cancel() {
    flag().store(true, Ordering::Relaxed);
}
