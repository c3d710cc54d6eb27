//! The `server_capacity` experiment's claims: the accept queue overflows exactly when
//! the clients arriving within a second exceed what the server accepts in that second by
//! more than the queue holds; then SYNs are dropped and the p99 response time jumps to
//! the SYN retransmission (a second and more), and fewer connections are accepted per
//! second than the server could.

mod common;

use experiments::server_capacity::ACCEPTS_PER_S;
use experiments::stats::{Z, binomial_band};

#[test]
fn the_accept_queue_overflows_past_accept_rate_plus_queue_and_p99_jumps_to_seconds() {
    let (report, rows) = common::quick_rows(&experiments::server_capacity::ServerCapacity, 37);
    assert_eq!((report.points, report.failed), (24, 0));
    for r in &rows {
        let (clients, backlog) = (r.num("clients"), r.num("backlog"));
        // The fluid bound: zero exactly where none waits a second; above the measurement
        // by no more than the binomial band elsewhere.
        let (slow, bound) = (r.num("slow_fraction"), r.num("slow_predicted"));
        assert_eq!(
            bound,
            experiments::server_capacity::slow_predicted(clients as u64, backlog as u32)
        );
        assert_eq!(slow == 0.0, bound == 0.0, "{r:?}");
        let (_, high) = binomial_band(clients, bound, Z);
        assert!(slow * clients <= high, "{r:?}");
        assert_eq!(r.num("accepted"), clients, "{r:?}");
        assert_eq!(r.num("failed"), 0.0, "{r:?}");
        assert!(r.num("accepted_per_s") <= ACCEPTS_PER_S * 1.01, "{r:?}");
        let excess = clients - ACCEPTS_PER_S;
        let queue = backlog.min(4096.0);
        if excess <= 0.0 {
            assert_eq!(r.num("accept_queue_drops"), 0.0, "{r:?}");
            assert!(r.num("response_p99_s") < 0.05, "{r:?}");
        } else if excess < queue * 0.9 {
            // The queue holds the excess: waits, no drops.
            assert_eq!(r.num("accept_queue_drops"), 0.0, "{r:?}");
            assert!(r.num("response_p99_s") < 1.0, "{r:?}");
        } else if excess > queue * 1.1 {
            assert!(r.num("accept_queue_drops") > 0.0, "{r:?}");
            assert!(r.num("response_p99_s") >= 1.0, "{r:?}");
        }
    }
    // Overflow costs throughput: the server idles while clients wait out SYN timeouts. Past
    // the knee (13,000 clients) a queue of 128 overflows and one of 4096 does not. (At
    // 20,000 both overflow, and the Linux clients' SYN retransmissions, bunched by their
    // timer wheel into 32 ms buckets, overflow again: every backlog then ends at the same
    // rate.)
    let rate = |backlog: f64| {
        rows.iter()
            .find(|r| r.num("backlog") == backlog && r.num("clients") == 13_000.0)
            .map(|r| r.num("accepted_per_s"))
            .expect("a row")
    };
    assert!(
        rate(128.0) < 0.6 * rate(4096.0),
        "{} {}",
        rate(128.0),
        rate(4096.0)
    );
}

/// Same-time events run by a model rule, not by the scheduler's queue: the points where
/// the accept queue overflows (whose drops hinge on simultaneous arrivals) give the same
/// CSV, byte for byte, on every queue.
#[test]
fn overflowing_points_are_byte_identical_on_every_event_queue() {
    let base = std::env::temp_dir().join(format!("synack-queues-{}", std::process::id()));
    let run = |queue: &str| {
        let out = base.join(queue);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_server_capacity"))
            .args(["--quick", "--jobs", "2", "--queue", queue])
            .args(["--set", "backlog=128,1024", "--set", "clients=12000"])
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("server_capacity runs");
        assert!(status.success());
        std::fs::read(out.join("server_capacity.csv")).expect("the CSV")
    };
    let wheel = run("wheel");
    let rows = String::from_utf8(wheel.clone()).unwrap();
    // Both points overflow, so the order of simultaneous arrivals matters.
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|&c| c == "accept_queue_drops")
        .unwrap();
    let drops = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(column).unwrap());
    assert!(
        drops.clone().count() == 2 && drops.clone().all(|d| d != "0"),
        "{rows}"
    );
    assert_eq!(run("heap"), wheel);
    assert_eq!(run("priority-queue"), wheel);
    let _ = std::fs::remove_dir_all(&base);
}

/// The knee on the kernel (scaled: 100 accepts a second, backlog 32): at every client count
/// `listener_load.py capacity` measured, the model's slow fraction (4 seeds pooled) and the
/// kernel's agree within a 95% two-proportion band, and both keep under the fluid bound.
#[test]
fn the_knee_scaled_down_matches_linux() {
    use experiments::kernel_data;
    use experiments::server_capacity::{KERNEL_KNEE_CSV, slow_at, slow_bound};
    let mut points = 0;
    for row in kernel_data::rows(KERNEL_KNEE_CSV) {
        let (clients, backlog, accepts) =
            (row["clients"], row["backlog"] as u32, row["accepts_per_s"]);
        let kernel = row["slow_fraction"];
        let seeds = 4;
        let model: f64 = (0..seeds)
            .map(|seed| slow_at(clients as u64, backlog, accepts, seed).unwrap())
            .sum::<f64>()
            / f64::from(seeds as u32);
        let pooled = (model * f64::from(seeds as u32) + kernel) / f64::from(seeds as u32 + 1);
        let band = Z
            * (pooled
                * (1.0 - pooled)
                * (1.0 / (clients * f64::from(seeds as u32)) + 1.0 / clients))
                .sqrt()
            + 1.0 / clients;
        let bound = slow_bound(clients as u64, backlog, accepts);
        println!(
            "{clients} clients: model {model:.3}, kernel {kernel:.3} (+- {band:.3}), bound {bound:.3}"
        );
        assert!(
            (model - kernel).abs() <= band,
            "{clients} clients: model {model:.3}, kernel {kernel:.3}"
        );
        let (_, high) = binomial_band(clients, bound, Z);
        assert!(
            kernel * clients <= high,
            "{clients} clients: the kernel above the bound"
        );
        points += 1;
    }
    assert!(points >= 5, "the kernel's knee: {points} points");
}
