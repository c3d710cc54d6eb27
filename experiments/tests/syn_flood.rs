//! The `syn_flood` experiment's claims: in steady state, without cookies, a legitimate SYN
//! finds a free slot about as often as Erlang's loss formula says for Linux's queue (the
//! slots the last quarter leaves, held for the pruned lifetime), so handshakes fall once
//! flood rate x lifetime passes them; a bigger queue moves that point; a per-source filter
//! helps only against an unspoofed flood; cookies keep every handshake; and where the
//! kernel was measured, the model and the kernel agree.

mod common;

use experiments::stats::Z;
use std::collections::BTreeMap;

#[test]
fn first_tries_succeed_as_erlangs_loss_formula_predicts_at_every_load() {
    let (report, all_rows) = common::quick_rows(&experiments::syn_flood::SynFlood, 13);
    let kernel_points = all_rows
        .iter()
        .filter(|r| r.get("source") == "kernel")
        .count();
    assert_eq!((report.points, report.failed), (704 + kernel_points, 0));
    assert_eq!(
        kernel_points, 8,
        "the kernel's series: 6 flood rates cookies off, 2 on"
    );
    let rows: Vec<_> = all_rows
        .iter()
        .filter(|r| r.get("source") == "model")
        .collect();
    model_and_kernel_agree(&rows, &all_rows);
    // The replications of a point pooled: (clients, first tries, prediction, each
    // replication's rate).
    type Pooled = (f64, f64, f64, Vec<f64>);
    let mut points: BTreeMap<(String, u32, u32, u64), Pooled> = BTreeMap::new();
    for &r in &rows {
        let key = (
            r.get("defence").to_string(),
            r.num("synack_retries") as u32,
            r.num("backlog") as u32,
            r.num("flood_per_s").to_bits(),
        );
        let clients = r.num("clients");
        let pooled = points.entry(key).or_default();
        pooled.0 += clients;
        pooled.1 += (r.num("first_try_rate") * clients).round();
        pooled.2 = r.num("first_try_predicted");
        pooled.3.push(r.num("first_try_rate"));
    }
    assert_eq!(points.len(), 176);
    for ((defence, retries, backlog, flood), (clients, first, predicted, rates)) in &points {
        let flood = f64::from_bits(*flood);
        // 800 connects at random times: binomial, were they independent. Near the knee
        // they are not: the queue's state changes on the scale of a lifetime, so
        // neighbours see the same full queue. The replications' own spread measures that;
        // the tolerance takes whichever standard deviation is larger. (Leaving the ramp out,
        // the flood on at full rate from 0 s, gave 0 of 500 where 36 were due.)
        let binomial = (clients * predicted * (1.0 - predicted)).sqrt();
        let reps = rates.len() as f64;
        let mean = rates.iter().sum::<f64>() / reps;
        let spread = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (reps - 1.0)).sqrt();
        let replicated = spread / reps.sqrt() * clients;
        let tolerance = Z * binomial.max(replicated) + 0.5;
        let expected = clients * predicted;
        // Erlang's formula assumes slots that free independently. Pruned requests expire in
        // batches (their timers share the wheel's buckets, and a batch of young requests
        // ages together), and the flood refills a batch at once, so past the knee fewer
        // first tries succeed than the formula says: up to a third fewer, as measured here
        // and on the kernel. Below the knee the formula's 1 holds exactly.
        let context = format!(
            "{defence}, {retries} retries, {backlog} slots, {flood}/s: {first} of {clients} first tries, predicted {expected:.1} +- {tolerance:.1}"
        );
        if *predicted > 0.999 {
            assert!(*first >= 0.99 * clients, "{context}");
        } else {
            assert!(*first <= expected + tolerance, "{context}");
            assert!(*first >= 0.65 * expected - tolerance, "{context}");
        }
    }
    let rate = |defence: &str, retries: u32, backlog: u32, flood: f64| {
        let (clients, first, ..) =
            &points[&(defence.to_string(), retries, backlog, flood.to_bits())];
        first / clients
    };
    // The claims, as the plot shows them. With cookies off a legitimate SYN finds 193 of 256
    // slots (the last quarter), each held about 9 s under a flood (pruning), not 63 s: 8
    // SYN/s, which the textbook's 256 slots held 63 s cannot take, leave every client in;
    // 64 SYN/s let about a third in; 2048 slots take 64 SYN/s whole.
    assert_eq!(rate("off", 5, 256, 8.0), 1.0);
    assert!((0.2..0.45).contains(&rate("off", 5, 256, 64.0)));
    assert_eq!(rate("off", 5, 2048, 64.0), 1.0);
    // Fewer retries (2: 7 s) beat pruning's 9 s a little.
    assert!(rate("off", 2, 256, 64.0) > rate("off", 5, 256, 64.0));
    for flood in [64.0, 1024.0] {
        // Forged sources pass the per-source filter: no better than no defence.
        let (filtered, open) = (
            rate("rate_filter", 5, 256, flood),
            rate("off", 5, 256, flood),
        );
        assert!(
            (filtered - open).abs() < 0.1,
            "{filtered} with the filter, {open} without"
        );
        assert_eq!(rate("rate_filter_unspoofed", 5, 256, flood), 1.0);
        assert_eq!(rate("cookies", 5, 256, flood), 1.0);
    }
}

/// At every point the kernel was measured, the model's first tries (its replications
/// pooled) and the kernel's agree within a 95% two-proportion test, the model's spread
/// over replications counted as in the test above.
fn model_and_kernel_agree(model: &[&common::Row], all: &[common::Row]) {
    for k in all.iter().filter(|r| r.get("source") == "kernel") {
        let same = |r: &&&common::Row| {
            ["defence", "synack_retries", "backlog", "flood_per_s"]
                .iter()
                .all(|c| r.get(c) == k.get(c))
        };
        let runs: Vec<&&common::Row> = model.iter().filter(same).collect();
        let n_model: f64 = runs.iter().map(|r| r.num("clients")).sum();
        let first_model: f64 = runs
            .iter()
            .map(|r| (r.num("first_try_rate") * r.num("clients")).round())
            .sum();
        let (n_kernel, first_kernel) =
            (k.num("clients"), k.num("first_try_rate") * k.num("clients"));
        let pooled = (first_model + first_kernel) / (n_model + n_kernel);
        let binomial = (pooled * (1.0 - pooled) * (1.0 / n_model + 1.0 / n_kernel)).sqrt();
        let rates: Vec<f64> = runs.iter().map(|r| r.num("first_try_rate")).collect();
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        let spread = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>()
            / (rates.len() as f64 - 1.0))
            .sqrt();
        let tolerance = Z * binomial.max(spread / (rates.len() as f64).sqrt()) + 1.0 / n_kernel;
        let (pm, pk) = (first_model / n_model, first_kernel / n_kernel);
        println!(
            "{} {}/s: model {pm:.3} ({first_model} of {n_model}), kernel {pk:.3} ({first_kernel} of {n_kernel}), +- {tolerance:.3}",
            k.get("defence"),
            k.get("flood_per_s")
        );
        assert!(
            (pm - pk).abs() <= tolerance,
            "{} at {}/s: model {pm:.3}, kernel {pk:.3}, tolerance {tolerance:.3}",
            k.get("defence"),
            k.get("flood_per_s")
        );
    }
}
