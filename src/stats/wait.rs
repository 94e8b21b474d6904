//! Waiting time before a worker at one stage (a queue in front of c servers): how many
//! requests passed the stage, how many of them had to queue, and the distribution of the
//! waits, zeros included.
//!
//! A request that finds a worker free is counted, not recorded: the no-wait path costs one
//! increment and the histogram ([`Buckets`], about 300 KB, a record of about 15 instructions)
//! is only made when a first request queues. The
//! percentiles are over every request that passed, so the zeros take the lowest ranks: the
//! p50 of a stage where 30% of the requests waited is 0.

use super::buckets::Buckets;
use crate::engine::SimTime;
use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct WaitTime {
    /// Requests that found a worker free.
    immediate: u64,
    /// Requests that entered the queue (whether or not they got a worker afterwards).
    queued: u64,
    /// Waits of the requests that left the queue for a worker; made at the first.
    waits: Option<Box<Buckets>>,
}

impl WaitTime {
    pub fn new() -> Self {
        Self::default()
    }

    /// A request took a worker without waiting.
    #[inline(always)]
    pub fn immediate(&mut self) {
        self.immediate += 1;
    }

    /// `n` requests took a worker without waiting (a count kept elsewhere).
    pub fn add_immediate(&mut self, n: u64) {
        self.immediate += n;
    }

    /// A request found every worker busy and entered the queue.
    #[inline]
    pub fn queued(&mut self) {
        self.queued += 1;
    }

    /// A request that queued took a worker after waiting `d` (it entered the queue at
    /// `now - d`; a wait of 0, queued and served at the same instant, still counts as queued).
    #[inline(always)]
    pub fn waited(&mut self, d: SimTime) {
        match &mut self.waits {
            Some(h) => h.record(d),
            None => self.first_wait(d),
        }
    }

    /// The first wait makes the histogram (out of line: `get_or_insert_with` was a call per
    /// record).
    #[cold]
    #[inline(never)]
    fn first_wait(&mut self, d: SimTime) {
        let mut h = Box::new(Buckets::new());
        h.record(d);
        self.waits = Some(h);
    }

    /// A request took a worker: after a wait since `since` if it `was_queued`, at once
    /// otherwise.
    #[inline(always)]
    pub fn took_worker(&mut self, was_queued: bool, now: SimTime, since: SimTime) {
        if was_queued {
            self.waited(now - since);
        } else {
            self.immediate();
        }
    }

    /// Requests that took a worker after waiting.
    pub fn waited_count(&self) -> u64 {
        self.waits.as_ref().map_or(0, |h| h.count())
    }

    /// Requests that passed the stage (took a worker).
    pub fn passed(&self) -> u64 {
        self.immediate + self.waited_count()
    }

    /// The q-quantile of the wait over every request that passed (nearest rank, the zeros
    /// first), in seconds; 0 when none passed.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        let n = self.passed();
        let Some(h) = self.waits.as_ref().filter(|_| n > 0) else {
            return 0.0;
        };
        let rank = ((q * n as f64).ceil() as u64).max(1);
        if rank <= self.immediate {
            return 0.0;
        }
        h.at_rank_secs(rank - self.immediate)
    }

    /// The stage's figures. `waiting_end`: requests still in the queue when the run ended
    /// (the rest of those that queued without taking a worker left the queue on the way:
    /// a timeout, an error, a client that gave up, a redispatch to another queue).
    pub fn summary(&self, stage: &str, waiting_end: u64) -> WaitSummary {
        let passed = self.passed();
        let waited = self.waited_count();
        let (sum, mean_if_waited, max) = match &self.waits {
            Some(h) => (h.mean_secs() * waited as f64, h.mean_secs(), h.max_secs()),
            None => (0.0, 0.0, 0.0),
        };
        let of_passed = |x: f64| if passed > 0 { x / passed as f64 } else { 0.0 };
        WaitSummary {
            name: stage.to_string(),
            passed,
            waited,
            wait_probability: of_passed(waited as f64),
            mean_s: of_passed(sum),
            p50_s: self.quantile_secs(0.50),
            p90_s: self.quantile_secs(0.90),
            p99_s: self.quantile_secs(0.99),
            p999_s: self.quantile_secs(0.999),
            max_s: max,
            mean_if_waited_s: mean_if_waited,
            left_queue: self.queued.saturating_sub(waited + waiting_end),
            waiting_end,
        }
    }
}

/// One stage's waiting time (`summary.json` `waits[]`, `waits.csv`): seconds, over the
/// measured requests (arrived after the warm-up) that passed the stage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WaitSummary {
    /// The stage: `lb_threads`, `lb_queue`, `nginx`, `app`, `db` (named `name` like the
    /// components of `servers[]`, so that a study flattens it as `waits.<stage>.<figure>`).
    pub name: String,
    /// Requests that took a worker (a slot) here.
    pub passed: u64,
    /// Of them, those that queued first.
    pub waited: u64,
    /// waited / passed: P(wait > 0).
    pub wait_probability: f64,
    /// Mean wait over every request that passed (zeros included).
    pub mean_s: f64,
    pub p50_s: f64,
    pub p90_s: f64,
    pub p99_s: f64,
    pub p999_s: f64,
    pub max_s: f64,
    /// Mean wait of the requests that queued.
    pub mean_if_waited_s: f64,
    /// Requests that entered the queue and left it without a worker (not in the figures above).
    pub left_queue: u64,
    /// Requests still in the queue at the end of the run (not in the figures above either).
    pub waiting_end: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_take_the_lowest_ranks() {
        let mut w = WaitTime::new();
        for _ in 0..700 {
            w.immediate();
        }
        for i in 1..=300u64 {
            w.queued();
            w.waited(SimTime::from_millis(i));
        }
        w.queued(); // left without a worker
        w.queued(); // still waiting at the end
        let s = w.summary("app", 1);
        assert_eq!(
            (s.passed, s.waited, s.left_queue, s.waiting_end),
            (1000, 300, 1, 1)
        );
        assert!((s.wait_probability - 0.3).abs() < 1e-12);
        // Mean over all passes: (1 + ... + 300) ms / 1000.
        assert!((s.mean_s - 300.0 * 301.0 / 2.0 * 1e-3 / 1000.0).abs() < 1e-12);
        assert!((s.mean_if_waited_s - 0.1505).abs() < 1e-12);
        assert_eq!(s.p50_s, 0.0);
        // Rank 900 of 1000 is the 200th wait (200 ms), rank 990 the 290th.
        assert!((s.p90_s - 0.2).abs() <= 0.2e-3);
        assert!((s.p99_s - 0.29).abs() <= 0.29e-3);
        assert!((s.max_s - 0.3).abs() < 1e-12);
        let empty = WaitTime::new().summary("db", 0);
        assert_eq!((empty.passed, empty.mean_s, empty.p99_s), (0, 0.0, 0.0));
    }
}
