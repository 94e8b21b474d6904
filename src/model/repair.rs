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
//! - **Detection** (`[monitoring]`, [`Detection`]): the time for people to
//!   learn of a failure and act, before the fix can start. With alerting it is the
//!   Prometheus/Alertmanager pipeline (domain.md §6.3): the next scrape (uniform over the
//!   scrape interval, the failure's phase being random), the next rule evaluation (uniform over
//!   its interval), the rule's `for`, Alertmanager's `group_wait`, then a human's
//!   acknowledgement (none when automation acts on the alert). Without monitoring, people learn
//!   of it when users complain: one delay drawn from the scenario's distribution.
//!
//! What it deliberately does not do: draw the fixes. The time-to-repair draws stay in each
//! model, on the component's own stream `faults.<component>`, in the order both models have
//! always drawn them (time to failure, time to repair, time to failure...), so a crew changes
//! *when* a fix starts, never *which* fix a failure gets. Detection delays are drawn here, from
//! a stream the model passes in: each component's own `monitoring.<component>`, so turning
//! monitoring on or off leaves every failure and fix draw unchanged (common random numbers
//! between the steps of a design ladder).
//!
//! Why a first-come-first-served queue needs no events of its own: with c servers and
//! requests handled in the order they arrive, each request starts at max(its arrival, the
//! earliest time a server is free), and then that server is busy until start + work (the
//! Kiefer-Wolfowitz recursion for the FCFS G/G/c queue). A discrete-event model calls
//! [`Crews::start`] in time order, so a repair's start and end are known the moment it is
//! ready, and both models schedule the repair's end directly.

use crate::dist::{Dist, Sample};
use crate::engine::{Rng, SimTime};

/// How the failures of one `[[random_faults]]` entry are repaired.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepairPolicy {
    /// Technicians shared by the entry's components; None = unlimited.
    pub crews: Option<u32>,
    /// How people learn of a failure before the fix can start; None = at once (no
    /// `[monitoring]` section: the time to repair is the whole outage, or a process supervisor
    /// restarts it).
    pub detection: Option<Detection>,
}

/// How people learn of a failure (`[monitoring]`), and how long that takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Detection {
    /// Prometheus scrapes every `scrape`, evaluates its rules every `evaluation`; the alert
    /// fires after `pending` (the rule's `for`) and Alertmanager notifies `notify` later
    /// (`group_wait`); then someone acknowledges after an `acknowledge` draw (None: automation
    /// acts on the notification).
    Alerts {
        scrape: SimTime,
        evaluation: SimTime,
        pending: SimTime,
        notify: SimTime,
        acknowledge: Option<Dist>,
    },
    /// No monitoring: users complain after this long, and someone acts.
    Complaint(Dist),
}

impl Detection {
    /// Time from a failure to the moment its fix may start, drawn from `rng`.
    pub fn sample(&self, rng: &mut Rng) -> SimTime {
        match self {
            Detection::Alerts {
                scrape,
                evaluation,
                pending,
                notify,
                acknowledge,
            } => {
                // The failure's phase against the scrape and evaluation clocks is uniform:
                // the failure times are continuous and independent of both clocks.
                let phase = |every: SimTime, rng: &mut Rng| {
                    SimTime::from_secs_f64(rng.uniform() * every.as_secs_f64())
                };
                let scraped = phase(*scrape, rng);
                let evaluated = phase(*evaluation, rng);
                let ack = acknowledge
                    .as_ref()
                    .map_or(SimTime::ZERO, |d| d.sample_time(rng));
                scraped + evaluated + *pending + *notify + ack
            }
            Detection::Complaint(d) => d.sample_time(rng),
        }
    }

    /// The mean of [`Detection::sample`], s.
    pub fn mean(&self) -> f64 {
        match self {
            Detection::Alerts {
                scrape,
                evaluation,
                pending,
                notify,
                acknowledge,
            } => {
                (scrape.as_secs_f64() + evaluation.as_secs_f64()) / 2.0
                    + pending.as_secs_f64()
                    + notify.as_secs_f64()
                    + acknowledge.as_ref().map_or(0.0, |d| d.mean())
            }
            Detection::Complaint(d) => d.mean(),
        }
    }
}

/// The technicians of one `[[random_faults]]` entry.
#[derive(Debug)]
pub struct Crews {
    /// When each technician is next free; empty when the crews are unlimited.
    free_at: Vec<SimTime>,
}

/// Copied with the fast path's state for every component it weighs: `clone_from` reuses the
/// copy's buffer.
impl Clone for Crews {
    fn clone(&self) -> Self {
        Crews {
            free_at: self.free_at.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.free_at.clone_from(&src.free_at);
    }
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
#[derive(Debug, Default)]
pub struct Repairs {
    crews: Vec<Crews>,
    detection: Vec<Option<Detection>>,
}

/// As [`Crews`]: `clone_from` reuses the copy's buffers.
impl Clone for Repairs {
    fn clone(&self) -> Self {
        Repairs {
            crews: self.crews.clone(),
            detection: self.detection.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.crews.clone_from(&src.crews);
        same_detection(&mut self.detection, src.detection.iter());
    }
}

/// Makes `mine` equal to `want`, cloning only an entry that differs: a `Detection` may hold
/// an empirical distribution's samples, and copies of one run's repairs hold the same ones.
fn same_detection<'p>(
    mine: &mut Vec<Option<Detection>>,
    want: impl ExactSizeIterator<Item = &'p Option<Detection>>,
) {
    mine.truncate(want.len());
    for (k, d) in want.enumerate() {
        match mine.get_mut(k) {
            Some(m) if m == d => {}
            Some(m) => *m = d.clone(),
            None => mine.push(d.clone()),
        }
    }
}

impl Repairs {
    /// One set of crews per `[[random_faults]]` entry, in order.
    pub fn new(policies: impl IntoIterator<Item = RepairPolicy>) -> Self {
        let (crews, detection) = policies
            .into_iter()
            .map(|p| (Crews::new(p.crews), p.detection))
            .unzip();
        Repairs { crews, detection }
    }

    /// Back to what [`Repairs::new`] makes of `policies` (every technician free at time
    /// zero), reusing this one's buffers: the fast path's passes reuse one per thread (issue
    /// 13).
    pub fn reset<'p>(&mut self, policies: impl ExactSizeIterator<Item = &'p RepairPolicy> + Clone) {
        self.crews.truncate(policies.len());
        for (k, p) in policies.clone().enumerate() {
            let n = p.crews.unwrap_or(0) as usize;
            match self.crews.get_mut(k) {
                Some(c) => {
                    c.free_at.clear();
                    c.free_at.resize(n, SimTime::ZERO);
                }
                None => self.crews.push(Crews::new(p.crews)),
            }
        }
        same_detection(&mut self.detection, policies.map(|p| &p.detection));
    }

    /// How long people take to act on a failure of entry `entry` (zero without detection: no
    /// draw is made then), drawn from the component's `monitoring.<component>` stream.
    pub fn wait(&self, entry: usize, rng: &mut Rng) -> SimTime {
        self.detection[entry]
            .as_ref()
            .map_or(SimTime::ZERO, |d| d.sample(rng))
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
            RepairPolicy::default(),
            RepairPolicy {
                crews: Some(1),
                detection: None,
            },
        ]);
        assert_eq!(r.failed(0, s(1), s(2), s(3)), Plan::EndsAt(s(6)));
        assert_eq!(r.failed(1, s(1), SimTime::ZERO, s(3)), Plan::EndsAt(s(4)));
        assert_eq!(r.failed(1, s(2), s(2), s(3)), Plan::ReadyAt(s(4)));
        assert_eq!(r.ready(1, s(4), s(3)), s(7));
    }

    #[test]
    fn alerts_add_up_the_pipeline() {
        use crate::engine::StreamId;
        let d = Detection::Alerts {
            scrape: s(60),
            evaluation: s(60),
            pending: s(120),
            notify: s(30),
            acknowledge: None,
        };
        assert!((d.mean() - 210.0).abs() < 1e-12);
        let mut rng = Rng::new(StreamId::new(1, "monitoring.test", 0));
        let n = 20_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let t = d.sample(&mut rng).as_secs_f64();
            assert!((150.0..=270.0).contains(&t), "{t}");
            sum += t;
        }
        // Two uniforms of SD 60/sqrt(12) each: the mean of 20 000 is within 0.5 s (> 4 SE).
        assert!((sum / n as f64 - 210.0).abs() < 0.5, "{}", sum / n as f64);
        let r = Repairs::new([RepairPolicy::default()]);
        assert_eq!(r.wait(0, &mut rng), SimTime::ZERO);
    }
}
