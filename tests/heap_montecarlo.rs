//! Flat heap of a Monte Carlo study's runs (issue 13), counted byte for byte.
//!
//! `memory_montecarlo.rs` bounds the whole tool's peak resident set, with megabytes of slack
//! for what a resident set legitimately varies by: a list of the runs at 8 bytes a run (as the
//! study once built) fits in that slack up to a million runs. Here a counting global allocator
//! measures the peak heap of `montecarlo::run` itself, on one thread (so the same allocations
//! happen in the same order, whatever the machine), for 2,000 and then 20,000 runs: the runs
//! in flight are bounded by the window, so the peaks may differ by less than one byte per
//! extra run. A list of run numbers (8 bytes a run), a set of the finished ones, or any
//! per-run record kept would exceed it. One test in its own binary: the allocator counts the
//! whole process.

use infrasim::engine::SimTime;
use infrasim::experiment::Reps;
use infrasim::experiment::montecarlo::{self, Degraded};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes live and their highest mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap (bytes above what was live before) of `runs` runs of the SPOF study with a day's
/// horizon and no request-level runs of its states, every run handed on and dropped; and how
/// many runs were handed on.
fn peak_of(runs: u32) -> (usize, u64) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/spof_study.toml");
    let sc = infrasim::scenario::load(
        &path,
        &[
            "montecarlo.horizon=1d".to_string(),
            "montecarlo.overload=none".to_string(),
        ],
    )
    .expect("spof_study.toml loads");
    let spec = sc.study.montecarlo.clone().expect("a [montecarlo] section");
    let horizon: SimTime = spec.horizon;
    let degraded = Degraded::new(&sc.config, &spec.degraded, sc.config.slo_latency());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut handed = 0u64;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    pool.install(|| {
        montecarlo::run::<(), _, _>(
            &sc.config,
            horizon,
            &degraded,
            Reps::all(runs).iter(),
            &|| false,
            &|r| r,
            &mut |r: montecarlo::McRun| {
                assert_eq!(r.rep, handed, "runs are handed on in order");
                handed += 1;
                Ok(())
            },
        )
        .unwrap();
    });
    (PEAK.load(Ordering::Relaxed) - base, handed)
}

#[test]
fn the_runs_of_a_study_take_no_heap_per_run() {
    let (short, long) = (2_000u32, 20_000u32);
    let (a, n) = peak_of(short);
    assert_eq!(n, u64::from(short));
    let (b, n) = peak_of(long);
    assert_eq!(n, u64::from(long));
    eprintln!("peak heap: {a} bytes ({short} runs), {b} bytes ({long} runs)");
    let extra = (long - short) as usize;
    assert!(
        b < a + extra,
        "{long} runs peak at {b} bytes of heap, {short} at {a}: more than a byte per extra run"
    );
}
