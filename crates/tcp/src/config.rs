//! Every knob of one endpoint. Defaults are modern Linux's (6.5 and later), each with its
//! source, except TIME-WAIT, which is 2 x MSL as RFC 9293 has it (60 s, as Linux's); the
//! OS profiles of the host layer are values of this struct.

use crate::IsnGenerator;
use crate::JiffyWheel;
use crate::TimeWaitRules;
use synack_kernel::SimDuration;

/// An ACK may wait less than this: RFC 9293 3.8.6.3 (a MUST).
pub const MAX_ACK_DELAY: SimDuration = SimDuration::from_millis(500);

/// A bad configuration value: the field and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field's name.
    pub field: &'static str,
    /// What is wrong and what is accepted.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        message: message.into(),
    }
}

/// What a RST reports to the application (SO_ERROR, a failed call), by the state it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetErrors {
    /// RFC 9293 3.10.7.4: "connection reset" in ESTABLISHED, the FIN-WAITs and CLOSE-WAIT;
    /// nothing in CLOSING, LAST-ACK and TIME-WAIT, where the connection just closes.
    Rfc9293,
    /// Linux (`tcp_reset`): EPIPE in CLOSE-WAIT, ECONNRESET in every other synchronized
    /// state, LAST-ACK and CLOSING included. Measured on Linux 6.18:
    /// so_error_rst_in_close_wait.pkt, so_error_rst_in_last_ack.pkt.
    Linux,
    /// FreeBSD (tcp_input.c): ECONNRESET in every synchronized state, CLOSE-WAIT, CLOSING
    /// and LAST-ACK included (the FreeBSD suite's rcv-rst-closing and rcv-rst-last-ack
    /// scripts read it with SO_ERROR).
    FreeBsd,
}

/// How the receive buffer and the window that follows from it behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveWindow {
    /// Linux's (and the default): the buffer is `recv_buffer`; a segment is acceptable
    /// within the window advertised, at most 65,535 bytes without window scaling
    /// (`tcp_select_window`, `tcp_sequence`).
    Linux,
    /// FreeBSD's: once the peer's MSS is known the buffer grows to a multiple of the
    /// segment size (tcp_input.c `tcp_mss`: `roundup(sb_hiwat, mss)`, 65,536 to 65,700 for
    /// 1460), and a segment is acceptable within all free buffer, past what 16 bits
    /// advertise (tcp_input.c: `rcv_wnd = imax(sbspace, rcv_adv - rcv_nxt)`). The FreeBSD
    /// suite's scripts check both: SO_RCVBUF 65700 after the handshake, and a RST at
    /// RCV.NXT + 65699 inside the window.
    FreeBsd,
}

/// How long TIME-WAIT lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWaitLength {
    /// 2 x MSL, as RFC 9293 says.
    TwiceMsl,
    /// A fixed length, as Linux's 60 s (`TCP_TIMEWAIT_LEN`), whatever the MSL.
    Fixed(SimDuration),
}

/// How the wait between retransmissions grows. The first wait is the initial RTO; wait `i`
/// (from 0) follows the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backoff {
    /// Each wait doubles the previous one: RTO x 2^i.
    Doubling,
    /// Linux's `tcp_syn_linear_timeouts`: the first `linear` backoffs do not double (waits
    /// 0..=linear are the initial RTO), then doubling resumes: RTO x 2^(i - linear). The
    /// retry limit grows by `linear` too.
    LinearThenDoubling {
        /// Backoffs that keep the initial RTO.
        linear: u32,
    },
    /// Explicit waits, as macOS's SYN backoff table; the last repeats.
    Table(Vec<SimDuration>),
}

impl Backoff {
    /// Wait number `i` (from 0) when the first is `initial`, capped at `max`.
    pub fn wait(&self, initial: SimDuration, i: u32, max: SimDuration) -> SimDuration {
        let wait = match self {
            Backoff::Doubling => initial.saturating_mul(1u64 << i.min(62)),
            Backoff::LinearThenDoubling { linear } => {
                initial.saturating_mul(1u64 << i.saturating_sub(*linear).min(62))
            }
            Backoff::Table(table) => table[(i as usize).min(table.len() - 1)],
        };
        wait.min(max)
    }

    /// Retransmissions this schedule adds to the configured retry count.
    pub fn extra_retries(&self) -> u32 {
        match self {
            Backoff::LinearThenDoubling { linear } => *linear,
            Backoff::Doubling | Backoff::Table(_) => 0,
        }
    }
}

/// Keepalive probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe. Linux: 7200 s (`TCP_KEEPALIVE_TIME`).
    pub idle: SimDuration,
    /// Time between unanswered probes. Linux: 75 s (`TCP_KEEPALIVE_INTVL`).
    pub interval: SimDuration,
    /// Unanswered probes before the connection fails. Linux: 9 (`TCP_KEEPALIVE_PROBES`).
    pub probes: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            idle: SimDuration::from_secs(7200),
            interval: SimDuration::from_secs(75),
            probes: 9,
        }
    }
}

/// Every knob of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpConfig {
    /// Maximum segment lifetime. Default 30 s (FreeBSD's `MSL`; RFC 9293 says 2 minutes;
    /// Linux has no MSL knob).
    pub msl: SimDuration,
    /// TIME-WAIT length. Default 2 x MSL = 60 s, the same as Linux's fixed
    /// `TCP_TIMEWAIT_LEN` (the Linux profile fixes it, whatever the MSL).
    pub time_wait: TimeWaitLength,
    /// RTO before any RTT sample (SYN, SYN-ACK, early data). Default 1 s
    /// (`TCP_TIMEOUT_INIT`, RFC 6298 2.1).
    pub rto_initial: SimDuration,
    /// Lower bound of the RTO. Default 200 ms (Linux `TCP_RTO_MIN`).
    pub rto_min: SimDuration,
    /// Apply `rto_min` to the variance term (RTO = SRTT + max(rto_min, 4 RTTVAR)), as Linux
    /// does, instead of to the whole RTO (RFC 6298 2.4). Default off; the Linux profile: on
    /// (measured on Linux 6.18: data sent 10 ms after a 10 ms RTT sample is retransmitted
    /// 210 ms later with tail-loss probes off, drill script data_rto_linux_min.pkt).
    pub rto_min_on_variance: bool,
    /// Upper bound of the RTO. Default 120 s (Linux `TCP_RTO_MAX`).
    pub rto_max: SimDuration,
    /// RTO once established if the handshake needed a retransmission and gave no RTT
    /// sample. Default 3 s (Linux `TCP_TIMEOUT_FALLBACK`, RFC 6298 5.7); `None` keeps the
    /// backed-off RTO.
    pub rto_after_syn_retransmit: Option<SimDuration>,
    /// Clock granularity G of RFC 6298 (RTO = SRTT + max(G, 4 RTTVAR)). Default 1 ms.
    pub rto_granularity: SimDuration,
    /// SYN retransmissions before connect fails. Default 6 (`tcp_syn_retries`).
    pub syn_retries: u32,
    /// Schedule of SYN retransmissions. Default Linux 6.5+: the first 4 backoffs linear.
    pub syn_backoff: Backoff,
    /// SYN-ACK retransmissions before a half-open connection is dropped. Default 5
    /// (`tcp_synack_retries`).
    pub synack_retries: u32,
    /// Schedule of SYN-ACK retransmissions. Default doubling (Linux: 1, 3, 7, 15, 31 s).
    pub synack_backoff: Backoff,
    /// The kernel timer wheel the handshake's timers (SYN and SYN-ACK retransmissions,
    /// connect's give-up, a request's drop) run on, which makes them late by up to an
    /// eighth of their length; `None` runs them on time. Default none; the Linux profiles:
    /// HZ 250 (measured on Linux 6.18: SYN-ACKs 1.00–1.03, 3.02–3.05, 7.07–7.30, 15.27–15.50
    /// and 31.39–31.62 s after the SYN, the request dropped 63.66–65.60 s after it; see
    /// [`JiffyWheel`]). Other timers (data RTO, delayed ACK, TIME-WAIT, FIN-WAIT-2,
    /// keepalive) run on time.
    pub timer_wheel: Option<JiffyWheel>,
    /// connect() fails after this long in SYN-SENT, whatever the retries. Default none
    /// (Linux); the BSDs and macOS use 75 s.
    pub connect_timeout: Option<SimDuration>,
    /// Data (and FIN) retransmissions before the connection fails (R2). Default 15
    /// (`tcp_retries2`).
    pub data_retries: u32,
    /// Retransmissions before an orphaned connection (the application closed it: FIN-WAIT-1,
    /// CLOSING, LAST-ACK) is dropped; `None` uses `data_retries`. Default none (RFC 9293's
    /// R2 for every connection); the Linux profile: 8 (`tcp_orphan_retries` 0 means 8), so
    /// an orphan with a 200 ms RTO goes after about 102 s, not 925 s. Measured on Linux
    /// 6.18: orphan_fin_retries.pkt.
    pub orphan_retries: Option<u32>,
    /// FIN-WAIT-2 lasts at most this long for a connection the application closed.
    /// Default 60 s (`tcp_fin_timeout`).
    pub fin_wait_2_timeout: SimDuration,
    /// Fail when data stays unacknowledged this long (TCP_USER_TIMEOUT). Default none.
    pub user_timeout: Option<SimDuration>,
    /// Keepalive probing; default off, as in Linux.
    pub keepalive: Option<Keepalive>,
    /// Delayed-ACK timeout; `None` ACKs every segment at once. Default 40 ms (Linux's
    /// minimum ATO). A second full-sized segment is always ACKed at once. Below
    /// [`MAX_ACK_DELAY`].
    pub delayed_ack: Option<SimDuration>,
    /// ACK a FIN that ends ESTABLISHED on the delayed-ACK timer once data has come, so the
    /// ACK can ride on our own FIN; `false` ACKs every FIN at once (RFC 9293 3.10.7.4,
    /// 4.4BSD and FreeBSD's TF_ACKNOW). Default on, as Linux (measured on Linux 6.18: the
    /// ACK came 40-45 ms after the FIN, and on the FIN of a close 10 ms after it).
    pub delay_fin_ack: bool,
    /// What a RST tells the application, by the state it finds. Default RFC 9293's.
    pub reset_errors: ResetErrors,
    /// How the receive buffer and window behave. Default Linux's.
    pub receive_window: ReceiveWindow,
    /// A RST of ours advertises a window of 0 (FreeBSD's tcp_output: "If a RST segment is
    /// sent, advertise a window of zero"; the FreeBSD suite's `> R. ... win 0`). Default
    /// off: the window as on any segment.
    pub rst_window_zero: bool,
    /// While our FIN is the only thing unacknowledged, an ACK we send carries the FIN again
    /// (FreeBSD's tcp_output: the state's flags hold FIN, and SND.NXT steps back onto it;
    /// the FreeBSD suite's CLOSING scripts: `> F. 1:1(0) ack 2` where RFC 9293 sends `> .
    /// 2:2(0) ack 2`). Default off.
    pub ack_resends_fin: bool,
    /// Keep data that comes on a SYN and deliver it once established (RFC 9293 3.10.7.2);
    /// `false` drops it and acknowledges the SYN alone, so the peer sends it again, as
    /// Linux does without a Fast Open cookie (measured: syn_data_discarded.pkt). Default
    /// off, as Linux.
    pub hold_syn_data: bool,
    /// Keep text that comes on the peer's SYN while we are in SYN-SENT (RFC 9293
    /// 3.10.7.3): on a SYN-ACK it is taken at once and acknowledged; on the SYN of a
    /// simultaneous open it is held until ESTABLISHED, unacknowledged until then. A FIN on
    /// such a SYN is not kept. The FreeBSD suite checks both (rcv-syn-ack-with-data-syn-
    /// sent, rcv-syn-with-data-syn-sent). Default off: the text is dropped and the peer
    /// sends it again (Linux's handling is not measured here).
    pub keep_syn_sent_text: bool,
    /// Send the timestamps option. Default on (`tcp_timestamps`).
    pub timestamps: bool,
    /// RFC 5961 sections 3 and 5: challenge ACKs for in-window RSTs not at RCV.NXT, and
    /// for ACKs older than any window the peer could have seen. Default on, as in Linux
    /// (FreeBSD: `net.inet.tcp.insecure_rst` 0).
    pub rfc5961: bool,
    /// RFC 5961 section 4: a challenge ACK for a SYN in a synchronized state; off, RFC
    /// 793's reset. Default on, as in Linux (FreeBSD: `net.inet.tcp.insecure_syn` 0).
    pub rfc5961_syn: bool,
    /// RFC 1337: ignore RSTs in TIME-WAIT. Default off (`tcp_rfc1337`).
    pub rfc1337: bool,
    /// TS.Recent is taken only from a segment whose ACK is acceptable: one that
    /// acknowledges something not yet sent, or is older than any window the peer saw, leaves
    /// it alone (Linux's tcp_ack, FLAG_UPDATE_TS_RECENT; measured on Linux 6.18 with
    /// google/packetdrill's `ts_recent/invalid_ack.pkt`: the ACK it sends after such a
    /// segment echoes the TSval before it, and `invalid_ack_keeps_ts_recent.pkt`). Off, the
    /// segment's sequence number alone decides (RFC 7323 4.3, FreeBSD's tcp_input). Default
    /// on, as Linux.
    pub ts_recent_needs_acceptable_ack: bool,
    /// How TIME-WAIT answers segments: Linux's timewait sockets (the default) or RFC
    /// 9293's arrival steps; see [`TimeWaitRules`].
    pub time_wait_rules: TimeWaitRules,
    /// At most one ACK per this interval in answer to invalid segments that carry no data
    /// (out-of-window sequence or ACK number, RFC 5961 challenges), per connection and per
    /// TIME-WAIT entry, so two endpoints that disagree cannot ACK each other in a loop.
    /// Default 500 ms (Linux `tcp_invalid_ratelimit`); `None` answers every one (RFC 9293).
    pub invalid_ack_interval: Option<SimDuration>,
    /// How initial sequence numbers are chosen. Default RFC 6528.
    pub isn: IsnGenerator,
    /// MSS we announce and use at most. Default 1460 (Ethernet).
    pub mss: u16,
    /// Receive buffer: the window we offer is what is free of it. Default 131072
    /// (`tcp_rmem` default).
    pub recv_buffer: u32,
    /// The window in our SYN and SYN-ACK; `None` offers the free receive buffer. Default
    /// none; the Linux profile: 64,240 (measured on Linux 6.18 with packetdrill).
    pub syn_window: Option<u32>,
    /// The window scale (RFC 7323) our SYN offers, and our SYN-ACK when the peer's SYN
    /// offered one; `None` offers none. Windows stay real byte counts inside the model: the
    /// scale only says how they go on the wire. Default none; the Linux profile: 10
    /// (measured on Linux 6.18 with packetdrill: `wscale 10` in SYN and SYN-ACK).
    pub window_scale: Option<u8>,
    /// Offer SACK-permitted (RFC 2018) in SYNs, and in SYN-ACKs when the peer did. SACK
    /// itself is not modelled. Default off; the Linux profile: on (`tcp_sack`).
    pub sack_permitted: bool,
    /// Data segments ACKed at once at the start of a connection before delayed ACKs begin
    /// (Linux's quick-ACK mode). Default 0; the Linux profile: 16 (`TCP_MAX_QUICKACKS`;
    /// measured on Linux 6.18: the first 16 segments of 100 bytes, 100 ms apart, were each
    /// ACKed at once, the 17th 40 ms later).
    pub quick_acks: u8,
    /// Answer new data reaching a closed (orphaned) connection in FIN-WAIT-1 or -2 with a
    /// RST and end it, as Linux does; RFC 9293 processes the text. Default on.
    pub abort_on_orphan_data: bool,
    /// Send a RST when keepalive gives up on the peer. Default on, as Linux
    /// (`tcp_keepalive_timer`; measured with packetdrill on Linux 6.18).
    pub keepalive_reset: bool,
    /// The two-way handshake variant: the server is established when the SYN arrives and
    /// the client when the SYN-ACK arrives; nobody acknowledges the server's SYN. For the
    /// experiment that shows why TCP needs three segments. Default off.
    pub two_way_handshake: bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            msl: SimDuration::from_secs(30),
            time_wait: TimeWaitLength::TwiceMsl,
            rto_initial: SimDuration::from_secs(1),
            rto_min: SimDuration::from_millis(200),
            rto_max: SimDuration::from_secs(120),
            rto_min_on_variance: false,
            rto_after_syn_retransmit: Some(SimDuration::from_secs(3)),
            rto_granularity: SimDuration::from_millis(1),
            syn_retries: 6,
            syn_backoff: Backoff::LinearThenDoubling { linear: 4 },
            synack_retries: 5,
            synack_backoff: Backoff::Doubling,
            timer_wheel: None,
            connect_timeout: None,
            data_retries: 15,
            orphan_retries: None,
            fin_wait_2_timeout: SimDuration::from_secs(60),
            user_timeout: None,
            keepalive: None,
            delayed_ack: Some(SimDuration::from_millis(40)),
            delay_fin_ack: true,
            reset_errors: ResetErrors::Rfc9293,
            receive_window: ReceiveWindow::Linux,
            rst_window_zero: false,
            ack_resends_fin: false,
            hold_syn_data: false,
            keep_syn_sent_text: false,
            timestamps: true,
            rfc5961: true,
            rfc5961_syn: true,
            rfc1337: false,
            ts_recent_needs_acceptable_ack: true,
            time_wait_rules: TimeWaitRules::Linux,
            invalid_ack_interval: Some(SimDuration::from_millis(500)),
            isn: IsnGenerator::Rfc6528,
            mss: 1460,
            recv_buffer: 131_072,
            syn_window: None,
            window_scale: None,
            sack_permitted: false,
            quick_acks: 0,
            keepalive_reset: true,
            abort_on_orphan_data: true,
            two_way_handshake: false,
        }
    }
}

impl TcpConfig {
    /// The window a SYN or SYN-ACK offers when `free` bytes of the receive buffer are free.
    pub fn syn_window_for(&self, free: u32) -> u32 {
        self.syn_window.map_or(free, |first| first.min(free))
    }

    /// TIME-WAIT's length.
    pub fn time_wait_length(&self) -> SimDuration {
        match self.time_wait {
            TimeWaitLength::TwiceMsl => self.msl.saturating_mul(2),
            TimeWaitLength::Fixed(length) => length,
        }
    }

    /// Checks every field; the error names the first bad one and its accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.rto_min.as_nanos() == 0 {
            return Err(invalid("rto_min", "must be > 0"));
        }
        if self.rto_max < self.rto_min {
            return Err(invalid(
                "rto_max",
                format!(
                    "must be at least rto_min ({}), got {}",
                    self.rto_min, self.rto_max
                ),
            ));
        }
        if self.rto_initial < self.rto_min || self.rto_initial > self.rto_max {
            return Err(invalid(
                "rto_initial",
                format!(
                    "must be within [rto_min, rto_max] = [{}, {}], got {}",
                    self.rto_min, self.rto_max, self.rto_initial
                ),
            ));
        }
        for (field, backoff) in [
            ("syn_backoff", &self.syn_backoff),
            ("synack_backoff", &self.synack_backoff),
        ] {
            if let Backoff::Table(table) = backoff
                && (table.is_empty() || table.iter().any(|w| w.as_nanos() == 0))
            {
                return Err(invalid(field, "a table needs at least one wait, each > 0"));
            }
        }
        if let Some(k) = self.keepalive {
            if k.interval.as_nanos() == 0 || k.idle.as_nanos() == 0 {
                return Err(invalid("keepalive", "idle and interval must be > 0"));
            }
            if k.probes == 0 || k.probes > 255 {
                return Err(invalid(
                    "keepalive.probes",
                    format!("must be in [1, 255], got {}", k.probes),
                ));
            }
        }
        if let Some(delay) = self
            .delayed_ack
            .filter(|d| d.as_nanos() == 0 || *d >= MAX_ACK_DELAY)
        {
            return Err(invalid(
                "delayed_ack",
                format!(
                    "must be above 0 and below {MAX_ACK_DELAY} (RFC 9293 3.8.6.3), got {delay}"
                ),
            ));
        }
        if self.mss < 64 {
            return Err(invalid(
                "mss",
                format!("must be at least 64 bytes, got {}", self.mss),
            ));
        }
        if let Some(scale) = self.window_scale.filter(|&s| s > 14) {
            return Err(invalid(
                "window_scale",
                format!("must be in [0, 14] (RFC 7323), got {scale}"),
            ));
        }
        if self.recv_buffer < u32::from(self.mss) {
            return Err(invalid(
                "recv_buffer",
                format!(
                    "must hold at least one MSS ({} bytes), got {}",
                    self.mss, self.recv_buffer
                ),
            ));
        }
        for (field, retries) in [
            ("syn_retries", self.syn_retries),
            ("synack_retries", self.synack_retries),
            ("data_retries", self.data_retries),
            ("orphan_retries", self.orphan_retries.unwrap_or(0)),
        ] {
            if retries > 255 {
                return Err(invalid(
                    field,
                    format!("must be in [0, 255], got {retries}"),
                ));
            }
        }
        if let Some(wheel) = self
            .timer_wheel
            .filter(|w| !JiffyWheel::ACCEPTED_HZ.contains(&w.hz))
        {
            return Err(invalid(
                "timer_wheel_hz",
                format!(
                    "must be 100, 250, 300 or 1000 (CONFIG_HZ; 0 in a scenario: none), got {}",
                    wheel.hz
                ),
            ));
        }
        if let IsnGenerator::Counter { step: 0, .. } = self.isn {
            return Err(invalid("isn.step", "must be at least 1"));
        }
        Ok(())
    }
}
