//! Where the security mechanisms meet a request: the flood's arrivals (`model/flood.rs`),
//! HAProxy's per-source limits (`model/ratelimit.rs`) and the firewall in front of it
//! (`model/firewall.rs`). Nothing here runs for a scenario without `[workload.flood]`,
//! `[lb.rate_limit]` or `[firewall]`: the request path only checks that they are absent.

use super::*;
use crate::model::firewall::FirewallAction;
use crate::model::ratelimit::Verdict;

impl Stack {
    /// The next flood request leaves its source.
    #[cold]
    pub(super) fn on_flood_arrival(&mut self, cal: &mut Calendar<Ev>) {
        let Some(flood) = self.flood.as_mut() else {
            return;
        };
        let now = cal.now();
        if let Some(t) = flood.next_after(now) {
            cal.schedule_at(t, Ev::FloodArrival);
        }
        let work = flood.draw();
        let measured = now >= self.cfg.warmup;
        self.admit(cal, work, NO_USER, 1, measured);
    }

    /// A flood request (its clients neither retry nor wait for pages).
    #[inline]
    pub(super) fn is_flood(&self, r: &Request) -> bool {
        r.work.class as usize >= self.cfg.workload.mix.len()
    }

    /// The firewall in front of the LB addresses, for a connection from the request's source:
    /// true if it let the SYN through. A REJECT fails the request at once; a DROP leaves the
    /// client retransmitting until its connect timeout.
    #[cold]
    pub(super) fn firewall(&mut self, cal: &mut Calendar<Ev>, id: ReqId) -> bool {
        let Some(fw) = &self.cfg.lb.firewall else {
            return true;
        };
        let now = cal.now();
        match fw.verdict(self.reqs[id].work.client_ip, now) {
            None => true,
            Some(FirewallAction::Reject) => {
                self.fail(now, id, Cause::FirewallRejected);
                false
            }
            Some(FirewallAction::Drop) => {
                // The rule holds for the rest of the run: no SYN gets through, so only the
                // connect timeout matters (the retransmissions change nothing).
                let r = &mut self.reqs[id];
                r.stage = Stage::FirewallSyn;
                r.since = now;
                cal.schedule_in(self.cfg.workload.connect_timeout, Ev::Syn(id));
                false
            }
        }
    }

    /// `tcp-request connection reject if { sc_conn_cur(0) gt N }` at LB `k`: false (and the
    /// request failed) if the source has too many connections open there.
    #[cold]
    pub(super) fn conn_limit(&mut self, now: SimTime, id: ReqId, k: usize) -> bool {
        let r = &self.reqs[id];
        let (src, measured) = (r.work.client_ip, r.measured);
        let ok = match &mut self.lbs[k].limiter {
            Some(l) => l.connect(src, now, measured),
            None => true,
        };
        if !ok {
            self.fail(now, id, Cause::ConnRejected);
        }
        ok
    }

    /// HAProxy's `http-request` rules at an LB with a stick table, once the request is read:
    /// a source over its rate is denied (403) or tarpitted; the others go on to the server
    /// selection.
    #[cold]
    pub(super) fn http_rules(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &self.reqs[id];
        let (k, src, measured) = (r.lb as usize, r.work.client_ip, r.measured);
        if let Some(l) = &mut self.lbs[k].limiter {
            match l.request(src, cal.now(), measured) {
                Verdict::Pass => {}
                Verdict::Deny => {
                    self.end(cal, id, Cause::RateLimited);
                    return;
                }
                Verdict::Tarpit(t) => {
                    // Held with its frontend connection until `timeout tarpit`.
                    self.reqs[id].stage = Stage::Tarpit;
                    cal.schedule_in(t, Ev::TarpitDone(id));
                    return;
                }
            }
        }
        self.select(cal, id);
    }

    /// `timeout tarpit` is over: HAProxy answers 500 and closes.
    #[cold]
    pub(super) fn on_tarpit_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        r.stage = Stage::Active;
        self.end(cal, id, Cause::Tarpitted);
    }

    /// The connect timeout of a client whose SYNs a firewall dropped.
    #[cold]
    pub(super) fn firewall_timeout(&mut self, now: SimTime, id: ReqId) {
        self.reqs[id].stage = Stage::Active;
        self.fail(now, id, Cause::FirewallDropped);
    }
}
