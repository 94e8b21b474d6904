//! Asynchronous MySQL replication to one replica (domain.md §4.1).
//!
//! Pipeline per replica: a transaction commits on the primary, its binlog events reach the
//! replica's relay log after a network delay (the stream is TCP, so arrivals keep commit
//! order), then one of `W` applier threads replays it, taking the primary's execution time
//! times `apply_factor`. Commits become visible in source order
//! (`replica_preserve_commit_order=ON`), so a slow transaction hides the ones behind it.
//! Simplification: an applier is freed as soon as it finishes replaying, instead of waiting
//! for its turn to commit; visibility order is still enforced.
//!
//! Lag is *true* lag: visibility time on the replica minus commit time on the primary (not
//! MySQL's `Seconds_Behind_Source`, whose quirks §4.2 lists).
//!
//! This type holds state only; the stack model schedules the events it asks for.

use crate::engine::SimTime;
use crate::stats::LatencyHistogram;
use std::collections::VecDeque;

/// One committed transaction on its way to a replica.
#[derive(Clone, Copy, Debug)]
pub struct Txn {
    /// Global commit sequence on the primary (GTID-like), starting at 1.
    pub gtid: u64,
    pub commit: SimTime,
    /// Time to apply on this replica.
    pub apply: SimTime,
    /// The client was told "committed" without waiting for a replica (async, or semi-sync
    /// after its fallback): lost if the primary dies before the replica receives it.
    pub acked_alone: bool,
}

#[derive(Debug)]
pub struct ReplicaLink {
    appliers: u32,
    busy: u32,
    /// Shipped, not yet in the relay log; arrival times are non-decreasing.
    in_flight: VecDeque<Txn>,
    last_arrival: SimTime,
    /// In the relay log, waiting for an applier.
    relay: VecDeque<Txn>,
    /// Being applied or applied-but-not-yet-visible, in commit order: (txn, done).
    applying: VecDeque<(Txn, bool)>,
    /// Highest gtid received into the relay log.
    pub received_gtid: u64,
    /// Highest gtid visible (applied and committed in order).
    pub applied_gtid: u64,
    lag: LatencyHistogram,
    measure_from: SimTime,
    /// Bumped when the in-flight stream is cut (primary crash), so arrival events scheduled
    /// before can tell they are stale.
    epoch: u32,
    /// The replica's mysqld is down: nothing new is applied until it returns.
    paused: bool,
}

/// What the model must schedule after a state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyStart {
    /// Start applying `gtid`, finishing after `after`.
    Start {
        gtid: u64,
        after: SimTime,
    },
    Nothing,
}

impl ReplicaLink {
    pub fn new(appliers: u32) -> Self {
        ReplicaLink {
            appliers: appliers.max(1),
            busy: 0,
            in_flight: VecDeque::new(),
            last_arrival: SimTime::ZERO,
            relay: VecDeque::new(),
            applying: VecDeque::new(),
            received_gtid: 0,
            applied_gtid: 0,
            lag: LatencyHistogram::new(),
            measure_from: SimTime::ZERO,
            epoch: 0,
            paused: false,
        }
    }

    /// A fresh replica already holding everything up to `gtid` (rebuilt from a backup).
    pub fn rebuilt(appliers: u32, gtid: u64, epoch: u32) -> Self {
        let mut l = ReplicaLink::new(appliers);
        l.received_gtid = gtid;
        l.applied_gtid = gtid;
        l.epoch = epoch.wrapping_add(1);
        l
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// When a transaction shipped now with network delay `delay` would arrive.
    pub fn arrival_time(&self, commit: SimTime, delay: SimTime) -> SimTime {
        (commit + delay).max(self.last_arrival)
    }

    /// The primary died: what was still on the wire never arrives. Returns how many of those
    /// transactions had been acknowledged to clients (lost if this replica is promoted).
    pub fn cut(&mut self) -> u64 {
        let lost = self.in_flight.iter().filter(|t| t.acked_alone).count() as u64;
        self.in_flight.clear();
        self.epoch = self.epoch.wrapping_add(1);
        lost
    }

    /// Transactions from `gtid` on, still on the wire, were just acknowledged to their
    /// clients without a replica's acknowledgement (semi-sync timed out): they are lost if the
    /// primary dies before they arrive.
    pub fn acknowledge_from(&mut self, gtid: u64) {
        for t in self.in_flight.iter_mut().filter(|t| t.gtid >= gtid) {
            t.acked_alone = true;
        }
    }

    /// Pauses or resumes the applier (replica crash and repair). On resume, returns the
    /// applies to start.
    pub fn set_paused(&mut self, paused: bool) -> Vec<ApplyStart> {
        self.paused = paused;
        let mut out = vec![];
        if !paused {
            loop {
                match self.try_start() {
                    ApplyStart::Nothing => break,
                    s => out.push(s),
                }
            }
        }
        out
    }

    /// Ships a committed transaction; returns when it reaches the relay log (the model
    /// schedules the arrival event then). `delay` is the sampled network delay.
    pub fn ship(&mut self, txn: Txn, delay: SimTime) -> SimTime {
        let at = (txn.commit + delay).max(self.last_arrival);
        self.last_arrival = at;
        self.in_flight.push_back(txn);
        at
    }

    /// The oldest shipped transaction reached the relay log.
    pub fn arrive(&mut self) -> ApplyStart {
        if let Some(txn) = self.in_flight.pop_front() {
            self.received_gtid = txn.gtid;
            self.relay.push_back(txn);
        }
        self.try_start()
    }

    fn try_start(&mut self) -> ApplyStart {
        if self.paused || self.busy >= self.appliers {
            return ApplyStart::Nothing;
        }
        match self.relay.pop_front() {
            Some(txn) => {
                self.busy += 1;
                self.applying.push_back((txn, false));
                ApplyStart::Start {
                    gtid: txn.gtid,
                    after: txn.apply,
                }
            }
            None => ApplyStart::Nothing,
        }
    }

    /// Applying `gtid` finished at `now`: commit what can be committed in order, then hand the
    /// freed applier the next transaction. Call repeatedly while it returns `Start`.
    pub fn applied(&mut self, now: SimTime, gtid: u64) -> ApplyStart {
        // A linear search, not `gtid - front`: gtids have gaps after a failover (lost
        // transactions), and the deque is short (appliers + the ones blocked behind them).
        if let Some(slot) = self.applying.iter_mut().find(|s| s.0.gtid == gtid) {
            slot.1 = true;
        }
        while let Some(&(txn, true)) = self.applying.front() {
            self.applying.pop_front();
            self.applied_gtid = txn.gtid;
            if txn.commit >= self.measure_from {
                self.lag.record(now - txn.commit);
            }
        }
        self.busy -= 1;
        self.try_start()
    }

    /// True lag now: age of the oldest committed transaction not yet visible here.
    pub fn current_lag(&self, now: SimTime) -> SimTime {
        let oldest = self
            .applying
            .front()
            .map(|t| t.0.commit)
            .or_else(|| self.relay.front().map(|t| t.commit))
            .or_else(|| self.in_flight.front().map(|t| t.commit));
        oldest.map_or(SimTime::ZERO, |c| now - c)
    }

    /// Transactions committed on the primary and not yet in this replica's relay log: lost
    /// if the primary dies now and this replica is promoted (the RPO).
    pub fn not_received(&self) -> usize {
        self.in_flight.len()
    }

    /// Transactions received but not yet visible (must drain before promotion).
    pub fn backlog(&self) -> usize {
        self.relay.len() + self.applying.len()
    }

    pub fn lag(&self) -> &LatencyHistogram {
        &self.lag
    }

    pub fn reset_stats(&mut self, now: SimTime) {
        self.lag = LatencyHistogram::new();
        self.measure_from = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(gtid: u64, commit_ms: u64, apply_ms: u64) -> Txn {
        Txn {
            gtid,
            commit: SimTime::from_millis(commit_ms),
            apply: SimTime::from_millis(apply_ms),
            acked_alone: true,
        }
    }

    #[test]
    fn cut_counts_acknowledged_in_flight() {
        let mut r = ReplicaLink::new(1);
        r.ship(txn(1, 0, 1), SimTime::from_millis(1));
        r.ship(
            Txn {
                acked_alone: false,
                ..txn(2, 0, 1)
            },
            SimTime::from_millis(1),
        );
        r.ship(txn(3, 0, 1), SimTime::from_millis(1));
        r.arrive();
        assert_eq!(
            r.cut(),
            1,
            "gtid 1 arrived, gtid 2 was waiting for its ack, gtid 3 lost"
        );
        assert_eq!(r.received_gtid, 1);
    }

    #[test]
    fn in_order_visibility_with_parallel_appliers() {
        let mut r = ReplicaLink::new(2);
        // a slow txn then a fast one, both arriving at 1 ms
        assert_eq!(
            r.ship(txn(1, 0, 10), SimTime::from_millis(1)),
            SimTime::from_millis(1)
        );
        assert_eq!(
            r.ship(txn(2, 0, 1), SimTime::from_millis(1)),
            SimTime::from_millis(1)
        );
        assert!(matches!(r.arrive(), ApplyStart::Start { gtid: 1, .. }));
        assert!(matches!(r.arrive(), ApplyStart::Start { gtid: 2, .. }));
        // gtid 2 finishes first but cannot become visible before gtid 1
        r.applied(SimTime::from_millis(2), 2);
        assert_eq!(r.applied_gtid, 0);
        assert_eq!(
            r.current_lag(SimTime::from_millis(5)),
            SimTime::from_millis(5)
        );
        r.applied(SimTime::from_millis(11), 1);
        assert_eq!(r.applied_gtid, 2);
        assert_eq!(r.lag().count(), 2);
        assert!((r.lag().max_secs() - 0.011).abs() < 1e-9);
    }

    #[test]
    fn arrivals_keep_commit_order() {
        let mut r = ReplicaLink::new(1);
        let a = r.ship(txn(1, 0, 1), SimTime::from_millis(5));
        let b = r.ship(txn(2, 1, 1), SimTime::from_millis(1));
        assert!(b >= a, "TCP keeps order: {b} < {a}");
        assert_eq!(r.not_received(), 2);
    }
}
