//! The system calls `synack drill` runs: one table, parsed once from a script's call name,
//! which also prints the supported list. A call the table lacks is either a feature the
//! model leaves out (`Feature::of_call`) or an error naming the supported ones.

use std::fmt;

/// A supported call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syscall {
    Socket,
    Bind,
    Listen,
    Accept,
    Connect,
    Read,
    Recv,
    Recvfrom,
    Recvmsg,
    Write,
    Send,
    Sendto,
    Sendmsg,
    Shutdown,
    Close,
    Fcntl,
    Ioctl,
    Setsockopt,
    Getsockopt,
}

impl Syscall {
    /// Every supported call with its name, in the order the supported list prints them.
    pub const ALL: [(Syscall, &'static str); 19] = [
        (Syscall::Socket, "socket"),
        (Syscall::Bind, "bind"),
        (Syscall::Listen, "listen"),
        (Syscall::Accept, "accept"),
        (Syscall::Connect, "connect"),
        (Syscall::Read, "read"),
        (Syscall::Recv, "recv"),
        (Syscall::Recvfrom, "recvfrom"),
        (Syscall::Recvmsg, "recvmsg"),
        (Syscall::Write, "write"),
        (Syscall::Send, "send"),
        (Syscall::Sendto, "sendto"),
        (Syscall::Sendmsg, "sendmsg"),
        (Syscall::Shutdown, "shutdown"),
        (Syscall::Close, "close"),
        (Syscall::Fcntl, "fcntl"),
        (Syscall::Ioctl, "ioctl"),
        (Syscall::Setsockopt, "setsockopt"),
        (Syscall::Getsockopt, "getsockopt"),
    ];

    /// The call named `name`, if supported.
    pub fn parse(name: &str) -> Option<Syscall> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
    }

    /// Its name in a script.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .expect("every call is in the table")
    }

    /// The supported calls, comma-separated.
    pub fn supported() -> String {
        Self::ALL.map(|(_, n)| n).join(", ")
    }

    /// A call that reads bytes (not `recvmsg`, which becomes a read of its iovecs).
    pub fn reads(self) -> bool {
        matches!(self, Syscall::Read | Syscall::Recv | Syscall::Recvfrom)
    }

    /// Which argument holds its MSG_* flags, from 0.
    pub fn flags_argument(self) -> Option<usize> {
        match self {
            Syscall::Send | Syscall::Sendto | Syscall::Recv | Syscall::Recvfrom => Some(3),
            Syscall::Sendmsg | Syscall::Recvmsg => Some(2),
            _ => None,
        }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_parses_back_from_its_name_and_is_listed() {
        for (call, name) in Syscall::ALL {
            assert_eq!(Syscall::parse(name), Some(call));
            assert_eq!(call.name(), name);
            assert!(Syscall::supported().contains(name));
        }
        assert_eq!(Syscall::parse("epoll_wait"), None);
        assert!(Syscall::supported().contains("sendto, sendmsg"));
    }
}
