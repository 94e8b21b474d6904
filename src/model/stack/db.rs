//! The database tier: queries, MySQL connections, replication, semi-sync, the monitor and
//! promotion.

use super::*;
use crate::model::config::{DbPool, ReadPolicy};
use crate::model::replication::{ApplyStart, Txn};
use crate::model::station::Admit;
use crate::model::tcp::Expiry;
use crate::model::workload::FIRST_CLIENT_IP;

/// The token a replay occupies in a replica's executor queue (never a request's slot).
const APPLY: ReqId = ReqId::MAX;

impl Stack {
    /// Issues the request's next query, or finishes it when none is left.
    pub(super) fn next_query(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        r.in_query = false;
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
        if self.dbs.link.answer() == Answer::Refuses {
            self.end(cal, id, Cause::DbUnreachable);
            return;
        }
        let node = if write {
            if !self.dbs.writes_open {
                self.end(cal, id, Cause::NoPrimary);
                return;
            }
            self.dbs.primary
        } else {
            match self.read_node() {
                Some(n) => n,
                None => {
                    self.end(cal, id, Cause::NoPrimary);
                    return;
                }
            }
        };
        let r = &mut self.reqs[id];
        r.db_node = node as u16;
        r.query = r.query.wrapping_add(1);
        r.in_query = true;
        r.lost = Lost::No;
        self.db_connect(cal, id, false);
    }

    /// The query needs a MySQL connection to its node (`retrying`: a SYN retransmission of
    /// its connect just fired). In a per-worker pool the worker has one if it was among the
    /// first `max_connections` workers to connect; in a per-request pool the first query to
    /// a node opens one, which waits `connect_timeout` for a node that does not answer (SYNs
    /// retransmitted meanwhile).
    #[inline(always)]
    pub(super) fn db_connect(&mut self, cal: &mut Calendar<Ev>, id: ReqId, retrying: bool) {
        let now = cal.now();
        let r = &mut self.reqs[id];
        let n = r.db_node as usize;
        let client = &self.cfg.database.client;
        if retrying {
            // The connect carries on (its stage says so until now); anything else moves on.
            r.stage = Stage::Active;
            if now >= r.since + client.connect_timeout {
                // No SYN leaves at the timeout: the connect fails.
                self.end(cal, id, Cause::DbTimeout);
                return;
            }
        }
        match client.pool {
            // Only when some node has fewer connections than there are workers can a worker
            // lack one (`track_workers`).
            DbPool::PerWorker if self.track_workers => {
                let index = self.servers[r.server as usize]
                    .workers_before
                    .saturating_add(r.worker);
                if index >= self.db[n].max_connections {
                    self.end(cal, id, Cause::DbTooManyConnections);
                    return;
                }
            }
            DbPool::PerRequest if r.db_conns & (1u64 << n) == 0 => {
                if !self.db_open(cal, id, n, retrying) {
                    return;
                }
            }
            DbPool::PerWorker | DbPool::PerRequest => {}
        }
        // The connection is there: the query is sent and its read timeout runs.
        self.arm_db_timeout(cal, id);
        self.send_query(cal, id);
    }

    /// A per-request pool opens a connection to node `n`: true when it is open, false when
    /// the request failed or waits for its SYN to be answered.
    fn db_open(&mut self, cal: &mut Calendar<Ev>, id: ReqId, n: usize, retrying: bool) -> bool {
        let reachable = self.dbs.link.answer() == Answer::Up;
        match self.db[n].faults.answer() {
            Answer::Refuses => {
                self.end(cal, id, Cause::DbNodeDown);
                return false;
            }
            Answer::Up if reachable => {}
            _ => {
                let timeout = self.cfg.database.client.connect_timeout;
                if retrying {
                    self.reqs[id].stage = Stage::DbSyn;
                }
                self.syn_wait(cal, id, Stage::DbSyn, timeout);
                return false;
            }
        }
        if self.db[n].open_conns >= self.db[n].max_connections {
            self.end(cal, id, Cause::DbTooManyConnections);
            return false;
        }
        self.db[n].open_conns += 1;
        self.reqs[id].db_conns |= 1u64 << n;
        true
    }

    /// The query leaves for its node.
    #[inline(always)]
    fn send_query(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.cfg.database.network.is_zero() {
            if !self.query_lost(cal, id) {
                self.db_arrive(cal, id);
            }
        } else {
            self.reqs[id].stage = Stage::ToDb;
            let d = self.cfg.database.network.sample_time(&mut self.net_rng);
            cal.schedule_in(d, Ev::DbArrive(id));
        }
    }

    /// Closes the request's per-request MySQL connections.
    pub(super) fn release_db_conns(&mut self, id: ReqId) {
        let r = &mut self.reqs[id];
        let mut mask = std::mem::take(&mut r.db_conns);
        while mask != 0 {
            let n = mask.trailing_zeros() as usize;
            self.db[n].open_conns -= 1;
            mask &= mask - 1;
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

    /// The query was dropped on the way (a blackholed link): the request waits, holding its
    /// worker, while the application's kernel retransmits the query, until one gets through
    /// after the heal, the MySQL read timeout or its worker's timeout. True when that happened.
    #[inline]
    fn query_lost(&mut self, cal: &mut Calendar<Ev>, id: ReqId) -> bool {
        if self.dbs.link.answer() != Answer::Silent {
            return false;
        }
        self.lose(cal, id, Lost::Query);
        true
    }

    /// The reply of an executed query was dropped: as `query_lost`, but on the way back (the
    /// node's kernel retransmits the reply, not the query).
    #[inline]
    fn reply_lost(&mut self, cal: &mut Calendar<Ev>, id: ReqId) -> bool {
        if self.dbs.link.answer() != Answer::Silent {
            return false;
        }
        self.lose(cal, id, Lost::Reply);
        true
    }

    /// A segment of the request's query exchange is dropped now: its retransmission clock
    /// starts ([`crate::model::tcp`]), and its sender gives up at the end of its budget unless
    /// something ends the wait first (the heal or the node's return schedule the
    /// retransmission that gets through: `link_heals`, `db_repair`). The node's epoch is
    /// kept: a retransmission that finds the node restarted since meets a kernel that knows
    /// no such connection.
    #[cold]
    fn lose(&mut self, cal: &mut Calendar<Ev>, id: ReqId, what: Lost) {
        let now = cal.now();
        let r = &mut self.reqs[id];
        let node = &self.db[r.db_node as usize];
        r.stage = Stage::Hung;
        r.since = now;
        r.lost = match what {
            // Dropped on the link to a node that is itself silent: the host it reaches after
            // the heal will have restarted.
            Lost::Query if node.faults.answer() == Answer::Silent => Lost::QueryToSilentNode,
            _ => what,
        };
        if what != Lost::Reply {
            // A reply's `st_epoch` is already that of the node which ran the query.
            r.st_epoch = node.station.epoch();
        }
        let query = r.query;
        cal.schedule_at(self.db_rto.gives_up(now), Ev::DbRto(id, query));
    }

    /// The request's lost segment is retransmitted at its first RTO expiry from now on (the
    /// path may answer again: a heal, a node's return).
    fn schedule_rto(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &self.reqs[id];
        // At the sender's last expiry the event is already there (`lose`).
        if let Expiry::Resend(t) = self.db_rto.expiry_from(r.since, cal.now()) {
            cal.schedule_at(t, Ev::DbRto(id, r.query));
        }
    }

    /// An RTO expiry of `query`'s lost segment, if it is still lost and this is one of its
    /// expiries (a heal and a node's return may both have scheduled the same one): the
    /// retransmission leaves and meets what is there now, or the sender gives up.
    pub(super) fn on_db_rto(&mut self, cal: &mut Calendar<Ev>, id: ReqId, query: u32) {
        let now = cal.now();
        let r = self.reqs[id];
        if !r.live
            || r.zombie
            || r.query != query
            || !r.in_query
            || r.stage != Stage::Hung
            || r.lost == Lost::No
        {
            return;
        }
        let node = r.db_node as usize;
        match self.db_rto.expiry_from(r.since, now) {
            Expiry::Resend(t) if t == now => {}
            Expiry::GivesUp(t) if t == now => {
                self.reqs[id].lost = Lost::No;
                let reads = r.has(holds::APP) && !self.servers[r.server as usize].app_frozen();
                if r.lost != Lost::Reply && reads {
                    // ETIMEDOUT on the application's socket: MySQL's "Lost connection".
                    self.end(cal, id, Cause::DbTimeout);
                }
                // The node's kernel gave up on the reply; the client, with nothing of its own
                // to resend, waits on for a timeout. A hung application reads no error
                // either: its restart or a timeout ends the request.
                return;
            }
            _ => return,
        }
        if !r.has(holds::APP) || self.servers[r.server as usize].app_frozen() {
            // A hung application reads nothing: its restart or a timeout ends the request.
            return;
        }
        match self.dbs.link.answer() {
            // Dropped again: the next heal schedules the next expiry.
            Answer::Silent => return,
            Answer::Refuses => {
                self.reqs[id].lost = Lost::No;
                self.end(cal, id, Cause::DbUnreachable);
                return;
            }
            Answer::Up => {}
        }
        let same_node =
            self.db[node].station.epoch() == r.st_epoch && r.lost != Lost::QueryToSilentNode;
        match (self.db[node].faults.answer(), same_node) {
            // Still silent: its return schedules the next expiry.
            (Answer::Silent, _) => {}
            // The retransmission reaches the same mysqld's connection: it gets through.
            (Answer::Up, true) => {
                self.reqs[id].lost = Lost::No;
                if r.lost == Lost::Reply {
                    self.db_reply(cal, id);
                } else {
                    self.send_query(cal, id);
                }
            }
            // The node's kernel has no such connection (mysqld died, or the host restarted
            // since): it answers with a reset.
            (Answer::Up | Answer::Refuses, _) => {
                self.reqs[id].lost = Lost::No;
                self.end(cal, id, Cause::DbNodeDown);
            }
        }
    }

    pub(super) fn on_db_arrive(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        r.stage = Stage::Active;
        if self.query_lost(cal, id) {
            return;
        }
        self.db_arrive(cal, id);
    }

    #[inline(always)]
    fn db_arrive(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let node = self.reqs[id].db_node as usize;
        match self.db[node].faults.answer() {
            Answer::Refuses => {
                self.end(cal, id, Cause::DbNodeDown);
                return;
            }
            Answer::Silent => {
                // Sent to a host that does not answer: retransmitted until it returns (and
                // resets the connection it no longer knows) or a timeout.
                self.lose(cal, id, Lost::QueryToSilentNode);
                return;
            }
            Answer::Up => {}
        }
        match self.db[node].station.arrive(now, id) {
            Admit::Start => self.db_start(cal, id, node),
            _ => {
                let r = &mut self.reqs[id];
                r.stage = Stage::DbWait;
                r.since = now;
                if r.measured {
                    self.waits.db.queued();
                }
            }
        }
    }

    #[inline]
    fn db_start(&mut self, cal: &mut Calendar<Ev>, id: ReqId, node: usize) {
        let r = &mut self.reqs[id];
        let n = &mut self.db[node];
        let dist = if r.in_write {
            &self.cfg.database.write_time
        } else {
            &self.cfg.database.read_time
        };
        let raw = dist.sample(&mut n.rng);
        if r.measured {
            let now = cal.now();
            (self.waits.db).took_worker(r.stage == Stage::DbWait, now, r.since);
        }
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
        let r = self.reqs[id];
        let node = r.db_node as usize;
        if self.db[node].station.epoch() != r.st_epoch {
            // The node died during the query: a crash already failed the request; silence
            // leaves it waiting for a timeout.
            if r.zombie {
                self.reqs.release(id);
            } else {
                self.reqs[id].stage = Stage::Hung;
            }
            return;
        }
        self.db_next(cal, node);
        let measured = now >= self.cfg.warmup;
        let client = r.work.client_ip.wrapping_sub(FIRST_CLIENT_IP) as usize;
        let mut waits = false;
        if r.in_write {
            if measured {
                self.db[node].writes += 1;
            }
            waits = self.commit(cal, id, r.db_raw, client);
        } else {
            // Counted in the measurement window, as the node's reads are.
            if measured {
                self.db[node].reads += 1;
                self.check_stale_read(node, client);
            }
        }
        if r.zombie {
            // The client is gone (its server or the DB link failed), the query ran anyway.
            self.reqs.release(id);
            return;
        }
        self.reqs[id].stage = Stage::Active;
        if self.server_lost(now, id) {
            return;
        }
        if waits {
            // The OK leaves after the acknowledgement (`send_ok`), not now.
            self.reqs[id].stage = Stage::Ack;
        } else if !self.reply_lost(cal, id) {
            self.db_reply(cal, id);
        }
    }

    /// A commit's semi-sync wait is over: its OK leaves now, and may be dropped on the way.
    #[cold]
    fn send_ok(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if !self.reply_lost(cal, id) {
            self.db_reply(cal, id);
        }
    }

    /// A read that misses the same client's earlier write (read-your-writes): on a replica
    /// that has not applied it yet, or on a primary promoted before applying its relay log.
    #[inline]
    fn check_stale_read(&mut self, node: usize, client: usize) {
        let seen = self.dbs.last_write.get(client).copied().unwrap_or(0);
        let applied = self.links[node].applied_gtid;
        if node != self.dbs.primary {
            self.dbs.replica_reads += 1;
            self.dbs.reads_checked += 1;
            if applied < seen {
                self.dbs.stale_reads += 1;
            }
        } else if seen <= self.dbs.promoted_after && self.links[node].backlog() > 0 {
            self.dbs.reads_checked += 1;
            if applied < seen {
                self.dbs.stale_reads += 1;
            }
        }
    }

    /// The result travels back to the application.
    #[inline(always)]
    fn db_reply(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.cfg.database.network.is_zero() {
            self.reqs[id].stage = Stage::Active;
            self.query_answered(cal, id);
        } else {
            self.reqs[id].stage = Stage::FromDb;
            let d = self.cfg.database.network.sample_time(&mut self.net_rng);
            cal.schedule_in(d, Ev::DbReply(id));
        }
    }

    pub(super) fn on_db_reply(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs[id];
        if r.zombie {
            self.reqs.release(id);
            return;
        }
        r.stage = Stage::Active;
        if self.server_lost(cal.now(), id) || self.reply_lost(cal, id) {
            return;
        }
        self.query_answered(cal, id);
    }

    #[inline(always)]
    fn query_answered(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.dbs.link.answer() == Answer::Refuses {
            self.end(cal, id, Cause::DbUnreachable);
            return;
        }
        if self.app_stuck(id) {
            return;
        }
        self.next_query(cal, id);
    }

    /// The MySQL client's read timeout expired: the application answers 500.
    pub(super) fn db_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        self.drop_db_wait(cal.now(), id);
        self.reqs[id].in_query = false;
        self.end(cal, id, Cause::DbTimeout);
    }

    // ---- commits, replication, semi-sync ---------------------------------------------------

    /// A write committed on the primary: ship it to every replica. With semi-sync
    /// (AFTER_SYNC, on) the client's commit waits for `semi_sync_replicas` acknowledgements:
    /// returns true, and the request waits in `semi_waiters` (domain.md §4.3).
    #[inline(never)]
    fn commit(&mut self, cal: &mut Calendar<Ev>, id: ReqId, raw: SimTime, client: usize) -> bool {
        self.gtid += 1;
        let now = cal.now();
        if let Some(w) = self.dbs.last_write.get_mut(client) {
            *w = self.gtid;
        }
        let repl = &self.cfg.database.replication;
        let fo = &self.cfg.failures.db_failover;
        let primary = self.dbs.primary;
        let semi = fo.semi_sync && !self.dbs.semi_fallback;
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
        for &(n, delay, _) in &arrivals {
            let speed = self.db[n].speed;
            let txn = Txn {
                gtid: self.gtid,
                commit: now,
                apply: SimTime::from_secs_f64(raw.as_secs_f64() * repl.apply_factor / speed),
                acked_alone: !semi,
            };
            let at = self.links[n].ship(txn, delay);
            let epoch = self.links[n].epoch();
            cal.schedule_at(at, Ev::ReplArrive(n as u16, epoch));
        }
        self.ship_buf = arrivals;
        if semi {
            let token = self.reqs[id].query;
            self.dbs.semi_waiters.push_back((id, token, self.gtid));
            cal.schedule_in(fo.semi_sync_timeout, Ev::SemiTimeout(self.gtid));
        }
        semi
    }

    pub(super) fn on_repl_arrive(&mut self, cal: &mut Calendar<Ev>, n: usize, epoch: u32) {
        if self.links[n].epoch() != epoch {
            return; // shipped by a primary that died before it arrived
        }
        let start = self.links[n].arrive();
        self.submit_apply(cal, n, start);
        // A semi-sync replica acknowledges once the events are in its relay log; only a live
        // replica can (a crashed one still "receives" here: its relay log is assumed refilled
        // on restart).
        if self.cfg.failures.db_failover.semi_sync && self.db[n].up() && n != self.dbs.primary {
            self.send_semi_ack(cal, n);
        }
    }

    /// Replica `n` acknowledges everything in its relay log; the acknowledgement travels back
    /// with the replication delay.
    fn send_semi_ack(&mut self, cal: &mut Calendar<Ev>, n: usize) {
        let gtid = self.links[n].received_gtid;
        let d = self
            .cfg
            .database
            .replication
            .delay
            .sample_time(&mut self.repl_rng);
        cal.schedule_in(d, Ev::SemiAck(n as u16, gtid));
    }

    /// A replica's acknowledgement reaches the primary. Acknowledgements are cumulative: the
    /// commits up to the position that `semi_sync_replicas` replicas have reached return.
    /// When semi-sync was switched off, it comes back on once a replica has caught up with
    /// the primary (MySQL `try_switch_on`).
    pub(super) fn on_semi_ack(&mut self, cal: &mut Calendar<Ev>, n: usize, gtid: u64) {
        let primary = self.dbs.primary;
        if !self.db[primary].up() || n == primary {
            return;
        }
        self.db[n].acked = self.db[n].acked.max(gtid);
        let need = self.cfg.failures.db_failover.semi_sync_replicas.max(1) as usize;
        let mut acked: Vec<u64> = (0..self.db.len())
            .filter(|&m| m != primary && self.db[m].was_replica)
            .map(|m| self.db[m].acked)
            .collect();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&position) = acked.get(need - 1) else {
            return;
        };
        self.dbs.semi_position = self.dbs.semi_position.max(position);
        while let Some(&(id, token, g)) = self.dbs.semi_waiters.front() {
            if g > position {
                break;
            }
            self.dbs.semi_waiters.pop_front();
            if self.semi_waiting(id, token) {
                self.send_ok(cal, id);
            }
        }
        if self.dbs.semi_fallback && position >= self.gtid {
            self.dbs.semi_fallback = false;
            let name = self.db[primary].name.clone();
            self.obs.log(
                cal.now(),
                &name,
                "semi-sync resumed",
                &format!("{} caught up", self.db[n].name),
            );
        }
    }

    /// Semi-sync is on and fewer live replicas than it waits for remain: every commit stalls.
    fn semi_sync_waits_for_missing_replicas(&self) -> bool {
        let fo = &self.cfg.failures.db_failover;
        if !fo.semi_sync || self.dbs.semi_fallback {
            return false;
        }
        let primary = self.dbs.primary;
        let live = (0..self.db.len())
            .filter(|&m| m != primary && self.db[m].was_replica && self.db[m].up())
            .count();
        live < fo.semi_sync_replicas.max(1) as usize
    }

    fn semi_waiting(&self, id: ReqId, token: u32) -> bool {
        let r = &self.reqs[id];
        r.live && !r.zombie && r.query == token && r.stage == Stage::Ack
    }

    /// A commit's semi-sync wait expired. If it is still waiting, the primary switches to
    /// asynchronous replication and wakes every waiting commit at once (MySQL
    /// `semisync_source.cc`: the first wait to time out calls `switch_off`, which signals all
    /// waiters): each session committing while no replica answers waits up to its own
    /// timeout, so losing the last replica stalls every commit for up to
    /// `rpl_semi_sync_source_timeout`.
    pub(super) fn on_semi_timeout(&mut self, cal: &mut Calendar<Ev>, gtid: u64) {
        // Whether or not its client still waits (it may have timed out), the session on the
        // primary waits for this commit's acknowledgement.
        if self.dbs.semi_fallback
            || !self.db[self.dbs.primary].up()
            || self.dbs.semi_position >= gtid
        {
            return;
        }
        let now = cal.now();
        self.dbs.semi_fallback = true;
        if now >= self.cfg.warmup && now <= self.cfg.duration {
            self.dbs.semi_fallbacks += 1;
        }
        let primary = self.dbs.primary;
        let name = self.db[primary].name.clone();
        self.obs.log(
            now,
            &name,
            "semi-sync timeout",
            "no replica acknowledged in time: falling back to asynchronous replication",
        );
        // Commits flow again: a dead replica's fault stops hurting once it is also out of the
        // read pool.
        let out: Vec<usize> = (0..self.db.len())
            .filter(|&m| m != primary && !self.db[m].up() && !self.db[m].read_ok)
            .collect();
        self.mark_mitigated(now, |t| matches!(t, Target::DbNode(m) if out.contains(&m)));
        let waiters: Vec<(ReqId, u32, u64)> = self.dbs.semi_waiters.drain(..).collect();
        if let Some(&(_, _, first)) = waiters.first() {
            // These commits are now acknowledged without a replica: lost if the primary dies
            // before a replica receives them.
            for link in &mut self.links {
                link.acknowledge_from(first);
            }
        }
        for (id, token, _) in waiters {
            if self.semi_waiting(id, token) {
                if self.reqs[id].measured {
                    self.dbs.semi_stalled_commits += 1;
                }
                self.send_ok(cal, id);
            }
        }
    }

    /// The link handed out a transaction to replay: it needs one of the replica's executors,
    /// where it queues with the reads (FIFO), so replication and reads compete for the
    /// replica's CPU and a `slow` fault slows both.
    pub(super) fn submit_apply(&mut self, cal: &mut Calendar<Ev>, n: usize, start: ApplyStart) {
        let ApplyStart::Start { gtid, after } = start else {
            return;
        };
        self.db[n].pending_applies.push_back((gtid, after));
        if self.db[n].up() && self.db[n].station.arrive(cal.now(), APPLY) == Admit::Start {
            self.begin_apply(cal, n);
        }
    }

    /// An executor of node `n` starts the oldest waiting replay.
    fn begin_apply(&mut self, cal: &mut Calendar<Ev>, n: usize) {
        let node = &mut self.db[n];
        let Some((gtid, after)) = node.pending_applies.pop_front() else {
            return;
        };
        node.applying.push((gtid, node.station.epoch()));
        let d = SimTime::from_secs_f64(after.as_secs_f64() * node.slow);
        cal.schedule_in(d, Ev::ApplyDone(n as u16, gtid));
    }

    /// An executor of node `n` is free: the next waiting query or replay takes it.
    #[inline(always)]
    fn db_next(&mut self, cal: &mut Calendar<Ev>, n: usize) {
        match self.db[n].station.finish(cal.now()) {
            Some(APPLY) => self.begin_apply(cal, n),
            Some(next) => self.db_start(cal, next, n),
            None => {}
        }
    }

    pub(super) fn on_apply_done(&mut self, cal: &mut Calendar<Ev>, n: usize, gtid: u64) {
        let node = &mut self.db[n];
        if let Some(k) = node.applying.iter().position(|&(g, _)| g == gtid) {
            let (_, epoch) = node.applying.swap_remove(k);
            // A crash since then wiped the executors: nothing to free.
            if epoch == node.station.epoch() {
                self.db_next(cal, n);
            }
        }
        let start = self.links[n].applied(cal.now(), gtid);
        self.submit_apply(cal, n, start);
        if self.dbs.promoting == Some(n) && self.links[n].backlog() == 0 {
            self.finish_promotion(cal.now(), n);
        }
    }

    // ---- node faults --------------------------------------------------------------------------

    /// DB node `n`: a `crash` kills mysqld (its host resets connections: queries fail at once,
    /// the replicas see their connection to a dead primary drop); `down` silences the host
    /// (queries wait for the client's timeouts, and the replicas notice a dead primary only
    /// after `replica_net_timeout`).
    pub(super) fn db_fault(&mut self, cal: &mut Calendar<Ev>, n: usize, silent: bool, delta: i32) {
        let before = self.db[n].faults.answer();
        self.db[n].faults.add(silent, delta);
        let after = self.db[n].faults.answer();
        if before == Answer::Up && after != Answer::Up {
            self.db_dies(cal, n, after == Answer::Refuses);
        } else if before != Answer::Up && after == Answer::Up {
            self.db_repair(cal, n);
        }
        if before != Answer::Silent && after == Answer::Silent {
            self.forget_replies(n);
        }
    }

    /// Node `n`'s host stops (`down`): the replies its kernel was retransmitting across a
    /// blackholed link go with it, and the host that comes back knows nothing of them. Their
    /// clients, which have nothing unacknowledged to resend, are told nothing: they wait for a
    /// timeout. (A `crash` kills mysqld only: its kernel keeps the connection, which the
    /// retransmission after the heal finds gone, `on_db_rto`.)
    fn forget_replies(&mut self, n: usize) {
        let lost = self.requests_where(|r| {
            r.in_query && r.db_node as usize == n && r.stage == Stage::Hung && r.lost == Lost::Reply
        });
        for id in lost {
            self.reqs[id].lost = Lost::No;
        }
    }

    fn db_dies(&mut self, cal: &mut Calendar<Ev>, n: usize, resets: bool) {
        let now = cal.now();
        let primary = n == self.dbs.primary;
        // Queries waiting for or in service on the node, and commits on it still waiting for
        // their semi-sync acknowledgement.
        let victims = self.requests_where(|r| {
            r.in_query
                && r.db_node as usize == n
                && matches!(r.stage, Stage::DbWait | Stage::Db | Stage::Ack)
        });
        self.db[n].station.drain_queue(now);
        self.db[n].station.clear_busy(now);
        if primary {
            self.dbs.semi_waiters.clear();
        }
        for id in victims {
            let r = &mut self.reqs[id];
            if matches!(r.stage, Stage::DbWait | Stage::Ack) {
                r.stage = Stage::Active;
            }
            if resets {
                // The client's connection is reset: it never hears "committed".
                self.end(cal, id, Cause::DbNodeDown);
            } else if !r.stage.has_event() {
                r.stage = Stage::Hung;
            }
        }
        if primary {
            if resets {
                self.close_writes(now);
            } else if self.dbs.writes_open && self.dbs.write_outage_start.is_none() {
                // Silence: the application does not know; it keeps sending writes, which
                // hang. Writes are impossible from now on all the same.
                self.dbs.write_outage_start = Some(now);
            }
            let fo = &self.cfg.failures.db_failover;
            self.dbs.replicas_agree_at = if resets {
                now
            } else {
                now + fo.replica_net_timeout
            };
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
    }

    fn db_repair(&mut self, cal: &mut Calendar<Ev>, n: usize) {
        let now = cal.now();
        let name = self.db[n].name.clone();
        // Queries sent to the silent node meet a restarted host at their next retransmission,
        // which it answers with a reset. One it had received before it went silent waits on:
        // its client has nothing to retransmit, so nothing tells it (until a timeout).
        let lost = self.requests_where(|r| {
            r.in_query
                && r.db_node as usize == n
                && r.stage == Stage::Hung
                && matches!(r.lost, Lost::Query | Lost::QueryToSilentNode)
        });
        for id in lost {
            self.schedule_rto(cal, id);
        }
        if n != self.dbs.primary && self.cfg.failures.db_failover.semi_sync {
            // A semi-sync replica reconnects and acknowledges what it holds.
            self.send_semi_ack(cal, n);
        }
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
            // Replays that were waiting for an executor when it died queue again.
            let waiting = self.db[n].pending_applies.len();
            for _ in 0..waiting {
                if self.db[n].station.arrive(now, APPLY) == Admit::Start {
                    self.begin_apply(cal, n);
                }
            }
            for s in self.links[n].set_paused(false) {
                self.submit_apply(cal, n, s);
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
        self.db[n].acked = self.gtid;
        let name = self.db[n].name.clone();
        self.obs.log(
            now,
            &name,
            "rejoins as a replica",
            "rebuilt from the new primary",
        );
    }

    /// The network between the application tier and the database: a `crash` is a partition
    /// that resets connections (`REJECT --reject-with tcp-reset`: queries fail at once; an ICMP
    /// unreachable would not do it to the pooled, established connections, which Linux keeps
    /// retransmitting on, `tcp_v4_err`: "If we've already connected we will keep trying until
    /// we time out", a soft error; that is the `blackhole` case), `down`/`blackhole` one that
    /// drops packets (queries and replies vanish, their clients wait for a timeout, and
    /// application workers stay busy meanwhile: requests that never touch the database queue
    /// behind them).
    pub(super) fn link_fault(&mut self, cal: &mut Calendar<Ev>, silent: bool, delta: i32) {
        let before = self.dbs.link.answer();
        self.dbs.link.add(silent, delta);
        let after = self.dbs.link.answer();
        if (before == Answer::Silent && after != Answer::Silent)
            || (before == Answer::Up && after == Answer::Refuses)
        {
            // A heal, or a REJECT that answers the next retransmission of a query lost to a
            // silent node with a reset.
            self.link_heals(cal);
        }
        if before == after || after != Answer::Refuses {
            return;
        }
        let now = cal.now();
        let victims = self.requests_where(|r| r.in_query && r.stage.at_db());
        for id in victims {
            self.drop_db_wait(now, id);
            let r = &mut self.reqs[id];
            if matches!(r.stage, Stage::DbWait | Stage::Ack) {
                r.stage = Stage::Active;
            }
            self.end(cal, id, Cause::DbUnreachable);
        }
    }

    /// A blackholed link forwards packets again, but what it dropped is not resent at once:
    /// each lost query or reply gets through at its sender's next retransmission
    /// ([`crate::model::tcp`]: up to about as long after the heal as it had been lost), and
    /// its worker stays busy until then. Also called when a link starts rejecting: the next
    /// retransmission of a query lost to a silent node meets its reset.
    fn link_heals(&mut self, cal: &mut Calendar<Ev>) {
        let lost =
            self.requests_where(|r| r.in_query && r.stage == Stage::Hung && r.lost != Lost::No);
        for id in lost {
            self.schedule_rto(cal, id);
        }
    }

    // ---- monitor and failover ---------------------------------------------------------------

    /// One monitoring round (orchestrator-style): the primary is declared dead after
    /// `poll_count` consecutive failed polls and once its replicas agree they lost it
    /// (orchestrator's DeadMaster); replicas leave and rejoin the read pool by polls alone.
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
            self.db[n].failed_polls = self.db[n].failed_polls.saturating_add(1);
            if self.db[n].failed_polls < fo.poll_count {
                continue;
            }
            let name = self.db[n].name.clone();
            if self.db[n].read_ok && n != self.dbs.primary {
                self.db[n].read_ok = false;
                self.obs.log(
                    now,
                    &name,
                    "replica failure detected",
                    "removed from the read pool",
                );
                self.mark_detected(now, |t| t == Target::DbNode(n));
                // Reads are rerouted; commits still stall if semi-sync waits for this replica's
                // acknowledgement, until the fallback to asynchronous replication.
                if !self.semi_sync_waits_for_missing_replicas() {
                    self.mark_mitigated(now, |t| t == Target::DbNode(n));
                }
            }
            if n == self.dbs.primary
                && !self.dbs.primary_detected
                && now >= self.dbs.replicas_agree_at
            {
                self.db[n].read_ok = false;
                self.dbs.primary_detected = true;
                self.obs.log(
                    now,
                    &name,
                    "primary failure detected",
                    &format!(
                        "{} failed polls every {}, replicas agree",
                        fo.poll_count, fo.poll_interval
                    ),
                );
                self.mark_detected(now, |t| t == Target::DbNode(n));
                if fo.automatic {
                    let d = fo.promotion.sample_time(&mut self.promote_rng);
                    cal.schedule_in(d, Ev::Promote);
                }
            }
        }
    }

    /// Promotion: the live replica with the most received transactions takes over.
    /// Acknowledged transactions it never received are lost (RPO). orchestrator does not wait
    /// for its relay log to be applied unless `DelayMasterPromotionIfSQLThreadNotUpToDate`
    /// (`wait_for_apply`): meanwhile it applies the backlog while taking new writes.
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
        // A failover in the warm-up is not measured (its lost commits are the warm-up's).
        if now >= self.cfg.warmup {
            self.dbs.lost += lost;
        }
        let backlog = self.links[c].backlog();
        let wait = self.cfg.failures.db_failover.wait_for_apply && backlog > 0;
        let name = self.db[c].name.clone();
        self.obs.log(now, &name, "promotion started", &format!(
            "most up-to-date replica; {lost} acknowledged transactions never reached it; {backlog} \
             received but not applied{}",
            if wait { ", applied first" } else { "" }
        ));
        if wait {
            // It keeps serving reads while it drains its relay log (still a read-only
            // replica); it leaves the read pool when it becomes the primary.
            self.dbs.promoting = Some(c);
        } else {
            self.finish_promotion(now, c);
        }
    }

    fn finish_promotion(&mut self, now: SimTime, c: usize) {
        let old = self.dbs.primary;
        self.dbs.promoting = None;
        self.dbs.primary = c;
        self.dbs.primary_detected = false;
        self.dbs.promoted_after = self.gtid;
        // Semi-sync starts afresh on the new primary: nothing before it is waited for.
        self.dbs.semi_position = self.gtid;
        self.db[old].replaced = true;
        self.dbs.promotions += u32::from(now >= self.cfg.warmup);
        self.dbs.semi_fallback = false;
        // Commits still waiting on the old primary wait for a host that does not answer.
        for (id, token, _) in std::mem::take(&mut self.dbs.semi_waiters) {
            if self.semi_waiting(id, token) {
                self.reqs[id].stage = Stage::Hung;
            }
        }
        for n in 0..self.db.len() {
            self.db[n].acked = self.links[n].received_gtid;
        }
        self.db[c].read_ok = false;
        self.open_writes(now);
        let name = self.db[c].name.clone();
        self.obs
            .log(now, &name, "promoted to primary", "writes resume");
        if self.db[old].up() {
            // Repaired while the replica drained its relay log: rebuilt now, like a repair
            // after the promotion (else it would rejoin the read pool without replicating).
            self.rejoin_as_replica(now, old);
        }
        // Semi-sync is on afresh on the new primary. With fewer live replicas than it waits
        // for (the usual pair: its only replica was the one promoted), every commit on it
        // waits `rpl_semi_sync_source_timeout` before the switch to asynchronous: with
        // `rpl_semi_sync_source_wait_no_replica` ON (the default) the source waits out the
        // timeout even with no semi-sync replica connected (MySQL manual, "Replication Source
        // Options and Variables"; MariaDB's `rpl_semi_sync_master_wait_no_slave`: wait until
        // timeout when no semi-synchronous replica is available, enabled by default). The
        // application's workers are held meanwhile: users feel the failure until then, and
        // `on_semi_timeout` marks it recovered (the old primary is down and out of the read
        // pool). Without writes nothing stalls.
        let writes = self.cfg.workload.mix.iter().any(|c| c.writes > 0);
        if !(writes && self.semi_sync_waits_for_missing_replicas()) {
            self.mark_mitigated(now, |t| t == Target::DbNode(old));
        }
    }

    pub(super) fn open_writes(&mut self, now: SimTime) {
        self.dbs.writes_open = true;
        if let Some(s) = self.dbs.write_outage_start.take() {
            // Only the part in the measurement window.
            self.dbs.write_outage += now.saturating_sub(s.max(self.cfg.warmup));
        }
    }

    pub(super) fn close_writes(&mut self, now: SimTime) {
        if self.dbs.writes_open {
            self.dbs.writes_open = false;
            self.dbs.write_outage_start = Some(now);
        }
    }
}
