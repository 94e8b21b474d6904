//! Who repairs a failed component, and when: the part of a random failure's outage that is
//! not mechanics (detection by the load balancers, failover) but people and their tools.
//!
//! Both models — the request-level stack (`stack/faults.rs`) and the availability fast path
//! (`availability.rs`) — call this module and nothing else to decide when a random failure is
//! repaired, so the two cannot drift apart: given the same draws, they compute the same repair
//! times, to the nanosecond.
//!
//! What it models:
//! - **Shared repair crews** (`repair_crews = n` on a `[[random_faults]]` entry): the
//!   components of one entry share n technicians. A failure whose repair is ready to start
//!   while all n are busy waits, first come first served, for the first one free; the fix
//!   (the entry's time-to-repair draw) starts when a technician takes it. Without the key the
//!   crews are unlimited: every fix starts at once.
//!
//! What it deliberately does not do: draw anything. The time-to-repair draws stay in each
//! model, on the component's own stream `faults.<component>`, in the order both models have
//! always drawn them (time to failure, time to repair, time to failure...), so a crew changes
//! *when* a fix starts, never *which* fix a failure gets.
//!
//! Why a first-come-first-served queue needs no events of its own: with c servers and
//! requests handled in the order they arrive, each request starts at max(its arrival, the
//! earliest time a server is free), and then that server is busy until start + work (the
//! Kiefer-Wolfowitz recursion for the FCFS G/G/c queue). A discrete-event model calls
//! [`Crews::start`] in time order, so a repair's start and end are known the moment it is
//! ready, and both models schedule the repair's end directly.

use crate::engine::SimTime;

/// How the failures of one `[[random_faults]]` entry are repaired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepairPolicy {
    /// Technicians shared by the entry's components; None = unlimited.
    pub crews: Option<u32>,
}

/// The technicians of one `[[random_faults]]` entry.
#[derive(Clone, Debug)]
pub struct Crews {
    /// When each technician is next free; empty when the crews are unlimited.
    free_at: Vec<SimTime>,
}

impl Crews {
    /// `n` technicians, or unlimited ones (`None`).
    pub fn new(n: Option<u32>) -> Self {
        Crews {
            free_at: vec![SimTime::ZERO; n.unwrap_or(0) as usize],
        }
    }

    /// No limit: every fix starts as soon as it is ready.
    pub fn unlimited(&self) -> bool {
        self.free_at.is_empty()
    }

    /// A failure is ready for a technician at `ready` and its fix takes `work`: returns when
    /// the fix starts. Calls must come in non-decreasing order of `ready` (a discrete-event
    /// model makes them at `ready`, in time order): each takes the technician free earliest
    /// (the first such one on a tie), waiting for it if it is busy.
    pub fn start(&mut self, ready: SimTime, work: SimTime) -> SimTime {
        let Some((i, &free)) = self
            .free_at
            .iter()
            .enumerate()
            .min_by_key(|&(i, t)| (*t, i))
        else {
            return ready;
        };
        let start = ready.max(free);
        self.free_at[i] = start + work;
        start
    }
}

/// When a failure's repair ends, as far as it is known when the failure happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The repair ends at this time.
    EndsAt(SimTime),
    /// The repair can start at this time, when it will ask for a technician: call
    /// [`Repairs::ready`] then (a limited crew cannot be promised before, since another
    /// failure may become ready first).
    ReadyAt(SimTime),
}

/// The repair side of one run: the crews of every `[[random_faults]]` entry.
#[derive(Clone, Debug)]
pub struct Repairs {
    crews: Vec<Crews>,
}

impl Repairs {
    /// One set of crews per `[[random_faults]]` entry, in order.
    pub fn new(policies: impl IntoIterator<Item = RepairPolicy>) -> Self {
        Repairs {
            crews: policies.into_iter().map(|p| Crews::new(p.crews)).collect(),
        }
    }

    /// A component of entry `entry` failed at `now`. Its repair may start `wait` later (the
    /// time for people to learn of it and act) and the fix then takes `fix` (its
    /// time-to-repair draw).
    pub fn failed(&mut self, entry: usize, now: SimTime, wait: SimTime, fix: SimTime) -> Plan {
        let crews = &mut self.crews[entry];
        let ready = now + wait;
        if wait == SimTime::ZERO || crews.unlimited() {
            Plan::EndsAt(crews.start(ready, fix) + fix)
        } else {
            Plan::ReadyAt(ready)
        }
    }

    /// A failure of entry `entry` planned [`Plan::ReadyAt`] `now` is ready: when its repair
    /// ends.
    pub fn ready(&mut self, entry: usize, now: SimTime, fix: SimTime) -> SimTime {
        self.crews[entry].start(now, fix) + fix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn unlimited_crews_start_at_once() {
        let mut c = Crews::new(None);
        assert!(c.unlimited());
        assert_eq!(c.start(s(5), s(100)), s(5));
        assert_eq!(c.start(s(6), s(100)), s(6));
    }

    #[test]
    fn one_crew_serves_first_come_first_served() {
        let mut c = Crews::new(Some(1));
        assert_eq!(c.start(s(0), s(10)), s(0)); // busy until 10
        assert_eq!(c.start(s(2), s(5)), s(10)); // waits 8, busy until 15
        assert_eq!(c.start(s(3), s(1)), s(15)); // queued behind it
        assert_eq!(c.start(s(40), s(1)), s(40)); // idle again
    }

    #[test]
    fn two_crews_take_the_earliest_free() {
        let mut c = Crews::new(Some(2));
        assert_eq!(c.start(s(0), s(10)), s(0)); // crew 0 until 10
        assert_eq!(c.start(s(1), s(3)), s(1)); // crew 1 until 4
        assert_eq!(c.start(s(2), s(5)), s(4)); // crew 1 again, until 9
        assert_eq!(c.start(s(2), s(5)), s(9)); // crew 1 (free at 9, before crew 0 at 10)
        assert_eq!(c.start(s(2), s(5)), s(10)); // crew 0
    }

    #[test]
    fn a_plan_is_known_at_once_unless_a_limited_crew_must_wait_for_readiness() {
        let mut r = Repairs::new([
            RepairPolicy { crews: None },
            RepairPolicy { crews: Some(1) },
        ]);
        assert_eq!(r.failed(0, s(1), s(2), s(3)), Plan::EndsAt(s(6)));
        assert_eq!(r.failed(1, s(1), SimTime::ZERO, s(3)), Plan::EndsAt(s(4)));
        assert_eq!(r.failed(1, s(2), s(2), s(3)), Plan::ReadyAt(s(4)));
        assert_eq!(r.ready(1, s(4), s(3)), s(7));
    }
}
