//! The sweep: every point of a grid, in parallel, into one tidy CSV.
//!
//! - Each point runs on its own seed (from the base seed and its parameters) and is
//!   independent, so points run in parallel on rayon and rows come out in point order: the
//!   same seed and grid give a byte-identical CSV whatever `--jobs` is.
//! - A point that panics or fails becomes a row with its `error` column set; the sweep goes
//!   on, and the binary's exit code reports it.
//! - Every finished point is cached in `<out>/.cache/`; an interrupted sweep leaves no CSV
//!   (files are written at the end, atomically) and `--resume` skips the cached points.
//! - `--shard K/N` runs the points whose index is K mod N into `<name>.shard-K-of-N.csv`;
//!   the `merge` binary rebuilds the unsharded file byte for byte.

use crate::grid::{Axis, Grid, Point, Value};
use crate::plot::{PlotSpec, line_chart_svg};
use crate::{ExperimentArgs, Preset, write_atomic};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What one point measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// One value per output column, in order.
    pub values: Vec<Value>,
    /// Simulation events the point processed (for the progress bar's events/s).
    pub events: u64,
}

/// An experiment: a grid, what it measures at each point, and its headline plot.
pub trait Experiment: Sync {
    /// Its name: the binary's and the output files'.
    fn name(&self) -> &'static str;
    /// One sentence on what it shows.
    fn about(&self) -> &'static str;
    /// The grid's axes with their quick and full values.
    fn axes(&self) -> Vec<Axis>;
    /// Replications of each combination.
    fn replications(&self, _preset: Preset) -> u32 {
        1
    }
    /// Output columns after the axes, with units in their names: (name, meaning).
    fn columns(&self) -> Vec<(&'static str, &'static str)>;
    /// Whether the grid's `point` is measured: an experiment with a series measured
    /// elsewhere (a real kernel's) has it at some points only.
    fn applies(&self, _point: &Point) -> bool {
        true
    }
    /// Measures one point.
    fn run(&self, point: &Point, preset: Preset) -> Result<Measured, String>;
    /// The headline plot.
    fn plot(&self) -> PlotSpec;
    /// Whether its figures are the machine's (wall time, memory), not the seed's: such an
    /// experiment's outputs differ run to run, so the repository does not keep them.
    fn machine_dependent(&self) -> bool {
        false
    }
}

/// How a sweep went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Points in this run (this shard's, if sharded).
    pub points: usize,
    /// Points that failed.
    pub failed: usize,
    /// Points taken from the resume cache.
    pub resumed: usize,
    /// Events processed by the points run now.
    pub events: u64,
    /// The CSV written.
    pub csv: PathBuf,
}

/// `K/N`: run the points whose index is K mod N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// Shards in all.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let form = || format!("expected K/N with 0 <= K < N, e.g. 0/3; got {s}");
        let (k, n) = s.split_once('/').ok_or_else(form)?;
        let (index, count) = (
            k.parse::<u32>().map_err(|_| form())?,
            n.parse::<u32>().map_err(|_| form())?,
        );
        if count == 0 || index >= count {
            return Err(form());
        }
        Ok(Shard { index, count })
    }
}

#[derive(serde::Serialize)]
struct Metadata<'a> {
    experiment: &'static str,
    about: &'static str,
    version: &'static str,
    preset: Preset,
    seed: u64,
    grid: &'a Grid,
    shard: Option<String>,
    columns: Vec<(&'static str, &'static str)>,
    points: usize,
    failed: usize,
}

/// What is true of one run and not of its results, in `<name>.run.json` beside them (not
/// committed: `.gitignore`), so rerunning the main job leaves committed files as they were.
#[derive(serde::Serialize)]
struct RunRecord {
    experiment: &'static str,
    /// The source's git revision at build time, and whether the sources differed from it.
    git_revision: &'static str,
    git_dirty: &'static str,
    /// Wall-clock time of the run: a fact of the machine, not a result.
    wall_s: f64,
}

/// The CSV header: `point`, the axes, `replication`, `seed`, the outputs, `error`.
pub fn header(exp: &dyn Experiment) -> Vec<String> {
    let mut h = vec!["point".to_string()];
    h.extend(exp.axes().iter().map(|a| a.name.to_string()));
    h.extend(["replication".to_string(), "seed".to_string()]);
    h.extend(exp.columns().iter().map(|(c, _)| c.to_string()));
    h.push("error".to_string());
    h
}

fn row(point: &Point, outcome: &Result<Measured, String>, outputs: usize) -> Vec<String> {
    let mut r = vec![point.index.to_string()];
    r.extend(point.params.iter().map(|(_, v)| v.to_string()));
    r.extend([point.replication.to_string(), point.seed.to_string()]);
    match outcome {
        Ok(m) => {
            r.extend(m.values.iter().map(Value::to_string));
            r.push(String::new());
        }
        Err(e) => {
            r.extend(std::iter::repeat_n(String::new(), outputs));
            // One line per row, always.
            r.push(e.replace(['\n', '\r'], " "));
        }
    }
    r
}

fn cache_dir(exp: &dyn Experiment, args: &ExperimentArgs, grid: &Grid) -> PathBuf {
    let key = serde_json::to_string(&(
        exp.name(),
        args.preset(),
        args.seed,
        grid,
        args.shard.map(|s| (s.index, s.count)),
    ))
    .expect("serializable");
    let hash = crate::point_seed(0, &key);
    args.out
        .join(".cache")
        .join(format!("{}-{hash:016x}", exp.name()))
}

fn run_point(exp: &dyn Experiment, point: &Point, preset: Preset) -> Result<Measured, String> {
    let outputs = exp.columns().len();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exp.run(point, preset))) {
        Ok(Ok(m)) if m.values.len() == outputs => Ok(m),
        Ok(Ok(m)) => Err(format!(
            "measured {} values for {outputs} columns",
            m.values.len()
        )),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}

/// Runs the sweep and writes its files.
pub fn sweep(exp: &dyn Experiment, args: &ExperimentArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let preset = args.preset();
    let grid = Grid::new(
        &exp.axes(),
        preset == Preset::Full,
        exp.replications(preset),
        &args.set,
    )?;
    let points = shard_points(exp, &grid, args);
    let cache = cache_dir(exp, args, &grid);
    if !args.resume {
        let _ = std::fs::remove_dir_all(&cache);
    }
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create {}", cache.display()))?;
    let (rows, tally) = run_points(exp, args, &points, &cache, started)?;
    let (csv, failed) = write_outputs(exp, args, &grid, &rows, started)?;
    let _ = std::fs::remove_dir_all(&cache);
    if let Some(parent) = cache.parent() {
        let _ = std::fs::remove_dir(parent); // only if no other sweep's cache is in it
    }
    Ok(Report {
        points: rows.len(),
        failed,
        resumed: tally.resumed.load(Ordering::Relaxed) as usize,
        events: tally.events.load(Ordering::Relaxed),
        csv,
    })
}

/// The grid's points this run (or shard) takes.
fn shard_points(exp: &dyn Experiment, grid: &Grid, args: &ExperimentArgs) -> Vec<Point> {
    grid.points(args.seed)
        .into_iter()
        .filter(|p| exp.applies(p))
        .filter(|p| {
            args.shard
                .is_none_or(|s| p.index as u64 % u64::from(s.count) == u64::from(s.index))
        })
        .collect()
}

/// A point's CSV row, and whether it failed.
type Row = (Vec<String>, bool);

/// What a sweep counts as its points run.
#[derive(Default)]
struct Tally {
    events: AtomicU64,
    resumed: AtomicU64,
    done: AtomicU64,
}

/// A row a point, and whether it failed: computed, or read back from the cache on
/// `--resume`; each new row is cached as soon as it is done.
fn run_points(
    exp: &dyn Experiment,
    args: &ExperimentArgs,
    points: &[Point],
    cache: &Path,
    started: Instant,
) -> anyhow::Result<(Vec<Row>, Tally)> {
    let preset = args.preset();
    let outputs = exp.columns().len();
    let cached = |p: &Point| -> Option<Vec<String>> {
        let bytes = std::fs::read(cache.join(format!("{}.json", p.index))).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let bar = ProgressBar::new(points.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} points, ETA {eta}, {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(exp.name());
    let tally = Tally::default();
    let (events, resumed, done) = (&tally.events, &tally.resumed, &tally.done);
    let stop_after = args.stop_after.map_or(u64::MAX, |n| n as u64);
    let jobs = args.jobs.unwrap_or(0) as usize;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let rows: Vec<Option<Row>> = pool.install(|| {
        points
            .par_iter()
            .map(|p| {
                if done.load(Ordering::Relaxed) >= stop_after {
                    return None;
                }
                if args.resume
                    && let Some(r) = cached(p)
                {
                    resumed.fetch_add(1, Ordering::Relaxed);
                    bar.inc(1);
                    let failed = r.last().is_some_and(|e| !e.is_empty());
                    return Some((r, failed));
                }
                let outcome = run_point(exp, p, preset);
                if let Ok(m) = &outcome {
                    let total = events.fetch_add(m.events, Ordering::Relaxed) + m.events;
                    bar.set_message(format!(
                        "{:.1} M events/s",
                        total as f64 / started.elapsed().as_secs_f64() / 1e6
                    ));
                }
                let r = row(p, &outcome, outputs);
                // A cache write that fails only costs a resume; the sweep goes on.
                let _ = write_atomic(
                    &cache.join(format!("{}.json", p.index)),
                    &serde_json::to_vec(&r).expect("strings"),
                );
                bar.inc(1);
                done.fetch_add(1, Ordering::Relaxed);
                Some((r, outcome.is_err()))
            })
            .collect()
    });
    bar.finish_and_clear();
    let Some(rows) = rows.into_iter().collect::<Option<Vec<_>>>() else {
        anyhow::bail!(
            "stopped after {stop_after} points (--stop-after); --resume goes on from there"
        );
    };

    Ok((rows, tally))
}

/// Writes the CSV, its JSON metadata and (unless a shard) its plot; returns the CSV's path
/// and the failed points.
fn write_outputs(
    exp: &dyn Experiment,
    args: &ExperimentArgs,
    grid: &Grid,
    rows: &[Row],
    started: Instant,
) -> anyhow::Result<(PathBuf, usize)> {
    let stem = match args.shard {
        Some(s) => format!("{}.shard-{}-of-{}", exp.name(), s.index, s.count),
        None => exp.name().to_string(),
    };
    let csv_path = args.out.join(format!("{stem}.csv"));
    let csv = csv_bytes(&header(exp), rows.iter().map(|(r, _)| r))?;
    write_atomic(&csv_path, &csv)?;
    let failed = rows.iter().filter(|(_, f)| *f).count();
    let metadata = Metadata {
        experiment: exp.name(),
        about: exp.about(),
        version: env!("CARGO_PKG_VERSION"),
        preset: args.preset(),
        seed: args.seed,
        grid,
        shard: args.shard.map(|s| format!("{}/{}", s.index, s.count)),
        columns: exp.columns(),
        points: rows.len(),
        failed,
    };
    let mut json = serde_json::to_vec_pretty(&metadata)?;
    json.push(b'\n');
    write_atomic(&args.out.join(format!("{stem}.json")), &json)?;
    let record = RunRecord {
        experiment: exp.name(),
        git_revision: env!("SYNACK_GIT_REVISION"),
        git_dirty: env!("SYNACK_GIT_DIRTY"),
        wall_s: started.elapsed().as_secs_f64(),
    };
    let mut json = serde_json::to_vec_pretty(&record)?;
    json.push(b'\n');
    write_atomic(&args.out.join(format!("{stem}.run.json")), &json)?;
    if args.shard.is_none() {
        let svg = line_chart_svg(&csv, &exp.plot())?;
        write_atomic(&args.out.join(format!("{stem}.svg")), svg.as_bytes())?;
    }
    Ok((csv_path, failed))
}

/// Serializes a header and rows as CSV.
pub fn csv_bytes<'a>(
    header: &[String],
    rows: impl Iterator<Item = &'a Vec<String>>,
) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    Ok(w.into_inner()?)
}

/// Merges shard CSVs into the file an unsharded run would have written: the same header,
/// rows in point order. Refuses mismatched headers, a point in two shards, or a gap.
pub fn merge(shards: &[PathBuf]) -> anyhow::Result<Vec<u8>> {
    let mut header: Option<Vec<String>> = None;
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    for path in shards {
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let h: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
        match &header {
            None => header = Some(h),
            Some(first) if *first != h => {
                anyhow::bail!(
                    "{}: its columns differ from {}'s",
                    path.display(),
                    shards[0].display()
                )
            }
            Some(_) => {}
        }
        for (line, record) in reader.records().enumerate() {
            let record = record?;
            let point = record
                .get(0)
                .and_then(|p| p.parse().ok())
                .with_context(|| {
                    format!("{}: row {} has no point index", path.display(), line + 2)
                })?;
            rows.push((point, record.iter().map(str::to_string).collect()));
        }
    }
    let header = header.context("no shard given")?;
    rows.sort_by_key(|(p, _)| *p);
    for (i, (p, _)) in rows.iter().enumerate() {
        anyhow::ensure!(
            *p == i as u64,
            "point {i} is missing or doubled among the shards (found {p})"
        );
    }
    csv_bytes(&header, rows.iter().map(|(_, r)| r))
}

/// Where a binary's output goes: `<out>/<name>.csv`.
pub fn csv_path(out: &Path, name: &str) -> PathBuf {
    out.join(format!("{name}.csv"))
}
