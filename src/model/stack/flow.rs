//! The request path through the client's connection, the load balancer, Nginx and the
//! application, and what a request gives back when it ends.

use super::timeouts::next_syn;
use super::*;
use crate::model::config::{DbPool, Upstream};
use crate::model::lb::{Pick, Policy};
use crate::model::station::Admit;

impl Stack {
    // ---- arrivals and the client's connection ---------------------------------------------

    pub(super) fn on_arrival(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        if let Some(t) = self.workload.next_arrival(now) {
            cal.schedule_at(t, Ev::Arrival);
        }
        let work = self.workload.draw();
        let measured = now >= self.cfg.warmup;
        self.admit(cal, work, NO_USER, 1, measured);
    }

    /// Attempt `attempt` of a request with `work` leaves its client now (an open-loop arrival,
    /// one of `user`'s page requests, or a retry): it connects to its LB address.
    /// `client_measured`: its first attempt was in the measurement window.
    #[inline(always)]
    pub(super) fn admit(
        &mut self,
        cal: &mut Calendar<Ev>,
        work: Work,
        user: u32,
        attempt: u8,
        client_measured: bool,
    ) {
        let now = cal.now();
        let measured = now >= self.cfg.warmup;
        if let Some(r) = self.retries.as_mut() {
            r.sent(attempt, client_measured);
        }
        let Some(id) = self.reqs.alloc(Request {
            arrived: now,
            since: now,
            work,
            epoch: 0,
            query: 0,
            st_epoch: 0,
            lb_epoch: 0,
            life: 0,
            worker: 0,
            db_conns: 0,
            server: NO_SERVER,
            avoid: NO_SERVER,
            db_node: 0,
            lb: 0,
            addr: 0,
            stage: Stage::Active,
            retries: 0,
            syn: 0,
            holds: 0,
            ngx_conns: 0,
            queued: false,
            reselect: false,
            measured,
            in_write: false,
            in_query: false,
            zombie: false,
            live: true,
            counted: false,
            doomed: None,
            db_raw: SimTime::ZERO,
            app_at: SimTime::ZERO,
            lost: Lost::No,
            user,
            attempt,
            client_measured,
            direct: false,
        }) else {
            self.stop_at_bound(cal);
            return;
        };
        if measured {
            self.counts.arrived += 1;
            self.counts.classes[work.class as usize][0] += 1;
        }
        self.obs.arrivals += 1;
        self.in_system.add(now, 1);
        self.arm_client_timeout(cal, id);
        if self.cfg.lb.firewall.is_some() && !self.firewall(cal, id) {
            return;
        }
        // The common case first: one HAProxy, alive.
        if self.single_lb && self.lbs[0].faults.up() {
            self.lb_accept(cal, id, 0);
            return;
        }
        match self.resolve(now, work.client_ip) {
            Some(addr) => {
                self.reqs[id].addr = addr;
                self.client_connect(cal, id);
            }
            None => self.fail(now, id, Cause::LbDown),
        }
    }

    /// Every slot of the slab is in use: the requests in flight reached [`MAX_IN_FLIGHT`], so
    /// the run stops now. What was pending is dropped (the handler that asked for the slot has
    /// scheduled nothing after it, and client events waiting for the end of the event are
    /// dropped too), so the engine finds nothing more to run; `run_with` reports the cut.
    #[cold]
    #[inline(never)]
    fn stop_at_bound(&mut self, cal: &mut Calendar<Ev>) {
        if self.cut_short.is_none() {
            self.cut_short = Some(CutShort {
                at: cal.now(),
                in_flight: (self.reqs.items.len() - self.reqs.free.len()) as u64,
            });
        }
        cal.clear_pending();
        self.deferred.clear();
    }

    /// One SYN of the client to its LB address: a live HAProxy accepts, a live host whose
    /// HAProxy died resets (the client fails at once), and nobody at all means a SYN
    /// retransmitted until the client's connect timeout.
    #[inline]
    fn client_connect(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let addr = self.reqs[id].addr;
        match self.lb_at(addr) {
            (Answer::Up, Some(k)) => self.lb_accept(cal, id, k),
            (Answer::Refuses, _) | (Answer::Up, None) => self.fail(cal.now(), id, Cause::LbDown),
            (Answer::Silent, _) => {
                let timeout = self.cfg.workload.connect_timeout;
                self.syn_wait(cal, id, Stage::ClientSyn, timeout);
            }
        }
    }

    /// The connect of `id` got no answer: wait for the next SYN retransmission, or fail when
    /// the connect timeout (counted from `r.since`) comes first.
    pub(super) fn syn_wait(
        &mut self,
        cal: &mut Calendar<Ev>,
        id: ReqId,
        stage: Stage,
        timeout: SimTime,
    ) {
        let r = &mut self.reqs[id];
        if r.stage != stage {
            r.since = cal.now();
            r.syn = 0;
        }
        r.syn = r.syn.saturating_add(1);
        r.stage = stage;
        cal.schedule_at(next_syn(r.since, r.syn, timeout), Ev::Syn(id));
    }

    /// A SYN retransmission or connect timeout of whatever the request is connecting to. The
    /// stage stays while the connect goes on (its start and SYN count with it), and becomes
    /// `Active` once the request moves on.
    pub(super) fn on_syn(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = self.reqs[id];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        let now = cal.now();
        let proceed = |s: &mut Self| s.reqs.items[id as usize].stage = Stage::Active;
        match r.stage {
            // At the connect timeout no SYN leaves: the connect fails, whatever the peer does
            // now (the last SYN left before).
            Stage::ClientSyn => {
                let timeout = self.cfg.workload.connect_timeout;
                if now >= r.since + timeout {
                    proceed(self);
                    self.fail(now, id, Cause::LbConnectTimeout);
                } else if self.lb_at(r.addr).0 == Answer::Silent {
                    self.syn_wait(cal, id, Stage::ClientSyn, timeout);
                } else {
                    proceed(self);
                    self.client_connect(cal, id);
                }
            }
            Stage::LbSyn => {
                let timeout = self.cfg.failures.health.timeout_connect;
                if now >= r.since + timeout {
                    proceed(self);
                    self.conn_error(cal, id, false);
                    return;
                }
                match self.servers[r.server as usize].host.answer() {
                    Answer::Silent => self.syn_wait(cal, id, Stage::LbSyn, timeout),
                    Answer::Up => {
                        proceed(self);
                        self.established(cal, id, r.server as usize)
                    }
                    Answer::Refuses => {
                        proceed(self);
                        self.conn_error(cal, id, true)
                    }
                }
            }
            Stage::FirewallSyn => self.firewall_timeout(now, id),
            // These check and re-arm themselves.
            Stage::NginxSyn => self.upstream(cal, id, r.server as usize, true),
            Stage::DbSyn => self.db_connect(cal, id, true),
            other => unreachable!("SYN event of a request at {other:?}"),
        }
    }

    // ---- the load balancer ---------------------------------------------------------------

    /// HAProxy `k` accepted the client's connection.
    #[inline(always)]
    fn lb_accept(&mut self, cal: &mut Calendar<Ev>, id: ReqId, k: usize) {
        let now = cal.now();
        let lb = &mut self.lbs[k];
        if self.cfg.lb.maxconn > 0 && lb.held >= self.cfg.lb.maxconn {
            self.fail(now, id, Cause::LbMaxconn);
            return;
        }
        let limited = lb.limiter.is_some();
        let lb = if limited {
            if !self.conn_limit(now, id, k) {
                return;
            }
            &mut self.lbs[k]
        } else {
            lb
        };
        lb.held += 1;
        let r = &mut self.reqs[id];
        r.holds |= holds::LB;
        r.lb = k as u8;
        r.lb_epoch = lb.epoch;
        match &mut lb.station {
            None if limited => self.http_rules(cal, id),
            None => self.select(cal, id),
            Some(st) => match st.arrive(now, id) {
                Admit::Start => {
                    if r.measured {
                        self.waits.lb_threads.immediate();
                    }
                    r.stage = Stage::LbProc;
                    r.st_epoch = st.epoch();
                    let d = lb_work(&self.cfg.lb, &mut lb.rng, &mut self.tls, r.measured);
                    cal.schedule_in(d, Ev::LbDone(id));
                }
                _ => {
                    r.stage = Stage::LbWait;
                    r.since = now;
                    if r.measured {
                        self.waits.lb_threads.queued();
                    }
                }
            },
        }
    }

    pub(super) fn on_lb_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs[id];
        let k = r.lb as usize;
        let lb = &mut self.lbs[k];
        let limited = lb.limiter.is_some();
        if let Some(st) = &mut lb.station
            && st.epoch() == r.st_epoch
            && let Some(next) = st.finish(now)
        {
            let st_epoch = st.epoch();
            let n = &mut self.reqs[next];
            if n.measured {
                self.waits.lb_threads.waited(now - n.since);
            }
            let d = lb_work(&self.cfg.lb, &mut lb.rng, &mut self.tls, n.measured);
            n.stage = Stage::LbProc;
            n.st_epoch = st_epoch;
            cal.schedule_in(d, Ev::LbDone(next));
        }
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs[id].stage = Stage::Active;
        if limited {
            self.http_rules(cal, id);
        } else {
            self.select(cal, id);
        }
    }

    /// HAProxy's server selection. A request being redispatched avoids the server that failed
    /// it, unless no other is usable (`srvtoavoid` in HAProxy's `get_server_*`).
    #[inline]
    pub(super) fn select(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &self.reqs[id];
        let (k, avoid, client_ip) = (r.lb as usize, r.avoid as usize, r.work.client_ip);
        // Persistence comes before balancing; a redispatched request is balanced.
        if self.sticky.is_some() && avoid == NO_SERVER as usize && self.sticky_select(cal, id) {
            return;
        }
        // `roundrobin`, `static-rr` and `first` keep FIFO order: with requests already in the
        // backend queue, a new one joins its back without a selection, while some request is
        // being served (src/backend.c `assign_server`: `queue.length && queue.length !=
        // beconn`). When none is (the servers that held them died, and a backup took over),
        // nothing would ever drain the queue: the selection runs.
        if self.lbs[k].fifo_fair && self.lbs[k].serving > 0 && self.live_backend_head(k) {
            self.enqueue(cal, id, None);
            return;
        }
        let lb = &mut self.lbs[k];
        // `avoid` is usable, so another usable server exists when the count exceeds 1.
        let hide = avoid != NO_SERVER as usize && lb.views[avoid].usable && lb.usable > 1;
        if hide {
            lb.update_view(avoid, |v| v.usable = false);
        }
        let pick = lb.policy.pick(&lb.views, client_ip, &mut lb.rng);
        if hide {
            lb.update_view(avoid, |v| v.usable = true);
        }
        match pick {
            Pick::Server(i) => {
                self.assign(id, k, i);
                self.connect(cal, id, i);
            }
            Pick::ServerQueue(i) => {
                let v = self.lbs[k].views[i];
                if v.maxqueue > 0 && v.queued >= v.maxqueue {
                    self.end(cal, id, Cause::ServerQueueFull);
                } else {
                    self.enqueue(cal, id, Some(i));
                }
            }
            Pick::BackendQueue => self.enqueue(cal, id, None),
            Pick::NoServer => self.end(cal, id, Cause::NoServer),
        }
    }

    /// The request is assigned to server `i`: it takes a slot there (`served`), which it keeps
    /// while it retries that server (HAProxy's `sess_change_server`, released only on the
    /// final failure or a redispatch: src/backend.c `back_handle_st_cer`).
    #[inline(always)]
    pub(super) fn assign(&mut self, id: ReqId, k: usize, i: usize) {
        self.lbs[k].add_served(i, true);
        let r = &mut self.reqs[id];
        r.holds |= holds::SRV;
        r.server = i as u16;
        r.avoid = NO_SERVER;
        if r.measured {
            self.servers[i].dispatched += 1;
        }
    }

    /// True if LB `k`'s backend queue holds at least one live entry (drops stale heads).
    fn live_backend_head(&mut self, k: usize) -> bool {
        while let Some(&(id, epoch)) = self.lbs[k].backend_q.front() {
            let r = &self.reqs[id];
            if r.queued && r.epoch == epoch {
                return true;
            }
            self.lbs[k].backend_q.pop_front();
        }
        false
    }

    pub(super) fn enqueue(&mut self, cal: &mut Calendar<Ev>, id: ReqId, server: Option<usize>) {
        let now = cal.now();
        let r = &mut self.reqs[id];
        r.epoch = r.epoch.wrapping_add(1);
        r.queued = true;
        r.since = now;
        r.stage = Stage::Queued;
        if r.measured {
            self.waits.lb_queue.queued();
        }
        let epoch = r.epoch;
        let lb = &mut self.lbs[r.lb as usize];
        match server {
            Some(i) => {
                r.server = i as u16;
                lb.server_q[i].push_back((id, epoch));
                lb.update_view(i, |v| v.queued += 1);
            }
            None => {
                r.server = NO_SERVER;
                lb.backend_q.push_back((id, epoch));
            }
        }
        lb.queue_len.add(now, 1);
        cal.schedule_in(self.cfg.lb.timeout_queue, Ev::QueueTimeout(id, epoch));
    }

    pub(super) fn on_queue_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId, epoch: u32) {
        let r = &mut self.reqs[id];
        if !r.live || !r.queued || r.epoch != epoch {
            return; // already dequeued: stale timer
        }
        self.unqueue(cal.now(), id);
        self.end(cal, id, Cause::QueueTimeout);
    }

    /// Takes a queued request out of its LB's queue accounting (its entry goes stale).
    pub(super) fn unqueue(&mut self, now: SimTime, id: ReqId) {
        let r = &mut self.reqs[id];
        r.queued = false;
        r.stage = Stage::Active;
        let lb = &mut self.lbs[r.lb as usize];
        if r.server != NO_SERVER {
            lb.update_view(r.server as usize, |v| v.queued -= 1);
        }
        lb.queue_len.add(now, -1);
    }

    /// Every usable server left this LB (`tot_wact` and `tot_wbck` are 0): HAProxy wakes the
    /// requests in the backend queue, which find no server and get a 503 at once
    /// (src/queue.c `pendconn_redistribute`), instead of waiting for `timeout queue`.
    pub(super) fn purge_backend_queue(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let waiting: Vec<(ReqId, u32)> = self.lbs[k].backend_q.drain(..).collect();
        for (id, epoch) in waiting {
            let r = &self.reqs[id];
            if r.live && r.queued && r.epoch == epoch {
                self.unqueue(cal.now(), id);
                self.end(cal, id, Cause::NoServer);
            }
        }
    }

    /// One connection attempt to the assigned server `i`. With `lb.connect` the handshake and
    /// the request's way to the server take that long, holding the server's slot (HAProxy
    /// counts a server's connection from the moment it assigns it: `srv_inc_sess_ctr` and
    /// `served` in src/backend.c `connect_server`) but none of its workers; the request then
    /// arrives through the same path as a connect that waited for SYN retransmissions
    /// (`Stage::LbSyn`), so a server that died or went silent meanwhile is met as such.
    #[inline(always)]
    pub(super) fn connect(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        match self.servers[i].host.answer() {
            Answer::Up if !self.lb_connect_delay => self.established(cal, id, i),
            Answer::Up => {
                let k = self.reqs[id].lb as usize;
                let d = self
                    .cfg
                    .lb
                    .connect
                    .sample_time(&mut self.lbs[k].connect_rng);
                let r = &mut self.reqs[id];
                r.stage = Stage::LbSyn;
                r.since = cal.now();
                r.syn = 1;
                cal.schedule_in(d, Ev::Syn(id));
            }
            Answer::Refuses => self.conn_error(cal, id, true),
            Answer::Silent => {
                let timeout = self.cfg.failures.health.timeout_connect;
                self.syn_wait(cal, id, Stage::LbSyn, timeout);
            }
        }
    }

    /// A connection attempt failed: refused (`explicit`, RST/ICMP) or `timeout connect`.
    /// HAProxy retries up to `retries` times; with `option redispatch` a retry goes to another
    /// server at once when the server is marked down, on the last retry, or for a non-hash
    /// algorithm with more than one active server (include/haproxy/stream.h
    /// `stream_choose_redispatch`). After an explicit error it waits min(`timeout connect`,
    /// 1 s) before retrying the same server, or before a redispatch when there is at most one
    /// active server; after a connect timeout it retries at once (src/backend.c
    /// `back_handle_st_cer`).
    fn conn_error(&mut self, cal: &mut Calendar<Ev>, id: ReqId, explicit: bool) {
        let h = &self.cfg.failures.health;
        let r = self.reqs[id];
        let (k, i) = (r.lb as usize, r.server as usize);
        let max = h.retries.min(255) as u8;
        if r.retries >= max {
            self.end(cal, id, Cause::ConnectFailed);
            return;
        }
        let retries = r.retries + 1;
        let views = &self.lbs[k].views;
        let active = self.lbs[k].active;
        let hashing = matches!(
            self.cfg.lb.algorithm,
            crate::model::Algorithm::Source { .. }
        );
        // A persistent request (`direct`) is redispatched only as a hashed one is.
        let redispatch = h.redispatch
            && (!views[i].usable || retries == max || (!hashing && !r.direct && active > 1));
        let turnaround = h.timeout_connect.min(SimTime::from_secs(1));
        let wait = explicit && (!redispatch || active <= 1);
        let measured = r.measured;
        let rq = &mut self.reqs[id];
        rq.retries = retries;
        if redispatch {
            if measured {
                self.servers[i].redispatches += 1;
            }
            rq.avoid = i as u16;
            rq.reselect = true;
            rq.direct = false;
            self.release_srv(cal, id);
        } else {
            if measured {
                self.servers[i].retries += 1;
            }
            self.reqs[id].reselect = false;
        }
        if wait {
            self.reqs[id].stage = Stage::Retry;
            cal.schedule_in(turnaround, Ev::Retry(id));
        } else {
            self.retry(cal, id);
        }
    }

    pub(super) fn on_retry(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.reqs[id].zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs[id].stage = Stage::Active;
        self.retry(cal, id);
    }

    fn retry(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        if r.reselect {
            r.reselect = false;
            self.select(cal, id);
        } else {
            let i = r.server as usize;
            self.connect(cal, id, i);
        }
    }

    /// Lets queued requests in while server `i` has room (after a response or a mark-up).
    /// A dequeued request that fails at once (a refusing server, out of retries) frees its
    /// slot again, which would dequeue the next one from inside this call, and so on down
    /// the stack for a long queue: such nested calls only note the server, and the
    /// outermost call serves every noted server in turn.
    #[inline(always)]
    pub(super) fn lb_dequeue(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize) {
        let lb = &self.lbs[k];
        if lb.backend_q.is_empty() && lb.server_q[i].is_empty() {
            return; // nothing waits: the common case
        }
        self.drain_queues(cal, k, i);
    }

    #[inline(never)]
    fn drain_queues(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize) {
        if self.dequeuing {
            if !self.dequeue_pending.contains(&(k, i)) {
                self.dequeue_pending.push((k, i));
            }
            return;
        }
        self.dequeuing = true;
        self.dequeue_one(cal, k, i);
        while let Some((k, i)) = self.dequeue_pending.pop() {
            self.dequeue_one(cal, k, i);
        }
        self.dequeuing = false;
    }

    /// A server that is not usable (marked DOWN, or a backup not in use) still takes the
    /// requests waiting in its own queue as its slots free, but none from the backend queue:
    /// HAProxy's `process_srv_queue` passes `px_ok = srv_currently_usable()` to
    /// `pendconn_process_next_strm`, and its comment says why: "The <srv> queue is still
    /// considered in this case, because if some connections remain there, it means that some
    /// requests have been forced there after it was seen down (eg: due to option persist)"
    /// (HAP-SRC src/queue.c). Such a request then meets the server as it is: a dead one
    /// refuses it and it retries (and is redispatched, with `option redispatch`, as the
    /// server is not running), rather than waiting out `timeout queue`.
    fn dequeue_one(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize) {
        loop {
            let v = self.lbs[k].views[i];
            if v.maxconn > 0 && v.served >= v.maxconn {
                return;
            }
            let Some(id) = self.pop_oldest_for(k, i, v.usable) else {
                return;
            };
            self.lbs[k].queue_len.add(cal.now(), -1);
            let r = &mut self.reqs[id];
            if r.measured {
                self.waits.lb_queue.waited(cal.now() - r.since);
            }
            r.stage = Stage::Active;
            self.assign(id, k, i);
            self.connect(cal, id, i);
        }
    }

    /// The oldest live request among the heads of server `i`'s queue and, when `backend`
    /// (the server is usable), the backend queue.
    fn pop_oldest_for(&mut self, k: usize, i: usize, backend: bool) -> Option<ReqId> {
        let reqs = &self.reqs.items;
        let lb = &mut self.lbs[k];
        let live = |e: &(ReqId, u32)| {
            let r = &reqs[e.0 as usize];
            r.live && r.queued && r.epoch == e.1
        };
        while lb.server_q[i].front().is_some_and(|e| !live(e)) {
            lb.server_q[i].pop_front();
        }
        while backend && lb.backend_q.front().is_some_and(|e| !live(e)) {
            lb.backend_q.pop_front();
        }
        let sq = lb.server_q[i].front().map(|e| reqs[e.0 as usize].since);
        let bq = (lb.backend_q.front())
            .filter(|_| backend)
            .map(|e| reqs[e.0 as usize].since);
        let from_server = match (sq, bq) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        };
        let (id, _) = if from_server {
            lb.update_view(i, |v| v.queued -= 1);
            lb.server_q[i].pop_front()?
        } else {
            lb.backend_q.pop_front()?
        };
        self.reqs[id].queued = false;
        Some(id)
    }

    // ---- web server: Nginx then the application --------------------------------------------

    /// The connection to server `i` is up and the request is sent: HAProxy's `timeout server`
    /// starts, Nginx admits it (one connection for a static file, two when it also opens one
    /// to the application: `worker_connections` counts both).
    #[inline(always)]
    fn established(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let now = cal.now();
        let life = self.servers[i].life;
        let r = &mut self.reqs[id];
        r.epoch = r.epoch.wrapping_add(1);
        r.life = life;
        let (token, work) = (r.epoch, r.work);
        if self.sticky.is_some() {
            self.sticky_store(id, i, now);
        }
        let conns = if work.static_file { 1 } else { 2 };
        self.arm_server_timeout(cal, id, token);
        let s = &mut self.servers[i];
        if s.inside + conns > s.nginx_max {
            self.end(cal, id, Cause::NginxRefused);
            return;
        }
        s.inside += conns;
        let r = &mut self.reqs[id];
        r.holds |= holds::NGX;
        r.ngx_conns = conns as u8;
        if work.nginx == SimTime::ZERO {
            self.nginx_done(cal, id, i);
        } else if s.nginx.arrive(now, id) == Admit::Start {
            if r.measured {
                self.waits.nginx.immediate();
            }
            r.stage = Stage::Nginx;
            r.st_epoch = s.nginx.epoch();
            cal.schedule_in(scale(work.nginx, s.speed), Ev::NginxDone(id));
        } else {
            r.stage = Stage::NginxWait;
            r.since = now;
            if r.measured {
                self.waits.nginx.queued();
            }
        }
    }

    pub(super) fn on_nginx_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs[id];
        let i = r.server as usize;
        let s = &mut self.servers[i];
        if s.nginx.epoch() == r.st_epoch
            && let Some(next) = s.nginx.finish(now)
        {
            let n = &mut self.reqs[next];
            if n.measured {
                self.waits.nginx.waited(now - n.since);
            }
            n.stage = Stage::Nginx;
            n.st_epoch = s.nginx.epoch();
            cal.schedule_in(scale(n.work.nginx, s.speed), Ev::NginxDone(next));
        }
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs[id].stage = Stage::Active;
        if self.server_lost(now, id) {
            return;
        }
        self.nginx_done(cal, id, i);
    }

    /// Nginx (of server `i`) has the request: a static file is answered, anything else goes
    /// upstream.
    #[inline(always)]
    fn nginx_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let r = &mut self.reqs[id];
        if r.work.static_file {
            if r.measured && r.doomed.is_none() {
                self.servers[i].completed += 1;
            }
            self.respond(cal, id);
            return;
        }
        r.stage = Stage::Active;
        self.upstream(cal, id, i, false);
    }

    /// Nginx connects to the application of server `i` (`retrying`: a SYN retransmission of
    /// its connect just fired). A crashed application refuses (502). A full backlog fails a
    /// unix-socket connect at once (502), while over TCP the kernel drops the SYN and Nginx
    /// retransmits until `proxy_connect_timeout` (504). A hung application (`down`) still has
    /// its kernel queue connections in the backlog, where they wait.
    #[inline(always)]
    fn upstream(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize, retrying: bool) {
        let now = cal.now();
        if retrying {
            // The connect carries on (its stage says so until now); anything else moves on.
            let r = &mut self.reqs[id];
            r.stage = Stage::Active;
            if now >= r.since + self.cfg.servers[i].proxy_connect_timeout {
                // No SYN leaves at the timeout: Nginx gives up.
                self.end(cal, id, Cause::UpstreamConnectTimeout);
                return;
            }
        }
        let s = &mut self.servers[i];
        let admit = if s.app_faults.up() {
            s.app.arrive(now, id)
        } else if s.app_frozen() {
            s.app.wait_only(now, id)
        } else {
            self.end(cal, id, Cause::AppDown);
            return;
        };
        match admit {
            Admit::Start => {
                self.arm_nginx_timeout(cal, id, i);
                self.app_start(cal, id, i);
            }
            Admit::Queued => {
                let r = &mut self.reqs[id];
                r.stage = Stage::AppWait;
                r.since = now;
                if r.measured {
                    self.waits.app.queued();
                }
                self.arm_nginx_timeout(cal, id, i);
            }
            Admit::Rejected => self.upstream_full(cal, id, i, retrying),
        }
    }

    /// The application's backlog is full: see `upstream`.
    #[cold]
    fn upstream_full(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize, retrying: bool) {
        match self.cfg.servers[i].upstream {
            Upstream::Unix => self.end(cal, id, Cause::AppQueueFull),
            Upstream::Tcp => {
                if retrying {
                    self.reqs[id].stage = Stage::NginxSyn;
                }
                let timeout = self.cfg.servers[i].proxy_connect_timeout;
                self.syn_wait(cal, id, Stage::NginxSyn, timeout)
            }
        }
    }

    /// The request takes a free application worker of server `i` and runs its CPU work.
    #[inline(always)]
    fn app_start(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let now = cal.now();
        let s = &mut self.servers[i];
        let r = &mut self.reqs[id];
        r.holds |= holds::APP;
        // The station admitted it, so a worker is free (only tracked when it matters).
        r.worker = s.free_workers.pop().unwrap_or(0);
        if r.measured {
            (self.waits.app).took_worker(r.stage == Stage::AppWait, now, r.since);
        }
        r.stage = Stage::AppCpu;
        r.st_epoch = s.app.epoch();
        r.app_at = now;
        cal.schedule_in(scale(r.work.app, s.speed), Ev::AppCpuDone(id));
        let (token, counted) = (r.epoch, r.counted);
        self.arm_worker_timeout(cal, id, i, token, counted);
    }

    pub(super) fn on_app_cpu_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = self.reqs[id];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        self.reqs[id].stage = Stage::Active;
        if self.server_lost(cal.now(), id) || self.app_stuck(id) {
            return;
        }
        self.next_query(cal, id);
    }

    /// The application answered: free the worker, Nginx and the LB, respond.
    #[inline(always)]
    pub(super) fn app_finish(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &self.reqs[id];
        let (i, good) = (
            r.server as usize,
            r.measured && !r.counted && r.doomed.is_none(),
        );
        self.release_app(cal, id);
        if self.cfg.database.client.pool == DbPool::PerRequest {
            self.release_db_conns(id);
        }
        if good {
            self.servers[i].completed += 1;
        }
        self.respond(cal, id);
    }

    /// The response passes back through Nginx and HAProxy to the client.
    #[inline(always)]
    fn respond(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        r.release_nginx(&mut self.servers);
        if let Some((k, i)) = r.release_srv(&mut self.lbs) {
            self.lb_dequeue(cal, k, i);
        }
        self.release_lb(id);
        self.complete(cal.now(), id);
    }

    /// The request's server died under it without a word (its host went `down`): what it
    /// held there is gone, and it waits for HAProxy's `timeout server` (or is over if the
    /// client already has its answer). True when that happened.
    #[inline]
    pub(super) fn server_lost(&mut self, now: SimTime, id: ReqId) -> bool {
        let r = &self.reqs[id];
        if r.server == NO_SERVER || self.servers[r.server as usize].life == r.life {
            return false;
        }
        self.lose_server_side(now, id);
        true
    }

    #[cold]
    fn lose_server_side(&mut self, now: SimTime, id: ReqId) {
        let r = &mut self.reqs[id];
        // The host's stations were wiped when it died: nothing to give back there.
        r.holds &= !(holds::NGX | holds::APP);
        r.ngx_conns = 0;
        r.in_query = false;
        self.release_db_conns(id);
        let r = &mut self.reqs[id];
        r.stage = Stage::Hung;
        if !r.has(holds::SRV) {
            // Nothing waits for an answer from this server any more.
            self.fail(now, id, Cause::ServerTimeout);
        }
    }

    /// The application hangs (`down`): the request stops where it is, holding its worker,
    /// until a timeout or the restart. True when that happened.
    #[inline]
    pub(super) fn app_stuck(&mut self, id: ReqId) -> bool {
        let r = &mut self.reqs[id];
        if !self.servers[r.server as usize].app_frozen() {
            return false;
        }
        r.stage = Stage::Hung;
        true
    }

    // ---- timeouts that end the client's wait -----------------------------------------------

    /// HAProxy's `timeout server` expired: the client gets a 504 and HAProxy closes its
    /// connection to Nginx, which drops the request unless the application already has it
    /// (a worker busy on it, or the backlog holding it, goes on: nothing tells it).
    pub(super) fn server_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        self.schedule_worker_kill(cal, id);
        self.fail_client(cal.now(), id, Cause::ServerTimeout);
        self.release_srv(cal, id);
        self.release_lb(id);
        self.drop_from_nginx(cal.now(), id);
        self.orphan(id);
    }

    /// Nginx's `proxy_read_timeout` expired: Nginx answers 504 and closes the upstream
    /// connection; the application's worker goes on until its work ends.
    pub(super) fn upstream_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        self.schedule_worker_kill(cal, id);
        self.fail_client(cal.now(), id, Cause::UpstreamTimeout);
        self.release_nginx(id);
        self.release_srv(cal, id);
        self.release_lb(id);
        self.orphan(id);
    }

    /// The app server killed the worker busy on this request past its timeout (Gunicorn's
    /// arbiter): Nginx sees the upstream connection close and answers 502; a fresh worker
    /// takes the slot (its boot time is not modelled).
    pub(super) fn worker_killed(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        self.drop_db_wait(now, id);
        self.reqs[id].in_query = false;
        self.end(cal, id, Cause::AppWorkerTimeout);
    }

    /// HAProxy closed its connection to Nginx: Nginx drops the request if it has not passed
    /// it upstream yet, and closes the upstream connection otherwise (the application is not
    /// told: `proxy_ignore_client_abort` off closes the socket, a sync worker notices only when
    /// it writes its answer).
    fn drop_from_nginx(&mut self, now: SimTime, id: ReqId) {
        let r = self.reqs[id];
        if r.stage == Stage::NginxWait {
            self.servers[r.server as usize]
                .nginx
                .remove_waiting(now, id);
            self.reqs[id].stage = Stage::Active;
        }
        self.release_nginx(id);
    }

    /// After the client got its answer, the request lives on only while the application
    /// still works on it (a worker, or its backlog); otherwise it is over.
    fn orphan(&mut self, id: ReqId) {
        let r = &self.reqs[id];
        if !(r.has(holds::APP) || r.stage == Stage::AppWait) {
            self.reqs.finish(id);
        }
    }

    // ---- giving back what a request holds ------------------------------------------------------

    #[inline]
    pub(super) fn release_lb(&mut self, id: ReqId) {
        self.reqs[id].release_lb(&mut self.lbs);
    }

    /// Frees the server slot at the LB and lets the oldest queued request in.
    #[inline]
    pub(super) fn release_srv(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if let Some((k, i)) = self.reqs[id].release_srv(&mut self.lbs) {
            self.lb_dequeue(cal, k, i);
        }
    }

    #[inline]
    pub(super) fn release_nginx(&mut self, id: ReqId) {
        self.reqs[id].release_nginx(&mut self.servers);
    }

    #[inline(always)]
    pub(super) fn release_app(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        if !r.take(holds::APP) {
            return;
        }
        let i = r.server as usize;
        if self.track_workers {
            self.servers[i].free_workers.push(r.worker);
        }
        self.app_release(cal, i);
    }

    /// A worker of server `i` is free: it takes the next request from the backlog, unless
    /// the application hangs. The next in line may be an HTTP health check ([`PROBE_ID`]).
    #[inline(always)]
    pub(super) fn app_release(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        let now = cal.now();
        let s = &mut self.servers[i];
        if s.app_frozen() {
            s.app.release_only(now);
            return;
        }
        if let Some(next) = s.app.finish(now) {
            if next >= PROBE_ID {
                self.check_answered(cal, i, (next - PROBE_ID) as usize);
            } else {
                self.app_start(cal, next, i);
            }
        }
    }

    /// Ends the request with `cause`: everything it holds is given back (a queue place it
    /// occupies included) and the client gets the error.
    pub(super) fn end(&mut self, cal: &mut Calendar<Ev>, id: ReqId, cause: Cause) {
        let now = cal.now();
        let r = self.reqs[id];
        match r.stage {
            Stage::NginxWait => {
                self.servers[r.server as usize]
                    .nginx
                    .remove_waiting(now, id);
            }
            Stage::AppWait => {
                self.servers[r.server as usize].app.remove_waiting(now, id);
            }
            Stage::DbWait => self.drop_db_wait(now, id),
            _ => {}
        }
        if matches!(r.stage, Stage::NginxWait | Stage::AppWait | Stage::DbWait) {
            self.reqs[id].stage = Stage::Active;
        }
        self.release_app(cal, id);
        self.release_db_conns(id);
        self.release_nginx(id);
        self.release_srv(cal, id);
        self.release_lb(id);
        self.fail(now, id, cause);
    }

    // ---- bookkeeping -----------------------------------------------------------------------

    #[inline]
    pub(super) fn complete(&mut self, now: SimTime, id: ReqId) {
        let r = &self.reqs[id];
        if r.counted || r.doomed.is_some() {
            self.complete_failed(now, id);
            return;
        }
        let t = now - r.arrived;
        if r.measured {
            let class = r.work.class as usize;
            self.counts.completed += 1;
            self.counts.classes[class][1] += 1;
            self.counts.classes[class][3] += u64::from(t <= self.slo_latency);
            self.counts.sojourn_ns += t.as_nanos() as u128;
            self.latency.record(t);
            self.classes.completed(class, t);
        }
        self.obs.completed(t);
        self.in_system.add(now, -1);
        self.reqs.finish(id);
        if self.client_side {
            // (A finished slot keeps its contents until it is reused.)
            let client = self.reqs[id];
            self.client_answered(now, &client, None);
        }
    }

    /// `complete` for a request whose client already had an error, or lost its LB.
    #[cold]
    fn complete_failed(&mut self, now: SimTime, id: ReqId) {
        let r = &self.reqs[id];
        if r.counted {
            self.reqs.finish(id);
        } else if let Some(cause) = r.doomed {
            self.fail(now, id, cause);
        }
    }

    /// The client gets an error now (counted once); the request may still hold resources on
    /// the server side.
    pub(super) fn fail_client(&mut self, now: SimTime, id: ReqId, cause: Cause) {
        let r = &mut self.reqs[id];
        if r.counted {
            return;
        }
        r.counted = true;
        let cause = r.doomed.unwrap_or(cause);
        if r.measured {
            self.counts.failed += 1;
            self.counts.classes[r.work.class as usize][2] += 1;
            self.counts.errors[cause as usize] += 1;
            self.classes.failed(r.work.class as usize, cause);
            self.counts.sojourn_ns += (now - r.arrived).as_nanos() as u128;
            self.aftermath.failed(now, r.arrived, cause, &self.faults);
        }
        self.obs.failed(cause);
        self.in_system.add(now, -1);
        if self.client_side {
            let client = self.reqs[id];
            self.client_answered(now, &client, Some(cause));
        }
    }

    /// Counts the request as failed (if its client did not have an answer yet) and frees its
    /// slot, unless an event of its own is still pending: then it becomes a zombie and the slot
    /// is freed when that event fires.
    pub(super) fn fail(&mut self, now: SimTime, id: ReqId, cause: Cause) {
        self.fail_client(now, id, cause);
        self.reqs.finish(id);
    }
}

/// The LB thread time of the request whose processing starts now: `processing`, plus the TLS
/// handshake of the connection it opened, if it opened one (`model/tls.rs`).
#[inline(always)]
fn lb_work(
    lb: &crate::model::config::LbConfig,
    rng: &mut Rng,
    tls: &mut Option<Box<crate::model::tls::Tls>>,
    measured: bool,
) -> SimTime {
    let d = lb.processing.sample_time(rng);
    match tls {
        None => d,
        Some(t) => d + t.handshake(measured),
    }
}
