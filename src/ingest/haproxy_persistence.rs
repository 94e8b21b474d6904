//! Session persistence in `haproxy.cfg`, mapped to `lb.persistence` and `lb.persist`
//! (docs/scenario.md, "Session persistence"; the model: `model/lb/stickiness.rs`).
//!
//! HAProxy's configuration manual (2.6):
//! - `cookie <name> [ rewrite | insert | prefix ] ...` "Enable cookie-based persistence in a
//!   backend"; a server's `cookie <value>` "will be checked in incoming requests, and the first
//!   operational server possessing the same value will be selected" (§5.2). A server without a
//!   value is never chosen by the cookie, and answers from it carry none: with no value on any
//!   server the `cookie` line persists nothing. `insert` has HAProxy add the cookie; `rewrite`
//!   and `prefix` change the application's own cookie: once the session has one, requests are
//!   routed alike, which is all the model keeps.
//! - `stick on <pattern>` "is exactly equivalent to `stick match` followed by
//!   `stick store-request`"; on `src` it sticks a client address to the server that first
//!   served it (`lb.persistence = "source"`). Other patterns (a header, a URL parameter) have
//!   no counterpart in the model's requests and are listed.
//! - When both are configured the cookie is looked at first (manual, `stick match`: "the
//!   cookie persistence ... is checked before the stick tables"); the model has one
//!   persistence, so the cookie wins and the stick rules are listed.
//! - `option persist` sends a persistent request to its server even when it is DOWN
//!   (`lb.persist`); `no option persist` is the default.

use super::Draft;
use super::Unmapped;
use super::haproxy_cfg::{Config, Kind, Line, Used, find, find_any};

/// A server of the imported backend: its name, line, and `cookie` value if any.
pub type ServerCookie = (String, usize, Option<String>);

/// Maps the persistence of backend `be` (section index) into `d`, marking what it used.
pub fn map(cfg: &Config, be: usize, servers: &[ServerCookie], d: &mut Draft, used: &mut Used) {
    let f = cfg.file.as_str();
    // `cookie` is looked up without marking: a line that persists nothing stays listed.
    let mut probe = Used::new();
    let cookie = find(cfg, be, &["cookie"], &mut probe);
    let valued: Vec<&ServerCookie> = servers.iter().filter(|s| s.2.is_some()).collect();
    let by_cookie = cookie.is_some() && !valued.is_empty();
    let (sticks, lonely) = stick_on_src(cfg, be);
    for &(sec, j) in &lonely {
        let l = &cfg.sections[sec].lines[j];
        d.unmapped.push(Unmapped::new(
            f,
            l.no,
            &l.words,
            "nothing in this backend stores into its table (`stick on`, `stick store-request`), \
             and `stick match` only looks entries up (HAProxy never creates one from it): no \
             persistence",
        ));
        used.insert((sec, j));
    }

    let mut kind = None;
    if let (true, Some(l)) = (by_cookie, cookie) {
        used.extend(probe.iter().copied());
        let mode = l.words.get(2).map(String::as_str).unwrap_or("");
        let mut comment = format!("{f}:{}: {}", l.no, l.words.join(" "));
        if matches!(mode, "rewrite" | "prefix") {
            comment.push_str(&format!(
                " ({mode}: the application's own cookie carries the server, routed alike once set)"
            ));
        }
        if l.words.iter().any(|w| w == "maxidle" || w == "maxlife") {
            comment.push_str(" (maxidle/maxlife not modelled: a cookie lasts its session)");
        }
        kind = Some(("cookie", comment));
        for (name, no, _) in servers.iter().filter(|s| s.2.is_none()) {
            d.unmapped.push(Unmapped::new(
                f,
                *no,
                &[format!("server {name} (no cookie value)")],
                "HAProxy persists no session on a server without `cookie`; the model persists \
                 sessions on every server",
            ));
        }
    }
    if !sticks.is_empty() {
        if kind.is_some() {
            for &(sec, j) in &sticks {
                let l = &cfg.sections[sec].lines[j];
                d.unmapped.push(Unmapped::new(
                    f,
                    l.no,
                    &l.words,
                    "HAProxy checks the cookie before the stick table; the model has one \
                     persistence, the cookie",
                ));
                used.insert((sec, j));
            }
        } else {
            let (sec, j) = sticks[0];
            let l = &cfg.sections[sec].lines[j];
            let mut comment = format!("{f}:{}: {}", l.no, l.words.join(" "));
            if let Some((no, expire)) = expire(cfg, be, l) {
                // The model keeps an entry for the run (model/lb/stickiness.rs); HAProxy drops
                // it `expire` after it was last used (checked on 2.6: `show table` empty 2.5 s
                // after the last request with `expire 2s`). Nothing in a configuration says
                // how long a client waits between requests, so the importer cannot tell whether
                // it matters: it says the figure.
                comment.push_str(&format!(
                    " (the table's entries expire {} after a client's last request, {f}:{no}: \
                     a client that waits longer gets a server chosen afresh; the model keeps \
                     them for the run)",
                    super::text::duration(expire)
                ));
                d.unmapped.push(Unmapped::new(
                    f,
                    no,
                    &[
                        "stick-table".to_string(),
                        "expire".to_string(),
                        super::text::duration(expire),
                    ],
                    "persistence ends when a client waits longer than this between requests; \
                     the model keeps it for the run: compare with your users' think time",
                ));
            }
            kind = Some(("source", comment));
            used.extend(sticks.iter().copied());
            mark_table(
                cfg,
                be,
                sticks.iter().map(|&(s, j)| &cfg.sections[s].lines[j]),
                used,
            );
        }
    }
    let Some((kind, comment)) = kind else {
        return;
    };
    d.set("lb", "persistence", kind, &comment);
    let forms: &[&[&str]] = &[&["option", "persist"], &["no", "option", "persist"]];
    if let Some(l) = find_any(cfg, be, forms, used) {
        d.set(
            "lb",
            "persist",
            l.words[0] != "no",
            &format!("{f}:{}", l.no),
        );
    }
}

/// A line of the configuration: (section, line index).
type Rule = (usize, usize);

/// The backend's `stick on src` and `stick match src` / `stick store-request src` lines
/// (section, line index), unconditional ones only: a rule with `if`/`unless` sticks some
/// requests, which the model cannot say (it is listed). A `stick match` only looks entries up:
/// HAProxy creates them from `stick on` or `stick store-request` alone (manual §4.2, `stick
/// match`: "the table ... will be looked up"; checked on HAProxy 2.6: a table with only
/// `stick match src` stays empty, `show table` used:0, after requests from one client), so a
/// match into a table nothing here stores into persists nothing. Those matches are returned
/// apart, to be listed as such.
fn stick_on_src(cfg: &Config, be: usize) -> (Vec<Rule>, Vec<Rule>) {
    let s = &cfg.sections[be];
    let matches = |w: &[String]| {
        w.len() >= 3
            && w[0] == "stick"
            && matches!(w[1].as_str(), "on" | "match" | "store-request")
            && w[2] == "src"
            && !w.iter().any(|x| x == "if" || x == "unless")
    };
    let found: Vec<(usize, usize)> = s
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| matches(&l.words))
        .map(|(j, _)| (be, j))
        .collect();
    let table = |j: usize| table_of(cfg, be, &s.lines[j]);
    let stores = |t: &str| {
        found.iter().any(|&(_, j)| {
            matches!(s.lines[j].words[1].as_str(), "on" | "store-request") && table(j) == t
        })
    };
    // `store-request` alone stores but never matches; `match` alone matches nothing stored.
    let (lonely, rules): (Vec<Rule>, Vec<Rule>) = found
        .iter()
        .partition(|&&(_, j)| s.lines[j].words[1] == "match" && !stores(table(j)));
    let matching = rules
        .iter()
        .any(|&(_, j)| matches!(s.lines[j].words[1].as_str(), "on" | "match"));
    if matching {
        (rules, lonely)
    } else {
        (vec![], lonely)
    }
}

/// The `expire` of the stick table `rule` uses, in ns, with its line number; None without one
/// (HAProxy then keeps entries until the table is full) or if it is not a time.
fn expire(cfg: &Config, be: usize, rule: &Line) -> Option<(usize, u64)> {
    let name = table_of(cfg, be, rule);
    let proxy = |k: &Kind| matches!(k, Kind::Backend | Kind::Listen | Kind::Frontend);
    let s = cfg
        .sections
        .iter()
        .find(|s| proxy(&s.kind) && s.name == name)?;
    let l = s.lines.iter().find(|l| l.words[0] == "stick-table")?;
    let at = l.words.iter().position(|w| w == "expire")? + 1;
    super::haproxy_cfg::time_arg(cfg, l, at)
        .ok()
        .map(|ns| (l.no, ns))
}

/// The table a stick rule uses: the one `table <name>` names, or its own backend's.
fn table_of<'a>(cfg: &'a Config, be: usize, l: &'a Line) -> &'a str {
    let named = l
        .words
        .iter()
        .position(|w| w == "table")
        .and_then(|p| l.words.get(p + 1));
    named.map_or(cfg.sections[be].name.as_str(), String::as_str)
}

/// Marks the stick table the rules use: the backend's own, or the one `table <name>` names.
fn mark_table<'a>(cfg: &Config, be: usize, rules: impl Iterator<Item = &'a Line>, used: &mut Used) {
    let tables: Vec<&str> = rules.map(|l| table_of(cfg, be, l)).collect();
    for (si, s) in cfg.sections.iter().enumerate() {
        let proxy = matches!(s.kind, Kind::Backend | Kind::Listen | Kind::Frontend);
        if !proxy || !tables.contains(&s.name.as_str()) {
            continue;
        }
        for (j, l) in s.lines.iter().enumerate() {
            if l.words[0] == "stick-table" {
                used.insert((si, j));
            }
        }
    }
}
