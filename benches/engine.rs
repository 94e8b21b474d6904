//! Engine throughput in events per second (release build: `cargo bench --bench engine`).
//!
//! Four measurements, each the median of 5 runs:
//! 1. `baseline`: a minimal hand-written M/M/1 loop on std's BinaryHeap, the yardstick the
//!    project brief compares against (no engine, no model, no statistics);
//! 2. `engine-mm1`: the same M/M/1 as a `Model` on our `Calendar`: the engine's own cost;
//! 3. `stack-mm1`: `scenarios/mm1.toml`'s system through the full stack model (LB, server,
//!    histograms, time averages), stages of zero time bypassed;
//! 4. `stack-distributed`: `scenarios/distributed.toml`, the seed's whole design.

use infrasim::engine::{self, Calendar, Model, Rng, SimTime, StreamId};
use infrasim::model::Stack;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::time::Instant;

const LAMBDA: f64 = 0.8;
const MU: f64 = 1.0;

fn baseline(n_events: u64) -> (u64, f64) {
    let mut rng = Rng::new(StreamId::new(1, "bench", 0));
    // (time in ns, kind) 0 = arrival, 1 = departure
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((0u64, 0u8)));
    let (mut queue, mut busy, mut done, mut sum) = (0u64, false, 0u64, 0u64);
    let mut events = 0;
    let mut arrivals = std::collections::VecDeque::new();
    while let Some(Reverse((t, kind))) = heap.pop() {
        events += 1;
        if events >= n_events {
            break;
        }
        if kind == 0 {
            heap.push(Reverse((t + (rng.exp(1e9 / LAMBDA)) as u64, 0)));
            arrivals.push_back(t);
            if busy {
                queue += 1;
            } else {
                busy = true;
                heap.push(Reverse((t + rng.exp(1e9 / MU) as u64, 1)));
            }
        } else {
            sum += t - arrivals.pop_front().unwrap_or(t);
            done += 1;
            if queue > 0 {
                queue -= 1;
                heap.push(Reverse((t + rng.exp(1e9 / MU) as u64, 1)));
            } else {
                busy = false;
            }
        }
    }
    (events, sum as f64 / done.max(1) as f64)
}

#[derive(Clone, Copy)]
enum Ev {
    Arrival,
    Departure,
}

struct Mm1 {
    rng: Rng,
    queue: std::collections::VecDeque<SimTime>,
    sum: u64,
    done: u64,
}

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

fn engine_mm1(seconds: u64) -> (u64, f64) {
    let mut m = Mm1 {
        rng: Rng::new(StreamId::new(1, "bench", 0)),
        queue: Default::default(),
        sum: 0,
        done: 0,
    };
    let mut cal = Calendar::new();
    cal.schedule_at(SimTime::ZERO, Ev::Arrival);
    let n = engine::run(&mut m, &mut cal, SimTime::from_secs(seconds));
    (n, m.sum as f64 / m.done.max(1) as f64 * 1e-9)
}

fn measure(name: &str, mut f: impl FnMut() -> u64) {
    let mut rates = vec![];
    let mut ns = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        let events = f();
        let dt = t.elapsed().as_secs_f64();
        rates.push(events as f64 / dt);
        ns.push(dt * 1e9 / events as f64);
    }
    rates.sort_by(f64::total_cmp);
    ns.sort_by(f64::total_cmp);
    println!(
        "{name:<20} {:>8.2} M events/s  ({:.1} ns/event, median of 5)",
        rates[2] / 1e6,
        ns[2]
    );
}

fn load(path: &str) -> infrasim::model::Config {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    infrasim::scenario::load(&p, &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .config
}

fn main() {
    // `cargo test --benches` runs this binary too: keep that quick.
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("QUICK").is_some();
    let scale = if quick { 100 } else { 1 };
    measure("baseline", || baseline(20_000_000 / scale).0);
    measure("engine-mm1", || engine_mm1(12_500_000 / scale).0);
    let mut mm1 = load("scenarios/mm1.toml");
    mm1.duration = SimTime::from_secs(mm1.duration.as_secs_f64() as u64 / scale);
    mm1.warmup = SimTime::ZERO;
    measure("stack-mm1", || Stack::run(&mm1, 0).events);
    let mut dist = load("scenarios/distributed.toml");
    dist.duration = SimTime::from_secs((dist.duration.as_secs_f64() as u64 / scale).max(1));
    dist.warmup = SimTime::ZERO;
    measure("stack-distributed", || Stack::run(&dist, 0).events);
}
