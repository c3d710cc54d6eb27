//! Runs a parsed script against the model, in simulated time. The script plays the remote
//! peer (192.0.2.1); the stack under test is a [`Host`] at 192.168.0.1 whose sockets the
//! script's system calls drive.
//!
//! As in packetdrill: every segment the stack sends must match the next outbound line
//! within the tolerance, and a segment no line expects is a failure; sequence numbers are
//! relative to each side's ISN; a blocking call is checked when it returns.
//!
//! Departures: one connection per script (packetdrill's usual case); `bind` always binds
//! port 8080 and `connect` always goes to 192.0.2.1:8080; SACK and window scaling are not
//! modeled, so `sackOK`, `wscale` and `nop` are accepted and not checked; `SO_REUSEADDR` is
//! accepted and does nothing (listeners never conflict with TIME-WAIT here).

use super::parse::{Action, At, Call, Event, Script, SegmentSpec, When};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_tcp::host::{ConnId, Datagram, Host, HostConfig, HostError, SynCookies, TwReuse};
use synack_tcp::{
    Backoff, DataId, ErrorKind, Event as SocketEvent, Flags, Keepalive, Segment, Seq, TcpConfig,
    Timestamps,
};

const LOCAL: u32 = 0xc0a8_0001;
const REMOTE: u32 = 0xc000_0201;
const PORT: u16 = 8080;
const REMOTE_PORT: u16 = 45678;
const REMOTE_ISN: u32 = 1_000_000;
const REMOTE_INCARNATION: u32 = u32::MAX;

/// Why a script failed: the first mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The script line.
    pub line: usize,
    /// Simulated time.
    pub at: SimTime,
    /// What the line expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} at {:.6}s: expected {}, got {}",
            self.line,
            self.at.as_secs_f64(),
            self.expected,
            self.actual
        )
    }
}

/// A configuration problem (a bad sysctl): bad input, not a failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

/// Applies the script's sysctls to a profile.
pub fn configure(mut config: HostConfig, script: &Script) -> Result<HostConfig, SetupError> {
    for (line, name, value) in &script.sysctls {
        let bad = |form: &str| {
            SetupError(format!(
                "line {line}: sysctl {name}={value}: expected {form}"
            ))
        };
        let num = |form: &str| value.parse::<u64>().map_err(|_| bad(form));
        let switch = || match value.as_str() {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad("0 or 1")),
        };
        let tcp = &mut config.tcp;
        match name.as_str() {
            "tcp_syn_retries" => tcp.syn_retries = num("a count")? as u32,
            "tcp_synack_retries" => tcp.synack_retries = num("a count")? as u32,
            "tcp_syn_linear_timeouts" => {
                tcp.syn_backoff = match num("a count")? {
                    0 => Backoff::Doubling,
                    n => Backoff::LinearThenDoubling { linear: n as u32 },
                }
            }
            "tcp_syncookies" => {
                config.syncookies = match value.as_str() {
                    "0" => SynCookies::Off,
                    "1" => SynCookies::WhenFull,
                    "2" => SynCookies::Always,
                    _ => return Err(bad("0, 1 or 2")),
                }
            }
            "tcp_rfc1337" => tcp.rfc1337 = switch()?,
            "tcp_tw_reuse" => {
                config.tw_reuse = match value.as_str() {
                    "0" => TwReuse::Off,
                    "1" => TwReuse::On,
                    "2" => TwReuse::LoopbackOnly,
                    _ => return Err(bad("0, 1 or 2")),
                }
            }
            "tcp_fin_timeout" => tcp.fin_wait_2_timeout = SimDuration::from_secs(num("seconds")?),
            "tcp_abort_on_overflow" => config.abort_on_overflow = switch()?,
            "tcp_max_syn_backlog" => config.max_syn_backlog = num("a count")? as u32,
            "somaxconn" => config.somaxconn = num("a count")? as u32,
            "tcp_timestamps" => tcp.timestamps = switch()?,
            "ip_local_port_range" => {
                let parts: Vec<u16> = value
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                match parts.as_slice() {
                    [low, high] => config.ephemeral_ports = (*low, *high),
                    _ => return Err(bad("\"LOW HIGH\"")),
                }
            }
            _ => {
                return Err(SetupError(format!(
                    "line {line}: unsupported sysctl {name}: supported are tcp_syn_retries, tcp_synack_retries, \
                     tcp_syn_linear_timeouts, tcp_syncookies, tcp_rfc1337, tcp_tw_reuse, tcp_fin_timeout, \
                     tcp_abort_on_overflow, tcp_max_syn_backlog, net.core.somaxconn, tcp_timestamps, \
                     ip_local_port_range"
                )));
            }
        }
    }
    config
        .validate()
        .map_err(|e| SetupError(format!("sysctl: {e}")))?;
    Ok(config)
}

/// A file descriptor of the script.
#[derive(Debug, Clone)]
struct Fd {
    nonblocking: bool,
    linger_zero: bool,
    keepalive_on: bool,
    keepalive: Keepalive,
    config: TcpConfig,
    kind: FdKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FdKind {
    Unconnected,
    Listener,
    Conn(ConnId),
}

/// A blocking call waiting to return.
struct Blocking {
    line: usize,
    fd: i64,
    call: Call,
    end: SimTime,
}

struct Runner {
    host: Host,
    tolerance: SimDuration,
    /// The stack's clock: everything up to here has happened.
    now: SimTime,
    /// The previous event's time, for relative times.
    last: SimTime,
    pending: VecDeque<(SimTime, Segment)>,
    local_isn: Option<Seq>,
    local_port: u16,
    /// The script's port: 8080 once we connect to it, an ephemeral-looking one otherwise.
    remote_port: u16,
    fds: BTreeMap<i64, Fd>,
    next_fd: i64,
    errors: BTreeMap<ConnId, ErrorKind>,
    blocking: Option<Blocking>,
}

fn errno(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Refused => "ECONNREFUSED",
        ErrorKind::Reset => "ECONNRESET",
        ErrorKind::TimedOut => "ETIMEDOUT",
    }
}

fn show(seg: &Segment, local_isn: Option<Seq>) -> String {
    let base = local_isn.unwrap_or(Seq(0));
    let start = seg.seq - base;
    let mut s = format!(
        "{} {}:{}({})",
        seg.flags,
        start,
        start.wrapping_add(seg.len),
        seg.len
    );
    if seg.has(Flags::ACK) {
        s.push_str(&format!(" ack {}", seg.ack - Seq(REMOTE_ISN)));
    }
    s.push_str(&format!(" win {}", seg.window));
    s
}

fn show_spec(spec: &SegmentSpec) -> String {
    let flags = if spec.flags.is_empty() {
        "-"
    } else {
        &spec.flags
    };
    let mut s = format!(
        "{flags} {}:{}({})",
        spec.start,
        spec.start.wrapping_add(spec.len),
        spec.len
    );
    if let Some(ack) = spec.ack {
        s.push_str(&format!(" ack {ack}"));
    }
    if let Some(win) = spec.win {
        s.push_str(&format!(" win {win}"));
    }
    s
}

fn flags_of(text: &str) -> Flags {
    let mut f = Flags::NONE;
    for (c, flag) in [
        ('S', Flags::SYN),
        ('F', Flags::FIN),
        ('R', Flags::RST),
        ('P', Flags::PSH),
        ('.', Flags::ACK),
    ] {
        if text.contains(c) {
            f = f | flag;
        }
    }
    f
}

impl Runner {
    fn fail<T>(
        &self,
        line: usize,
        at: SimTime,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Result<T, Failure> {
        Err(Failure {
            line,
            at,
            expected: expected.into(),
            actual: actual.into(),
        })
    }

    fn resolve(&self, at: At) -> SimTime {
        match at {
            At::Absolute(x) => {
                SimTime::ZERO.saturating_add(SimDuration::saturating_from_secs_f64(x))
            }
            At::Relative(x) => self
                .last
                .saturating_add(SimDuration::saturating_from_secs_f64(x)),
        }
    }

    /// Collects what the host produced at `at`.
    fn collect(&mut self, at: SimTime) {
        let output = std::mem::take(self.host.output());
        for d in output.datagrams {
            self.pending.push_back((at, d.segment));
        }
        for (id, event) in output.events {
            if let SocketEvent::Failed(e) = event {
                self.errors.insert(id, e.kind);
            }
        }
    }

    /// Runs the stack's timers up to `t` (or until it sends, with `stop_on_send`).
    fn advance(&mut self, t: SimTime, stop_on_send: bool) {
        while let Some(deadline) = self.host.next_deadline() {
            if deadline > t || (stop_on_send && !self.pending.is_empty()) {
                break;
            }
            self.now = self.now.max(deadline);
            self.host.on_timeout(deadline);
            self.collect(deadline);
        }
        if !stop_on_send || self.pending.is_empty() {
            self.now = self.now.max(t);
        }
    }

    fn no_unexpected(&self, line: usize) -> Result<(), Failure> {
        match self.pending.front() {
            Some((at, seg)) => self.fail(
                line,
                *at,
                "no outbound segment before this line",
                format!("> {}", show(seg, self.local_isn)),
            ),
            None => Ok(()),
        }
    }

    fn conn(&self, fd: i64, line: usize) -> Result<ConnId, Failure> {
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

    fn inbound(&mut self, line: usize, spec: &SegmentSpec, t: SimTime) -> Result<(), Failure> {
        self.advance(t, false);
        self.no_unexpected(line)?;
        let flags = flags_of(&spec.flags);
        // Before any SYN of ours, numbers count from 0.
        let ack = spec
            .ack
            .map_or(Seq(0), |a| self.local_isn.unwrap_or(Seq(0)) + a);
        let flags = if spec.ack.is_some() {
            flags | Flags::ACK
        } else {
            flags
        };
        let mut seg = Segment::new(
            self.remote_port,
            self.local_port,
            Seq(REMOTE_ISN) + spec.start,
            ack,
            flags,
        );
        seg.len = spec.len;
        seg.window = spec.win.unwrap_or(65535);
        seg.mss = spec.mss;
        seg.timestamps = spec.timestamps.map(|(val, ecr)| Timestamps { val, ecr });
        seg.data = DataId {
            incarnation: REMOTE_INCARNATION,
            offset: u64::from(spec.start.saturating_sub(1)),
        };
        self.host.handle(&Datagram::new(REMOTE, LOCAL, seg), t);
        self.collect(t);
        self.last = t;
        Ok(())
    }

    fn outbound(&mut self, line: usize, spec: &SegmentSpec, when: When) -> Result<(), Failure> {
        let tol = self.tolerance;
        let (from, until) = match when {
            When::At(at) => {
                let t = self.resolve(at);
                (
                    SimTime::from_nanos(t.as_nanos().saturating_sub(tol.as_nanos())),
                    t.saturating_add(tol),
                )
            }
            When::Range(a, b) => {
                let (a, b) = (self.resolve(a), self.resolve(b));
                (
                    SimTime::from_nanos(a.as_nanos().saturating_sub(tol.as_nanos())),
                    b.saturating_add(tol),
                )
            }
            When::Any | When::Blocking(..) => (SimTime::ZERO, SimTime::MAX),
        };
        if self.pending.is_empty() {
            self.advance(until, true);
        }
        let Some((at, seg)) = self.pending.pop_front() else {
            return self.fail(
                line,
                until,
                format!("> {}", show_spec(spec)),
                "nothing sent",
            );
        };
        if at < from || at > until {
            return self.fail(
                line,
                at,
                format!(
                    "> {} at {:.6}s",
                    show_spec(spec),
                    from.saturating_add(tol).as_secs_f64()
                ),
                format!("it at {:.6}s", at.as_secs_f64()),
            );
        }
        if seg.has(Flags::SYN) && spec.flags.contains('S') {
            // Each SYN of ours starts an incarnation: its ISN is what later lines count from.
            self.local_isn = Some(seg.seq - spec.start);
            self.local_port = seg.src_port;
        }
        let actual = show(&seg, self.local_isn);
        let isn = self.local_isn.unwrap_or(Seq(0));
        let matches = seg.flags == flags_of(&spec.flags)
            && seg.seq - isn == spec.start
            && seg.len == spec.len
            && spec
                .ack
                .is_none_or(|a| seg.has(Flags::ACK) && seg.ack - Seq(REMOTE_ISN) == a)
            && spec.win.is_none_or(|w| seg.window == w)
            && spec.mss.is_none_or(|m| seg.mss == Some(m))
            && (spec.timestamps.is_none() || seg.timestamps.is_some());
        if !matches {
            return self.fail(
                line,
                at,
                format!("> {}", show_spec(spec)),
                format!("> {actual}"),
            );
        }
        self.last = at;
        Ok(())
    }

    fn int_arg(&self, call: &Call, i: usize, line: usize) -> Result<i64, Failure> {
        let text = call
            .args
            .get(i)
            .map(|a| a.trim_matches(|c| c == '[' || c == ']'));
        match text.and_then(|t| t.parse().ok()) {
            Some(v) => Ok(v),
            None => self.fail(
                line,
                self.now,
                format!("argument {} of {} to be a number", i + 1, call.name),
                format!("{:?}", call.args.get(i)),
            ),
        }
    }

    fn check(
        &self,
        line: usize,
        call: &Call,
        ret: i64,
        errno: Option<&str>,
    ) -> Result<(), Failure> {
        let got = match errno {
            Some(e) => format!("{ret} {e}"),
            None => ret.to_string(),
        };
        let want = match &call.errno {
            Some(e) => format!("{} {e}", call.ret),
            None => call.ret.to_string(),
        };
        if got == want {
            Ok(())
        } else {
            self.fail(line, self.now, format!("{} = {want}", call.name), got)
        }
    }

    fn error_of(&self, id: ConnId) -> &'static str {
        self.errors.get(&id).map_or("EPIPE", |&k| errno(k))
    }

    fn host_error(&self, id: ConnId, e: HostError) -> &'static str {
        match e {
            HostError::AddressNotAvailable => "EADDRNOTAVAIL",
            HostError::TooManyOpen => "EMFILE",
            HostError::AddressInUse(_) => "EADDRINUSE",
            _ => self.error_of(id),
        }
    }

    fn fd_config(&self, fd: &Fd) -> TcpConfig {
        TcpConfig {
            keepalive: fd.keepalive_on.then_some(fd.keepalive),
            ..fd.config.clone()
        }
    }

    /// Whether a blocking call can return now: its result, if so.
    fn try_complete(&mut self, b: &Blocking) -> Option<(i64, Option<&'static str>)> {
        let fd = self.fds.get(&b.fd)?.clone();
        match (b.call.name.as_str(), fd.kind) {
            ("connect", FdKind::Conn(id)) => match self.host.state(id) {
                Some(s) if s.is_synchronized() => Some((0, None)),
                Some(_) => None,
                None => Some((-1, Some(self.error_of(id)))),
            },
            ("accept", FdKind::Listener) => match self.host.accept(PORT) {
                Ok(Some(id)) => {
                    let new = self.next_fd;
                    self.next_fd += 1;
                    self.fds.insert(
                        new,
                        Fd {
                            kind: FdKind::Conn(id),
                            nonblocking: false,
                            ..fd
                        },
                    );
                    Some((new, None))
                }
                _ => None,
            },
            ("read", FdKind::Conn(id)) => {
                let max = b
                    .call
                    .args
                    .get(2)
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(u64::MAX);
                match self.host.receive(id, max, self.now) {
                    Ok(0) if !self.host.connection(id).is_some_and(|c| c.peer_closed()) => None,
                    Ok(n) => Some((n as i64, None)),
                    Err(_) => Some((-1, Some(self.error_of(id)))),
                }
            }
            _ => Some((-1, Some("EBADF"))),
        }
    }

    fn settle_blocking(&mut self) -> Result<(), Failure> {
        let Some(b) = self.blocking.take() else {
            return Ok(());
        };
        let tol = self.tolerance;
        match self.try_complete(&b) {
            Some((ret, errno)) => {
                let at = self.now;
                if at.as_nanos().abs_diff(b.end.as_nanos()) > tol.as_nanos() {
                    return self.fail(
                        b.line,
                        at,
                        format!("{} to return at {:.6}s", b.call.name, b.end.as_secs_f64()),
                        format!("it returned at {:.6}s", at.as_secs_f64()),
                    );
                }
                self.collect(at);
                self.check(b.line, &b.call, ret, errno)
            }
            None if self.now > b.end.saturating_add(tol) => self.fail(
                b.line,
                self.now,
                format!("{} to return by {:.6}s", b.call.name, b.end.as_secs_f64()),
                "it still blocks",
            ),
            None => {
                self.blocking = Some(b);
                Ok(())
            }
        }
    }

    fn call(&mut self, line: usize, call: &Call, when: When) -> Result<(), Failure> {
        let (t, end) = match when {
            When::At(at) => (self.resolve(at), None),
            When::Blocking(a, b) => {
                let start = self.resolve(a);
                let end = match b {
                    At::Absolute(_) => self.resolve(b),
                    At::Relative(x) => {
                        start.saturating_add(SimDuration::saturating_from_secs_f64(x))
                    }
                };
                (start, Some(end))
            }
            When::Any | When::Range(..) => {
                return self.fail(
                    line,
                    self.now,
                    "a time or start...end for a system call",
                    "* or a range",
                );
            }
        };
        self.advance(t, false);
        self.no_unexpected(line)?;
        self.last = t;
        let name = call.name.as_str();
        let fd_no = if name == "socket" {
            0
        } else {
            self.int_arg(call, 0, line)?
        };
        let result: (i64, Option<&'static str>) = match name {
            "socket" => {
                let fd = self.next_fd;
                self.next_fd += 1;
                let config = self.host.config().tcp.clone();
                self.fds.insert(
                    fd,
                    Fd {
                        nonblocking: false,
                        linger_zero: false,
                        keepalive_on: config.keepalive.is_some(),
                        keepalive: config.keepalive.unwrap_or_default(),
                        config,
                        kind: FdKind::Unconnected,
                    },
                );
                (fd, None)
            }
            "bind" => (0, None),
            "listen" => {
                let backlog = self.int_arg(call, 1, line)?.max(0) as u32;
                match self.host.listen(PORT, backlog) {
                    Ok(()) => {
                        let fd = self.fds.get_mut(&fd_no).expect("socket");
                        fd.kind = FdKind::Listener;
                        let config = self.fd_config(&self.fds[&fd_no]);
                        let _ = self.host.set_listener_config(PORT, config);
                        self.local_port = PORT;
                        (0, None)
                    }
                    Err(_) => (-1, Some("EINVAL")),
                }
            }
            "fcntl" => {
                let op = call.args.get(1).map(String::as_str);
                match op {
                    Some("F_SETFL") => {
                        let nonblocking =
                            call.args.get(2).is_some_and(|a| a.contains("O_NONBLOCK"));
                        match self.fds.get_mut(&fd_no) {
                            Some(fd) => {
                                fd.nonblocking = nonblocking;
                                (0, None)
                            }
                            None => (-1, Some("EBADF")),
                        }
                    }
                    _ => {
                        return self.fail(
                            line,
                            t,
                            "fcntl(fd, F_SETFL, FLAGS)",
                            format!("{op:?}: unsupported"),
                        );
                    }
                }
            }
            "setsockopt" | "getsockopt" => self.sockopt(line, call, fd_no)?,
            "connect" => {
                let Some(fd) = self.fds.get(&fd_no).cloned() else {
                    return self.check(line, call, -1, Some("EBADF"));
                };
                let config = Arc::new(self.fd_config(&fd));
                match self.host.connect_with(config, LOCAL, REMOTE, PORT, t) {
                    Ok(id) => {
                        self.fds.get_mut(&fd_no).expect("present").kind = FdKind::Conn(id);
                        self.remote_port = PORT;
                        self.local_port = self.host.tuple(id).map_or(PORT, |t| t.local_port);
                        self.collect(t);
                        if fd.nonblocking {
                            (-1, Some("EINPROGRESS"))
                        } else {
                            return self.block(line, call, fd_no, end);
                        }
                    }
                    Err(e) => (
                        -1,
                        Some(match e {
                            HostError::AddressNotAvailable => "EADDRNOTAVAIL",
                            HostError::TooManyOpen => "EMFILE",
                            _ => "EINVAL",
                        }),
                    ),
                }
            }
            "accept" | "read" => {
                let nonblocking = self.fds.get(&fd_no).is_some_and(|f| f.nonblocking);
                let probe = Blocking {
                    line,
                    fd: fd_no,
                    call: call.clone(),
                    end: t,
                };
                match self.try_complete(&probe) {
                    Some(result) => result,
                    None if nonblocking => (-1, Some("EAGAIN")),
                    None => return self.block(line, call, fd_no, end),
                }
            }
            "write" => {
                let id = self.conn(fd_no, line)?;
                let n = self.int_arg(call, 2, line)?;
                match self.host.send(id, n.max(0) as u64, t) {
                    Ok(()) => (n, None),
                    Err(e) => (-1, Some(self.host_error(id, e))),
                }
            }
            "shutdown" => {
                let id = self.conn(fd_no, line)?;
                if call.args.get(1).map(String::as_str) != Some("SHUT_WR") {
                    return self.fail(
                        line,
                        t,
                        "shutdown(fd, SHUT_WR)",
                        format!("{:?}: unsupported", call.args.get(1)),
                    );
                }
                match self.host.shutdown(id, t) {
                    Ok(()) => (0, None),
                    Err(e) => (-1, Some(self.host_error(id, e))),
                }
            }
            "close" => match self.fds.remove(&fd_no) {
                Some(Fd {
                    kind: FdKind::Conn(id),
                    linger_zero,
                    ..
                }) => {
                    let _ = self.host.set_linger_zero(id, linger_zero);
                    let _ = self.host.close(id, t);
                    (0, None)
                }
                Some(Fd {
                    kind: FdKind::Listener,
                    ..
                }) => {
                    self.host.unlisten(PORT, t);
                    (0, None)
                }
                Some(_) => (0, None),
                None => (-1, Some("EBADF")),
            },
            other => {
                return self.fail(line, t, "a supported call (socket, bind, listen, accept, connect, write, read, shutdown, close, fcntl, setsockopt, getsockopt)", other.to_string());
            }
        };
        self.collect(t);
        self.check(line, call, result.0, result.1)
    }

    fn block(
        &mut self,
        line: usize,
        call: &Call,
        fd: i64,
        end: Option<SimTime>,
    ) -> Result<(), Failure> {
        let Some(end) = end else {
            return self.fail(
                line,
                self.now,
                format!("{} to return at once", call.name),
                "it blocks: write it as START...END",
            );
        };
        self.blocking = Some(Blocking {
            line,
            fd,
            call: call.clone(),
            end,
        });
        Ok(())
    }

    fn sockopt(
        &mut self,
        line: usize,
        call: &Call,
        fd_no: i64,
    ) -> Result<(i64, Option<&'static str>), Failure> {
        let opt = call.args.get(2).cloned().unwrap_or_default();
        let Some(fd) = self.fds.get(&fd_no).cloned() else {
            return Ok((-1, Some("EBADF")));
        };
        if call.name == "getsockopt" {
            if opt != "SO_ERROR" {
                return self.fail(
                    line,
                    self.now,
                    "getsockopt(fd, SOL_SOCKET, SO_ERROR, ...)",
                    format!("{opt}: unsupported"),
                );
            }
            let got = match fd.kind {
                FdKind::Conn(id) => self.errors.get(&id).map_or("0", |&k| errno(k)),
                _ => "0",
            };
            let want = call
                .args
                .get(3)
                .map(|a| a.trim_matches(|c| c == '[' || c == ']').to_string())
                .unwrap_or_default();
            if got != want {
                return self.fail(
                    line,
                    self.now,
                    format!("SO_ERROR [{want}]"),
                    format!("[{got}]"),
                );
            }
            return Ok((0, None));
        }
        let value = call.args.get(3).cloned().unwrap_or_default();
        let number = || {
            value
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<u64>()
                .ok()
        };
        let mut fd = fd;
        match opt.as_str() {
            "SO_REUSEADDR" => {}
            "SO_LINGER" => {
                let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                fd.linger_zero = ["onoff=1,linger=0", "l_onoff=1,l_linger=0"]
                    .iter()
                    .any(|f| compact.contains(f));
            }
            "SO_KEEPALIVE" => fd.keepalive_on = number() == Some(1),
            "TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT" | "TCP_USER_TIMEOUT"
            | "TCP_SYNCNT" => {
                let Some(n) = number() else {
                    return self.fail(
                        line,
                        self.now,
                        format!("{opt} with a value [N]"),
                        value.clone(),
                    );
                };
                match opt.as_str() {
                    "TCP_KEEPIDLE" => fd.keepalive.idle = SimDuration::from_secs(n),
                    "TCP_KEEPINTVL" => fd.keepalive.interval = SimDuration::from_secs(n),
                    "TCP_KEEPCNT" => fd.keepalive.probes = n as u32,
                    "TCP_USER_TIMEOUT" => {
                        fd.config.user_timeout = (n > 0).then(|| SimDuration::from_millis(n))
                    }
                    _ => fd.config.syn_retries = n as u32,
                }
            }
            other => {
                return self.fail(line, self.now, "SO_REUSEADDR, SO_LINGER, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT or TCP_SYNCNT", format!("{other}: unsupported"));
            }
        }
        let config = self.fd_config(&fd);
        match fd.kind {
            FdKind::Conn(id) => {
                let _ = self.host.set_connection_config(id, config, self.now);
            }
            FdKind::Listener => {
                let _ = self.host.set_listener_config(PORT, config);
            }
            FdKind::Unconnected => {}
        }
        self.fds.insert(fd_no, fd);
        Ok((0, None))
    }
}

/// Runs a script against a host configured by `config`.
pub fn run(script: &Script, config: HostConfig) -> Result<(), Failure> {
    let host =
        Host::new(config, vec![LOCAL], &RandomStreams::new(1), "local", 0).expect("validated");
    let mut r = Runner {
        host,
        tolerance: SimDuration::from_micros(script.tolerance_usecs),
        now: SimTime::ZERO,
        last: SimTime::ZERO,
        pending: VecDeque::new(),
        local_isn: None,
        local_port: PORT,
        remote_port: REMOTE_PORT,
        fds: BTreeMap::new(),
        next_fd: 3,
        errors: BTreeMap::new(),
        blocking: None,
    };
    for Event { line, when, action } in &script.events {
        match action {
            Action::Segment(spec) if spec.inbound => {
                let t = match when {
                    When::At(at) => r.resolve(*at),
                    _ => {
                        return r.fail(
                            *line,
                            r.now,
                            "a time for an inbound segment",
                            "* or a range",
                        );
                    }
                };
                r.inbound(*line, spec, t)?;
            }
            Action::Segment(spec) => r.outbound(*line, spec, *when)?,
            Action::Call(call) => r.call(*line, call, *when)?,
        }
        r.settle_blocking()?;
    }
    // A blocking call still open must return by its end; then nothing more may be sent.
    if let Some(b) = &r.blocking {
        let end = b.end.saturating_add(r.tolerance);
        r.advance(end, true);
        r.settle_blocking()?;
        if let Some(b) = &r.blocking {
            return r.fail(
                b.line,
                r.now,
                format!("{} to return by {:.6}s", b.call.name, b.end.as_secs_f64()),
                "it still blocks",
            );
        }
    }
    let quiet_until = r.now.saturating_add(r.tolerance);
    r.advance(quiet_until, true);
    let last_line = script.events.last().map_or(0, |e| e.line);
    r.no_unexpected(last_line)
}
