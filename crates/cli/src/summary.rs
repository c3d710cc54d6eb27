//! The summary `synack run` prints: aligned tables a person can read, or with `--json` one
//! JSON document for scripts (the same figures, every counter, no wall-clock time, so one
//! seed gives byte-identical JSON).

use serde_json::{Map, Value, json};
use synack_net::app::{ClientStats, percentile};
use synack_net::{AppSummary, Summary};
use synack_tcp::host::HostCounters;

/// A host's counters by name, in the order the table prints them (every one of them:
/// `HostCounters::named`).
fn counters(c: &HostCounters) -> [(&'static str, u64); HostCounters::COUNT] {
    c.named()
}

/// Rows as aligned columns, two spaces between: the first left-aligned, the others
/// right-aligned as numbers are, or left-aligned too when they are words.
pub fn aligned(rows: &[Vec<String>], numbers: bool) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
    };
    let widths: Vec<usize> = (0..columns).map(|c| width(c).unwrap_or(0)).collect();
    rows.iter()
        .map(|row| {
            let cells = row.iter().enumerate().map(|(c, cell)| match c {
                c if c == 0 || !numbers => format!("{cell:<w$}", w = widths[c]),
                _ => format!("{cell:>w$}", w = widths[c]),
            });
            cells.collect::<Vec<_>>().join("  ").trim_end().to_string()
        })
        .collect()
}

/// The hosts' counters: one row a host, the counters that are zero on every host left out.
pub fn host_table(s: &Summary) -> Vec<String> {
    let all: Vec<(&String, [(&str, u64); HostCounters::COUNT])> =
        s.hosts.iter().map(|(h, c)| (h, counters(c))).collect();
    let shown: Vec<usize> = (0..HostCounters::COUNT)
        .filter(|&i| all.iter().any(|(_, c)| c[i].1 > 0))
        .collect();
    let mut rows = vec![
        std::iter::once("host".to_string())
            .chain(
                shown
                    .iter()
                    .map(|&i| counters(&HostCounters::default())[i].0.to_string()),
            )
            .collect::<Vec<_>>(),
    ];
    for (host, c) in &all {
        let cells = shown.iter().map(|&i| c[i].1.to_string());
        rows.push(std::iter::once(host.to_string()).chain(cells).collect());
    }
    let mut lines = aligned(&rows, true);
    lines.push(format!(
        "({} counters at zero on every host left out; --json gives all)",
        HostCounters::COUNT - shown.len()
    ));
    lines
}

/// Each host's sockets by state at the end.
pub fn census_table(s: &Summary) -> Vec<String> {
    let mut states: Vec<synack_tcp::State> = s
        .sockets
        .iter()
        .flat_map(|(_, c)| c.iter().map(|(state, _)| *state))
        .collect();
    states.sort();
    states.dedup();
    let mut rows = vec![
        std::iter::once("sockets at the end".to_string())
            .chain(states.iter().map(|st| st.name().to_string()))
            .collect::<Vec<_>>(),
    ];
    for (host, census) in &s.sockets {
        let count = |st| census.iter().find(|(x, _)| *x == st).map_or(0, |(_, n)| *n);
        let cells = states.iter().map(|&st| count(st).to_string());
        rows.push(std::iter::once(host.clone()).chain(cells).collect());
    }
    if states.is_empty() {
        return vec!["sockets at the end: none".to_string()];
    }
    aligned(&rows, true)
}

/// The handshake times' p50, p90 and p99, sorted; none when nothing connected.
fn setup_percentiles(c: &ClientStats) -> Option<[f64; 3]> {
    let mut times = c.setup_times_s.clone();
    times.sort_by(f64::total_cmp);
    (!times.is_empty()).then(|| [0.5, 0.9, 0.99].map(|p| percentile(&times, p)))
}

fn client_fields(c: &ClientStats) -> [(&'static str, u64); 9] {
    [
        ("attempted", c.attempted),
        ("not_started", c.not_started),
        ("connected", c.connected),
        ("completed", c.completed),
        ("refused", c.refused),
        ("reset", c.reset),
        ("timed_out", c.timed_out),
        ("handshaking", c.handshaking),
        ("exchanging", c.exchanging),
    ]
}

/// One table per kind of application, each row naming the app and its host.
pub fn app_tables(s: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    let apps = || s.apps.iter().zip(&s.app_hosts).enumerate();
    let clients: Vec<_> = apps()
        .filter_map(|(i, (a, h))| match a {
            AppSummary::Client(c) => Some((i, h, c)),
            _ => None,
        })
        .collect();
    if !clients.is_empty() {
        let mut header = vec!["app".to_string(), "host".to_string()];
        header.extend(client_fields(&ClientStats::default()).map(|(n, _)| n.to_string()));
        header.extend(["setup_p50_s", "setup_p90_s", "setup_p99_s"].map(String::from));
        let mut rows = vec![header];
        for (i, host, c) in clients {
            let mut row = vec![format!("app {i}"), host.clone()];
            row.extend(client_fields(c).map(|(_, v)| v.to_string()));
            match setup_percentiles(c) {
                Some(p) => row.extend(p.map(|t| format!("{t:.6}"))),
                None => row.extend(["-", "-", "-"].map(String::from)),
            }
            rows.push(row);
        }
        lines.extend(aligned(&rows, true));
        lines.push(
            "(handshaking, exchanging: still in progress at the end; setup: - when none connected)"
                .into(),
        );
    }
    let mut others = vec![vec![
        "app".to_string(),
        "host".into(),
        "kind".into(),
        "outcome".into(),
    ]];
    for (i, (app, host)) in apps() {
        let outcome = match app {
            AppSummary::Client(_) => continue,
            AppSummary::Server(v) => format!(
                "accepted {}, responses {}, accept_refused {}",
                v.accepted, v.responses, v.accept_refused
            ),
            AppSummary::Flooder(n) => format!("{n} SYNs sent"),
            AppSummary::Peer(p) => format!(
                "connected {}, failed {}, closed {}",
                p.connected, p.failed, p.closed
            ),
        };
        others.push(vec![
            format!("app {i}"),
            host.clone(),
            kind(app).into(),
            outcome,
        ]);
    }
    if others.len() > 1 {
        lines.extend(aligned(&others, false));
    }
    lines
}

fn kind(app: &AppSummary) -> &'static str {
    match app {
        AppSummary::Client(_) => "client",
        AppSummary::Server(_) => "server",
        AppSummary::Flooder(_) => "flooder",
        AppSummary::Peer(_) => "peer",
    }
}

/// The whole summary as JSON: every counter of every host, each host's sockets by state,
/// each application's figures, and the files written.
pub fn json(name: &str, seed: u64, s: &Summary, files: Value) -> Value {
    let mut hosts = Map::new();
    for ((host, c), (_, census)) in s.hosts.iter().zip(&s.sockets) {
        let counters: Map<String, Value> = counters(c)
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let sockets: Map<String, Value> = census
            .iter()
            .map(|(st, n)| (st.name().to_string(), json!(n)))
            .collect();
        hosts.insert(
            host.clone(),
            json!({"counters": counters, "sockets": sockets}),
        );
    }
    let apps: Vec<Value> = s
        .apps
        .iter()
        .zip(&s.app_hosts)
        .map(|(app, host)| {
            let mut fields = Map::new();
            fields.insert("kind".into(), json!(kind(app)));
            fields.insert("host".into(), json!(host));
            match app {
                AppSummary::Client(c) => {
                    for (k, v) in client_fields(c) {
                        fields.insert(k.into(), json!(v));
                    }
                    let setup = setup_percentiles(c)
                        .map(|[p50, p90, p99]| json!({"p50": p50, "p90": p90, "p99": p99}));
                    fields.insert("setup_s".into(), setup.unwrap_or(Value::Null));
                }
                AppSummary::Server(v) => {
                    fields.insert("accepted".into(), json!(v.accepted));
                    fields.insert("responses".into(), json!(v.responses));
                    fields.insert("accept_refused".into(), json!(v.accept_refused));
                }
                AppSummary::Flooder(n) => {
                    fields.insert("syns_sent".into(), json!(n));
                }
                AppSummary::Peer(p) => {
                    fields.insert("connected".into(), json!(p.connected));
                    fields.insert("failed".into(), json!(p.failed));
                    fields.insert("closed".into(), json!(p.closed));
                }
            }
            Value::Object(fields)
        })
        .collect();
    json!({
        "scenario": name,
        "seed": seed,
        "simulated_s": s.end.as_secs_f64(),
        "events": s.events,
        "hosts": hosts,
        "apps": apps,
        "unroutable_datagrams": s.unroutable,
        "simultaneous_opens": s.simultaneous_opens,
        "simultaneous_closes": s.simultaneous_closes,
        "files": files,
    })
}
