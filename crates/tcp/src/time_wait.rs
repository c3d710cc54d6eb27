//! TIME-WAIT: what a segment does to a connection in TIME-WAIT. One decision
//! ([`TimeWait::on_segment`]), one reply ([`TimeWait::ack`]) and one length
//! ([`TimeWait::expiry`]), taken by the host's compact TIME-WAIT records (the path the
//! simulator takes) and by an endpoint that holds TIME-WAIT itself (when the host's table is
//! full, or in a test of one endpoint); `tests/time_wait.rs` checks that both send the same
//! whole segments, timestamps on.
//!
//! [`TimeWaitRules::Linux`] follows `tcp_timewait_state_process`, each rule measured on
//! Linux 6.18 with packetdrill (`crates/cli/tests/drill/linux/time_wait_*.pkt`,
//! `timewait_fin_reack.pkt`, `rst_timewait*.pkt`, `syn_in_timewait.pkt`):
//! - a RST at RCV.NXT ends TIME-WAIT (unless RFC 1337); any other RST is ignored, with no
//!   RFC 5961 challenge ACK;
//! - a bare ACK at RCV.NXT is not answered, but restarts the timer;
//! - a newer SYN without ACK (sequence above RCV.NXT, or a newer timestamp) reopens the
//!   4-tuple with ISN = old SND.NXT + 65537;
//! - anything else is answered with an ACK of RCV.NXT (at a limited rate, unless it carries
//!   data or a FIN), and restarts the timer if it carries an ACK: the peer's FIN again, a
//!   FIN above RCV.NXT, an old ACK, data.
//!
//! [`TimeWaitRules::FreeBsd`] follows FreeBSD's `tcp_twcheck`, as the READMEs and scripts
//! of FreeBSD's own suite (freebsd-net/tcp-testsuite, state-event-engine/rcv-*-time-wait)
//! state it:
//! - every RST is ignored, with ACK or without (RFC 1337's F1);
//! - a SYN without ACK above RCV.NXT reopens (as RFC 6191), one at or below is ignored;
//!   a SYN-ACK gets a challenge ACK;
//! - any other segment without ACK (a bare FIN) is dropped;
//! - an ACK is answered with an ACK, except a duplicate one (no data, no FIN, SEG.SEQ =
//!   RCV.NXT, SEG.ACK = SND.NXT); the peer's FIN again also restarts the 2 MSL.
//!
//! [`TimeWaitRules::Rfc9293`] takes RFC 9293's segment-arrival steps (3.10.7.4) in
//! TIME-WAIT: an unacceptable segment gets an ACK; a RST at RCV.NXT ends TIME-WAIT (unless
//! RFC 1337), one elsewhere in the window gets a challenge ACK (RFC 5961); the peer's FIN
//! again is ACKed and restarts the 2 MSL; anything else acceptable changes nothing. Both
//! rules reopen on a newer SYN (RFC 6191). Departure from RFC 5961: its "ACK older than the
//! send window" challenge is not applied here, as a TIME-WAIT record keeps no send window.

use crate::connection::invalid_ack_allowed;
use crate::{Flags, Segment, Seq, TcpConfig};
use synack_kernel::SimTime;

/// Which rules TIME-WAIT answers segments by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWaitRules {
    /// Linux's timewait sockets (the default).
    Linux,
    /// RFC 9293's segment-arrival steps.
    Rfc9293,
    /// FreeBSD's `tcp_twcheck`.
    FreeBsd,
}

/// What TIME-WAIT keeps of a connection to answer its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWait {
    /// Our SND.NXT at the end.
    pub snd_nxt: Seq,
    /// Our RCV.NXT at the end (past the peer's FIN).
    pub rcv_nxt: Seq,
    /// The peer's last timestamp, if timestamps were on.
    pub ts_recent: Option<u32>,
    /// The window the connection advertised as it entered TIME-WAIT, which its ACKs offer
    /// again (Linux's `tw_rcv_wnd`, `tcp_v4_timewait_ack`).
    pub rcv_wnd: u32,
    /// When an invalid segment was last answered, in simulated ms (0: never).
    pub last_invalid_ack_ms: u32,
}

/// What a segment does to TIME-WAIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing.
    Ignore,
    /// Answer with an ACK of RCV.NXT.
    Ack,
    /// Restart the timer, silently.
    Restart,
    /// Answer with an ACK and restart the timer.
    AckAndRestart,
    /// TIME-WAIT ends and the SYN opens a new incarnation with this ISN.
    Reopen(Seq),
    /// TIME-WAIT ends (a RST).
    Close,
}

impl TimeWait {
    /// RFC 6191 and Linux: a SYN may reopen the 4-tuple when its timestamp is newer, or
    /// without timestamps when its sequence number is above RCV.NXT.
    pub fn accepts_syn(&self, syn: &Segment) -> bool {
        match (self.ts_recent, syn.timestamps) {
            (Some(recent), Some(ts)) => (ts.val.wrapping_sub(recent) as i32) > 0,
            _ => syn.seq.gt(self.rcv_nxt),
        }
    }

    /// The ISN of a connection that takes over this 4-tuple: Linux's old SND.NXT + 65537,
    /// above anything the old incarnation sent (tcp_timewait_state_process; measured on
    /// Linux 6.18: crates/cli/tests/drill/linux/syn_in_timewait.pkt).
    pub fn successor_isn(&self) -> Seq {
        self.snd_nxt + 65537
    }

    /// The ACK TIME-WAIT answers with, from `local_port` to `remote_port` at `now`: SND.NXT,
    /// RCV.NXT, the window it entered with, and the timestamps option echoing TS.Recent
    /// where timestamps were on. Both holders of TIME-WAIT send this one segment.
    pub fn ack(&self, local_port: u16, remote_port: u16, now: SimTime) -> Segment {
        let mut ack = Segment::new(
            local_port,
            remote_port,
            self.snd_nxt,
            self.rcv_nxt,
            Flags::ACK,
        );
        ack.window = self.rcv_wnd;
        ack.timestamps = self.ts_recent.map(|ecr| crate::Timestamps {
            val: (now.as_nanos() / 1_000_000) as u32,
            ecr,
        });
        ack
    }

    /// When TIME-WAIT ends if it (re)starts at `now`: the profile's TIME-WAIT length later.
    /// Both holders, entering and restarting, take it from here.
    pub fn expiry(now: SimTime, config: &TcpConfig) -> SimTime {
        now.saturating_add(config.time_wait_length())
    }

    /// What `seg`, arriving at `now`, does. Records an answer to an invalid segment, for
    /// the rate limit.
    pub fn on_segment(&mut self, seg: &Segment, config: &TcpConfig, now: SimTime) -> Verdict {
        let rst = seg.has(Flags::RST);
        if seg.has(Flags::SYN) && !seg.has(Flags::ACK) && !rst && self.accepts_syn(seg) {
            return Verdict::Reopen(self.successor_isn());
        }
        match config.time_wait_rules {
            TimeWaitRules::Linux => self.linux(seg, config, now),
            TimeWaitRules::Rfc9293 => self.rfc9293(seg, config, now),
            TimeWaitRules::FreeBsd => self.freebsd(seg, config, now),
        }
    }

    fn freebsd(&mut self, seg: &Segment, config: &TcpConfig, now: SimTime) -> Verdict {
        let (syn, ack) = (seg.has(Flags::SYN), seg.has(Flags::ACK));
        if seg.has(Flags::RST) || !ack {
            return Verdict::Ignore;
        }
        if syn {
            return match self.may_answer(seg, config, now) {
                true => Verdict::Ack,
                false => Verdict::Ignore,
            };
        }
        if seg.has(Flags::FIN) && seg.seq + seg.seg_len() == self.rcv_nxt {
            return Verdict::AckAndRestart;
        }
        let duplicate = seg.flags == Flags::ACK
            && seg.len == 0
            && seg.seq == self.rcv_nxt
            && seg.ack == self.snd_nxt;
        if duplicate {
            Verdict::Ignore
        } else {
            Verdict::Ack
        }
    }

    fn linux(&mut self, seg: &Segment, config: &TcpConfig, now: SimTime) -> Verdict {
        let at_rcv_nxt = seg.seq == self.rcv_nxt;
        if seg.has(Flags::RST) {
            return if at_rcv_nxt && !config.rfc1337 {
                Verdict::Close
            } else {
                Verdict::Ignore
            };
        }
        if at_rcv_nxt && seg.seg_len() == 0 {
            return Verdict::Restart;
        }
        let restart = seg.has(Flags::ACK);
        match (self.may_answer(seg, config, now), restart) {
            (true, true) => Verdict::AckAndRestart,
            (true, false) => Verdict::Ack,
            (false, true) => Verdict::Restart,
            (false, false) => Verdict::Ignore,
        }
    }

    fn rfc9293(&mut self, seg: &Segment, config: &TcpConfig, now: SimTime) -> Verdict {
        let fin_again = seg.has(Flags::FIN)
            && !seg.has(Flags::RST)
            && !seg.has(Flags::SYN)
            && seg.seq + seg.seg_len() == self.rcv_nxt;
        if fin_again {
            return Verdict::AckAndRestart;
        }
        // The receive window is the whole buffer: TIME-WAIT has read everything.
        let window = config.recv_buffer;
        let (start, len) = (self.rcv_nxt, seg.seg_len());
        let acceptable = match len {
            0 => seg.seq.in_range(start, start + window),
            _ => {
                seg.seq.in_range(start, start + window)
                    || (seg.seq + (len - 1)).in_range(start, start + window)
            }
        };
        let rst = seg.has(Flags::RST);
        let challenge = if !acceptable {
            !rst
        } else if rst {
            if seg.seq == self.rcv_nxt || !config.rfc5961 {
                return if config.rfc1337 {
                    Verdict::Ignore
                } else {
                    Verdict::Close
                };
            }
            true
        } else {
            // A SYN in the window (RFC 5961 4.2), or an ACK of something never sent.
            (seg.has(Flags::SYN) && config.rfc5961_syn)
                || (seg.has(Flags::ACK) && seg.ack.gt(self.snd_nxt))
        };
        if challenge && self.may_answer(seg, config, now) {
            Verdict::Ack
        } else {
            Verdict::Ignore
        }
    }

    /// Whether an answer is within the rate limit (segments with data or a FIN always are:
    /// Linux's tcp_oow_rate_limited limits only those that occupy no sequence space).
    fn may_answer(&mut self, seg: &Segment, config: &TcpConfig, now: SimTime) -> bool {
        if seg.has(Flags::FIN) && !seg.has(Flags::SYN) {
            return true;
        }
        invalid_ack_allowed(
            &mut self.last_invalid_ack_ms,
            config.invalid_ack_interval,
            seg,
            now,
        )
    }
}
