//! The host's knobs, and their checks. The OS profiles, named values of the whole
//! configuration, are in `profile.rs`.

use super::listener_rules::ListenerRules;
use super::ratelimit::SynRateLimit;
use crate::{ConfigError, Keepalive, TcpConfig};
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
    /// Drop every segment with both SYN and FIN, whatever it reaches (FreeBSD's
    /// `net.inet.tcp.drop_synfin`, tcp_input.c). Default off, as Linux (no such rule).
    pub drop_syn_fin: bool,
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

/// Keepalive's detection time: idle + probes x interval (Linux: 7875 s).
pub fn keepalive_detection(k: &Keepalive) -> SimDuration {
    k.idle
        .saturating_add(k.interval.saturating_mul(u64::from(k.probes)))
}
