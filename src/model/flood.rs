//! Attack traffic (`[workload.flood]`): a flood of requests from a few source addresses,
//! separate from the legitimate traffic.
//!
//! Why: HTTP floods (a botnet, a misbehaving crawler, a retrying script) are the availability
//! attack a per-source rate limit (`model/ratelimit.rs`) and a firewall answer. What matters for
//! capacity is their rate, how few addresses send them (what a per-source limit keys on), when
//! they start and stop, and what each request costs the stack: a flood request is a request of
//! one of the mix's classes (`like`), the work drawn like that class's.
//!
//! Arrivals are Poisson at `rate` between `start` and `stop`, on the stream `flood.arrivals`;
//! each request's source (uniform over `sources` addresses from 198.18.0.1, the benchmarking
//! range of RFC 2544, so that they never collide with the legitimate clients' 10.0.0.0/8) and
//! its work come from `flood.work`. Neither touches the legitimate traffic's streams, so a run
//! with a flood sees exactly the same legitimate requests as one without.
//!
//! In the results the flood is one more request class, `flood`, after the mix's (its counts
//! are in the totals too, as HAProxy and the servers see them); `summary.json`'s `flood` block
//! sets the legitimate requests' availability beside the flood's.

use super::config::RequestClass;
use super::workload::Work;
use crate::dist::Sample;
use crate::engine::{Rng, SimTime, StreamId};
use serde::Serialize;

/// The first flood source: 198.18.0.1 (RFC 2544 benchmarking addresses), then consecutive.
pub const FIRST_FLOOD_IP: u32 = 0xC612_0001;

/// `[workload.flood]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodConfig {
    /// Requests per second while the flood lasts, > 0.
    pub rate: f64,
    /// Source addresses, >= 1.
    pub sources: u32,
    pub start: SimTime,
    /// None: until the end of the run.
    pub stop: Option<SimTime>,
    /// Index in the mix of the class whose work a flood request brings.
    pub like: usize,
}

/// The flood's arrivals and work.
pub struct Flood {
    cfg: FloodConfig,
    class: RequestClass,
    /// Its class index in the results: after the mix's.
    index: u16,
    arrivals: Rng,
    work: Rng,
}

/// The legitimate traffic against the flood (`summary.json` `flood`): requests after the
/// warm-up.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FloodReport {
    pub rate: f64,
    pub sources: u32,
    pub start_s: f64,
    pub stop_s: Option<f64>,
    pub like: String,
    /// Flood requests: arrived, completed, failed, and completed / (completed + failed).
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub availability: f64,
    /// The same for every other request: what the users saw.
    pub legitimate_arrived: u64,
    pub legitimate_completed: u64,
    pub legitimate_failed: u64,
    pub legitimate_availability: f64,
}

impl Flood {
    pub fn new(cfg: &FloodConfig, mix: &[RequestClass], seed: u64, replication: u64) -> Self {
        Flood {
            class: mix[cfg.like].clone(),
            index: mix.len() as u16,
            cfg: cfg.clone(),
            arrivals: Rng::new(StreamId::new(seed, "flood.arrivals", replication)),
            work: Rng::new(StreamId::new(seed, "flood.work", replication)),
        }
    }

    /// The class index flood requests carry.
    pub fn class_index(&self) -> usize {
        self.index as usize
    }

    /// The first arrival.
    pub fn first(&mut self) -> Option<SimTime> {
        self.next_after(self.cfg.start)
    }

    /// The next arrival after `now` (Poisson), or None once the flood has stopped.
    pub fn next_after(&mut self, now: SimTime) -> Option<SimTime> {
        let t = now + SimTime::from_secs_f64(self.arrivals.exp(1.0 / self.cfg.rate));
        match self.cfg.stop {
            Some(stop) if t >= stop => None,
            _ => Some(t),
        }
    }

    /// What the next flood request is.
    pub fn draw(&mut self) -> Work {
        let src = self.work.below(u64::from(self.cfg.sources)) as u32;
        let c = &self.class;
        let nginx = if c.nginx.is_zero() {
            SimTime::ZERO
        } else {
            SimTime::from_secs_f64(c.nginx.sample(&mut self.work))
        };
        let app = if c.app.is_zero() {
            SimTime::ZERO
        } else {
            SimTime::from_secs_f64(c.app.sample(&mut self.work))
        };
        Work {
            class: self.index,
            static_file: c.static_file,
            client_ip: FIRST_FLOOD_IP.wrapping_add(src),
            nginx,
            app,
            reads: c.reads,
            writes: c.writes,
        }
    }

    /// The report, from the per-class counts (arrived, completed, failed, good).
    pub fn report(&self, classes: &[[u64; 4]]) -> FloodReport {
        let avail = |c: u64, f: u64| {
            if c + f > 0 {
                c as f64 / (c + f) as f64
            } else {
                f64::NAN
            }
        };
        let flood = classes[self.class_index()];
        let legit = classes[..self.class_index()]
            .iter()
            .fold([0u64; 3], |a, c| [a[0] + c[0], a[1] + c[1], a[2] + c[2]]);
        FloodReport {
            rate: self.cfg.rate,
            sources: self.cfg.sources,
            start_s: self.cfg.start.as_secs_f64(),
            stop_s: self.cfg.stop.map(|t| t.as_secs_f64()),
            like: self.class.name.clone(),
            arrived: flood[0],
            completed: flood[1],
            failed: flood[2],
            availability: avail(flood[1], flood[2]),
            legitimate_arrived: legit[0],
            legitimate_completed: legit[1],
            legitimate_failed: legit[2],
            legitimate_availability: avail(legit[1], legit[2]),
        }
    }
}
