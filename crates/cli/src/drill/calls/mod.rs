//! The script's system calls on the model's sockets, one function a call.

use super::features::Feature;
mod messages;
mod sockopts;

use super::parse::{At, Call, When, parse_int};
use super::run::{Blocking, Failure, Fd, FdKind, LOCAL, REMOTE, Runner, errno};
use super::syscall::Syscall;
use messages::{iovec_lengths, msg_flags};
use std::sync::Arc;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::State;
use synack_tcp::host::{ConnId, ConnectOptions, HostError};

/// A call's result: the return value, and the errno with -1.
pub(super) type Outcome = (i64, Option<&'static str>);

/// What a call did: returned now, or blocks until it can.
enum Done {
    Now(Outcome),
    Blocks,
}

pub(super) fn host_errno(e: HostError) -> &'static str {
    match e {
        HostError::AddressNotAvailable => "EADDRNOTAVAIL",
        HostError::TooManyOpen => "EMFILE",
        HostError::AddressInUse(_) => "EADDRINUSE",
        _ => "EINVAL",
    }
}

/// The number in an argument written `[N]`, `N` or `0xN`.
pub(super) fn number(arg: Option<&String>) -> Option<i64> {
    parse_int(arg?.trim_matches(|c| c == '[' || c == ']'))
}

impl Runner<'_> {
    pub(super) fn int_arg(&self, call: &Call, i: usize, line: usize) -> Result<i64, Failure> {
        match number(call.args.get(i)) {
            Some(v) => Ok(v),
            None => self.fail(
                line,
                self.now,
                format!("argument {} of {} to be a number", i + 1, call.name),
                call.args
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| "no such argument".into()),
            ),
        }
    }

    /// The pending error of a failed connection, reported once (Linux's `sk_err`); after
    /// it, writes fail with EPIPE.
    fn take_error(&mut self, id: ConnId) -> Option<&'static str> {
        self.errors.remove(&id).map(errno)
    }

    fn error_of(&mut self, id: ConnId) -> &'static str {
        self.take_error(id).unwrap_or("EPIPE")
    }

    pub(super) fn conn(&self, fd: i64, line: usize) -> Result<ConnId, Failure> {
        match self.fds.get(&fd).map(|f| f.kind) {
            Some(FdKind::Conn(id)) => Ok(id),
            _ => self.fail(
                line,
                self.now,
                format!("fd {fd} to be a connected socket"),
                "no such connection",
            ),
        }
    }

    /// When a call happens, and when a blocking one must end.
    fn call_times(&self, line: usize, when: When) -> Result<(SimTime, Option<SimTime>), Failure> {
        match when {
            When::At(at) => Ok((self.resolve(at), None)),
            When::Blocking(a, b) => {
                let start = self.resolve(a);
                // packetdrill (run.c, adjust_relative_event_times): after a relative start,
                // the end counts from the same point, the previous event (`+0...0.1` ends
                // 0.1 s after it); `+X` as the end counts from the start.
                let end = match (a, b) {
                    (At::Relative(_), At::Absolute(x)) => self.resolve(At::Relative(x)),
                    (_, At::Absolute(_)) => self.resolve(b),
                    (_, At::Relative(x)) => {
                        start.saturating_add(SimDuration::saturating_from_secs_f64(x))
                    }
                };
                Ok((start, Some(end)))
            }
            When::Any | When::Range(..) => self.fail(
                line,
                self.now,
                "a time or START...END for a system call",
                "* or a range",
            ),
        }
    }

    pub fn call(&mut self, line: usize, call: &Call, when: When) -> Result<(), Failure> {
        let (t, end) = self.call_times(line, when)?;
        self.advance(t, false);
        self.settle_blocking()?;
        self.no_unexpected(line, t)?;
        self.last = t;
        if self.blocking.is_some() {
            return self.fail(
                line,
                t,
                "one blocking call at a time",
                "a call while another blocks",
            );
        }
        self.call_needs(line, call)?;
        let Some(syscall) = call.syscall else {
            return self.fail(
                line,
                t,
                format!("a supported call ({})", Syscall::supported()),
                call.name.clone(),
            );
        };
        let fd_no = match syscall {
            Syscall::Socket => 0,
            _ => self.int_arg(call, 0, line)?,
        };
        let original = call;
        let call = &self.as_plain_call(call);
        let done = match call.syscall.unwrap_or(syscall) {
            Syscall::Socket if !call.args.iter().any(|a| a == "SOCK_STREAM") => {
                return self.fail(
                    line,
                    t,
                    "socket(..., SOCK_STREAM, IPPROTO_TCP): the model has TCP sockets only",
                    call.args.join(", "),
                );
            }
            Syscall::Socket => Done::Now(self.socket(call.ret)),
            Syscall::Bind => Done::Now((0, None)),
            Syscall::Listen => Done::Now(self.listen(call, fd_no, line)?),
            Syscall::Fcntl => Done::Now(self.fcntl(call, fd_no, line)?),
            Syscall::Setsockopt => Done::Now(self.setsockopt(call, fd_no, line)?),
            Syscall::Getsockopt => Done::Now(self.getsockopt(call, fd_no, line)?),
            Syscall::Ioctl => Done::Now(self.ioctl(call, fd_no, line)?),
            Syscall::Connect => self.connect(fd_no, t),
            Syscall::Read | Syscall::Recv | Syscall::Recvfrom
                if self.null_buffer_with_data(call, fd_no) =>
            {
                Done::Now((-1, Some("EFAULT")))
            }
            Syscall::Accept | Syscall::Read | Syscall::Recv | Syscall::Recvfrom => {
                self.wait_or_complete(call, fd_no)
            }
            Syscall::Write | Syscall::Send | Syscall::Sendto => {
                Done::Now(self.write(call, fd_no, line, t)?)
            }
            Syscall::Shutdown => Done::Now(self.shutdown(call, fd_no, line, t)?),
            Syscall::Close => self.close(fd_no, t),
            Syscall::Sendmsg | Syscall::Recvmsg => {
                unreachable!("as_plain_call makes them a send and a recv")
            }
        };
        self.collect(t);
        match done {
            Done::Now(outcome) => {
                self.check(line, call, outcome.0, outcome.1)?;
                self.recvmsg_control(line, original, fd_no)
            }
            Done::Blocks => {
                let Some(end) = end else {
                    return self.fail(
                        line,
                        t,
                        format!("{} to return at once", call.name),
                        "it blocks: write it as START...END",
                    );
                };
                self.blocking = Some(Blocking {
                    line,
                    fd: fd_no,
                    call: call.clone(),
                    end,
                    tolerance: self.tolerance_over(t, end),
                    returned: None,
                });
                self.collect(t);
                Ok(())
            }
        }
    }

    /// Ends the script at a call that needs a feature the model leaves out: the call itself
    /// (epoll, splice), a socket option, or a send or receive flag.
    fn call_needs(&self, line: usize, call: &Call) -> Result<(), Failure> {
        if let Some(feature) = Feature::of_call(&call.name) {
            return self.not_modelled(line, feature, format!("{}()", call.name));
        }
        if matches!(
            call.syscall,
            Some(Syscall::Setsockopt | Syscall::Getsockopt)
        ) && let Some(opt) = call.args.get(2)
            && let Some(feature) = Feature::of_sockopt(opt)
        {
            return self.not_modelled(line, feature, format!("{} {opt}", call.name));
        }
        for flag in msg_flags(call) {
            if let Some(feature) = Feature::of_msg_flag(flag) {
                return self.not_modelled(line, feature, format!("{} {flag}", call.name));
            }
        }
        // An skb holds at most MAX_SKB_FRAGS (17) pages: a zero-copy send of more iovecs
        // goes out in more segments than its bytes alone would make.
        if call.syscall == Some(Syscall::Sendmsg)
            && msg_flags(call).any(|f| f == "MSG_ZEROCOPY")
            && call
                .args
                .get(1)
                .is_some_and(|m| iovec_lengths(m).len() > 17)
        {
            return self.not_modelled(
                line,
                Feature::ZeroCopy,
                "a MSG_ZEROCOPY send of more than MAX_SKB_FRAGS (17) iovecs",
            );
        }
        if call.syscall == Some(Syscall::Sendto)
            && msg_flags(call).any(|f| f == "MSG_FASTOPEN")
            && self.knobs.fast_open & 0x5 != 0x5
        {
            return self.not_modelled(
                line,
                Feature::FastOpen,
                format!(
                    "sendto MSG_FASTOPEN needs a cookie with tcp_fastopen={:#x} (the model sends \
                     SYN data only without one, bits 0x1 and 0x4)",
                    self.knobs.fast_open
                ),
            );
        }
        Ok(())
    }

    /// The number a new descriptor gets. packetdrill maps the script's descriptors to the
    /// kernel's (`CHECK_FD`: any non-negative result passes, and the script's number then
    /// names it), so a script may call its first socket 4; the number the script expects
    /// is taken when it is free. Otherwise POSIX: the lowest number not open (0 to 2 are
    /// stdio), so a closed socket's number comes back, as a TIME-WAIT connection holds none.
    fn new_fd(&self, expected: i64) -> i64 {
        if expected >= 0 && !self.fds.contains_key(&expected) {
            return expected;
        }
        (3..)
            .find(|n| !self.fds.contains_key(n))
            .expect("a free number")
    }

    fn socket(&mut self, expected: i64) -> Outcome {
        let fd = self.new_fd(expected);
        self.fds.insert(
            fd,
            Fd {
                nonblocking: false,
                linger: None,
                keepalive_on: self.knobs.host.tcp.keepalive.is_some(),
                keepalive: None,
                user_timeout: None,
                syn_retries: None,
                user_mss: None,
                read_shutdown: false,
                inq: false,
                sndbuf: None,
                rcvbuf: None,
                connected: false,
                linger_until: None,
                kind: FdKind::Unconnected,
                tuple: None,
            },
        );
        (fd, None)
    }

    fn listen(&mut self, call: &Call, fd_no: i64, line: usize) -> Result<Outcome, Failure> {
        let backlog = self.int_arg(call, 1, line)?.max(0) as u32;
        let port = self.knobs.bind_port;
        let Some(fd) = self.fds.get_mut(&fd_no) else {
            return Ok((-1, Some("EBADF")));
        };
        Ok(match self.host.listen(port, backlog) {
            Ok(()) => {
                fd.kind = FdKind::Listener;
                self.local_port = port;
                self.apply_options(fd_no);
                (0, None)
            }
            Err(_) => (-1, Some("EADDRINUSE")),
        })
    }

    fn fcntl(&mut self, call: &Call, fd_no: i64, line: usize) -> Result<Outcome, Failure> {
        let Some(fd) = self.fds.get_mut(&fd_no) else {
            return Ok((-1, Some("EBADF")));
        };
        match call.args.get(1).map(String::as_str) {
            Some("F_SETFL") => {
                fd.nonblocking = call.args.get(2).is_some_and(|a| a.contains("O_NONBLOCK"));
                Ok((0, None))
            }
            // O_RDWR is 2, O_NONBLOCK 0x800 (Linux's fcntl.h).
            Some("F_GETFL") => Ok((2 | if fd.nonblocking { 0x800 } else { 0 }, None)),
            op => self.fail(
                line,
                self.now,
                "fcntl(fd, F_SETFL, FLAGS) or fcntl(fd, F_GETFL)",
                format!("{}: unsupported", op.unwrap_or("no command")),
            ),
        }
    }

    fn connect(&mut self, fd_no: i64, t: SimTime) -> Done {
        let Some(fd) = self.fds.get(&fd_no).cloned() else {
            return Done::Now((-1, Some("EBADF")));
        };
        if let FdKind::Conn(id) = fd.kind {
            // A second connect on a non-blocking socket: how the first one went. Linux
            // reports an established connection once with 0, then EISCONN (measured on
            // Linux 6.18: connect_again_isconn.pkt).
            return Done::Now(match self.host.state(id) {
                Some(s) if s.is_synchronized() && !fd.connected => {
                    self.fds.get_mut(&fd_no).expect("present").connected = true;
                    (0, None)
                }
                Some(s) if s.is_synchronized() => (-1, Some("EISCONN")),
                Some(_) => (-1, Some("EALREADY")),
                None => (-1, Some(self.error_of(id))),
            });
        }
        let config = Arc::new(self.fd_config(&fd));
        let port = self.knobs.connect_port;
        let options = ConnectOptions {
            local_addr: Some(LOCAL),
            config: Some(config),
            ..ConnectOptions::default()
        };
        match self.host.connect(REMOTE, port, options, t) {
            Ok(id) => {
                self.opened(fd_no, id, port);
                if fd.nonblocking {
                    Done::Now((-1, Some("EINPROGRESS")))
                } else {
                    Done::Blocks
                }
            }
            Err(e) => Done::Now((-1, Some(host_errno(e)))),
        }
    }

    fn wait_or_complete(&mut self, call: &Call, fd_no: i64) -> Done {
        let nonblocking = self.fds.get(&fd_no).is_some_and(|f| f.nonblocking);
        match self.try_complete(fd_no, call) {
            Some(outcome) => Done::Now(outcome),
            None if nonblocking => Done::Now((-1, Some("EAGAIN"))),
            None => Done::Blocks,
        }
    }

    /// The socket `fd_no` now holds the connection `id` to `port`, the one under test.
    pub(super) fn opened(&mut self, fd_no: i64, id: ConnId, port: u16) {
        let tuple = self.host.tuple(id);
        let fd = self.fds.get_mut(&fd_no).expect("present");
        (fd.kind, fd.tuple) = (FdKind::Conn(id), tuple);
        self.remote_port = port;
        self.local_port = self.host.tuple(id).map_or(port, |t| t.local_port);
        self.under_test = Some(id);
    }

    fn write(
        &mut self,
        call: &Call,
        fd_no: i64,
        line: usize,
        t: SimTime,
    ) -> Result<Outcome, Failure> {
        if call.syscall == Some(Syscall::Sendto)
            && call.args.get(3).is_some_and(|f| f.contains("MSG_FASTOPEN"))
            && self
                .fds
                .get(&fd_no)
                .is_some_and(|f| f.kind == FdKind::Unconnected)
        {
            return self.fast_open(call, fd_no, line, t);
        }
        // Linux (`sk_stream_wait_connect`): a send on a socket that is not connecting or
        // connected fails with EPIPE (google/packetdrill's zerocopy/closed.pkt).
        if self
            .fds
            .get(&fd_no)
            .is_some_and(|f| f.kind == FdKind::Unconnected)
        {
            return Ok((-1, Some("EPIPE")));
        }
        let id = self.conn(fd_no, line)?;
        // Linux (sk_stream_wait_connect): a non-blocking write before the handshake is
        // done fails with EAGAIN; a blocking one waits, and its data then rides on the
        // handshake's last segment, as it does here (measured on Linux 6.18:
        // write_in_syn_sent_eagain.pkt, write_blocked_in_syn_sent.pkt).
        if self.fds.get(&fd_no).is_some_and(|f| f.nonblocking)
            && self
                .host
                .state(id)
                .is_some_and(|s| matches!(s, State::SynSent | State::SynReceived))
        {
            return Ok((-1, Some("EAGAIN")));
        }
        let n = self.int_arg(call, 2, line)?;
        if n > 0 && call.args.get(1).is_some_and(|b| b == "NULL") {
            return Ok((-1, Some("EFAULT")));
        }
        Ok(match self.host.send(id, n.max(0) as u64, t) {
            Ok(()) => (n, None),
            Err(HostError::User(_)) | Err(HostError::NoSuchConnection) => {
                (-1, Some(self.error_of(id)))
            }
            Err(e) => (-1, Some(host_errno(e))),
        })
    }

    fn shutdown(
        &mut self,
        call: &Call,
        fd_no: i64,
        line: usize,
        t: SimTime,
    ) -> Result<Outcome, Failure> {
        let id = self.conn(fd_no, line)?;
        let how = call.args.get(1).map(String::as_str).unwrap_or("");
        let (read, write) = match how {
            "SHUT_RD" => (true, false),
            "SHUT_WR" => (false, true),
            "SHUT_RDWR" => (true, true),
            other => {
                return self.fail(
                    line,
                    t,
                    "shutdown(fd, SHUT_RD | SHUT_WR | SHUT_RDWR)",
                    other.to_string(),
                );
            }
        };
        if read {
            // Linux sends nothing for SHUT_RD; reads return 0 from then on.
            self.fds.get_mut(&fd_no).expect("connected").read_shutdown = true;
        }
        if write && let Err(e) = self.host.shutdown(id, t) {
            return Ok((-1, Some(self.write_error(id, e))));
        }
        Ok((0, None))
    }

    fn write_error(&mut self, id: ConnId, e: HostError) -> &'static str {
        match e {
            HostError::User(_) | HostError::NoSuchConnection => match self.host.state(id) {
                Some(s) if s.is_synchronized() => self.error_of(id),
                _ => "ENOTCONN",
            },
            other => host_errno(other),
        }
    }

    fn close(&mut self, fd_no: i64, t: SimTime) -> Done {
        let Some(fd) = self.fds.remove(&fd_no) else {
            return Done::Now((-1, Some("EBADF")));
        };
        match fd.kind {
            FdKind::Conn(id) => {
                let _ = self.host.set_linger_zero(id, fd.linger == Some(0));
                let _ = self.host.close(id, t);
                match fd.linger {
                    Some(secs) if secs > 0 && self.closing(id) && !fd.nonblocking => {
                        // SO_LINGER {on, N}: close waits for the FIN's ACK, N s at most.
                        let until = t.saturating_add(SimDuration::from_secs(secs));
                        self.fds.insert(
                            fd_no,
                            Fd {
                                linger_until: Some(until),
                                ..fd
                            },
                        );
                        Done::Blocks
                    }
                    _ => Done::Now((0, None)),
                }
            }
            FdKind::Listener => {
                self.host.unlisten(self.knobs.bind_port, t);
                Done::Now((0, None))
            }
            FdKind::Unconnected => Done::Now((0, None)),
        }
    }

    /// Whether our FIN is still unacknowledged (Linux's `closing()` in `tcp_close`).
    fn closing(&self, id: ConnId) -> bool {
        matches!(
            self.host.state(id),
            Some(State::FinWait1 | State::Closing | State::LastAck)
        )
    }

    /// Whether a blocking call can return now: its result, if so.
    pub fn try_complete(&mut self, fd_no: i64, call: &Call) -> Option<Outcome> {
        let fd = self.fds.get(&fd_no)?.clone();
        match (call.syscall?, fd.kind) {
            (Syscall::Connect, FdKind::Conn(id)) => match self.host.state(id) {
                Some(s) if s.is_synchronized() => {
                    self.fds.get_mut(&fd_no).expect("present").connected = true;
                    Some((0, None))
                }
                Some(_) => None,
                None => Some((-1, Some(self.error_of(id)))),
            },
            (Syscall::Accept, FdKind::Listener) => match self.host.accept(self.knobs.bind_port) {
                Ok(Some(id)) => {
                    let new = self.new_fd(call.ret);
                    self.fds.insert(
                        new,
                        Fd {
                            kind: FdKind::Conn(id),
                            tuple: self.host.tuple(id),
                            nonblocking: false,
                            ..fd
                        },
                    );
                    self.under_test = Some(id);
                    Some((new, None))
                }
                _ => None,
            },
            (s, FdKind::Conn(id)) if s.reads() => {
                // Linux (tcp_recvmsg) copies what is queued before it looks at
                // RCV_SHUTDOWN: after SHUT_RD the peer's data is still ACKed, queued and
                // read, then 0 (shutdown_rd_data_still_readable.pkt).
                let queued = self.host.connection(id).is_some_and(|c| c.readable() > 0);
                if fd.read_shutdown && !queued {
                    return Some((0, None));
                }
                let max = number(call.args.get(2)).unwrap_or(i64::MAX) as u64;
                match self.host.receive(id, max, self.now) {
                    Ok(0) if !self.host.connection(id).is_some_and(|c| c.peer_closed()) => None,
                    Ok(n) => Some((n as i64, None)),
                    // A connection gone without an error ended cleanly: end of file.
                    Err(_) => Some(match self.take_error(id) {
                        Some(e) => (-1, Some(e)),
                        None => (0, None),
                    }),
                }
            }
            (Syscall::Close, FdKind::Conn(id)) => {
                let expired = fd.linger_until.is_some_and(|until| self.now >= until);
                (!self.closing(id) || expired).then(|| {
                    self.fds.remove(&fd_no);
                    (0, None)
                })
            }
            _ => Some((-1, Some("EBADF"))),
        }
    }
}
