//! A packet filter in front of HAProxy (`[firewall]`): iptables on the LB host, or a cloud
//! security group, blocking the flood's source addresses or every client.
//!
//! What a client sees depends on the rule's target (domain.md §6.2; iptables-extensions(8)
//! `REJECT`): `REJECT` answers the SYN (a TCP reset with `--reject-with tcp-reset`, an ICMP
//! port-unreachable by default), so the client's connect fails at once; `DROP` answers nothing,
//! so the client retransmits its SYN (Linux: after 1, 3, 7, 15, 31 and 63 s) until its connect
//! timeout (`workload.connect_timeout`, 127 s by default: `tcp_syn_retries` = 6), the same
//! silence as an LB host that is down. A dropped client is held the whole time: a user waits
//! for a page that never comes, a retrying client retries only after it. Filtering costs the
//! stack nothing (the packets never reach HAProxy): per-packet filter cost is negligible at
//! these rates (domain.md §6.2).
//!
//! The rule applies from `at` to the end of the run, to connections that start after it.

use super::flood::FIRST_FLOOD_IP;
use crate::engine::SimTime;

/// The rule's target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirewallAction {
    /// Answer with a reset / ICMP error: the connect fails at once.
    Reject,
    /// Answer nothing: the client waits for its connect timeout.
    Drop,
}

/// Which source addresses the rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// Every client (a closed port).
    All,
    /// The first n of the flood's addresses (`workload.flood.sources`).
    FloodSources(u32),
}

/// `[firewall]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FirewallConfig {
    pub action: FirewallAction,
    pub block: Blocked,
    /// When the rule is put in place.
    pub at: SimTime,
}

impl FirewallConfig {
    /// What the filter does to a connection from `src` at `now`, if it matches.
    #[inline]
    pub fn verdict(&self, src: u32, now: SimTime) -> Option<FirewallAction> {
        if now < self.at {
            return None;
        }
        let hit = match self.block {
            Blocked::All => true,
            Blocked::FloodSources(n) => src.wrapping_sub(FIRST_FLOOD_IP) < n,
        };
        hit.then_some(self.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_first_flood_sources_from_its_start() {
        let fw = FirewallConfig {
            action: FirewallAction::Drop,
            block: Blocked::FloodSources(2),
            at: SimTime::from_secs(5),
        };
        let t = SimTime::from_secs(6);
        assert_eq!(fw.verdict(FIRST_FLOOD_IP, t), Some(FirewallAction::Drop));
        assert_eq!(
            fw.verdict(FIRST_FLOOD_IP + 1, t),
            Some(FirewallAction::Drop)
        );
        assert_eq!(fw.verdict(FIRST_FLOOD_IP + 2, t), None);
        assert_eq!(fw.verdict(0x0A00_0001, t), None);
        assert_eq!(fw.verdict(FIRST_FLOOD_IP, SimTime::from_secs(4)), None);
    }
}
