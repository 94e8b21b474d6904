//! `my.cnf` (MySQL "Using Option Files"): `[group]` headers, `name = value` or `name` lines,
//! `#` and `;` comments, `-` and `_` alike in names, the `loose-` prefix ignored. In the server's
//! groups (`[mysqld]`, `[server]`, `[mysqld-8.0]`, `[mariadb]`): `max_connections` to the
//! primary's, `replica_parallel_workers` to the appliers, the `rpl_semi_sync_source_*` (and
//! older `rpl_semi_sync_master_*`) settings to semi-synchronous replication, and
//! `replica_net_timeout` to the failover's. The option file does not say how many replicas
//! there are: that is a placeholder. Everything else is listed as not mapped.

use super::text::{self, duration, parse_int};
use super::{Draft, IngestError, Unmapped};

/// One option line: (line, group, name normalised, value, the line as written).
pub type Opt = (usize, String, String, Option<String>, Vec<String>);

pub struct Conf {
    pub file: String,
    pub options: Vec<Opt>,
}

pub fn parse(file: &str, text: &str) -> Result<Conf, IngestError> {
    let mut options = vec![];
    let mut group = String::new();
    for (no, raw) in text::lines(file, text)? {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('!') {
            options.push((
                no,
                group.clone(),
                line.to_string(),
                None,
                vec![line.to_string()],
            ));
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(g) = rest.split(']').next().filter(|_| rest.contains(']')) else {
                return Err(IngestError::new(
                    file,
                    Some(no),
                    "a `[group]` header is not closed with `]`",
                ));
            };
            group = g.trim().to_ascii_lowercase();
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => {
                let v = v.split(" #").next().unwrap_or("").trim();
                let v = v.trim_matches(|c| c == '"' || c == '\'');
                (n.trim(), Some(v.to_string()))
            }
            None => (line, None),
        };
        let mut norm = name.to_ascii_lowercase().replace('-', "_");
        if let Some(s) = norm.strip_prefix("loose_") {
            norm = s.to_string();
        }
        options.push((no, group.clone(), norm, value, vec![line.to_string()]));
    }
    Ok(Conf {
        file: file.to_string(),
        options,
    })
}

fn is_server_group(g: &str) -> bool {
    matches!(g, "mysqld" | "server" | "mariadb" | "mysqld_safe")
        || g.starts_with("mysqld-")
        || g.starts_with("mariadb-")
}

fn on(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Some(true),
        "0" | "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

pub fn map(conf: &Conf, d: &mut Draft) {
    d.sources.push(conf.file.clone());
    let f = conf.file.as_str();
    let mut wait_count = 1i64;
    let mut semi = false;
    for (no, group, name, value, words) in &conf.options {
        let v = value.as_deref().unwrap_or("");
        let c = format!("{f}:{no}");
        let bad = |why: &str| Unmapped::new(f, *no, words, why.to_string());
        if !is_server_group(group) {
            d.unmapped
                .push(bad(&format!("[{group}] options are not the server's")));
            continue;
        }
        match name.as_str() {
            "max_connections" => match parse_int(v, 1, 100_000) {
                Some(n) => d.set("database.primary", "max_connections", n, &c),
                None => d.unmapped.push(bad("outside 1..=100000")),
            },
            "replica_parallel_workers" | "slave_parallel_workers" => match parse_int(v, 0, 1024) {
                // 0 is the single-threaded applier of older versions: one applier.
                Some(n) => d.set("database.replication", "appliers", n.max(1), &c),
                None => d.unmapped.push(bad("outside 0..=1024")),
            },
            "rpl_semi_sync_source_enabled" | "rpl_semi_sync_master_enabled" => match on(v) {
                Some(b) => {
                    semi = b;
                    d.set("database.replication", "semi_sync", b, &c);
                }
                None => d.unmapped.push(bad("not a boolean")),
            },
            "rpl_semi_sync_source_timeout" | "rpl_semi_sync_master_timeout" => {
                // Milliseconds (MySQL reference, rpl_semi_sync_source_timeout).
                match parse_int(v, 1, 1_000_000_000) {
                    Some(ms) => d.set(
                        "database.replication",
                        "semi_sync_timeout",
                        duration(ms as u64 * 1_000_000).as_str(),
                        &c,
                    ),
                    None => d.unmapped.push(bad("not a time in milliseconds > 0")),
                }
            }
            "rpl_semi_sync_source_wait_for_replica_count"
            | "rpl_semi_sync_master_wait_for_slave_count" => match parse_int(v, 1, 1024) {
                Some(n) => {
                    wait_count = n;
                    d.set("database.replication", "semi_sync_replicas", n, &c);
                }
                None => d.unmapped.push(bad("outside 1..=1024")),
            },
            "replica_net_timeout" | "slave_net_timeout" => match parse_int(v, 1, 31_536_000) {
                Some(s) => d.set(
                    "database.failover",
                    "replica_net_timeout",
                    duration(s as u64 * 1_000_000_000).as_str(),
                    &c,
                ),
                None => d.unmapped.push(bad("not a whole number of seconds > 0")),
            },
            "rpl_semi_sync_source_wait_point" | "rpl_semi_sync_master_wait_point" => {
                if v.eq_ignore_ascii_case("after_sync") {
                    // The model's semi-synchronous replication is AFTER_SYNC (docs/scenario.md).
                } else {
                    d.unmapped
                        .push(bad("the model's semi-sync is AFTER_SYNC only"));
                }
            }
            n if n.starts_with('!') => d.unmapped.push(bad("included option files are not read")),
            _ => d.unmapped.push(bad("not modelled")),
        }
    }
    d.placeholder(
        "database",
        "replicas",
        if semi { wait_count.max(1) } else { 1 },
        "how many replicas: not in my.cnf",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_options_map_and_others_are_listed() {
        let text = "[client]\nport=3306\n[mysqld]\nmax-connections = 500\nloose-rpl_semi_sync_master_enabled=1\nrpl_semi_sync_master_timeout = 2500\nreplica_parallel_workers=8\ninnodb_buffer_pool_size=1G\n";
        let conf = parse("my.cnf", text).unwrap();
        let mut d = Draft::new("t");
        map(&conf, &mut d);
        assert_eq!(
            d.get("database.primary", "max_connections")
                .unwrap()
                .as_integer(),
            Some(500)
        );
        assert_eq!(
            d.get("database.replication", "semi_sync")
                .unwrap()
                .as_bool(),
            Some(true)
        );
        assert_eq!(
            d.get("database.replication", "semi_sync_timeout")
                .unwrap()
                .as_str(),
            Some("2500ms")
        );
        assert_eq!(
            d.get("database.replication", "appliers")
                .unwrap()
                .as_integer(),
            Some(8)
        );
        assert_eq!(d.unmapped.len(), 2);
    }
}
