//! The request path through the load balancer, Nginx and the application.

use super::*;
use crate::model::lb::{Pick, Policy};
use crate::model::station::Admit;

impl Stack {
    // ---- arrivals and the load balancer ------------------------------------------------

    pub(super) fn on_arrival(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        if let Some(t) = self.workload.next_arrival(now) {
            cal.schedule_at(t, Ev::Arrival);
        }
        let work = self.workload.draw();
        let measured = now >= self.cfg.warmup;
        let id = self.reqs.alloc(Request {
            arrived: now,
            queued_at: now,
            work,
            epoch: 0,
            st_epoch: 0,
            lb_epoch: 0,
            server: NO_SERVER,
            db_node: 0,
            lb: 0,
            stage: Stage::LbWait,
            retries_left: self.cfg.failures.health.retries.min(255) as u8,
            queued: false,
            measured,
            in_write: false,
            zombie: false,
            live: true,
            doomed: None,
            db_raw: SimTime::ZERO,
        });
        if measured {
            self.counts.arrived += 1;
        }
        self.obs.arrivals += 1;
        self.in_system.add(now, 1);
        let Some(k) = self.lb_for(now, work.client_ip) else {
            self.fail(now, id, Cause::LbDown);
            return;
        };
        let lb = &mut self.lbs[k];
        if self.cfg.lb.maxconn > 0 && lb.held >= self.cfg.lb.maxconn {
            self.fail(now, id, Cause::LbMaxconn);
            return;
        }
        lb.held += 1;
        let r = &mut self.reqs.items[id as usize];
        r.lb = k as u8;
        r.lb_epoch = lb.epoch;
        match &mut lb.station {
            None => self.select(cal, id),
            Some(st) => {
                if st.arrive(now, id) == Admit::Start {
                    r.stage = Stage::LbProc;
                    r.st_epoch = st.epoch();
                    let d = self.cfg.lb.processing.sample_time(&mut lb.rng);
                    cal.schedule_in(d, Ev::LbDone(id));
                }
            }
        }
    }

    /// Which LB instance a new request from `client_ip` reaches, if any.
    fn lb_for(&self, now: SimTime, client_ip: u32) -> Option<usize> {
        match &self.cfg.failures.lb_ha {
            LbHa::Single => self.lbs[0].up().then_some(0),
            LbHa::ActivePassive { .. } => self.vip.filter(|&k| self.lbs[k].up()),
            LbHa::ActiveActive { dns_ttl } => {
                // The client's cached DNS answer: half the clients resolved to each LB.
                let k = (client_ip % 2) as usize;
                if self.lbs[k].up() {
                    return Some(k);
                }
                let other = 1 - k;
                let expired = now >= self.lbs[k].down_since + *dns_ttl;
                (expired && self.lbs[other].up()).then_some(other)
            }
        }
    }

    pub(super) fn on_lb_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs.items[id as usize];
        let k = r.lb as usize;
        let lb = &mut self.lbs[k];
        if let Some(st) = &mut lb.station
            && st.epoch() == r.st_epoch
            && let Some(next) = st.finish(now)
        {
            let st_epoch = st.epoch();
            let d = self.cfg.lb.processing.sample_time(&mut lb.rng);
            let n = &mut self.reqs.items[next as usize];
            n.stage = Stage::LbProc;
            n.st_epoch = st_epoch;
            cal.schedule_in(d, Ev::LbDone(next));
        }
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs.items[id as usize].stage = Stage::Active;
        self.select(cal, id);
    }

    /// HAProxy's server selection for a request that finished LB processing.
    pub(super) fn select(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let k = self.reqs.items[id as usize].lb as usize;
        if self.lbs[k].policy.fifo_fair() && self.live_backend_head(k) {
            self.enqueue(cal, id, None);
            return;
        }
        let ip = self.reqs.items[id as usize].work.client_ip;
        let lb = &mut self.lbs[k];
        match lb.policy.pick(&lb.views, ip, &mut lb.rng) {
            Pick::Server(i) => self.dispatch(cal, id, i),
            Pick::ServerQueue(i) => {
                let v = self.lbs[k].views[i];
                if v.maxqueue > 0 && v.queued >= v.maxqueue {
                    self.release_lb_only(cal.now(), id, Cause::ServerQueueFull);
                } else {
                    self.enqueue(cal, id, Some(i));
                }
            }
            Pick::BackendQueue => self.enqueue(cal, id, None),
            Pick::NoServer => self.release_lb_only(cal.now(), id, Cause::NoServer),
        }
    }

    /// True if LB `k`'s backend queue holds at least one live entry (drops stale heads).
    fn live_backend_head(&mut self, k: usize) -> bool {
        while let Some(&(id, epoch)) = self.lbs[k].backend_q.front() {
            let r = &self.reqs.items[id as usize];
            if r.queued && r.epoch == epoch {
                return true;
            }
            self.lbs[k].backend_q.pop_front();
        }
        false
    }

    fn enqueue(&mut self, cal: &mut Calendar<Ev>, id: ReqId, server: Option<usize>) {
        let now = cal.now();
        let r = &mut self.reqs.items[id as usize];
        r.epoch = r.epoch.wrapping_add(1);
        r.queued = true;
        r.queued_at = now;
        r.stage = Stage::Queued;
        let epoch = r.epoch;
        let lb = &mut self.lbs[r.lb as usize];
        match server {
            Some(i) => {
                r.server = i as u16;
                lb.server_q[i].push_back((id, epoch));
                lb.views[i].queued += 1;
            }
            None => {
                r.server = NO_SERVER;
                lb.backend_q.push_back((id, epoch));
            }
        }
        lb.queue_len.add(now, 1);
        cal.schedule_in(self.cfg.lb.timeout_queue, Ev::QueueTimeout(id, epoch));
    }

    pub(super) fn on_queue_timeout(&mut self, now: SimTime, id: ReqId, epoch: u32) {
        let r = &mut self.reqs.items[id as usize];
        if !r.live || !r.queued || r.epoch != epoch {
            return; // already dequeued: stale timer
        }
        r.queued = false;
        let lb = &mut self.lbs[r.lb as usize];
        if r.server != NO_SERVER {
            lb.views[r.server as usize].queued -= 1;
        }
        lb.queue_len.add(now, -1);
        self.release_lb_only(now, id, Cause::QueueTimeout);
    }

    /// Fails a request that holds an LB slot but no server.
    pub(super) fn release_lb_only(&mut self, now: SimTime, id: ReqId, cause: Cause) {
        let r = self.reqs.items[id as usize];
        let lb = &mut self.lbs[r.lb as usize];
        if lb.epoch == r.lb_epoch {
            lb.held -= 1;
        }
        self.fail(now, id, cause);
    }

    /// Sends the request to server `i` (one connection attempt).
    pub(super) fn dispatch(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let now = cal.now();
        if !self.servers[i].host_up() {
            self.connect_refused(cal, id, i);
            return;
        }
        let r = &mut self.reqs.items[id as usize];
        let lb = &mut self.lbs[r.lb as usize];
        lb.views[i].served += 1;
        r.server = i as u16;
        let measured = r.measured;
        let nginx_work = r.work.nginx;
        let s = &mut self.servers[i];
        if measured {
            s.dispatched += 1;
        }
        if s.inside >= s.nginx_max {
            self.lb_response(cal, id);
            self.fail(now, id, Cause::NginxRefused);
            return;
        }
        s.inside += 1;
        if nginx_work == SimTime::ZERO {
            self.app_enter(cal, id, i);
        } else if s.nginx.arrive(now, id) == Admit::Start {
            r.stage = Stage::Nginx;
            r.st_epoch = s.nginx.epoch();
            cal.schedule_in(scale(nginx_work, s.speed), Ev::NginxDone(id));
        } else {
            r.stage = Stage::NginxWait;
        }
    }

    /// The connection to server `i` was refused (its host is down but this LB still thinks
    /// it is up): HAProxy's `retries` and `option redispatch` (domain.md §1.3).
    fn connect_refused(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let h = &self.cfg.failures.health;
        let r = &mut self.reqs.items[id as usize];
        if r.retries_left == 0 {
            self.release_lb_only(cal.now(), id, Cause::ConnectFailed);
            return;
        }
        r.retries_left -= 1;
        r.server = i as u16;
        let k = r.lb as usize;
        let hashing = matches!(
            self.cfg.lb.algorithm,
            crate::model::Algorithm::Source { .. }
        );
        let actives = self.lbs[k].views.iter().filter(|v| v.usable).count();
        let redispatch = h.redispatch && (r.retries_left == 0 || (!hashing && actives > 1));
        if redispatch {
            // Re-run load balancing avoiding the server that failed, at once.
            let was = self.lbs[k].views[i].usable;
            self.lbs[k].views[i].usable = false;
            self.select(cal, id);
            self.lbs[k].views[i].usable = was;
        } else {
            r.stage = Stage::Retry;
            let turnaround = h.timeout_connect.min(SimTime::from_secs(1));
            cal.schedule_in(turnaround, Ev::Retry(id));
        }
    }

    pub(super) fn on_retry(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = self.reqs.items[id as usize];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs.items[id as usize].stage = Stage::Active;
        self.dispatch(cal, id, r.server as usize);
    }

    /// A response (or error) passed back through the LB: free the slot and let the oldest
    /// queued request in.
    pub(super) fn lb_response(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = self.reqs.items[id as usize];
        let k = r.lb as usize;
        let i = r.server as usize;
        let lb = &mut self.lbs[k];
        if lb.epoch != r.lb_epoch {
            return; // that LB's state was wiped (crash, lost VIP): nothing to release
        }
        lb.held -= 1;
        lb.views[i].served -= 1;
        self.lb_dequeue(cal, k, i);
    }

    /// Lets queued requests in while server `i` has room (after a response or a mark-up).
    pub(super) fn lb_dequeue(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize) {
        loop {
            let v = self.lbs[k].views[i];
            if !v.usable || (v.maxconn > 0 && v.served >= v.maxconn) {
                return;
            }
            let Some(id) = self.pop_oldest_for(k, i) else {
                return;
            };
            self.lbs[k].queue_len.add(cal.now(), -1);
            self.dispatch(cal, id, i);
        }
    }

    /// The oldest live request among the heads of server `i`'s queue and the backend queue.
    fn pop_oldest_for(&mut self, k: usize, i: usize) -> Option<ReqId> {
        let reqs = &self.reqs.items;
        let lb = &mut self.lbs[k];
        let live = |e: &(ReqId, u32)| {
            let r = &reqs[e.0 as usize];
            r.live && r.queued && r.epoch == e.1
        };
        while lb.server_q[i].front().is_some_and(|e| !live(e)) {
            lb.server_q[i].pop_front();
        }
        while lb.backend_q.front().is_some_and(|e| !live(e)) {
            lb.backend_q.pop_front();
        }
        let sq = lb.server_q[i].front().map(|e| reqs[e.0 as usize].queued_at);
        let bq = lb.backend_q.front().map(|e| reqs[e.0 as usize].queued_at);
        let from_server = match (sq, bq) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        };
        let (id, _) = if from_server {
            lb.views[i].queued -= 1;
            lb.server_q[i].pop_front()?
        } else {
            lb.backend_q.pop_front()?
        };
        self.reqs.items[id as usize].queued = false;
        Some(id)
    }

    // ---- web server: Nginx then the application --------------------------------------------

    pub(super) fn on_nginx_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs.items[id as usize];
        let i = r.server as usize;
        let s = &mut self.servers[i];
        if s.nginx.epoch() == r.st_epoch
            && let Some(next) = s.nginx.finish(now)
        {
            let n = &mut self.reqs.items[next as usize];
            n.stage = Stage::Nginx;
            n.st_epoch = s.nginx.epoch();
            cal.schedule_in(scale(n.work.nginx, s.speed), Ev::NginxDone(next));
        }
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs.items[id as usize].stage = Stage::Active;
        self.app_enter(cal, id, i);
    }

    fn app_enter(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let now = cal.now();
        if !self.servers[i].app_up() {
            // Nginx is up but its upstream refuses: 502 Bad Gateway.
            self.servers[i].inside -= 1;
            self.lb_response(cal, id);
            self.fail(now, id, Cause::AppDown);
            return;
        }
        match self.servers[i].app.arrive(now, id) {
            Admit::Start => self.app_start(cal, id, i),
            Admit::Queued => self.reqs.items[id as usize].stage = Stage::AppWait,
            Admit::Rejected => {
                self.servers[i].inside -= 1;
                self.lb_response(cal, id);
                self.fail(now, id, Cause::AppQueueFull);
            }
        }
    }

    #[inline]
    fn app_start(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let s = &self.servers[i];
        let r = &mut self.reqs.items[id as usize];
        r.stage = Stage::AppCpu;
        r.st_epoch = s.app.epoch();
        cal.schedule_in(scale(r.work.app, s.speed), Ev::AppCpuDone(id));
    }

    pub(super) fn on_app_cpu_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = self.reqs.items[id as usize];
        if r.zombie {
            let i = r.server as usize;
            if self.servers[i].app.epoch() == r.st_epoch {
                self.app_release(cal, i);
            }
            self.reqs.release(id);
            return;
        }
        self.reqs.items[id as usize].stage = Stage::Active;
        self.next_query(cal, id);
    }

    /// The application answered: free the worker and the server slot, respond.
    pub(super) fn app_finish(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs.items[id as usize];
        let i = r.server as usize;
        self.app_release(cal, i);
        let s = &mut self.servers[i];
        s.inside -= 1;
        if r.measured && r.doomed.is_none() {
            s.completed += 1;
        }
        self.lb_response(cal, id);
        self.complete(now, id);
    }

    /// Fails a request that holds an application worker (DB error, DB unreachable...).
    pub(super) fn fail_in_app(&mut self, cal: &mut Calendar<Ev>, id: ReqId, cause: Cause) {
        let i = self.reqs.items[id as usize].server as usize;
        self.app_release(cal, i);
        self.servers[i].inside -= 1;
        self.lb_response(cal, id);
        self.fail(cal.now(), id, cause);
    }

    pub(super) fn app_release(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        if let Some(next) = self.servers[i].app.finish(cal.now()) {
            self.app_start(cal, next, i);
        }
    }

    // ---- bookkeeping -----------------------------------------------------------------------

    pub(super) fn complete(&mut self, now: SimTime, id: ReqId) {
        let r = self.reqs.items[id as usize];
        if let Some(cause) = r.doomed {
            self.fail(now, id, cause);
            return;
        }
        let t = now - r.arrived;
        if r.measured {
            self.counts.completed += 1;
            self.counts.sojourn_ns += t.as_nanos() as u128;
            self.latency.record(t);
        }
        self.obs.completed(t);
        self.in_system.add(now, -1);
        self.reqs.release(id);
    }

    /// Counts the request as failed and frees its slot, unless an event of its own is still
    /// pending: then it becomes a zombie and the slot is freed when that event fires.
    pub(super) fn fail(&mut self, now: SimTime, id: ReqId, cause: Cause) {
        let r = &mut self.reqs.items[id as usize];
        let cause = r.doomed.unwrap_or(cause);
        if r.measured {
            self.counts.failed += 1;
            self.counts.errors[cause as usize] += 1;
            self.counts.sojourn_ns += (now - r.arrived).as_nanos() as u128;
        }
        self.obs.failed(cause);
        self.in_system.add(now, -1);
        r.queued = false;
        if r.stage.has_event() && !r.zombie && r.live {
            r.zombie = true;
        } else {
            self.reqs.release(id);
        }
    }
}
