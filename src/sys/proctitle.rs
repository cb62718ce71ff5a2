//! The process's own argv memory, writable: runsvdir's readproctitle-style log buffer
//! (spec runsvdir.md §4) is what `ps` shows as its last argument.

use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

static ARGC: AtomicIsize = AtomicIsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Records the process's real argv, so runsvdir can rewrite its own log argument in place.
/// glibc calls `.init_array` functions with argc, argv, envp; musl calls them with nothing,
/// so there the arguments are found from `environ`, which musl has set by then and which
/// nothing has changed yet: the kernel lays out `argc, argv[0..argc], NULL, envp…` on the
/// stack, so `environ[-1]` is argv's NULL and the word before `argv[0]` is argc — the first
/// `n` for which the word `n + 2` below `environ` equals `n` (an argument is a pointer,
/// never a number that small).
extern "C" fn save_argv(argc: libc::c_int, argv: *mut *mut libc::c_char, _env: *mut libc::c_void) {
    #[cfg(not(target_env = "musl"))]
    {
        ARGC.store(argc as isize, Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
    }
    #[cfg(target_env = "musl")]
    {
        let _ = (argc, argv);
        extern "C" {
            static mut environ: *mut *mut libc::c_char;
        }
        // SAFETY: at .init_array time environ points into the initial stack, just above
        // argc and argv (see above); the walk reads only words of that block and stops at
        // argc, at most 2^16 words down.
        unsafe {
            let env = environ;
            if env.is_null() {
                return;
            }
            for n in 0..65536usize {
                let w = *env.sub(n + 2) as usize;
                if w == n {
                    ARGC.store(n as isize, Ordering::Relaxed);
                    ARGV.store(env.sub(n + 1), Ordering::Relaxed);
                    return;
                }
            }
        }
    }
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

/// The process's arguments as the kernel gave them, without allocating. The programs read
/// their arguments here rather than through `std::env::args_os`: the multicall binary is
/// `no_main`, and on musl std learns the arguments only in the `main` it did not run.
pub fn args() -> impl Iterator<Item = &'static [u8]> {
    (0..argv_count()).map_while(argv_arg)
}
