//! A fast-path pass allocates nothing once its scratch is warm (issue 13), counted through a
//! global allocator.
//!
//! A one-day pass of the SPOF study meets no failure most of the time, so building its state
//! was the pass: some thirty allocations each, about 35% of a one-day study's instructions in
//! `malloc` and `free`. `availability::PassScratch` keeps the buffers from pass to pass; what
//! may still allocate is a buffer growing past any size it had (a pass with more outages or
//! pending events than any before), which a doubling `Vec` does a few dozen times at most
//! whatever the number of passes. So: run 2N replications (every pass of each: as
//! configured, then each component perfect) to warm the scratch and measure every degraded
//! state the replications meet, then count the allocations of replications 0..N and of
//! 0..2N again. Anything allocated per pass or per run shows as at least one allocation per
//! extra run in the difference; growth does not (the buffers already have the sizes these
//! replications need). The counter is per thread, so the test harness's other threads do
//! not count.

use infrasim::engine::SimTime;
use infrasim::experiment::montecarlo::Degraded;
use infrasim::model::availability::{self, Options, PassScratch};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

/// The system allocator, counting this thread's calls to allocate or grow.
struct Counting;

thread_local! {
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no counter left, and allocates uncounted.
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// This thread's allocations while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = CALLS.with(Cell::get);
    f();
    CALLS.with(Cell::get) - before
}

/// Every pass of replications `reps` in `scratch`, as a Monte Carlo run makes them.
fn passes(
    scratch: &mut PassScratch,
    cfg: &infrasim::model::Config,
    opts: &Options,
    horizon: SimTime,
    reps: std::ops::Range<u64>,
) {
    let comps = availability::components(cfg);
    for rep in reps {
        for perfect in std::iter::once(None).chain((0..comps.len()).map(Some)) {
            let r = availability::simulate_in(scratch, cfg, &comps, horizon, rep, perfect, opts);
            assert!(r.availability <= 1.0);
        }
    }
}

/// Allocations of replications 0..n and 0..2n of the SPOF study with a `days`-day horizon,
/// after a warm-up on 0..2n; `states`: degraded states run at the request level.
fn counted(days: u64, states: bool, n: u64) -> (u64, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/spof_study.toml");
    let overload = if states { "runs" } else { "none" };
    let sc = infrasim::scenario::load(&path, &[format!("montecarlo.overload={overload}")])
        .expect("spof_study.toml loads");
    let cfg = &sc.config;
    let spec = sc.study.montecarlo.clone().expect("a [montecarlo] section");
    let degraded = Degraded::new(cfg, &spec.degraded, cfg.slo_latency());
    let opts = degraded.options(cfg);
    assert_eq!(opts.overload.is_some(), states);
    let horizon = SimTime::from_secs(days * 86_400);
    let mut scratch = PassScratch::default();
    passes(&mut scratch, cfg, &opts, horizon, 0..2 * n);
    let once = allocations(|| passes(&mut scratch, cfg, &opts, horizon, 0..n));
    let twice = allocations(|| passes(&mut scratch, cfg, &opts, horizon, 0..2 * n));
    (once, twice)
}

#[test]
fn a_warm_pass_allocates_nothing() {
    let n = 1_000;
    for (days, states) in [(1, false), (1, true), (30, true)] {
        let (once, twice) = counted(days, states, n);
        eprintln!(
            "{days}-day runs, states run: {states}: {once} allocations in {n} runs, {twice} in {}",
            2 * n
        );
        assert!(
            twice.saturating_sub(once) < n,
            "{days}-day runs (states run: {states}): {once} allocations in {n} runs and {twice} \
             in {}: a pass allocates again",
            2 * n
        );
    }
}
