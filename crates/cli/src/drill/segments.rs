//! The script's segments: an inbound line becomes a segment the stack receives, an
//! outbound line takes the segments the stack sent and must match them, and the counts
//! Linux keeps of them (`packets_out`, the peer's MSS estimate) follow.

use super::features::Feature;
use super::parse::{SegmentSpec, TcpOption, When};
use super::run::{DUPLICATE_ACK_THRESHOLD, Failure, INITIAL_WINDOW, LOCAL, REMOTE, Runner};
use super::wire::show_spec;
use synack_kernel::SimTime;
use synack_tcp::Segment;
use synack_tcp::host::Datagram;

impl Runner<'_> {
    /// Linux's `tcp_measure_rcv_mss`: a data segment at least as long as the estimate (its
    /// GSO size, for one packetdrill cooked as GSO under `--mss`) raises it, up to the MSS
    /// the stack announced.
    fn measure_rcv_mss(&mut self, spec: &SegmentSpec) {
        if spec.len == 0 || spec.flags.contains('S') {
            return;
        }
        let len = match self.knobs.gso_size {
            Some(gso) if spec.len > gso => gso,
            _ => spec.len,
        };
        if len >= self.rcv_mss {
            self.rcv_mss = len.min(u32::from(self.knobs.host.tcp.mss));
        }
    }

    /// Notes a new data segment in flight, and the first one past the initial window.
    pub(super) fn count_packets_out(&mut self, at: SimTime, seg: &Segment) {
        if seg.len == 0 || seg.has(synack_tcp::Flags::SYN) {
            return;
        }
        let end = self.wire.relative_end(seg);
        if end.wrapping_sub(self.sent_up_to) as i32 <= 0 {
            return; // a retransmission
        }
        self.sent_up_to = end;
        self.packets_out.push_back(end);
        if self.packets_out.len() > INITIAL_WINDOW && self.beyond_initial_window.is_none() {
            self.beyond_initial_window = Some((at, end));
        }
    }

    /// What an inbound line needs that the model leaves out, by its own text, or by what
    /// Linux does on it (a third duplicate ACK starts fast retransmit).
    fn inbound_needs(&mut self, line: usize, spec: &SegmentSpec) -> Result<(), Failure> {
        self.segment_needs(line, spec)?;
        // `tcp_fastopen` 0x2 with 0x400 makes every listener a Fast Open server, whose
        // answer to a SYN with data depends on cookies and its Fast Open queue.
        let fast_open_server = self.knobs.fast_open & 0x402 == 0x402;
        if fast_open_server && spec.flags == "S" && spec.len > 0 {
            return self.not_modelled(
                line,
                Feature::FastOpen,
                format!(
                    "a SYN with data to a Fast Open listener (tcp_fastopen={:#x})",
                    self.knobs.fast_open
                ),
            );
        }
        if let Some(ack) = spec.ack.filter(|_| spec.flags.contains('.')) {
            while self
                .packets_out
                .front()
                .is_some_and(|&end| ack.wrapping_sub(end) as i32 >= 0)
            {
                self.packets_out.pop_front();
            }
            let plain = spec.len == 0 && !spec.flags.contains(['S', 'F', 'R']);
            if plain && !self.packets_out.is_empty() && self.last_ack == Some((ack, spec.win)) {
                self.duplicate_acks += 1;
                if self.duplicate_acks >= DUPLICATE_ACK_THRESHOLD {
                    return self.not_modelled(
                        line,
                        Feature::CongestionControl,
                        "a third duplicate ACK starts fast retransmit",
                    );
                }
            } else {
                self.duplicate_acks = 0;
            }
            self.last_ack = Some((ack, spec.win));
        }
        Ok(())
    }

    /// What a segment line needs that the model leaves out, by its own text.
    fn segment_needs(&self, line: usize, spec: &SegmentSpec) -> Result<(), Failure> {
        if spec.urgent {
            return self.not_modelled(line, Feature::UrgentData, "the URG flag");
        }
        if !spec.ecn_flags.is_empty() {
            let what = format!("ECN marks {}", spec.ecn_flags);
            return self.not_modelled(line, Feature::Ecn, what);
        }
        for option in spec.options.iter().flatten() {
            let feature = match option {
                TcpOption::Sack(_) => Feature::SackRecovery,
                TcpOption::Other(o) if o.starts_with("md5") => Feature::Md5,
                TcpOption::Other(o) if o.starts_with("FO") => Feature::FastOpen,
                _ => continue,
            };
            return self.not_modelled(line, feature, format!("the option {option}"));
        }
        Ok(())
    }

    pub(super) fn inbound(
        &mut self,
        line: usize,
        spec: &SegmentSpec,
        t: SimTime,
    ) -> Result<(), Failure> {
        self.advance(t, false);
        self.no_unexpected(line, t)?;
        self.inbound_needs(line, spec)?;
        if spec.len > 0 || spec.flags.contains('S') {
            self.last_data_received = t;
        }
        self.measure_rcv_mss(spec);
        let seg = self.wire.inbound(spec, self.remote_port, self.local_port);
        self.host.handle(&Datagram::new(REMOTE, LOCAL, seg), t);
        self.collect(t);
        self.last = t;
        Ok(())
    }

    pub(super) fn outbound(
        &mut self,
        line: usize,
        spec: &SegmentSpec,
        when: When,
    ) -> Result<(), Failure> {
        self.segment_needs(line, spec)?;
        let expected = match when {
            When::At(at) | When::Range(at, _) => self.resolve(at),
            When::Any | When::Blocking(..) => self.last,
        };
        let tol = self.tolerance_over(self.last_scripted, expected);
        let early = |t: SimTime| SimTime::from_nanos(t.as_nanos().saturating_sub(tol.as_nanos()));
        let (from, until) = match when {
            When::At(_) => (early(expected), expected.saturating_add(tol)),
            When::Range(_, b) => (early(expected), self.resolve(b).saturating_add(tol)),
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
        if let Some((when, _)) = self.beyond_initial_window
            && when == at
        {
            return self.not_modelled(
                line,
                Feature::CongestionControl,
                format!(
                    "the stack sent more than Linux's initial window of {INITIAL_WINDOW} \
                     segments at once"
                ),
            );
        }
        if spec.flags.contains('S')
            && let Some(start) = spec.start
        {
            self.wire.local_base.get_or_insert(start);
        }
        let seg = if self.strict || self.knobs.strict_segments {
            seg
        } else {
            self.aggregate(seg, spec.len, until)
        };
        if !self.wire.matches(spec, &seg) {
            return self.fail(
                line,
                at,
                format!("> {}", show_spec(spec)),
                format!("> {}", self.wire.show(&seg)),
            );
        }
        self.check_ts_val(line, spec, &seg, expected, at)?;
        if self.strict {
            self.check_ts_ecr(line, spec, &seg, at)?;
        }
        self.last = at;
        Ok(())
    }

    /// packetdrill's TS val check: the first outbound timestamp maps the stack's clock to
    /// the script's; with `--tcp_ts_tick_usecs` each later TS val, so mapped, must be the
    /// script's within the tolerance, here counted from the script's start.
    fn check_ts_val(
        &mut self,
        line: usize,
        spec: &SegmentSpec,
        seg: &Segment,
        expected: SimTime,
        at: SimTime,
    ) -> Result<(), Failure> {
        let script_val = script_timestamps(spec).map(|(val, _)| val);
        let (Some(script_val), Some(actual)) = (script_val, seg.timestamps) else {
            return Ok(());
        };
        let (first_script, first_actual) = *self.ts_base.get_or_insert((script_val, actual.val));
        let Some(tick) = self.knobs.ts_tick_usecs else {
            return Ok(());
        };
        let mapped = first_script.wrapping_add(actual.val.wrapping_sub(first_actual));
        let off_by = u64::from((mapped.wrapping_sub(script_val) as i32).unsigned_abs());
        let since_start = expected.as_nanos() as f64 / 1000.0;
        let tolerance = (self.knobs.tolerance_usecs as f64)
            .max(self.knobs.tolerance_percent / 100.0 * since_start);
        if off_by as f64 * tick as f64 > tolerance {
            return self.fail(
                line,
                at,
                format!("TS val {script_val} (within {tolerance:.0} us at {tick} us a tick)"),
                format!("TS val {mapped}"),
            );
        }
        Ok(())
    }

    /// The corpus's rule (`--strict`), beyond packetdrill's, which never checks it: the TS
    /// ecr echoes what the script's line says. The script's inbound TS vals go on the wire
    /// as written, so the echo needs no mapping.
    fn check_ts_ecr(
        &mut self,
        line: usize,
        spec: &SegmentSpec,
        seg: &Segment,
        at: SimTime,
    ) -> Result<(), Failure> {
        match (script_timestamps(spec).map(|(_, ecr)| ecr), seg.timestamps) {
            (Some(ecr), Some(actual)) if actual.ecr != ecr => self.fail(
                line,
                at,
                format!("> {} (TS ecr {ecr})", show_spec(spec)),
                format!("> {} (TS ecr {})", self.wire.show(seg), actual.ecr),
            ),
            _ => Ok(()),
        }
    }

    /// packetdrill's rule without `--strict_segments`: a line expecting more payload than the
    /// segment sniffed takes the segments that follow it, back to back, as one (what a
    /// kernel's GSO or TSO sends over the tun device as one frame, the model sends as
    /// MSS-sized segments, and the other way round). The result has the first segment's
    /// sequence number and the last one's flags, ACK, window and options, as packetdrill's
    /// `aggregate_packets` builds it.
    fn aggregate(&mut self, first: Segment, expected_len: u32, until: SimTime) -> Segment {
        let mut merged = first;
        while merged.len > 0 && merged.len < expected_len {
            if self.pending.is_empty() {
                self.advance(until, true);
            }
            let next_in_line = self
                .pending
                .front()
                .is_some_and(|(_, next)| next.len > 0 && next.seq == merged.seq + merged.len);
            if !next_in_line {
                break;
            }
            let (_, next) = self.pending.pop_front().expect("checked");
            let (seq, len) = (merged.seq, merged.len + next.len);
            merged = next;
            merged.seq = seq;
            merged.len = len;
        }
        merged
    }
}

/// The TS val and ecr a script's line gives, if it lists the timestamps option.
fn script_timestamps(spec: &SegmentSpec) -> Option<(u32, u32)> {
    spec.options.iter().flatten().find_map(|o| match o {
        TcpOption::Timestamps { val, ecr } => Some((*val, *ecr)),
        _ => None,
    })
}
