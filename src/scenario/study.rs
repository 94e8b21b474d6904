//! `[sweep]` and `[montecarlo]`: what to run many times, as opposed to what the system is.

use super::error::Problem;
use super::schema::{MonteCarlo, Sweep};
use crate::engine::SimTime;
use crate::model::degraded::{DegradedSpec, OverloadMode};

/// One swept parameter: an override key path and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub key: String,
    /// Each value as `--set` would take it (TOML text; strings unquoted).
    pub values: Vec<String>,
    /// A reader's name for each value (`[sweep] labels`), or empty: then reports write
    /// `key=value`.
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    pub replications: u32,
    pub parameters: Vec<Parameter>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MonteCarloSpec {
    pub runs: u32,
    pub horizon: SimTime,
    /// What degraded states do to requests.
    pub degraded: DegradedSpec,
}

/// Longest measured window of a degraded state's request-level run.
pub const MAX_STATE_RUN: SimTime = SimTime::from_secs(3600);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StudySpec {
    pub sweep: Option<SweepSpec>,
    pub montecarlo: Option<MonteCarloSpec>,
}

/// Most replications or runs one study may ask for.
pub const MAX_RUNS: i64 = 1_000_000;
pub const DEFAULT_REPLICATIONS: u32 = 10;
pub const DEFAULT_MC_RUNS: u32 = 1000;

pub fn build(sweep: Option<Sweep>, mc: Option<MonteCarlo>) -> Result<StudySpec, Vec<Problem>> {
    let mut problems = vec![];
    let mut spec = StudySpec::default();
    if let Some(s) = sweep {
        let replications = count(
            &mut problems,
            "sweep.replications",
            s.replications,
            DEFAULT_REPLICATIONS,
        );
        let mut parameters = vec![];
        for (key, v) in s.parameters.unwrap_or_default() {
            let at = format!("sweep.parameters.\"{key}\"");
            match v {
                toml::Value::Array(items) if !items.is_empty() => parameters.push(Parameter {
                    key,
                    values: items.iter().map(value_text).collect(),
                    labels: vec![],
                }),
                _ => problems.push(Problem::new(
                    &at,
                    "must be a non-empty list of values, e.g. [\"roundrobin\", \"leastconn\"]",
                )),
            }
        }
        let keys: Vec<&str> = parameters.iter().map(|p| p.key.as_str()).collect();
        for (i, key) in keys.iter().enumerate() {
            let at = format!("sweep.parameters.\"{key}\"");
            if key.trim() != *key {
                // A quoted TOML key is exact text: "workload.rate " is not the key a reader
                // sees, and sweep.csv's column would carry the space. The command line trims
                // instead (as --set does), where the spaces come from shell quoting.
                problems.push(Problem::new(
                    &at,
                    "has spaces around the key path: write it without them",
                ));
            } else if let Some(why) = unsweepable(key) {
                problems.push(Problem::new(&at, why));
            } else if let Some(earlier) = keys[..i].iter().find(|k| overlap(key, k).is_some()) {
                let why = overlap(key, earlier).unwrap_or_default();
                problems.push(Problem::new(
                    &at,
                    format!("{why} `{earlier}`, also swept here: sweep each value once"),
                ));
            }
        }
        super::sweep_labels::attach(&mut problems, &mut parameters, s.labels);
        spec.sweep = Some(SweepSpec {
            replications,
            parameters,
        });
    }
    if let Some(m) = mc {
        let runs = count(&mut problems, "montecarlo.runs", m.runs, DEFAULT_MC_RUNS);
        let horizon = duration(
            &mut problems,
            "montecarlo.horizon",
            m.horizon,
            SimTime::from_secs(365 * 86_400),
            None,
        );
        let mut degraded = DegradedSpec::default();
        match m.overload.as_deref() {
            None | Some("runs") => {}
            Some("capacity") => degraded.mode = OverloadMode::Capacity,
            Some("none") => degraded.mode = OverloadMode::None,
            Some(other) => problems.push(Problem::new(
                "montecarlo.overload",
                format!("must be \"runs\", \"capacity\" or \"none\", got \"{other}\""),
            )),
        }
        match m.min_servers {
            None => {}
            Some(k) if (1..=i64::from(u16::MAX)).contains(&k) => {
                degraded.min_servers = Some(k as u32)
            }
            Some(k) => problems.push(Problem::new(
                "montecarlo.min_servers",
                format!("must be a whole number from 1 to the number of servers, got {k}"),
            )),
        }
        if m.state_run.is_some() {
            degraded.state_run = Some(duration(
                &mut problems,
                "montecarlo.state_run",
                m.state_run,
                MAX_STATE_RUN,
                Some(MAX_STATE_RUN),
            ));
        }
        spec.montecarlo = Some(MonteCarloSpec {
            runs,
            horizon,
            degraded,
        });
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}

/// Why `key` cannot be swept, if it cannot: `[sweep]` and `[montecarlo]` say how a study
/// runs, not what a point is, so a point that changes them runs exactly as the others (and
/// its row in sweep.csv says otherwise).
pub fn unsweepable(key: &str) -> Option<String> {
    let path = super::keypath::KeyPath::parse(key).ok()?;
    match path.0.first() {
        Some(super::keypath::Seg::Key(k)) if k == "sweep" => Some(format!(
            "`{key}` is a setting of the sweep, not a scenario value: each point would run \
             the same (set sweep.replications or --replications once)"
        )),
        Some(super::keypath::Seg::Key(k)) if k == "montecarlo" => Some(format!(
            "`{key}` has no effect on a sweep (its points are request-level runs, not Monte \
             Carlo studies): each point would run the same"
        )),
        _ => None,
    }
}

/// How swept key `a` overlaps `b` ("`a` holds `b`"), if it does: the same value (in any spelling the key
/// paths parse to), or one inside the other (`workload` and `workload.rate`), so that the
/// later override decides what a point runs and the other's column in sweep.csv is false.
pub fn overlap(a: &str, b: &str) -> Option<&'static str> {
    use super::keypath::KeyPath;
    let (Ok(pa), Ok(pb)) = (KeyPath::parse(a), KeyPath::parse(b)) else {
        return (a.trim() == b.trim()).then_some("is the same key as");
    };
    if pa == pb {
        Some("is the same key as")
    } else if pa.is_prefix_of(&pb) {
        Some("holds")
    } else if pb.is_prefix_of(&pa) {
        Some("is inside")
    } else {
        None
    }
}

/// A positive duration string at `key`, at most `max`.
fn duration(
    problems: &mut Vec<Problem>,
    key: &str,
    v: Option<toml::Value>,
    default: SimTime,
    max: Option<SimTime>,
) -> SimTime {
    match v {
        None => default,
        Some(toml::Value::String(t)) => match super::parse_duration(&t) {
            Ok(d) if d == SimTime::ZERO => {
                problems.push(Problem::new(key, "must be > 0"));
                default
            }
            Ok(d) if max.is_some_and(|m| d > m) => {
                let m = max.unwrap_or(d);
                problems.push(Problem::new(key, format!("must be at most {m}, got {t}")));
                default
            }
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem::new(key, e));
                default
            }
        },
        Some(other) => {
            problems.push(Problem::new(
                key,
                format!("must be a duration string such as \"365d\", got {other}"),
            ));
            default
        }
    }
}

fn count(problems: &mut Vec<Problem>, key: &str, v: Option<i64>, default: u32) -> u32 {
    match v {
        None => default,
        Some(n) if (1..=MAX_RUNS).contains(&n) => n as u32,
        Some(n) => {
            problems.push(Problem::new(
                key,
                format!("must be a whole number from 1 to {MAX_RUNS}, got {n}"),
            ));
            default
        }
    }
}

/// A TOML value as `--set` takes it: strings without quotes, everything else as TOML.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses `--sweep key=v1,v2,...` (values split on commas outside brackets and quotes).
pub fn parse_sweep_arg(arg: &str) -> Result<Parameter, String> {
    let Some((key, rest)) = arg.split_once('=') else {
        return Err(format!(
            "--sweep {arg}: expected KEY.PATH=V1,V2,... (e.g. lb.algorithm=roundrobin,leastconn)"
        ));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("--sweep {arg}: the key path is empty"));
    }
    let mut values = vec![];
    let (mut depth, mut quote, mut cur) = (0i32, false, String::new());
    for ch in rest.chars() {
        match ch {
            '"' => {
                quote = !quote;
                cur.push(ch)
            }
            '[' | '{' | '(' if !quote => {
                depth += 1;
                cur.push(ch)
            }
            ']' | '}' | ')' if !quote => {
                depth -= 1;
                cur.push(ch)
            }
            ',' if !quote && depth == 0 => values.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    values.push(cur);
    let values: Vec<String> = values.into_iter().map(|v| v.trim().to_string()).collect();
    if values.iter().any(|v| v.is_empty()) {
        return Err(format!("--sweep {arg}: empty value in the list"));
    }
    Ok(Parameter {
        key: key.to_string(),
        values,
        labels: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_arg_splits_outside_parentheses() {
        let p = parse_sweep_arg("lb.algorithm=roundrobin,random(2),leastconn").unwrap();
        assert_eq!(p.key, "lb.algorithm");
        assert_eq!(p.values, vec!["roundrobin", "random(2)", "leastconn"]);
        assert!(parse_sweep_arg("novalue").is_err());
        assert!(parse_sweep_arg("a=1,,2").is_err());
    }

    fn sweep_problems(keys: &[&str]) -> Vec<String> {
        let mut params = toml::Table::new();
        for k in keys {
            params.insert(k.to_string(), toml::Value::Array(vec![1.into(), 2.into()]));
        }
        let sweep = Sweep {
            replications: None,
            parameters: Some(params),
            labels: None,
        };
        match build(Some(sweep), None) {
            Ok(_) => vec![],
            Err(e) => e
                .iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect(),
        }
    }

    #[test]
    fn overlapping_or_idle_sweep_keys_are_refused() {
        assert!(sweep_problems(&["workload.rate", "lb.algorithm"]).is_empty());
        let p = sweep_problems(&["workload.rate", "workload.rate "]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("sweep.parameters.\"workload.rate \": has spaces"));
        let p = sweep_problems(&["workload.rate", "workload"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("workload"), "{p:?}");
        let p = sweep_problems(&["servers[1].speed", "servers[ 1 ].speed"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("same key"), "{p:?}");
        for k in ["sweep.replications", "montecarlo.runs"] {
            let p = sweep_problems(&[k]);
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(
                p[0].starts_with(&format!("sweep.parameters.\"{k}\"")),
                "{p:?}"
            );
        }
        assert_eq!(overlap("workload.rate", "workload"), Some("is inside"));
        assert_eq!(overlap("workload", "workload.rate"), Some("holds"));
        assert_eq!(overlap("workload.rate", "workload.rates"), None);
    }

    #[test]
    fn sections_parse_with_defaults_and_errors() {
        let mut params = toml::Table::new();
        params.insert(
            "workload.rate".into(),
            toml::Value::Array(vec![100.into(), 200.into()]),
        );
        let spec = build(
            Some(Sweep {
                replications: None,
                parameters: Some(params),
                labels: None,
            }),
            Some(MonteCarlo {
                runs: Some(50),
                horizon: Some("30d".into()),
                ..Default::default()
            }),
        )
        .unwrap();
        let s = spec.sweep.unwrap();
        assert_eq!(s.replications, DEFAULT_REPLICATIONS);
        assert_eq!(s.parameters[0].values, vec!["100", "200"]);
        assert_eq!(
            spec.montecarlo.unwrap().horizon,
            SimTime::from_secs(30 * 86_400)
        );
        let err = build(
            Some(Sweep {
                replications: Some(0),
                parameters: None,
                labels: None,
            }),
            Some(MonteCarlo {
                runs: None,
                horizon: Some(5.into()),
                overload: Some("maybe".into()),
                min_servers: Some(0),
                state_run: Some("2h".into()),
            }),
        )
        .unwrap_err();
        let keys: Vec<&str> = err.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sweep.replications",
                "montecarlo.horizon",
                "montecarlo.overload",
                "montecarlo.min_servers",
                "montecarlo.state_run"
            ]
        );
    }
}
