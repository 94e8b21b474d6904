//! `[sweep]` and `[montecarlo]`: what to run many times, as opposed to what the system is.

use super::error::Problem;
use super::schema::{MonteCarlo, Sweep};
use crate::engine::SimTime;

/// One swept parameter: an override key path and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub key: String,
    /// Each value as `--set` would take it (TOML text; strings unquoted).
    pub values: Vec<String>,
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
}

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
                }),
                _ => problems.push(Problem::new(
                    &at,
                    "must be a non-empty list of values, e.g. [\"roundrobin\", \"leastconn\"]",
                )),
            }
        }
        spec.sweep = Some(SweepSpec {
            replications,
            parameters,
        });
    }
    if let Some(m) = mc {
        let runs = count(&mut problems, "montecarlo.runs", m.runs, DEFAULT_MC_RUNS);
        let horizon = match m.horizon {
            None => SimTime::from_secs(365 * 86_400),
            Some(toml::Value::String(t)) => match super::parse_duration(&t) {
                Ok(d) if d > SimTime::ZERO => d,
                Ok(_) => {
                    problems.push(Problem::new("montecarlo.horizon", "must be > 0"));
                    SimTime::from_secs(1)
                }
                Err(e) => {
                    problems.push(Problem::new("montecarlo.horizon", e));
                    SimTime::from_secs(1)
                }
            },
            Some(other) => {
                problems.push(Problem::new(
                    "montecarlo.horizon",
                    format!("must be a duration string such as \"365d\", got {other}"),
                ));
                SimTime::from_secs(1)
            }
        };
        spec.montecarlo = Some(MonteCarloSpec { runs, horizon });
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
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
            }),
            Some(MonteCarlo {
                runs: Some(50),
                horizon: Some("30d".into()),
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
            }),
            Some(MonteCarlo {
                runs: None,
                horizon: Some(5.into()),
            }),
        )
        .unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(err[0].key, "sweep.replications");
    }
}
