//! Fault injection, and HAProxy's health checks that notice faults and route around them.
//! keepalived and DNS are in `lbha.rs`; DB detection and promotion in `db.rs`.
//!
//! A fault's kind decides what the peers see (domain.md §1.3-1.4, §6.2): `crash` is a dead
//! process on a live host, which answers at once with a reset (for the DB link, a firewall
//! rejecting with TCP resets: an ICMP unreachable fails only new connections at once, Linux
//! keeps established ones retransmitting), so connections fail fast and what was in flight
//! fails at once; `down` and `blackhole` are silence (host off, partition, DROP), so
//! connections and requests wait for their timeouts, and what was in flight is stuck until
//! then.

use super::*;
use crate::model::config::{FaultKind, TargetKind, Upstream};
use crate::model::health::Transition;
use crate::model::lb::Policy;
use crate::model::repair::Plan;

impl Stack {
    pub(super) fn build_faults(&mut self) {
        let f = self.cfg.failures.clone();
        for s in &f.scheduled {
            self.faults.push(FaultRec {
                target: s.target,
                kind: s.kind,
                start: s.at,
                duration: s.duration,
                started: false,
                end: None,
                detected: None,
                mitigated: None,
                generator: None,
                fix: SimTime::ZERO,
            });
        }
        for (entry, spec) in f.random.iter().enumerate() {
            let targets: Vec<Target> = match spec.kind {
                TargetKind::Lb => (0..self.lbs.len()).map(Target::Lb).collect(),
                TargetKind::Server => (0..self.servers.len()).map(Target::Server).collect(),
                TargetKind::App => (0..self.servers.len()).map(Target::App).collect(),
                TargetKind::DbNode => (0..self.db.len()).map(Target::DbNode).collect(),
                TargetKind::DbLink => vec![Target::DbLink],
                TargetKind::Host => (0..f.layout.hosts.len()).map(Target::Host).collect(),
                TargetKind::Rack => (0..f.layout.racks.len()).map(Target::Rack).collect(),
            };
            for t in targets {
                // Named by component, so adding a server leaves the other streams unchanged.
                let name = self.target_name(t);
                let stream = |what: &str| {
                    Rng::new(StreamId::new(
                        self.cfg.seed,
                        &format!("{what}.{name}"),
                        self.replication,
                    ))
                };
                let (rng, people) = (stream("faults"), stream("monitoring"));
                self.generators.push(Generator {
                    entry,
                    target: t,
                    kind: spec.fault,
                    ttf: spec.ttf.clone(),
                    ttr: spec.ttr.clone(),
                    rng,
                    people,
                });
            }
        }
    }

    pub(super) fn start_faults(&mut self, cal: &mut Calendar<Ev>) {
        for (i, f) in self.faults.iter().enumerate() {
            cal.schedule_at(f.start, Ev::FaultStart(i as u32));
        }
        for g in 0..self.generators.len() {
            let generator = &mut self.generators[g];
            let t = generator.ttf.sample_time(&mut generator.rng);
            cal.schedule_at(t, Ev::RandomFail(g as u32));
        }
        let h = self.cfg.failures.health.clone();
        if h.enabled {
            let n = self.servers.len() as u64;
            for k in 0..self.lbs.len() {
                // Each LB starts its check cycle at a random phase; servers are staggered
                // across one interval (HAProxy: offset = inter x position / count).
                let phase = SimTime(self.health_rng.below(h.inter.as_nanos().max(1)));
                for i in 0..self.servers.len() {
                    let offset = SimTime(h.inter.as_nanos() / n * i as u64);
                    cal.schedule_at(phase + offset, Ev::Check(k as u8, i as u16, 0));
                }
            }
        }
        let fo = &self.cfg.failures.db_failover;
        let phase = SimTime(self.monitor_rng.below(fo.poll_interval.as_nanos().max(1)));
        cal.schedule_at(phase, Ev::DbPoll);
    }

    pub(super) fn target_name(&self, t: Target) -> String {
        match t {
            Target::Lb(k) => self.lbs[k].name.clone(),
            Target::Server(i) => self.servers[i].name.clone(),
            Target::App(i) => format!("{}.app", self.servers[i].name),
            Target::DbPrimary => "db.primary".into(),
            Target::DbNode(n) => self.db[n].name.clone(),
            Target::DbLink => "db.link".into(),
            Target::Host(_) | Target::Rack(_) => {
                self.cfg.failures.layout.name(t).unwrap_or_default()
            }
        }
    }

    pub(super) fn on_random_fail(&mut self, cal: &mut Calendar<Ev>, g: usize) {
        let now = cal.now();
        let generator = &mut self.generators[g];
        let ttr = generator.ttr.sample_time(&mut generator.rng);
        let wait = self.repairs.wait(generator.entry, &mut generator.people);
        let plan = self.repairs.failed(generator.entry, now, wait, ttr);
        let duration = match plan {
            Plan::EndsAt(end) => Some(end - now),
            Plan::ReadyAt(_) => None,
        };
        self.faults.push(FaultRec {
            target: generator.target,
            kind: generator.kind,
            start: now,
            duration,
            started: false,
            end: None,
            detected: None,
            mitigated: None,
            generator: Some(g as u32),
            fix: ttr,
        });
        let f = self.faults.len() - 1;
        self.on_fault_start(cal, f);
        let name = self.target_name(self.faults[f].target);
        if wait > SimTime::ZERO {
            self.obs.log(
                now,
                &name,
                "people act",
                &format!("in {wait} (detection and acknowledgement, [monitoring])"),
            );
        }
        if let Some(waited) = duration
            .map(|d| d - ttr - wait)
            .filter(|&w| w > SimTime::ZERO)
        {
            self.obs.log(
                now,
                &name,
                "waits for a technician",
                &format!("every repair crew is busy: the fix ({ttr}) starts in {waited}"),
            );
        }
        if let Plan::ReadyAt(at) = plan {
            cal.schedule_at(at, Ev::RepairReady(f as u32));
        }
    }

    /// A random failure's repair may start: a technician takes it (at once, or when one is
    /// free) and its end is scheduled.
    pub(super) fn on_repair_ready(&mut self, cal: &mut Calendar<Ev>, f: usize) {
        let now = cal.now();
        let rec = &self.faults[f];
        let Some(g) = rec.generator else { return };
        let entry = self.generators[g as usize].entry;
        let end = self.repairs.ready(entry, now, rec.fix);
        let (start, fix) = (rec.start, rec.fix);
        self.faults[f].duration = Some(end - start);
        cal.schedule_at(end, Ev::FaultEnd(f as u32));
        let name = self.target_name(self.faults[f].target);
        let waited = end - fix - now;
        if waited > SimTime::ZERO {
            let detail = format!("every repair crew is busy: the fix ({fix}) starts in {waited}");
            self.obs.log(now, &name, "waits for a technician", &detail);
        } else {
            let detail = format!("a technician starts the fix ({fix})");
            self.obs.log(now, &name, "repair starts", &detail);
        }
    }

    /// What a fault of `kind` on `target` is, in words.
    fn fault_words(target: Target, kind: FaultKind) -> String {
        match (target, kind) {
            (_, FaultKind::Slow(x)) => format!("slow (service x{x})"),
            (Target::Lb(_), FaultKind::Crash) => "HAProxy process crash".into(),
            (Target::App(_), FaultKind::Crash) => "application down (process exited)".into(),
            (Target::App(_), _) => "application hangs (accepts, never answers)".into(),
            (Target::DbLink, FaultKind::Crash) => "network partition (rejected)".into(),
            (Target::DbLink, _) => "network partition (packets dropped)".into(),
            (_, FaultKind::Crash) => "crash".into(),
            (_, FaultKind::Down) => "host down (no answer)".into(),
            (_, FaultKind::Blackhole) => "blackholed (packets dropped)".into(),
        }
    }

    pub(super) fn on_fault_start(&mut self, cal: &mut Calendar<Ev>, f: usize) {
        let now = cal.now();
        if self.faults[f].target == Target::DbPrimary {
            self.faults[f].target = Target::DbNode(self.dbs.primary);
        }
        let rec = self.faults[f].clone();
        self.faults[f].started = true;
        self.aftermath.changed();
        if let Some(d) = rec.duration {
            cal.schedule_in(d, Ev::FaultEnd(f as u32));
        }
        let name = self.target_name(rec.target);
        let until = match (rec.duration, rec.generator) {
            (Some(d), _) => format!("for {d}"),
            (None, Some(_)) => format!("until repaired (a fix of {} once people act)", rec.fix),
            (None, None) => "permanent".to_string(),
        };
        let what = Self::fault_words(rec.target, rec.kind);
        self.obs.log(now, &name, &format!("fault: {what}"), &until);
        self.apply_fault(cal, rec.target, rec.kind, 1);
        self.already_handled(now, f);
    }

    /// A fault that starts on a part its watchers already hold as failed (a second fault
    /// overlapping the first, or a host's fault on a server already marked DOWN) gives them
    /// nothing new to notice: HAProxy keeps the server DOWN (its checks go on failing with no
    /// new transition, HAP-SRC src/check.c `set_server_check_status`), the DB monitor keeps the
    /// node out of the read pool or the primary declared dead. So it is detected as it starts,
    /// and its users are routed around it already if they were for the earlier fault. Without
    /// this the later fault counted as never detected and as recovered only at its repair,
    /// though nobody felt it.
    fn already_handled(&mut self, now: SimTime, f: usize) {
        let target = self.faults[f].target;
        // An earlier fault of `t`, still running, that `pick` says has happened by now.
        let earlier = |t: Target, pick: fn(&FaultRec) -> Option<SimTime>| {
            self.faults.iter().enumerate().any(|(g, e)| {
                g != f
                    && e.started
                    && e.end.is_none()
                    && e.target == t
                    && pick(e).is_some_and(|at| at <= now)
            })
        };
        // A server is held DOWN by a live LB whatever the fault that made it so.
        let seen_down = |m: Target| match m {
            Target::Server(i) | Target::App(i) => {
                self.lbs.iter().any(|lb| lb.up() && !lb.health[i].is_up())
            }
            m => earlier(m, |e| e.detected),
        };
        let seen = match target {
            Target::Host(_) | Target::Rack(_) => {
                let members = self.cfg.failures.layout.members(target);
                members.into_iter().any(seen_down)
            }
            t => seen_down(t),
        };
        let mitigated = match target {
            Target::Server(_) | Target::App(_) | Target::Host(_) | Target::Rack(_) => false,
            t => earlier(t, |e| e.mitigated),
        };
        if seen {
            self.faults[f].detected.get_or_insert(now);
        }
        if mitigated {
            self.faults[f].mitigated.get_or_insert(now);
            self.aftermath.changed();
        }
        if matches!(target, Target::Server(_) | Target::App(_)) {
            self.update_server_mitigation(now);
        }
    }

    pub(super) fn on_fault_end(&mut self, cal: &mut Calendar<Ev>, f: usize) {
        let now = cal.now();
        let rec = self.faults[f].clone();
        self.faults[f].end = Some(now);
        self.aftermath.changed();
        let name = self.target_name(rec.target);
        self.obs.log(now, &name, "repaired", "");
        self.apply_fault(cal, rec.target, rec.kind, -1);
        match rec.target {
            // Users of a server are served again when HAProxy uses it again (marked UP after
            // `rise` checks), or were already when traffic went elsewhere.
            Target::Server(_) | Target::App(_) => self.update_server_mitigation(now),
            // Otherwise they stop feeling a fault at the latest when it is repaired (a
            // mitigation planned for later, such as a DNS TTL expiry, no longer matters).
            _ => {
                if self.faults[f].mitigated.is_none_or(|m| m > now) {
                    self.faults[f].mitigated = Some(now);
                }
            }
        }
        if let Some(g) = rec.generator {
            let generator = &mut self.generators[g as usize];
            let t = generator.ttf.sample_time(&mut generator.rng);
            cal.schedule_in(t, Ev::RandomFail(g));
        }
    }

    /// A fault starts (`delta` = 1) or ends (-1).
    fn apply_fault(&mut self, cal: &mut Calendar<Ev>, target: Target, kind: FaultKind, delta: i32) {
        let silent = kind.is_silent();
        match (target, kind) {
            (Target::DbNode(n), FaultKind::Slow(x)) => {
                if delta > 0 {
                    self.db[n].slow *= x
                } else {
                    self.db[n].slow /= x
                }
            }
            (_, FaultKind::Slow(_)) => {}
            (Target::Lb(k), _) => self.lb_fault(cal, k, silent, delta),
            (Target::Server(i), _) => self.server_fault(cal, i, silent, delta),
            (Target::App(i), _) => self.app_fault(cal, i, silent, delta),
            (Target::DbNode(n), _) => self.db_fault(cal, n, silent, delta),
            (Target::DbLink, _) => self.link_fault(cal, silent, delta),
            // A machine takes everything on it down at the same instant, each member counting
            // the fault like one of its own (a member already down stays down until both end).
            (Target::Host(_) | Target::Rack(_), _) => {
                for m in self.cfg.failures.layout.members(target) {
                    self.apply_fault(cal, m, kind, delta);
                }
            }
            (Target::DbPrimary, _) => unreachable!("resolved when the fault starts"),
        }
    }

    /// Live, non-zombie requests matching `pred`, collected first so handling them can
    /// schedule and fail freely.
    pub(super) fn requests_where(&self, pred: impl Fn(&Request) -> bool) -> Vec<ReqId> {
        self.reqs
            .items
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live && !r.zombie && pred(r))
            .map(|(i, _)| i as ReqId)
            .collect()
    }

    // ---- servers -----------------------------------------------------------------------------

    /// Server `i`'s host: a `crash` kills Nginx and the application (the kernel resets their
    /// connections: HAProxy answers 502 for what was in flight); `down` silences the host
    /// (what was in flight waits for `timeout server`, new connections for `timeout connect`).
    fn server_fault(&mut self, cal: &mut Calendar<Ev>, i: usize, silent: bool, delta: i32) {
        let before = self.servers[i].host.answer();
        self.servers[i].host.add(silent, delta);
        let after = self.servers[i].host.answer();
        if before == Answer::Up && after != Answer::Up {
            self.server_dies(cal, i, after == Answer::Refuses);
        }
    }

    fn server_dies(&mut self, cal: &mut Calendar<Ev>, i: usize, resets: bool) {
        let now = cal.now();
        let victims = self.requests_where(|r| r.server as usize == i && r.has(holds::NGX));
        let s = &mut self.servers[i];
        s.life = s.life.wrapping_add(1);
        s.nginx.drain_queue(now);
        s.nginx.clear_busy(now);
        s.app.drain_queue(now);
        s.app.clear_busy(now);
        s.inside = 0;
        if self.track_workers {
            s.free_workers = (0..self.cfg.servers[i].app_workers).rev().collect();
        }
        self.checks_lost(cal, i, resets);
        for id in victims {
            self.drop_db_wait(now, id);
            self.release_db_conns(id);
            let r = &mut self.reqs[id];
            // The stations were wiped: nothing to give back there.
            r.holds &= !(holds::NGX | holds::APP);
            r.ngx_conns = 0;
            r.in_query = false;
            if matches!(r.stage, Stage::NginxWait | Stage::AppWait | Stage::DbWait) {
                r.stage = Stage::Active;
            }
            if resets {
                self.end(cal, id, Cause::ServerCrash);
            } else if !r.stage.has_event() {
                // Silence: the request waits for HAProxy's `timeout server`; its pending event,
                // if any, finds its server gone (`server_lost`).
                r.stage = Stage::Hung;
                if !r.has(holds::SRV) {
                    self.fail(now, id, Cause::ServerTimeout);
                }
            }
        }
    }

    /// Server `i`'s application process: a `crash` exits it (Nginx gets its connection reset
    /// or refused: 502); `down` hangs it: it finishes nothing and accepts nothing, while the
    /// kernel keeps queueing connections in its backlog, until it is restarted (the repair),
    /// which resets every connection it had.
    fn app_fault(&mut self, cal: &mut Calendar<Ev>, i: usize, silent: bool, delta: i32) {
        let before = self.servers[i].app_faults.answer();
        self.servers[i].app_faults.add(silent, delta);
        let after = self.servers[i].app_faults.answer();
        let restart = before == Answer::Silent && after != Answer::Silent;
        if (before == Answer::Up && after == Answer::Refuses) || restart {
            self.app_dies(cal, i);
        }
    }

    fn app_dies(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        if !self.servers[i].host_up() {
            return;
        }
        let now = cal.now();
        let victims = self.requests_where(|r| {
            r.server as usize == i && (r.has(holds::APP) || r.stage == Stage::AppWait)
        });
        let s = &mut self.servers[i];
        s.app.drain_queue(now);
        s.app.clear_busy(now);
        if self.track_workers {
            s.free_workers = (0..self.cfg.servers[i].app_workers).rev().collect();
        }
        self.checks_lost(cal, i, true);
        for id in victims {
            self.drop_db_wait(now, id);
            let r = &mut self.reqs[id];
            r.holds &= !holds::APP;
            r.in_query = false;
            if matches!(r.stage, Stage::AppWait | Stage::DbWait) {
                r.stage = Stage::Active;
            }
            // Nginx sees its upstream connection reset: 502.
            self.end(cal, id, Cause::AppDown);
        }
    }

    /// A request waiting for a DB executor leaves that queue (its client went away).
    pub(super) fn drop_db_wait(&mut self, now: SimTime, id: ReqId) {
        let r = self.reqs[id];
        if r.stage == Stage::DbWait {
            self.db[r.db_node as usize].station.remove_waiting(now, id);
        }
    }

    // ---- health checks -----------------------------------------------------------------------

    /// One active check of server `i` by LB `k` starts. A refused connection or an L7 error
    /// fails it at once; silence fails it when the check's timeout expires: the connect part
    /// waits min(`timeout connect`, `inter`) when `timeout check` is set, else the whole check
    /// is bounded by `inter`; an L7 check of a hung application waits the read part,
    /// `timeout check` (or `inter`), unless Nginx answers 504 first (HAP-CFG "timeout
    /// check"). The outcome is decided by the state when the check starts, except for an L7
    /// check of a live application, which waits for a worker ([`Stack::check_at_app`]).
    pub(super) fn on_check(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize, epoch: u32) {
        if epoch != self.lbs[k].check_epoch || !self.lbs[k].up() {
            return; // this LB died (and maybe restarted with a new check cycle)
        }
        let h = &self.cfg.failures.health;
        let s = &self.servers[i];
        let connect_part = match h.timeout_check {
            None => h.inter,
            Some(_) => h.timeout_connect.min(h.inter),
        };
        let read_part = h.timeout_check.unwrap_or(h.inter);
        let (passed, after) = match s.host.answer() {
            Answer::Refuses => (false, SimTime::ZERO),
            Answer::Silent => (false, connect_part),
            Answer::Up if !h.layer7 => (true, SimTime::ZERO),
            Answer::Up => match s.app_faults.answer() {
                Answer::Up => return self.check_at_app(cal, k, i, epoch),
                Answer::Refuses => (false, SimTime::ZERO),
                // A hung application: Nginx passes the check on and waits, unless the
                // backlog is full: then a unix socket refuses at once (502) and TCP drops the
                // SYN until `proxy_connect_timeout` (504).
                Answer::Silent => {
                    let c = &self.cfg.servers[i];
                    let full = s.app.queued() >= c.app_queue as usize;
                    match (full, c.upstream) {
                        (true, Upstream::Unix) => (false, SimTime::ZERO),
                        (true, Upstream::Tcp) => (false, read_part.min(c.proxy_connect_timeout)),
                        (false, _) => (false, read_part.min(c.proxy_read_timeout)),
                    }
                }
            },
        };
        if after == SimTime::ZERO {
            self.check_result(cal, k, i, epoch, passed);
        } else {
            cal.schedule_in(after, Ev::CheckDone(k as u8, i as u16, epoch, passed));
        }
    }

    /// An HTTP check (`option httpchk`) reaches a live application through Nginx, which
    /// passes it on like any request: it waits in the application's backlog behind the
    /// requests already there, and is answered when a worker takes it. A check is not a
    /// stream in HAProxy (src/check.c `process_chk_conn()` drives its own connection): it
    /// never waits in HAProxy's queues nor counts against the server's `maxconn`, so without
    /// a `maxconn` the whole overload queues at the application, checks included. It passes
    /// if a worker takes it before its timeout, the read part `timeout check` (or `inter`,
    /// which bounds the whole check without it: HAP-CFG "timeout check"), or Nginx's
    /// `proxy_read_timeout` if shorter (Nginx answers 504: "responses 2xx and 3xx are
    /// considered valid, while all other ones indicate a server failure", HAP-CFG "option
    /// httpchk"); otherwise it fails at that timeout. So an overloaded server whose backlog
    /// holds more than a timeout's worth of work is marked DOWN after `fall` checks, and its
    /// load moves to the others.
    ///
    /// The check's own service is not modelled: a health endpoint answers a constant (HAP-CFG
    /// "timeout check": "check request is much simpler and faster to handle than normal
    /// requests"), well under a millisecond of a worker against an `inter` of seconds, so the
    /// worker that takes it goes on at once to the next in line. What the check measures is
    /// its wait. A full backlog refuses it as it refuses requests (`upstream_full`): at once
    /// on a unix socket (502); over TCP the SYN is dropped and the check fails at
    /// min(read part, `proxy_connect_timeout`) (Nginx's SYN retransmissions, which might get
    /// it in later, are not modelled).
    fn check_at_app(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize, epoch: u32) {
        let now = cal.now();
        let h = &self.cfg.failures.health;
        let c = &self.cfg.servers[i];
        let read_part = h.timeout_check.unwrap_or(h.inter);
        let app = &mut self.servers[i].app;
        if app.busy() < app.servers() {
            // A worker is free (so nobody waits): the check is answered now.
            return self.check_result(cal, k, i, epoch, true);
        }
        if !app.wait_in_line(now, PROBE_ID + k as ReqId) {
            return match c.upstream {
                Upstream::Unix => self.check_result(cal, k, i, epoch, false),
                Upstream::Tcp => {
                    let after = read_part.min(c.proxy_connect_timeout);
                    cal.schedule_in(after, Ev::CheckDone(k as u8, i as u16, epoch, false));
                }
            };
        }
        let timeout = read_part.min(c.proxy_read_timeout);
        let p = &mut self.lbs[k].probes[i];
        debug_assert!(!p.open, "one check of a server per LB at a time");
        p.seq = p.seq.wrapping_add(1);
        p.open = true;
        p.queued = true;
        cal.schedule_in(timeout, Ev::CheckTimeout(k as u8, i as u16, p.seq));
    }

    /// A worker of server `i` took LB `k`'s HTTP check from the backlog: it answers 200 at
    /// once and takes the next in line. The result is an event of its own at this instant,
    /// so that a server marked UP by it is not handed requests in the middle of the worker's
    /// release. Before the check's timeout by construction: a check that times out leaves
    /// the backlog.
    #[cold]
    pub(super) fn check_answered(&mut self, cal: &mut Calendar<Ev>, i: usize, k: usize) {
        self.app_release(cal, i);
        let p = &mut self.lbs[k].probes[i];
        debug_assert!(p.open && p.queued);
        p.open = false;
        p.queued = false;
        let epoch = self.lbs[k].check_epoch;
        cal.schedule_in(SimTime::ZERO, Ev::CheckDone(k as u8, i as u16, epoch, true));
    }

    /// The timeout of LB `k`'s HTTP check of server `i` expired before a worker took it:
    /// HAProxy (or Nginx, with its 504) gives up, the check fails and leaves the backlog
    /// (the application would still take it later and answer a closed connection: with no
    /// service time that costs nothing).
    pub(super) fn on_check_timeout(
        &mut self,
        cal: &mut Calendar<Ev>,
        k: usize,
        i: usize,
        seq: u32,
    ) {
        let p = self.lbs[k].probes[i];
        if p.seq != seq || !p.open {
            return; // answered, lost with its LB, or reset
        }
        if p.queued {
            (self.servers[i].app).remove_waiting(cal.now(), PROBE_ID + k as ReqId);
        }
        self.lbs[k].probes[i] = Probe {
            seq,
            ..Probe::default()
        };
        let epoch = self.lbs[k].check_epoch;
        self.check_result(cal, k, i, epoch, false);
    }

    /// Server `i`'s application backlog was wiped (its host or its application died, or the
    /// application was restarted): the HTTP checks waiting there lose their connection. A
    /// reset (`resets`) fails them now (Nginx answers 502, or HAProxy's own connection is
    /// reset); a host gone silent leaves HAProxy waiting for their timeout.
    fn checks_lost(&mut self, cal: &mut Calendar<Ev>, i: usize, resets: bool) {
        for k in 0..self.lbs.len() {
            let p = &mut self.lbs[k].probes[i];
            if !p.open {
                continue;
            }
            p.queued = false;
            if resets {
                p.open = false;
                let epoch = self.lbs[k].check_epoch;
                cal.schedule_in(
                    SimTime::ZERO,
                    Ev::CheckDone(k as u8, i as u16, epoch, false),
                );
            }
        }
    }

    /// LB `k` stopped: its checks waiting in backlogs are abandoned and leave them.
    pub(super) fn checks_abandoned(&mut self, now: SimTime, k: usize) {
        for i in 0..self.servers.len() {
            let p = self.lbs[k].probes[i];
            if p.queued {
                (self.servers[i].app).remove_waiting(now, PROBE_ID + k as ReqId);
            }
            self.lbs[k].probes[i] = Probe {
                seq: p.seq,
                ..Probe::default()
            };
        }
    }

    pub(super) fn on_check_done(
        &mut self,
        cal: &mut Calendar<Ev>,
        k: usize,
        i: usize,
        epoch: u32,
        passed: bool,
    ) {
        if epoch != self.lbs[k].check_epoch || !self.lbs[k].up() {
            return;
        }
        self.check_result(cal, k, i, epoch, passed);
    }

    /// A check ended: the state machine moves, and the next check comes one interval after
    /// the end of this one.
    fn check_result(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize, epoch: u32, ok: bool) {
        let now = cal.now();
        let t = self.lbs[k].health[i].check(ok);
        let next = self.lbs[k].health[i].interval(&self.cfg.failures.health);
        cal.schedule_in(next, Ev::Check(k as u8, i as u16, epoch));
        if t == Transition::None {
            return;
        }
        self.refresh_usable(k);
        let lb = self.lbs[k].name.clone();
        let srv = self.servers[i].name.clone();
        if t == Transition::MarkedDown {
            self.obs.log(now, &lb, "server marked DOWN", &srv);
            self.mark_detected(now, |t| t == Target::Server(i) || t == Target::App(i));
            let persist = self.cfg.lb.persistence.as_ref().is_some_and(|p| p.persist);
            if self.cfg.failures.health.redispatch && !persist {
                self.redispatch_queue(cal, k, i);
            }
            if self.lbs[k].usable == 0 {
                self.purge_backend_queue(cal, k);
            }
        } else {
            self.obs.log(now, &lb, "server marked UP", &srv);
            self.lb_dequeue(cal, k, i);
        }
        self.update_server_mitigation(now);
    }

    /// `option redispatch`: requests waiting in a server's queue when it goes DOWN are
    /// balanced again (HAProxy src/queue.c `pendconn_redistribute`), but not with `option
    /// persist` as well: `pendconn_redistribute` returns at once when `(options & (PR_O_REDISP
    /// | PR_O_PERSIST)) != PR_O_REDISP`. They stay in the DOWN server's queue, which it still
    /// serves as its slots free (`dequeue_one`), each keeping its `timeout queue`.
    fn redispatch_queue(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize) {
        let waiting: Vec<(ReqId, u32)> = self.lbs[k].server_q[i].drain(..).collect();
        for (id, epoch) in waiting {
            let r = &self.reqs[id];
            if !(r.live && r.queued && r.epoch == epoch) {
                continue;
            }
            self.unqueue(cal.now(), id);
            self.select(cal, id);
        }
    }

    /// Recomputes which servers LB `k` may use: UP by its checks, and backups only when no
    /// active server is UP (only the first UP backup, as without `option allbackups`).
    pub(super) fn refresh_usable(&mut self, k: usize) {
        let lb = &mut self.lbs[k];
        let up: Vec<bool> = (0..self.servers.len())
            .map(|i| lb.health[i].is_up() && lb.views[i].weight > 0)
            .collect();
        let any_active = (0..up.len()).any(|i| up[i] && !self.servers[i].backup);
        let first_backup = (0..up.len()).find(|&i| up[i] && self.servers[i].backup);
        for (i, (v, &is_up)) in lb.views.iter_mut().zip(&up).enumerate() {
            v.usable = if self.servers[i].backup {
                !any_active && Some(i) == first_backup
            } else {
                is_up
            };
        }
        lb.policy.servers_changed(&lb.views);
        lb.recount(|i| self.servers[i].backup);
    }

    // ---- fault records -------------------------------------------------------------------------

    /// A host or rack fault counts as detected when the detection of any component on it is
    /// (HAProxy marking its server DOWN, the DB monitor its node).
    pub(super) fn mark_detected(&mut self, now: SimTime, pred: impl Fn(Target) -> bool) {
        let layout = &self.cfg.failures.layout;
        for f in &mut self.faults {
            if !f.started || f.end.is_some() {
                continue;
            }
            let hit = match f.target {
                Target::Host(_) | Target::Rack(_) => {
                    layout.members(f.target).into_iter().any(&pred)
                }
                t => pred(t),
            };
            if hit {
                f.detected.get_or_insert(now);
            }
        }
    }

    pub(super) fn mark_mitigated(&mut self, now: SimTime, pred: impl Fn(Target) -> bool) {
        self.aftermath.changed();
        for f in &mut self.faults {
            if f.started && f.end.is_none() && pred(f.target) {
                f.mitigated.get_or_insert(now);
            }
        }
    }

    /// A server or application fault stops hurting users when every live LB that takes
    /// traffic either routes around the server (marked DOWN, with another server to send
    /// traffic to) or uses it again after its repair. One server down with no other to take
    /// over is therefore recovered only when it is marked UP again, `rise` checks after the
    /// repair. In an active-passive pair only the holder of the floating IP takes traffic: the
    /// passive one's checks (each HAProxy checks on its own) say nothing of what users see.
    pub(super) fn update_server_mitigation(&mut self, now: SimTime) {
        let vip = match self.cfg.failures.lb_ha {
            LbHa::ActivePassive { .. } => self.vip,
            _ => None,
        };
        for f in 0..self.faults.len() {
            let rec = &self.faults[f];
            let i = match rec.target {
                Target::Server(i) | Target::App(i) => i,
                _ => continue,
            };
            if !rec.started || rec.mitigated.is_some() {
                continue;
            }
            let repaired = rec.end.is_some();
            let mut live = (self.lbs.iter().enumerate())
                .filter(|&(k, lb)| lb.up() && vip.is_none_or(|v| v == k))
                .map(|(_, lb)| lb)
                .peekable();
            if live.peek().is_none() {
                continue;
            }
            let servers = &self.servers;
            let served_again = live.all(|lb| {
                let v = &lb.views;
                if v[i].usable {
                    repaired
                } else {
                    // Somewhere to route: another server in rotation that really answers.
                    v.iter()
                        .enumerate()
                        .any(|(j, s)| j != i && s.usable && servers[j].app_up())
                }
            });
            if served_again {
                self.faults[f].mitigated = Some(now);
                self.aftermath.changed();
            }
        }
    }
}
