//! The process's own argv memory, writable: runsvdir's readproctitle-style log buffer
//! (spec runsvdir.md §4) is what `ps` shows as its last argument.

use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

static ARGC: AtomicIsize = AtomicIsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Records the process's real argv (glibc and musl call `.init_array` functions with
/// argc, argv, envp), so runsvdir can rewrite its own log argument in place.
extern "C" fn save_argv(argc: libc::c_int, argv: *mut *mut libc::c_char, _env: *mut libc::c_void) {
    ARGC.store(argc as isize, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array.00098"]
static SAVE_ARGV: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut libc::c_void) = save_argv;

/// The number of arguments in the process's real argv (0 if unknown).
pub fn argv_count() -> usize {
    if ARGV.load(Ordering::Relaxed).is_null() {
        0
    } else {
        ARGC.load(Ordering::Relaxed).max(0) as usize
    }
}

/// The bytes of argument `i` of the process's real argv (without its NUL), writable: what is
/// written there shows in `/proc/PID/cmdline` and `ps`. `None` if out of range or unknown.
///
/// The slice aliases process memory that lives until exit; runsvdir is single-threaded and
/// takes it once, so no second mutable reference exists.
pub fn argv_arg_mut(i: usize) -> Option<&'static mut [u8]> {
    let argv = ARGV.load(Ordering::Relaxed);
    if argv.is_null() || i >= argv_count() {
        return None;
    }
    // SAFETY: argv holds argc valid pointers to NUL-terminated strings set up by the kernel,
    // which stay mapped for the life of the process; i < argc.
    unsafe {
        let p = *argv.add(i);
        if p.is_null() {
            return None;
        }
        let len = libc::strlen(p);
        Some(std::slice::from_raw_parts_mut(p.cast::<u8>(), len))
    }
}

/// Argument `i` of the real argv, read-only, without allocating (what a program may look
/// at before its allocator is chosen).
pub fn argv_arg(i: usize) -> Option<&'static [u8]> {
    argv_arg_mut(i).map(|a| &*a)
}
