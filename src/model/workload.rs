//! Open-loop arrivals and the work each request brings.
//!
//! Two streams: `arrivals` for the gaps and `work` for what each request is (class, client,
//! Nginx and application work). Both are drawn at arrival, from streams no policy touches, so
//! two runs that differ only in LB algorithm or server count see exactly the same requests
//! (common random numbers).

use super::config::{ArrivalKind, RatePhase, RequestClass, WorkloadConfig};
use super::popularity::Popularity;
use super::shape::Thinning;
use crate::dist::Sample;
use crate::engine::{Rng, SimTime, StreamId};

/// The first client address: 10.0.0.1, then consecutive addresses (for `source` hashing).
pub const FIRST_CLIENT_IP: u32 = 0x0A00_0001;

/// What one request is, drawn at its arrival.
#[derive(Clone, Copy, Debug)]
pub struct Work {
    pub class: u16,
    /// Nginx serves it alone (a static file: no application stage).
    pub static_file: bool,
    pub client_ip: u32,
    pub nginx: SimTime,
    pub app: SimTime,
    pub reads: u32,
    pub writes: u32,
}

pub struct Workload {
    kind: ArrivalKind,
    rate: f64,
    phases: Vec<RatePhase>,
    next_phase: usize,
    clients: u32,
    mix: Vec<RequestClass>,
    cumulative: Vec<f64>,
    arrivals: Rng,
    work: Rng,
    /// A time-varying rate (`model/shape.rs`), sampled from `arrivals`; None: the steps above.
    shape: Option<Thinning>,
    /// Heavy-hitter addresses and their stream, `clients`; None: uniform from `work`.
    popularity: Option<(Popularity, Rng)>,
    /// The gap's law when it never changes (no phases, no shape, a rate > 0), fixed here so
    /// `next_arrival` branches once instead of walking the phase logic per request.
    steady: Option<SteadyGap>,
    /// Per class: the Nginx stage is a point mass at zero (skipped, no draw), decided once
    /// here instead of by a `Dist::is_zero` per request.
    nginx_zero: Vec<bool>,
}

/// The gap between arrivals at one constant rate.
#[derive(Clone, Copy, Debug)]
enum SteadyGap {
    /// Poisson: exponential gaps of this mean, `1 / rate` (the same value the general path
    /// computes, so the draws and their rounding are the same).
    Poisson(f64),
    /// Deterministic: this gap, `1 / rate` rounded once as the general path rounds it.
    Every(SimTime),
}

impl Workload {
    pub fn new(cfg: &WorkloadConfig, seed: u64, replication: u64) -> Self {
        let total: f64 = cfg.mix.iter().map(|c| c.weight).sum();
        let mut acc = 0.0;
        let cumulative = cfg
            .mix
            .iter()
            .map(|c| {
                acc += c.weight / total;
                acc
            })
            .collect();
        Workload {
            kind: cfg.arrival,
            rate: cfg.rate,
            phases: cfg.phases.clone(),
            next_phase: 0,
            clients: cfg.clients.max(1),
            mix: cfg.mix.clone(),
            steady: (cfg.phases.is_empty() && cfg.shape.is_none() && cfg.rate > 0.0).then(|| {
                match cfg.arrival {
                    ArrivalKind::Poisson => SteadyGap::Poisson(1.0 / cfg.rate),
                    ArrivalKind::Deterministic => {
                        SteadyGap::Every(SimTime::from_secs_f64(1.0 / cfg.rate))
                    }
                }
            }),
            nginx_zero: cfg.mix.iter().map(|c| c.nginx.is_zero()).collect(),
            cumulative,
            arrivals: Rng::new(StreamId::new(seed, "arrivals", replication)),
            work: Rng::new(StreamId::new(seed, "work", replication)),
            shape: cfg.shape.clone().map(Thinning::new),
            popularity: cfg.popularity.map(|p| {
                (
                    Popularity::new(&p, cfg.clients),
                    Rng::new(StreamId::new(seed, "clients", replication)),
                )
            }),
        }
    }

    /// The time of the next arrival after `now`, or None if arrivals have stopped for good.
    ///
    /// A Poisson process with a piecewise-constant rate is sampled exactly: if a gap would
    /// cross a rate change, the clock moves to the change and a fresh gap is drawn at the new
    /// rate (memorylessness makes that exact). Deterministic arrivals restart their spacing at
    /// each change. The constant-rate case is inlined into the arrival handler; the rest is
    /// out of line.
    #[inline(always)]
    pub fn next_arrival(&mut self, now: SimTime) -> Option<SimTime> {
        match self.steady {
            Some(SteadyGap::Poisson(mean)) => {
                Some(now + SimTime::from_secs_f64(self.arrivals.exp(mean)))
            }
            Some(SteadyGap::Every(gap)) => Some(now + gap),
            None => self.next_arrival_changing(now),
        }
    }

    /// [`Workload::next_arrival`] with phases or a shape, or a zero rate.
    #[inline(never)]
    fn next_arrival_changing(&mut self, now: SimTime) -> Option<SimTime> {
        if let Some(shape) = self.shape.as_mut() {
            return shape.next(&mut self.arrivals);
        }
        let mut t = now;
        loop {
            let boundary = self.phases.get(self.next_phase).map(|p| p.at);
            let candidate = if self.rate > 0.0 {
                let gap = match self.kind {
                    ArrivalKind::Poisson => self.arrivals.exp(1.0 / self.rate),
                    ArrivalKind::Deterministic => 1.0 / self.rate,
                };
                Some(t + SimTime::from_secs_f64(gap))
            } else {
                None
            };
            match (candidate, boundary) {
                (Some(c), Some(b)) if c <= b => return Some(c),
                (Some(c), None) => return Some(c),
                (_, Some(b)) => {
                    t = t.max(b);
                    self.rate = self.phases[self.next_phase].rate;
                    self.next_phase += 1;
                }
                (None, None) => return None,
            }
        }
    }

    /// Draws what the next request is (inlined into its callers, once per arrival: the call and
    /// the returned struct's trip through memory cost more than the body).
    #[inline(always)]
    pub fn draw(&mut self) -> Work {
        let class = if self.mix.len() == 1 {
            0
        } else {
            let u = self.work.uniform();
            self.cumulative
                .iter()
                .position(|&c| u < c)
                .unwrap_or(self.mix.len() - 1)
        };
        let mut client = self.work.below(self.clients as u64) as u32;
        if let Some((p, rng)) = self.popularity.as_mut() {
            // The uniform draw above is still taken, so the rest of `work` lines up with a
            // run of uniform clients (common random numbers).
            client = p.draw(rng);
        }
        let client_ip = FIRST_CLIENT_IP.wrapping_add(client);
        let c = &self.mix[class];
        let nginx = if self.nginx_zero[class] {
            SimTime::ZERO
        } else {
            SimTime::from_secs_f64(c.nginx.sample(&mut self.work))
        };
        let app = SimTime::from_secs_f64(c.app.sample(&mut self.work));
        Work {
            class: class as u16,
            static_file: c.static_file,
            client_ip,
            nginx,
            app,
            reads: c.reads,
            writes: c.writes,
        }
    }

    /// The current arrival rate (requests per second).
    pub fn rate(&self) -> f64 {
        match &self.shape {
            Some(s) => s.rate(),
            None => self.rate,
        }
    }
}
