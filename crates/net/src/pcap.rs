//! pcap traces, one file per link, that Wireshark and tshark read: LINKTYPE_RAW (IPv4),
//! nanosecond timestamps, real IPv4 and TCP headers with correct checksums, the MSS and
//! timestamps options where segments carry them, and zero bytes for the payload (the model
//! counts bytes, it does not store them).
//!
//! A packet is captured when a host sends it onto the link, as tcpdump on the sending
//! interface sees it: so drops later on the link still show, and the retransmissions in the
//! capture are exactly the sender's. The model does not scale windows; a window above 65535
//! is written as 65535.

use crate::trace::PendingFile;
use crate::{Observer, SegmentFate};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use synack_kernel::SimTime;
use synack_link::Way;
use synack_tcp::host::Datagram;
use synack_tcp::{Flags, FourTuple, Segment, Transition};

const LINKTYPE_RAW: u32 = 101;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

struct File_ {
    file: PendingFile,
    ip_id: u16,
}

/// One pcap file per link, in a directory.
pub struct PcapTrace {
    dir: PathBuf,
    files: BTreeMap<String, File_>,
    error: Option<std::io::Error>,
}

fn sum16(bytes: &[u8], mut acc: u32) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn tcp_options(s: &Segment) -> Vec<u8> {
    let mut o = Vec::new();
    if let Some(mss) = s.mss {
        o.extend([2, 4]);
        o.extend(mss.to_be_bytes());
    }
    if let Some(ts) = s.timestamps {
        o.extend([1, 1, 8, 10]);
        o.extend(ts.val.to_be_bytes());
        o.extend(ts.ecr.to_be_bytes());
    }
    while o.len() % 4 != 0 {
        o.push(1);
    }
    o
}

/// The IPv4 packet of a datagram, payload as zeros.
pub fn packet(d: &Datagram, ip_id: u16) -> Vec<u8> {
    let s = &d.segment;
    let options = tcp_options(s);
    let tcp_len = 20 + options.len() + s.len as usize;
    let total = 20 + tcp_len;
    let mut p = Vec::with_capacity(total);
    // IPv4 header.
    p.extend([0x45, 0]);
    p.extend((total.min(65535) as u16).to_be_bytes());
    p.extend(ip_id.to_be_bytes());
    p.extend([0x40, 0, 64, 6, 0, 0]);
    p.extend(d.src.to_be_bytes());
    p.extend(d.dst.to_be_bytes());
    let ip_checksum = fold(sum16(&p[..20], 0));
    p[10..12].copy_from_slice(&ip_checksum.to_be_bytes());
    // TCP header.
    let tcp_start = p.len();
    p.extend(s.src_port.to_be_bytes());
    p.extend(s.dst_port.to_be_bytes());
    p.extend(s.seq.0.to_be_bytes());
    p.extend((if s.has(Flags::ACK) { s.ack.0 } else { 0 }).to_be_bytes());
    p.push(((5 + options.len() / 4) as u8) << 4);
    p.push(s.flags.bits());
    p.extend((s.window.min(65535) as u16).to_be_bytes());
    p.extend([0, 0, 0, 0]);
    p.extend(&options);
    p.resize(total, 0);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend(d.src.to_be_bytes());
    pseudo.extend(d.dst.to_be_bytes());
    pseudo.extend([0, 6]);
    pseudo.extend((tcp_len as u16).to_be_bytes());
    let tcp_checksum = fold(sum16(&p[tcp_start..], sum16(&pseudo, 0)));
    p[tcp_start + 16..tcp_start + 18].copy_from_slice(&tcp_checksum.to_be_bytes());
    p
}

impl PcapTrace {
    /// Traces into `dir` (one `<link>.pcap` per link, created as packets come).
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(PcapTrace {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            error: None,
        })
    }

    /// Traces into `dir`, with a `<link>.pcap` for each of `links` from the start: a link
    /// that carries nothing still gets its (empty) capture.
    pub fn create_for(dir: &Path, links: &[String]) -> std::io::Result<Self> {
        let mut trace = PcapTrace::create(dir)?;
        for link in links {
            trace.file(link)?;
        }
        Ok(trace)
    }

    fn file(&mut self, link: &str) -> std::io::Result<&mut File_> {
        if !self.files.contains_key(link) {
            let mut file = PendingFile::create(&self.dir.join(format!("{link}.pcap")))?;
            let out = file.out();
            out.write_all(&MAGIC_NANOS.to_le_bytes())?;
            out.write_all(&2u16.to_le_bytes())?;
            out.write_all(&4u16.to_le_bytes())?;
            out.write_all(&[0; 8])?;
            out.write_all(&65535u32.to_le_bytes())?;
            out.write_all(&LINKTYPE_RAW.to_le_bytes())?;
            self.files
                .insert(link.to_string(), File_ { file, ip_id: 0 });
        }
        Ok(self.files.get_mut(link).expect("inserted"))
    }

    fn write(&mut self, at: SimTime, link: &str, d: &Datagram) -> std::io::Result<()> {
        let f = self.file(link)?;
        f.ip_id = f.ip_id.wrapping_add(1);
        let bytes = packet(d, f.ip_id);
        let ns = at.as_nanos();
        let out = f.file.out();
        out.write_all(&((ns / 1_000_000_000) as u32).to_le_bytes())?;
        out.write_all(&((ns % 1_000_000_000) as u32).to_le_bytes())?;
        let len = (bytes.len() as u32).to_le_bytes();
        out.write_all(&len)?;
        out.write_all(&len)?;
        out.write_all(&bytes)
    }
}

impl Observer for PcapTrace {
    fn segment(&mut self, at: SimTime, link: &str, _way: Way, d: &Datagram, fate: SegmentFate) {
        if fate == SegmentFate::Sent
            && let Err(e) = self.write(at, link, d)
        {
            self.error.get_or_insert(e);
        }
    }

    fn transition(&mut self, _node: &str, _tuple: &FourTuple, _t: &Transition) {}

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let trace = *self;
        if let Some(e) = trace.error {
            return Err(e);
        }
        for (_, f) in trace.files {
            f.file.finish()?;
        }
        Ok(())
    }
}

/// Several observers at once.
pub struct Tee(pub Vec<Box<dyn Observer>>);

impl Observer for Tee {
    fn segment(&mut self, at: SimTime, link: &str, way: Way, d: &Datagram, fate: SegmentFate) {
        for o in &mut self.0 {
            o.segment(at, link, way, d, fate);
        }
    }

    fn transition(&mut self, node: &str, tuple: &FourTuple, t: &Transition) {
        for o in &mut self.0 {
            o.transition(node, tuple, t);
        }
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        for o in self.0 {
            o.finish()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_tcp::{Seq, Timestamps};

    #[test]
    fn checksums_verify() {
        let mut s = Segment::new(40000, 80, Seq(1), Seq(0), Flags::SYN);
        s.mss = Some(1460);
        s.timestamps = Some(Timestamps { val: 7, ecr: 0 });
        s.window = 200_000;
        let p = packet(&Datagram::new(0x0a00_0001, 0x0a00_0101, s), 1);
        assert_eq!(p.len(), 20 + 20 + 16);
        // A correct checksum sums, with itself, to all ones.
        assert_eq!(fold(sum16(&p[..20], 0)), 0);
        let mut pseudo = Vec::new();
        pseudo.extend(0x0a00_0001u32.to_be_bytes());
        pseudo.extend(0x0a00_0101u32.to_be_bytes());
        pseudo.extend([0, 6, 0, 36]);
        assert_eq!(fold(sum16(&p[20..], sum16(&pseudo, 0))), 0);
        assert_eq!(&p[34..36], &[0xff, 0xff], "window clamped to 65535");
    }
}
