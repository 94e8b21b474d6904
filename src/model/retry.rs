//! Client retries (`[workload.retry]`): a client whose request failed sends it again, up to
//! `retries` times, after a backoff.
//!
//! Why it matters: during an outage every request fails, so each one a client wants becomes
//! 1 + `retries` attempts: the offered load is multiplied just when the system is weakest. A
//! retry without backoff comes back at once; with exponential backoff the k-th retry waits
//! `backoff` x `multiplier`^(k-1) (capped at `max_backoff`), and "full jitter" draws the wait
//! uniformly between 0 and that, which spreads synchronised clients apart (Brooker, "Exponential
//! Backoff And Jitter", AWS Architecture Blog, 2015; the same capped exponential schedule as
//! gRPC's connection backoff, doc/connection-backoff.md, whose MAX_BACKOFF of 120 s is the
//! default cap here). After the repair the retries still waiting arrive on top of the new
//! requests, so a stack close to its capacity takes longer to recover.
//!
//! When each attempt fails independently with probability p, the attempts per request are
//! N = min(G, 1 + r) with G geometric: P(N >= k) = p^(k-1) for k = 1..=r+1, so
//! E[N] = sum_{k=0}^{r} p^k = (1 - p^(r+1)) / (1 - p): the factor by which retries multiply the
//! offered load (r + 1 when everything fails). `tests/retries.rs` checks it.
//!
//! What a retry is: the same request (class, work, client address, user) sent again as a new
//! attempt through the whole stack. Each attempt counts as a request in `requests` and the
//! error counts (that is what HAProxy and the servers see); the `retries` block of
//! `summary.json` counts what the clients saw: requests they wanted, attempts, and requests
//! that failed after their last attempt. Which errors are retried: every connection error,
//! timeout and 5xx (a client cannot tell a 503 from a reset), but not HAProxy's
//! `http-request deny` 403 (RFC 9110 §15.5.4: the server "understood the request but refuses
//! to fulfill it", and the client "SHOULD NOT automatically repeat the request with the same
//! credentials"; no common retry policy retries a 403): that request has failed for good.
//! Retries wait in a slab here, so memory is bounded by the requests waiting to be retried.

use super::config::RetryConfig;
use super::workload::Work;
use crate::engine::{Rng, SimTime, StreamId};
use serde::Serialize;

/// A request waiting to be sent again.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub work: Work,
    /// The closed-loop user who wants it, or `clients::NO_USER`.
    pub user: u32,
    /// The attempt it will be (2 = the first retry).
    pub attempt: u8,
    /// Its first attempt was in the measurement window.
    pub measured: bool,
}

pub struct Retries {
    cfg: RetryConfig,
    rng: Rng,
    pending: Vec<Pending>,
    free: Vec<u32>,
    // ---- measured: requests whose first attempt came after the warm-up ----
    wanted: u64,
    attempts: u64,
    retried: u64,
    succeeded: u64,
    gave_up: u64,
}

/// What the clients saw (`summary.json` `retries`).
#[derive(Clone, Debug, Serialize)]
pub struct RetryReport {
    pub retries: u32,
    pub backoff_s: f64,
    pub multiplier: f64,
    pub max_backoff_s: f64,
    pub jitter: bool,
    /// Requests the clients wanted (first attempts in the window).
    pub requests: u64,
    /// Their attempts so far, first ones included.
    pub attempts: u64,
    /// Attempts that were retries.
    pub retried: u64,
    /// Requests that succeeded, at some attempt.
    pub succeeded: u64,
    /// Requests that failed at their last attempt.
    pub gave_up: u64,
    /// attempts / requests: how much retries multiplied the load.
    pub amplification: f64,
    /// succeeded / (succeeded + gave_up): availability as the clients saw it.
    pub client_availability: f64,
}

impl Retries {
    pub fn new(cfg: &RetryConfig, seed: u64, rep: u64) -> Self {
        Retries {
            cfg: cfg.clone(),
            rng: Rng::new(StreamId::new(seed, "client.backoff", rep)),
            pending: Vec::new(),
            free: Vec::new(),
            wanted: 0,
            attempts: 0,
            retried: 0,
            succeeded: 0,
            gave_up: 0,
        }
    }

    /// An attempt leaves (`attempt` 1 is a new request).
    #[inline]
    pub fn sent(&mut self, attempt: u8, measured: bool) {
        if measured {
            self.attempts += 1;
            self.wanted += u64::from(attempt == 1);
            self.retried += u64::from(attempt > 1);
        }
    }

    /// Attempt `attempt` of a request succeeded.
    #[inline]
    pub fn succeeded(&mut self, measured: bool) {
        self.succeeded += u64::from(measured);
    }

    /// A request failed with an answer the client does not retry (a 403): it gives up now.
    #[inline]
    pub fn refused(&mut self, measured: bool) {
        self.gave_up += u64::from(measured);
    }

    /// Attempt `p.attempt - 1` failed: returns when to send attempt `p.attempt` and its slot,
    /// or None when that was the last one (the client gives up).
    pub fn failed(&mut self, now: SimTime, p: Pending) -> Option<(SimTime, u32)> {
        if u32::from(p.attempt) > self.cfg.retries + 1 {
            self.gave_up += u64::from(p.measured);
            return None;
        }
        let wait = self.backoff(u32::from(p.attempt) - 1);
        let slot = match self.free.pop() {
            Some(s) => {
                self.pending[s as usize] = p;
                s
            }
            None => {
                self.pending.push(p);
                (self.pending.len() - 1) as u32
            }
        };
        Some((now + wait, slot))
    }

    /// Takes the request waiting in `slot`.
    pub fn take(&mut self, slot: u32) -> Pending {
        self.free.push(slot);
        self.pending[slot as usize]
    }

    /// The wait before retry `k` (1 = the first).
    fn backoff(&mut self, k: u32) -> SimTime {
        let c = &self.cfg;
        if c.backoff == SimTime::ZERO {
            return SimTime::ZERO;
        }
        let grown = c.backoff.as_secs_f64() * c.multiplier.powi(k.saturating_sub(1) as i32);
        let cap = grown.min(c.max_backoff.as_secs_f64());
        let wait = if c.jitter {
            self.rng.uniform() * cap
        } else {
            cap
        };
        SimTime::from_secs_f64(wait)
    }

    pub fn report(&self) -> RetryReport {
        let c = &self.cfg;
        let finished = self.succeeded + self.gave_up;
        RetryReport {
            retries: c.retries,
            backoff_s: c.backoff.as_secs_f64(),
            multiplier: c.multiplier,
            max_backoff_s: c.max_backoff.as_secs_f64(),
            jitter: c.jitter,
            requests: self.wanted,
            attempts: self.attempts,
            retried: self.retried,
            succeeded: self.succeeded,
            gave_up: self.gave_up,
            amplification: if self.wanted > 0 {
                self.attempts as f64 / self.wanted as f64
            } else {
                f64::NAN
            },
            client_availability: if finished > 0 {
                self.succeeded as f64 / finished as f64
            } else {
                f64::NAN
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retries(backoff_ms: u64, jitter: bool) -> Retries {
        let cfg = RetryConfig {
            retries: 3,
            backoff: SimTime::from_millis(backoff_ms),
            multiplier: 2.0,
            max_backoff: SimTime::from_millis(300),
            jitter,
        };
        Retries::new(&cfg, 1, 0)
    }

    fn pending(attempt: u8) -> Pending {
        Pending {
            work: Work {
                class: 0,
                static_file: false,
                client_ip: 0,
                nginx: SimTime::ZERO,
                app: SimTime::ZERO,
                reads: 0,
                writes: 0,
            },
            user: u32::MAX,
            attempt,
            measured: true,
        }
    }

    #[test]
    fn backoff_grows_to_its_cap_then_the_client_gives_up() {
        let mut r = retries(100, false);
        let t = SimTime::from_secs(1);
        let waits: Vec<u64> = (2..=4)
            .map(|a| (r.failed(t, pending(a)).unwrap().0 - t).as_nanos() / 1_000_000)
            .collect();
        assert_eq!(waits, [100, 200, 300]); // 400 capped at 300
        assert!(r.failed(t, pending(5)).is_none());
        assert_eq!(r.report().gave_up, 1);
    }

    #[test]
    fn no_backoff_retries_at_once_and_jitter_stays_below_the_schedule() {
        let mut r = retries(0, false);
        let t = SimTime::from_secs(1);
        assert_eq!(r.failed(t, pending(2)).unwrap().0, t);
        let mut j = retries(100, true);
        for _ in 0..1000 {
            let (at, slot) = j.failed(t, pending(3)).unwrap();
            assert!(at >= t && at <= t + SimTime::from_millis(200));
            j.take(slot);
        }
        // Slots are reused: a thousand retries, one at a time, needed one.
        assert_eq!(j.pending.len(), 1);
    }
}
