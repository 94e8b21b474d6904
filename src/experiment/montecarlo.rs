//! Monte Carlo availability and SPOF studies on the fast path (`model::availability`).
//!
//! Each run simulates the horizon once as configured and once more per component with that
//! component made perfect; the difference is the component's improvement potential, paired
//! run by run (the other components' failure streams are identical).
//!
//! What degraded states do to the requests they still serve (overload after a failure, SLO
//! misses) comes from `Options`: k-of-n, and a cache of request-level runs of each state
//! (`overload::StateRuns`), shared by every run and every pass.

use super::overload::StateRuns;
use super::reps::Reps;
use crate::engine::SimTime;
use crate::model::Config;
use crate::model::availability::{self, Component, Options, PassScratch, Spof};
use crate::model::degraded::{DegradedSpec, OverloadMode};
use crate::stats::MeanCi;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard};

/// One Monte Carlo run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct McRun {
    pub rep: u64,
    pub availability: f64,
    /// Served successfully and within the SLO's latency (= availability without `[slo]`).
    pub slo_availability: f64,
    pub time_availability: f64,
    pub downtime_s: f64,
    /// The part of `downtime_s` due to overload (s).
    pub overload_s: f64,
    pub failed_requests: f64,
    pub failures: u64,
    pub outages: Vec<f64>,
    /// Downtime attributed to each component (s).
    pub blame_s: Vec<f64>,
    /// Availability with each component made perfect.
    pub perfect: Vec<f64>,
    /// SLO availability with each component made perfect.
    pub perfect_slo: Vec<f64>,
}

impl McRun {
    /// The six figures every run has, in `runs.csv`'s order (the files' writers and readers
    /// go through them in that order).
    pub fn fixed(&self) -> [f64; 6] {
        [
            self.availability,
            self.slo_availability,
            self.time_availability,
            self.downtime_s,
            self.overload_s,
            self.failed_requests,
        ]
    }

    /// [`McRun::fixed`], to set.
    pub fn fixed_mut(&mut self) -> [&mut f64; 6] {
        [
            &mut self.availability,
            &mut self.slo_availability,
            &mut self.time_availability,
            &mut self.downtime_s,
            &mut self.overload_s,
            &mut self.failed_requests,
        ]
    }
}

/// What a figure of a run can be: what `model::availability` computes it as, over a horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// A fraction of the horizon or of the requests (availability, SLO availability, time
    /// availability, and those with a component made perfect): from 0 to 1.
    Fraction,
    /// Seconds of the horizon (downtime, overload, an outage, a component's blame): from 0 to
    /// the horizon.
    Duration,
    /// A non-negative amount without an upper bound the study records (failed requests: the
    /// rate times the downtime).
    Amount,
}

/// How far a figure may stray past its range by floating-point rounding: a duration is a sum
/// of the intervals of a run (each an exact time converted to seconds), which can exceed the
/// horizon by a few units in the last place, and an availability is 1 minus such a sum over
/// the horizon, so it can fall below 0 by as much. Far above any such error, far below any
/// difference a study reports.
const ROUNDING: f64 = 1e-9;

impl Range {
    /// Whether `x` is in the range over a horizon of `horizon_s` seconds (finite: never NaN
    /// nor infinite).
    pub fn holds(self, x: f64, horizon_s: f64) -> bool {
        let (low, high) = match self {
            Range::Fraction => (-ROUNDING, 1.0 + ROUNDING),
            // A sum of non-negative terms is never below 0.
            Range::Duration => (0.0, horizon_s * (1.0 + ROUNDING)),
            Range::Amount => (0.0, f64::MAX),
        };
        x.is_finite() && low <= x && x <= high
    }

    /// The range, for messages.
    pub fn describe(self, horizon_s: f64) -> String {
        match self {
            Range::Fraction => "a fraction from 0 to 1".into(),
            Range::Duration => format!("seconds from 0 to the study's horizon ({horizon_s} s)"),
            Range::Amount => "a finite number, 0 or more".into(),
        }
    }
}

/// A figure of a run outside what a study can produce ([`McRun::check`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BadFigure {
    /// Its column in `runs.csv` (0 is `rep`, 8 `outages`, then three per component).
    pub column: usize,
    /// `None` when a per-component list is shorter or longer than the components.
    pub value: Option<f64>,
    pub range: Range,
}

impl McRun {
    /// The range of each of [`McRun::fixed`].
    pub const FIXED_RANGES: [Range; 6] = [
        Range::Fraction,
        Range::Fraction,
        Range::Fraction,
        Range::Duration,
        Range::Duration,
        Range::Amount,
    ];

    /// The first figure of the run (in `runs.csv`'s order) that no study of `components`
    /// components over `horizon_s` seconds produces: a run read back from a file (a shard's
    /// `runs.csv`, a journal) is checked before it is summarised, so a damaged or tampered
    /// file gives an error rather than an absurd figure. Per-component lists of another length
    /// are reported at the first column missing or extra.
    pub fn check(&self, components: usize, horizon_s: f64) -> Result<(), BadFigure> {
        const FIXED: usize = 9;
        let bad = |column, value, range| {
            Err(BadFigure {
                column,
                value,
                range,
            })
        };
        for (j, (x, range)) in self.fixed().into_iter().zip(Self::FIXED_RANGES).enumerate() {
            if !range.holds(x, horizon_s) {
                return bad(1 + j, Some(x), range);
            }
        }
        if let Some(&d) = self
            .outages
            .iter()
            .find(|&&d| !Range::Duration.holds(d, horizon_s))
        {
            return bad(8, Some(d), Range::Duration);
        }
        let lists = [
            (&self.blame_s, Range::Duration),
            (&self.perfect, Range::Fraction),
            (&self.perfect_slo, Range::Fraction),
        ];
        for (k, (list, range)) in lists.into_iter().enumerate() {
            let first = FIXED + k * components;
            if list.len() != components {
                return bad(first + list.len().min(components), None, range);
            }
            if let Some(c) = list.iter().position(|&x| !range.holds(x, horizon_s)) {
                return bad(first + c, Some(list[c]), range);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
impl McRun {
    /// Every figure's bits, in `runs.csv`'s order, then the rep, the failures and the number of
    /// outages: what two copies of a run written and read back must agree on.
    pub(crate) fn bits(&self) -> Vec<u64> {
        self.fixed()
            .into_iter()
            .chain(self.outages.iter().copied())
            .chain(self.blame_s.iter().copied())
            .chain(self.perfect.iter().copied())
            .chain(self.perfect_slo.iter().copied())
            .map(f64::to_bits)
            .chain([self.rep, self.failures, self.outages.len() as u64])
            .collect()
    }
}

/// How a study treats degraded states: the fast path's options and the state-run cache
/// behind them.
pub struct Degraded<'a> {
    pub min_servers: u32,
    /// The request-level runs: of degraded states (with `overload = "runs"`) and of
    /// semi-sync stalls (whenever semi-sync can stall commits: it is on and requests write).
    pub runs: Option<StateRuns<'a>>,
    /// Degraded states are run (`overload = "runs"`).
    states: bool,
}

impl<'a> Degraded<'a> {
    /// From the study's settings; `slo` is the SLO latency late requests are counted against.
    pub fn new(cfg: &'a Config, spec: &DegradedSpec, slo: Option<SimTime>) -> Degraded<'a> {
        let states = spec.mode == OverloadMode::Runs;
        let stalls =
            cfg.failures.db_failover.semi_sync && cfg.workload.mix.iter().any(|c| c.writes > 0);
        Degraded {
            min_servers: spec.min_servers(cfg),
            runs: (states || stalls).then(|| StateRuns::new(cfg, spec.state_run(cfg), slo)),
            states,
        }
    }

    /// What the healthy stack and each single loss (one server of a group, one replica, a
    /// promoted replica as primary) do to requests, measured now (they are cached for the
    /// runs). Empty when states are not run.
    pub fn single_failures(&self, cfg: &Config) -> Vec<StateRow> {
        let Some(runs) = self.runs.as_ref().filter(|_| self.states) else {
            return vec![];
        };
        let states =
            crate::model::degraded::single_loss_states(cfg, &runs.groups, self.min_servers);
        // Measure in parallel: each state is an independent request-level run, and a run of
        // the study waiting for one of them measures another meanwhile.
        runs.expect(&states);
        let measured: Vec<super::overload::Measured> =
            states.par_iter().map(|s| runs.measure(s)).collect();
        states
            .iter()
            .zip(measured)
            .map(|(s, m)| StateRow {
                state: runs.describe(s),
                servers: s.servers.iter().map(|&c| c as u32).sum(),
                fail: m.penalty.fail,
                late: m.penalty.late,
                finished: m.finished,
                p50_s: m.p50_s,
                p99_s: m.p99_s,
            })
            .collect()
    }

    /// A request-level run (a degraded state's or a semi-sync stall's) was cut short for its
    /// requests in flight: which run, in words, its configuration and where it stopped
    /// ([`StateRuns::overflowed`]).
    pub fn overflowed(&self) -> Option<(String, Config, crate::model::CutShort)> {
        self.runs.as_ref().and_then(StateRuns::overflowed)
    }

    /// Whether a state's run was cut short (cheap: asked before every run of the study).
    pub fn failed(&self) -> bool {
        self.runs.as_ref().is_some_and(StateRuns::failed)
    }

    /// The fast path's options for `cfg`.
    pub fn options(&self, cfg: &Config) -> Options<'_> {
        Options {
            min_servers: self.min_servers,
            overload: self
                .runs
                .as_ref()
                .filter(|_| self.states)
                .map(|r| r as &dyn crate::model::degraded::StatePenalty),
            stalls: self
                .runs
                .as_ref()
                .map(|r| r as &dyn crate::model::degraded::StallCosts),
            groups: crate::model::degraded::Groups::of(cfg),
        }
    }
}

/// One degraded state and what its request-level run measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StateRow {
    pub state: String,
    /// Servers serving in it.
    pub servers: u32,
    /// Fraction of finished requests that failed.
    pub fail: f64,
    /// Fraction served slower than the SLO.
    pub late: f64,
    /// Requests that finished in the measured window.
    pub finished: u64,
    pub p50_s: f64,
    pub p99_s: f64,
}

/// Most figures (per-component values and outage durations) the runs in flight and the
/// finished runs not yet handed on hold together: 8 MB of figures whatever the number of runs.
const WINDOW_FIGURES: usize = 1 << 20;

/// Most runs in the window. A run blocked for a moment (measuring a degraded state, a
/// request-level run of up to a second) leaves the other threads this many runs to work on
/// meanwhile: for `spof_study.toml`, about a third of a second of runs on each of two threads,
/// as long as one of its state runs.
const WINDOW_RUNS: usize = 1024;

/// Runs replications `reps` (in increasing order, drawn as they start: never listed) in
/// parallel and hands each to `ordered` in `reps` order, holding at most a window of runs
/// (issue 13: memory does not grow with the runs). As `sweep::run`,
/// a run not started when `stop()` turns true is skipped, and `done` turns each run, as it
/// finishes and on the thread that ran it, into what `ordered` is handed (the CLI journals the
/// run and formats its row there: work not left to the one thread handing runs on, issue 13).
/// Stops at the first error of `ordered`.
///
/// The window slides: a run starts as soon as it is within the window of the first run not
/// yet handed on, and whichever thread finishes that first run hands on every finished run
/// that follows it. Batches, where each started when the one before had finished, left a
/// thread idle for as long as the other spent on a batch's slowest run: a request-level run
/// of a degraded state, up to a second (issue 13).
pub fn run<E: Send, I: Iterator<Item = u64> + Send, U: Send>(
    cfg: &Config,
    horizon: SimTime,
    degraded: &Degraded,
    reps: I,
    stop: &(dyn Fn() -> bool + Sync),
    done: &(dyn Fn(McRun) -> U + Sync),
    ordered: &mut (dyn FnMut(U) -> Result<(), E> + Send),
) -> Result<Vec<Component>, E> {
    let comps = availability::components(cfg);
    let opts = degraded.options(cfg);
    let one = |rep: u64| -> Option<U> {
        if stop() {
            return None;
        }
        let run = with_scratch(|scratch| {
            let base = availability::simulate_in(scratch, cfg, &comps, horizon, rep, None, &opts);
            let mut run = McRun {
                rep,
                availability: base.availability,
                slo_availability: base.slo_availability,
                time_availability: base.time_availability,
                downtime_s: base.downtime_s,
                overload_s: base.overload_s,
                failed_requests: base.failed_requests,
                failures: base.failures,
                outages: base.outages.clone(),
                blame_s: base.blame_s.clone(),
                perfect: Vec::with_capacity(comps.len()),
                perfect_slo: Vec::with_capacity(comps.len()),
            };
            for c in 0..comps.len() {
                let p =
                    availability::simulate_in(scratch, cfg, &comps, horizon, rep, Some(c), &opts);
                run.perfect.push(p.availability);
                run.perfect_slo.push(p.slo_availability);
            }
            run
        });
        Some(done(run))
    };
    // Figures of one run: three per component, and its outages (at most one per failure).
    let expected: f64 = crate::scenario::limits::expected_failures(cfg, horizon)
        .iter()
        .sum();
    let per_run = 3 * comps.len() + 8 + expected.min(1e9) as usize;
    let threads = rayon::current_num_threads();
    let window = (WINDOW_FIGURES / per_run).clamp(4 * threads, WINDOW_RUNS.max(4 * threads));
    // The ring needs no more slots than there are runs (`size_hint`'s bound: at least as many).
    let most = reps.size_hint().1.unwrap_or(usize::MAX);
    let hand = Mutex::new(Handing {
        ring: (0..window.min(most)).map(|_| None).collect(),
        next: 0,
        started: 0,
        reps,
        error: None,
        handing: false,
        batch: vec![],
    });
    let pen = Mutex::new(ordered);
    rayon::scope_fifo(|scope| {
        let mut h = hand.lock().unwrap_or_else(|e| e.into_inner());
        start_runs(scope, &mut h, &hand, &pen, &one);
    });
    let h = hand.into_inner().unwrap_or_else(|e| e.into_inner());
    match h.error {
        Some(e) => Err(e),
        None => Ok(comps),
    }
}

/// What hands finished runs on: `ordered`, behind a lock of its own that only the thread handing
/// runs on takes.
type Pen<'o, E, U> = Mutex<&'o mut (dyn FnMut(U) -> Result<(), E> + Send)>;

/// The runs finished and not yet handed on, and where the window stands.
struct Handing<E, I, U> {
    /// Run `i`'s outcome at `i % ring.len()`: `Some(None)` for a run skipped by `stop()`.
    ring: Vec<Option<Option<U>>>,
    /// The first run not yet handed on.
    next: usize,
    /// Runs started so far (they start in `reps` order).
    started: usize,
    /// The replications not yet started.
    reps: I,
    /// `ordered`'s first error: nothing more is handed on or started.
    error: Option<E>,
    /// A thread is handing runs on (one at a time, so they go in order).
    handing: bool,
    /// The runs being handed on (kept for its capacity).
    batch: Vec<Option<U>>,
}

/// Starts every run the window now admits.
///
/// A finished run is put in the ring under the lock; the thread that finds no one handing runs
/// on then hands on every run that follows without a gap, in order, with the lock released while
/// `ordered` writes them (a one-day run's row costs about as much as its passes: held under the
/// lock, the write kept the other thread from putting its runs in the ring: two threads ran
/// 200,000 one-day runs 1.1-1.7x as fast as one, now 1.2-2.0x, docs/performance.md). The window
/// slides once they are handed on, so it still bounds the runs held.
fn start_runs<'s, 'o, E: Send, I, F, U: Send>(
    scope: &rayon::ScopeFifo<'s>,
    h: &mut Handing<E, I, U>,
    hand: &'s Mutex<Handing<E, I, U>>,
    pen: &'s Pen<'o, E, U>,
    one: &'s F,
) where
    I: Iterator<Item = u64> + Send,
    F: Fn(u64) -> Option<U> + Sync,
    'o: 's,
{
    while h.error.is_none() && h.started < h.next + h.ring.len() {
        let Some(rep) = h.reps.next() else { break };
        let i = h.started;
        h.started += 1;
        scope.spawn_fifo(move |scope| {
            let run = one(rep);
            let mut h = hand.lock().unwrap_or_else(|e| e.into_inner());
            let at = i % h.ring.len();
            h.ring[at] = Some(run);
            if !h.handing {
                h.handing = true;
                h = hand_on(h, hand, pen);
                h.handing = false;
            }
            start_runs(scope, &mut h, hand, pen, one);
        });
    }
}

/// Hands on every finished run that follows the last one handed on without a gap, in order,
/// until none does; `ordered` runs with `hand` released. Returns the lock, taken again.
fn hand_on<'s, 'o, E, I, U>(
    mut h: MutexGuard<'s, Handing<E, I, U>>,
    hand: &'s Mutex<Handing<E, I, U>>,
    pen: &'s Pen<'o, E, U>,
) -> MutexGuard<'s, Handing<E, I, U>> {
    loop {
        let mut batch = std::mem::take(&mut h.batch);
        let (len, next) = (h.ring.len(), h.next);
        while let Some(run) = h.ring[(next + batch.len()) % len].take() {
            batch.push(run);
        }
        if batch.is_empty() {
            h.batch = batch;
            return h;
        }
        let mut error = None;
        if h.error.is_none() {
            drop(h);
            let mut ordered = pen.lock().unwrap_or_else(|e| e.into_inner());
            for run in batch.iter_mut().filter_map(Option::take) {
                if let Err(e) = (ordered)(run) {
                    error = Some(e);
                    break;
                }
            }
            drop(ordered);
            h = hand.lock().unwrap_or_else(|e| e.into_inner());
        }
        h.next += batch.len();
        if h.error.is_none() {
            h.error = error;
        }
        batch.clear();
        h.batch = batch;
    }
}

thread_local! {
    /// Each worker thread's pass buffers (`model::availability::PassScratch` says why), kept
    /// from run to run. A stack, not one: a run waiting for a degraded state that another
    /// thread measures may run other runs on its thread meanwhile
    /// (`overload::StateRuns::measure`), and each takes a scratch of its own.
    static SCRATCH: RefCell<Vec<PassScratch>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with one of this thread's pass scratches (a new one if none is free).
fn with_scratch<R>(f: impl FnOnce(&mut PassScratch) -> R) -> R {
    let mut scratch = SCRATCH.with(|s| s.borrow_mut().pop()).unwrap_or_default();
    let out = f(&mut scratch);
    SCRATCH.with(|s| s.borrow_mut().push(scratch));
    out
}

/// Runs replications `reps` in parallel and keeps them all, in `reps` order (for studies
/// small enough to hold: the design ladder).
pub fn run_held(
    cfg: &Config,
    horizon: SimTime,
    degraded: &Degraded,
    reps: Reps,
) -> (Vec<Component>, Vec<McRun>) {
    let mut runs = Vec::with_capacity(reps.len());
    let comps = run::<std::convert::Infallible, _, _>(
        cfg,
        horizon,
        degraded,
        reps.iter(),
        &|| false,
        &|r| r,
        &mut |r| {
            runs.push(r);
            Ok(())
        },
    );
    match comps {
        Ok(c) => (c, runs),
        Err(never) => match never {},
    }
}

/// A component's part in the study's downtime.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ComponentSummary {
    pub component: String,
    /// Share of all downtime attributed to it.
    pub downtime_share: f64,
    /// Availability gained if it never failed (mean over runs, paired).
    pub improvement: MeanCi,
    /// SLO availability gained if it never failed.
    pub slo_improvement: MeanCi,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct McSummary {
    pub runs: usize,
    pub horizon_s: f64,
    pub availability: MeanCi,
    /// The SLO's latency, if the scenario has one.
    pub slo_latency_s: Option<f64>,
    /// Requests served successfully within the SLO's latency (= availability without one).
    pub slo_availability: MeanCi,
    pub time_availability: MeanCi,
    /// Expected downtime per year (integral of the failing fraction), minutes.
    pub downtime_minutes_per_year: MeanCi,
    /// The part of the downtime due to overload: requests failing although every part they
    /// need was up, because too few were serving.
    pub overload_minutes_per_year: MeanCi,
    pub outages_per_year: MeanCi,
    pub failed_requests_per_year: MeanCi,
    /// Outage durations pooled over runs, seconds.
    pub outage_p50_s: f64,
    pub outage_p90_s: f64,
    pub outage_p99_s: f64,
    pub outage_max_s: f64,
    /// Components ranked by improvement potential.
    pub components: Vec<ComponentSummary>,
    pub structural_spofs: Vec<Spof>,
    /// What the healthy stack and each single loss do to requests (request-level runs).
    pub degraded_states: Vec<StateRow>,
}

/// Aggregates runs held in memory (`mc_summary::summarise` reads them as a stream);
/// `components` are the names in column order (`McRun::blame_s`).
pub fn summarise(
    components: &[String],
    spofs: Vec<Spof>,
    degraded_states: Vec<StateRow>,
    slo_latency_s: Option<f64>,
    horizon: SimTime,
    runs: &[McRun],
) -> McSummary {
    let widths = runs.iter().all(|r| {
        r.blame_s.len() == components.len()
            && r.perfect.len() == components.len()
            && r.perfect_slo.len() == components.len()
    });
    assert!(widths, "every run has one value per component");
    super::mc_summary::summarise(
        components,
        spofs,
        degraded_states,
        slo_latency_s,
        horizon,
        &mut &runs[..],
        &mut |_, _| Ok(()),
    )
    .expect("runs held in memory are read without error")
}

/// The figures of a Monte Carlo study assertions can name (each also under its long name,
/// e.g. `downtime_minutes_per_year`).
pub const METRICS: [&str; 10] = [
    "availability",
    "slo_availability",
    "time_availability",
    "downtime_minutes",
    "overload_minutes",
    "outages",
    "failed_requests",
    "outage_p99",
    "outage_max",
    "spofs",
];

impl McSummary {
    /// Whether `name` is a figure [`McSummary::metric`] knows.
    pub fn knows(name: &str) -> bool {
        canonical(name).is_some()
    }

    /// The figures assertions can name ([`METRICS`]). The outage quantiles, the longest
    /// outage and the structural SPOFs are one figure of the whole study (pooled over its runs,
    /// or read off the topology), without an interval (an unknown half-width): judged on their
    /// value, said to be over the study's runs, not "a single run" as they were when given as
    /// one sample.
    pub fn metric(&self, name: &str) -> Option<MeanCi> {
        let point = |x: f64| MeanCi {
            mean: x,
            half_width: f64::NAN,
            n: self.runs,
        };
        Some(match canonical(name)? {
            "availability" => self.availability,
            "slo_availability" => self.slo_availability,
            "time_availability" => self.time_availability,
            "downtime_minutes" => self.downtime_minutes_per_year,
            "overload_minutes" => self.overload_minutes_per_year,
            "outages" => self.outages_per_year,
            "failed_requests" => self.failed_requests_per_year,
            "outage_p99" => point(self.outage_p99_s),
            "outage_max" => point(self.outage_max_s),
            "spofs" => point(self.structural_spofs.len() as f64),
            _ => return None,
        })
    }
}

/// The short name of a figure, from either of its names.
fn canonical(name: &str) -> Option<&'static str> {
    let long = [
        ("downtime_minutes_per_year", "downtime_minutes"),
        ("overload_minutes_per_year", "overload_minutes"),
        ("outages_per_year", "outages"),
        ("failed_requests_per_year", "failed_requests"),
        ("outage_p99_s", "outage_p99"),
        ("outage_max_s", "outage_max"),
        ("structural_spofs", "spofs"),
    ];
    METRICS
        .iter()
        .copied()
        .find(|m| *m == name)
        .or_else(|| long.iter().find(|(l, _)| *l == name).map(|(_, s)| *s))
}
