//! What runsvdir needs beyond the common layer: inotify (to see new, removed and re-pointed
//! service entries at once), `statfs` (to tell file systems whose changes inotify cannot see),
//! `getcwd`, and write access to the process's own argv memory (runsvdir's readproctitle-style
//! log buffer, spec runsvdir.md §4).

use super::{check, cstr, errno, nointr_ssize, Res};
use std::ffi::CStr;
use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

// ---------------------------------------------------------------- inotify

pub const IN_CREATE: u32 = libc::IN_CREATE;
pub const IN_DELETE: u32 = libc::IN_DELETE;
pub const IN_MOVED_FROM: u32 = libc::IN_MOVED_FROM;
pub const IN_MOVED_TO: u32 = libc::IN_MOVED_TO;
pub const IN_DELETE_SELF: u32 = libc::IN_DELETE_SELF;
pub const IN_MOVE_SELF: u32 = libc::IN_MOVE_SELF;
pub const IN_UNMOUNT: u32 = libc::IN_UNMOUNT;
pub const IN_IGNORED: u32 = libc::IN_IGNORED;
pub const IN_Q_OVERFLOW: u32 = libc::IN_Q_OVERFLOW;
pub const IN_ONLYDIR: u32 = libc::IN_ONLYDIR;
pub const IN_MASK_ADD: u32 = libc::IN_MASK_ADD;

/// One inotify event: watch descriptor, mask, and the entry name (empty for the watched
/// object itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub wd: i32,
    pub mask: u32,
    pub name: Vec<u8>,
}

/// An inotify instance (non-blocking, close-on-exec); closed on drop.
pub struct Inotify {
    fd: i32,
}

impl Inotify {
    pub fn new() -> Res<Inotify> {
        // SAFETY: plain system call.
        let fd = check(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
        Ok(Inotify { fd })
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// `inotify_add_watch`: the watch descriptor.
    pub fn add(&self, path: &CStr, mask: u32) -> Res<i32> {
        // SAFETY: path is NUL-terminated.
        check(unsafe { libc::inotify_add_watch(self.fd, path.as_ptr(), mask) })
    }

    /// Reads every pending event (the descriptor is non-blocking: none pending gives an
    /// empty list).
    pub fn read_events(&self) -> Vec<Event> {
        let mut out = Vec::new();
        // Aligned for struct inotify_event; room for many events per read.
        let mut buf = [0u64; 1024];
        loop {
            // SAFETY: buf is valid for its whole size in bytes.
            let r = nointr_ssize(|| unsafe {
                libc::read(
                    self.fd,
                    buf.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buf),
                )
            });
            let n = match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // SAFETY: the kernel filled n bytes; u64 → u8 view of the same memory.
            let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
            let mut off = 0usize;
            let head = std::mem::size_of::<libc::inotify_event>();
            while off + head <= n {
                let field = |i: usize| -> u32 {
                    let mut b = [0u8; 4];
                    if let Some(s) = bytes.get(off + i * 4..off + i * 4 + 4) {
                        b.copy_from_slice(s);
                    }
                    u32::from_ne_bytes(b)
                };
                let (wd, mask, len) = (field(0) as i32, field(1), field(3) as usize);
                let name_bytes = bytes.get(off + head..off + head + len).unwrap_or(&[]);
                let end = name_bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(name_bytes.len());
                out.push(Event {
                    wd,
                    mask,
                    name: name_bytes.get(..end).unwrap_or(&[]).to_vec(),
                });
                off += head + len;
            }
        }
        out
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let _ = super::close(self.fd);
    }
}

// ---------------------------------------------------------------- file systems

/// `statfs(path).f_type`.
pub fn fs_type(path: &CStr) -> Res<i64> {
    // SAFETY: a zeroed statfs is a valid out-buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated, st is valid.
    check(unsafe { libc::statfs(path.as_ptr(), &mut st) })?;
    Ok(st.f_type as i64)
}

/// Network and user-space file systems where a change made on another machine (or by the
/// server) produces no inotify event: watching alone cannot be trusted there.
pub fn inotify_unreliable(fs_type: i64) -> bool {
    const NFS: i64 = 0x6969;
    const SMB: i64 = 0x517b;
    const CIFS: i64 = 0xff53_4d42;
    const SMB2: i64 = 0xfe53_4d42;
    const FUSE: i64 = 0x6573_5546;
    const V9FS: i64 = 0x0102_1997;
    const CEPH: i64 = 0x00c3_6400;
    const AFS: i64 = 0x5346_414f;
    const CODA: i64 = 0x7375_7245;
    const OCFS2: i64 = 0x7461_636f;
    const GFS2: i64 = 0x0116_1970;
    matches!(
        fs_type,
        NFS | SMB | CIFS | SMB2 | FUSE | V9FS | CEPH | AFS | CODA | OCFS2 | GFS2
    )
}

/// The current working directory.
pub fn getcwd() -> Res<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let r = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
        if !r.is_null() {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            buf.truncate(end);
            return Ok(buf);
        }
        let e = errno();
        if e != libc::ERANGE || buf.len() > 1 << 20 {
            return Err(e);
        }
        let n = buf.len() * 2;
        buf.resize(n, 0);
    }
}

/// `stat` of a byte path (convenience for paths built at run time).
pub fn stat_bytes(path: &[u8]) -> Res<super::Stat> {
    super::stat(&cstr(path)?)
}

// ---------------------------------------------------------------- argv memory

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

// ---------------------------------------------------------------- children

/// Our direct children, from `/proc/self/task/PID/children` (needs /proc; a PID 1 uses it to
/// find orphans that were re-parented to it).
pub fn child_pids() -> Res<Vec<libc::pid_t>> {
    let pid = super::getpid();
    let mut path = b"/proc/self/task/".to_vec();
    let mut b = [0u8; 20];
    path.extend_from_slice(crate::fmt_u64(pid as u64, &mut b));
    path.extend_from_slice(b"/children");
    let fd = super::open(&cstr(&path)?, libc::O_RDONLY, 0)?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let r = loop {
        match super::read(fd, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => data.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(e) => break Err(e),
        }
    };
    let _ = super::close(fd);
    r?;
    Ok(data
        .split(|&c| c == b' ' || c == b'\n')
        .filter(|w| !w.is_empty())
        .map(|w| crate::scan_ulong(w).0 as libc::pid_t)
        .collect())
}
