//! `keepalived.conf` (keepalived.conf(5)): the first `vrrp_instance` makes the load balancer
//! active-passive (`lb.ha`), its `advert_int`, `priority`, `state` and `nopreempt` go to
//! `[lb.vrrp]`, and a tracked `vrrp_script` (or `track_process`) becomes `track_haproxy` with
//! its `interval`, `fall` and `rise`. Everything else is listed as not mapped.

use super::text::{BlockConf, duration, parse_int};
use super::{Draft, IngestError, Unmapped};

pub type Conf = BlockConf;

pub fn parse(file: &str, text: &str) -> Result<Conf, IngestError> {
    Conf::parse(file, text, false)
}

/// keepalived times are seconds, possibly fractional (`advert_int 0.5`).
fn seconds(s: &str) -> Option<u64> {
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v > 0.0 && v < 1e6).then(|| (v * 1e9).round() as u64)
}

/// The VRRP version of an instance: its own `version`, else `global_defs { vrrp_version }`,
/// else 2 (keepalived's default: KA-SRC keepalived/core/global_data.c, domain.md §0).
fn vrrp_version(conf: &Conf, instance: &[super::text::Stmt]) -> u8 {
    let word = |stmts: &[super::text::Stmt], name: &str| {
        stmts
            .iter()
            .find(|s| s.name() == name)
            .and_then(|s| s.words.get(1))
            .and_then(|v| v.parse::<u8>().ok())
    };
    let global = conf
        .stmts
        .iter()
        .find(|s| s.name() == "global_defs")
        .and_then(|g| word(g.block.as_deref().unwrap_or(&[]), "vrrp_version"));
    word(instance, "version").or(global).unwrap_or(2)
}

/// A VRRPv2 advertisement carries its interval in whole seconds, so keepalived rounds a
/// fractional `advert_int` to the nearest second, halves up, and takes 1 s for what rounds to
/// 0 ("VRRPv2 advertisement interval %fs must be an integer - rounding", `vrrp_complete_instance()`
/// in KA-SRC keepalived/vrrp/vrrp.c: `adver_int += TIMER_HZ / 2; adver_int -= adver_int %
/// TIMER_HZ`), at most 255 s ("out of range. Must be less than 256s").
fn v2_advert_int(ns: u64) -> u64 {
    const S: u64 = 1_000_000_000;
    let whole = (ns + S / 2) / S * S;
    whole.clamp(S, 255 * S)
}

pub fn map(conf: &Conf, d: &mut Draft) {
    d.sources.push(conf.file.clone());
    let f = conf.file.as_str();
    let mut listed: Vec<Unmapped> = vec![];
    let instance = conf
        .stmts
        .iter()
        .find(|s| s.name() == "vrrp_instance" && s.block.is_some());
    let mut tracked: Vec<&str> = vec![];
    let mut tracks_process = false;
    if let Some(inst) = instance {
        d.set(
            "lb",
            "ha",
            "active-passive",
            &format!("{f}:{}: vrrp_instance", inst.line),
        );
        let body = inst.block.as_deref().unwrap_or(&[]);
        let v2 = vrrp_version(conf, body) == 2;
        let master = body
            .iter()
            .any(|s| s.name() == "state" && s.words.get(1).map(String::as_str) == Some("MASTER"));
        for s in body {
            let arg = s.words.get(1).map(String::as_str).unwrap_or("");
            let c = format!("{f}:{}", s.line);
            match s.name() {
                "state" => d.set("lb.vrrp", "master_state", arg == "MASTER", &c),
                "advert_int" => match seconds(arg) {
                    Some(t) if v2 && t % 1_000_000_000 != 0 => {
                        let whole = v2_advert_int(t);
                        d.set(
                            "lb.vrrp",
                            "advert_int",
                            duration(whole).as_str(),
                            &format!(
                                "{c}: advert_int {arg} with VRRPv2 (keepalived's default \
                                 version): keepalived rounds it to whole seconds"
                            ),
                        );
                    }
                    Some(t) => d.set("lb.vrrp", "advert_int", duration(t).as_str(), &c),
                    None => {
                        listed.push(Unmapped::new(f, s.line, &s.words, "not a time in seconds"))
                    }
                },
                // The protocol version decides how advert_int is read (above); the model's
                // master-down timer is VRRPv2's.
                "version" if arg == "2" => {}
                "version" => listed.push(Unmapped::new(
                    f,
                    s.line,
                    &s.words,
                    "VRRPv3's skew is (256 - priority) x advert_int / 256; the model's is \
                     VRRPv2's (256 - priority) / 256 s (advert_int is taken as written)",
                )),
                "priority" => match parse_int(arg, 1, 255) {
                    // The model configures the backup at `backup_priority` and the master one
                    // above it: from the master's file, its peer is taken to be one below.
                    Some(p) if master && p >= 2 => d.set(
                        "lb.vrrp",
                        "backup_priority",
                        (p - 1).min(254),
                        &format!("{c}: the MASTER's priority {p}; the backup is taken one below"),
                    ),
                    Some(p) if !master && p <= 254 => d.set("lb.vrrp", "backup_priority", p, &c),
                    _ => listed.push(Unmapped::new(
                        f,
                        s.line,
                        &s.words,
                        "outside what the model takes (1..=254 for the backup)",
                    )),
                },
                "nopreempt" => d.set("lb.vrrp", "preempt", false, &c),
                "track_script" => {
                    for t in s.block.as_deref().unwrap_or(&[]) {
                        tracked.push(t.words[0].as_str());
                        if t.words.len() > 1 {
                            listed.push(Unmapped::new(
                                f,
                                t.line,
                                &t.words[1..],
                                "a per-track weight is not modelled",
                            ));
                        }
                    }
                }
                "track_process" => tracks_process = true,
                _ if s.block.is_some() => listed.push(Unmapped::new(
                    f,
                    s.line,
                    &s.words,
                    format!("`{}` block is not modelled", s.name()),
                )),
                _ => listed.push(Unmapped::new(
                    f,
                    s.line,
                    &s.words,
                    "not modelled (addresses, authentication, ids)",
                )),
            }
        }
    }
    let mut script_mapped = false;
    for s in &conf.stmts {
        if instance.is_some_and(|i| std::ptr::eq(i, s)) {
            continue;
        }
        let arg = s.words.get(1).map(String::as_str).unwrap_or("");
        let is_tracked = (s.name() == "vrrp_script" && tracked.contains(&arg))
            || (s.name() == "vrrp_track_process" && tracks_process);
        if is_tracked && !script_mapped {
            script_mapped = true;
            d.set(
                "lb.vrrp",
                "track_haproxy",
                true,
                &format!("{f}:{}: {} {arg}", s.line, s.name()),
            );
            for b in s.block.as_deref().unwrap_or(&[]) {
                let v = b.words.get(1).map(String::as_str).unwrap_or("");
                let c = format!("{f}:{}", b.line);
                match b.name() {
                    "interval" | "delay" => match seconds(v) {
                        Some(t) => d.set("lb.vrrp", "script_interval", duration(t).as_str(), &c),
                        None => listed.push(Unmapped::new(f, b.line, &b.words, "not a time in seconds")),
                    },
                    "fall" => match parse_int(v, 1, 1000) {
                        Some(n) => d.set("lb.vrrp", "script_fall", n, &c),
                        None => listed.push(Unmapped::new(f, b.line, &b.words, "outside 1..=1000")),
                    },
                    "rise" => match parse_int(v, 1, 1000) {
                        Some(n) => d.set("lb.vrrp", "script_rise", n, &c),
                        None => listed.push(Unmapped::new(f, b.line, &b.words, "outside 1..=1000")),
                    },
                    "weight" if v == "0" => {}
                    "weight" => listed.push(Unmapped::new(
                        f,
                        b.line,
                        &b.words,
                        "a weight shifts the priority; the model puts keepalived in FAULT (weight 0)",
                    )),
                    _ => listed.push(Unmapped::new(f, b.line, &b.words, "the check itself is not modelled, only its outcome")),
                }
            }
            continue;
        }
        let why = match s.name() {
            "vrrp_instance" => "only the first vrrp_instance is imported",
            "vrrp_script" | "vrrp_track_process" => "not tracked by the imported vrrp_instance",
            "virtual_server" => "keepalived's LVS load balancing is not modelled (HAProxy is)",
            _ => "not modelled",
        };
        listed.push(Unmapped::new(f, s.line, &s.words, why));
    }
    listed.sort_by_key(|u| u.line);
    d.unmapped.extend(listed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_and_tracked_script() {
        let text = "vrrp_script chk {\n  script \"killall -0 haproxy\"\n  interval 2\n  fall 2\n  rise 3\n}\n! comment\nvrrp_instance VI_1 {\n  state BACKUP\n  priority 100\n  advert_int 1\n  nopreempt\n  virtual_ipaddress {\n    10.0.0.1\n  }\n  track_script {\n    chk\n  }\n}\n";
        let conf = parse("k.conf", text).unwrap();
        let mut d = Draft::new("t");
        map(&conf, &mut d);
        assert_eq!(d.get("lb", "ha").unwrap().as_str(), Some("active-passive"));
        assert_eq!(
            d.get("lb.vrrp", "backup_priority").unwrap().as_integer(),
            Some(100)
        );
        assert_eq!(d.get("lb.vrrp", "preempt").unwrap().as_bool(), Some(false));
        assert_eq!(
            d.get("lb.vrrp", "script_interval").unwrap().as_str(),
            Some("2s")
        );
        assert_eq!(
            d.get("lb.vrrp", "script_rise").unwrap().as_integer(),
            Some(3)
        );
        assert_eq!(d.unmapped.len(), 2, "{:?}", d.unmapped);
    }

    #[test]
    fn a_vrrp_v2_advert_int_is_whole_seconds_as_keepalived_rounds_it() {
        // keepalived's default VRRPv2 carries whole seconds: `advert_int 0.5` runs at 1 s and
        // 2.5 at 3 s (the master-down timer is 3 x advert_int + skew); VRRPv3 keeps 0.5 s.
        let advert = |global: &str, version: &str, adv: &str| {
            let text = format!(
                "{global}vrrp_instance VI_1 {{\n  state BACKUP\n  priority 100\n{version}  advert_int {adv}\n}}\n"
            );
            let mut d = Draft::new("t");
            map(&parse("k.conf", &text).unwrap(), &mut d);
            d.get("lb.vrrp", "advert_int")
                .and_then(|v| v.as_str().map(String::from))
        };
        assert_eq!(advert("", "", "0.5").as_deref(), Some("1s"));
        assert_eq!(advert("", "", "0.2").as_deref(), Some("1s"));
        assert_eq!(advert("", "", "2.5").as_deref(), Some("3s"));
        assert_eq!(advert("", "", "2").as_deref(), Some("2s"));
        assert_eq!(advert("", "  version 3\n", "0.5").as_deref(), Some("500ms"));
        assert_eq!(
            advert("global_defs {\n  vrrp_version 3\n}\n", "", "0.5").as_deref(),
            Some("500ms")
        );
    }
}
