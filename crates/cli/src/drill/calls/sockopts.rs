//! Socket options: `setsockopt`, `getsockopt` and `ioctl`, and how a descriptor's options
//! reach its connection.

use super::{Outcome, number};
use crate::drill::features::Feature;
use crate::drill::parse::Call;
use crate::drill::run::{Failure, Fd, FdKind, Runner, errno};
use synack_kernel::SimDuration;
use synack_tcp::host::SysctlDialect;
use synack_tcp::{DEFAULT_MSS, MIN_MSS, TcpConfig};

impl Runner<'_> {
    /// The endpoint configuration a socket gets: the sysctls, then its own options.
    pub(in crate::drill) fn fd_config(&self, fd: &Fd) -> TcpConfig {
        let base = &self.knobs.host.tcp;
        TcpConfig {
            keepalive: fd
                .keepalive_on
                .then(|| fd.keepalive.unwrap_or(self.knobs.keepalive)),
            user_timeout: fd.user_timeout.or(base.user_timeout),
            syn_retries: fd.syn_retries.unwrap_or(base.syn_retries),
            mss: fd.user_mss.map_or(base.mss, |user| user.min(base.mss)),
            ..base.clone()
        }
    }

    /// Gives the socket behind `fd` the configuration its options and the sysctls make.
    pub fn apply_options(&mut self, fd_no: i64) {
        let Some(fd) = self.fds.get(&fd_no) else {
            return;
        };
        let config = self.fd_config(fd);
        match fd.kind {
            FdKind::Conn(id) => {
                let _ = self.host.set_connection_config(id, config, self.now);
            }
            FdKind::Listener => {
                let _ = self.host.set_listener_config(self.knobs.bind_port, config);
            }
            FdKind::Unconnected => {}
        }
    }

    pub(in crate::drill) fn setsockopt(
        &mut self,
        call: &Call,
        fd_no: i64,
        line: usize,
    ) -> Result<Outcome, Failure> {
        let opt = call.args.get(2).cloned().unwrap_or_default();
        let value = call.args.get(3).cloned().unwrap_or_default();
        let Some(mut fd) = self.fds.get(&fd_no).cloned() else {
            return Ok((-1, Some("EBADF")));
        };
        let n = number(Some(&value));
        let need = |what: &str| format!("{opt} with a value [{what}]");
        match (opt.as_str(), n) {
            ("SO_REUSEADDR" | "SO_REUSEPORT", _) => {}
            // Options about addresses, routing marks and the IP header: nothing the model's
            // connections would do differently.
            ("IP_FREEBIND" | "SO_MARK" | "IP_TOS" | "IPV6_TCLASS", _) => {
                self.knobs.not_modelled.insert(format!("setsockopt {opt}"));
            }
            // Linux (sock_setsockopt): the value, at most wmem_max or rmem_max, doubled for
            // its bookkeeping, at least SOCK_MIN_SNDBUF (4608) or SOCK_MIN_RCVBUF (2304).
            // google/packetdrill's tcp-info-sndbuf-limited.pkt: 10000 reads back as 20000.
            // The model's buffers do not follow: listed as having no effect.
            ("SO_SNDBUF", Some(v)) => {
                fd.sndbuf = Some((v.max(0) as u64).min(self.knobs.wmem_max).max(2304) * 2);
                self.knobs.not_modelled.insert(format!("setsockopt {opt}"));
            }
            ("SO_RCVBUF", Some(v)) => {
                fd.rcvbuf = Some((v.max(0) as u64).min(self.knobs.rmem_max).max(1152) * 2);
                self.knobs.not_modelled.insert(format!("setsockopt {opt}"));
            }
            ("TCP_INQ", Some(v)) => fd.inq = v != 0,
            // The model sends what it may at once, as TCP_NODELAY does; Nagle is left out.
            ("TCP_NODELAY", Some(v)) if v != 0 => {}
            ("TCP_NODELAY", _) => {
                return self.not_modelled(line, Feature::NagleCorking, "TCP_NODELAY off");
            }
            // MSG_ZEROCOPY's sends put the same bytes on the wire; only their completions
            // (recvmsg MSG_ERRQUEUE) are left out, and end the script where read.
            ("SO_ZEROCOPY", _) => {}
            ("SO_LINGER", _) => {
                let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                let field = |name: &str| {
                    compact
                        .split([',', '{', '}'])
                        .find_map(|kv| kv.strip_prefix(name)?.parse::<u64>().ok())
                };
                let on = field("onoff=").or(field("l_onoff=")).unwrap_or(0);
                let secs = field("linger=").or(field("l_linger=")).unwrap_or(0);
                fd.linger = (on != 0).then_some(secs);
            }
            ("SO_KEEPALIVE", Some(v)) => fd.keepalive_on = v != 0,
            // Linux (do_tcp_setsockopt): 1 to MAX_TCP_KEEPIDLE and MAX_TCP_KEEPINTVL (32767
            // s), 1 to MAX_TCP_KEEPCNT (127); measured: keepalive_sockopt_bounds.pkt.
            ("TCP_KEEPIDLE" | "TCP_KEEPINTVL", Some(v)) if !(1..=32_767).contains(&v) => {
                return Ok((-1, Some("EINVAL")));
            }
            ("TCP_KEEPCNT", Some(v)) if !(1..=127).contains(&v) => {
                return Ok((-1, Some("EINVAL")));
            }
            ("TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT", Some(v)) => {
                let mut k = fd.keepalive.unwrap_or(self.knobs.keepalive);
                match opt.as_str() {
                    "TCP_KEEPIDLE" => k.idle = SimDuration::from_secs(v as u64),
                    "TCP_KEEPINTVL" => k.interval = SimDuration::from_secs(v as u64),
                    _ => k.probes = v as u32,
                }
                fd.keepalive = Some(k);
            }
            ("TCP_USER_TIMEOUT", Some(v)) => {
                fd.user_timeout = (v > 0).then(|| SimDuration::from_millis(v as u64))
            }
            ("TCP_SYNCNT", Some(v)) => fd.syn_retries = Some(v as u32),
            // Linux (do_tcp_setsockopt): TCP_MIN_MSS (88) to MAX_TCP_WINDOW (32767); measured
            // on Linux 6.18: 87 and 32768 give EINVAL, 1000 makes the SYN-ACK's `mss 1000`.
            ("TCP_MAXSEG", Some(v)) if !(i64::from(MIN_MSS)..=32_767).contains(&v) => {
                return Ok((-1, Some("EINVAL")));
            }
            ("TCP_MAXSEG", Some(v)) => fd.user_mss = Some(v as u16),
            (
                "SO_KEEPALIVE" | "TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT"
                | "TCP_USER_TIMEOUT" | "TCP_SYNCNT" | "SO_SNDBUF" | "SO_RCVBUF" | "TCP_INQ"
                | "TCP_MAXSEG",
                None,
            ) => {
                return self.fail(line, self.now, need("N"), value);
            }
            (other, _) => {
                return self.fail(
                    line,
                    self.now,
                    "SO_REUSEADDR, SO_REUSEPORT, SO_LINGER, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, \
                     SO_ZEROCOPY, SO_MARK, IP_FREEBIND, IP_TOS, TCP_NODELAY, TCP_INQ, \
                     TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, TCP_SYNCNT or \
                     TCP_MAXSEG",
                    format!("{other}: unsupported"),
                );
            }
        }
        self.fds.insert(fd_no, fd);
        self.apply_options(fd_no);
        Ok((0, None))
    }

    pub(in crate::drill) fn getsockopt(
        &mut self,
        call: &Call,
        fd_no: i64,
        line: usize,
    ) -> Result<Outcome, Failure> {
        let opt = call.args.get(2).cloned().unwrap_or_default();
        let Some(fd) = self.fds.get(&fd_no).cloned() else {
            return Ok((-1, Some("EBADF")));
        };
        let want = call
            .args
            .get(3)
            .map(|a| a.trim_matches(|c| c == '[' || c == ']').to_string())
            .unwrap_or_default();
        let got = match opt.as_str() {
            "SO_ERROR" => match fd.kind {
                FdKind::Conn(id) => self
                    .errors
                    .remove(&id)
                    .map_or("0".to_string(), |k| errno(k).to_string()),
                _ => "0".to_string(),
            },
            // Linux doubles the buffer sizes it reports; tcp_rmem[1] and tcp_wmem[1] by
            // default (measured on Linux 6.18: 131072 and 16384).
            "SO_RCVBUF" => match (fd.rcvbuf, fd.kind, self.knobs.dialect) {
                (Some(set), _, _) => set.to_string(),
                // FreeBSD grows the buffer to a multiple of the MSS (ReceiveWindow::FreeBsd).
                (None, FdKind::Conn(id), SysctlDialect::FreeBsd) => self
                    .host
                    .connection(id)
                    .map_or(self.knobs.rmem[1], |c| u64::from(c.recv_buffer()))
                    .to_string(),
                (None, _, _) => self.knobs.rmem[1].to_string(),
            },
            "SO_SNDBUF" => fd.sndbuf.unwrap_or(self.knobs.wmem[1]).to_string(),
            "SO_KEEPALIVE" => u8::from(fd.keepalive_on).to_string(),
            "TCP_USER_TIMEOUT" => fd
                .user_timeout
                .map_or(0, |d| d.as_nanos() / 1_000_000)
                .to_string(),
            "TCP_SYNCNT" => fd
                .syn_retries
                .unwrap_or(self.knobs.host.tcp.syn_retries)
                .to_string(),
            // Linux (do_tcp_getsockopt): a connection's segment size (mss_cache); before
            // one, the value set, or TCP_MSS_DEFAULT (536). Measured on Linux 6.18: 536
            // unset, 1000 after setting it, 988 on the accepted connection (timestamps on).
            "TCP_MAXSEG" => match fd.kind {
                FdKind::Conn(id) => self
                    .host
                    .connection(id)
                    .map_or(DEFAULT_MSS, |c| c.send_mss())
                    .to_string(),
                _ => fd.user_mss.unwrap_or(DEFAULT_MSS).to_string(),
            },
            other => {
                return self.fail(
                    line,
                    self.now,
                    "SO_ERROR, SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE, TCP_USER_TIMEOUT, TCP_SYNCNT or \
                     TCP_MAXSEG",
                    format!("{other}: unsupported"),
                );
            }
        };
        // Under FreeBSD, SO_RCVBUF is the connection's own buffer (ReceiveWindow::FreeBsd),
        // the one its window follows; elsewhere both are the profile's numbers.
        let modelled = opt == "SO_RCVBUF" && self.knobs.dialect == SysctlDialect::FreeBsd;
        if matches!(opt.as_str(), "SO_RCVBUF" | "SO_SNDBUF") && !modelled {
            self.knobs
                .not_modelled
                .insert(format!("getsockopt {opt} (the profile's value)"));
        }
        if got != want && want != "..." {
            return self.fail(
                line,
                self.now,
                format!("{opt} [{want}]"),
                format!("[{got}]"),
            );
        }
        Ok((0, None))
    }

    pub(in crate::drill) fn ioctl(
        &mut self,
        call: &Call,
        fd_no: i64,
        line: usize,
    ) -> Result<Outcome, Failure> {
        let id = self.conn(fd_no, line)?;
        let request = call.args.get(1).cloned().unwrap_or_default();
        let conn = self.host.connection(id);
        let got = match request.as_str() {
            "SIOCINQ" | "FIONREAD" => conn.map_or(0, |c| u64::from(c.readable())),
            "SIOCOUTQ" | "TIOCOUTQ" => conn.map_or(0, |c| c.unacknowledged()),
            other => {
                return self.fail(
                    line,
                    self.now,
                    "ioctl(fd, SIOCINQ | SIOCOUTQ, [N])",
                    format!("{other}: unsupported"),
                );
            }
        };
        let want = number(call.args.get(2));
        if want != Some(got as i64) {
            return self.fail(
                line,
                self.now,
                format!("{request} [{}]", call.args.get(2).map_or("", |s| s)),
                format!("[{got}]"),
            );
        }
        Ok((0, None))
    }
}
