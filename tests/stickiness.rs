//! Session persistence (`[lb] persistence`): sticky sessions keep their server while it is up,
//! move when it goes down and stay on the new one, and without `option redispatch` (or with
//! `option persist`) they behave as HAProxy's manual says (`model/lb/stickiness.rs`).
//!
//! The checks are exact counts, not tolerances:
//! - with no failure and no warm-up, every request but each session's (or address's) first is
//!   sent straight to its stored server, and no session ever changes server: `direct` =
//!   requests − first requests, `moved` = 0;
//! - after a crash, a session moves at most once (`max_moves` = 1: it stays on its new server);
//! - `option persist` without redispatch never rebalances a session (`rebalanced` = `moved` = 0)
//!   and its requests fail for the whole outage; with redispatch the last retry takes them
//!   elsewhere and none fails for want of a connection.

mod common;
use common::*;

use infrasim::model::lb::stickiness::PersistenceReport;
use infrasim::model::*;
use std::collections::HashSet;

fn load(text: &str) -> Config {
    infrasim::scenario::load_str(text, std::path::Path::new("sticky.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .config
}

/// Four servers, roundrobin, 300 users in sessions of 10 one-request pages.
fn users_scenario(lb_extra: &str, health: &str, faults: &str) -> String {
    format!(
        r#"
        duration = "300s"
        warmup = "0s"
        [workload]
        clients = 1000
        [workload.users]
        count = 300
        think = "exp(2s)"
        pages = 10
        requests = 1
        [[workload.mix]]
        app = "exp(5ms)"
        [lb]
        algorithm = "roundrobin"
        {lb_extra}
        [defaults.server]
        app_workers = 4
        [[servers]]
        name = "web-01"
        [[servers]]
        name = "web-02"
        [[servers]]
        name = "web-03"
        [[servers]]
        name = "web-04"
        [health]
        inter = "2s"
        fall = 3
        retries = 3
        {health}
        {faults}
        "#
    )
}

fn persistence(r: &RunResults) -> &PersistenceReport {
    r.persistence.as_ref().expect("a persistence block")
}

const CRASH: &str = "[[faults]]\ntarget = \"web-01\"\nkind = \"crash\"\nat = \"100s\"\n";

#[test]
fn cookie_sessions_keep_their_server_while_it_is_up() {
    let cfg = load(&users_scenario("persistence = \"cookie\"", "", ""));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let p = persistence(&r);
    let sessions = r.users.as_ref().unwrap().sessions;
    assert_eq!(r.requests.failed, 0);
    // Each session's first request is balanced (no cookie yet); every other goes direct.
    assert_eq!(p.direct, r.requests.arrived - sessions, "{p:?}");
    assert_eq!((p.moved, p.rebalanced, p.max_moves), (0, 0, 0), "{p:?}");
    // Without persistence roundrobin spreads a session's pages over the servers.
    let free = Stack::run(&load(&users_scenario("", "", "")), 0);
    assert!(free.persistence.is_none());
}

#[test]
fn stick_on_source_keeps_each_address_on_one_server() {
    let cfg = load(
        r#"
        duration = "60s"
        warmup = "0s"
        [workload]
        rate = 300
        clients = 500
        [lb]
        algorithm = "leastconn"
        persistence = "source"
        [[servers]]
        name = "web-01"
        [[servers]]
        name = "web-02"
        [[servers]]
        name = "web-03"
        "#,
    );
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    check_rebuilt(&r, &arr);
    let addresses: HashSet<u32> = arr.iter().map(|(_, w)| w.client_ip).collect();
    let p = persistence(&r);
    assert_eq!(
        p.direct,
        r.requests.arrived - addresses.len() as u64,
        "{p:?}"
    );
    assert_eq!((p.moved, p.max_moves), (0, 0));
}

#[test]
fn sessions_move_when_their_server_goes_down_and_stay() {
    let cfg = load(&users_scenario(
        "persistence = \"cookie\"",
        "redispatch = true",
        CRASH,
    ));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let p = persistence(&r);
    // About a quarter of the live sessions were on web-01: each moves once, and stays.
    assert!(p.moved > 10, "{p:?}");
    assert_eq!(p.max_moves, 1, "{p:?}");
    // The last retry goes elsewhere (option redispatch): no request fails for want of a
    // connection.
    assert_eq!(errors(&r, "connect_failed_503"), 0);
}

#[test]
fn without_redispatch_and_with_persist_as_haproxy_documents() {
    // No redispatch: sessions on web-01 fail until the checks mark it DOWN, then they are
    // balanced anew ("option persist": by default a request whose cookie names a dead server
    // is redispatched) and move once.
    let plain = Stack::run(
        &load(&users_scenario("persistence = \"cookie\"", "", CRASH)),
        0,
    );
    check_run(&plain);
    let p = persistence(&plain);
    assert!(p.rebalanced > 0 && p.moved > 0, "{p:?}");
    assert_eq!(p.max_moves, 1);
    let failed_plain = errors(&plain, "connect_failed_503");
    assert!(failed_plain > 0);

    // option persist, no redispatch: they stay on the dead server ("clients may definitely
    // stick to it"): never rebalanced, failing for the rest of the run.
    let persist = Stack::run(
        &load(&users_scenario(
            "persistence = \"cookie\"\npersist = true",
            "",
            CRASH,
        )),
        0,
    );
    check_run(&persist);
    let q = persistence(&persist);
    assert_eq!((q.rebalanced, q.moved), (0, 0), "{q:?}");
    let failed_persist = errors(&persist, "connect_failed_503");
    assert!(
        failed_persist as f64
            > failed_plain as f64 + Z_999 * ((failed_plain + failed_persist) as f64).sqrt(),
        "persist {failed_persist} vs {failed_plain}"
    );

    // option persist with redispatch: the last retry breaks the persistence; each session
    // moves once and nothing fails for want of a connection.
    let both = Stack::run(
        &load(&users_scenario(
            "persistence = \"cookie\"\npersist = true",
            "redispatch = true",
            CRASH,
        )),
        0,
    );
    check_run(&both);
    let b = persistence(&both);
    assert!(b.moved > 0 && b.max_moves == 1, "{b:?}");
    assert_eq!(errors(&both, "connect_failed_503"), 0);
    eprintln!(
        "connect failures: {failed_plain} without redispatch, {failed_persist} with persist, 0 \
         with persist + redispatch; moves {} / {} / {}",
        p.moved, q.moved, b.moved
    );
}
