//! A multi-server FIFO queueing station: c identical servers and a bounded waiting line.
//!
//! Used for every stage that holds a resource: the LB's threads, Nginx workers, application
//! workers, DB query executors. The station does not know what the work is or how long it
//! takes: the caller starts the service timer when [`Station::arrive`] answers `Start` or
//! [`Station::finish`] hands back the next request. That keeps the station free of random
//! streams and events, and lets the application stage hold a worker across DB round trips.

use crate::engine::SimTime;
use crate::stats::TimeAverage;
use std::collections::VecDeque;

/// Index of a request in the model's slab.
pub type ReqId = u32;

/// What happened to an arriving request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// A server was free: start service now.
    Start,
    /// All servers busy: waiting in line.
    Queued,
    /// The line is full: refused.
    Rejected,
}

#[derive(Clone, Debug)]
pub struct Station {
    servers: u32,
    queue_cap: usize,
    queue: VecDeque<ReqId>,
    busy: TimeAverage,
    waiting: TimeAverage,
    /// Arrivals since the last reset, and how many of them had to wait (P(wait) = ratio).
    arrivals: u64,
    waited: u64,
    /// Bumped when the station is wiped by a crash, so completions of services that were
    /// running then can tell they no longer own a server.
    epoch: u32,
}

impl Station {
    /// `servers` >= 1; `queue_cap` = waiting places (`usize::MAX` for unbounded).
    pub fn new(servers: u32, queue_cap: usize) -> Self {
        Station {
            servers: servers.max(1),
            queue_cap,
            queue: VecDeque::with_capacity(queue_cap.min(1024)),
            busy: TimeAverage::new(),
            waiting: TimeAverage::new(),
            arrivals: 0,
            waited: 0,
            epoch: 0,
        }
    }

    #[inline(always)]
    pub fn arrive(&mut self, now: SimTime, id: ReqId) -> Admit {
        self.arrivals += 1;
        if (self.busy.value() as u32) < self.servers {
            self.busy.add(now, 1);
            Admit::Start
        } else if self.queue.len() < self.queue_cap {
            self.queue.push_back(id);
            self.waited += 1;
            self.waiting.set(now, self.queue.len() as u64);
            Admit::Queued
        } else {
            Admit::Rejected
        }
    }

    /// Queues the request without starting it even if a server is idle (the process behind
    /// the station hangs: its kernel still queues connections in the backlog).
    pub fn wait_only(&mut self, now: SimTime, id: ReqId) -> Admit {
        self.arrivals += 1;
        if self.queue.len() < self.queue_cap {
            self.queue.push_back(id);
            self.waited += 1;
            self.waiting.set(now, self.queue.len() as u64);
            Admit::Queued
        } else {
            Admit::Rejected
        }
    }

    /// Queues `id` behind the waiting requests without counting it as an arrival: false when
    /// the line is full. For something that is not a request (an HTTP health check waiting for
    /// an application worker, `model/stack/faults.rs`): [`Station::wait_probability`] stays a
    /// figure about requests. The caller has seen every server busy.
    pub fn wait_in_line(&mut self, now: SimTime, id: ReqId) -> bool {
        if self.queue.len() >= self.queue_cap {
            return false;
        }
        self.queue.push_back(id);
        self.waiting.set(now, self.queue.len() as u64);
        true
    }

    /// A server is freed but takes nothing from the queue (the process hangs).
    pub fn release_only(&mut self, now: SimTime) {
        self.busy.add(now, -1);
    }

    /// A service ended: the server takes the next waiting request (returned, and still
    /// counted busy) or goes idle.
    #[inline(always)]
    pub fn finish(&mut self, now: SimTime) -> Option<ReqId> {
        // The empty line is told by its length, inline: `pop_front` is a call.
        if self.queue.is_empty() {
            self.busy.add(now, -1);
            return None;
        }
        let next = self.queue.pop_front();
        self.waiting.set(now, self.queue.len() as u64);
        next
    }

    /// Removes every waiting request (the node died); the caller fails them.
    pub fn drain_queue(&mut self, now: SimTime) -> Vec<ReqId> {
        let out: Vec<ReqId> = self.queue.drain(..).collect();
        self.waiting.set(now, 0);
        out
    }

    /// Marks every server idle (the node died and its in-service requests were failed).
    pub fn clear_busy(&mut self, now: SimTime) {
        self.busy.set(now, 0);
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Changes each time the station is wiped by [`Station::clear_busy`].
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Removes one waiting request (its client went away).
    pub fn remove_waiting(&mut self, now: SimTime, id: ReqId) -> bool {
        match self.queue.iter().position(|&x| x == id) {
            Some(p) => {
                self.queue.remove(p);
                self.waiting.set(now, self.queue.len() as u64);
                true
            }
            None => false,
        }
    }

    pub fn servers(&self) -> u32 {
        self.servers
    }

    pub fn busy(&self) -> u32 {
        self.busy.value() as u32
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Requests present: in service plus waiting.
    pub fn present(&self) -> usize {
        self.busy() as usize + self.queue.len()
    }

    pub fn reset_stats(&mut self, now: SimTime) {
        self.busy.reset(now);
        self.waiting.reset(now);
        self.arrivals = 0;
        self.waited = 0;
    }

    /// Fraction of arrivals since the last reset that found every server busy and waited
    /// (refused arrivals count as arrivals that did not wait).
    pub fn wait_probability(&self) -> f64 {
        if self.arrivals == 0 {
            0.0
        } else {
            self.waited as f64 / self.arrivals as f64
        }
    }

    /// Arrivals since the last reset.
    pub fn arrivals(&self) -> u64 {
        self.arrivals
    }

    /// Mean fraction of servers busy since the last reset.
    pub fn utilisation(&self, now: SimTime) -> f64 {
        self.busy.mean(now) / self.servers as f64
    }

    /// Mean number waiting since the last reset.
    pub fn mean_queue(&self, now: SimTime) -> f64 {
        self.waiting.mean(now)
    }

    pub fn max_queue(&self) -> u64 {
        self.waiting.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_bounded_line() {
        let mut s = Station::new(1, 1);
        let t = SimTime(0);
        assert_eq!(s.arrive(t, 1), Admit::Start);
        assert_eq!(s.arrive(t, 2), Admit::Queued);
        assert_eq!(s.arrive(t, 3), Admit::Rejected);
        assert_eq!(s.finish(SimTime(10)), Some(2));
        assert_eq!(s.finish(SimTime(20)), None);
        assert_eq!(s.busy(), 0);
        assert!((s.utilisation(SimTime(40)) - 0.5).abs() < 1e-12);
        assert!((s.mean_queue(SimTime(40)) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn a_place_in_line_is_not_an_arrival() {
        let mut s = Station::new(1, 2);
        let t = SimTime(0);
        assert_eq!(s.arrive(t, 1), Admit::Start);
        assert!(s.wait_in_line(t, 99));
        assert_eq!(s.arrive(t, 2), Admit::Queued);
        assert!(!s.wait_in_line(t, 98), "the line is full");
        assert_eq!((s.arrivals(), s.wait_probability()), (2, 0.5));
        assert_eq!(s.finish(SimTime(10)), Some(99));
        assert_eq!(s.finish(SimTime(10)), Some(2));
    }
}
