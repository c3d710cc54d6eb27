//! What a script can need that the model does not have. A script that reaches a line
//! needing one of these ends there, with `not modelled: <feature>` and the reason, instead
//! of a pass or a failure: the model is a connection-management model, and these are the
//! parts of Linux's TCP outside it. Each trigger is the script's own text (a call, an
//! option, a flag, a `tcpi_*` field) or, for congestion control and loss recovery, the point
//! where Linux's sending depends on them; never a segment that merely differs.

use std::fmt;

/// A part of a real TCP stack that the model leaves out; `crates/cli/README.md`'s
/// not-modelled list names each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Feature {
    /// cwnd, slow start, fast retransmit, and the `tcpi_*` fields that report them.
    CongestionControl,
    /// SACK blocks and the loss recovery built on them (RACK, tail-loss probes).
    SackRecovery,
    /// ECN: the SYN's ECE and CWR, the IP codepoints.
    Ecn,
    /// MSG_ZEROCOPY completions (`SO_EE_ORIGIN_ZEROCOPY` on the error queue).
    ZeroCopy,
    /// SO_TIMESTAMPING.
    KernelTimestamping,
    /// TCP-MD5 signatures (RFC 2385).
    Md5,
    /// splice(2), sendfile(2) and the pipes and files they need.
    SpliceSendfile,
    /// Pacing (the fq qdisc, SO_MAX_PACING_RATE).
    Pacing,
    /// TCP Fast Open with cookies (RFC 7413).
    FastOpen,
    /// Nagle's algorithm and corking (TCP_NODELAY off, TCP_CORK, MSG_MORE).
    NagleCorking,
    /// epoll(7) and poll(2).
    Epoll,
    /// TCP_NOTSENT_LOWAT.
    NotsentLowat,
    /// MSG_EOR's record boundaries.
    MsgEor,
    /// Urgent data (the URG flag, MSG_OOB).
    UrgentData,
    /// ICMP and path MTU discovery.
    IcmpPathMtu,
    /// The packets Linux's TSO engine cuts a write into, seen one segment at a time (a
    /// script that turns GSO and TSO off with `ethtool`). Linux 6.18 here puts PSH on the
    /// last segment of each such packet (every second segment of a long write at MSS 536 to
    /// 1460, measured with packetdrill); the model sends a write's segments with PSH on the
    /// last only.
    TsoPackets,
}

impl Feature {
    /// The name printed after `not modelled:`.
    pub fn name(self) -> &'static str {
        match self {
            Feature::CongestionControl => "congestion control",
            Feature::SackRecovery => "SACK recovery",
            Feature::Ecn => "ECN",
            Feature::ZeroCopy => "zero-copy",
            Feature::KernelTimestamping => "kernel timestamping",
            Feature::Md5 => "MD5",
            Feature::SpliceSendfile => "splice and sendfile",
            Feature::Pacing => "pacing",
            Feature::FastOpen => "Fast Open",
            Feature::NagleCorking => "Nagle and corking",
            Feature::Epoll => "epoll and poll",
            Feature::NotsentLowat => "TCP_NOTSENT_LOWAT",
            Feature::MsgEor => "MSG_EOR",
            Feature::UrgentData => "urgent data",
            Feature::IcmpPathMtu => "ICMP and path MTU",
            Feature::TsoPackets => "TSO packet boundaries",
        }
    }

    /// The feature a system call needs, by its name, if the model has no such call.
    pub fn of_call(name: &str) -> Option<Feature> {
        Some(match name {
            "epoll_create" | "epoll_create1" | "epoll_ctl" | "epoll_wait" | "poll" => {
                Feature::Epoll
            }
            "splice" | "sendfile" | "pipe" | "open" => Feature::SpliceSendfile,
            _ => return None,
        })
    }

    /// The feature a socket option needs, if the model leaves it out.
    pub fn of_sockopt(name: &str) -> Option<Feature> {
        Some(match name {
            "TCP_CONGESTION" => Feature::CongestionControl,
            "TCP_CORK" => Feature::NagleCorking,
            "SO_TIMESTAMPING" => Feature::KernelTimestamping,
            "TCP_MD5SIG" | "TCP_MD5SIG_EXT" => Feature::Md5,
            "SO_MAX_PACING_RATE" => Feature::Pacing,
            "TCP_NOTSENT_LOWAT" => Feature::NotsentLowat,
            "TCP_FASTOPEN"
            | "TCP_FASTOPEN_CONNECT"
            | "TCP_FASTOPEN_KEY"
            | "TCP_FASTOPEN_NO_COOKIE" => Feature::FastOpen,
            "IP_MTU_DISCOVER" => Feature::IcmpPathMtu,
            _ => return None,
        })
    }

    /// The feature a send or receive flag needs, if the model leaves it out.
    pub fn of_msg_flag(flag: &str) -> Option<Feature> {
        Some(match flag {
            "MSG_MORE" => Feature::NagleCorking,
            "MSG_EOR" => Feature::MsgEor,
            "MSG_OOB" => Feature::UrgentData,
            "MSG_ERRQUEUE" => Feature::ZeroCopy,
            _ => return None,
        })
    }

    /// The feature a `tcpi_*` field reports on, if the model leaves it out.
    pub fn of_tcp_info(field: &str) -> Option<Feature> {
        Some(match field {
            "tcpi_snd_cwnd"
            | "tcpi_snd_ssthresh"
            | "tcpi_ca_state"
            | "tcpi_lost"
            | "tcpi_delivered"
            | "tcpi_delivered_ce"
            | "tcpi_retrans"
            | "tcpi_total_retrans"
            | "tcpi_reordering"
            | "tcpi_reord_seen"
            | "tcpi_unacked"
            | "tcpi_sndbuf_limited"
            | "tcpi_delivery_rate" => Feature::CongestionControl,
            "tcpi_sacked" | "tcpi_dsack_dups" => Feature::SackRecovery,
            "tcpi_pacing_rate" | "tcpi_max_pacing_rate" => Feature::Pacing,
            _ => return None,
        })
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
