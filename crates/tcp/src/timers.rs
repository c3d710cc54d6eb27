//! What happens when deadlines pass. Timers are data: deadlines in the connection,
//! reported by [`Connection::next_deadline`].

use crate::connection::{Bit, ErrorKind, NEVER, Output};
use crate::{Cause, Connection, Flags, State};
use synack_kernel::SimTime;

impl Connection {
    /// Runs every timer due at or before `now`. Calling it early does nothing.
    pub fn on_timeout(&mut self, now: SimTime, out: &mut Output) {
        if self.state_deadline <= now {
            self.state_timeout(now, out);
        }
        if !self.is_finished() && self.rto_deadline <= now {
            self.retransmission_timeout(now, out);
        }
        if !self.is_finished() && self.keepalive_deadline <= now {
            self.keepalive_timeout(now, out);
        }
        if !self.is_finished() && self.ack_deadline <= now {
            self.send_ack(now, out);
        }
    }

    fn state_timeout(&mut self, now: SimTime, out: &mut Output) {
        self.state_deadline = NEVER;
        match self.state {
            State::SynSent => self.fail(ErrorKind::TimedOut, Cause::Timeout, now, out),
            State::FinWait2 => self.finish(Cause::FinWait2Timeout, now, out),
            State::TimeWait => self.finish(Cause::TimeWaitExpired, now, out),
            _ => {}
        }
    }

    fn retransmission_timeout(&mut self, now: SimTime, out: &mut Output) {
        self.rto_deadline = NEVER;
        if matches!(self.state, State::SynSent | State::SynReceived) {
            if u32::from(self.retries) >= self.handshake_retries() {
                self.fail(ErrorKind::TimedOut, Cause::Timeout, now, out);
                return;
            }
            self.retries += 1;
            self.set(Bit::SynRetransmitted, true);
            self.set_rtt_probe(None);
            self.send_syn(now, out);
            self.rto_deadline = self.handshake_deadline(now, u32::from(self.retries));
            return;
        }
        let outstanding = self.snd_una != self.snd_max;
        let waiting = self.written > self.nxt_offset;
        if !outstanding && !waiting {
            return;
        }
        let user_timeout = self.config.user_timeout.is_some_and(|limit| {
            self.unacked_since != NEVER && now.saturating_since(self.unacked_since) >= limit
        });
        let limit = match self.config.orphan_retries {
            Some(orphan) if self.is(Bit::Orphaned) => orphan,
            _ => self.config.data_retries,
        };
        if u32::from(self.retries) >= limit || user_timeout {
            self.fail(ErrorKind::TimedOut, Cause::Timeout, now, out);
            return;
        }
        self.retries += 1;
        self.set_rtt_probe(None); // Karn: never time a retransmission
        // Go back to SND.UNA and resend what the window allows; a closed window still
        // lets one byte through, as a zero-window probe.
        self.snd_nxt = self.snd_una;
        self.nxt_offset = self.una_offset;
        self.set(Bit::FinSent, false);
        let window = self.snd_wnd;
        self.snd_wnd = window.max(1);
        self.transmit_segments(true, now, out);
        self.snd_wnd = window;
    }

    fn keepalive_timeout(&mut self, now: SimTime, out: &mut Output) {
        let Some(keepalive) = self.config.keepalive else {
            self.keepalive_deadline = NEVER;
            return;
        };
        if self.snd_una != self.snd_max {
            // Not idle: the retransmission timer watches the peer.
            self.keepalive_deadline = now.saturating_add(keepalive.idle);
            return;
        }
        if u32::from(self.keepalive_probes) >= keepalive.probes {
            if self.config.keepalive_reset {
                self.send_rst(now, out);
            }
            self.fail(ErrorKind::TimedOut, Cause::Timeout, now, out);
            return;
        }
        // <SEQ=SND.UNA-1><ACK=RCV.NXT>: an old byte the peer must acknowledge.
        let probe = self.segment(self.snd_una - 1, Flags::ACK, 0, self.una_offset, now);
        out.segments.push(probe);
        self.keepalive_probes += 1;
        self.keepalive_deadline = now.saturating_add(keepalive.interval);
    }
}
