//! SEGMENT ARRIVES (RFC 9293 3.10.7), in the RFC's order of checks.

use crate::ResetErrors;
use crate::connection::{Bit, ErrorKind, Event, NEVER, Output};
use crate::{Cause, Connection, Flags, Segment, Seq, State, TimeWait, Verdict, closed_reply};
use synack_kernel::SimTime;

impl Connection {
    /// Processes a segment that arrived for this connection at `now`.
    pub fn handle(&mut self, seg: &Segment, now: SimTime, out: &mut Output) {
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.syn_sent(seg, now, out),
            _ => self.synchronized(seg, now, out),
        }
    }

    fn syn_sent(&mut self, seg: &Segment, now: SimTime, out: &mut Output) {
        // First: the ACK must cover our SYN and nothing we did not send.
        let ack_ok = seg.has(Flags::ACK) && seg.ack.gt(self.iss) && seg.ack.le(self.snd_nxt);
        if seg.has(Flags::ACK) && !ack_ok {
            // <SEQ=SEG.ACK><CTL=RST>, nothing to a RST: the CLOSED reply.
            out.segments.extend(closed_reply(seg));
            return;
        }
        // Second: a RST counts only with an acceptable ACK.
        if seg.has(Flags::RST) {
            if ack_ok {
                self.fail(ErrorKind::Refused, Cause::Reset, now, out);
            }
            return;
        }
        // Fourth: the SYN.
        if !seg.has(Flags::SYN) {
            return;
        }
        self.synchronize(seg);
        if ack_ok {
            self.snd_una = seg.ack;
            self.una_offset = u64::from(seg.ack - (self.iss + 1));
            if self.snd_nxt != self.snd_una {
                // Data on our SYN that the SYN-ACK did not acknowledge goes again at once.
                self.snd_nxt = self.snd_una;
                self.nxt_offset = self.una_offset;
            }
            self.take_rtt_sample(seg.ack, now);
            self.handshake_done(now);
            self.set_state(State::Established, Cause::SynAck, now, out);
            out.events.push(Event::Connected);
            if self.config.keep_syn_sent_text && seg.len > 0 {
                let len = seg.len.min(self.rcv_wnd());
                if self
                    .recv
                    .accept(seg.seq + 1, len, seg.data, false)
                    .delivered
                    > 0
                {
                    out.events.push(Event::Readable);
                }
            }
            self.arm_keepalive(now);
            let sent = out.segments.len();
            self.transmit(now, out);
            if self.config.two_way_handshake {
                // The server needs no ACK of its SYN; our data will carry one anyway.
                return;
            }
            if out.segments.len() == sent {
                self.send_ack(now, out);
            }
        } else {
            // Simultaneous open: SYN-ACK with our original ISS.
            if self.config.keep_syn_sent_text && seg.len > 0 {
                let len = seg.len.min(self.rcv_wnd());
                self.recv.queue_for_later(seg.seq + 1, len, seg.data, false);
            }
            self.set_state(State::SynReceived, Cause::SimultaneousOpen, now, out);
            self.send_syn(now, out);
            self.retries = 0;
            self.rto_deadline = self.handshake_deadline(now, 0);
        }
    }

    /// The handshake's retransmission timer is done; data timing starts (RFC 6298 5.7).
    fn handshake_done(&mut self, now: SimTime) {
        if self.is(Bit::SynRetransmitted)
            && !self.rtt.has_sample()
            && let Some(fallback) = self.config.rto_after_syn_retransmit
        {
            self.rtt.set_rto(fallback);
        }
        self.retries = 0;
        self.rto_deadline = NEVER;
        self.unacked_since = NEVER;
        if self.config.connect_timeout.is_some() {
            self.state_deadline = NEVER;
        }
        let _ = now;
    }

    /// RFC 9293's acceptability test for a segment of `SEG.LEN` `len`.
    fn acceptable(&self, seq: Seq, len: u32) -> bool {
        let nxt = self.recv.nxt;
        let wnd = self.acceptance_window();
        match (len, wnd) {
            (0, 0) => seq == nxt,
            (0, _) => seq.in_range(nxt, nxt + wnd),
            (_, 0) => false,
            _ => seq.in_range(nxt, nxt + wnd) || (seq + (len - 1)).in_range(nxt, nxt + wnd),
        }
    }

    fn synchronized(&mut self, seg: &Segment, now: SimTime, out: &mut Output) {
        // A retransmitted SYN reaching SYN-RECEIVED gets the SYN-ACK again at once (Linux).
        if self.state == State::SynReceived
            && seg.has(Flags::SYN)
            && !seg.has(Flags::ACK)
            && !seg.has(Flags::RST)
            // (RCV.NXT is past any SYN data the `hold_syn_data` rule kept.)
            && seg.seq + 1 + self.recv.delivered() as u32 == self.recv.nxt
        {
            self.send_syn(now, out);
            return;
        }
        if self.state == State::TimeWait {
            self.time_wait_segment(seg, now, out);
            return;
        }

        // First: sequence number.
        if !self.acceptable(seg.seq, seg.seg_len()) {
            if !seg.has(Flags::RST) {
                self.send_invalid_ack(seg, now, out);
            }
            return;
        }
        if let Some(ts) = seg.timestamps
            && seg.seq.le(self.recv.nxt)
            && !(self.config.ts_recent_needs_acceptable_ack
                && seg.has(Flags::ACK)
                && self.ack_unacceptable(seg.ack))
        {
            self.ts_recent = ts.val;
        }

        // Second: RST.
        if seg.has(Flags::RST) {
            if self.config.rfc5961 && seg.seq != self.recv.nxt {
                self.send_invalid_ack(seg, now, out); // challenge ACK
                return;
            }
            self.reset(now, out);
            return;
        }

        // Fourth: SYN in a synchronized state (or in SYN-RECEIVED, not a retransmission).
        if seg.has(Flags::SYN) {
            if self.state == State::SynReceived && self.is(Bit::Passive) {
                self.set_state(State::Listen, Cause::Reset, now, out);
                out.events.push(Event::ReturnedToListen);
            } else if self.config.rfc5961_syn {
                self.send_invalid_ack(seg, now, out); // challenge ACK
            } else {
                // RFC 793: a SYN in the window is an error; reset the connection.
                self.send_rst(now, out);
                self.fail(ErrorKind::Reset, Cause::Reset, now, out);
            }
            return;
        }

        // Fifth: ACK.
        if !seg.has(Flags::ACK) {
            return;
        }
        if self.state == State::SynReceived {
            if seg.ack.gt(self.snd_una) && seg.ack.le(self.snd_nxt) {
                self.set_peer_window(seg.window);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                self.set_state(State::Established, Cause::HandshakeAck, now, out);
                out.events.push(Event::Connected);
                if self.recv.release_queued().delivered > 0 {
                    out.events.push(Event::Readable);
                }
                self.arm_keepalive(now);
            } else {
                out.segments.extend(closed_reply(seg)); // <SEQ=SEG.ACK><CTL=RST>
                return;
            }
        }
        if !self.process_ack(seg, now, out) {
            return;
        }
        self.arm_keepalive(now);

        // Seventh: text.
        let accepts_text = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        let fin_reached_before = self.recv.fin_reached();
        if accepts_text || (seg.has(Flags::FIN) && !fin_reached_before) {
            self.receive_text(seg, accepts_text, now, out);
        }
        self.transmit(now, out);
    }

    /// A valid RST in a synchronized state (or SYN-RECEIVED).
    fn reset(&mut self, now: SimTime, out: &mut Output) {
        match self.state {
            State::SynReceived if self.is(Bit::Passive) => {
                self.set_state(State::Listen, Cause::Reset, now, out);
                out.events.push(Event::ReturnedToListen);
            }
            State::SynReceived => self.fail(ErrorKind::Refused, Cause::Reset, now, out),
            State::Established | State::FinWait1 | State::FinWait2 => {
                self.fail(ErrorKind::Reset, Cause::Reset, now, out);
            }
            State::CloseWait if self.config.reset_errors == ResetErrors::Linux => {
                self.fail(ErrorKind::BrokenPipe, Cause::Reset, now, out);
            }
            State::CloseWait => self.fail(ErrorKind::Reset, Cause::Reset, now, out),
            State::LastAck | State::Closing if self.config.reset_errors != ResetErrors::Rfc9293 => {
                self.fail(ErrorKind::Reset, Cause::Reset, now, out);
            }
            _ => self.finish(Cause::Reset, now, out),
        }
    }

    /// Whether step five drops a segment for its ACK: it acknowledges something not yet
    /// sent, or (RFC 5961 section 5) it is older than any window the peer could have seen,
    /// so blind (Linux: tcp_ack, "too old ack").
    fn ack_unacceptable(&self, ack: Seq) -> bool {
        ack.gt(self.snd_max) || (self.config.rfc5961 && ack.lt(self.snd_una - self.max_snd_wnd))
    }

    /// The ACK field (step five). Returns whether processing goes on.
    fn process_ack(&mut self, seg: &Segment, now: SimTime, out: &mut Output) -> bool {
        let ack = seg.ack;
        if self.ack_unacceptable(ack) {
            self.send_invalid_ack(seg, now, out); // an ACK, or RFC 5961's challenge ACK
            return false;
        }
        if ack.gt(self.snd_una) {
            let mut acked = ack - self.snd_una;
            if self.snd_una == self.iss {
                acked -= 1; // our SYN
            }
            let fin_acked = self.is(Bit::FinNumbered) && ack == self.snd_max;
            if fin_acked {
                acked -= 1;
            }
            self.una_offset += u64::from(acked);
            self.snd_una = ack;
            if self.snd_nxt.lt(ack) {
                // ACK of data sent before a go-back: skip what needs no resending.
                self.snd_nxt = ack;
                self.nxt_offset = self.una_offset;
                if fin_acked {
                    self.set(Bit::FinSent, true);
                }
            }
            self.take_rtt_sample(ack, now);
            self.retries = 0;
            if self.snd_una == self.snd_max {
                self.rto_deadline = NEVER;
                self.unacked_since = NEVER;
            } else {
                self.rto_deadline = now.saturating_add(self.data_rto());
                self.unacked_since = now;
            }
        }
        if self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(ack)) {
            self.set_peer_window(seg.window);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
        }
        let our_fin_acked = self.is(Bit::FinNumbered) && self.snd_una == self.snd_max;
        // The peer's FIN, next in sequence, in this same segment: step eight takes
        // FIN-WAIT-1 straight to TIME-WAIT (the diagram's "rcv FIN, ACK of FIN" edge).
        let fin_next = seg.has(Flags::FIN) && seg.seq + seg.len == self.recv.nxt;
        match self.state {
            State::FinWait1 if our_fin_acked && !fin_next => {
                self.set_state(State::FinWait2, Cause::FinAcked, now, out);
                if self.is(Bit::Orphaned) {
                    self.state_deadline = now.saturating_add(self.fin_wait_2_timeout());
                }
            }
            State::Closing if our_fin_acked => {
                self.enter_time_wait(Cause::FinAcked, now, out);
            }
            State::LastAck if our_fin_acked => {
                self.finish(Cause::FinAcked, now, out);
                return false;
            }
            _ => {}
        }
        true
    }

    fn take_rtt_sample(&mut self, ack: Seq, now: SimTime) {
        if let Some((seq, sent)) = self.rtt_probe()
            && seq.le(ack)
        {
            self.set_rtt_probe(None);
            self.rtt.sample(now.saturating_since(sent), &self.config);
        }
    }

    /// Steps seven (text) and eight (FIN).
    fn receive_text(&mut self, seg: &Segment, accepts_text: bool, now: SimTime, out: &mut Output) {
        // Linux (tcp_rcv_state_process): new data for a connection the application closed
        // cannot be read by anyone, so it is answered with a RST and the connection ends
        // (measured on Linux 6.18: orphan_data_after_close_rst.pkt). RFC 9293 processes it.
        if self.config.abort_on_orphan_data
            && self.is(Bit::Orphaned)
            && matches!(self.state, State::FinWait1 | State::FinWait2)
            && seg.len > 0
            && (seg.seq + seg.len).gt(self.recv.nxt)
        {
            out.segments.extend(crate::closed_reply(seg));
            self.finish(Cause::Abort, now, out);
            return;
        }
        // Trim to the window: the front below RCV.NXT is handled by the receiver; cut the
        // tail beyond the right edge (and the FIN with it).
        let right = self.recv.nxt + self.acceptance_window();
        let (start, mut len, mut fin) = if seg.has(Flags::SYN) {
            (seg.seq + 1, seg.len, seg.has(Flags::FIN))
        } else {
            (seg.seq, seg.len, seg.has(Flags::FIN))
        };
        if !accepts_text {
            len = 0;
        }
        let end = start + len;
        if end.gt(right) {
            len -= end - right;
            fin = false;
        }
        let fin_position_ok = !fin || (start + len).ge(self.recv.nxt);
        let accepted = self
            .recv
            .accept(start, len, seg.data, fin && fin_position_ok);
        if accepted.delivered > 0 {
            out.events.push(Event::Readable);
        }
        if accepted.fin {
            self.acknowledge_fin(u64::from(len), now, out);
            out.events.push(Event::PeerClosed);
            match self.state {
                State::SynReceived | State::Established => {
                    self.set_state(State::CloseWait, Cause::PeerFin, now, out);
                }
                State::FinWait1 if self.is(Bit::FinNumbered) && self.snd_una == self.snd_max => {
                    self.enter_time_wait(Cause::PeerFinAndAck, now, out);
                }
                State::FinWait1 => {
                    self.set_state(State::Closing, Cause::PeerFin, now, out);
                }
                State::FinWait2 => {
                    self.state_deadline = NEVER;
                    self.enter_time_wait(Cause::PeerFin, now, out);
                }
                _ => {}
            }
            return;
        }
        if len == 0 {
            return;
        }
        // ACK policy: at once for out-of-order data, gap fills, and every second segment;
        // otherwise after the delayed-ACK timeout.
        let full = seg.len >= u32::from(self.snd_mss);
        self.unacked_segments = self.unacked_segments.saturating_add(u8::from(full));
        let delay = self.config.delayed_ack;
        let quick = self.quick_acks > 0;
        self.quick_acks = self.quick_acks.saturating_sub(1);
        if quick
            || accepted.out_of_order
            || accepted.filled_gap
            || delay.is_none()
            || self.unacked_segments >= 2
        {
            self.send_ack(now, out);
        } else if self.ack_deadline == NEVER
            && let Some(delay) = delay
        {
            self.ack_deadline = now.saturating_add(delay);
        }
    }

    /// ACKs the peer's FIN: at once, or, with `delay_fin_ack`, when the FIN moves us to
    /// CLOSE-WAIT after data has come, on the delayed-ACK timer, so that the ACK may ride on
    /// our own FIN. Linux (tcp_fin) enters its delayed-ACK ("pingpong") mode there, and the
    /// delay is its ACK timeout, which only the first data sets. Measured on Linux 6.18:
    /// fin_ack_delayed_after_data.pkt (40-45 ms), fin_ack_rides_on_fin.pkt,
    /// passive_close_last_ack.pkt (no data: at once). More than a full segment's worth of
    /// data not yet ACKed, the FIN's own included, is ACKed at once all the same
    /// (`__tcp_ack_snd_check`: `rcv_nxt - rcv_wup > rcv_mss`); measured by google/packetdrill's
    /// inq/server.pkt on Linux 6.18, a FIN with 10,000 bytes ACKed at once.
    fn acknowledge_fin(&mut self, data_len: u64, now: SimTime, out: &mut Output) {
        let mss = u64::from(self.snd_mss);
        let unacked = data_len + u64::from(self.unacked_segments) * mss;
        let delay = self.config.delayed_ack.filter(|_| {
            self.config.delay_fin_ack
                && matches!(self.state, State::SynReceived | State::Established)
                && self.recv.delivered() > 0
                && unacked <= mss
        });
        match delay {
            Some(delay) => {
                let due = now.saturating_add(delay);
                self.ack_deadline = self.ack_deadline.min(due);
            }
            None => self.send_ack(now, out),
        }
    }

    /// A segment in TIME-WAIT: the decision the host's TIME-WAIT records take too.
    fn time_wait_segment(&mut self, seg: &Segment, now: SimTime, out: &mut Output) {
        let Some(mut record) = self.time_wait() else {
            return;
        };
        let verdict = record.on_segment(seg, &self.config, now);
        self.last_invalid_ack_ms = record.last_invalid_ack_ms;
        match verdict {
            Verdict::Ignore => {}
            Verdict::Ack => out
                .segments
                .push(record.ack(self.local_port, self.remote_port, now)),
            Verdict::Restart => self.restart_time_wait(now),
            Verdict::AckAndRestart => {
                out.segments
                    .push(record.ack(self.local_port, self.remote_port, now));
                self.restart_time_wait(now);
            }
            // The host that holds this endpoint opens the new incarnation.
            Verdict::Reopen(_) => self.finish(Cause::Reopened, now, out),
            Verdict::Close => self.finish(Cause::Reset, now, out),
        }
    }

    /// What TIME-WAIT keeps of this connection, while it is in TIME-WAIT.
    pub fn time_wait(&self) -> Option<TimeWait> {
        (self.state == State::TimeWait).then(|| TimeWait {
            snd_nxt: self.snd_nxt,
            rcv_nxt: self.recv.nxt,
            ts_recent: self.ts_recent(),
            rcv_wnd: self.rcv_wnd(),
            last_invalid_ack_ms: self.last_invalid_ack_ms,
        })
    }
}
