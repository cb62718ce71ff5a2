//! THE TAI64N clock and label (spec README "TAI64N clock"), shared by runsv, sv and svlogd.
//!
//! runit does not apply a leap-second table: seconds = 2^62 + 10 + unix seconds, and the
//! nanosecond field is microseconds × 1000 + 500, so every field runit writes ends in 500.
//! Packed form: 8-byte big-endian seconds then 4-byte big-endian nanoseconds.

use crate::sys;

/// Offset of TAI64 seconds over Unix seconds, as runit computes it.
pub const TAI_OFFSET: u64 = 0x4000_0000_0000_000A;

/// A TAI64N moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tai64n {
    pub secs: u64,
    pub nanos: u32,
}

impl Tai64n {
    /// Now, from the wall clock, with runit's microsecond precision.
    pub fn now() -> Tai64n {
        let (s, us) = sys::now_wall();
        Tai64n::from_unix(s, us)
    }

    pub fn from_unix(secs: i64, usec: u32) -> Tai64n {
        Tai64n {
            secs: TAI_OFFSET.wrapping_add(secs as u64),
            nanos: usec * 1000 + 500,
        }
    }

    /// Unix seconds of this moment.
    pub fn unix_secs(&self) -> i64 {
        self.secs.wrapping_sub(TAI_OFFSET) as i64
    }

    /// The 12-byte packed form: big-endian seconds, big-endian nanoseconds.
    pub fn pack(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.secs.to_be_bytes());
        b[8..].copy_from_slice(&self.nanos.to_be_bytes());
        b
    }

    pub fn unpack(b: &[u8; 12]) -> Tai64n {
        let mut s = [0u8; 8];
        s.copy_from_slice(&b[..8]);
        let mut n = [0u8; 4];
        n.copy_from_slice(&b[8..]);
        Tai64n {
            secs: u64::from_be_bytes(s),
            nanos: u32::from_be_bytes(n),
        }
    }

    /// The label: `@` and 24 lowercase hex digits of the packed form (25 bytes).
    pub fn label(&self) -> [u8; 25] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 25];
        out[0] = b'@';
        for (i, byte) in self.pack().iter().enumerate() {
            out[1 + 2 * i] = HEX[(byte >> 4) as usize];
            out[2 + 2 * i] = HEX[(byte & 15) as usize];
        }
        out
    }
}

impl Tai64n {
    /// Reads a [`label`](Tai64n::label): `@` and exactly 24 hex digits.
    pub fn parse_label(s: &[u8]) -> Option<Tai64n> {
        let hex = s.strip_prefix(b"@")?;
        if hex.len() != 24 {
            return None;
        }
        let mut b = [0u8; 12];
        for (i, pair) in hex.chunks(2).enumerate() {
            let d = |c: u8| (c as char).to_digit(16);
            let v = d(*pair.first()?)? * 16 + d(*pair.get(1)?)?;
            *b.get_mut(i)? = v as u8;
        }
        Some(Tai64n::unpack(&b))
    }
}

/// Civil date and time (UTC) of Unix seconds: (year, month, day, hour, minute, second).
/// Used by svlogd's -tt/-ttt formats, which runit prints in UTC.
pub fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86400);
    let rem = unix.rem_euclid(86400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_round_trip() {
        let t = Tai64n {
            secs: 0x4000_0000_6759_a8f2,
            nanos: 123_456_500,
        };
        assert_eq!(Tai64n::parse_label(&t.label()), Some(t));
        assert_eq!(Tai64n::parse_label(b"@40000000"), None);
        assert_eq!(Tai64n::parse_label(b"400000006759a8f20b3d6e2c0"), None);
        assert_eq!(Tai64n::parse_label(b"@40000000z759a8f20b3d6e2c"), None);
    }
    #[test]
    fn label_matches_spec_example() {
        // supervise-protocol.md §5: 4000 0000 6b01 1d90 06ed 7dac
        let t = Tai64n {
            secs: 0x4000_0000_6b01_1d90,
            nanos: 0x06ed_7dac,
        };
        assert_eq!(&t.label()[..], b"@400000006b011d9006ed7dac");
        assert_eq!(Tai64n::unpack(&t.pack()), t);
        let u = Tai64n::from_unix(0, 1);
        assert_eq!(u.secs, TAI_OFFSET);
        assert_eq!(u.nanos, 1500);
    }
    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    }
}
