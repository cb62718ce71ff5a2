//! THE control bytes of the supervise protocol (supervise-protocol.md §9.2).

/// One command byte a client may write to `supervise/control`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Up,
    Once,
    Down,
    Exit,
    Term,
    Kill,
    Pause,
    Cont,
    Hup,
    Alarm,
    Interrupt,
    Quit,
    Usr1,
    Usr2,
}

impl Command {
    /// Decodes a byte; anything else is ignored by runsv (`None`).
    pub fn from_byte(b: u8) -> Option<Command> {
        Some(match b {
            b'u' => Command::Up,
            b'o' => Command::Once,
            b'd' => Command::Down,
            b'x' => Command::Exit,
            b't' => Command::Term,
            b'k' => Command::Kill,
            b'p' => Command::Pause,
            b'c' => Command::Cont,
            b'h' => Command::Hup,
            b'a' => Command::Alarm,
            b'i' => Command::Interrupt,
            b'q' => Command::Quit,
            b'1' => Command::Usr1,
            b'2' => Command::Usr2,
            _ => return None,
        })
    }

    pub fn byte(self) -> u8 {
        match self {
            Command::Up => b'u',
            Command::Once => b'o',
            Command::Down => b'd',
            Command::Exit => b'x',
            Command::Term => b't',
            Command::Kill => b'k',
            Command::Pause => b'p',
            Command::Cont => b'c',
            Command::Hup => b'h',
            Command::Alarm => b'a',
            Command::Interrupt => b'i',
            Command::Quit => b'q',
            Command::Usr1 => b'1',
            Command::Usr2 => b'2',
        }
    }

    /// Whether runsv rewrites `supervise/status` every time it acts on this command (sv
    /// waits for that rewrite before it trusts the record).
    pub fn rewrites_status(self) -> bool {
        match self {
            Command::Up
            | Command::Once
            | Command::Down
            | Command::Exit
            | Command::Pause
            | Command::Cont => true,
            Command::Term
            | Command::Kill
            | Command::Hup
            | Command::Alarm
            | Command::Interrupt
            | Command::Quit
            | Command::Usr1
            | Command::Usr2 => false,
        }
    }

    /// The signal a plain signalling command sends to a running service (`k p c h a i q 1 2`).
    pub fn signal(self) -> Option<i32> {
        match self {
            Command::Kill => Some(libc::SIGKILL),
            Command::Pause => Some(libc::SIGSTOP),
            Command::Cont => Some(libc::SIGCONT),
            Command::Hup => Some(libc::SIGHUP),
            Command::Alarm => Some(libc::SIGALRM),
            Command::Interrupt => Some(libc::SIGINT),
            Command::Quit => Some(libc::SIGQUIT),
            Command::Usr1 => Some(libc::SIGUSR1),
            Command::Usr2 => Some(libc::SIGUSR2),
            Command::Up | Command::Once | Command::Down | Command::Exit | Command::Term => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roundtrip() {
        for b in 0u8..=255 {
            if let Some(c) = Command::from_byte(b) {
                assert_eq!(c.byte(), b);
            }
        }
        assert_eq!(Command::from_byte(b'z'), None);
        assert_eq!(Command::Kill.signal(), Some(libc::SIGKILL));
        assert_eq!(Command::Term.signal(), None);
    }
}
