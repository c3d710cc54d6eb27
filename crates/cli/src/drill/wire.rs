//! The wire as packetdrill sees it: sequence numbers relative to each side's first ISN,
//! windows scaled once both SYNs offered a window scale, and TCP options in the order the
//! profile's system writes them (Linux's `tcp_options_write`, FreeBSD's `tcp_addoptions`). Windows inside the model are real byte counts; this is where they
//! become 16-bit fields.

use super::parse::{SegmentSpec, TcpOption};
use synack_tcp::{DataId, Flags, Segment, Seq, Timestamps};

/// The script's side: its ISN, port and incarnation.
pub const REMOTE_ISN: u32 = 1_000_000;
const REMOTE_INCARNATION: u32 = u32::MAX;

/// What the two SYNs agreed and the numbers each side counts from.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    /// The stack's first ISN: packetdrill counts every later number from it, even after a
    /// SYN that reopens TIME-WAIT with a new one.
    pub local_isn: Option<Seq>,
    /// The number the script gives the stack's ISN: its first outbound SYN's sequence number
    /// (`> S. 1234:1234(0)`), 0 in most scripts; 0 until a SYN line sets it. packetdrill
    /// maps every number through it.
    pub local_base: Option<u32>,
    /// The window scale the script's SYN offered.
    pub remote_scale: Option<u8>,
    /// The window scale the stack's SYN offered.
    pub local_scale: Option<u8>,
    /// How the stack lays out its options.
    pub layout: OptionLayout,
}

/// Whose order the stack writes its TCP options in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OptionLayout {
    /// Linux's `tcp_options_write`.
    #[default]
    Linux,
    /// FreeBSD's `tcp_addoptions` (tcp_output.c): MSS, window scale, SACK-permitted,
    /// timestamps, each aligned with NOPs as it needs, then EOLs to a 4-byte boundary.
    FreeBsd,
}

/// Flags as packetdrill writes them (`S.`, `F.`, `R`, `.`).
pub fn flags_of(text: &str) -> Flags {
    let mut f = Flags::NONE;
    for (c, flag) in [
        ('S', Flags::SYN),
        ('F', Flags::FIN),
        ('R', Flags::RST),
        ('P', Flags::PSH),
        ('.', Flags::ACK),
    ] {
        if text.contains(c) {
            f = f | flag;
        }
    }
    f
}

/// The options of `seg` as `layout` has them.
pub fn options_of(seg: &Segment, layout: OptionLayout) -> Vec<TcpOption> {
    match layout {
        OptionLayout::Linux => linux_options(seg),
        OptionLayout::FreeBsd => freebsd_options(seg),
    }
}

/// FreeBSD's `tcp_addoptions`: the SYN of the suite's scripts is `<mss 1460,nop,wscale
/// 6,sackOK,TS val ... ecr 0>`, the SYN-ACK to a SYN with MSS and SACK only `<mss
/// 1460,sackOK,eol,eol>`.
fn freebsd_options(seg: &Segment) -> Vec<TcpOption> {
    let mut out = Vec::new();
    let mut len = 0usize;
    let pad_until = |out: &mut Vec<TcpOption>, len: &mut usize, done: fn(usize) -> bool| {
        while !done(*len) {
            out.push(TcpOption::Nop);
            *len += 1;
        }
    };
    if let Some(mss) = seg.mss {
        out.push(TcpOption::Mss(mss));
        len += 4;
    }
    if let Some(scale) = seg.window_scale {
        pad_until(&mut out, &mut len, |l| l % 2 == 1);
        out.push(TcpOption::WindowScale(scale));
        len += 3;
    }
    if seg.sack_permitted {
        pad_until(&mut out, &mut len, |l| l % 2 == 0);
        out.push(TcpOption::SackPermitted);
        len += 2;
    }
    if let Some(Timestamps { val, ecr }) = seg.timestamps {
        pad_until(&mut out, &mut len, |l| l % 4 == 2);
        out.push(TcpOption::Timestamps { val, ecr });
        len += 10;
    }
    while len % 4 != 0 {
        out.push(TcpOption::Eol);
        len += 1;
    }
    out
}

/// Linux's `tcp_options_write`.
fn linux_options(seg: &Segment) -> Vec<TcpOption> {
    let mut out = Vec::new();
    if let Some(mss) = seg.mss {
        out.push(TcpOption::Mss(mss));
    }
    match seg.timestamps {
        Some(Timestamps { val, ecr }) => {
            if seg.sack_permitted {
                out.push(TcpOption::SackPermitted);
            } else {
                out.extend([TcpOption::Nop, TcpOption::Nop]);
            }
            out.push(TcpOption::Timestamps { val, ecr });
        }
        None if seg.sack_permitted => {
            out.extend([TcpOption::Nop, TcpOption::Nop, TcpOption::SackPermitted])
        }
        None => {}
    }
    if let Some(scale) = seg.window_scale {
        out.extend([TcpOption::Nop, TcpOption::WindowScale(scale)]);
    }
    out
}

/// Whether the actual options match the script's: the same options in the same order;
/// timestamps' values are not compared (packetdrill maps them to the script's clock).
fn options_match(want: &[TcpOption], got: &[TcpOption]) -> bool {
    want.len() == got.len()
        && want.iter().zip(got).all(|(w, g)| match (w, g) {
            (TcpOption::Timestamps { .. }, TcpOption::Timestamps { .. }) => true,
            _ => w == g,
        })
}

fn show_options(options: &[TcpOption]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let list: Vec<String> = options.iter().map(ToString::to_string).collect();
    format!(" <{}>", list.join(","))
}

impl Wire {
    fn scaled(&self) -> bool {
        self.remote_scale.is_some() && self.local_scale.is_some()
    }

    /// The model's segment for an inbound line.
    pub fn inbound(&mut self, spec: &SegmentSpec, remote_port: u16, local_port: u16) -> Segment {
        // As packetdrill: the ACK bit only where the flags have `.`; an ACK number counts
        // from the stack's ISN (0 where none is written), and before any SYN of ours from 0.
        let flags = flags_of(&spec.flags);
        let ack =
            self.local_isn.unwrap_or(Seq(0)) + spec.ack.unwrap_or(0).wrapping_sub(self.base());
        let mut seg = Segment::new(
            remote_port,
            local_port,
            Seq(REMOTE_ISN) + spec.start.unwrap_or(0),
            ack,
            flags,
        );
        seg.len = spec.len;
        let options = spec.options.as_deref().unwrap_or(&[]);
        for option in options {
            match *option {
                TcpOption::Mss(m) => seg.mss = Some(m),
                TcpOption::Timestamps { val, ecr } => {
                    seg.timestamps = Some(Timestamps { val, ecr })
                }
                TcpOption::WindowScale(s) => seg.window_scale = Some(s),
                TcpOption::SackPermitted => seg.sack_permitted = true,
                _ => {}
            }
        }
        if seg.has(Flags::SYN) {
            self.remote_scale = seg.window_scale;
        }
        let win = spec.win.unwrap_or(65535);
        seg.window = match self.remote_scale {
            Some(scale) if self.scaled() && !seg.has(Flags::SYN) => win << scale.min(14),
            _ => win,
        };
        seg.data = DataId {
            incarnation: REMOTE_INCARNATION,
            offset: u64::from(spec.start.unwrap_or(0).saturating_sub(1)),
        };
        seg
    }

    /// The window field `seg` carries on the wire.
    fn window_field(&self, seg: &Segment) -> u32 {
        match self.local_scale {
            Some(scale) if self.scaled() && !seg.has(Flags::SYN) => {
                seg.window.div_ceil(1 << scale).min(65535)
            }
            _ => seg.window.min(65535),
        }
    }

    /// Notes what a segment from the stack tells the wire (its first ISN, its window scale).
    pub fn outbound(&mut self, seg: &Segment) {
        if seg.has(Flags::SYN) {
            self.local_isn.get_or_insert(seg.seq);
            self.local_scale = seg.window_scale;
        }
    }

    /// The script's number for the stack's ISN.
    fn base(&self) -> u32 {
        self.local_base.unwrap_or(0)
    }

    /// Where a segment from the stack ends, relative to its first ISN.
    pub fn relative_end(&self, seg: &Segment) -> u32 {
        (seg.seq - self.local_isn.unwrap_or(Seq(0)))
            .wrapping_add(self.base())
            .wrapping_add(seg.len)
    }

    /// A segment from the stack as packetdrill prints it.
    pub fn show(&self, seg: &Segment) -> String {
        let start = (seg.seq - self.local_isn.unwrap_or(Seq(0))).wrapping_add(self.base());
        let mut s = format!(
            "{} {}:{}({})",
            seg.flags,
            start,
            start.wrapping_add(seg.len),
            seg.len
        );
        if seg.has(Flags::ACK) {
            s.push_str(&format!(" ack {}", seg.ack - Seq(REMOTE_ISN)));
        }
        s.push_str(&format!(" win {}", self.window_field(seg)));
        s + &show_options(&options_of(seg, self.layout))
    }

    /// Whether a segment from the stack matches an outbound line.
    pub fn matches(&self, spec: &SegmentSpec, seg: &Segment) -> bool {
        let isn = self.local_isn.unwrap_or(Seq(0));
        seg.flags == flags_of(&spec.flags)
            && spec.ecn_flags.is_empty()
            && spec
                .start
                .is_none_or(|start| (seg.seq - isn).wrapping_add(self.base()) == start)
            && seg.len == spec.len
            && spec
                .ack
                .is_none_or(|a| seg.has(Flags::ACK) && seg.ack - Seq(REMOTE_ISN) == a)
            && spec.win.is_none_or(|w| self.window_field(seg) == w)
            && spec
                .options
                .as_deref()
                .is_none_or(|want| options_match(want, &options_of(seg, self.layout)))
    }
}

/// An outbound line as the script wrote it.
pub fn show_spec(spec: &SegmentSpec) -> String {
    let flags = if spec.flags.is_empty() && spec.ecn_flags.is_empty() {
        "-".to_string()
    } else {
        format!("{}{}", spec.flags, spec.ecn_flags)
    };
    let mut s = match spec.start {
        Some(start) => format!(
            "{flags} {start}:{}({})",
            start.wrapping_add(spec.len),
            spec.len
        ),
        None => format!("{flags} ...({})", spec.len),
    };
    if let Some(ack) = spec.ack {
        s.push_str(&format!(" ack {ack}"));
    }
    if let Some(win) = spec.win {
        s.push_str(&format!(" win {win}"));
    }
    match &spec.options {
        None => s + " <...>",
        Some(options) => s + &show_options(options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_lays_out_syn_options_as_measured() {
        // Linux 6.18, tcp_timestamps=0: `<mss 1460,nop,nop,sackOK,nop,wscale 10>`.
        let mut syn = Segment::new(1, 2, Seq(0), Seq(0), Flags::SYN);
        syn.mss = Some(1460);
        syn.sack_permitted = true;
        syn.window_scale = Some(10);
        assert_eq!(
            show_options(&options_of(&syn, OptionLayout::Linux)),
            " <mss 1460,nop,nop,sackOK,nop,wscale 10>"
        );
        // With timestamps: `<mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>` (upstream scripts).
        syn.timestamps = Some(Timestamps { val: 100, ecr: 0 });
        syn.window_scale = Some(8);
        assert_eq!(
            show_options(&options_of(&syn, OptionLayout::Linux)),
            " <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>"
        );
    }

    #[test]
    fn freebsd_lays_out_options_as_its_suite_expects() {
        // freebsd-net/tcp-testsuite's state-event scripts: the SYN of a connect and the
        // SYN-ACK to a SYN with MSS and SACK-permitted only.
        let mut syn = Segment::new(1, 2, Seq(0), Seq(0), Flags::SYN);
        syn.mss = Some(1460);
        syn.sack_permitted = true;
        syn.window_scale = Some(6);
        syn.timestamps = Some(Timestamps { val: 100, ecr: 0 });
        assert_eq!(
            show_options(&options_of(&syn, OptionLayout::FreeBsd)),
            " <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>"
        );
        let mut synack = Segment::new(1, 2, Seq(0), Seq(0), Flags::SYN | Flags::ACK);
        synack.mss = Some(1460);
        synack.sack_permitted = true;
        assert_eq!(
            show_options(&options_of(&synack, OptionLayout::FreeBsd)),
            " <mss 1460,sackOK,eol,eol>"
        );
        synack.sack_permitted = false;
        assert_eq!(
            show_options(&options_of(&synack, OptionLayout::FreeBsd)),
            " <mss 1460>"
        );
    }

    #[test]
    fn windows_scale_only_once_both_syns_offered_a_scale() {
        let mut wire = Wire::default();
        let spec = |win, options| SegmentSpec {
            inbound: true,
            flags: ".".into(),
            ecn_flags: String::new(),
            urgent: false,
            start: Some(1),
            len: 0,
            ack: Some(1),
            win: Some(win),
            options: Some(options),
        };
        assert_eq!(wire.inbound(&spec(257, vec![]), 1, 2).window, 257);
        wire.remote_scale = Some(8);
        wire.local_scale = Some(10);
        assert_eq!(wire.inbound(&spec(257, vec![]), 1, 2).window, 257 * 256);
        let mut ack = Segment::new(2, 1, Seq(1), Seq(1), Flags::ACK);
        ack.window = 64_140;
        assert_eq!(wire.window_field(&ack), 63);
    }
}
