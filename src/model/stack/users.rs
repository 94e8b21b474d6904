//! Where closed-loop users (`model/clients.rs`) meet the stack: a user's wake sends its page's
//! requests down the same path as open-loop arrivals, and each answer goes back to the user.
//! Nothing here runs for a scenario without `[workload.users]`.

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
        let n = users.wake(u, now);
        let ip = FIRST_CLIENT_IP.wrapping_add(users.client(u));
        for _ in 0..n {
            let mut work = self.workload.draw();
            work.client_ip = ip;
            self.admit(cal, work, u);
        }
    }

    /// One of user `u`'s requests got its answer; the user's next page is scheduled once the
    /// current event is handled.
    #[cold]
    pub(super) fn user_answered(&mut self, now: SimTime, u: u32, ok: bool) {
        if let Some(next) = self.users.as_mut().and_then(|s| s.answered(u, now, ok)) {
            self.wakes.push((next, u));
        }
    }

    #[cold]
    pub(super) fn schedule_wakes(&mut self, cal: &mut Calendar<Ev>) {
        for (t, u) in self.wakes.drain(..) {
            cal.schedule_at(t, Ev::UserWake(u));
        }
    }
}
