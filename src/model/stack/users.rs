//! Where clients with a memory (closed-loop users, `model/clients.rs`; retries,
//! `model/retry.rs`) meet the stack: a user's wake sends its page's requests down the same path
//! as open-loop arrivals, a failed request may be sent again, and each final answer goes back
//! to its user. Nothing here runs for a scenario without `[workload.users]` or
//! `[workload.retry]`.

use super::*;
use crate::model::workload::FIRST_CLIENT_IP;

impl Stack {
    /// Schedules every user's first page, one think time after the start.
    pub(super) fn start_users(&mut self, cal: &mut Calendar<Ev>) {
        let Some(users) = self.users.as_mut() else {
            return;
        };
        for u in 0..users.count() {
            cal.schedule_at(users.first_wake(), Ev::UserWake(u));
        }
    }

    /// User `u` loads a page: its requests leave at once, each drawn like an open-loop
    /// arrival's (class, work) from the `work` stream, sent from the user's own address.
    #[cold]
    pub(super) fn on_user_wake(&mut self, cal: &mut Calendar<Ev>, u: u32) {
        let Some(users) = self.users.as_mut() else {
            return;
        };
        let now = cal.now();
        if users.starts_session(u)
            && let Some(s) = self.sticky.as_mut()
            && s.kind == PersistKind::Cookie
        {
            s.forget(u); // a new session has no cookie yet
        }
        let n = users.wake(u, now);
        let ip = FIRST_CLIENT_IP.wrapping_add(users.client(u));
        let measured = now >= self.cfg.warmup;
        for _ in 0..n {
            let mut work = self.workload.draw();
            work.client_ip = ip;
            self.admit(cal, work, u, 1, measured);
        }
    }

    /// Request `r` got its answer: a success (`failure` None) or an error. A failure the client
    /// retries ([`Cause::retried_by_clients`]) is sent again after its backoff; otherwise the
    /// answer is final and goes to its user, whose next page is scheduled once the current
    /// event is handled.
    #[cold]
    pub(super) fn client_answered(&mut self, now: SimTime, r: &Request, failure: Option<Cause>) {
        if self.flood.is_some() && self.is_flood(r) {
            return; // the flood keeps its own rate: its sources neither retry nor wait
        }
        let ok = failure.is_none();
        if let Some(retries) = self.retries.as_mut() {
            if ok {
                retries.succeeded(r.client_measured);
            } else if failure.is_some_and(|c| !c.retried_by_clients()) {
                retries.refused(r.client_measured);
            } else {
                // The same request again: its queries, which the attempt counted down, are
                // its class's (`db.rs`).
                let class = &self.cfg.workload.mix[r.work.class as usize];
                let work = Work {
                    reads: class.reads,
                    writes: class.writes,
                    ..r.work
                };
                let again = Pending {
                    work,
                    user: r.user,
                    attempt: r.attempt.saturating_add(1),
                    measured: r.client_measured,
                };
                if let Some((at, slot)) = retries.failed(now, again) {
                    self.deferred.push((at, Ev::ClientRetry(slot)));
                    return;
                }
            }
        }
        if r.user == NO_USER {
            return;
        }
        if let Some(next) = self
            .users
            .as_mut()
            .and_then(|s| s.answered(r.user, now, ok))
        {
            self.deferred.push((next, Ev::UserWake(r.user)));
        }
    }

    /// A failed request's retry is due: the same request leaves again, as its next attempt.
    #[cold]
    pub(super) fn on_client_retry(&mut self, cal: &mut Calendar<Ev>, slot: u32) {
        let Some(retries) = self.retries.as_mut() else {
            return;
        };
        let p = retries.take(slot);
        self.admit(cal, p.work, p.user, p.attempt, p.measured);
    }

    #[cold]
    pub(super) fn schedule_deferred(&mut self, cal: &mut Calendar<Ev>) {
        for (t, ev) in self.deferred.drain(..) {
            cal.schedule_at(t, ev);
        }
    }
}
