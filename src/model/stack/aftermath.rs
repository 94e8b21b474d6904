//! What a fault leaves behind after users stop feeling it: the failures recorded after its
//! recovery (`recovered_s`, "new requests are served again"), which its story's "users felt it
//! for ..." does not cover. A silent load balancer is the clearest case (`lb_down.toml --set
//! 'faults[0].kind=down'`): clients whose SYNs all fell in the silence give up at their connect
//! timeout after the repair, and those whose retransmitted SYN arrives after it come back
//! together and fill HAProxy's queue.
//!
//! A failure belongs to the aftermath of the fault recovered last before it, as long as no
//! fault is in effect (started and not yet recovered) when it is recorded: a failure while
//! another fault is in effect is that fault's, and a fault that starts closes the aftermath of
//! the one before. It does not decide why each request failed: failures after the recovery
//! that the stack would have had anyway (an overloaded stack, a rate limit) count too; how
//! many of them had arrived before the recovery (and so lived through the fault) says how
//! much is the fault's own.
//!
//! Cost: counted where a failure is recorded (`fail_client`), not per request. Which fault is
//! open is settled again, over the faults, only when fault records change (a start, a repair,
//! a recovery: the writers of `FaultRec::mitigated` call [`Aftermath::changed`]) or when a
//! recovery planned for later comes due; between those the failure path is a comparison and
//! an index.

use super::*;

/// Failures after one fault's recovery (measured requests only).
#[derive(Clone, Debug)]
pub(super) struct Tail {
    pub(super) failed: u64,
    /// Of them, requests that arrived before the recovery: they lived through the fault.
    pub(super) arrived_before: u64,
    pub(super) first: SimTime,
    pub(super) last: SimTime,
    pub(super) errors: [u64; Cause::COUNT],
}

impl Default for Tail {
    fn default() -> Self {
        Tail {
            failed: 0,
            arrived_before: 0,
            first: SimTime::ZERO,
            last: SimTime::ZERO,
            errors: [0; Cause::COUNT],
        }
    }
}

pub(super) struct Aftermath {
    /// The fault whose aftermath is open (index into `Stack::faults`), if any.
    open: Option<usize>,
    /// Its recovery time.
    since: SimTime,
    /// Settle again at this time (a recovery planned for then, such as a DNS TTL's expiry).
    until: SimTime,
    /// Fault records changed since the last settling.
    stale: bool,
    /// Per fault (index into `Stack::faults`), grown as failures are counted.
    tails: Vec<Tail>,
}

impl Default for Aftermath {
    fn default() -> Self {
        Aftermath {
            open: None,
            since: SimTime::ZERO,
            until: SimTime::MAX,
            stale: true,
            tails: vec![],
        }
    }
}

impl Aftermath {
    /// A fault started, ended or recovered: which aftermath is open is settled again at the
    /// next failure.
    #[inline]
    pub(super) fn changed(&mut self) {
        self.stale = true;
    }

    /// A measured request that arrived at `arrived` failed at `now` with `cause`.
    #[inline]
    pub(super) fn failed(
        &mut self,
        now: SimTime,
        arrived: SimTime,
        cause: Cause,
        faults: &[FaultRec],
    ) {
        if self.stale || now >= self.until {
            self.settle(now, faults);
        }
        let Some(f) = self.open else {
            return;
        };
        if self.tails.len() <= f {
            self.tails.resize_with(f + 1, Tail::default);
        }
        let t = &mut self.tails[f];
        if t.failed == 0 {
            t.first = now;
        }
        t.failed += 1;
        t.arrived_before += u64::from(arrived < self.since);
        t.last = now;
        t.errors[cause as usize] += 1;
    }

    /// Finds the open aftermath at `now`: none while a fault is in effect, else that of the
    /// fault recovered last.
    #[cold]
    fn settle(&mut self, now: SimTime, faults: &[FaultRec]) {
        self.stale = false;
        self.until = SimTime::MAX;
        let mut in_effect = false;
        let mut latest: Option<(SimTime, usize)> = None;
        for (i, f) in faults.iter().enumerate().filter(|(_, f)| f.started) {
            match f.mitigated {
                Some(m) if m <= now => {
                    if latest.is_none_or(|(t, _)| m >= t) {
                        latest = Some((m, i));
                    }
                }
                Some(m) => {
                    in_effect = true;
                    self.until = self.until.min(m);
                }
                None => in_effect = true,
            }
        }
        (self.open, self.since) = match latest {
            Some((m, i)) if !in_effect => (Some(i), m),
            _ => (None, SimTime::ZERO),
        };
    }

    /// Fault `f`'s aftermath (empty if nothing failed after its recovery).
    pub(super) fn of(&self, f: usize) -> Option<&Tail> {
        self.tails.get(f).filter(|t| t.failed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::FaultKind;

    fn fault(start: u64, mitigated: Option<u64>) -> FaultRec {
        FaultRec {
            target: Target::Lb(0),
            kind: FaultKind::Down,
            start: SimTime::from_secs(start),
            duration: None,
            started: true,
            end: None,
            detected: None,
            mitigated: mitigated.map(SimTime::from_secs),
            generator: None,
            fix: SimTime::ZERO,
        }
    }

    #[test]
    fn failures_go_to_the_fault_recovered_last_while_none_is_in_effect() {
        let s = SimTime::from_secs;
        let mut a = Aftermath::default();
        // Fault 0 from 10 s, recovered at 20 s; fault 1 from 15 s, recovery planned at 30 s.
        let mut faults = vec![fault(10, Some(20)), fault(15, Some(30))];
        a.failed(s(12), s(11), Cause::LbDown, &faults);
        a.failed(s(25), s(11), Cause::LbDown, &faults); // fault 1 still in effect
        a.failed(s(31), s(29), Cause::QueueTimeout, &faults); // planned recovery came due
        a.failed(s(32), s(31), Cause::QueueTimeout, &faults);
        assert!(a.of(0).is_none());
        let t = a.of(1).unwrap();
        assert_eq!(
            (t.failed, t.arrived_before, t.first, t.last),
            (2, 1, s(31), s(32))
        );
        assert_eq!(t.errors[Cause::QueueTimeout as usize], 2);
        // A new fault, not yet recovered, closes it.
        faults.push(fault(40, None));
        a.changed();
        a.failed(s(41), s(33), Cause::LbDown, &faults);
        assert_eq!(a.of(1).unwrap().failed, 2);
        // Recovered at 50 s: its own aftermath.
        faults[2].mitigated = Some(s(50));
        a.changed();
        a.failed(s(51), s(45), Cause::LbConnectTimeout, &faults);
        assert_eq!(a.of(2).unwrap().arrived_before, 1);
    }
}
