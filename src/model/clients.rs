//! Closed-loop users (`[workload.users]`): a fixed population that thinks, loads a page, waits
//! for it, and thinks again.
//!
//! Open-loop arrivals (`workload.rate`) keep coming whatever the site does; people do not. A
//! user who is waiting for a page sends nothing else, so a slower site receives fewer
//! requests: the offered load is set by the number of users N, their think time Z and the
//! response time R. Over any long interval every user is either thinking or waiting, which is
//! the *interactive response time law* X = N / (R + Z) (Denning & Buzen 1978, "The operational
//! analysis of queueing network models", ACM Computing Surveys 10(3); Lazowska et al.,
//! *Quantitative System Performance*, 1984, §3.3.3): R = N/X - Z.
//!
//! A page is `requests` requests sent at the same instant (a browser fetching a page's
//! resources over parallel connections) and is done when the last one is answered, with an
//! error or not; it failed if any of them failed. After `pages` pages the session ends and the
//! user, after one more think time, starts a new one (the population stays N: a departing user
//! is replaced by a new one at once, the usual closed model of a site with a steady audience).
//! Each user sends from one client address: user u uses address u mod `workload.clients`
//! (fewer addresses than users puts several users behind one address, as behind a NAT).
//!
//! A user whose page failed may give up on the site (`abandon`, the probability per failed
//! page): the session ends there, with pages left, and the user stays away for `away` (one
//! think time when not set) before starting a new one. Visitors who meet errors leave and
//! come back later; a closed loop without it keeps every user clicking through an outage.
//! The decision and the time away are drawn from their own stream, `users.abandon`, so a
//! run without `abandon` draws exactly what it drew before. The time away follows the page
//! as its think time does, so the response time law still holds with Z the mean of what
//! follows a page (think or away): `mean_think_s` includes the time away.
//!
//! This file holds the users' state and what they measured; it never touches the stack. The
//! stack asks it when a user wakes ([`Users::wake`]) and tells it when one of a user's
//! requests is answered ([`Users::answered`]). Think times are drawn from their own stream,
//! `users.think`, so adding users never changes the draws of any other component.
//!
//! What is measured covers the pages *started* in the measurement window and finished by the
//! end of the run, each with the think time that follows it: the pairs the response time law
//! adds up (see `tests/theory_queueing.rs`, `closed_loop_*`).

use super::config::UsersConfig;
use crate::dist::{Dist, Sample};
use crate::engine::{Rng, SimTime, StreamId};
use crate::stats::LatencyHistogram;
use serde::Serialize;

/// A request that belongs to no user (an open-loop arrival).
pub const NO_USER: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Default)]
struct User {
    /// Requests of the current page not answered yet.
    outstanding: u32,
    /// Pages left in the current session, the current one included.
    pages_left: u32,
    page_start: SimTime,
    /// One of the current page's requests failed.
    page_failed: bool,
}

pub struct Users {
    think: Dist,
    pages: u32,
    requests: u32,
    clients: u32,
    rng: Rng,
    abandon: f64,
    away: Option<Dist>,
    /// `users.abandon`: whether a user leaves, and for how long.
    leave_rng: Rng,
    users: Vec<User>,
    warmup: SimTime,
    /// The run's end: a think time is counted up to it (see [`Users::answered`]).
    end: SimTime,
    // ---- measured (pages started at or after the warm-up) ----
    sessions: u64,
    abandoned: u64,
    pages_ok: u64,
    pages_failed: u64,
    page_time: LatencyHistogram,
    think_ns: u128,
    think_max: SimTime,
}

/// What the users saw over the measurement window (`summary.json` `users`).
#[derive(Clone, Debug, Serialize)]
pub struct UsersReport {
    pub users: u32,
    pub requests_per_page: u32,
    pub pages_per_session: u32,
    /// Sessions started in the window.
    pub sessions: u64,
    /// Sessions ended by a user leaving after a failed page, with pages left (`abandon`);
    /// only with `abandon`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_abandoned: Option<u64>,
    /// Pages started in the window and finished by the end of the run.
    pub pages_completed: u64,
    /// Of those, pages with at least one failed request.
    pub pages_failed: u64,
    /// Finished pages per second of the window: X.
    pub page_throughput: f64,
    /// Fraction of finished pages with no failed request.
    pub page_availability: f64,
    /// Page response time (start to the last answer), finished pages, failed ones included: R.
    pub page_time: super::results::LatencySummary,
    /// Mean think time that followed those pages, each up to the run's end: Z.
    pub mean_think_s: f64,
    pub max_think_s: f64,
    /// The interactive response time law's prediction N / X - Z, to compare with
    /// `page_time.mean`: never below it, above it by the window's time outside the counted
    /// cycles (cut by the warm-up, a page in flight at the end) over the pages.
    pub law_response_s: f64,
}

impl Users {
    pub fn new(
        cfg: &UsersConfig,
        clients: u32,
        (warmup, end): (SimTime, SimTime),
        seed: u64,
        rep: u64,
    ) -> Self {
        Users {
            think: cfg.think.clone(),
            pages: cfg.pages.max(1),
            requests: cfg.requests.max(1),
            clients: clients.max(1),
            rng: Rng::new(StreamId::new(seed, "users.think", rep)),
            abandon: cfg.abandon,
            away: cfg.away.clone(),
            leave_rng: Rng::new(StreamId::new(seed, "users.abandon", rep)),
            users: vec![User::default(); cfg.count as usize],
            warmup,
            end,
            sessions: 0,
            abandoned: 0,
            pages_ok: 0,
            pages_failed: 0,
            page_time: LatencyHistogram::new(),
            think_ns: 0,
            think_max: SimTime::ZERO,
        }
    }

    pub fn count(&self) -> u32 {
        self.users.len() as u32
    }

    /// When user `u` first loads a page: after a think time, so that the users start spread
    /// out rather than all at time 0 (user 0 draws first, then user 1, ...).
    pub fn first_wake(&mut self) -> SimTime {
        self.think.sample_time(&mut self.rng)
    }

    /// The client address index (0-based) user `u` sends from.
    #[inline]
    pub fn client(&self, u: u32) -> u32 {
        u % self.clients
    }

    /// User `u`'s next page starts a new session.
    pub fn starts_session(&self, u: u32) -> bool {
        self.users[u as usize].pages_left == 0
    }

    /// User `u` starts a page now: returns how many requests to send.
    pub fn wake(&mut self, u: u32, now: SimTime) -> u32 {
        let measured = now >= self.warmup;
        let user = &mut self.users[u as usize];
        if user.pages_left == 0 {
            user.pages_left = self.pages;
            self.sessions += u64::from(measured);
        }
        user.outstanding = self.requests;
        user.page_start = now;
        user.page_failed = false;
        self.requests
    }

    /// One of user `u`'s requests got its answer (`ok`: a success). When it was the page's
    /// last, returns when the user loads its next page.
    pub fn answered(&mut self, u: u32, now: SimTime, ok: bool) -> Option<SimTime> {
        let user = &mut self.users[u as usize];
        user.page_failed |= !ok;
        user.outstanding -= 1;
        if user.outstanding > 0 {
            return None;
        }
        user.pages_left -= 1;
        let start = user.page_start;
        let failed = user.page_failed;
        let leaves = failed
            && user.pages_left > 0
            && self.abandon > 0.0
            && self.leave_rng.uniform() < self.abandon;
        let think = if leaves {
            user.pages_left = 0;
            self.abandoned += u64::from(start >= self.warmup);
            match &self.away {
                Some(d) => d.sample_time(&mut self.leave_rng),
                None => self.think.sample_time(&mut self.leave_rng),
            }
        } else {
            self.think.sample_time(&mut self.rng)
        };
        if start >= self.warmup {
            if failed {
                self.pages_failed += 1;
            } else {
                self.pages_ok += 1;
            }
            self.page_time.record(now - start);
            // Only the part of the think before the run's end is in the window: a time away
            // of hours drawn near the end would otherwise weigh in Z whole, and N/X - Z come
            // out below R, even negative. Cut so, every counted cycle (page + think) lies in
            // the window, and N/X - Z = R + (the window's time outside counted cycles) / F:
            // never below R.
            let think = think.min(self.end.saturating_sub(now));
            self.think_ns += u128::from(think.as_nanos());
            self.think_max = self.think_max.max(think);
        }
        Some(now + think)
    }

    /// The report over a window of `window_s` seconds.
    pub fn report(&self, window_s: f64) -> UsersReport {
        let pages = self.pages_ok + self.pages_failed;
        let x = pages as f64 / window_s;
        let z = if pages > 0 {
            self.think_ns as f64 * 1e-9 / pages as f64
        } else {
            f64::NAN
        };
        UsersReport {
            users: self.count(),
            requests_per_page: self.requests,
            pages_per_session: self.pages,
            sessions: self.sessions,
            sessions_abandoned: (self.abandon > 0.0).then_some(self.abandoned),
            pages_completed: pages,
            pages_failed: self.pages_failed,
            page_throughput: x,
            page_availability: if pages > 0 {
                self.pages_ok as f64 / pages as f64
            } else {
                f64::NAN
            },
            page_time: super::results::LatencySummary::from_hist(&self.page_time),
            mean_think_s: z,
            max_think_s: self.think_max.as_secs_f64(),
            law_response_s: self.count() as f64 / x - z,
        }
    }

    /// The mean think time as configured (seconds).
    pub fn mean_think(&self) -> f64 {
        self.think.mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(n: u32, pages: u32, requests: u32) -> Users {
        let cfg = UsersConfig {
            count: n,
            think: Dist::det(1.0).unwrap(),
            pages,
            requests,
            abandon: 0.0,
            away: None,
        };
        Users::new(&cfg, 3, (SimTime::ZERO, SimTime::MAX), 1, 0)
    }

    #[test]
    fn a_page_ends_with_its_last_answer() {
        let mut u = users(1, 2, 3);
        let t0 = SimTime::from_secs(1);
        assert_eq!(u.wake(0, t0), 3);
        assert_eq!(u.answered(0, t0, true), None);
        assert_eq!(u.answered(0, t0, false), None);
        let t1 = SimTime::from_secs(2);
        assert_eq!(u.answered(0, t1, true), Some(SimTime::from_secs(3)));
        let r = u.report(10.0);
        assert_eq!((r.pages_completed, r.pages_failed, r.sessions), (1, 1, 1));
        assert_eq!(r.page_time.mean, 1.0);
        assert_eq!(r.mean_think_s, 1.0);
    }

    #[test]
    fn sessions_restart_after_their_pages() {
        let mut u = users(1, 2, 1);
        let mut t = SimTime::ZERO;
        for _ in 0..5 {
            u.wake(0, t);
            t = u.answered(0, t, true).unwrap();
        }
        // Pages 1-2, 3-4, 5: three sessions.
        assert_eq!(u.report(10.0).sessions, 3);
    }

    #[test]
    fn users_share_addresses_beyond_the_population() {
        let u = users(5, 1, 1);
        assert_eq!(
            (0..5).map(|i| u.client(i)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1]
        );
    }
}
