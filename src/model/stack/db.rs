//! The database tier: queries, replication, the monitor, promotion and semi-sync.

use super::*;
use crate::model::config::ReadPolicy;
use crate::model::replication::{ApplyStart, Txn};
use crate::model::station::Admit;
use crate::model::workload::FIRST_CLIENT_IP;

impl Stack {
    /// Issues the request's next query, or finishes it when none is left.
    pub(super) fn next_query(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs.items[id as usize];
        let write = if r.work.reads > 0 {
            r.work.reads -= 1;
            false
        } else if r.work.writes > 0 {
            r.work.writes -= 1;
            true
        } else {
            self.app_finish(cal, id);
            return;
        };
        r.in_write = write;
        if self.dbs.link_faults > 0 {
            self.fail_in_app(cal, id, Cause::DbUnreachable);
            return;
        }
        let node = if write {
            if !self.dbs.writes_open {
                self.fail_in_app(cal, id, Cause::NoPrimary);
                return;
            }
            self.dbs.primary
        } else {
            match self.read_node() {
                Some(n) => n,
                None => {
                    self.fail_in_app(cal, id, Cause::NoPrimary);
                    return;
                }
            }
        };
        let r = &mut self.reqs.items[id as usize];
        r.db_node = node as u16;
        if self.cfg.database.network.is_zero() {
            self.db_arrive(cal, id);
        } else {
            r.stage = Stage::ToDb;
            let d = self.cfg.database.network.sample_time(&mut self.net_rng);
            cal.schedule_in(d, Ev::DbArrive(id));
        }
    }

    /// Round-robin over the replicas the monitor believes are up; the primary when there is
    /// none (or reads are configured to go there).
    fn read_node(&mut self) -> Option<usize> {
        let n = self.db.len();
        let primary = self.dbs.primary;
        if self.cfg.database.read_from == ReadPolicy::Replicas {
            for step in 1..=n {
                let c = (self.read_rr + step) % n;
                if c != primary && self.db[c].read_ok {
                    self.read_rr = c;
                    return Some(c);
                }
            }
        }
        self.dbs.writes_open.then_some(primary)
    }

    pub(super) fn on_db_arrive(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs.items[id as usize];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        r.stage = Stage::Active;
        self.db_arrive(cal, id);
    }

    fn db_arrive(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let node = self.reqs.items[id as usize].db_node as usize;
        if !self.db[node].up() {
            self.fail_in_app(cal, id, Cause::DbNodeDown);
            return;
        }
        match self.db[node].station.arrive(now, id) {
            Admit::Start => self.db_start(cal, id, node),
            Admit::Queued => self.reqs.items[id as usize].stage = Stage::DbWait,
            // "Too many connections": the app gives up and answers 500.
            Admit::Rejected => self.fail_in_app(cal, id, Cause::DbTooManyConnections),
        }
    }

    fn db_start(&mut self, cal: &mut Calendar<Ev>, id: ReqId, node: usize) {
        let r = &mut self.reqs.items[id as usize];
        let n = &mut self.db[node];
        let dist = if r.in_write {
            &self.cfg.database.write_time
        } else {
            &self.cfg.database.read_time
        };
        let raw = dist.sample(&mut n.rng);
        r.db_raw = SimTime::from_secs_f64(raw);
        r.stage = Stage::Db;
        r.st_epoch = n.station.epoch();
        cal.schedule_in(
            SimTime::from_secs_f64(raw * n.slow / n.speed),
            Ev::DbDone(id),
        );
    }

    pub(super) fn on_db_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs.items[id as usize];
        let node = r.db_node as usize;
        if self.db[node].station.epoch() != r.st_epoch {
            // The node crashed during the query: the request already failed.
            self.reqs.release(id);
            return;
        }
        if let Some(next) = self.db[node].station.finish(now) {
            self.db_start(cal, next, node);
        }
        let measured = now >= self.cfg.warmup;
        let client = r.work.client_ip.wrapping_sub(FIRST_CLIENT_IP) as usize;
        let mut ack_at = None;
        if r.in_write {
            if measured {
                self.db[node].writes += 1;
            }
            ack_at = self.commit(cal, r.db_raw, client);
        } else {
            if measured {
                self.db[node].reads += 1;
            }
            if node != self.dbs.primary {
                self.dbs.replica_reads += 1;
                let seen = self.dbs.last_write.get(client).copied().unwrap_or(0);
                if self.links[node].applied_gtid < seen {
                    self.dbs.stale_reads += 1;
                }
            }
        }
        if r.zombie {
            // The client is gone (its server or the DB link failed), the query ran anyway.
            self.reqs.release(id);
            return;
        }
        let r = &mut self.reqs.items[id as usize];
        if let Some(at) = ack_at {
            r.stage = Stage::Ack;
            cal.schedule_at(at, Ev::SemiAck(id));
        } else if self.cfg.database.network.is_zero() {
            r.stage = Stage::Active;
            self.next_query(cal, id);
        } else {
            r.stage = Stage::FromDb;
            let d = self.cfg.database.network.sample_time(&mut self.net_rng);
            cal.schedule_in(d, Ev::DbReply(id));
        }
    }

    /// The semi-sync acknowledgement reached the primary (or the wait timed out): the commit's
    /// OK now travels back to the application like any other reply.
    pub(super) fn on_semi_ack(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.cfg.database.network.is_zero() || self.reqs.items[id as usize].zombie {
            self.on_db_reply(cal, id);
            return;
        }
        self.reqs.items[id as usize].stage = Stage::FromDb;
        let d = self.cfg.database.network.sample_time(&mut self.net_rng);
        cal.schedule_in(d, Ev::DbReply(id));
    }

    pub(super) fn on_db_reply(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs.items[id as usize];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        r.stage = Stage::Active;
        if self.dbs.link_faults > 0 {
            self.fail_in_app(cal, id, Cause::DbUnreachable);
            return;
        }
        self.next_query(cal, id);
    }

    /// A write committed on the primary: ship it to every live replica. With semi-sync
    /// (AFTER_SYNC) returns when the client gets its answer: when the first replica's ack is
    /// back, or after `semi_sync_timeout`, which also switches the primary to async until a
    /// replica catches up (domain.md §4.3).
    fn commit(&mut self, cal: &mut Calendar<Ev>, raw: SimTime, client: usize) -> Option<SimTime> {
        self.gtid += 1;
        let now = cal.now();
        if let Some(w) = self.dbs.last_write.get_mut(client) {
            *w = self.gtid;
        }
        let repl = &self.cfg.database.replication;
        let fo = &self.cfg.failures.db_failover;
        let primary = self.dbs.primary;
        // (replica, network delay, arrival at its relay log); the buffer is reused.
        let mut arrivals = std::mem::take(&mut self.ship_buf);
        arrivals.clear();
        for n in 0..self.db.len() {
            if n == primary || !self.db[n].was_replica {
                continue;
            }
            let delay = repl.delay.sample_time(&mut self.repl_rng);
            arrivals.push((n, delay, self.links[n].arrival_time(now, delay)));
        }
        let semi = fo.semi_sync && !self.dbs.semi_fallback;
        let mut ack_at = None;
        let mut acked_alone = !semi;
        if semi {
            let first = arrivals
                .iter()
                .filter(|(n, _, _)| self.db[*n].up())
                .map(|&(_, _, t)| t)
                .min();
            let back = first.map(|t| t + repl.delay.sample_time(&mut self.repl_rng));
            match back {
                Some(t) if t - now <= fo.semi_sync_timeout => ack_at = Some(t),
                _ => {
                    let at = now + fo.semi_sync_timeout;
                    ack_at = Some(at);
                    acked_alone = true;
                    self.dbs.semi_fallback = true;
                    // The timeout expires at `at`: a fallback due after the end of the run
                    // did not happen within it (neither counted nor logged).
                    if at <= self.cfg.duration {
                        self.dbs.semi_fallbacks += 1;
                        self.obs.log(
                            at,
                            &self.db[primary].name,
                            "semi-sync timeout",
                            "no replica acknowledged in time: falling back to asynchronous \
                             replication",
                        );
                    }
                }
            }
        }
        for &(n, delay, _) in &arrivals {
            let speed = self.db[n].speed;
            let txn = Txn {
                gtid: self.gtid,
                commit: now,
                apply: SimTime::from_secs_f64(raw.as_secs_f64() * repl.apply_factor / speed),
                acked_alone,
            };
            let at = self.links[n].ship(txn, delay);
            let epoch = self.links[n].epoch();
            cal.schedule_at(at, Ev::ReplArrive(n as u16, epoch));
        }
        self.ship_buf = arrivals;
        ack_at
    }

    pub(super) fn on_repl_arrive(&mut self, cal: &mut Calendar<Ev>, n: usize, epoch: u32) {
        if self.links[n].epoch() != epoch {
            return; // shipped by a primary that died before it arrived
        }
        let start = self.links[n].arrive();
        Self::schedule_apply(cal, n, start);
        // Only a live replica can acknowledge: a crashed one still "receives" here (its relay
        // log is assumed refilled on restart) but must not switch semi-sync back on.
        if self.dbs.semi_fallback && self.db[n].up() && self.links[n].received_gtid >= self.gtid {
            self.dbs.semi_fallback = false;
            let name = self.db[self.dbs.primary].name.clone();
            self.obs.log(
                cal.now(),
                &name,
                "semi-sync resumed",
                &format!("{} caught up", self.db[n].name),
            );
        }
    }

    pub(super) fn on_apply_done(&mut self, cal: &mut Calendar<Ev>, n: usize, gtid: u64) {
        let start = self.links[n].applied(cal.now(), gtid);
        Self::schedule_apply(cal, n, start);
        if self.dbs.promoting == Some(n) && self.links[n].backlog() == 0 {
            self.finish_promotion(cal.now(), n);
        }
    }

    pub(super) fn schedule_apply(cal: &mut Calendar<Ev>, n: usize, start: ApplyStart) {
        if let ApplyStart::Start { gtid, after } = start {
            cal.schedule_in(after, Ev::ApplyDone(n as u16, gtid));
        }
    }

    // ---- monitor and failover ---------------------------------------------------------------

    /// One monitoring round (orchestrator-style): the primary is declared dead after
    /// `poll_count` consecutive failed polls; replicas leave and rejoin the read pool the
    /// same way.
    pub(super) fn on_db_poll(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        let fo = self.cfg.failures.db_failover.clone();
        cal.schedule_in(fo.poll_interval, Ev::DbPoll);
        for n in 0..self.db.len() {
            if self.db[n].up() {
                self.db[n].failed_polls = 0;
                if !self.db[n].read_ok && n != self.dbs.primary && self.dbs.promoting != Some(n) {
                    self.db[n].read_ok = true;
                    let name = self.db[n].name.clone();
                    self.obs
                        .log(now, &name, "back in read pool", "monitor sees it up");
                }
                continue;
            }
            self.db[n].failed_polls += 1;
            if self.db[n].failed_polls != fo.poll_count {
                continue;
            }
            let name = self.db[n].name.clone();
            self.db[n].read_ok = false;
            if n == self.dbs.primary && !self.dbs.primary_detected {
                self.dbs.primary_detected = true;
                self.obs.log(
                    now,
                    &name,
                    "primary failure detected",
                    &format!("{} failed polls every {}", fo.poll_count, fo.poll_interval),
                );
                self.mark_detected(now, |t| t == Target::DbNode(n));
                if fo.automatic {
                    let d = fo.promotion.sample_time(&mut self.promote_rng);
                    cal.schedule_in(d, Ev::Promote);
                }
            } else if n != self.dbs.primary {
                self.obs.log(
                    now,
                    &name,
                    "replica failure detected",
                    "removed from the read pool",
                );
                self.mark_detected(now, |t| t == Target::DbNode(n));
                self.mark_mitigated(now, |t| t == Target::DbNode(n));
            }
        }
    }

    /// Promotion: the live replica with the most received transactions takes over once its
    /// relay log is applied. Acknowledged transactions it never received are lost (RPO).
    pub(super) fn on_promote(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        let old = self.dbs.primary;
        if self.db[old].up() && self.dbs.writes_open {
            return; // the old primary came back before the promotion: nothing to do
        }
        let best = (0..self.db.len())
            .filter(|&n| n != old && self.db[n].up() && self.db[n].was_replica)
            .max_by_key(|&n| (self.links[n].received_gtid, std::cmp::Reverse(n)));
        let Some(c) = best else {
            self.obs.log(
                now,
                &self.db[old].name.clone(),
                "promotion impossible",
                "no live replica",
            );
            return;
        };
        let lost = self.dbs.lost_if_promoted[c];
        self.dbs.lost += lost;
        // It keeps serving reads while it drains its relay log (still a read-only replica);
        // it leaves the read pool when it becomes the primary.
        self.dbs.promoting = Some(c);
        let name = self.db[c].name.clone();
        self.obs.log(now, &name, "promotion started", &format!(
            "most up-to-date replica; {lost} acknowledged transactions never reached it; {} to apply first",
            self.links[c].backlog()
        ));
        if self.links[c].backlog() == 0 {
            self.finish_promotion(now, c);
        }
    }

    fn finish_promotion(&mut self, now: SimTime, c: usize) {
        let old = self.dbs.primary;
        self.dbs.promoting = None;
        self.dbs.primary = c;
        self.dbs.primary_detected = false;
        self.db[old].replaced = true;
        self.dbs.promotions += 1;
        self.dbs.semi_fallback = false;
        self.db[c].read_ok = false;
        self.open_writes(now);
        let name = self.db[c].name.clone();
        self.obs
            .log(now, &name, "promoted to primary", "writes resume");
        self.mark_mitigated(now, |t| t == Target::DbNode(old));
        if self.db[old].up() {
            // Repaired while the replica drained its relay log: rebuilt now, like a repair
            // after the promotion (else it would rejoin the read pool without replicating).
            self.rejoin_as_replica(now, old);
        }
    }

    pub(super) fn open_writes(&mut self, now: SimTime) {
        self.dbs.writes_open = true;
        if let Some(s) = self.dbs.write_outage_start.take() {
            self.dbs.write_outage += now - s;
        }
    }

    pub(super) fn close_writes(&mut self, now: SimTime) {
        if self.dbs.writes_open {
            self.dbs.writes_open = false;
            self.dbs.write_outage_start = Some(now);
        }
    }
}
