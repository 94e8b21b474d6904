//! Waiting time before a worker at each stage a request can queue at, measured from the
//! simulation's own moments: the request's arrival at the queue (`Request::since`, set when
//! it queues) and the moment it takes the worker or slot.
//!
//! The stages, in the order a request meets them:
//! - `lb_threads`: HAProxy's own threads, when it spends time per request (`lb.processing`,
//!   `[lb.tls]`); reported only then.
//! - `lb_queue`: HAProxy's backend and server queues, waiting for a server slot (a server at
//!   its `maxconn`, configuration manual §5.2 "maxconn": "excess connections will be queued";
//!   src/queue.c `pendconn_add`); the wait ends when the request is assigned a server
//!   (`pendconn_process_next_strm`). A request selected again (a redispatch) passes again.
//! - `nginx`: Nginx workers, when some request class gives Nginx work; reported only then.
//! - `app`: the application's workers (the backlog of its socket).
//! - `db`: a MySQL node's executors, once per query (replays of the replication stream queue
//!   there too but are not requests, and are not counted).
//!
//! Only measured requests (arrived after the warm-up) count. A request that leaves a queue
//! without a worker (`timeout queue`, a client that gives up with `abortonclose`, Nginx's or
//! the MySQL client's timeouts, a crash that empties the queue, a redispatch to another queue)
//! is not in the wait figures, which describe the requests that passed the stage: it is
//! counted in `left_queue` (and one still queued at the end in `waiting_end`).
//!
//! Cost: one increment per stage passed without waiting (the `lb_queue` one is the servers'
//! `dispatched` count, already kept), a histogram record per wait.

use super::*;
use crate::stats::{WaitSummary, WaitTime};

#[derive(Default)]
pub(super) struct Waits {
    pub(super) lb_threads: WaitTime,
    /// Only the waits: the requests assigned at once are the servers' `dispatched` minus these.
    pub(super) lb_queue: WaitTime,
    pub(super) nginx: WaitTime,
    pub(super) app: WaitTime,
    pub(super) db: WaitTime,
}

impl Stack {
    /// Each stage's waiting time at the end of the run, in the order a request meets them.
    pub(super) fn wait_report(&self) -> Vec<WaitSummary> {
        let w = &self.waits;
        // Measured requests still queued at the end, per stage.
        let mut waiting = [0u64; 5];
        for r in self
            .reqs
            .items
            .iter()
            .filter(|r| r.live && !r.zombie && r.measured)
        {
            let stage = match r.stage {
                Stage::LbWait => 0,
                Stage::Queued => 1,
                Stage::NginxWait => 2,
                Stage::AppWait => 3,
                Stage::DbWait => 4,
                _ => continue,
            };
            waiting[stage] += 1;
        }
        let mut lb_queue = w.lb_queue.clone();
        let dispatched: u64 = self.servers.iter().map(|s| s.dispatched).sum();
        lb_queue.add_immediate(dispatched.saturating_sub(lb_queue.waited_count()));
        let mut out = Vec::with_capacity(5);
        if self.lbs[0].station.is_some() {
            out.push(w.lb_threads.summary("lb_threads", waiting[0]));
        }
        out.push(lb_queue.summary("lb_queue", waiting[1]));
        if self.nginx_can_wait() {
            out.push(w.nginx.summary("nginx", waiting[2]));
        }
        out.push(w.app.summary("app", waiting[3]));
        out.push(w.db.summary("db", waiting[4]));
        out
    }

    /// Some request gives Nginx work (otherwise Nginx's workers are never queued for).
    fn nginx_can_wait(&self) -> bool {
        self.cfg.workload.mix.iter().any(|c| !c.nginx.is_zero())
    }
}
