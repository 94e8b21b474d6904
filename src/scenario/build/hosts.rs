//! `[[hosts]]` and the `host` key of servers and DB nodes: which components share a machine,
//! and which machines share a rack or power domain (issue 12). The keys are documented in
//! `docs/scenario.md` ("Hosts and racks").

use std::collections::HashMap;

use super::*;
use crate::model::{Host, Layout};

/// A component that names its host: where, and under which key.
pub(super) struct Placement {
    pub(super) member: Member,
    pub(super) host: String,
    pub(super) key: KeyPath,
}

#[derive(Clone, Copy)]
pub(super) enum Member {
    Server(usize),
    DbNode(usize),
}

/// Most cores a host may declare.
const MAX_CORES: u32 = 4096;

impl Builder<'_> {
    /// Records that the component under `key` runs on `host`, when it says so.
    pub(super) fn place(&mut self, member: Member, host: Option<String>, key: KeyPath) {
        if let Some(host) = host {
            self.placed.push(Placement {
                member,
                host,
                key: key.key("host"),
            });
        }
    }

    pub(super) fn hosts(&mut self, entries: Vec<schema::HostEntry>) -> Layout {
        let key = root("hosts");
        let mut layout = Layout::default();
        if entries.len() > MAX_SERVERS {
            self.problem(
                &key,
                format!(
                    "has {} hosts; at most {MAX_SERVERS} are allowed",
                    entries.len()
                ),
            );
            return layout;
        }
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, e) in entries.into_iter().enumerate() {
            let k = key.index(i);
            let name = match e.name {
                None => {
                    self.problem(
                        &k.key("name"),
                        "is required: the machine's name, e.g. name = \"web-host-1\"",
                    );
                    continue;
                }
                Some(n) => self.name(&k.key("name"), Some(n), ""),
            };
            if let Some(&first) = index.get(&name) {
                self.problem(
                    &k.key("name"),
                    format!("\"{name}\" is already the name of hosts[{first}]"),
                );
                continue;
            }
            let rack = e.rack.map(|r| {
                let r = self.name(&k.key("rack"), Some(r), "");
                match layout.racks.iter().position(|x| *x == r) {
                    Some(j) => j,
                    None => {
                        layout.racks.push(r);
                        layout.racks.len() - 1
                    }
                }
            });
            let cores = e
                .cores
                .map(|c| self.count(&k.key("cores"), Some(c), 1, 1, MAX_CORES));
            index.insert(name.clone(), i);
            layout.hosts.push(Host {
                name,
                rack,
                cores,
                ..Host::default()
            });
        }
        let placed = std::mem::take(&mut self.placed);
        for p in placed {
            let Some(h) = layout.hosts.iter().position(|h| h.name == p.host.trim()) else {
                let names: Vec<&str> = layout.hosts.iter().map(|h| h.name.as_str()).collect();
                let mut msg = format!("unknown host \"{}\"", p.host);
                if names.is_empty() {
                    msg.push_str(": declare it in a [[hosts]] entry (name = ...)");
                } else {
                    if let Some(b) = closest(p.host.trim(), &names) {
                        msg.push_str(&format!(" (did you mean \"{b}\"?)"));
                    }
                    msg.push_str(&format!("; [[hosts]] declares {}", names.join(", ")));
                }
                self.problem(&p.key, msg);
                continue;
            };
            match p.member {
                Member::Server(i) => layout.hosts[h].servers.push(i),
                Member::DbNode(n) => layout.hosts[h].db_nodes.push(n),
            }
        }
        let broken = self.problems.iter().any(|p| p.key.ends_with(".host"));
        for (i, h) in layout.hosts.iter().enumerate() {
            if !broken && h.servers.is_empty() && h.db_nodes.is_empty() {
                self.problem(
                    &key.index(i).key("name"),
                    format!(
                        "host \"{}\" carries nothing: put a server or DB node on it with host = \
                         \"{}\", or remove it",
                        h.name, h.name
                    ),
                );
            }
        }
        layout
    }
}
