//! The OS profiles: named values of the whole host configuration, each number from
//! `crates/tcp/REFERENCE.md` (or a measurement cited beside it), with what the reference
//! says each system does and which settings keep Linux's value for want of a source.
//!
//! One enum, [`Profile`], is the list: every table here is a `match` without a fallback
//! arm, so a new profile that is missed anywhere fails to compile. Adding one touches this
//! file and REFERENCE.md.

use super::config::{HostConfig, SynCookies, TwReuse};
use super::listener_rules::ListenerRules;
use crate::{
    Backoff, JiffyWheel, ReceiveWindow, ResetErrors, TcpConfig, TimeWaitLength, TimeWaitRules,
};
use std::fmt;
use std::str::FromStr;
use synack_kernel::SimDuration;

/// Declares the profiles once: the enum, [`Profile::ALL`] and [`Profile::name`] come from
/// the one list, so a profile cannot be left out of any of them.
macro_rules! profiles {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)+) => {
        /// A named OS profile.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Profile {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Profile {
            /// Every profile, in the order `synack profiles` prints them.
            pub const ALL: [Profile; [$($name),+].len()] = [$(Profile::$variant),+];

            /// The name scenarios, drill's `--profile` and the CSVs use.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Profile::$variant => $name,)+
                }
            }
        }
    };
}

profiles! {
    /// Linux 6.x as measured here (6.18): linear-then-doubling SYN retries.
    Linux = "linux",
    /// Linux before `tcp_syn_linear_timeouts`: doubling SYN retries, `somaxconn` 128.
    LinuxClassic = "linux-classic",
    /// FreeBSD, from its source.
    FreeBsd = "freebsd",
    /// macOS (xnu), from its source.
    MacOs = "macos",
    /// Windows, from Microsoft's documentation.
    Windows = "windows",
    /// RFC 9293 as written, where it gives a number or a rule.
    Rfc9293 = "rfc9293",
}

/// Whose sysctl names a profile's knobs go by in a drill script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysctlDialect {
    /// `net.ipv4.tcp_*` and `net.core.*`.
    Linux,
    /// `net.inet.tcp.*` and `kern.ipc.*`.
    FreeBsd,
}

/// A setting that a profile can keep from Linux for want of a source; `synack profiles`
/// maps each to its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// SYN-ACK retries, hence the SYN-ACK schedule and the half-open lifetime.
    SynAckRetries,
    /// The FIN-WAIT-2 timeout.
    FinWait2Timeout,
    /// Keepalive idle, interval and probes.
    Keepalive,
    /// Initial, minimum and maximum RTO.
    Rto,
    /// The delayed-ACK timeout.
    DelayedAck,
    /// Whether a FIN's ACK is delayed.
    FinAck,
    /// What happens to data on a SYN.
    SynData,
    /// The ephemeral port range.
    EphemeralPorts,
    /// The accept queue cap.
    Somaxconn,
    /// The SYN queue cap.
    MaxSynBacklog,
    /// SYN cookies.
    SynCookies,
    /// TIME-WAIT reuse.
    TwReuse,
    /// The TIME-WAIT table's cap.
    MaxTimeWait,
    /// RFC 5961's challenge ACKs.
    Rfc5961,
    /// RFC 1337's TIME-WAIT protection.
    Rfc1337,
    /// The timestamps option.
    Timestamps,
}

/// What `crates/tcp/REFERENCE.md` says a system does; `None` where it does not say (the
/// profile then keeps Linux's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceTimes {
    /// A connect into a black hole fails after this long.
    pub connect_gives_up: Option<SimDuration>,
    /// A half-open request whose client vanished is dropped after this long.
    pub synack_gives_up: Option<SimDuration>,
    /// TIME-WAIT's length.
    pub time_wait: Option<SimDuration>,
    /// The FIN-WAIT-2 timeout.
    pub fin_wait_2: Option<SimDuration>,
    /// Keepalive's detection time (idle + probes x interval).
    pub keepalive_detection: Option<SimDuration>,
}

/// A profile name that is not one of [`Profile::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {given:?}: expected one of {}", Profile::names().join(", "))]
pub struct UnknownProfile {
    /// The name given.
    pub given: String,
}

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

fn linux() -> HostConfig {
    HostConfig {
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
            timer_wheel: Some(JiffyWheel { hz: 250 }),
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
        drop_syn_fin: false,
    }
}

impl Profile {
    /// Every name, in [`Profile::ALL`]'s order.
    pub fn names() -> [&'static str; Profile::ALL.len()] {
        Profile::ALL.map(Profile::name)
    }

    /// The profile's whole host configuration. Values the reference does not give keep
    /// Linux's, so profiles differ only where the sources say they do.
    pub fn config(self) -> HostConfig {
        let linux = linux();
        match self {
            Profile::Linux => linux,
            Profile::LinuxClassic => HostConfig {
                // tcp_syn_linear_timeouts = 0: SYNs at 0, 1, 3, 7, 15, 31, 63 s; ETIMEDOUT at 127 s.
                tcp: TcpConfig {
                    syn_backoff: Backoff::Doubling,
                    ..linux.tcp.clone()
                },
                // somaxconn was 128 before 5.4.
                somaxconn: 128,
                ..linux
            },
            Profile::FreeBsd => HostConfig {
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
                    // tcp_input.c; the FreeBSD suite reads them (ResetErrors::FreeBsd).
                    reset_errors: ResetErrors::FreeBsd,
                    // tcp_orphan_retries is Linux's own: R2 for every connection.
                    orphan_retries: None,
                    // How late its timers run is not measured: they run on time.
                    timer_wheel: None,
                    // tcp_usrreq.c: recvspace 64 KiB; the SYN offers what 16 bits hold, and the
                    // scale that covers kern.ipc.maxsockbuf (2 MiB): 6. The FreeBSD suite's
                    // SYNs: `win 65535 <mss 1460,nop,wscale 6,sackOK,TS val ... ecr 0>`.
                    recv_buffer: 65_536,
                    syn_window: Some(65_535),
                    window_scale: Some(6),
                    receive_window: ReceiveWindow::FreeBsd,
                    // FreeBSD's tcp_twcheck, tcp_output: see each rule's doc. TIME-WAIT
                    // ignores every RST (RFC 1337's F1: the suite's rcv-rst-time-wait).
                    time_wait_rules: TimeWaitRules::FreeBsd,
                    rfc1337: true,
                    // tcp_input.c records TS.Recent before it looks at the ACK.
                    ts_recent_needs_acceptable_ack: false,
                    rst_window_zero: true,
                    ack_resends_fin: true,
                    // Text on the peer's SYN in SYN-SENT is kept (the FreeBSD suite's
                    // rcv-syn-with-data-syn-sent: `read = 3` after the handshake); the
                    // syncache drops a SYN's text to a listener (rcv-syn-with-data-listen).
                    keep_syn_sent_text: true,
                    ..linux.tcp.clone()
                },
                // The reference sheet (FreeBSD's documentation, not measured): 10000-65535.
                ephemeral_ports: (10000, 65535),
                // The textbook's queues; a SYN-ACK to a listener is dropped.
                listener_rules: ListenerRules::FreeBsd,
                ..linux.clone()
            },
            Profile::MacOs => HostConfig {
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
            Profile::Windows => HostConfig {
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
            Profile::Rfc9293 => HostConfig {
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
                    // RFC 7323 4.3: TS.Recent follows the segment's sequence number alone.
                    ts_recent_needs_acceptable_ack: false,
                    ..linux.tcp.clone()
                },
                // RFC 9293 sets no queue rules: the textbook's.
                listener_rules: ListenerRules::Textbook,
                ..linux.clone()
            },
        }
    }

    /// Whose sysctl names the profile's knobs go by. Windows has no sysctls and RFC 9293
    /// names no knobs: both take Linux's names for the model's knobs.
    pub const fn sysctl_dialect(self) -> SysctlDialect {
        match self {
            Profile::FreeBsd | Profile::MacOs => SysctlDialect::FreeBsd,
            Profile::Linux | Profile::LinuxClassic | Profile::Windows | Profile::Rfc9293 => {
                SysctlDialect::Linux
            }
        }
    }

    /// What the profile's behaviour was checked against, for `synack profiles`: `kernel`
    /// (Linux 6.18 on this project's machine: the packetdrill corpus and the kernel
    /// harnesses), `kernel+sheet` (that, and the reference sheet where it differs),
    /// `freebsd-suite` (FreeBSD's own state-event suite, `crates/cli/tests/conformance/
    /// freebsd.sh`, and the reference sheet for its timers), `sheet` (`REFERENCE.md`
    /// only) or `rfc` (RFC 9293's text).
    pub const fn checked_against(self) -> &'static str {
        match self {
            Profile::Linux => "kernel",
            Profile::LinuxClassic => "kernel+sheet",
            Profile::FreeBsd => "freebsd-suite",
            Profile::MacOs | Profile::Windows => "sheet",
            Profile::Rfc9293 => "rfc",
        }
    }

    /// [`Profile::checked_against`] in words.
    pub const fn checked_against_in_words(self) -> &'static str {
        match self {
            Profile::Linux => {
                "Linux 6.18 on this project's machine (packetdrill corpus, kernel harnesses)"
            }
            Profile::LinuxClassic => {
                "as linux, and the reference sheet for its two differences (doubling SYN retries, somaxconn 128)"
            }
            Profile::FreeBsd => {
                "FreeBSD's own state-event suite (freebsd-net/tcp-testsuite), and the reference sheet for its timers"
            }
            Profile::MacOs | Profile::Windows => {
                "the reference sheet only (crates/tcp/REFERENCE.md); `synack profiles` marks each value kept from Linux"
            }
            Profile::Rfc9293 => "RFC 9293's text",
        }
    }

    /// The system's name as `uname -s` prints it, which NPLab's packetdrill (the FreeBSD
    /// suite's) names its builds by and scripts test with `#ifdef`; `None` for RFC 9293.
    pub const fn uname(self) -> Option<&'static str> {
        match self {
            Profile::Linux | Profile::LinuxClassic => Some("Linux"),
            Profile::FreeBsd => Some("FreeBSD"),
            Profile::MacOs => Some("Darwin"),
            Profile::Windows => Some("Windows_NT"),
            Profile::Rfc9293 => None,
        }
    }

    /// What `crates/tcp/REFERENCE.md` gives for the timings that set systems apart.
    pub fn reference(self) -> ReferenceTimes {
        let at = |s: u64| Some(secs(s));
        let linux = ReferenceTimes {
            connect_gives_up: at(131),
            synack_gives_up: at(63),
            time_wait: at(60),
            fin_wait_2: at(60),
            keepalive_detection: at(7875),
        };
        let unknown = ReferenceTimes {
            connect_gives_up: None,
            synack_gives_up: None,
            time_wait: None,
            fin_wait_2: None,
            keepalive_detection: None,
        };
        match self {
            Profile::Linux => linux,
            Profile::LinuxClassic => ReferenceTimes {
                connect_gives_up: at(127),
                ..linux
            },
            Profile::FreeBsd => ReferenceTimes {
                connect_gives_up: at(75),
                time_wait: at(60),
                ..unknown
            },
            Profile::MacOs => ReferenceTimes {
                connect_gives_up: at(75),
                time_wait: at(30),
                fin_wait_2: at(60),
                ..unknown
            },
            Profile::Windows => ReferenceTimes {
                connect_gives_up: at(21),
                time_wait: at(240),
                ..unknown
            },
            // RFC 9293 asks for "at least 3 minutes" of SYN retries; the profile's 180 s is
            // that minimum.
            Profile::Rfc9293 => ReferenceTimes {
                connect_gives_up: at(180),
                time_wait: at(240),
                ..unknown
            },
        }
    }

    /// The settings that keep Linux's value for want of a source for that system. Empty
    /// for Linux's own profiles.
    pub fn inherited_from_linux(self) -> Vec<Setting> {
        use Setting::*;
        // Every other profile sources its TIME-WAIT, MSL and SYN schedule, and none these.
        const HOST_WIDE: [Setting; 8] = [
            Somaxconn,
            MaxSynBacklog,
            SynCookies,
            TwReuse,
            MaxTimeWait,
            Rfc5961,
            Rfc1337,
            Timestamps,
        ];
        let own: &[Setting] = match self {
            Profile::Linux | Profile::LinuxClassic => return Vec::new(),
            // Its suite sources RFC 5961, RFC 1337's ignoring of RSTs in TIME-WAIT, the
            // timestamps default and what a SYN's text does.
            Profile::FreeBsd => {
                return [FinWait2Timeout, Keepalive, Rto, DelayedAck]
                    .into_iter()
                    .chain(HOST_WIDE)
                    .filter(|s| !matches!(s, Rfc5961 | Rfc1337 | Timestamps))
                    .collect();
            }
            Profile::MacOs => &[SynAckRetries, Keepalive, Rto, DelayedAck, SynData],
            Profile::Windows => &[
                SynAckRetries,
                FinWait2Timeout,
                Keepalive,
                Rto,
                DelayedAck,
                FinAck,
                SynData,
            ],
            // RFC 9293 sets no port range, queue sizes, FIN-WAIT-2 timeout or SYN-ACK count.
            Profile::Rfc9293 => &[SynAckRetries, FinWait2Timeout, EphemeralPorts],
        };
        own.iter().chain(&HOST_WIDE).copied().collect()
    }
}

/// The linux profile's configuration.
impl Default for HostConfig {
    fn default() -> Self {
        Profile::Linux.config()
    }
}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownProfile {
                given: name.to_string(),
            })
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_parses_from_its_own_name_and_validates() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>(), Ok(p));
            assert_eq!(p.config().validate(), Ok(()), "{p}");
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list() {
        let err = "solaris".parse::<Profile>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown profile \"solaris\": expected one of linux, linux-classic, freebsd, macos, windows, rfc9293"
        );
    }
}
