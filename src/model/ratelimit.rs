//! HAProxy's per-source rate limiting (`[lb.rate_limit]`): a stick table keyed by the client's
//! address, storing `http_req_rate(<period>)` and `conn_cur`, and the rules
//!
//! ```text
//! stick-table type ip size 1m expire <2 x period> store http_req_rate(<period>),conn_cur
//! tcp-request connection track-sc0 src
//! tcp-request connection reject if { sc_conn_cur(0) gt <conn_limit> }
//! http-request deny if { sc_http_req_rate(0) gt <limit> }     # or: http-request tarpit
//! ```
//!
//! Why it matters: a flood from a few addresses takes HAProxy's frontend slots and the servers'
//! workers from legitimate users; a per-source limit turns the flood away at the LB, at the cost
//! of the LB's own work (the request is still received and parsed).
//!
//! The rate counter is HAProxy's `freq_ctr` (src/freq_ctr.c `update_freq_ctr_period_slow`,
//! `freq_ctr_total`; include/haproxy/freq_ctr.h `read_freq_ctr_period`), in milliseconds:
//! * update: within the current period (`now - tick < period`) `curr += 1`; otherwise the
//!   period rotates: `prev = curr`, `curr = 1`, `tick += period`, and if that still leaves
//!   `now - tick >= period` (two periods without an event) `prev = 0`, `tick = now`;
//! * read: `remain = tick + period - now`; past the period (`remain < 0`) `remain += period`,
//!   `past = curr` if `remain >= 0` else 0, `curr = 0`; with no current events and past <= 1
//!   the rate is `past` ("flapping correction"), otherwise
//!   `(past * remain + curr * period) / period`, an integer (floor): the previous period's
//!   count weighted by the share of it still inside the sliding window, plus the current one.
//!
//! Every request counts, denied ones included ("It does not matter whether they are valid
//! requests or not", HAP-CFG `http_req_rate`), and the request being checked is counted before
//! the check (`http-request track-sc0` updates the request counters as it starts tracking:
//! "request counters are systematically updated", HAP-CFG `http-request track-sc0`). So a
//! source is denied from its (limit + 1)-th request in a period on, and a source that keeps
//! sending faster than limit / period never gets below the limit again: within the first
//! period it gets exactly `limit` requests through, and after that only what the sliding
//! window lets by.
//!
//! `deny` answers 403 at once; `tarpit` holds the request, and its frontend connection, for
//! `timeout tarpit` (default: `timeout connect`) then answers 500 (src/http_act.c
//! `parse_http_deny`: 403 and 500 are the default statuses; HAP-CFG `http-request tarpit`).
//! `conn_cur` counts the source's connections open at this LB (a connection per request in
//! the model: a request holds its frontend slot); `tcp-request connection reject` closes a new
//! connection beyond the limit before anything is read (the client sees a reset).
//!
//! Memory: one entry per source address seen (HashMap, 24 bytes of counters each), so bounded
//! by `workload.clients` plus the flood's sources. The table's `size` and `expire` are taken as
//! large enough that no entry is evicted while it still counts (an expired entry's rate is 0
//! anyway when `expire` >= 2 periods).

use crate::engine::SimTime;
use serde::Serialize;
use std::collections::HashMap;

/// What HAProxy does to a request over the rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitAction {
    /// `http-request deny`: 403 at once.
    Deny,
    /// `http-request tarpit`: held for this long (`timeout tarpit`), then 500.
    Tarpit(SimTime),
}

/// `[lb.rate_limit]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitConfig {
    /// The counter's period (`http_req_rate(<period>)`), whole milliseconds, > 0.
    pub period_ms: u64,
    /// Requests per period a source may send: beyond it (`gt limit`) the action applies.
    pub limit: u32,
    pub action: LimitAction,
    /// Connections a source may hold open at once (`sc_conn_cur(0) gt N` rejects); None: no
    /// limit.
    pub conn_limit: Option<u32>,
}

/// One source's counters: HAProxy's `freq_ctr` and `conn_cur`.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    tick: u64,
    curr: u32,
    prev: u32,
    conns: u32,
}

impl Entry {
    fn update(&mut self, now: u64, period: u64) {
        if now - self.tick < period {
            self.curr = self.curr.saturating_add(1);
            return;
        }
        self.prev = self.curr;
        self.curr = 1;
        self.tick += period;
        if now - self.tick >= period {
            self.prev = 0;
            self.tick = now;
        }
    }

    fn rate(&self, now: u64, period: u64) -> u64 {
        let (mut curr, mut past) = (u64::from(self.curr), u64::from(self.prev));
        let mut remain = (self.tick + period) as i128 - now as i128;
        if remain < 0 {
            remain += period as i128;
            past = if remain >= 0 { curr } else { 0 };
            curr = 0;
        }
        if curr == 0 && past <= 1 {
            return past;
        }
        let total = past as i128 * remain.max(0) + curr as i128 * period as i128;
        (total / period as i128) as u64
    }
}

/// Whether a request passes HAProxy's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Deny,
    Tarpit(SimTime),
}

/// The stick table of one HAProxy instance.
pub struct RateLimiter {
    cfg: RateLimitConfig,
    table: HashMap<u32, Entry>,
    denied: u64,
    tarpitted: u64,
    rejected: u64,
}

/// What the limits did (`summary.json` `lb.rate_limit`): requests after the warm-up, all LB
/// instances together.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RateLimitReport {
    pub period_s: f64,
    pub limit: u32,
    pub action: String,
    pub conn_limit: Option<u32>,
    /// Requests denied (403), tarpitted (500 after `timeout tarpit`), and connections rejected
    /// over `conn_limit`.
    pub denied: u64,
    pub tarpitted: u64,
    pub rejected_connections: u64,
    /// Source addresses in the stick table(s) at the end.
    pub tracked_sources: u64,
}

#[inline]
fn ms(t: SimTime) -> u64 {
    t.as_nanos() / 1_000_000
}

impl RateLimiter {
    pub fn new(cfg: &RateLimitConfig) -> Self {
        RateLimiter {
            cfg: cfg.clone(),
            table: HashMap::new(),
            denied: 0,
            tarpitted: 0,
            rejected: 0,
        }
    }

    fn entry(&mut self, src: u32, now: u64) -> &mut Entry {
        // A new entry's first period starts at its first event (HAProxy rotates a zeroed
        // counter at once and restarts its period at `now`: two periods missed).
        self.table.entry(src).or_insert(Entry {
            tick: now,
            ..Entry::default()
        })
    }

    /// A connection from `src` is accepted (`tcp-request connection`): false if it is
    /// rejected over `conn_limit` (then nothing is counted for it).
    #[inline]
    pub fn connect(&mut self, src: u32, now: SimTime, measured: bool) -> bool {
        let Some(max) = self.cfg.conn_limit else {
            return true;
        };
        let e = self.entry(src, ms(now));
        // Tracking counts the new connection first, then the rule compares (`gt`).
        if e.conns >= max {
            self.rejected += u64::from(measured);
            return false;
        }
        e.conns += 1;
        true
    }

    /// The connection from `src` closes (the request gave back its frontend slot). Kept out
    /// of line: every request's release checks for a table, only limited runs come here.
    #[inline(never)]
    pub fn disconnect(&mut self, src: u32) {
        if self.cfg.conn_limit.is_none() {
            return;
        }
        if let Some(e) = self.table.get_mut(&src) {
            e.conns = e.conns.saturating_sub(1);
        }
    }

    /// Every connection is gone at once (the LB lost them): open counts start afresh.
    pub fn drop_connections(&mut self) {
        self.table.values_mut().for_each(|e| e.conns = 0);
    }

    /// A request from `src` reaches the `http-request` rules: counted, then judged.
    #[inline]
    pub fn request(&mut self, src: u32, now: SimTime, measured: bool) -> Verdict {
        let (period, limit, action) = (self.cfg.period_ms, self.cfg.limit, self.cfg.action);
        let now = ms(now);
        let e = self.entry(src, now);
        e.update(now, period);
        if e.rate(now, period) <= u64::from(limit) {
            return Verdict::Pass;
        }
        match action {
            LimitAction::Deny => {
                self.denied += u64::from(measured);
                Verdict::Deny
            }
            LimitAction::Tarpit(t) => {
                self.tarpitted += u64::from(measured);
                Verdict::Tarpit(t)
            }
        }
    }

    /// Adds this table's counts to `r` (several LB instances report together).
    pub fn add_to(&self, r: &mut RateLimitReport) {
        r.period_s = self.cfg.period_ms as f64 / 1000.0;
        r.limit = self.cfg.limit;
        r.action = match self.cfg.action {
            LimitAction::Deny => "deny".into(),
            LimitAction::Tarpit(_) => "tarpit".into(),
        };
        r.conn_limit = self.cfg.conn_limit;
        r.denied += self.denied;
        r.tarpitted += self.tarpitted;
        r.rejected_connections += self.rejected;
        r.tracked_sources += self.table.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            period_ms: 10_000,
            limit,
            action: LimitAction::Deny,
            conn_limit: Some(2),
        })
    }

    fn at(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn freq_ctr_reads_like_haproxy() {
        let p = 10_000;
        let mut e = Entry {
            tick: 0,
            ..Entry::default()
        };
        for t in 0..40 {
            e.update(t * 100, p); // 40 events in the first 4 s
        }
        assert_eq!(e.rate(4_000, p), 40);
        // 2.5 s into the next period with 10 new events: 40 x 7.5/10 + 10 = 40.
        for t in 0..10 {
            e.update(10_000 + t * 250, p);
        }
        assert_eq!(e.rate(12_500, p), 40);
        // One full period later without events: the last period's 10, weighted by what is
        // left of the window: 10 x 5/10 = 5.
        assert_eq!(e.rate(25_000, p), 5);
        // Two periods later: nothing.
        assert_eq!(e.rate(30_001, p), 0);
        // A lone event in the previous period reads as 1 (flapping correction), not 0.
        let mut lone = Entry::default();
        lone.update(0, p);
        assert_eq!(lone.rate(19_999, p), 1);
        // After a gap of two periods the counter restarts at the event.
        e.update(50_000, p);
        assert_eq!((e.tick, e.curr, e.prev), (50_000, 1, 0));
    }

    #[test]
    fn a_fast_source_gets_exactly_the_limit_through_in_its_first_period() {
        let mut l = limiter(5);
        let verdicts: Vec<Verdict> = (0..20).map(|i| l.request(1, at(i * 10), true)).collect();
        assert!(verdicts[..5].iter().all(|v| *v == Verdict::Pass));
        assert!(verdicts[5..].iter().all(|v| *v == Verdict::Deny));
        assert_eq!(l.denied, 15);
        // Another source is not affected.
        assert_eq!(l.request(2, at(200), true), Verdict::Pass);
    }

    #[test]
    fn connection_limit_counts_open_connections() {
        let mut l = limiter(100);
        assert!(l.connect(7, at(0), true));
        assert!(l.connect(7, at(1), true));
        assert!(!l.connect(7, at(2), true));
        l.disconnect(7);
        assert!(l.connect(7, at(3), true));
        l.drop_connections();
        assert!(l.connect(7, at(4), true) && l.connect(7, at(4), true));
        assert_eq!(l.rejected, 1);
    }
}
