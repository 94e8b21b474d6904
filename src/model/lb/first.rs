//! `balance first`: fill the lowest-numbered server up to its `maxconn`, then the next.
//!
//! Meant to pack load onto as few servers as possible so the rest can be powered down; weights
//! are ignored and without `maxconn` everything goes to the first server (domain.md §1.1;
//! HAP-CFG L6392; HAP-SRC src/lb_fas.c L291, L321). Server id = declaration position here.

use super::{Pick, Policy, ServerView, no_free_server};
use crate::engine::Rng;

/// First available server. Stateless.
#[derive(Clone, Copy, Debug, Default)]
pub struct First;

impl First {
    pub fn new() -> Self {
        First
    }
}

impl Policy for First {
    /// Lowest index that is usable and not full. "Not full" is HAProxy's test in
    /// `fas_get_next_server`: no `maxconn`, or served < maxconn with the server's own queue
    /// empty (that queue is normally empty for `first`, whose overflow goes to the backend
    /// queue).
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, _rng: &mut Rng) -> Pick {
        match servers.iter().position(|s| s.is_usable() && !s.is_full()) {
            Some(i) => Pick::Server(i),
            None => no_free_server(servers),
        }
    }

    /// Nothing precomputed.
    fn servers_changed(&mut self, _servers: &[ServerView]) {}

    fn fifo_fair(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    #[test]
    fn fills_in_order_up_to_maxconn() {
        let mut s = servers(&[1, 100, 1]);
        for v in &mut s {
            v.maxconn = 3;
        }
        let mut p = First::new();
        let mut r = rng("first");
        let mut seq = Vec::new();
        for _ in 0..9 {
            let Pick::Server(i) = p.pick(&s, 0, &mut r) else {
                panic!("expected a server");
            };
            s[i].served += 1;
            seq.push(i);
        }
        assert_eq!(seq, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
        assert_eq!(p.pick(&s, 0, &mut r), Pick::BackendQueue);
        // A slot frees on server 1: it is the lowest non-full one again.
        s[1].served -= 1;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
    }

    #[test]
    fn unlimited_first_server_takes_everything() {
        let s = servers(&[1, 1]);
        let mut p = First::new();
        let mut r = rng("first");
        for _ in 0..10 {
            assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(0));
        }
    }

    #[test]
    fn skips_unusable_and_reports_no_server() {
        let mut s = servers(&[1, 1]);
        let mut p = First::new();
        let mut r = rng("first");
        s[0].usable = false;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
        s[1].usable = false;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::NoServer);
    }
}
