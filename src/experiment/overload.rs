//! What each degraded state does to requests, measured by a short request-level run of it and
//! cached: the fast path's answer to "the surviving servers cope, do they?".
//!
//! A state (`model::degraded::Serving`: which servers and DB nodes serve) is run once, with
//! the scenario's workload at its base rate and no faults, for `warm-up + state_run`; the
//! fractions of finished requests that failed and that were served slower than the SLO are
//! its penalty. The run depends on the state alone (replication 0 of the state's own
//! configuration), never on which Monte Carlo run first needed it, so the cache is shared by
//! all threads and the study stays byte-identical whatever the thread count.
//!
//! What this approximates (docs/experiments.md): a state's steady state applies from its
//! first instant (the queue a failure builds up, and its drain after the repair, are not
//! modelled); a state with no timeout bounding its queue has no steady state, and its figure
//! is that of a state lasting `state_run`.

use crate::engine::SimTime;
use crate::model::degraded::{self, Groups, Penalty, Serving, StallCost, StallCosts, StatePenalty};
use crate::model::stack::Stack;
use crate::model::timeline::NoRows;
use crate::model::{Config, CutShort};
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// One state's run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Measured {
    pub penalty: Penalty,
    /// Requests that finished in the measured window.
    pub finished: u64,
    pub p50_s: f64,
    pub p99_s: f64,
}

/// The cache of state runs for one configuration.
pub struct StateRuns<'a> {
    cfg: &'a Config,
    pub groups: Groups,
    warmup: SimTime,
    measured: SimTime,
    /// The SLO latency the late fraction is counted against, if any.
    slo: Option<SimTime>,
    cache: Mutex<HashMap<Serving, Arc<Slot>>>,
    /// States expected to be needed, not yet claimed by a thread (see [`StateRuns::expect`]).
    expected: Mutex<VecDeque<(Serving, Arc<Slot>)>>,
    /// A state's run was cut short for its requests in flight ([`StateRuns::overflowed`]).
    failed: AtomicBool,
    /// The first such run in key order, and where it stopped.
    overflow: Mutex<Option<(Serving, Option<StallRun>, CutShort)>>,
    /// Semi-sync stalls measured, per situation (the state after the loss, the replicas
    /// missing): see [`StateRuns::stall_cost`].
    stalls: Mutex<HashMap<(Serving, u16), StallSlot>>,
}

/// One stall's entry in the cache: measured by the first run that needs it.
type StallSlot = Arc<OnceLock<StallCost>>;

/// Measured window of a stall's run past `rpl_semi_sync_source_timeout`: the commits it held
/// are released at the fallback, and what queued behind them drains within seconds at the
/// loads studied (`scenarios/semi_sync_lost_replica.toml`: back to normal 2 s after it); past
/// that the two runs compared agree, so a longer window adds only noise.
const STALL_TAIL: SimTime = SimTime::from_secs(60);

/// Which of a stall's two runs ([`StateRuns::measure_stall`]): the replicas missing, and
/// whether it ran with semi-sync (else it is the comparison without).
type StallRun = (u16, bool);

/// One state's entry in the cache: claimed by the first run that needs it, which measures it.
#[derive(Default)]
struct Slot {
    claimed: AtomicBool,
    value: OnceLock<Measured>,
}

/// Deepest nesting of other work a thread takes on while it waits for a state (each level
/// holds the stack of a run that waits): past it, the thread waits idle.
const MAX_NESTED_WAITS: u32 = 16;

/// Releases a claim on a state whose run did not finish.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

thread_local! {
    /// How many waits for a state this thread is nested in.
    static WAITS: Cell<u32> = const { Cell::new(0) };
}

impl<'a> StateRuns<'a> {
    pub fn new(cfg: &'a Config, measured: SimTime, slo: Option<SimTime>) -> StateRuns<'a> {
        StateRuns {
            cfg,
            groups: Groups::of(cfg),
            warmup: degraded::state_warmup(cfg, measured),
            measured,
            slo,
            cache: Mutex::new(HashMap::new()),
            expected: Mutex::new(VecDeque::new()),
            failed: AtomicBool::new(false),
            overflow: Mutex::new(None),
            stalls: Mutex::new(HashMap::new()),
        }
    }

    /// What a semi-sync stall costs in state `after` with `missing` replicas gone: two
    /// request-level runs of [`degraded::stall_config`], the missing replicas crashing at the
    /// end of the warm-up, one with semi-sync and one without, measured from the crash for the
    /// timeout and [`STALL_TAIL`]. The stall's cost is their difference (the same failure
    /// streams: common random numbers), so what the loss costs without semi-sync (reads sent
    /// to the dead replica until the monitor removes it, which the fast path counts already)
    /// and the state's own steady-state failures are not counted twice. Cached per situation
    /// and depending on it alone (replication 0), as the state runs: byte-identical whatever
    /// the thread count. A run cut short for its requests in flight stops the study as a
    /// state run does.
    pub fn stall_cost(&self, after: &Serving, missing: u16) -> StallCost {
        let slot = {
            let mut stalls = self.stalls.lock().unwrap_or_else(|e| e.into_inner());
            match stalls.get(&(after.clone(), missing)) {
                Some(slot) => slot.clone(),
                None => stalls.entry((after.clone(), missing)).or_default().clone(),
            }
        };
        *slot.get_or_init(|| self.measure_stall(after, missing, 0))
    }

    /// A stall run's measured window: the timeout the commits wait, then [`STALL_TAIL`].
    fn stall_window(&self) -> SimTime {
        self.cfg.failures.db_failover.semi_sync_timeout + STALL_TAIL
    }

    /// The configuration a stall's cost is measured with ([`degraded::stall_config`]), with
    /// semi-sync (`semi_sync`) or without.
    pub fn stall_config(&self, after: &Serving, missing: u16, semi_sync: bool) -> Config {
        let window = self.stall_window();
        let warmup = degraded::state_warmup(self.cfg, window);
        degraded::stall_config(
            self.cfg,
            &self.groups,
            after,
            missing,
            warmup,
            window,
            semi_sync,
        )
    }

    /// What a stall costs in replication `rep` of its runs (uncached: the study uses
    /// replication 0, [`StateRuns::stall_cost`]; other replications measure its noise).
    pub fn measure_stall(&self, after: &Serving, missing: u16, rep: u64) -> StallCost {
        if self.failed() {
            return StallCost::default();
        }
        let window = self.stall_window();
        let mut bad = [(0.0, 0.0); 2];
        let mut rate = 0.0;
        for (k, semi) in [true, false].into_iter().enumerate() {
            let c = self.stall_config(after, missing, semi);
            let r = Stack::run_with(&c, rep, &mut NoRows);
            if let Some(cut) = r.cut_short {
                let stall = Some((missing, semi));
                let mut first = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
                if first
                    .as_ref()
                    .is_none_or(|(s, k, _)| (after, &stall) < (s, k))
                {
                    *first = Some((after.clone(), stall, cut));
                }
                self.failed.store(true, Ordering::Relaxed);
                return StallCost::default();
            }
            let late = match (self.slo, r.slo_availability) {
                (Some(l), Some(good)) if self.cfg.slo_latency() == Some(l) => {
                    let finished = (r.requests.completed + r.requests.failed) as f64;
                    (r.requests.completed as f64 - good * finished).max(0.0)
                }
                (Some(l), _) => r.requests.completed as f64 * r.latency_hist.fraction_above(l),
                (None, _) => 0.0,
            };
            bad[k] = (r.requests.failed as f64, late);
            if !semi {
                // Requests per second of the window, from the run without the stall.
                rate = (r.requests.completed + r.requests.failed) as f64 / window.as_secs_f64();
            }
        }
        if rate <= 0.0 {
            return StallCost::default();
        }
        StallCost {
            fail_s: (bad[0].0 - bad[1].0).max(0.0) / rate,
            late_s: (bad[0].1 - bad[1].1).max(0.0) / rate,
        }
    }

    /// The stalls measured so far, in key order: (state after the loss, replicas missing, cost).
    pub fn stalls_measured(&self) -> Vec<(Serving, u16, StallCost)> {
        let stalls = self.stalls.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(Serving, u16, StallCost)> = stalls
            .iter()
            .filter_map(|((k, m), v)| v.get().map(|c| (k.clone(), *m, *c)))
            .collect();
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out
    }

    /// The configuration state `s` runs as.
    pub fn config(&self, s: &Serving) -> Config {
        degraded::state_config(self.cfg, &self.groups, s, self.warmup, self.measured)
    }

    /// The cache's entry for `s`, made if it has none (the key is cloned only then: every
    /// pass of a study asks, issue 13).
    fn slot(&self, s: &Serving) -> Arc<Slot> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = cache.get(s) {
            return slot.clone();
        }
        cache.entry(s.clone()).or_default().clone()
    }

    /// States the study will need (the healthy stack and each single loss), queued so that a
    /// thread waiting for one state measures another instead of waiting (issue 13: in a
    /// 2-thread study the thread that did not measure the healthy state spent a tenth of the
    /// study asleep, waiting for states the other thread measured one after the other).
    pub fn expect(&self, states: &[Serving]) {
        let slots: Vec<(Serving, Arc<Slot>)> =
            states.iter().map(|s| (s.clone(), self.slot(s))).collect();
        let mut expected = self.expected.lock().unwrap_or_else(|e| e.into_inner());
        expected.extend(slots);
    }

    /// Measures `s` into `slot` if no thread has claimed it yet; false if one has.
    fn claim(&self, s: &Serving, slot: &Slot) -> bool {
        if slot.claimed.swap(true, Ordering::AcqRel) {
            return false;
        }
        // Released if the run panics, so that a waiting thread does not wait forever.
        let release = Release(&slot.claimed);
        slot.value.get_or_init(|| self.run(s));
        std::mem::forget(release);
        true
    }

    /// Measures the first expected state no thread has claimed; false when none is left.
    fn claim_expected(&self) -> bool {
        loop {
            let next = {
                let mut expected = self.expected.lock().unwrap_or_else(|e| e.into_inner());
                expected.pop_front()
            };
            let Some((s, slot)) = next else {
                return false;
            };
            if self.claim(&s, &slot) {
                return true;
            }
        }
    }

    /// What state `s` does to requests (run on first use, then cached).
    ///
    /// A run that needs a state another thread is measuring does not block its thread for the
    /// length of a request-level run (that held a 2-thread study to one thread for as long,
    /// issue 13): the thread measures an expected state nobody has claimed
    /// ([`StateRuns::expect`]), else works on other pending runs of the pool
    /// (`rayon::yield_now`), and comes back when the state is measured. Runs are keyed by
    /// replication and the state's run by the state alone, so the results do not depend on
    /// which thread does what.
    pub fn measure(&self, s: &Serving) -> Measured {
        let slot = self.slot(s);
        let mut waited = false;
        let measured = loop {
            if let Some(m) = slot.value.get() {
                break m.clone();
            }
            if self.claim(s, &slot) {
                continue;
            }
            if !waited {
                waited = true;
                WAITS.with(|w| w.set(w.get() + 1));
            }
            if self.claim_expected() {
                continue;
            }
            let nested = WAITS.with(Cell::get) <= MAX_NESTED_WAITS;
            match nested.then(rayon::yield_now).flatten() {
                Some(rayon::Yield::Executed) => {}
                _ => std::thread::sleep(std::time::Duration::from_micros(200)),
            }
        };
        if waited {
            WAITS.with(|w| w.set(w.get() - 1));
        }
        measured
    }

    /// Whether a state's run was cut short: the study has no figure for it and must stop.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// The run cut short for its requests in flight (the first in key order if several
    /// were): which run it was, in words (a degraded state's, or a semi-sync stall's), the
    /// configuration it ran and where it stopped.
    pub fn overflowed(&self) -> Option<(String, Config, CutShort)> {
        let first = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        first.as_ref().map(|(s, stall, cut)| match *stall {
            None => (
                format!("state run of the degraded state: {}", self.describe(s)),
                self.config(s),
                *cut,
            ),
            Some((missing, semi)) => (
                format!(
                    "semi-sync stall run ({missing} replica(s) lost, {}), in the state: {}",
                    if semi {
                        "with semi-sync"
                    } else {
                        "its comparison without semi-sync"
                    },
                    self.describe(s)
                ),
                self.stall_config(s, missing, semi),
                *cut,
            ),
        })
    }

    fn run(&self, s: &Serving) -> Measured {
        // No figure for a state once one run was cut short: every request counted failed
        // until the study stops at its check of `failed` (its runs are not kept, see
        // cli/montecarlo.rs), and no other state is run meanwhile.
        let none = Measured {
            penalty: Penalty {
                fail: 1.0,
                late: 0.0,
            },
            finished: 0,
            p50_s: f64::NAN,
            p99_s: f64::NAN,
        };
        if self.failed() {
            return none;
        }
        let r = Stack::run_with(&self.config(s), 0, &mut NoRows);
        if let Some(cut) = r.cut_short {
            let mut first = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
            if first
                .as_ref()
                .is_none_or(|(k, stall, _)| (s, &None) < (k, stall))
            {
                *first = Some((s.clone(), None, cut));
            }
            self.failed.store(true, Ordering::Relaxed);
            return none;
        }
        let finished = r.requests.completed + r.requests.failed;
        let (fail, late) = if finished == 0 {
            (0.0, 0.0)
        } else {
            let served = r.requests.completed as f64 / finished as f64;
            // The run counts requests served within the scenario's own SLO exactly; the
            // histogram (bucket resolution) stands in for a latency given some other way.
            let late = match (self.slo, r.slo_availability) {
                (Some(l), Some(good)) if self.cfg.slo_latency() == Some(l) => {
                    (served - good).max(0.0)
                }
                (Some(l), _) => served * r.latency_hist.fraction_above(l),
                (None, _) => 0.0,
            };
            (r.requests.failed as f64 / finished as f64, late)
        };
        Measured {
            penalty: Penalty { fail, late },
            finished,
            p50_s: r.latency.p50,
            p99_s: r.latency.p99,
        }
    }

    /// The states run so far, in key order.
    pub fn measured(&self) -> Vec<(Serving, Measured)> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(Serving, Measured)> = cache
            .iter()
            .filter_map(|(k, v)| v.value.get().map(|m| (k.clone(), m.clone())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// State `s` in words: what is missing from the healthy stack.
    pub fn describe(&self, s: &Serving) -> String {
        let cfg = self.cfg;
        let healthy = self.groups.healthy(cfg);
        let mut parts = vec![];
        for (g, (&now, &all)) in s.servers.iter().zip(&healthy.servers).enumerate() {
            if now != all {
                let names: Vec<&str> = (0..cfg.servers.len())
                    .filter(|&i| self.groups.server[i] as usize == g)
                    .map(|i| cfg.servers[i].name.as_str())
                    .collect();
                parts.push(format!(
                    "{now} of {} server{} ({}) serving",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ));
            }
        }
        if s.primary != healthy.primary {
            parts.push("a promoted replica as primary".into());
        }
        let (now, all): (u32, u32) = (
            s.replicas.iter().map(|&c| c as u32).sum(),
            healthy.replicas.iter().map(|&c| c as u32).sum(),
        );
        if now != all {
            parts.push(format!("{now} of {all} replicas serving"));
        }
        if parts.is_empty() {
            "healthy".into()
        } else {
            parts.join("; ")
        }
    }
}

impl StatePenalty for StateRuns<'_> {
    fn penalty(&self, s: &Serving) -> Penalty {
        self.measure(s).penalty
    }
}

impl StallCosts for StateRuns<'_> {
    fn stall(&self, after: &Serving, missing: u16) -> StallCost {
        self.stall_cost(after, missing)
    }
}
