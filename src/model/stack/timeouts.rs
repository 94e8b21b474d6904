//! Timeouts that run alongside every request, at the cost of a queue push rather than an
//! event, and TCP's SYN retransmission schedule.
//!
//! A request that reaches a server arms HAProxy's `timeout server`; Nginx arms its
//! `proxy_read_timeout` when it passes the request to the application; an application worker
//! is watched by its app server's worker timeout; a query by the MySQL client's read timeout.
//! Almost every request ends long before any of these fire, so scheduling an event for each
//! would double the calendar's work for nothing. Each timeout is constant, so deadlines
//! (start + timeout) arrive in the order they were registered: a FIFO per timeout holds them,
//! with one timer armed for its head. When the timer fires, entries whose request has moved on
//! (its token changed, or it no longer holds what the timeout guards) are dropped without work,
//! expired ones fire, and the timer is re-armed for the oldest live one. In a healthy run the
//! timer fires about once per timeout length. Between firings, stale entries at the front are
//! dropped whenever the FIFO has doubled since it was last trimmed (amortised O(1) per
//! registration, no check at all on most), so a FIFO holds at most about twice what is in
//! flight, plus a small floor.

use super::*;

/// Which timeout a FIFO holds (the `kind` of [`Ev::Deadline`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    /// HAProxy `timeout server` (one FIFO).
    Server = 0,
    /// Nginx `proxy_read_timeout` (one FIFO per server).
    NginxRead = 1,
    /// The app server's worker timeout (one FIFO per server).
    AppWorker = 2,
    /// The MySQL client's read timeout (one FIFO).
    DbRead = 3,
    /// The client's own timeout, `workload.client_timeout` (one FIFO).
    Client = 4,
}

impl Kind {
    fn from_u8(k: u8) -> Kind {
        match k {
            0 => Kind::Server,
            1 => Kind::NginxRead,
            2 => Kind::AppWorker,
            3 => Kind::DbRead,
            _ => Kind::Client,
        }
    }
}

/// Length below which a FIFO is never trimmed between timer firings.
const TRIM_FLOOR: usize = 256;

/// Deadlines of one constant timeout, oldest first.
pub(super) struct Deadlines {
    after: Option<SimTime>,
    /// (request, its token when registered, deadline).
    fifo: VecDeque<(ReqId, u32, SimTime)>,
    armed: bool,
    /// Trim the front when the FIFO reaches this length.
    trim_at: usize,
}

impl Deadlines {
    /// `after` = None: the timeout is infinite and nothing is ever registered.
    pub(super) fn new(after: Option<SimTime>) -> Self {
        Deadlines {
            after,
            fifo: VecDeque::new(),
            armed: false,
            trim_at: TRIM_FLOOR,
        }
    }

    /// Registers a deadline for (`id`, `token`) one timeout from `now`. Returns the time at
    /// which to arm the timer when none is armed.
    #[inline]
    fn push(&mut self, now: SimTime, id: ReqId, token: u32) -> Option<SimTime> {
        let at = now + self.after?;
        self.fifo.push_back((id, token, at));
        if self.armed {
            None
        } else {
            self.armed = true;
            Some(at)
        }
    }
}

/// Linux's SYN retransmission schedule: the first retransmission 1 s after the SYN
/// (`TCP_TIMEOUT_INIT`), each later one after twice the previous wait, so the n-th leaves
/// 2^n - 1 s after the first SYN (1, 3, 7, 15, 31, 63 s; with `tcp_syn_retries` = 6 the
/// connect fails at 127 s). Returns when the next thing happens to a connect started at
/// `started` that has sent `sent` SYNs and gives up at `started + timeout`: the next
/// retransmission, or the timeout.
pub(super) fn next_syn(started: SimTime, sent: u8, timeout: SimTime) -> SimTime {
    let shift = u32::from(sent).min(40);
    let retransmit = started + SimTime::from_secs((1u64 << shift) - 1);
    retransmit.min(started + timeout)
}

/// The last SYN a connect that gives up at `timeout` sends, counted from its first: the latest
/// of 0, 1, 3, 7, ... s ([`next_syn`]'s schedule) that comes before the timeout (at the timeout
/// itself no SYN leaves: the connect fails). A peer still silent when it leaves is never heard
/// from: with Linux's 127 s (`tcp_syn_retries` = 6) the last SYN leaves at 63 s, so a peer that
/// answers again 63-127 s after the first SYN comes too late, and the connect fails at 127 s.
pub fn last_syn(timeout: SimTime) -> SimTime {
    (1..=40u32)
        .map(|n| SimTime::from_secs((1u64 << n) - 1))
        .take_while(|&t| t < timeout)
        .last()
        .unwrap_or(SimTime::ZERO)
}

/// A request's identity for its client's deadline: its arrival instant (the low 32 bits of
/// its nanoseconds). A slot reused by a request arriving at another instant does not match;
/// one arriving at the same instant has the same deadline anyway.
#[inline(always)]
fn client_token(arrived: SimTime) -> u32 {
    arrived.as_nanos() as u32
}

impl Stack {
    /// Arms the client's own timeout for a request that just left its client.
    #[inline(always)]
    pub(super) fn arm_client_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.client_deadlines.after.is_none() {
            return;
        }
        let now = cal.now();
        if self.client_deadlines.fifo.len() >= self.client_deadlines.trim_at {
            self.trim(Kind::Client, 0);
        }
        if let Some(at) = self.client_deadlines.push(now, id, client_token(now)) {
            cal.schedule_at(at, Ev::Deadline(Kind::Client as u8, 0));
        }
    }

    /// The client gave up on request `id`: it closes its connection and sees an error now (and
    /// may retry it, `[workload.retry]`). HAProxy notices the close only where it watches the
    /// client while the request waits: with `option abortonclose` a request still pending in
    /// the queue for a server slot, or whose connection to the server is not yet established,
    /// is aborted ("option abortonclose", configuration manual §4.2); otherwise, and anywhere
    /// later, it is served all the same and the answer is thrown away ("aborted requests will
    /// be served"). A client still sending SYNs to an LB address just stops; one held in a
    /// tarpit is let go.
    #[cold]
    pub(super) fn client_gave_up(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        match self.reqs[id].stage {
            Stage::ClientSyn => self.fail(now, id, Cause::ClientTimeout),
            Stage::Queued if self.cfg.lb.abortonclose => {
                self.unqueue(now, id);
                self.end(cal, id, Cause::ClientTimeout);
            }
            Stage::LbSyn if self.cfg.lb.abortonclose => self.end(cal, id, Cause::ClientTimeout),
            // A tarpit watches its client whatever `abortonclose` says: `http_process_tarpit()`
            // (HAP-SRC src/http_ana.c) waits only while "the client is still there and the
            // timeout has not expired" (no `CF_SHUTR`), so a client that closes ends the tarpit
            // at once and gives back its frontend connection (and `conn_cur`). The pending
            // `TarpitDone` then only frees the slot.
            Stage::Tarpit => self.end(cal, id, Cause::ClientTimeout),
            _ => self.fail_client(now, id, Cause::ClientTimeout),
        }
    }

    /// Arms `timeout server` for a request that just reached its server (`token`: its epoch).
    #[inline(always)]
    pub(super) fn arm_server_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId, token: u32) {
        if self.lb_deadlines.after.is_none() {
            return;
        }
        if self.lb_deadlines.fifo.len() >= self.lb_deadlines.trim_at {
            self.trim_server();
        }
        if let Some(at) = self.lb_deadlines.push(cal.now(), id, token) {
            cal.schedule_at(at, Ev::Deadline(Kind::Server as u8, 0));
        }
    }

    /// Arms Nginx's `proxy_read_timeout` for a request passed to the application.
    #[inline(always)]
    pub(super) fn arm_nginx_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        if self.servers[i].ngx_deadlines.after.is_none() {
            return;
        }
        let token = self.reqs[id].epoch;
        if self.servers[i].ngx_deadlines.fifo.len() >= self.servers[i].ngx_deadlines.trim_at {
            self.trim(Kind::NginxRead, i);
        }
        if let Some(at) = self.servers[i].ngx_deadlines.push(cal.now(), id, token) {
            cal.schedule_at(at, Ev::Deadline(Kind::NginxRead as u8, i as u16));
        }
    }

    /// Arms the app server's worker timeout for a request that took a worker (`token`: its
    /// epoch; `counted`: its client already has its answer). When HAProxy's `timeout server`
    /// is no longer, every request still holding its worker at its deadline has had HAProxy's
    /// timeout fire first (it reached the server before its worker took it), so the kill is
    /// scheduled from there instead (`schedule_worker_kill`) and nothing is registered here.
    #[inline(always)]
    pub(super) fn arm_worker_timeout(
        &mut self,
        cal: &mut Calendar<Ev>,
        id: ReqId,
        i: usize,
        token: u32,
        counted: bool,
    ) {
        let s = &self.servers[i];
        if s.kill_at_server_timeout {
            // A request whose client already had HAProxy's timeout (it waited in the backlog
            // that long) gets its kill scheduled now.
            if counted {
                self.schedule_worker_kill(cal, id);
            }
            return;
        }
        if s.app_deadlines.after.is_none() {
            return;
        }
        if self.servers[i].app_deadlines.fifo.len() >= self.servers[i].app_deadlines.trim_at {
            self.trim(Kind::AppWorker, i);
        }
        if let Some(at) = self.servers[i].app_deadlines.push(cal.now(), id, token) {
            cal.schedule_at(at, Ev::Deadline(Kind::AppWorker as u8, i as u16));
        }
    }

    /// Arms the MySQL read timeout for the query the request just sent.
    #[inline(always)]
    pub(super) fn arm_db_timeout(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        if self.db_deadlines.after.is_none() {
            return;
        }
        let token = self.reqs[id].query;
        if self.db_deadlines.fifo.len() >= self.db_deadlines.trim_at {
            self.trim(Kind::DbRead, 0);
        }
        if let Some(at) = self.db_deadlines.push(cal.now(), id, token) {
            cal.schedule_at(at, Ev::Deadline(Kind::DbRead as u8, 0));
        }
    }

    /// Drops stale entries at the front of a FIFO once it has doubled since the last trim:
    /// requests mostly end in the order they started, so this keeps a FIFO about as long as
    /// what is in flight (more only behind a request that lives long, up to what arrives
    /// within one timeout).
    #[cold]
    fn trim(&mut self, kind: Kind, i: usize) {
        let d = self.fifo(kind, i);
        if d.fifo.len() < d.trim_at {
            return;
        }
        while let Some(&(id, token, _)) = self.fifo(kind, i).fifo.front() {
            if self.deadline_live(kind, i, id, token) {
                break;
            }
            self.fifo(kind, i).fifo.pop_front();
        }
        let d = self.fifo(kind, i);
        d.trim_at = (2 * d.fifo.len()).max(TRIM_FLOOR);
    }

    /// `trim` for the `timeout server` FIFO, the one every request goes through, with its
    /// staleness test written out (the generic one dispatches on the kind per entry).
    #[cold]
    fn trim_server(&mut self) {
        let reqs = &self.reqs.items;
        let d = &mut self.lb_deadlines;
        // Found first, then dropped in one go: a `pop_front` per entry costs more than the
        // test (every request's entry passes through here once: issue 13).
        let stale = (d.fifo.iter())
            .position(|&(id, token, _)| {
                let r = &reqs[id as usize];
                r.live && !r.zombie && r.epoch == token && r.has(holds::SRV)
            })
            .unwrap_or(d.fifo.len());
        d.fifo.drain(..stale);
        d.trim_at = (2 * d.fifo.len()).max(TRIM_FLOOR);
    }

    /// The request's client has its answer (a timeout) while its worker may still be busy:
    /// when the worker timeout is not kept in the FIFO, its kill is scheduled now, at the
    /// worker's deadline.
    pub(super) fn schedule_worker_kill(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &self.reqs[id];
        let i = r.server as usize;
        if !r.has(holds::APP) || !self.servers[i].kill_at_server_timeout {
            return;
        }
        if let Some(t) = self.cfg.servers[i].app_timeout {
            cal.schedule_at(r.app_at + t, Ev::WorkerKill(id, r.epoch));
        }
    }

    pub(super) fn on_worker_kill(&mut self, cal: &mut Calendar<Ev>, id: ReqId, epoch: u32) {
        let r = &self.reqs[id];
        if self.deadline_live(Kind::AppWorker, r.server as usize, id, epoch) {
            self.worker_killed(cal, id);
        }
    }

    fn fifo(&mut self, kind: Kind, i: usize) -> &mut Deadlines {
        match kind {
            Kind::Server => &mut self.lb_deadlines,
            Kind::NginxRead => &mut self.servers[i].ngx_deadlines,
            Kind::AppWorker => &mut self.servers[i].app_deadlines,
            Kind::DbRead => &mut self.db_deadlines,
            Kind::Client => &mut self.client_deadlines,
        }
    }

    /// Does the deadline (`id`, `token`) still guard something? Its request must be the same
    /// (token) and still hold what the timeout is about.
    fn deadline_live(&self, kind: Kind, i: usize, id: ReqId, token: u32) -> bool {
        let r = &self.reqs[id];
        if !r.live || r.zombie {
            return false;
        }
        match kind {
            Kind::Server => r.epoch == token && r.has(holds::SRV),
            Kind::NginxRead => {
                r.epoch == token
                    && r.has(holds::NGX)
                    && r.server as usize == i
                    && !matches!(r.stage, Stage::Nginx | Stage::NginxWait)
            }
            Kind::AppWorker => {
                r.epoch == token
                    && r.has(holds::APP)
                    && r.server as usize == i
                    && !self.servers[i].app_frozen()
            }
            Kind::DbRead => r.query == token && r.in_query && r.has(holds::APP),
            Kind::Client => !r.counted && client_token(r.arrived) == token,
        }
    }

    /// The timer of FIFO (`kind`, `i`) fired: drop stale entries, fire expired ones, re-arm.
    pub(super) fn on_deadline(&mut self, cal: &mut Calendar<Ev>, kind: u8, i: usize) {
        let kind = Kind::from_u8(kind);
        let now = cal.now();
        self.fifo(kind, i).armed = false;
        while let Some(&(id, token, at)) = self.fifo(kind, i).fifo.front() {
            if !self.deadline_live(kind, i, id, token) {
                self.fifo(kind, i).fifo.pop_front();
                continue;
            }
            if at > now {
                self.fifo(kind, i).armed = true;
                cal.schedule_at(at, Ev::Deadline(kind as u8, i as u16));
                return;
            }
            self.fifo(kind, i).fifo.pop_front();
            match kind {
                Kind::Server => self.server_timeout(cal, id),
                Kind::NginxRead => self.upstream_timeout(cal, id),
                Kind::AppWorker => self.worker_killed(cal, id),
                Kind::DbRead => self.db_timeout(cal, id),
                Kind::Client => self.client_gave_up(cal, id),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_schedule_is_linux() {
        let t0 = SimTime::from_secs(10);
        let big = SimTime::from_secs(1000);
        let times: Vec<u64> = (1..=7)
            .map(|n| (next_syn(t0, n, big) - t0).as_nanos() / 1_000_000_000)
            .collect();
        assert_eq!(times, [1, 3, 7, 15, 31, 63, 127]);
        // A 5 s connect timeout: SYNs at 0, 1, 3, then the timeout at 5.
        let five = SimTime::from_secs(5);
        assert_eq!(next_syn(t0, 2, five) - t0, SimTime::from_secs(3));
        assert_eq!(next_syn(t0, 3, five) - t0, five);
        // The last SYN before the timeout: 63 s of Linux's 127, 3 s of 5, none but the first
        // with a timeout of 1 s or less.
        assert_eq!(last_syn(big), SimTime::from_secs(511));
        assert_eq!(last_syn(SimTime::from_secs(127)), SimTime::from_secs(63));
        assert_eq!(last_syn(five), SimTime::from_secs(3));
        assert_eq!(last_syn(SimTime::from_secs(3)), SimTime::from_secs(1));
        assert_eq!(last_syn(SimTime::from_secs(1)), SimTime::ZERO);
    }

    #[test]
    fn deadlines_arm_once() {
        let mut d = Deadlines::new(Some(SimTime::from_secs(30)));
        assert_eq!(d.push(SimTime::ZERO, 1, 0), Some(SimTime::from_secs(30)));
        assert_eq!(d.push(SimTime::from_secs(1), 2, 0), None);
        assert_eq!(d.fifo.len(), 2);
        let mut off = Deadlines::new(None);
        assert_eq!(off.push(SimTime::ZERO, 1, 0), None);
        assert!(off.fifo.is_empty());
    }
}
