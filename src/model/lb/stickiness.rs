//! Session persistence at HAProxy (`[lb] persistence`): `cookie SERVERID insert` and
//! `stick-table type ip` with `stick on src`, and what happens to a session when its server
//! goes down (`option persist`, `option redispatch`).
//!
//! Semantics, from HAProxy 2.6's configuration manual (configuration.txt) and source:
//! - **Cookie insert** ("cookie", `insert`): HAProxy inserts a cookie naming the server in a
//!   response "if the client did not already have a cookie that would have permitted it to
//!   access this server", and the client brings it back in every request. So a browser session
//!   (a closed-loop user's session, `model/clients.rs`) is balanced once, on its first request,
//!   and then goes to the server that answered it. A new session starts without the cookie.
//!   Open-loop arrivals are clients without a cookie: balanced every time.
//! - **Stick on src** ("stick on": "exactly equivalent to `stick match` followed by `stick
//!   store-request`"): a table keyed by the client address holds the server that last served
//!   it; a request whose address is in the table goes to that server. The table has no
//!   `expire` here (entries live for the run) and is shared by the LB instances (as with
//!   `peers`).
//! - **A persistent request is sent directly** to its server when that server is not DOWN, even
//!   when it is full (it then waits in that server's own queue, as a hash algorithm's request
//!   does), without running the balancing algorithm (src/http_ana.c
//!   `manage_client_side_cookies` and src/stream.c `process_sticking_rules` set `SF_DIRECT |
//!   SF_ASSIGNED` when `srv->cur_state != SRV_ST_STOPPED || (px->options & PR_O_PERSIST)`).
//! - **Its server is DOWN** (marked down by the health checks): "When an HTTP request reaches a
//!   backend with a cookie which references a dead server, by default it is redispatched to
//!   another server" ("option persist"): the entry is ignored and the request is balanced. The
//!   server that serves it is then stored (the response carries a new cookie; `stick
//!   store-request` stores the server the request went to, src/stream.c
//!   `process_store_rules`), so the session moves and stays on its new server.
//! - **`option persist`**: "force the request to be sent to the dead server first". Its
//!   connection then fails; it is retried on that server, and only `option redispatch` can
//!   take it elsewhere. Without redispatch the session fails until its server is back:
//!   "clients may definitely stick to it because they cannot flush the cookie" ("option
//!   redispatch").
//! - **`option redispatch`** on connection failures: a direct (persistent) request is never
//!   redispatched because another server might do (that shortcut is for non-persistent
//!   requests of non-hash algorithms); it is when its server is not running or on the last
//!   retry (include/haproxy/stream.h `stream_choose_redispatch`: `!(s->flags & SF_DIRECT)` in
//!   the third case), which breaks the persistence: the new server is stored.
//!
//! Simplification: HAProxy stores at the response; here the server is stored when the
//! connection to it is established (the two differ only for a request whose server dies
//! between the two).

use crate::engine::SimTime;
use serde::Serialize;

/// What the session key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistKind {
    /// `cookie SERVERID insert`: one entry per closed-loop user, cleared at each new session.
    Cookie,
    /// `stick-table type ip` + `stick on src`: one entry per client address.
    Source,
}

impl PersistKind {
    pub fn name(self) -> &'static str {
        match self {
            PersistKind::Cookie => "cookie",
            PersistKind::Source => "source",
        }
    }
}

/// `[lb] persistence` and `persist`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersistenceConfig {
    pub kind: PersistKind,
    /// `option persist`: send to the stored server even when it is DOWN.
    pub persist: bool,
}

const NONE: u16 = u16::MAX;

/// The persistence entries of one run and what they did.
#[derive(Clone, Debug)]
pub struct Stickiness {
    pub kind: PersistKind,
    pub persist: bool,
    /// Server per key (user or client address index), or NONE.
    table: Vec<u16>,
    /// Times each key's server changed (saturating).
    moves: Vec<u8>,
    warmup: SimTime,
    // ---- measured (requests arriving at or after the warm-up) ----
    direct: u64,
    rebalanced: u64,
    moved: u64,
}

/// `summary.json` `persistence`.
#[derive(Clone, Debug, Serialize)]
pub struct PersistenceReport {
    /// `"cookie"` or `"source"`.
    pub kind: &'static str,
    pub persist: bool,
    /// Requests sent straight to their session's server.
    pub direct: u64,
    /// Requests whose session's server was DOWN: balanced anew (not with `persist`).
    pub rebalanced: u64,
    /// Times a session's server changed to another (a move after a failure, or a redispatch).
    pub moved: u64,
    /// The most times any one session (cookie) or address (source) changed server over the run.
    pub max_moves: u8,
}

impl Stickiness {
    /// `keys`: users for a cookie, client addresses for a stick table.
    pub fn new(cfg: &PersistenceConfig, keys: u32, warmup: SimTime) -> Self {
        Stickiness {
            kind: cfg.kind,
            persist: cfg.persist,
            table: vec![NONE; keys as usize],
            moves: vec![0; keys as usize],
            warmup,
            direct: 0,
            rebalanced: 0,
            moved: 0,
        }
    }

    /// The key of a request from `user` (or [`super::super::clients::NO_USER`]) at client
    /// address index `client`: None when it carries no session (an open-loop request under
    /// cookie persistence).
    #[inline]
    pub fn key(&self, user: u32, client: u32) -> Option<u32> {
        let k = match self.kind {
            PersistKind::Cookie => user,
            PersistKind::Source => client,
        };
        ((k as usize) < self.table.len()).then_some(k)
    }

    /// Where a request with session `key` goes: Some(server) to send it there directly, None
    /// to balance it. `usable(i)`: server i is not DOWN for this LB.
    #[inline]
    pub fn lookup(
        &mut self,
        key: u32,
        usable: impl Fn(usize) -> bool,
        measured: bool,
    ) -> Option<usize> {
        let s = self.table[key as usize];
        if s == NONE {
            return None;
        }
        if self.persist || usable(s as usize) {
            self.direct += u64::from(measured);
            return Some(s as usize);
        }
        self.rebalanced += u64::from(measured);
        None
    }

    /// The request with session `key` reached server `i`: the session is on `i` from now on.
    #[inline]
    pub fn store(&mut self, key: u32, i: usize, now: SimTime) {
        let old = std::mem::replace(&mut self.table[key as usize], i as u16);
        if old != NONE && old as usize != i {
            self.moves[key as usize] = self.moves[key as usize].saturating_add(1);
            self.moved += u64::from(now >= self.warmup);
        }
    }

    /// A new session for `key` (a user's next session): no cookie yet.
    pub fn forget(&mut self, key: u32) {
        if let Some(s) = self.table.get_mut(key as usize) {
            *s = NONE;
        }
    }

    pub fn report(&self) -> PersistenceReport {
        PersistenceReport {
            kind: self.kind.name(),
            persist: self.persist,
            direct: self.direct,
            rebalanced: self.rebalanced,
            moved: self.moved,
            max_moves: self.moves.iter().copied().max().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_sticks_moves_when_down_and_stays() {
        let cfg = PersistenceConfig {
            kind: PersistKind::Cookie,
            persist: false,
        };
        let mut s = Stickiness::new(&cfg, 2, SimTime::ZERO);
        assert_eq!(s.lookup(0, |_| true, true), None); // no cookie yet
        s.store(0, 1, SimTime::ZERO);
        assert_eq!(s.lookup(0, |_| true, true), Some(1));
        // Server 1 DOWN: balanced, and the new server is kept.
        assert_eq!(s.lookup(0, |i| i != 1, true), None);
        s.store(0, 2, SimTime::ZERO);
        assert_eq!(s.lookup(0, |i| i != 1, true), Some(2));
        let r = s.report();
        assert_eq!((r.direct, r.rebalanced, r.moved, r.max_moves), (2, 1, 1, 1));
        s.forget(0);
        assert_eq!(s.lookup(0, |_| true, true), None);
        // Open-loop requests carry no cookie.
        assert_eq!(s.key(crate::model::clients::NO_USER, 0), None);
    }

    #[test]
    fn persist_keeps_a_down_server() {
        let cfg = PersistenceConfig {
            kind: PersistKind::Source,
            persist: true,
        };
        let mut s = Stickiness::new(&cfg, 10, SimTime::ZERO);
        let k = s.key(0, 7).unwrap();
        s.store(k, 3, SimTime::ZERO);
        assert_eq!(s.lookup(k, |_| false, true), Some(3));
    }
}
