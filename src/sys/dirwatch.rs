//! inotify, for runsvdir: new, removed and re-pointed service entries are seen at once
//! (spec runsvdir.md; the 5-second stat loop is the fallback where inotify cannot be trusted).

use super::{check, nointr_ssize, owned, Res};
use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

const _: () = assert!(std::mem::size_of::<libc::inotify_event>() == EVENT_HEAD);

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
    fd: OwnedFd,
}

impl Inotify {
    pub fn new() -> Res<Inotify> {
        // SAFETY: plain system call.
        let fd = check(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
        Ok(Inotify { fd: owned(fd) })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// `inotify_add_watch`: the watch descriptor.
    pub fn add(&self, path: &CStr, mask: u32) -> Res<i32> {
        // SAFETY: path is NUL-terminated.
        check(unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), path.as_ptr(), mask) })
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
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buf),
                )
            });
            let n = match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(std::mem::size_of_val(&buf)),
            };
            // SAFETY: the kernel filled n bytes of buf (n is at most its size); a u8 view
            // of the same memory.
            let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
            parse_events(bytes, &mut out);
        }
        out
    }
}

/// Size of `struct inotify_event` before its name: wd, mask, cookie, len (4 bytes each).
const EVENT_HEAD: usize = 16;

/// Decodes a buffer of `struct inotify_event`s as read(2) returns them, appending to `out`.
/// Pure and total: a truncated or malformed buffer (which the kernel never gives, but a
/// fuzzer does) ends the decoding instead of reading past it.
pub fn parse_events(bytes: &[u8], out: &mut Vec<Event>) {
    let mut off = 0usize;
    while let Some(head) = bytes.get(off..off + EVENT_HEAD) {
        let field = |i: usize| -> u32 {
            let mut b = [0u8; 4];
            if let Some(s) = head.get(i * 4..i * 4 + 4) {
                b.copy_from_slice(s);
            }
            u32::from_ne_bytes(b)
        };
        let (wd, mask, len) = (field(0) as i32, field(1), field(3) as usize);
        let Some(name_bytes) = bytes.get(off + EVENT_HEAD..(off + EVENT_HEAD).saturating_add(len))
        else {
            return;
        };
        let end = name_bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name_bytes.len());
        out.push(Event {
            wd,
            mask,
            name: name_bytes.get(..end).unwrap_or(&[]).to_vec(),
        });
        off += EVENT_HEAD + len;
    }
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

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn raw(wd: i32, mask: u32, name: &[u8], pad: usize) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&wd.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&((name.len() + pad) as u32).to_ne_bytes());
        v.extend_from_slice(name);
        v.extend(std::iter::repeat_n(0, pad));
        v
    }

    #[test]
    fn events_decode_and_truncation_stops() {
        let mut b = raw(1, IN_CREATE, b"svc", 13);
        b.extend(raw(2, IN_DELETE_SELF, b"", 0));
        let mut out = Vec::new();
        parse_events(&b, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].name, b"svc");
        assert_eq!((out[1].wd, out[1].mask), (2, IN_DELETE_SELF));
        // A name longer than the buffer, and a short head: nothing read past the end.
        let mut out = Vec::new();
        let long = raw(3, IN_CREATE, b"x", 100);
        parse_events(&long[..40], &mut out);
        parse_events(&long[..10], &mut out);
        assert!(out.is_empty());
    }
}
