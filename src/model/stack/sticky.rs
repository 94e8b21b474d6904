//! Where session persistence (`model/lb/stickiness.rs`) meets the request path: a request with
//! a session goes straight to its server before any balancing, and the server a request
//! reaches becomes its session's. Nothing here runs without `[lb] persistence`.

use super::*;
use crate::model::lb::Pick;
use crate::model::workload::FIRST_CLIENT_IP;

impl Stack {
    /// Sends request `id` to its session's server if it has one that may take it (HAProxy's
    /// `SF_DIRECT`): now, or into that server's own queue when it is full. False: balance it.
    #[cold]
    pub(super) fn sticky_select(&mut self, cal: &mut Calendar<Ev>, id: ReqId) -> bool {
        let r = &self.reqs[id];
        let k = r.lb as usize;
        let Some(sticky) = self.sticky.as_mut() else {
            return false;
        };
        let client = r.work.client_ip.wrapping_sub(FIRST_CLIENT_IP);
        let Some(key) = sticky.key(r.user, client) else {
            return false;
        };
        let views = &self.lbs[k].views;
        let Some(i) = sticky.lookup(key, |i| views[i].usable, r.measured) else {
            return false;
        };
        self.reqs[id].direct = true;
        let v = views[i];
        let pick = if v.is_full() {
            Pick::ServerQueue(i)
        } else {
            Pick::Server(i)
        };
        match pick {
            Pick::Server(i) => {
                self.assign(id, k, i);
                self.connect(cal, id, i);
            }
            _ if v.maxqueue > 0 && v.queued >= v.maxqueue => {
                self.end(cal, id, Cause::ServerQueueFull)
            }
            _ => self.enqueue(cal, id, Some(i)),
        }
        true
    }

    /// Request `id` reached server `i`: its session is on `i` from now on (a new cookie, or
    /// the stick table's entry).
    #[cold]
    pub(super) fn sticky_store(&mut self, id: ReqId, i: usize, now: SimTime) {
        let r = &self.reqs[id];
        let client = r.work.client_ip.wrapping_sub(FIRST_CLIENT_IP);
        if let Some(s) = self.sticky.as_mut()
            && let Some(key) = s.key(r.user, client)
        {
            s.store(key, i, now);
        }
    }
}
