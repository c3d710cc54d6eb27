//! `synack profiles`: the OS profiles side by side, with their retry schedules measured by
//! driving each profile's endpoint into a black hole.

use synack_kernel::SimTime;
use synack_tcp::Backoff;
use synack_tcp::host::schedule::{
    Spread, connect_give_up, connect_into_black_hole, half_open_lifetime, synack_to_a_vanished_peer,
};
use synack_tcp::host::{Profile, Setting, SynCookies, TwReuse, keepalive_detection};

fn secs(t: SimTime) -> String {
    let s = t.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.3}")
    }
}

fn list(times: &[SimTime]) -> String {
    times.iter().map(|&t| secs(t)).collect::<Vec<_>>().join(",")
}

/// The shortest and longest, `a-b`, or one value if they are the same.
fn range(spread: Spread) -> String {
    let show = |s: f64| secs(SimTime::from_nanos((s * 1e9).round() as u64));
    if spread.min_s == spread.max_s {
        show(spread.min_s)
    } else {
        format!("{}-{}", show(spread.min_s), show(spread.max_s))
    }
}

fn duration(d: synack_kernel::SimDuration) -> String {
    secs(SimTime::from_nanos(d.as_nanos()))
}

#[derive(clap::Args)]
pub struct ProfilesArgs {
    /// Tab-separated, one row a profile, for scripts.
    #[arg(long)]
    tsv: bool,
}

/// Prints the profiles: the measured retry schedules, then every setting, one row each
/// with a column a profile (or, with --tsv, one row a profile).
pub fn run(args: &ProfilesArgs) {
    let header = [
        "profile",
        "syn_sent_at_s",
        "connect_gives_up_s",
        "synack_sent_at_s",
        "half_open_dropped_s",
        "timer_wheel_hz",
        "connect_gives_up_range_s",
        "half_open_range_s",
        "time_wait_s",
        "msl_s",
        "fin_wait_2_s",
        "keepalive_detect_s",
        "rto_init_min_max_s",
        "delayed_ack_s",
        "fin_ack",
        "syn_data",
        "syn_backoff",
        "ports",
        "somaxconn",
        "max_syn_backlog",
        "syncookies",
        "tw_reuse",
        "max_time_wait",
        "rfc5961",
        "rfc1337",
        "timestamps",
        "checked_against",
        "inherited_from_linux",
    ];
    let mut rows = vec![header.map(str::to_string).to_vec()];
    for profile in Profile::ALL {
        let p = profile.config();
        let connect = connect_into_black_hole(&p);
        let synack = synack_to_a_vanished_peer(&p);
        let t = &p.tcp;
        let keepalive = t.keepalive.unwrap_or_default();
        let backoff = match &t.syn_backoff {
            Backoff::Doubling => "doubling".to_string(),
            Backoff::LinearThenDoubling { linear } => format!("linear{linear}+doubling"),
            Backoff::Table(_) => "table".to_string(),
        };
        let row = [
            profile.name().to_string(),
            list(&connect.sends),
            secs(connect.gives_up),
            list(&synack.sends[1..]),
            secs(synack.gives_up),
            t.timer_wheel
                .map_or("none".to_string(), |wheel| wheel.hz.to_string()),
            range(connect_give_up(&p)),
            range(half_open_lifetime(&p)),
            duration(t.time_wait_length()),
            duration(t.msl),
            duration(t.fin_wait_2_timeout),
            format!(
                "{}{}",
                duration(keepalive_detection(&keepalive)),
                if t.keepalive.is_none() { " (off)" } else { "" }
            ),
            format!(
                "{}/{}/{}",
                duration(t.rto_initial),
                duration(t.rto_min),
                duration(t.rto_max)
            ),
            t.delayed_ack.map_or("none".to_string(), duration),
            if t.delay_fin_ack {
                "delayed"
            } else {
                "at-once"
            }
            .to_string(),
            if t.hold_syn_data { "held" } else { "dropped" }.to_string(),
            backoff,
            format!("{}-{}", p.ephemeral_ports.0, p.ephemeral_ports.1),
            p.somaxconn.to_string(),
            p.max_syn_backlog.to_string(),
            match p.syncookies {
                SynCookies::Off => "off",
                SynCookies::WhenFull => "when-full",
                SynCookies::Always => "always",
            }
            .to_string(),
            match p.tw_reuse {
                TwReuse::Off => "off",
                TwReuse::On => "on",
                TwReuse::LoopbackOnly => "loopback",
            }
            .to_string(),
            p.max_time_wait.to_string(),
            t.rfc5961.to_string(),
            t.rfc1337.to_string(),
            t.timestamps.to_string(),
            profile.checked_against().to_string(),
            inherited_columns(profile).join(","),
        ];
        rows.push(row.to_vec());
    }
    if args.tsv {
        for row in &rows {
            outln!("{}", row.join("\t"));
        }
        return;
    }
    print_readable(&marked(&rows));
}

/// The columns that show a setting.
fn columns(setting: Setting) -> &'static [&'static str] {
    match setting {
        Setting::SynAckRetries => &["synack_sent_at_s", "half_open_dropped_s"],
        Setting::FinWait2Timeout => &["fin_wait_2_s"],
        Setting::Keepalive => &["keepalive_detect_s"],
        Setting::Rto => &["rto_init_min_max_s"],
        Setting::DelayedAck => &["delayed_ack_s"],
        Setting::FinAck => &["fin_ack"],
        Setting::SynData => &["syn_data"],
        Setting::EphemeralPorts => &["ports"],
        Setting::Somaxconn => &["somaxconn"],
        Setting::MaxSynBacklog => &["max_syn_backlog"],
        Setting::SynCookies => &["syncookies"],
        Setting::TwReuse => &["tw_reuse"],
        Setting::MaxTimeWait => &["max_time_wait"],
        Setting::Rfc5961 => &["rfc5961"],
        Setting::Rfc1337 => &["rfc1337"],
        Setting::Timestamps => &["timestamps"],
    }
}

/// The columns of the settings `profile` keeps from Linux, in the order it lists them.
fn inherited_columns(profile: Profile) -> Vec<&'static str> {
    let settings = profile.inherited_from_linux();
    settings.into_iter().flat_map(columns).copied().collect()
}

/// Each value a profile keeps from Linux for want of a source marked with `*`; the list
/// of them (the last column) dropped.
fn marked(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let header = &rows[0];
    let mut out = vec![header[..header.len() - 1].to_vec()];
    for row in &rows[1..] {
        let profile: Profile = row[0].parse().expect("rows are named by their profiles");
        let inherited = inherited_columns(profile);
        let cells = row[..row.len() - 1]
            .iter()
            .zip(header)
            .map(|(value, name)| match inherited.contains(&name.as_str()) {
                true => format!("{value}*"),
                false => value.clone(),
            });
        out.push(cells.collect());
    }
    out
}

/// The schedules (long lists) a line each, then the other settings as an aligned table with
/// a column a profile.
fn print_readable(rows: &[Vec<String>]) {
    let (header, profiles) = (&rows[0], &rows[1..]);
    let schedules = 1..=4;
    outln!("Retry schedules, seconds, measured by driving each profile into a black hole at 0 s");
    outln!("(on a timer wheel they vary with the start: the *_range_s rows below):");
    for p in profiles {
        outln!("  {:<14} SYN at {}; connect fails at {}", p[0], p[1], p[2]);
        outln!(
            "  {:<14} SYN-ACK at {}; half-open request dropped at {}",
            "",
            p[3],
            p[4]
        );
    }
    outln!("");
    let name_width = header.iter().map(String::len).max().unwrap_or(0);
    let widths: Vec<usize> = profiles
        .iter()
        .map(|p| {
            p.iter()
                .enumerate()
                .filter(|(i, _)| !schedules.contains(i))
                .map(|(_, v)| v.len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (i, setting) in header.iter().enumerate() {
        if schedules.contains(&i) {
            continue;
        }
        let mut line = format!("{setting:<name_width$}");
        for (p, width) in profiles.iter().zip(&widths) {
            line.push_str(&format!("  {:<width$}", p[i]));
        }
        outln!("{}", line.trim_end());
    }
    outln!("");
    outln!("* kept from Linux for want of a source for that system (--tsv lists them)");
    outln!("checked_against: kernel = Linux 6.18 (packetdrill corpus, kernel harnesses);");
    outln!("  freebsd-suite = FreeBSD's own state-event suite (timers from the reference sheet);");
    outln!("  sheet = crates/tcp/REFERENCE.md only; rfc = RFC 9293's text");
}
