//! Hides the password from the process list: once the options are parsed,
//! the value of `-p`/`--password` is overwritten in the process's own
//! argument memory, which is what `ps` and `/proc/PID/cmdline` show.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::ffi::{c_char, c_int, CStr};
    use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

    static ARGC: AtomicIsize = AtomicIsize::new(0);
    static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

    /// glibc passes argc/argv to `.init_array` functions; keep them.
    extern "C" fn capture(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
        ARGC.store(argc as isize, Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
    }

    #[used]
    #[link_section = ".init_array"]
    static CAPTURE: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture;

    /// Overwrites `len` bytes at `p` with `x`.
    unsafe fn blank(p: *mut c_char, len: usize) {
        // SAFETY (caller): p..p+len lies inside one NUL-terminated argv string.
        std::ptr::write_bytes(p as *mut u8, b'x', len);
    }

    pub fn hide_password() {
        let argc = ARGC.load(Ordering::Relaxed);
        let argv = ARGV.load(Ordering::Relaxed);
        if argv.is_null() {
            return;
        }
        let mut value_next = false;
        for i in 0..argc {
            // SAFETY: argv holds argc valid C strings for the whole process life.
            unsafe {
                let p = *argv.offset(i);
                if p.is_null() {
                    break;
                }
                let s = CStr::from_ptr(p).to_bytes();
                let len = s.len();
                if value_next {
                    blank(p, len);
                    value_next = false;
                    continue;
                }
                if s == b"-p" || s == b"--password" {
                    value_next = true;
                } else if let Some(rest) = s.strip_prefix(b"--password=") {
                    blank(p.add(len - rest.len()), rest.len());
                } else if s.len() > 2 && s.starts_with(b"-p") && !s.starts_with(b"--") {
                    blank(p.add(2), len - 2);
                }
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn hide_password() {}
}

/// Call right after parsing the command line.
pub use imp::hide_password;
