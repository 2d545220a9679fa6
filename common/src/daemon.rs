//! Going to the background, as mydumper's `-D/--daemon` does: the command
//! returns at once with status 0, and the work goes on in a child process
//! in a session of its own.

/// Forks: the parent exits with status 0, and the child, made the leader
/// of a new session (files it creates get mode 0640 at most, as
/// mydumper's), returns. To be called while the process has no other
/// thread. The child keeps stderr for its log and shows no progress bars.
pub fn detach() -> std::io::Result<()> {
    // SAFETY: fork is called before any thread is started (the caller's
    // contract), so the child holds no lock another thread owned; it
    // returns into ordinary code.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: plain system calls on the child's own process.
            unsafe { libc::umask(0o037) };
            if unsafe { libc::setsid() } == -1 {
                return Err(std::io::Error::last_os_error());
            }
            crate::progress::hide();
            Ok(())
        }
        _ => std::process::exit(0),
    }
}
