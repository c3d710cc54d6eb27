//! The host's knobs, and the OS profiles: named values of the whole configuration, each
//! number from `crates/tcp/REFERENCE.md` with its source.

use super::listener_rules::ListenerRules;
use super::ratelimit::SynRateLimit;
use crate::{
    Backoff, ConfigError, Keepalive, ResetErrors, TcpConfig, TimeWaitLength, TimeWaitRules,
    TimerWheel,
};
use synack_kernel::SimDuration;

/// When the listener answers with SYN cookies (`tcp_syncookies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynCookies {
    /// Never: a SYN that finds the SYN queue full is dropped.
    Off,
    /// Only when the SYN queue is full (Linux's 1, the default).
    WhenFull,
    /// For every SYN (Linux's 2).
    Always,
}

/// Reuse of a TIME-WAIT 4-tuple for an outgoing connection (`tcp_tw_reuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwReuse {
    /// Never.
    Off,
    /// When timestamps are on and the entry's last timestamp is over 1 s old (Linux's 1).
    On,
    /// Loopback only (Linux's 2, the default). Simulated hosts have no loopback traffic,
    /// so this acts as `Off`.
    LoopbackOnly,
}

/// Everything a host's TCP layer needs: the endpoint knobs plus the host-wide ones.
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    /// Every endpoint's configuration.
    pub tcp: TcpConfig,
    /// Ephemeral ports for connect, inclusive. Linux: 32768-60999 (`ip_local_port_range`).
    pub ephemeral_ports: (u16, u16),
    /// Cap on a listener's SYN queue. Linux: max(128, ehash buckets / 128); 512 for 65,536
    /// buckets (`tcp_max_syn_backlog`).
    pub max_syn_backlog: u32,
    /// Cap on a listener's accept queue. Linux 5.4+: 4096 (`somaxconn`; 128 before).
    pub somaxconn: u32,
    /// SYN cookies. Linux: when the SYN queue is full.
    pub syncookies: SynCookies,
    /// When the final ACK finds the accept queue full: RST instead of dropping the ACK.
    /// Linux: off (`tcp_abort_on_overflow`).
    pub abort_on_overflow: bool,
    /// TIME-WAIT reuse for outgoing connections. Linux: loopback only.
    pub tw_reuse: TwReuse,
    /// Most TIME-WAIT entries at once; past it, closing sockets skip TIME-WAIT. Linux:
    /// ehash buckets / 2; 32,768 for 65,536 buckets (`tcp_max_tw_buckets`).
    pub max_time_wait: u32,
    /// Most open connections (application sockets) at once, like a file-descriptor limit;
    /// `None` is no limit (the default).
    pub max_open: Option<u32>,
    /// A per-source SYN rate filter in front of the listeners (a firewall rule, not TCP);
    /// `None`, the default, admits every SYN.
    pub syn_rate_limit: Option<SynRateLimit>,
    /// How listeners size their queues and prune requests under load. Linux: its own,
    /// measured (`ListenerRules::Linux`); other systems: the textbook's, for want of a
    /// measurement.
    pub listener_rules: ListenerRules,
}

impl Default for HostConfig {
    fn default() -> Self {
        profile("linux").expect("the linux profile exists")
    }
}

impl HostConfig {
    /// Checks every field; the error names the first bad one and its accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.tcp.validate()?;
        let (low, high) = self.ephemeral_ports;
        if low == 0 || high < low {
            return Err(ConfigError {
                field: "ephemeral_ports",
                message: format!(
                    "must be a range low-high with 1 <= low <= high, got {low}-{high}"
                ),
            });
        }
        if self.max_syn_backlog == 0 {
            return Err(ConfigError {
                field: "max_syn_backlog",
                message: "must be at least 1".into(),
            });
        }
        if self.somaxconn == 0 {
            return Err(ConfigError {
                field: "somaxconn",
                message: "must be at least 1".into(),
            });
        }
        if self.tw_reuse == TwReuse::On && self.tcp.time_wait_length() == SimDuration::ZERO {
            return Err(ConfigError {
                field: "tw_reuse",
                message: "reusing TIME-WAIT tuples needs a TIME-WAIT: time_wait is 0 (set tw_reuse off, or an MSL > 0)".into(),
            });
        }
        if self.max_open == Some(0) {
            return Err(ConfigError {
                field: "max_open",
                message: "must be at least 1, or unset".into(),
            });
        }
        if let Some(limit) = self.syn_rate_limit
            && (!(limit.per_second.is_finite() && limit.per_second > 0.0) || limit.burst == 0)
        {
            return Err(ConfigError {
                field: "syn_rate_limit",
                message: format!(
                    "needs per_second > 0 and burst >= 1, got {} per second, burst {}",
                    limit.per_second, limit.burst
                ),
            });
        }
        Ok(())
    }
}

/// The names [`profile`] knows, in the order `synack profiles` prints them.
pub const PROFILES: [&str; 6] = [
    "linux",
    "linux-classic",
    "freebsd",
    "macos",
    "windows",
    "rfc9293",
];

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// The BSD SYN backoff table (xnu bsd/netinet/tcp_timer.c `tcp_syn_backoff`; FreeBSD's
/// tcp_timer.c has the same).
fn bsd_syn_backoff() -> Backoff {
    Backoff::Table(
        [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64]
            .map(secs)
            .to_vec(),
    )
}

/// A named OS profile, or `None` for an unknown name. Values the reference does not give
/// keep Linux's, so profiles differ only where the sources say they do.
pub fn profile(name: &str) -> Option<HostConfig> {
    let linux = HostConfig {
        tcp: TcpConfig {
            // include/net/tcp.h: TCP_TIMEWAIT_LEN, fixed whatever the MSL.
            time_wait: TimeWaitLength::Fixed(secs(60)),
            // Measured on Linux 6.18 with packetdrill (crates/cli/tests/drill/linux): a SYN
            // and a SYN-ACK carry `win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 10>`; the
            // first 16 data segments are ACKed at once (TCP_MAX_QUICKACKS).
            syn_window: Some(64_240),
            window_scale: Some(10),
            sack_permitted: true,
            quick_acks: 16,
            rto_min_on_variance: true,
            // CONFIG_HZ=250 on the Linux 6.18 measured here; the handshake's timers run late
            // as its timer wheel makes them (crates/tcp/tests/kernel/half_open_lifetime.py).
            timer_wheel: Some(TimerWheel { hz: 250 }),
            reset_errors: ResetErrors::Linux,
            // tcp_orphan_retries 0, which tcp_orphan_retries() reads as 8.
            orphan_retries: Some(8),
            ..TcpConfig::default()
        },
        ephemeral_ports: (32768, 60999),
        max_syn_backlog: 512,
        somaxconn: 4096,
        syncookies: SynCookies::WhenFull,
        abort_on_overflow: false,
        tw_reuse: TwReuse::LoopbackOnly,
        max_time_wait: 32_768,
        max_open: None,
        syn_rate_limit: None,
        listener_rules: ListenerRules::Linux,
    };
    Some(match name {
        "linux" => linux,
        "linux-classic" => HostConfig {
            // tcp_syn_linear_timeouts = 0: SYNs at 0, 1, 3, 7, 15, 31, 63 s; ETIMEDOUT at 127 s.
            tcp: TcpConfig {
                syn_backoff: Backoff::Doubling,
                ..linux.tcp.clone()
            },
            // somaxconn was 128 before 5.4.
            somaxconn: 128,
            ..linux
        },
        "freebsd" => HostConfig {
            tcp: TcpConfig {
                // sys/netinet/tcp_timer.h: MSL 30 s, TIME-WAIT 2 MSL; keepinit 75 s;
                // max RTO 64 s; tcp_syncache.c: the SYN-ACK is retransmitted 3 times.
                msl: secs(30),
                time_wait: TimeWaitLength::TwiceMsl,
                connect_timeout: Some(secs(75)),
                rto_max: secs(64),
                synack_retries: 3,
                syn_backoff: bsd_syn_backoff(),
                syn_retries: 12,
                // tcp_input.c: a FIN is ACKed at once (TF_ACKNOW).
                delay_fin_ack: false,
                // Not measured: RFC 9293's errors until FreeBSD's own suite is run.
                reset_errors: ResetErrors::Rfc9293,
                // tcp_orphan_retries is Linux's own: R2 for every connection.
                orphan_retries: None,
                // How late its timers run is not measured: they run on time.
                timer_wheel: None,
                ..linux.tcp.clone()
            },
            // The reference sheet (FreeBSD's documentation, not measured): 10000-65535.
            ephemeral_ports: (10000, 65535),
            // FreeBSD's syncache has rules of its own, not measured here.
            listener_rules: ListenerRules::Textbook,
            ..linux.clone()
        },
        "macos" => HostConfig {
            tcp: TcpConfig {
                // xnu bsd/netinet/tcp_timer.h: MSL 15 s (TIME-WAIT 30 s); the SYN backoff
                // table; FIN-WAIT-2 60 s; connect gives up at 75 s.
                msl: secs(15),
                time_wait: TimeWaitLength::TwiceMsl,
                syn_backoff: bsd_syn_backoff(),
                syn_retries: 12,
                fin_wait_2_timeout: secs(60),
                connect_timeout: Some(secs(75)),
                // bsd/netinet/tcp_input.c, as 4.4BSD: a FIN is ACKed at once (TF_ACKNOW).
                delay_fin_ack: false,
                // Not measured: RFC 9293's errors.
                reset_errors: ResetErrors::Rfc9293,
                // tcp_orphan_retries is Linux's own: R2 for every connection.
                orphan_retries: None,
                // How late its timers run is not measured: they run on time.
                timer_wheel: None,
                ..linux.tcp.clone()
            },
            // The reference sheet (Apple's documentation, not measured): 49152-65535.
            ephemeral_ports: (49152, 65535),
            // Not measured: the textbook's queues.
            listener_rules: ListenerRules::Textbook,
            ..linux.clone()
        },
        "windows" => HostConfig {
            tcp: TcpConfig {
                // TcpTimedWaitDelay 240 s (MSL 120 s); TcpMaxConnectRetransmissions 2,
                // initial RTO 3 s, doubling: SYNs at 0, 3, 9 s, failure at 21 s.
                msl: secs(120),
                time_wait: TimeWaitLength::TwiceMsl,
                rto_initial: secs(3),
                syn_backoff: Backoff::Doubling,
                syn_retries: 2,
                // How late its timers run is not measured: they run on time.
                timer_wheel: None,
                // Not measured: RFC 9293's errors.
                reset_errors: ResetErrors::Rfc9293,
                // tcp_orphan_retries is Linux's own: R2 for every connection.
                orphan_retries: None,
                ..linux.tcp.clone()
            },
            // The reference sheet (Microsoft's documentation, not measured): 49152-65535.
            ephemeral_ports: (49152, 65535),
            // Not measured: the textbook's queues.
            listener_rules: ListenerRules::Textbook,
            ..linux.clone()
        },
        "rfc9293" => HostConfig {
            tcp: TcpConfig {
                // RFC 9293 3.4.2: MSL 2 minutes, TIME-WAIT 2 MSL. 3.8.3: SYN retries for at
                // least 3 minutes (here: doubling from 1 s, give up at 180 s); data: R1 >= 3
                // retransmissions, R2 >= 100 s (6 retries doubling from the 1 s RFC 6298
                // floor: 127 s). RFC 6298: RTO floor 1 s, ceiling 60 s.
                msl: secs(120),
                time_wait: TimeWaitLength::TwiceMsl,
                rto_min: secs(1),
                rto_max: secs(60),
                rto_after_syn_retransmit: Some(secs(3)),
                syn_backoff: Backoff::Doubling,
                syn_retries: 8,
                connect_timeout: Some(secs(180)),
                data_retries: 6,
                delayed_ack: Some(SimDuration::from_millis(200)),
                keepalive: None,
                // RFC 9293 3.10.7.4 answers every unacceptable segment.
                invalid_ack_interval: None,
                // RFC 6298 2.4: the floor bounds the whole RTO.
                rto_min_on_variance: false,
                // RFC 1122 4.2.3.6 says nothing of a RST when keepalive gives up.
                keepalive_reset: false,
                // RFC 9293 3.10.7.4: FIN-WAIT-1 and -2 process segment text.
                abort_on_orphan_data: false,
                // RFC 9293 3.10.7.4's arrival steps in TIME-WAIT.
                time_wait_rules: TimeWaitRules::Rfc9293,
                // RFC 9293's timers run on time.
                timer_wheel: None,
                // RFC 9293 3.10.7.4: "send an acknowledgment for the FIN".
                delay_fin_ack: false,
                reset_errors: ResetErrors::Rfc9293,
                // tcp_orphan_retries is Linux's own: R2 for every connection.
                orphan_retries: None,
                // RFC 9293 3.10.7.2: text on a SYN is queued until established.
                hold_syn_data: true,
                ..linux.tcp.clone()
            },
            // RFC 9293 sets no queue rules: the textbook's.
            listener_rules: ListenerRules::Textbook,
            ..linux.clone()
        },
        _ => return None,
    })
}

/// The settings of profile `name` that keep Linux's value for want of a source for that
/// system, by the names `synack profiles` prints (a row derived from one, such as a retry
/// schedule, is listed too). Empty for Linux's own profiles and unknown names.
pub fn inherited_from_linux(name: &str) -> Vec<&'static str> {
    // Every other profile sources its TIME-WAIT, MSL and SYN schedule, and none these.
    const HOST_WIDE: [&str; 8] = [
        "somaxconn",
        "max_syn_backlog",
        "syncookies",
        "tw_reuse",
        "max_time_wait",
        "rfc5961",
        "rfc1337",
        "timestamps",
    ];
    const SYN_ACK: [&str; 2] = ["synack_sent_at_s", "half_open_dropped_s"];
    let own: &[&str] = match name {
        "freebsd" => &[
            "fin_wait_2_s",
            "keepalive_detect_s",
            "rto_init_min_max_s",
            "delayed_ack_s",
            "syn_data",
        ],
        "macos" => &[
            SYN_ACK[0],
            SYN_ACK[1],
            "keepalive_detect_s",
            "rto_init_min_max_s",
            "delayed_ack_s",
            "syn_data",
        ],
        "windows" => &[
            SYN_ACK[0],
            SYN_ACK[1],
            "fin_wait_2_s",
            "keepalive_detect_s",
            "rto_init_min_max_s",
            "delayed_ack_s",
            "fin_ack",
            "syn_data",
        ],
        // RFC 9293 sets no port range, queue sizes, FIN-WAIT-2 timeout or SYN-ACK count.
        "rfc9293" => &[SYN_ACK[0], SYN_ACK[1], "fin_wait_2_s", "ports"],
        _ => return Vec::new(),
    };
    own.iter().chain(&HOST_WIDE).copied().collect()
}

/// Keepalive's detection time: idle + probes x interval (Linux: 7875 s).
pub fn keepalive_detection(k: &Keepalive) -> SimDuration {
    k.idle
        .saturating_add(k.interval.saturating_mul(u64::from(k.probes)))
}
