//! `synack bench`: workloads that match the ns-3 anchor programs, printing `key=value` lines.

use clap::{Args, Subcommand};
use std::time::Instant;
use synack_kernel::hold::{HoldConfig, HoldEvent, HoldModel, HoldPayload, HoldReport};
use synack_kernel::queue::{EventQueue, HeapQueue, IndexedQueue, QueueKind, TimingWheel};
use synack_kernel::{DEFAULT_SEED, SimDuration};
use synack_net::lifecycle::Lifecycle;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// The classic hold model: K events pending, each fired event schedules one more at
    /// now + 1 ns + Exp(mean). Same workload as benches/ns3/ns3_hold.cc.
    Hold(HoldArgs),
    /// Short connections: open, send, close, TIME-WAIT. Same scenario as
    /// benches/ns3/ns3_lifecycle.cc (10 Gbit/s, 1 ms link; connection i at 1 s + i/R).
    Lifecycle(LifecycleArgs),
}

#[derive(Args)]
pub struct LifecycleArgs {
    /// Connections (n).
    #[arg(long, default_value_t = 100_000, value_parser = positive_count, allow_negative_numbers = true)]
    connections: u64,
    /// Connections opened per simulated second.
    #[arg(long, default_value_t = 10_000.0, value_parser = positive_rate, allow_negative_numbers = true)]
    rate: f64,
    /// Maximum segment lifetime, seconds; TIME-WAIT is twice it.
    #[arg(long, default_value_t = 0.05, value_parser = positive_rate, allow_negative_numbers = true)]
    msl: f64,
    /// Bytes each connection sends.
    #[arg(long, default_value_t = 1000, value_parser = positive_count, allow_negative_numbers = true)]
    bytes: u64,
    /// Run seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err("expected a number above 0 (e.g. 10000 or 0.05)".into()),
    }
}

#[derive(Args)]
pub struct HoldArgs {
    /// Events pending at all times (K).
    #[arg(long, default_value_t = 1000, value_parser = positive_count, allow_negative_numbers = true)]
    pending: u64,
    /// Events to fire.
    #[arg(long, default_value_t = 10_000_000, value_parser = positive_count, allow_negative_numbers = true)]
    events: u64,
    /// Event queue: wheel, heap or priority-queue.
    #[arg(long, default_value_t = QueueKind::default())]
    queue: QueueKind,
    /// Mean hold time, in nanoseconds.
    #[arg(long, default_value_t = 1_000_000, value_parser = positive_count, allow_negative_numbers = true)]
    mean_ns: u64,
    /// Also re-arm a timer on every event, cancelling the previous one (timer churn).
    #[arg(long)]
    churn: bool,
    /// Run seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

fn positive_count(s: &str) -> Result<u64, String> {
    match s.replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number of at least 1 (e.g. 1000000 or 1_000_000)".into()),
    }
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Hold(args) => hold(&args),
        BenchCommand::Lifecycle(args) => lifecycle(&args),
    }
}

fn hold(args: &HoldArgs) -> anyhow::Result<()> {
    let config = HoldConfig {
        pending: usize::try_from(args.pending)?,
        events: args.events,
        mean: SimDuration::from_nanos(args.mean_ns),
        churn: args.churn,
        seed: args.seed,
    };
    let (report, wall) = match (args.queue, args.churn) {
        (QueueKind::Wheel, false) => timed_hold::<(), TimingWheel<_>>(config),
        (QueueKind::Heap, false) => timed_hold::<(), HeapQueue<_>>(config),
        (QueueKind::PriorityQueue, false) => timed_hold::<(), IndexedQueue<_>>(config),
        (QueueKind::Wheel, true) => timed_hold::<HoldEvent, TimingWheel<_>>(config),
        (QueueKind::Heap, true) => timed_hold::<HoldEvent, HeapQueue<_>>(config),
        (QueueKind::PriorityQueue, true) => timed_hold::<HoldEvent, IndexedQueue<_>>(config),
    };
    outln!(
        "synack-hold queue={} pending={} events={} churn={} cancelled={} seed={} sim_end_s={:.6} wall={:.3}s events_per_s={:.0}",
        args.queue,
        args.pending,
        report.fired,
        args.churn,
        report.cancelled,
        args.seed,
        report.sim_end_nanos as f64 * 1e-9,
        wall,
        report.fired as f64 / wall,
    );
    Ok(())
}

fn lifecycle(args: &LifecycleArgs) -> anyhow::Result<()> {
    let workload = Lifecycle {
        connections: args.connections,
        rate: args.rate,
        msl: SimDuration::try_from_secs_f64(args.msl)
            .ok_or_else(|| anyhow::anyhow!("--msl: out of range, got {}", args.msl))?,
        bytes: args.bytes,
        seed: args.seed,
    };
    // Built before the clock starts, as the anchor schedules its opens before timing.
    let mut world = workload.world()?;
    let start = Instant::now();
    let report = workload.finish(&mut world);
    let wall = start.elapsed().as_secs_f64();
    outln!(
        "synack n={} connected={} server_closed={} client_closed={} bytes={} sim_end={:.3}s wall={:.3}s lifecycles_per_wall_s={:.0} events={} client_addresses={}",
        args.connections,
        report.connected,
        report.server_closed,
        report.client_closed,
        report.bytes,
        report.sim_end.as_secs_f64(),
        wall,
        report.connected as f64 / wall,
        report.events,
        report.client_addresses,
    );
    Ok(())
}

/// Times the run only, not the initial scheduling, as the ns-3 anchor does.
fn timed_hold<P: HoldPayload, Q: EventQueue<P>>(config: HoldConfig) -> (HoldReport, f64) {
    let model = HoldModel::<P, Q>::new(config);
    let start = Instant::now();
    let report = model.run();
    (report, start.elapsed().as_secs_f64())
}
