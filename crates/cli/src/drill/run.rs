//! Runs a parsed script against the model, in simulated time. The script plays the remote
//! peer (192.0.2.1); the stack under test is a [`Host`] at 192.168.0.1 whose sockets the
//! script's system calls drive.
//!
//! packetdrill's rules, by default: every outbound line takes the next segment the stack sent
//! and must match it within the tolerance (`--tolerance_usecs`, or `--tolerance_percent` of
//! the time since the previous event if that is more: 4 ms and 12.5% by default); a line
//! expecting more payload than that segment takes the segments that follow it, back to back,
//! as one (packetdrill merges what a GSO or TSO kernel and a per-MSS one send differently,
//! unless `--strict_segments`); a segment no line takes is not looked for, so one the stack
//! sends after the last line goes unnoticed; sequence numbers are relative to each side's
//! first ISN, and the stack's counts from the number the script's first outbound SYN gives
//! it; the ACK bit of an inbound segment is set only by `.`; TS vals are checked under
//! `--tcp_ts_tick_usecs` only; a blocking call runs beside the lines that follow it and must
//! return within the tolerance of its end time (the percentage of its span).
//!
//! `--strict` (the project's corpus) is stricter: a segment sent before a line that no line
//! took fails, also after the last line, and segments are never merged.
//!
//! A line that needs a feature the model leaves out ends the script with `not modelled`
//! (`features`): its own text decides (a call, option, flag or `tcpi_*` field), or, for
//! congestion control, the stack sending more than Linux's initial window of 10 segments at
//! once or a third duplicate ACK.
//!
//! Departures: `bind` binds `--bind_port` (8080) and `connect` goes to 192.0.2.1 at
//! `--connect_port` (8080); the script's segments all belong to the connection of the
//! latest `connect` or the listener's port; `SO_REUSEADDR` is accepted and does nothing.

use super::features::Feature;
use super::knobs::Knobs;
use super::parse::{Action, At, Call, Event, Script, When};
use super::wire::{OptionLayout, Wire};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::Path;
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_tcp::host::{ConnId, Host, Outgoing, SysctlDialect};
use synack_tcp::{ErrorKind, Event as SocketEvent, FourTuple, Keepalive, Segment};

pub(super) const LOCAL: u32 = 0xc0a8_0001;
pub(super) const REMOTE: u32 = 0xc000_0201;
/// The script's port for a connection it opens to the stack's listener.
const REMOTE_PORT: u16 = 45678;

/// Why a script stopped: the first mismatch, or the first line that needs a feature the
/// model leaves out (`not_modelled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The feature the line needs, when the script stopped for want of it.
    pub not_modelled: Option<Feature>,
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
        if let Some(feature) = self.not_modelled {
            return write!(
                f,
                "not modelled: {feature} (line {}: {})",
                self.line, self.actual
            );
        }
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

/// A file descriptor of the script, with the socket options set on it.
#[derive(Debug, Clone)]
pub(super) struct Fd {
    pub nonblocking: bool,
    pub linger: Option<u64>,
    pub keepalive_on: bool,
    /// Per-socket keepalive timing (TCP_KEEPIDLE and friends); `None` follows the sysctls.
    pub keepalive: Option<Keepalive>,
    pub user_timeout: Option<SimDuration>,
    pub syn_retries: Option<u32>,
    /// TCP_MAXSEG: the MSS this socket announces and uses at most.
    pub user_mss: Option<u16>,
    pub read_shutdown: bool,
    /// TCP_INQ: recvmsg reports the bytes left to read in a TCP_CM_INQ control message.
    pub inq: bool,
    /// SO_SNDBUF and SO_RCVBUF as set, doubled as Linux keeps them; `None` reports
    /// `tcp_wmem[1]` and `tcp_rmem[1]`.
    pub sndbuf: Option<u64>,
    pub rcvbuf: Option<u64>,
    /// connect() has reported the connection established.
    pub connected: bool,
    /// When a lingering close gives up waiting for its FIN's ACK.
    pub linger_until: Option<SimTime>,
    pub kind: FdKind,
    /// The connection's 4-tuple once it has one: it names the socket after the connection
    /// has left the host's table (into TIME-WAIT, or closed), as a socket listing shows it.
    pub tuple: Option<FourTuple>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FdKind {
    Unconnected,
    Listener,
    Conn(ConnId),
}

/// A blocking call in progress, and its result once it has one.
pub(super) struct Blocking {
    pub line: usize,
    pub fd: i64,
    pub call: Call,
    pub end: SimTime,
    /// How far from `end` it may return: the tolerance over the call's span.
    pub tolerance: SimDuration,
    pub returned: Option<(SimTime, i64, Option<&'static str>)>,
}

pub(super) struct Runner<'a> {
    pub host: Host,
    pub knobs: Knobs,
    pub dir: &'a Path,
    pub tolerance: SimDuration,
    /// The stack's clock: everything up to here has happened.
    pub now: SimTime,
    /// The previous event's time, for relative times.
    pub last: SimTime,
    /// The previous event's time as the script gives it, for the tolerance.
    pub last_scripted: SimTime,
    pub pending: VecDeque<(SimTime, Segment)>,
    pub wire: Wire,
    pub local_port: u16,
    /// The script's port: `--connect_port` once we connect to it, an ephemeral-looking one
    /// otherwise.
    pub remote_port: u16,
    pub fds: BTreeMap<i64, Fd>,
    pub errors: BTreeMap<ConnId, ErrorKind>,
    pub blocking: Option<Blocking>,
    /// The connection TCP_INFO reads: the latest one connected or accepted.
    pub under_test: Option<ConnId>,
    /// packetdrill's own rules (`false`), or the corpus's stricter ones (`--strict`).
    pub strict: bool,
    /// The ends (relative sequence numbers) of the new data segments the stack has sent
    /// that the script has not acknowledged: Linux's `packets_out`.
    pub packets_out: VecDeque<u32>,
    /// The highest relative sequence number the stack has sent data up to.
    pub sent_up_to: u32,
    /// The script's latest ACK number and window, and how many duplicates of it followed.
    pub last_ack: Option<(u32, Option<u32>)>,
    pub duplicate_acks: u32,
    /// When the script last sent data, or the SYN that opened the connection: Linux's
    /// `icsk_ack.lrcvtime`, which `tcpi_last_data_recv` counts from.
    pub last_data_received: SimTime,
    /// Linux's send chronograph for the connection under test (`tcp_chrono_*`): since when
    /// it has been in its present state, and the time spent busy (data written and not yet
    /// acknowledged) and, of that, limited by the peer's window, in nanoseconds.
    pub chrono: Chrono,
    /// Linux's estimate of the peer's segment size (`icsk_ack.rcv_mss`, `tcpi_rcv_mss`).
    pub rcv_mss: u32,
    /// The first outbound TS val as the script wrote it and as the stack sent it.
    pub ts_base: Option<(u32, u32)>,
    /// The first segment sent beyond Linux's initial window, if one was.
    pub beyond_initial_window: Option<(SimTime, u32)>,
}

/// Linux's send chronograph, as `tcpi_busy_time` and `tcpi_rwnd_limited` report it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Chrono {
    pub since: SimTime,
    pub busy: bool,
    pub window_limited: bool,
    pub busy_ns: u64,
    pub window_limited_ns: u64,
}

/// Linux's first estimate of the peer's segment size (`tcp_initialize_rcv_mss`: at most
/// TCP_MSS_DEFAULT, 536).
const RCV_MSS_START: u32 = synack_tcp::DEFAULT_MSS as u32;

/// Linux's initial congestion window, in segments (TCP_INIT_CWND, RFC 6928): past it,
/// what Linux sends depends on congestion control, which the model leaves out.
pub(super) const INITIAL_WINDOW: usize = 10;
/// Duplicate ACKs that start Linux's fast retransmit (`tcp_reordering`'s default).
pub(super) const DUPLICATE_ACK_THRESHOLD: u32 = 3;

pub(super) fn errno(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Refused => "ECONNREFUSED",
        ErrorKind::Reset => "ECONNRESET",
        ErrorKind::BrokenPipe => "EPIPE",
        ErrorKind::TimedOut => "ETIMEDOUT",
    }
}

impl Runner<'_> {
    pub fn fail<T>(
        &self,
        line: usize,
        at: SimTime,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Result<T, Failure> {
        Err(Failure {
            not_modelled: None,
            line,
            at,
            expected: expected.into(),
            actual: actual.into(),
        })
    }

    /// Ends the script at `line`, which needs `feature`; `what` says what in the line does.
    pub fn not_modelled<T>(
        &self,
        line: usize,
        feature: Feature,
        what: impl Into<String>,
    ) -> Result<T, Failure> {
        Err(Failure {
            not_modelled: Some(feature),
            line,
            at: self.now,
            expected: String::new(),
            actual: what.into(),
        })
    }

    /// Ends the script at a command that needs a feature the model leaves out (`Knobs::needs`).
    fn commands_need(&self) -> Result<(), Failure> {
        match &self.knobs.needs {
            Some((line, feature, what)) => self.not_modelled(*line, *feature, what.clone()),
            None => Ok(()),
        }
    }

    /// packetdrill's tolerance for an event expected at `expected` after one at `since`:
    /// `--tolerance_usecs`, or `--tolerance_percent` of the gap if that is more.
    pub fn tolerance_over(&self, since: SimTime, expected: SimTime) -> SimDuration {
        let gap = expected.saturating_since(since).as_nanos() as f64;
        let share = SimDuration::from_nanos((gap * self.knobs.tolerance_percent / 100.0) as u64);
        self.tolerance.max(share)
    }

    pub fn resolve(&self, at: At) -> SimTime {
        let secs = |x| SimDuration::saturating_from_secs_f64(x);
        match at {
            At::Absolute(x) => SimTime::ZERO.saturating_add(secs(x)),
            At::Relative(x) => self.last.saturating_add(secs(x)),
        }
    }

    /// Collects what the host produced at `at`, and whether a blocking call can return.
    pub fn collect(&mut self, at: SimTime) {
        let output = std::mem::take(self.host.output());
        for Outgoing { datagram: d, .. } in output.outgoing {
            self.wire.outbound(&d.segment);
            self.count_packets_out(at, &d.segment);
            self.pending.push_back((at, d.segment));
        }
        for (id, event) in output.events {
            if let SocketEvent::Failed(e) = event {
                self.errors.insert(id, e.kind);
            }
        }
        self.chrono_to(at);
        self.chrono_resample();
        self.poll_blocking(at);
    }

    /// Counts the time since the chronograph's last reading into its present state.
    pub fn chrono_to(&mut self, at: SimTime) {
        let c = &mut self.chrono;
        let elapsed = at.saturating_since(c.since).as_nanos();
        if c.busy {
            c.busy_ns += elapsed;
        }
        if c.window_limited {
            c.window_limited_ns += elapsed;
        }
        c.since = c.since.max(at);
    }

    /// The chronograph's state after the stack has acted.
    fn chrono_resample(&mut self) {
        let conn = self.under_test.and_then(|id| self.host.connection(id));
        self.chrono.busy = conn.is_some_and(|c| c.unacknowledged() > 0);
        self.chrono.window_limited = conn.is_some_and(|c| c.window_limited());
    }

    fn poll_blocking(&mut self, at: SimTime) {
        let Some(mut b) = self.blocking.take() else {
            return;
        };
        if b.returned.is_none()
            && let Some((ret, errno)) = self.try_complete(b.fd, &b.call)
        {
            b.returned = Some((at, ret, errno));
        }
        self.blocking = Some(b);
    }

    /// Runs the stack's timers up to `t` (or until it sends, with `stop_on_send`). Stops
    /// early when a blocking call's end passes without a result, so that it fails there.
    pub fn advance(&mut self, t: SimTime, stop_on_send: bool) {
        let overdue = |r: &Self| {
            r.blocking
                .as_ref()
                .filter(|b| b.returned.is_none())
                .map(|b| b.end.saturating_add(b.tolerance))
        };
        while let Some(deadline) = self.host.next_deadline() {
            if deadline > t || (stop_on_send && !self.pending.is_empty()) {
                break;
            }
            if let Some(limit) = overdue(self).filter(|&limit| limit < deadline) {
                self.now = self.now.max(limit);
                return;
            }
            self.now = self.now.max(deadline);
            self.host.on_timeout(deadline);
            self.collect(deadline);
        }
        if !stop_on_send || self.pending.is_empty() {
            self.now = self.now.max(t);
        }
    }

    /// Under `--strict`, fails on a segment the stack sent before the line at `t` that no
    /// line took (packetdrill does not look). One sent at about `t` may still be listed
    /// after the line: packetdrill matches outbound lines against what was sent whenever it
    /// reaches them, so the order of a call and a segment of the same instant is free
    /// (upstream blocking-accept.pkt relies on it).
    pub fn no_unexpected(&self, line: usize, t: SimTime) -> Result<(), Failure> {
        if !self.strict {
            return Ok(());
        }
        match self.pending.front() {
            Some((at, seg)) if at.saturating_add(self.tolerance) < t => self.fail(
                line,
                *at,
                "no outbound segment before this line",
                format!("> {}", self.wire.show(seg)),
            ),
            _ => Ok(()),
        }
    }

    /// Checks a blocking call that has returned, or that should have by now.
    pub fn settle_blocking(&mut self) -> Result<(), Failure> {
        let Some(b) = self.blocking.take() else {
            return Ok(());
        };
        let tol = b.tolerance.as_nanos();
        match b.returned {
            Some((at, ret, errno)) => {
                if at.as_nanos().abs_diff(b.end.as_nanos()) > tol {
                    return self.fail(
                        b.line,
                        at,
                        format!("{} to return at {:.6}s", b.call.name, b.end.as_secs_f64()),
                        format!("it returned at {:.6}s", at.as_secs_f64()),
                    );
                }
                self.check(b.line, &b.call, ret, errno)
            }
            None if self.now.as_nanos() >= b.end.as_nanos().saturating_add(tol) => self.fail(
                b.line,
                b.end.saturating_add(b.tolerance),
                format!("{} to return by {:.6}s", b.call.name, b.end.as_secs_f64()),
                "it still blocks",
            ),
            None => {
                self.blocking = Some(b);
                Ok(())
            }
        }
    }

    pub fn check(
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
        let want = match call.errno.as_deref() {
            // The same number on Linux and FreeBSD; the FreeBSD suite writes it so.
            Some("EWOULDBLOCK") => format!("{} EAGAIN", call.ret),
            Some(e) => format!("{} {e}", call.ret),
            None => call.ret.to_string(),
        };
        if got == want {
            Ok(())
        } else {
            self.fail(line, self.now, format!("{} = {want}", call.name), got)
        }
    }

    fn command(&mut self, line: usize, text: &str, t: SimTime) -> Result<(), Failure> {
        self.advance(t, false);
        self.no_unexpected(line, t)?;
        self.last = t;
        match self.socket_command(text.trim(), t) {
            Some(Ok(true)) => return Ok(()),
            Some(Ok(false)) => {
                return self.fail(
                    line,
                    t,
                    format!("`{}` to succeed", text.trim()),
                    "its last grep matched nothing (exit 1)",
                );
            }
            Some(Err(message)) => {
                return self.fail(
                    line,
                    t,
                    "a valid command",
                    format!("line {line}: {message}"),
                );
            }
            None => {}
        }
        let dir = self.dir;
        let applied = self
            .knobs
            .command(text, line, dir)
            .and_then(|()| self.knobs.validate());
        if let Err(message) = applied {
            return self.fail(line, t, "a valid command", message);
        }
        self.commands_need()?;
        if let Err(e) = self.host.set_config(self.knobs.host.clone()) {
            return self.fail(line, t, "a valid configuration", e.to_string());
        }
        // Sockets read most knobs when they use them: open ones follow the change.
        let fds: Vec<i64> = self.fds.keys().copied().collect();
        for fd in fds {
            self.apply_options(fd);
        }
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<(), Failure> {
        let scripted = match event.when {
            When::At(at) | When::Range(at, _) | When::Blocking(at, _) => Some(self.resolve(at)),
            When::Any => None,
        };
        let result = self.dispatch(event);
        if let Some(t) = scripted {
            self.last_scripted = t;
        }
        result
    }

    fn dispatch(&mut self, event: &Event) -> Result<(), Failure> {
        let Event { line, when, action } = event;
        let line = *line;
        match action {
            Action::Segment(spec) if spec.inbound => {
                let When::At(at) = when else {
                    return self.fail(
                        line,
                        self.now,
                        "a time for an inbound segment",
                        "* or a range",
                    );
                };
                let t = self.resolve(*at);
                self.inbound(line, spec, t)
            }
            Action::Segment(spec) => self.outbound(line, spec, *when),
            Action::Call(call) => self.call(line, call, *when),
            Action::Command(text) | Action::Code(text) => {
                let When::At(at) = when else {
                    return self.fail(line, self.now, "a time for a command", "* or a range");
                };
                let t = self.resolve(*at);
                match action {
                    Action::Command(_) => self.command(line, text, t),
                    _ => self.code(line, text, t),
                }
            }
            Action::Icmp(text) => self.not_modelled(line, Feature::IcmpPathMtu, text.clone()),
        }
    }
}

/// Runs a script against a host configured by `knobs` (its options and init command
/// already applied). `dir` is the script's folder, for commands that name files. Returns
/// the verdict and what the script asked for that the model does not have.
pub fn run(
    script: &Script,
    knobs: Knobs,
    dir: &Path,
    strict: bool,
) -> (Result<(), Failure>, Vec<String>) {
    let host = Host::new(
        knobs.host.clone(),
        vec![LOCAL],
        &RandomStreams::new(1),
        "local",
        0,
    )
    .expect("validated");
    let layout = match knobs.dialect {
        SysctlDialect::Linux => OptionLayout::Linux,
        SysctlDialect::FreeBsd => OptionLayout::FreeBsd,
    };
    let mut r = Runner {
        host,
        tolerance: SimDuration::from_micros(knobs.tolerance_usecs),
        local_port: knobs.bind_port,
        knobs,
        dir,
        now: SimTime::ZERO,
        last: SimTime::ZERO,
        last_scripted: SimTime::ZERO,
        pending: VecDeque::new(),
        wire: Wire {
            layout,
            ..Wire::default()
        },
        remote_port: REMOTE_PORT,
        fds: BTreeMap::new(),
        errors: BTreeMap::new(),
        blocking: None,
        under_test: None,
        strict,
        packets_out: VecDeque::new(),
        sent_up_to: 0,
        last_ack: None,
        duplicate_acks: 0,
        beyond_initial_window: None,
        last_data_received: SimTime::ZERO,
        ts_base: None,
        chrono: Chrono::default(),
        rcv_mss: RCV_MSS_START,
    };
    let verdict = play(&mut r, script);
    (verdict, r.knobs.not_modelled.into_iter().collect())
}

fn play(r: &mut Runner, script: &Script) -> Result<(), Failure> {
    r.commands_need()?;
    for event in &script.events {
        r.event(event)?;
        r.settle_blocking()?;
    }
    // A blocking call still open must return by its end; packetdrill needs a later event
    // to see it return.
    if let Some(b) = &r.blocking {
        let line = b.line;
        return r.fail(
            line,
            r.now,
            "a later event to see the blocking call return",
            "the script ends while it blocks (packetdrill: exiting while a blocking system call is in progress)",
        );
    }
    let quiet_until = r.now.saturating_add(r.tolerance);
    r.advance(quiet_until, true);
    let last_line = script.events.last().map_or(0, |e| e.line);
    // At the end every segment sent must have been listed.
    r.no_unexpected(last_line, SimTime::MAX)
}
