//! Engine and model throughput (release build: `cargo bench --bench engine`).
//!
//! The headline is **ns per request, the full stack beside a hand-written loop, in one
//! process**: the machine this runs on is shared and noisy, so the two are interleaved (loop,
//! stack, loop, stack, ...) five times and the ratio of the medians is what the README reports.
//! Two models, each the same system for both sides:
//! - `mm1`: `scenarios/mm1.toml` (Poisson 80/s, one server, exponential 10 ms: rho 0.8);
//! - `leastconn2`: the same with two servers behind `leastconn` and twice the rate.
//!
//! The stack runs without its timeline (the loops keep none; the timeline's own cost is
//! printed after the table).
//!
//! The loops are what a competent engineer writes for exactly that system and nothing else: a
//! `BinaryHeap` of (time, kind, server), a FIFO of arrival times per server, the mean response
//! time; they draw their exponentials with the same sampler as the stack, so the ratio measures
//! the model around the engine, not the sampler. The stack pays for everything a scenario could
//! switch on (health, faults, timeouts, HDR histograms, time averages, the timeline) even when
//! it is off. Both sides print their mean response time: if they disagree the comparison is
//! void, and the bench panics.
//!
//! Then the engine's own cost (`engine-mm1`: the M/M/1 as a `Model` on our `Calendar`) and the
//! seed's whole design (`stack-distributed`), in events per second. When `python3` has `simpy`,
//! the same M/M/1 runs in SimPy (`benches/simpy_mm1.py`) for the cross-tool ratio.

use infrasim::dist::{Dist, Sample};
use infrasim::engine::{self, Calendar, Model, Rng, SimTime, StreamId};
use infrasim::model::Stack;
use infrasim::model::config::{Algorithm, Config};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::Path;
use std::time::Instant;

/// What one timed call gives back: requests finished, mean response time (s), wall time (s).
struct Timed {
    requests: u64,
    mean_s: f64,
    wall_s: f64,
}

impl Timed {
    fn ns_per_request(&self) -> f64 {
        self.wall_s * 1e9 / self.requests.max(1) as f64
    }
}

/// The hand-written loop: Poisson arrivals at `rate`, `servers` single-worker FIFO servers
/// with exponential service of mean `service_s`, the new request sent to the server with the
/// fewest requests (in service + waiting; ties to the lowest index, a 2-server scan), until
/// `horizon_s`.
#[inline(never)]
fn hand_loop(rate: f64, service_s: f64, servers: usize, horizon_s: f64) -> Timed {
    let start = Instant::now();
    let gap = Dist::exp(1e9 / rate).expect("valid rate");
    let work = Dist::exp(1e9 * service_s).expect("valid mean");
    let mut arrivals = Rng::new(StreamId::new(1, "bench.arrivals", 0));
    let mut service = Rng::new(StreamId::new(1, "bench.service", 0));
    let horizon = (horizon_s * 1e9) as u64;
    // (time in ns, kind: 0 arrival / 1 departure, server)
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((0u64, 0u8, 0u8)));
    let mut fifo: Vec<VecDeque<u64>> = vec![VecDeque::new(); servers];
    let (mut done, mut sum) = (0u64, 0u64);
    while let Some(Reverse((t, kind, s))) = heap.pop() {
        if t > horizon {
            break;
        }
        if kind == 0 {
            heap.push(Reverse((t + gap.sample(&mut arrivals) as u64, 0, 0)));
            let mut best = 0;
            for (i, q) in fifo.iter().enumerate().skip(1) {
                if q.len() < fifo[best].len() {
                    best = i;
                }
            }
            fifo[best].push_back(t);
            if fifo[best].len() == 1 {
                heap.push(Reverse((
                    t + work.sample(&mut service) as u64,
                    1,
                    best as u8,
                )));
            }
        } else {
            let q = &mut fifo[s as usize];
            sum += t - q.pop_front().unwrap_or(t);
            done += 1;
            if !q.is_empty() {
                heap.push(Reverse((t + work.sample(&mut service) as u64, 1, s)));
            }
        }
    }
    Timed {
        requests: done,
        mean_s: sum as f64 * 1e-9 / done.max(1) as f64,
        wall_s: start.elapsed().as_secs_f64(),
    }
}

/// The full stack on `cfg`: one `Stack::run` call (building the model included).
#[inline(never)]
fn stack(cfg: &Config) -> Timed {
    let start = Instant::now();
    let r = Stack::run(cfg, 0);
    Timed {
        requests: r.requests.completed,
        mean_s: r.latency.mean,
        wall_s: start.elapsed().as_secs_f64(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Interleaves the loop and the stack `reps` times; prints the medians and their ratio.
fn side_by_side(name: &str, reps: usize, mut lp: impl FnMut() -> Timed, cfg: &Config) -> f64 {
    let (mut l, mut s) = (vec![], vec![]);
    let (mut lm, mut sm) = (0.0, 0.0);
    for _ in 0..reps {
        let a = lp();
        let b = stack(cfg);
        l.push(a.ns_per_request());
        s.push(b.ns_per_request());
        (lm, sm) = (a.mean_s, b.mean_s);
    }
    // The two must model the same system: their mean response times agree within 5% (about
    // five standard errors of a 1e6-request M/M/1 mean at rho 0.8; the quick run is looser).
    let tol = if reps < 5 { 0.25 } else { 0.05 };
    assert!(
        (lm - sm).abs() <= tol * lm,
        "{name}: loop mean {lm} s vs stack mean {sm} s: not the same system"
    );
    let (lmed, smed) = (median(l), median(s));
    println!(
        "{name:<12} loop {lmed:>7.1} ns/request   stack {smed:>7.1} ns/request   \
         stack/loop {:.2}x   (mean response: loop {:.2} ms, stack {:.2} ms)",
        smed / lmed,
        lm * 1e3,
        sm * 1e3
    );
    smed / lmed
}

#[derive(Clone, Copy)]
enum Ev {
    Arrival,
    Departure,
}

struct Mm1 {
    rng: Rng,
    queue: VecDeque<SimTime>,
    sum: u64,
    done: u64,
}

const LAMBDA: f64 = 0.8;
const MU: f64 = 1.0;

impl Model for Mm1 {
    type Event = Ev;
    fn handle(&mut self, ev: Ev, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        match ev {
            Ev::Arrival => {
                cal.schedule_in(
                    SimTime::from_secs_f64(self.rng.exp(1.0 / LAMBDA)),
                    Ev::Arrival,
                );
                self.queue.push_back(now);
                if self.queue.len() == 1 {
                    cal.schedule_in(
                        SimTime::from_secs_f64(self.rng.exp(1.0 / MU)),
                        Ev::Departure,
                    );
                }
            }
            Ev::Departure => {
                let a = self.queue.pop_front().unwrap_or(now);
                self.sum += (now - a).as_nanos();
                self.done += 1;
                if !self.queue.is_empty() {
                    cal.schedule_in(
                        SimTime::from_secs_f64(self.rng.exp(1.0 / MU)),
                        Ev::Departure,
                    );
                }
            }
        }
    }
}

fn engine_mm1(seconds: u64) -> u64 {
    let mut m = Mm1 {
        rng: Rng::new(StreamId::new(1, "bench", 0)),
        queue: Default::default(),
        sum: 0,
        done: 0,
    };
    let mut cal = Calendar::new();
    cal.schedule_at(SimTime::ZERO, Ev::Arrival);
    engine::run(&mut m, &mut cal, SimTime::from_secs(seconds))
}

fn events_per_second(name: &str, mut f: impl FnMut() -> u64) {
    let mut ns = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        let events = f();
        ns.push(t.elapsed().as_secs_f64() * 1e9 / events as f64);
    }
    let m = median(ns);
    println!(
        "{name:<20} {:>8.2} M events/s  ({m:.1} ns/event, median of 5)",
        1e3 / m
    );
}

fn load(path: &str) -> Config {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    infrasim::scenario::load(&p, &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .config
}

/// SimPy's M/M/1 on the same parameters, when python3 has simpy: its own ns per request.
fn simpy(requests: u64) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/simpy_mm1.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(requests.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    // `cargo test --benches` runs this binary too: keep that quick.
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("QUICK").is_some();
    let (scale, reps) = if quick { (100, 3) } else { (1, 5) };

    let mut mm1 = load("scenarios/mm1.toml");
    mm1.duration = SimTime::from_secs(mm1.duration.as_secs_f64() as u64 / scale);
    mm1.warmup = SimTime::ZERO;
    // The loops keep no timeline; the stack's is measured on its own below.
    mm1.failures.timeline_interval = SimTime::ZERO;
    let horizon = mm1.duration.as_secs_f64();
    let rate = mm1.workload.rate;
    let service = mm1.workload.mix[0].app.mean();
    let mut lc2 = mm1.clone();
    lc2.lb.algorithm = Algorithm::LeastConn;
    lc2.workload.rate = 2.0 * rate;
    let mut second = lc2.servers[0].clone();
    second.name = "web-02".into();
    lc2.servers.push(second);

    println!(
        "per request, {reps} interleaved runs of {horizon} s each (about {} requests):",
        (rate * horizon) as u64
    );
    let r1 = side_by_side("mm1", reps, || hand_loop(rate, service, 1, horizon), &mm1);
    side_by_side(
        "leastconn2",
        reps,
        || hand_loop(2.0 * rate, service, 2, horizon),
        &lc2,
    );
    if !quick && let Some(ns) = simpy((rate * horizon / 10.0) as u64) {
        let l = median(
            (0..reps)
                .map(|_| hand_loop(rate, service, 1, horizon).ns_per_request())
                .collect(),
        );
        println!(
            "simpy-mm1    {ns:>7.1} ns/request: {:.0}x the loop, {:.0}x the stack",
            ns / l,
            ns / (l * r1)
        );
    }

    let mut with_timeline = mm1.clone();
    with_timeline.failures.timeline_interval = SimTime::from_secs(1);
    let t = median(
        (0..reps)
            .map(|_| stack(&with_timeline).ns_per_request())
            .collect(),
    );
    let base = median((0..reps).map(|_| stack(&mm1).ns_per_request()).collect());
    println!(
        "mm1 with its default 1 s timeline: {t:.1} ns/request ({:.2}x without)",
        t / base
    );

    println!("engine and model, events per second:");
    events_per_second("engine-mm1", || engine_mm1(12_500_000 / scale));
    let mut dist = load("scenarios/distributed.toml");
    dist.duration = SimTime::from_secs((dist.duration.as_secs_f64() as u64 / scale).max(1));
    dist.warmup = SimTime::ZERO;
    events_per_second("stack-distributed", || Stack::run(&dist, 0).events);
}
