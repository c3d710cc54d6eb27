//! Segments as the endpoint sees them: header fields, options, and the identity of the
//! payload (bytes are counted, not stored).

use crate::Seq;
use std::fmt;

/// TCP control flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);
    /// FIN.
    pub const FIN: Flags = Flags(0x01);
    /// SYN.
    pub const SYN: Flags = Flags(0x02);
    /// RST.
    pub const RST: Flags = Flags(0x04);
    /// PSH.
    pub const PSH: Flags = Flags(0x08);
    /// ACK.
    pub const ACK: Flags = Flags(0x10);

    /// Whether every flag of `other` is set.
    pub const fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits as in the TCP header.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Flags from the header bits (others ignored).
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits & 0x1f)
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

/// packetdrill's notation: `S`, `S.`, `F.`, `R`, `R.`, `P.`, `.`, or `-` for none.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for (flag, c) in [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
        ] {
            if self.has(flag) {
                s.push(c);
            }
        }
        if self.has(Flags::ACK) {
            s.push('.');
        }
        f.write_str(if s.is_empty() { "-" } else { &s })
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Who sent a payload byte and where it belongs: the sender's incarnation (one per
/// connection endpoint) and the stream offset of the segment's first byte. Receivers use it
/// to prove exactly-once, in-order delivery, and to catch bytes from an earlier
/// incarnation of the same 4-tuple. Real TCP cannot see it; the model never acts on it.
///
/// Packed to 4-byte alignment: 12 bytes instead of 16, which makes a segment 52 bytes and a
/// datagram 68. Read the fields by value (`id.offset`); a reference to `offset` is not
/// allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(C, packed(4))]
pub struct DataId {
    /// The sending endpoint's incarnation.
    pub incarnation: u32,
    /// Stream offset of the first payload byte (0 is the first byte after the SYN).
    pub offset: u64,
}

/// The timestamps option (RFC 7323).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamps {
    /// TSval: the sender's timestamp clock.
    pub val: u32,
    /// TSecr: the latest TSval received.
    pub ecr: u32,
}

/// One TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first octet (of the SYN, for a SYN).
    pub seq: Seq,
    /// Acknowledgment number; meaningful with ACK.
    pub ack: Seq,
    /// Control flags.
    pub flags: Flags,
    /// Receive window, in bytes (the model does not scale windows: this is the real size).
    pub window: u32,
    /// Payload bytes.
    pub len: u32,
    /// Identity of the payload's first byte.
    pub data: DataId,
    /// The MSS option (SYN segments).
    pub mss: Option<u16>,
    /// The timestamps option.
    pub timestamps: Option<Timestamps>,
    /// The window-scale option (RFC 7323), SYN segments only. Windows inside the model are
    /// real byte counts; the scale only says how they go on the wire.
    pub window_scale: Option<u8>,
    /// The SACK-permitted option (RFC 2018), SYN segments only. SACK itself is not modelled.
    pub sack_permitted: bool,
}

impl Segment {
    /// A bare segment with the given numbers and flags.
    pub fn new(src_port: u16, dst_port: u16, seq: Seq, ack: Seq, flags: Flags) -> Self {
        Segment {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window: 0,
            len: 0,
            data: DataId::default(),
            mss: None,
            timestamps: None,
            window_scale: None,
            sack_permitted: false,
        }
    }

    /// SEG.LEN: payload plus one for SYN and one for FIN.
    pub fn seg_len(&self) -> u32 {
        self.len + u32::from(self.flags.has(Flags::SYN)) + u32::from(self.flags.has(Flags::FIN))
    }

    /// Whether the flag is set.
    pub fn has(&self, flag: Flags) -> bool {
        self.flags.has(flag)
    }
}

/// packetdrill-like: `S. 0:0(0) ack 1 win 65535`.
impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}:{}({})",
            self.flags,
            self.seq,
            self.seq + self.len,
            self.len
        )?;
        if self.has(Flags::ACK) {
            write!(f, " ack {}", self.ack)?;
        }
        write!(f, " win {}", self.window)
    }
}

/// RFC 9293's reply to a segment for which no connection exists (state CLOSED): nothing to
/// a RST; `<SEQ=SEG.ACK><CTL=RST>` to a segment with ACK; otherwise
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
pub fn closed_reply(seg: &Segment) -> Option<Segment> {
    if seg.has(Flags::RST) {
        return None;
    }
    Some(if seg.has(Flags::ACK) {
        Segment::new(seg.dst_port, seg.src_port, seg.ack, Seq(0), Flags::RST)
    } else {
        Segment::new(
            seg.dst_port,
            seg.src_port,
            Seq(0),
            seg.seq + seg.seg_len(),
            Flags::RST | Flags::ACK,
        )
    })
}
