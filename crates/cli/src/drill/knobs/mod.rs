//! What a script's `--` options and backtick commands do to the stack under test: `sysctl`
//! lines (and google/packetdrill's `set_sysctls.py`) set the knobs the model has; every other
//! Linux 6.18 sysctl, and commands with no meaning in the model (`tc`, `ip`, `ethtool`), are
//! accepted and listed with their values as having no effect; a command that needs a feature
//! the model leaves out (the fq qdisc's pacing, `tcp_mtu_probing`) ends the script with
//! `not modelled` when it runs; anything else is an error naming its line. Values are
//! decimal or `0x` hex, with the shell's `$((...))` arithmetic.

mod freebsd;

use super::features::Feature;
use super::parse::{Script, ScriptOption, parse_int};
use freebsd::{FREEBSD_MAXSOCKBUF, FREEBSD_SENDSPACE};
use std::collections::BTreeSet;
use std::path::Path;
use synack_kernel::SimDuration;
use synack_tcp::host::{HostConfig, Profile, SynCookies, SysctlDialect, TwReuse};
use synack_tcp::{Backoff, Keepalive};

/// Every `net.ipv4.*` and `net.core.*` sysctl of Linux 6.18 (`sysctl -a` on this project's
/// kernel, 6.18.44, without the per-device `conf`, `neigh` and `route` trees): a script may
/// set any of them. Those the model has change it; the rest are accepted and listed, with
/// their values, as having no effect in the model.
const LINUX_SYSCTLS: &str = include_str!("../linux_sysctls.txt");

/// Linux 6.18's buffer defaults, as `sysctl` read them on this project's kernel:
/// `tcp_rmem` 4096 131072 33554432, `rmem_max` 4194304, `tcp_wmem` 4096 16384 4194304,
/// `wmem_max` 4194304.
const LINUX_RMEM: [u64; 3] = [4096, 131_072, 33_554_432];
const LINUX_WMEM: [u64; 3] = [4096, 16_384, 4_194_304];
const LINUX_RMEM_MAX: u64 = 4_194_304;
const LINUX_WMEM_MAX: u64 = 4_194_304;

/// `--` options with no meaning in the model (addresses, devices, output): accepted and
/// listed as not modelled.
const OPTIONS_NOT_MODELLED: &[&str] = &[
    "local_ip",
    "remote_ip",
    "gateway_ip",
    "netmask_ip",
    "mtu",
    "speaker",
    "verbose",
    "non_fatal",
    "dry_run",
    "wire_client",
    "wire_server",
    "wire_server_ip",
    "wire_server_port",
    "wire_client_dev",
    "wire_server_dev",
    "tun_dev",
    "persistent_tun_dev",
    "init_scripts",
    "send_omit_free",
    "define",
    "so_filename",
    "so_flags",
    "ip_version",
    "tcp_ts_ecr_scaled",
];

/// What a script sets before and while it runs.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// The host's configuration.
    pub host: HostConfig,
    /// Keepalive timing a socket gets with SO_KEEPALIVE (`tcp_keepalive_*`).
    pub keepalive: Keepalive,
    /// The listener's port (`--bind_port`, 8080).
    pub bind_port: u16,
    /// The port `connect()` goes to (`--connect_port`, 8080).
    pub connect_port: u16,
    /// `--tolerance_usecs` (packetdrill's default 4000).
    pub tolerance_usecs: u64,
    /// `--tolerance_percent`: the tolerance grows to this share of the time since the
    /// previous event (packetdrill's default 12.5).
    pub tolerance_percent: f64,
    /// What the script asked for that the model does not have.
    pub not_modelled: BTreeSet<String>,
    /// Whose sysctl names apply: the profile's.
    pub dialect: SysctlDialect,
    /// `net.ipv4.tcp_fastopen`'s bits (Linux's default 1: a client with a cookie). The
    /// model keeps no cookies, so `sendto(MSG_FASTOPEN)` needs 0x1 and 0x4 (no cookie).
    pub fast_open: u64,
    /// `--tcp_ts_tick_usecs`: when set, the stack's TS val must advance by one per tick of
    /// this many microseconds, within the tolerance (packetdrill checks no TS val without).
    pub ts_tick_usecs: Option<u64>,
    /// `--strict_segments`: segments are never merged to match a longer line.
    pub strict_segments: bool,
    /// `--mss`: packetdrill cooks inbound segments longer than this as GSO packets of
    /// this size, which is what the stack then measures as the peer's segment size.
    pub gso_size: Option<u32>,
    /// `tcp_rmem`, `rmem_max`, `tcp_wmem`, `wmem_max` and `tcp_window_scaling`, from which
    /// Linux derives its SYN's window and window scale and reports SO_RCVBUF and SO_SNDBUF.
    pub rmem: [u64; 3],
    pub rmem_max: u64,
    pub wmem: [u64; 3],
    pub wmem_max: u64,
    pub window_scaling: bool,
    /// A line whose command needs a feature the model leaves out (the fq qdisc's pacing).
    pub needs: Option<(usize, Feature, String)>,
    /// How deep shell scripts named by shell scripts go, now.
    script_depth: usize,
}

/// Shell scripts may name shell scripts this deep (google/packetdrill's go two).
const MAX_SCRIPT_DEPTH: usize = 8;

impl Knobs {
    /// The knobs a profile starts with.
    pub fn new(profile: Profile) -> Self {
        let host = profile.config();
        let dialect = profile.sysctl_dialect();
        let (rmem, rmem_max, wmem, wmem_max) = match dialect {
            SysctlDialect::Linux => (LINUX_RMEM, LINUX_RMEM_MAX, LINUX_WMEM, LINUX_WMEM_MAX),
            // recvspace is the profile's receive buffer; the other numbers are unused.
            SysctlDialect::FreeBsd => (
                [0, u64::from(host.tcp.recv_buffer), FREEBSD_MAXSOCKBUF],
                FREEBSD_MAXSOCKBUF,
                [0, FREEBSD_SENDSPACE, FREEBSD_MAXSOCKBUF],
                FREEBSD_MAXSOCKBUF,
            ),
        };
        Knobs {
            window_scaling: host.tcp.window_scale.is_some(),
            keepalive: host.tcp.keepalive.unwrap_or_default(),
            host,
            bind_port: 8080,
            connect_port: 8080,
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            not_modelled: BTreeSet::new(),
            dialect,
            fast_open: 1,
            ts_tick_usecs: None,
            strict_segments: false,
            gso_size: None,
            rmem,
            rmem_max,
            wmem,
            wmem_max,
            needs: None,
            script_depth: 0,
        }
    }

    /// Linux's SYN window and window scale from the receive buffers
    /// (`tcp_select_initial_window`): the window is half of `tcp_rmem[1]` (the default
    /// `scaling_ratio`), rounded down to the MSS, at most 65535; the scale is the one that
    /// covers the largest buffer the socket may grow to, `max(tcp_rmem[2], rmem_max)`:
    /// `ilog2 - 15`, within 0 to 14. Measured on Linux 6.18: `win 64240`, `wscale 10` under
    /// the defaults above; `win 65535`, `wscale 8` under google/packetdrill's `defaults.sh`
    /// (`tcp_rmem` 4096 540000 15728640).
    pub(super) fn derive_windows(&mut self) {
        if self.dialect == SysctlDialect::FreeBsd {
            self.derive_freebsd_windows();
            return;
        }
        let tcp = &mut self.host.tcp;
        let mss = u64::from(tcp.mss).max(1);
        let space = self.rmem[1] / 2;
        let rounded = if space > mss {
            space / mss * mss
        } else {
            space
        };
        tcp.syn_window = Some(rounded.min(65_535) as u32);
        tcp.window_scale = self.window_scaling.then(|| {
            let largest = space.max(self.rmem[2]).max(self.rmem_max).max(1);
            (largest.ilog2().saturating_sub(15)).min(14) as u8
        });
    }

    /// Applies the script's options and init command.
    pub fn configure(&mut self, script: &Script, dir: &Path) -> Result<(), String> {
        for option in &script.options {
            self.option(option)?;
        }
        if let Some((line, command)) = &script.init {
            self.command(command, *line, dir)?;
        }
        Ok(())
    }

    fn option(&mut self, option: &ScriptOption) -> Result<(), String> {
        let ScriptOption { line, name, value } = option;
        let value = value.as_deref().unwrap_or("");
        let bad = |form: &str| format!("line {line}: --{name}={value}: expected {form}");
        match name.as_str() {
            "tolerance_usecs" => {
                self.tolerance_usecs = value.parse().map_err(|_| bad("microseconds"))?
            }
            "tolerance_percent" => {
                self.tolerance_percent = value
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=100.0).contains(p))
                    .ok_or_else(|| bad("a percentage in [0, 100]"))?
            }
            "bind_port" => self.bind_port = value.parse().map_err(|_| bad("a port"))?,
            "connect_port" => self.connect_port = value.parse().map_err(|_| bad("a port"))?,
            "ip_version" if value == "ipv4" => {}
            "tcp_ts_tick_usecs" => {
                self.ts_tick_usecs = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&t: &u64| t > 0)
                        .ok_or_else(|| bad("microseconds, more than 0"))?,
                )
            }
            "strict_segments" => self.strict_segments = true,
            "mss" => {
                self.gso_size = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&m: &u32| (1..=65_535).contains(&m))
                        .ok_or_else(|| bad("bytes, 1 to 65535"))?,
                )
            }
            other if OPTIONS_NOT_MODELLED.contains(&other) => {
                self.not_modelled.insert(format!("--{name}={value}"));
            }
            _ => {
                return Err(format!(
                    "line {line}: unsupported option --{name}: expected tolerance_usecs, \
                     tolerance_percent, bind_port, connect_port, ip_version, \
                     tcp_ts_tick_usecs, strict_segments, mss or one of {}",
                    OPTIONS_NOT_MODELLED.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Runs a backtick command: `sysctl` lines, a shell script of them, or a command with
    /// no meaning in the model.
    pub fn command(&mut self, text: &str, line: usize, dir: &Path) -> Result<(), String> {
        let text = expand_arithmetic(&text.replace("\\\n", " "), line)?;
        for piece in text.split([';', '\n']).flat_map(|p| p.split("&&")) {
            let words = shell_words(piece);
            let Some(first) = words.first() else {
                continue;
            };
            match first.as_str() {
                "sysctl" => self.sysctl(&words[1..], line)?,
                "tc" if words.iter().any(|w| w == "fq") && self.needs.is_none() => {
                    self.needs = Some((line, Feature::Pacing, words.join(" ")));
                }
                // sendfile's test file, made in /tmp (`rm -f /tmp/f`, `dd ... of=/tmp/f`):
                // the model has no files.
                "/bin/rm" | "rm" | "/bin/dd" | "dd"
                    if words[1..].iter().any(|w| w.contains("/tmp/"))
                        && words[1..].iter().all(|w| {
                            w.starts_with('-') || w.contains("/tmp/") || w.contains('=')
                        }) =>
                {
                    self.not_modelled.insert(format!("`{}`", words.join(" ")));
                }
                // `ethtool -K tun0 tso off gso off`: the script reads each segment of
                // Linux's TSO packets, and their PSH flags.
                "ethtool"
                    if words.iter().any(|w| w == "tso" || w == "gso") && self.needs.is_none() =>
                {
                    self.needs = Some((line, Feature::TsoPackets, words.join(" ")));
                }
                "tc" | "ip" | "ethtool" | "ulimit" | "echo" | "true" => {
                    self.not_modelled.insert(format!("`{}`", words.join(" ")));
                }
                // google/packetdrill's helper: `set_sysctls.py /proc/sys/net/ipv4/X=V ...`.
                script if script.ends_with("set_sysctls.py") => {
                    let names: Vec<String> = words[1..]
                        .iter()
                        .map(|w| w.trim_start_matches("/proc/sys/").replacen('/', ".", 2))
                        .collect();
                    self.sysctl(&names, line)?
                }
                // The restore script set_sysctls.py leaves for the cleanup command.
                script if script.starts_with("/tmp/sysctl_restore_") => {
                    self.not_modelled.insert(format!("`{script}`"));
                }
                script if script.ends_with(".sh") => self.shell_script(script, line, dir)?,
                other => {
                    return Err(format!(
                        "line {line}: unsupported command `{other}`: expected sysctl, a .sh \
                         script of sysctl lines, set_sysctls.py, or tc, ip, ethtool (no effect \
                         in the model)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// A shell script named in backticks (`../common/defaults.sh`): its commands, as if
    /// written in the script.
    fn shell_script(&mut self, path: &str, line: usize, dir: &Path) -> Result<(), String> {
        let full = dir.join(path);
        // A script that names itself (as a copy of a symlink can) must not recurse forever.
        self.script_depth += 1;
        if self.script_depth > MAX_SCRIPT_DEPTH {
            return Err(format!(
                "line {line}: {}: shell scripts nested more than {MAX_SCRIPT_DEPTH} deep",
                full.display()
            ));
        }
        let result = self.shell_script_lines(&full, line, dir);
        self.script_depth -= 1;
        result
    }

    fn shell_script_lines(&mut self, full: &Path, line: usize, dir: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(full)
            .map_err(|e| format!("line {line}: cannot read {}: {e}", full.display()))?;
        for body in text.lines() {
            let body = body.trim();
            if body.is_empty() || body.starts_with('#') || body.starts_with("set ") {
                continue;
            }
            self.command(body, line, full.parent().unwrap_or(dir))?;
        }
        Ok(())
    }

    fn sysctl(&mut self, args: &[String], line: usize) -> Result<(), String> {
        let mut any = false;
        for arg in args.iter().filter(|a| !a.starts_with('-')) {
            let (name, value) = arg.split_once('=').ok_or_else(|| {
                format!("line {line}: sysctl {arg}: expected NAME=VALUE (reading is not supported)")
            })?;
            // sysctl takes `net/ipv4/x` as well as `net.ipv4.x`.
            let name = name.trim().replace('/', ".");
            self.set(&name, value.trim().trim_matches('"'), line)?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(format!("line {line}: sysctl with no NAME=VALUE"))
        }
    }

    /// Sets one sysctl by its full name.
    fn set(&mut self, name: &str, value: &str, line: usize) -> Result<(), String> {
        if name.starts_with("net.inet.") || name.starts_with("kern.ipc.") {
            if self.dialect != SysctlDialect::FreeBsd {
                return Err(format!(
                    "line {line}: sysctl {name}: FreeBSD names need --profile freebsd or macos"
                ));
            }
            return self.set_freebsd(name, value, line);
        }
        if name.starts_with("net.mptcp.") || name.starts_with("net.ipv6.") {
            self.not_modelled.insert(format!("{name}={value}"));
            return Ok(());
        }
        let short = name
            .strip_prefix("net.ipv4.")
            .or_else(|| name.strip_prefix("net.core."))
            .ok_or_else(|| {
                format!("line {line}: unsupported sysctl {name}: expected net.ipv4.*, net.core.*, net.mptcp.* or net.ipv6.*")
            })?;
        let modelled = self
            .set_linux(short, value)
            .map_err(|form| format!("line {line}: sysctl {name}={value}: expected {form}"))?;
        if short == "tcp_mtu_probing" && value != "0" && self.needs.is_none() {
            self.needs = Some((line, Feature::IcmpPathMtu, format!("{name}={value}")));
        }
        if modelled.is_none() {
            if !LINUX_SYSCTLS.lines().any(|known| known == name) {
                return Err(format!(
                    "line {line}: unsupported sysctl {name}: Linux 6.18 has no such knob"
                ));
            }
            self.not_modelled.insert(format!("{name}={value}"));
        }
        if matches!(short, "tcp_rmem" | "rmem_max" | "tcp_window_scaling") {
            self.derive_windows();
        }
        Ok(())
    }

    /// A Linux knob the model has: `Ok(None)` when there is no such knob.
    fn set_linux(&mut self, name: &str, value: &str) -> Result<Option<()>, String> {
        let num = |form: &str| parse_number(value).ok_or_else(|| form.to_string());
        let triple = || -> Result<[u64; 3], String> {
            let parts: Vec<u64> = value.split_whitespace().filter_map(parse_number).collect();
            <[u64; 3]>::try_from(parts).map_err(|_| "\"MIN DEFAULT MAX\"".to_string())
        };
        let switch = || match value {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err("0 or 1".to_string()),
        };
        let host = &mut self.host;
        let tcp = &mut host.tcp;
        match name {
            "tcp_syn_retries" => tcp.syn_retries = num("a count")? as u32,
            "tcp_synack_retries" => tcp.synack_retries = num("a count")? as u32,
            "tcp_retries2" => tcp.data_retries = num("a count")? as u32,
            // tcp_orphan_retries(): 0 means 8.
            "tcp_orphan_retries" => {
                tcp.orphan_retries = Some(match num("a count")? as u32 {
                    0 => 8,
                    n => n,
                })
            }
            "tcp_syn_linear_timeouts" => {
                tcp.syn_backoff = match num("a count")? {
                    0 => Backoff::Doubling,
                    n => Backoff::LinearThenDoubling { linear: n as u32 },
                }
            }
            "tcp_syncookies" => {
                host.syncookies = match value {
                    "0" => SynCookies::Off,
                    "1" => SynCookies::WhenFull,
                    "2" => SynCookies::Always,
                    _ => return Err("0, 1 or 2".into()),
                }
            }
            "tcp_rfc1337" => tcp.rfc1337 = switch()?,
            "tcp_tw_reuse" => {
                host.tw_reuse = match value {
                    "0" => TwReuse::Off,
                    "1" => TwReuse::On,
                    "2" => TwReuse::LoopbackOnly,
                    _ => return Err("0, 1 or 2".into()),
                }
            }
            "tcp_fin_timeout" => tcp.fin_wait_2_timeout = SimDuration::from_secs(num("seconds")?),
            "tcp_abort_on_overflow" => host.abort_on_overflow = switch()?,
            "tcp_max_syn_backlog" => host.max_syn_backlog = num("a count")? as u32,
            "tcp_max_tw_buckets" => host.max_time_wait = num("a count")? as u32,
            "somaxconn" => host.somaxconn = num("a count")? as u32,
            "tcp_timestamps" => tcp.timestamps = switch()?,
            "tcp_fastopen" => self.fast_open = num("a bit mask, e.g. 5")?,
            "tcp_sack" => tcp.sack_permitted = switch()?,
            "tcp_window_scaling" => self.window_scaling = switch()?,
            "tcp_rmem" => self.rmem = triple()?,
            "tcp_wmem" => self.wmem = triple()?,
            "rmem_max" => self.rmem_max = num("bytes")?,
            "wmem_max" => self.wmem_max = num("bytes")?,
            "tcp_invalid_ratelimit" => {
                let ms = num("milliseconds")?;
                tcp.invalid_ack_interval = (ms > 0).then(|| SimDuration::from_millis(ms));
            }
            "tcp_rto_min_us" => tcp.rto_min = SimDuration::from_micros(num("microseconds")?),
            "tcp_rto_max_ms" => tcp.rto_max = SimDuration::from_millis(num("milliseconds")?),
            "tcp_keepalive_time" => self.keepalive.idle = SimDuration::from_secs(num("seconds")?),
            "tcp_keepalive_intvl" => {
                self.keepalive.interval = SimDuration::from_secs(num("seconds")?)
            }
            "tcp_keepalive_probes" => self.keepalive.probes = num("a count")? as u32,
            "ip_local_port_range" => {
                let parts: Vec<u16> = value
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                match parts.as_slice() {
                    [low, high] => host.ephemeral_ports = (*low, *high),
                    _ => return Err("\"LOW HIGH\"".into()),
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(()))
    }

    /// Checks the configuration after every change.
    pub fn validate(&self) -> Result<(), String> {
        self.host.validate().map_err(|e| format!("sysctl: {e}"))
    }
}

/// A sysctl value as the shell hands it over: decimal, or hex with `0x` (`0x70403`).
pub(super) fn parse_number(text: &str) -> Option<u64> {
    parse_int(text).and_then(|n| u64::try_from(n).ok())
}

/// Evaluates the shell's `$((...))` arithmetic of whole numbers with `*`, `+` and `-`
/// (`$((15*1024*1024))` in google/packetdrill's `defaults.sh`).
fn expand_arithmetic(text: &str, line: usize) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$((") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 3..];
        let end = tail
            .find("))")
            .ok_or_else(|| format!("line {line}: unclosed $((: expected $((EXPRESSION))"))?;
        let expr = &tail[..end];
        let value = eval_sum(expr).ok_or_else(|| {
            format!("line {line}: $(({expr})): expected whole numbers joined by *, + and -")
        })?;
        out.push_str(&value.to_string());
        rest = &tail[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn eval_sum(expr: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut sign = 1i64;
    let mut term = String::new();
    let product = |t: &str| -> Option<i64> {
        t.split('*')
            .map(|f| f.trim().parse::<i64>().ok())
            .try_fold(1i64, |acc, f| acc.checked_mul(f?))
    };
    for c in expr.chars().chain(std::iter::once('+')) {
        match c {
            '+' | '-' => {
                if !term.trim().is_empty() {
                    total = total.checked_add(sign * product(&term)?)?;
                }
                term.clear();
                sign = if c == '-' { -1 } else { 1 };
            }
            c => term.push(c),
        }
    }
    Some(total)
}

/// Splits a shell command into words: whitespace outside double quotes; redirections
/// (`> /dev/null`, `2>&1`) are dropped.
fn shell_words(text: &str) -> Vec<String> {
    let (mut words, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut kept = Vec::new();
    let mut skip_next = false;
    // A word that starts with `#` starts a comment, to the end of the line.
    let words = words.into_iter().take_while(|w| !w.starts_with('#'));
    for w in words {
        if skip_next {
            skip_next = false;
        } else if w == ">" || w == "2>" || w == ">>" {
            skip_next = true;
        } else if !(w.starts_with('>') || w.starts_with("2>")) {
            kept.push(w);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux() -> Knobs {
        Knobs::new(Profile::Linux)
    }

    #[test]
    fn sysctl_lists_set_each_knob_and_list_what_is_not_modelled() {
        let mut k = linux();
        k.command(
            "sysctl -q net.ipv4.tcp_syn_retries=3; sysctl -q net.ipv4.tcp_ecn=1 net.ipv4.tcp_rfc1337=1 && tc qdisc add dev tun0 root pfifo",
            1,
            Path::new("."),
        )
        .unwrap();
        assert_eq!(k.host.tcp.syn_retries, 3);
        assert!(k.host.tcp.rfc1337);
        assert_eq!(
            k.not_modelled.iter().cloned().collect::<Vec<_>>(),
            ["`tc qdisc add dev tun0 root pfifo`", "net.ipv4.tcp_ecn=1"]
        );
    }

    #[test]
    fn unknown_knobs_and_commands_name_their_line() {
        let mut k = linux();
        let e = k.command("sysctl -q net.ipv4.tcp_bogus=1", 7, Path::new("."));
        assert!(
            e.unwrap_err()
                .starts_with("line 7: unsupported sysctl net.ipv4.tcp_bogus")
        );
        let e = k.command("rm -rf /", 3, Path::new("."));
        assert!(
            e.unwrap_err()
                .starts_with("line 3: unsupported command `rm`")
        );
        let e = k.command("sysctl -q net.ipv4.tcp_syncookies=7", 2, Path::new("."));
        assert_eq!(
            e.unwrap_err(),
            "line 2: sysctl net.ipv4.tcp_syncookies=7: expected 0, 1 or 2"
        );
    }

    #[test]
    fn a_shell_script_of_sysctls_is_read() {
        let dir = std::env::temp_dir().join(format!("synack-knobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("defaults.sh"),
            "#!/bin/bash\n# comment\nip tcp_metrics flush all > /dev/null 2>&1\n\
             sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((15*1024*1024))\"\n\
             sysctl -q net.ipv4.tcp_synack_retries=4\n",
        )
        .unwrap();
        let mut k = linux();
        k.command("./defaults.sh", 1, &dir).unwrap();
        assert_eq!(k.host.tcp.synack_retries, 4);
        assert!(k.not_modelled.contains("`ip tcp_metrics flush all`"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
