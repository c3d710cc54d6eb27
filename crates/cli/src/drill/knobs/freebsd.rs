//! FreeBSD's sysctls (`--profile freebsd` and `macos`): its names for the model's knobs, and
//! how FreeBSD derives its SYN's window and window scale from its buffers.

use super::{Knobs, parse_number};
use synack_kernel::SimDuration;
use synack_tcp::host::SynCookies;

/// FreeBSD's `kern.ipc.maxsockbuf` (sys/kern/uipc_sockbuf.c: SB_MAX, 2 MiB), the largest
/// socket buffer, from which its window scale follows.
pub(super) const FREEBSD_MAXSOCKBUF: u64 = 2 * 1024 * 1024;
/// FreeBSD's `net.inet.tcp.sendspace` (tcp_usrreq.c: 32 KiB).
pub(super) const FREEBSD_SENDSPACE: u64 = 32 * 1024;

impl Knobs {
    /// FreeBSD's: the receive buffer is `recvspace`, the SYN offers as much of it as 16 bits
    /// hold, and the window scale is the least that covers the largest buffer,
    /// `kern.ipc.maxsockbuf` (tcp_output.c, tcp_syncache.c: `while (wscale <
    /// TCP_MAX_WINSHIFT && (TCP_MAXWIN << wscale) < sb_max) wscale++`): 6 for 2 MiB, as the
    /// FreeBSD suite's SYNs show (`wscale 6`).
    pub(super) fn derive_freebsd_windows(&mut self) {
        let tcp = &mut self.host.tcp;
        let recvspace = self.rmem[1];
        tcp.recv_buffer = u32::try_from(recvspace).unwrap_or(u32::MAX);
        tcp.syn_window = Some(recvspace.min(65_535) as u32);
        tcp.window_scale = self.window_scaling.then(|| {
            let mut scale = 0u8;
            while scale < 14 && (65_535u64 << scale) < self.rmem_max {
                scale += 1;
            }
            scale
        });
    }

    /// A FreeBSD knob by its full name (`net.inet.tcp.*`, `net.inet.ip.portrange.*`,
    /// `kern.ipc.maxsockbuf`): times in ms.
    pub(super) fn set_freebsd(
        &mut self,
        name: &str,
        value: &str,
        line: usize,
    ) -> Result<(), String> {
        if name == "kern.ipc.maxsockbuf" {
            let max = parse_number(value).filter(|&v| v > 0).ok_or_else(|| {
                format!("line {line}: sysctl {name}={value}: expected bytes, more than 0")
            })?;
            (self.rmem_max, self.wmem_max) = (max, max);
            self.derive_windows();
            return Ok(());
        }
        let Some(short) = name.strip_prefix("net.inet.") else {
            return Err(format!(
                "line {line}: unsupported sysctl {name}: the model has no such knob"
            ));
        };
        let bad = |form: &str| format!("line {line}: sysctl {name}={value}: expected {form}");
        let num = || value.parse::<u64>().map_err(|_| bad("a whole number"));
        let ms = || num().map(SimDuration::from_millis);
        let host = &mut self.host;
        let tcp = &mut host.tcp;
        match short {
            "tcp.msl" => tcp.msl = ms()?,
            "tcp.keepinit" => tcp.connect_timeout = Some(ms()?),
            "tcp.finwait2_timeout" => tcp.fin_wait_2_timeout = ms()?,
            "tcp.rexmit_min" => tcp.rto_min = ms()?,
            "tcp.delacktime" => tcp.delayed_ack = Some(ms()?).filter(|d| d.as_nanos() > 0),
            "tcp.keepidle" => self.keepalive.idle = ms()?,
            "tcp.keepintvl" => self.keepalive.interval = ms()?,
            "tcp.keepcnt" => self.keepalive.probes = num()? as u32,
            "tcp.syncache.rexmtlimit" => tcp.synack_retries = num()? as u32,
            "tcp.syncookies" => {
                host.syncookies = if num()? == 0 {
                    SynCookies::Off
                } else {
                    SynCookies::WhenFull
                }
            }
            "tcp.syncookies_only" if num()? != 0 => host.syncookies = SynCookies::Always,
            "tcp.syncookies_only" => {}
            // RFC 1323's two options together: timestamps and window scaling.
            "tcp.rfc1323" => {
                tcp.timestamps = num()? != 0;
                self.window_scaling = tcp.timestamps;
            }
            "tcp.recvspace" => self.rmem[1] = num()?,
            "tcp.sendspace" => self.wmem[1] = num()?,
            "tcp.rexmit_initial" => tcp.rto_initial = ms()?,
            "tcp.insecure_rst" => tcp.rfc5961 = num()? == 0,
            "tcp.insecure_syn" => tcp.rfc5961_syn = num()? == 0,
            "tcp.drop_synfin" => host.drop_syn_fin = num()? != 0,
            // The model keeps no host cache (per-destination RTT and MSS), so it is empty.
            "tcp.hostcache.purgenow" => {}
            "tcp.sack.enable" => tcp.sack_permitted = num()? != 0,
            "ip.portrange.first" => host.ephemeral_ports.0 = num()? as u16,
            "ip.portrange.last" => host.ephemeral_ports.1 = num()? as u16,
            // 0, the default, is what the model does: closed ports answer with a RST.
            "tcp.blackhole" if num()? == 0 => {}
            "tcp.cc.algorithm"
            | "tcp.ecn.enable"
            | "tcp.blackhole"
            | "tcp.initcwnd_segments"
            | "tcp.rfc3390"
            | "tcp.tso" => {
                self.not_modelled.insert(format!("{name}={value}"));
            }
            _ => {
                return Err(format!(
                    "line {line}: unsupported sysctl {name}: the model has no such knob"
                ));
            }
        }
        if matches!(short, "tcp.rfc1323" | "tcp.recvspace") {
            self.derive_windows();
        }
        Ok(())
    }
}
