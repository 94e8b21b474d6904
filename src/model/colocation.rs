//! Stations that share a host's CPU (issue 12): MySQL on a web host competes with the
//! application for the same cores.
//!
//! A static approximation, chosen to stay cheap and explainable: when a `[[hosts]]` entry
//! sets `cores`, each station on the host (a server's Nginx and application, a DB node) has its
//! speed multiplied by the share of the cores the *others* leave it at the scenario's base
//! load, `1 - (CPU the others use) / cores`, with the CPU each uses taken from
//! `capacity::cpu_busy` (arrival rate x mean CPU demand). A real host is processor-sharing
//! between them, moment by moment: a burst of queries slows the application only while it
//! lasts, and a failover that moves load changes the shares; here the derating is fixed for
//! the run (docs/model.md, simplifications). Without `cores` nothing changes.

use super::capacity::cpu_busy;
use super::config::Config;

/// The least a station keeps of its speed, however loaded its neighbours are: beyond this the
/// host is overloaded whatever the split, which the capacity report shows.
const MIN_SHARE: f64 = 0.05;

/// Derates the speed of every station on a host with `cores` by the CPU its neighbours use.
pub fn share_cpu(cfg: &mut Config) {
    if cfg.failures.layout.hosts.iter().all(|h| h.cores.is_none()) {
        return;
    }
    let (servers, nodes) = cpu_busy(cfg);
    let hosts = cfg.failures.layout.hosts.clone();
    for h in hosts {
        let Some(cores) = h.cores else { continue };
        let total: f64 = h.servers.iter().map(|&i| servers[i]).sum::<f64>()
            + h.db_nodes.iter().map(|&n| nodes[n]).sum::<f64>();
        let share = |own: f64| (1.0 - (total - own) / cores as f64).max(MIN_SHARE);
        for &i in &h.servers {
            cfg.servers[i].speed *= share(servers[i]);
        }
        for &n in &h.db_nodes {
            let node = if n == 0 {
                &mut cfg.database.primary
            } else {
                &mut cfg.database.replicas[n - 1]
            };
            node.speed *= share(nodes[n]);
        }
    }
}
