//! `my.cnf`, read as MySQL reads an option file (MySQL 8.0 reference manual, 6.2.2.2 "Using
//! Option Files", https://dev.mysql.com/doc/refman/8.0/en/option-files.html, and 6.2.2.5 "Using
//! Options to Set Program Variables"; the reader is `search_default_file_with_ext()` in
//! mysys/my_default.cc): `[group]` headers; lines starting with `#` or `;` are comments, and a `#`
//! outside quotes ends a line anywhere (`remove_end_comment()`: after a blank, a tab or nothing);
//! `name = value` or a bare `name` (for a boolean, a bare name is ON); blanks around the name and
//! the value dropped; a value in matching quotes unquoted; `\n`, `\t`, `\r`, `\b`, `\s`, `\"`, `\'`,
//! `\\` in a value escaped; `-` and `_` alike in names; the `loose-` prefix ignored, and `skip-`,
//! `disable-` and `enable-` turning a boolean off or on (`maximum-` sets a limit, not the value:
//! listed). Numbers take a K, M, G, T, P or E suffix (powers of 1024). An option before any
//! `[group]` is an error, as MySQL refuses the file.
//!
//! In the server's groups (`[mysqld]`, `[server]`, `[mysqld-8.0]`, `[mariadb]`):
//! `max_connections` to the primary's, `replica_parallel_workers` to the appliers, the
//! `rpl_semi_sync_source_*` (and older `rpl_semi_sync_master_*`) settings to semi-synchronous
//! replication, and `replica_net_timeout` to the failover's. The option file does not say how
//! many replicas there are: that is a placeholder. Everything else is listed as not mapped.

use super::text::{self, duration};
use super::{Draft, IngestError, Unmapped};

/// One option line: (line, group, name normalised, value, the line as written).
pub type Opt = (usize, String, String, Option<String>, Vec<String>);

pub struct Conf {
    pub file: String,
    pub options: Vec<Opt>,
}

/// MySQL's blanks (`my_isspace()` in latin1): space, tab, line feed, vertical tab, form feed,
/// carriage return.
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The line up to a `#` outside quotes (mysys `remove_end_comment()`: a quote opens and closes
/// only with its own kind, and inside quotes a backslash protects the next quote).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escape = false;
    for (i, c) in line.char_indices() {
        if (c == '\'' || c == '"') && !escape {
            match quote {
                None => quote = Some(c),
                Some(q) if q == c => quote = None,
                Some(_) => {}
            }
        }
        if quote.is_none() && c == '#' {
            return &line[..i];
        }
        escape = quote.is_some() && c == '\\' && !escape;
    }
    line
}

/// A value as MySQL hands it to the program: blanks around it dropped, one pair of matching
/// quotes around it removed, the escape sequences of the manual replaced (an unknown one keeps
/// its backslash).
fn value_of(raw: &str) -> String {
    let mut v = raw.trim_matches(blank);
    for q in ['"', '\''] {
        if v.len() > 1 && v.starts_with(q) && v.ends_with(q) {
            v = &v[1..v.len() - 1];
            break;
        }
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' || chars.peek().is_none() {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some(e @ ('"' | '\'' | '\\')) => out.push(e),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

pub fn parse(file: &str, text: &str) -> Result<Conf, IngestError> {
    let mut options = vec![];
    let mut group: Option<String> = None;
    for (no, raw) in text::lines(file, text)? {
        let line = raw.trim_matches(blank);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('!') {
            options.push((
                no,
                group.clone().unwrap_or_default(),
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
            group = Some(g.trim_matches(blank).to_ascii_lowercase());
            continue;
        }
        let Some(group) = &group else {
            return Err(IngestError::new(
                file,
                Some(no),
                "an option before any `[group]` header: MySQL refuses the file (\"Found option \
                 without preceding group in config file\")",
            ));
        };
        let body = strip_comment(line);
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.trim_matches(blank), Some(value_of(v))),
            None => (body.trim_matches(blank), None),
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

/// A number as MySQL's option parser reads it (`eval_num_suffix()` in mysys/my_getopt.cc):
/// digits and an optional K, M, G, T, P or E (either case), each a power of 1024 (manual 6.2.2.5).
fn number(v: &str) -> Option<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = v[..digits].parse().ok()?;
    let shift = match &v[digits..] {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    n.checked_mul(1u64.checked_shl(shift)?)
}

/// A whole number within `lo..=hi`, suffixes understood.
fn int_in(v: &str, lo: i64, hi: i64) -> Option<i64> {
    let n = i64::try_from(number(v)?).ok()?;
    (lo..=hi).contains(&n).then_some(n)
}

/// The options whose value is a boolean, which a bare name turns ON and which `skip-`,
/// `disable-` and `enable-` turn off and on.
const BOOLEANS: [&str; 2] = [
    "rpl_semi_sync_source_enabled",
    "rpl_semi_sync_master_enabled",
];

/// `skip-X`, `disable-X` (off) and `enable-X` (on) for a boolean `X`, as `handle_options()` in
/// mysys/my_getopt.cc reads them: a value of `0` inverts them (`--skip-X=0` is ON).
fn prefixed(name: &str, value: Option<&str>) -> Option<(&'static str, bool)> {
    for (prefix, on) in [("skip_", false), ("disable_", false), ("enable_", true)] {
        if let Some(rest) = name.strip_prefix(prefix)
            && let Some(b) = BOOLEANS.iter().find(|b| **b == rest)
        {
            return Some((b, if value == Some("0") { !on } else { on }));
        }
    }
    None
}

/// The groups whose options mysqld itself takes. Not `[mysqld_safe]`: the startup script reads
/// it, but "Options unknown to mysqld_safe are passed to mysqld if they are specified on the
/// command line, but ignored if they are specified in the [mysqld_safe] group of an option
/// file" (MySQL manual, mysqld_safe(1)): a `max_connections` there never reaches the server.
fn is_server_group(g: &str) -> bool {
    matches!(g, "mysqld" | "server" | "mariadb")
        || g.starts_with("mysqld-")
        || g.starts_with("mariadb-")
}

/// A boolean value as `get_bool_argument()` in mysys/my_getopt.cc reads it: `1`, `ON`, `TRUE`,
/// `0`, `OFF`, `FALSE`, either case; no value at all is ON (manual 6.2.2.5, "Program Option
/// Modifiers"). `yes` and `no` are not MySQL's.
fn on(v: Option<&str>) -> Option<bool> {
    let Some(v) = v else { return Some(true) };
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" => Some(true),
        "0" | "off" | "false" => Some(false),
        _ => None,
    }
}

pub fn map(conf: &Conf, d: &mut Draft) {
    d.sources.push(conf.file.clone());
    let f = conf.file.as_str();
    let mut wait_count = 1i64;
    let mut semi = false;
    for (no, group, name, value, words) in &conf.options {
        let c = format!("{f}:{no}");
        let bad = |why: &str| Unmapped::new(f, *no, words, why.to_string());
        if name.starts_with('!') {
            d.unmapped.push(bad("included option files are not read"));
            continue;
        }
        if group == "mysqld_safe" || group == "safe_mysqld" {
            d.unmapped.push(bad(
                "[mysqld_safe] configures the startup script: mysqld ignores server options \
                 written there (put them in [mysqld])",
            ));
            continue;
        }
        if !is_server_group(group) {
            d.unmapped
                .push(bad(&format!("[{group}] options are not the server's")));
            continue;
        }
        // `skip-X` and friends are the boolean X with a value.
        let (name, value): (&str, Option<String>) = match prefixed(name, value.as_deref()) {
            Some((b, v)) => (b, Some(if v { "1" } else { "0" }.to_string())),
            None => (name.as_str(), value.clone()),
        };
        let value = value.as_deref();
        // A number within `lo..=hi`, or why not.
        let num = |lo: i64, hi: i64| -> Result<i64, String> {
            let Some(v) = value else {
                return Err("needs a value (MySQL refuses a numeric option without one)".into());
            };
            match number(v) {
                None => Err(format!(
                    "{v:?} is not a number (digits and an optional K, M, G, T, P or E)"
                )),
                Some(_) => int_in(v, lo, hi).ok_or_else(|| format!("{v} is outside {lo}..={hi}")),
            }
        };
        if name.starts_with("maximum_") {
            d.unmapped.push(bad(
                "`maximum-` sets the highest value a session may set, not the value",
            ));
            continue;
        }
        match name {
            "max_connections" => match num(1, 100_000) {
                Ok(n) => d.set("database.primary", "max_connections", n, &c),
                Err(e) => d.unmapped.push(bad(&e)),
            },
            "replica_parallel_workers" | "slave_parallel_workers" => match num(0, 1024) {
                // 0 is the single-threaded applier of older versions: one applier.
                Ok(n) => d.set("database.replication", "appliers", n.max(1), &c),
                Err(e) => d.unmapped.push(bad(&e)),
            },
            "rpl_semi_sync_source_enabled" | "rpl_semi_sync_master_enabled" => match on(value) {
                Some(b) => {
                    semi = b;
                    d.set("database.replication", "semi_sync", b, &c);
                }
                None => d.unmapped.push(bad(
                    "not a boolean (1, ON, TRUE, 0, OFF, FALSE, or the name alone for ON)",
                )),
            },
            "rpl_semi_sync_source_timeout" | "rpl_semi_sync_master_timeout" => {
                // Milliseconds (MySQL reference, rpl_semi_sync_source_timeout).
                match num(1, 1_000_000_000) {
                    Ok(ms) => d.set(
                        "database.replication",
                        "semi_sync_timeout",
                        duration(ms as u64 * 1_000_000).as_str(),
                        &c,
                    ),
                    Err(e) => d.unmapped.push(bad(&format!("milliseconds > 0: {e}"))),
                }
            }
            "rpl_semi_sync_source_wait_for_replica_count"
            | "rpl_semi_sync_master_wait_for_slave_count" => match num(1, 1024) {
                Ok(n) => {
                    wait_count = n;
                    d.set("database.replication", "semi_sync_replicas", n, &c);
                }
                Err(e) => d.unmapped.push(bad(&e)),
            },
            "replica_net_timeout" | "slave_net_timeout" => match num(1, 31_536_000) {
                Ok(s) => d.set(
                    "database.failover",
                    "replica_net_timeout",
                    duration(s as u64 * 1_000_000_000).as_str(),
                    &c,
                ),
                Err(e) => d.unmapped.push(bad(&format!("seconds > 0: {e}"))),
            },
            "rpl_semi_sync_source_wait_point" | "rpl_semi_sync_master_wait_point" => {
                if value.is_some_and(|v| v.eq_ignore_ascii_case("after_sync")) {
                    // The model's semi-synchronous replication is AFTER_SYNC (docs/scenario.md).
                } else {
                    d.unmapped
                        .push(bad("the model's semi-sync is AFTER_SYNC only"));
                }
            }
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
    fn mysqld_safe_options_do_not_reach_the_server() {
        // mysqld_safe(1): options it does not know are ignored when written in its group.
        let text = "[mysqld_safe]\nmax_connections = 900\n[mysqld]\nreplica_parallel_workers = 2\n";
        let mut d = Draft::new("t");
        map(&parse("my.cnf", text).unwrap(), &mut d);
        assert!(d.get("database.primary", "max_connections").is_none());
        assert!(
            d.unmapped
                .iter()
                .any(|u| u.line == 2 && u.reason.contains("mysqld_safe")),
            "{:?}",
            d.unmapped
        );
        assert_eq!(
            d.get("database.replication", "appliers")
                .unwrap()
                .as_integer(),
            Some(2)
        );
    }

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

    #[test]
    fn option_file_syntax_is_mysql_s() {
        assert_eq!(number("2K"), Some(2048));
        assert_eq!(number("3m"), Some(3 << 20));
        assert_eq!(number("1G"), Some(1 << 30));
        assert_eq!(number("1E"), Some(1 << 60));
        assert_eq!(number("16E"), None, "overflows");
        assert_eq!(number("2KB"), None);
        assert_eq!(number("K"), None);
        assert_eq!(strip_comment("5000\t# five"), "5000\t");
        assert_eq!(strip_comment("5000# five"), "5000");
        assert_eq!(strip_comment("'a#b' # c"), "'a#b' ");
        assert_eq!(strip_comment(r##""a\"#b" # c"##), r##""a\"#b" "##);
        assert_eq!(value_of("  'a b'  "), "a b");
        assert_eq!(value_of(r"a\sb\tc\\d\qe"), "a b\tc\\d\\qe");
        assert_eq!(value_of("'"), "'");
        assert_eq!(on(None), Some(true));
        assert_eq!(on(Some("yes")), None, "not one of MySQL's booleans");
        assert_eq!(
            prefixed("skip_rpl_semi_sync_source_enabled", None),
            Some(("rpl_semi_sync_source_enabled", false))
        );
        assert_eq!(
            prefixed("disable_rpl_semi_sync_master_enabled", Some("0")),
            Some(("rpl_semi_sync_master_enabled", true))
        );
        assert_eq!(prefixed("skip_name_resolve", None), None);
        assert!(parse("my.cnf", "max_connections = 5\n[mysqld]\n").is_err());
    }
}
