//! Fault injection and the mechanisms that notice and route around faults: HAProxy health
//! checks, keepalived (VRRP) takeover, DNS TTL expiry. DB detection and promotion are in
//! `db.rs`.

use super::*;
use crate::model::config::{FaultKind, TargetKind};
use crate::model::health::Transition;
use crate::model::lb::Policy;

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
            });
        }
        for spec in &f.random {
            let targets: Vec<Target> = match spec.kind {
                TargetKind::Lb => (0..self.lbs.len()).map(Target::Lb).collect(),
                TargetKind::Server => (0..self.servers.len()).map(Target::Server).collect(),
                TargetKind::App => (0..self.servers.len()).map(Target::App).collect(),
                TargetKind::DbNode => (0..self.db.len()).map(Target::DbNode).collect(),
                TargetKind::DbLink => vec![Target::DbLink],
            };
            for t in targets {
                // Named by component, so adding a server leaves the other streams unchanged.
                let name = format!("faults.{}", self.target_name(t));
                self.generators.push(Generator {
                    target: t,
                    ttf: spec.ttf.clone(),
                    ttr: spec.ttr.clone(),
                    rng: Rng::new(StreamId::new(self.cfg.seed, &name, self.replication)),
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
        }
    }

    pub(super) fn on_random_fail(&mut self, cal: &mut Calendar<Ev>, g: usize) {
        let generator = &mut self.generators[g];
        let ttr = generator.ttr.sample_time(&mut generator.rng);
        self.faults.push(FaultRec {
            target: generator.target,
            kind: FaultKind::Crash,
            start: cal.now(),
            duration: Some(ttr),
            started: false,
            end: None,
            detected: None,
            mitigated: None,
            generator: Some(g as u32),
        });
        self.on_fault_start(cal, self.faults.len() - 1);
    }

    pub(super) fn on_fault_start(&mut self, cal: &mut Calendar<Ev>, f: usize) {
        let now = cal.now();
        if self.faults[f].target == Target::DbPrimary {
            self.faults[f].target = Target::DbNode(self.dbs.primary);
        }
        let rec = self.faults[f].clone();
        self.faults[f].started = true;
        if let Some(d) = rec.duration {
            cal.schedule_in(d, Ev::FaultEnd(f as u32));
        }
        let name = self.target_name(rec.target);
        let what = match rec.kind {
            FaultKind::Crash => match rec.target {
                Target::App(_) => "application down".to_string(),
                Target::DbLink => "network partition".to_string(),
                _ => "crash".to_string(),
            },
            FaultKind::Slow(x) => format!("slow (service x{x})"),
        };
        let until = rec
            .duration
            .map_or("permanent".to_string(), |d| format!("for {d}"));
        self.obs.log(now, &name, &format!("fault: {what}"), &until);
        match (rec.target, rec.kind) {
            (Target::DbNode(n), FaultKind::Slow(x)) => self.db[n].slow *= x,
            (_, FaultKind::Slow(_)) => {}
            (Target::Lb(k), _) => self.lb_crash(cal, k),
            (Target::Server(i), _) => self.server_crash(cal, i),
            (Target::App(i), _) => self.app_crash(cal, i),
            (Target::DbNode(n), _) => self.db_crash(cal, n),
            (Target::DbLink, _) => self.link_cut(cal),
            (Target::DbPrimary, _) => unreachable!("resolved above"),
        }
    }

    pub(super) fn on_fault_end(&mut self, cal: &mut Calendar<Ev>, f: usize) {
        let now = cal.now();
        let rec = self.faults[f].clone();
        self.faults[f].end = Some(now);
        // Users stop feeling a fault at the latest when it is repaired (a mitigation planned
        // for later, such as a DNS TTL expiry, no longer matters).
        if rec.mitigated.is_none_or(|m| m > now) {
            self.faults[f].mitigated = Some(now);
        }
        let name = self.target_name(rec.target);
        self.obs.log(now, &name, "repaired", "");
        match (rec.target, rec.kind) {
            (Target::DbNode(n), FaultKind::Slow(x)) => self.db[n].slow /= x,
            (_, FaultKind::Slow(_)) => {}
            (Target::Lb(k), _) => self.lb_repair(cal, k),
            (Target::Server(i), _) => self.servers[i].host_faults -= 1,
            (Target::App(i), _) => self.servers[i].app_faults -= 1,
            (Target::DbNode(n), _) => self.db_repair(cal, n),
            (Target::DbLink, _) => self.dbs.link_faults -= 1,
            (Target::DbPrimary, _) => {}
        }
        if let Some(g) = rec.generator {
            let generator = &mut self.generators[g as usize];
            let t = generator.ttf.sample_time(&mut generator.rng);
            cal.schedule_in(t, Ev::RandomFail(g));
        }
    }

    /// Live, non-zombie requests matching `pred`, collected first so handling them can
    /// schedule and fail freely.
    fn requests_where(&self, pred: impl Fn(&Request) -> bool) -> Vec<ReqId> {
        self.reqs
            .items
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live && !r.zombie && pred(r))
            .map(|(i, _)| i as ReqId)
            .collect()
    }

    // ---- servers -----------------------------------------------------------------------------

    fn server_crash(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        self.servers[i].host_faults += 1;
        if self.servers[i].host_faults > 1 {
            return;
        }
        let now = cal.now();
        let victims = self.requests_where(|r| r.server as usize == i && r.stage.in_server());
        let s = &mut self.servers[i];
        s.nginx.drain_queue(now);
        s.nginx.clear_busy(now);
        s.app.drain_queue(now);
        s.app.clear_busy(now);
        s.inside = 0;
        for id in victims {
            self.drop_db_wait(now, id);
            self.lb_response(cal, id);
            self.fail(now, id, Cause::ServerCrash);
        }
    }

    fn app_crash(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        self.servers[i].app_faults += 1;
        if self.servers[i].app_faults > 1 || !self.servers[i].host_up() {
            return;
        }
        let now = cal.now();
        let victims = self.requests_where(|r| {
            r.server as usize == i && (r.stage.in_app() || r.stage == Stage::AppWait)
        });
        let s = &mut self.servers[i];
        s.app.drain_queue(now);
        s.app.clear_busy(now);
        for id in victims {
            self.drop_db_wait(now, id);
            self.servers[i].inside -= 1;
            self.lb_response(cal, id);
            // Nginx sees its upstream connection reset: 502.
            self.fail(now, id, Cause::AppDown);
        }
    }

    /// A request waiting for a DB connection leaves that queue (its client went away).
    fn drop_db_wait(&mut self, now: SimTime, id: ReqId) {
        let r = self.reqs.items[id as usize];
        if r.stage == Stage::DbWait {
            self.db[r.db_node as usize].station.remove_waiting(now, id);
        }
    }

    // ---- database nodes and the link -----------------------------------------------------------

    fn db_crash(&mut self, cal: &mut Calendar<Ev>, n: usize) {
        self.db[n].faults += 1;
        if self.db[n].faults > 1 {
            return;
        }
        let now = cal.now();
        // Queries waiting for or in service on the node fail; so do commits on it still
        // waiting for their semi-sync acknowledgement: the client's connection to the primary
        // is gone, it never hears "committed".
        let victims = self.requests_where(|r| {
            r.db_node as usize == n && matches!(r.stage, Stage::DbWait | Stage::Db | Stage::Ack)
        });
        self.db[n].station.drain_queue(now);
        self.db[n].station.clear_busy(now);
        if n == self.dbs.primary {
            self.close_writes(now);
            for m in 0..self.db.len() {
                if m != n {
                    self.dbs.lost_if_promoted[m] = self.links[m].cut();
                }
            }
        } else {
            self.links[n].set_paused(true);
            if self.dbs.promoting == Some(n) {
                // The replica being promoted died while draining its relay log: the monitor
                // starts over with the replicas still alive (its lost count no longer applies).
                self.dbs.promoting = None;
                self.dbs.lost -= self.dbs.lost_if_promoted[n];
                let name = self.db[n].name.clone();
                self.obs.log(
                    now,
                    &name,
                    "promotion aborted",
                    "the replica being promoted crashed",
                );
                let d = self
                    .cfg
                    .failures
                    .db_failover
                    .promotion
                    .sample_time(&mut self.promote_rng);
                cal.schedule_in(d, Ev::Promote);
            }
        }
        for id in victims {
            self.fail_in_app(cal, id, Cause::DbNodeDown);
        }
    }

    fn db_repair(&mut self, cal: &mut Calendar<Ev>, n: usize) {
        self.db[n].faults -= 1;
        if self.db[n].faults > 0 {
            return;
        }
        let now = cal.now();
        let name = self.db[n].name.clone();
        if n == self.dbs.primary {
            // Nobody was promoted: the old primary simply resumes.
            self.dbs.primary_detected = false;
            if self.dbs.promoting.is_none() {
                self.open_writes(now);
                self.mark_mitigated(now, |t| t == Target::DbNode(n));
                self.obs
                    .log(now, &name, "primary resumes", "no promotion took place");
            }
        } else if self.db[n].replaced {
            self.rejoin_as_replica(now, n);
        } else {
            for s in self.links[n].set_paused(false) {
                Self::schedule_apply(cal, n, s);
            }
        }
    }

    /// A former primary may hold transactions nobody else has: it is rebuilt from the new
    /// primary, then rejoins as a replica (domain.md §4.4: "discard the failed source").
    pub(super) fn rejoin_as_replica(&mut self, now: SimTime, n: usize) {
        let appliers = self.cfg.database.replication.appliers;
        self.links[n] = ReplicaLink::rebuilt(appliers, self.gtid, self.links[n].epoch());
        self.db[n].replaced = false;
        self.db[n].was_replica = true;
        self.db[n].read_ok = false;
        let name = self.db[n].name.clone();
        self.obs.log(
            now,
            &name,
            "rejoins as a replica",
            "rebuilt from the new primary",
        );
    }

    fn link_cut(&mut self, cal: &mut Calendar<Ev>) {
        self.dbs.link_faults += 1;
        if self.dbs.link_faults > 1 {
            return;
        }
        let now = cal.now();
        let victims = self.requests_where(|r| {
            matches!(
                r.stage,
                Stage::ToDb | Stage::DbWait | Stage::Db | Stage::FromDb | Stage::Ack
            )
        });
        for id in victims {
            self.drop_db_wait(now, id);
            self.fail_in_app(cal, id, Cause::DbUnreachable);
        }
    }

    // ---- load balancers --------------------------------------------------------------------

    fn lb_crash(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        self.lbs[k].faults += 1;
        if self.lbs[k].faults > 1 {
            return;
        }
        let now = cal.now();
        self.lbs[k].down_since = now;
        self.lb_sever(now, k);
        if let Some(st) = &mut self.lbs[k].station {
            st.drain_queue(now);
            st.clear_busy(now);
        }
        match self.cfg.failures.lb_ha.clone() {
            LbHa::Single => {}
            LbHa::ActivePassive { .. } => {
                if self.vip == Some(k) {
                    self.vip = None;
                    self.schedule_takeover(cal, 1 - k);
                }
            }
            LbHa::ActiveActive { dns_ttl } => {
                if self.lbs[1 - k].up() {
                    // Clients move to the other LB when their cached DNS answer expires.
                    self.mark_detected(now, |t| t == Target::Lb(k));
                    let at = now + dns_ttl;
                    for f in &mut self.faults {
                        if f.started && f.end.is_none() && f.target == Target::Lb(k) {
                            f.mitigated.get_or_insert(at);
                        }
                    }
                }
            }
        }
    }

    fn lb_repair(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        self.lbs[k].faults -= 1;
        if self.lbs[k].faults > 0 {
            return;
        }
        let now = cal.now();
        // The process restarts: fresh health states (servers start UP), new check cycle.
        let h = self.cfg.failures.health.clone();
        let lb = &mut self.lbs[k];
        lb.check_epoch = lb.check_epoch.wrapping_add(1);
        for hs in &mut lb.health {
            *hs = Health::new(h.rise, h.fall);
        }
        self.refresh_usable(k);
        if h.enabled {
            let epoch = self.lbs[k].check_epoch;
            let n = self.servers.len() as u64;
            for i in 0..self.servers.len() {
                let offset = SimTime(h.inter.as_nanos() / n * i as u64);
                cal.schedule_at(now + offset, Ev::Check(k as u8, i as u16, epoch));
            }
        }
        if let LbHa::ActivePassive { preempt, .. } = self.cfg.failures.lb_ha {
            match self.vip {
                None => self.schedule_takeover(cal, k),
                Some(other) if other != k && k == 0 && preempt => {
                    // keepalived preemption: the higher-priority node takes the VIP back at
                    // once; connections through the backup are lost.
                    self.vip = Some(0);
                    self.vip_epoch += 1;
                    self.lb_sever(now, other);
                    let name = self.lbs[0].name.clone();
                    self.obs
                        .log(now, &name, "VRRP preempt", "takes the floating IP back");
                }
                _ => {}
            }
        }
    }

    /// keepalived on instance `k` becomes master after the master-down timer:
    /// 3 x advert_int + (256 - priority) / 256 s (VRRPv2, domain.md §3.1).
    fn schedule_takeover(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let LbHa::ActivePassive {
            advert_int,
            backup_priority,
            ..
        } = self.cfg.failures.lb_ha
        else {
            return;
        };
        if !self.lbs[k].up() {
            return;
        }
        self.vip_epoch += 1;
        cal.schedule_in(
            master_down_interval(advert_int, priority_of(k, backup_priority)),
            Ev::VrrpTakeover(k as u8, self.vip_epoch),
        );
    }

    pub(super) fn on_vrrp_takeover(&mut self, cal: &mut Calendar<Ev>, k: usize, epoch: u32) {
        if epoch != self.vip_epoch || self.vip.is_some() || !self.lbs[k].up() {
            return;
        }
        let now = cal.now();
        self.vip = Some(k);
        let name = self.lbs[k].name.clone();
        self.obs.log(
            now,
            &name,
            "VRRP takeover",
            "becomes master, holds the floating IP",
        );
        let other = 1 - k;
        self.mark_detected(now, |t| t == Target::Lb(other));
        self.mark_mitigated(now, |t| t == Target::Lb(other));
    }

    /// Every connection through LB `k` is lost: requests still in the LB fail now, those
    /// already on a server are doomed. The LB's counters and queues start afresh.
    fn lb_sever(&mut self, now: SimTime, k: usize) {
        let epoch = self.lbs[k].epoch;
        let victims = self.requests_where(|r| r.lb as usize == k && r.lb_epoch == epoch);
        for id in victims {
            let r = &mut self.reqs.items[id as usize];
            match r.stage {
                Stage::LbWait | Stage::LbProc | Stage::Queued | Stage::Retry => {
                    self.fail(now, id, Cause::LbConnectionLost)
                }
                _ => r.doomed = Some(Cause::LbConnectionLost),
            }
        }
        let lb = &mut self.lbs[k];
        lb.epoch = lb.epoch.wrapping_add(1);
        lb.held = 0;
        for v in &mut lb.views {
            v.served = 0;
            v.queued = 0;
        }
        lb.backend_q.clear();
        for q in &mut lb.server_q {
            q.clear();
        }
        lb.queue_len.set(now, 0);
    }

    // ---- health checks -----------------------------------------------------------------------

    pub(super) fn on_check(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize, epoch: u32) {
        if epoch != self.lbs[k].check_epoch || !self.lbs[k].up() {
            return; // this LB died (and maybe restarted with a new check cycle)
        }
        let now = cal.now();
        let h = &self.cfg.failures.health;
        let s = &self.servers[i];
        let passed = s.host_up() && (!h.layer7 || s.app_up());
        let t = self.lbs[k].health[i].check(passed);
        let next = self.lbs[k].health[i].interval(h);
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
            self.mark_mitigated(now, |t| t == Target::Server(i) || t == Target::App(i));
            if self.cfg.failures.health.redispatch {
                self.redispatch_queue(cal, k, i);
            }
        } else {
            self.obs.log(now, &lb, "server marked UP", &srv);
            self.lb_dequeue(cal, k, i);
        }
    }

    /// `option redispatch`: requests waiting in a server's queue when it goes DOWN are
    /// balanced again (HAProxy src/queue.c L628-668).
    fn redispatch_queue(&mut self, cal: &mut Calendar<Ev>, k: usize, i: usize) {
        let waiting: Vec<(ReqId, u32)> = self.lbs[k].server_q[i].drain(..).collect();
        for (id, epoch) in waiting {
            let r = &mut self.reqs.items[id as usize];
            if !(r.live && r.queued && r.epoch == epoch) {
                continue;
            }
            r.queued = false;
            r.stage = Stage::Active;
            self.lbs[k].views[i].queued -= 1;
            self.lbs[k].queue_len.add(cal.now(), -1);
            self.select(cal, id);
        }
    }

    /// Recomputes which servers LB `k` may use: UP by its checks, and backups only when no
    /// active server is UP (only the first UP backup, as without `option allbackups`).
    fn refresh_usable(&mut self, k: usize) {
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
    }

    // ---- fault records -------------------------------------------------------------------------

    pub(super) fn mark_detected(&mut self, now: SimTime, pred: impl Fn(Target) -> bool) {
        for f in &mut self.faults {
            if f.started && f.end.is_none() && pred(f.target) {
                f.detected.get_or_insert(now);
            }
        }
    }

    pub(super) fn mark_mitigated(&mut self, now: SimTime, pred: impl Fn(Target) -> bool) {
        for f in &mut self.faults {
            if f.started && f.end.is_none() && pred(f.target) {
                f.mitigated.get_or_insert(now);
            }
        }
    }
}

/// keepalived priority of instance `k`: the master is configured one above the backup (the
/// usual 101 / 100 pair).
fn priority_of(k: usize, backup_priority: u32) -> u32 {
    if k == 0 {
        (backup_priority + 1).min(255)
    } else {
        backup_priority
    }
}

/// VRRPv2 master-down interval: 3 x advert_int + skew, skew = (256 - priority) / 256 s.
pub fn master_down_interval(advert_int: SimTime, priority: u32) -> SimTime {
    let skew = SimTime::from_secs_f64((256 - priority.min(255)) as f64 / 256.0);
    SimTime(advert_int.as_nanos() * 3) + skew
}
