//! Traces that stream to disk as the run goes (a long run never holds them in memory):
//! segment fates and state transitions as CSV. Each file is written under a temporary name
//! and renamed when the run finishes, so an interrupted run leaves no partial trace.

use crate::{Observer, SegmentFate};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use synack_kernel::SimTime;
use synack_link::Way;
use synack_tcp::host::Datagram;
use synack_tcp::{Flags, FourTuple, Transition};

fn ip(addr: u32) -> String {
    let b = addr.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn flags(f: Flags) -> String {
    let mut s = String::new();
    for (flag, c) in [
        (Flags::SYN, 'S'),
        (Flags::ACK, 'A'),
        (Flags::FIN, 'F'),
        (Flags::RST, 'R'),
        (Flags::PSH, 'P'),
    ] {
        if f.has(flag) {
            s.push(c);
        }
    }
    s
}

/// An output file written under a temporary name (`<name>.tmp`) and renamed into place by
/// [`PendingFile::finish`]. Dropped unfinished (an error, a run that stops early), it removes
/// its temporary file: no exit path leaves one behind.
pub(crate) struct PendingFile {
    tmp: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
    done: bool,
}

impl PendingFile {
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        Ok(PendingFile {
            out: BufWriter::new(File::create(&tmp)?),
            tmp,
            path: path.to_path_buf(),
            done: false,
        })
    }

    pub(crate) fn out(&mut self) -> &mut BufWriter<File> {
        &mut self.out
    }

    /// Flushes the file and renames it into place.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()?;
        std::fs::rename(&self.tmp, &self.path)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A CSV file begun with its header line.
fn with_header(path: &Path, header: &str) -> std::io::Result<PendingFile> {
    let mut file = PendingFile::create(path)?;
    writeln!(file.out(), "{header}")?;
    Ok(file)
}

/// `segments.csv` and `transitions.csv` in a directory.
pub struct CsvTrace {
    segments: PendingFile,
    transitions: PendingFile,
    error: Option<std::io::Error>,
}

impl CsvTrace {
    /// Starts both traces in `dir`.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(CsvTrace {
            segments: with_header(
                &dir.join("segments.csv"),
                "time_s,link,way,src,dst,src_port,dst_port,flags,seq,ack,len,fate",
            )?,
            transitions: with_header(
                &dir.join("transitions.csv"),
                "time_s,host,local,remote,from,to,cause",
            )?,
            error: None,
        })
    }

    fn keep(&mut self, r: std::io::Result<()>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

fn secs(t: SimTime) -> String {
    format!(
        "{}.{:09}",
        t.as_nanos() / 1_000_000_000,
        t.as_nanos() % 1_000_000_000
    )
}

impl Observer for CsvTrace {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let trace = *self;
        if let Some(e) = trace.error {
            return Err(e);
        }
        trace.segments.finish()?;
        trace.transitions.finish()
    }

    fn segment(&mut self, at: SimTime, link: &str, way: Way, d: &Datagram, fate: SegmentFate) {
        let s = &d.segment;
        let fate = match fate {
            SegmentFate::Sent => "sent".to_string(),
            SegmentFate::Delivered => "delivered".to_string(),
            SegmentFate::Corrupt => "corrupt".to_string(),
            SegmentFate::Duplicated => "duplicated".to_string(),
            SegmentFate::Dropped(cause) => format!("dropped:{}", cause.name()),
        };
        let way = if way == Way::Forward {
            "forward"
        } else {
            "backward"
        };
        let r = writeln!(
            self.segments.out(),
            "{},{link},{way},{},{},{},{},{},{},{},{},{fate}",
            secs(at),
            ip(d.src),
            ip(d.dst),
            s.src_port,
            s.dst_port,
            flags(s.flags),
            s.seq,
            s.ack,
            s.len
        );
        self.keep(r);
    }

    fn transition(&mut self, node: &str, tuple: &FourTuple, t: &Transition) {
        let r = writeln!(
            self.transitions.out(),
            "{},{node},{}:{},{}:{},{},{},{:?}",
            secs(t.at),
            ip(tuple.local_addr),
            tuple.local_port,
            ip(tuple.remote_addr),
            tuple.remote_port,
            t.from,
            t.to,
            t.cause
        );
        self.keep(r);
    }
}

#[cfg(test)]
mod pending_file_tests {
    use super::PendingFile;
    use std::io::Write;

    #[test]
    fn an_unfinished_file_leaves_nothing_and_a_finished_one_is_in_place() {
        let dir = std::env::temp_dir().join(format!("synack-pending-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        let mut file = PendingFile::create(&path).unwrap();
        writeln!(file.out(), "a,b").unwrap();
        assert!(dir.join("out.csv.tmp").exists());
        drop(file);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let mut file = PendingFile::create(&path).unwrap();
        writeln!(file.out(), "a,b").unwrap();
        file.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
