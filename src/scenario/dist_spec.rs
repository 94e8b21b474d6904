//! Distribution specs: the text or table a scenario uses to name a distribution of times.
//!
//! Two forms, the same parameters:
//!
//! ```text
//! "exp(10ms)"  "det(5ms)"  "5ms"  "uniform(1ms, 3ms)"  "lognormal(10ms, cv=1.5)"
//! "gamma(10ms, cv=0.5)"  "erlang(2, 10ms)"  "weibull(shape=1.5, mean=90d)"
//! "pareto(alpha=1.5, min=1ms, max=1s)"  "empirical(lat.csv, unit=ms)"
//! { dist = "lognormal", mean = "10ms", cv = 1.5 }   { dist = "empirical", file = "lat.csv" }
//! ```
//!
//! Times are durations with a unit; shape parameters are plain numbers. The only I/O here is
//! reading the CSV of an empirical distribution, relative to the scenario's folder.

use std::path::Path;

use crate::dist::{
    BoundedPareto, Deterministic, Dist, DistError, Empirical, Exponential, Gamma, LogNormal,
    Uniform, Weibull,
};

use super::duration::{UNIT_LIST, parse_duration, unit_nanos};

/// The most samples an empirical CSV may hold (10 million: 80 MB of f64).
pub const MAX_EMPIRICAL_SAMPLES: usize = 10_000_000;
/// The largest empirical CSV read: 10 million samples of up to 25 characters. It is read whole,
/// so this is also the memory it may take.
pub const MAX_EMPIRICAL_BYTES: u64 = 256 << 20;

/// Why a spec is not a distribution. `sub` names the key inside a table spec, when one is
/// at fault (`cv` in `{ dist = "lognormal", cv = -1 }`).
#[derive(Clone, Debug, PartialEq)]
pub struct SpecError {
    pub sub: Option<String>,
    pub message: String,
}

impl SpecError {
    fn new(message: impl Into<String>) -> Self {
        SpecError {
            sub: None,
            message: message.into(),
        }
    }

    fn at(sub: &str, message: impl Into<String>) -> Self {
        SpecError {
            sub: Some(sub.to_string()),
            message: message.into(),
        }
    }
}

impl From<DistError> for SpecError {
    fn from(e: DistError) -> Self {
        SpecError::new(e.0)
    }
}

/// The forms accepted, for error messages.
pub const SYNTAX: &str = "a duration (\"5ms\") or exp(mean), det(value), uniform(min, max), \
    lognormal(mean, cv=), gamma(mean, cv=), erlang(k, mean), weibull(shape=, mean=), \
    pareto(alpha=, min=, max=), empirical(file.csv, unit=ms)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Exponential,
    Deterministic,
    Uniform,
    LogNormal,
    Gamma,
    Erlang,
    Weibull,
    Pareto,
    Empirical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A duration with a unit, converted to seconds.
    Time,
    /// A plain real number.
    Number,
    /// A whole number >= 1.
    Count,
    /// Text (a file name or a unit).
    Text,
}

impl Family {
    fn from_name(name: &str) -> Option<Family> {
        Some(match name.to_ascii_lowercase().as_str() {
            "exp" | "exponential" => Family::Exponential,
            "det" | "deterministic" | "const" | "constant" => Family::Deterministic,
            "uniform" | "unif" => Family::Uniform,
            "lognormal" | "lognorm" => Family::LogNormal,
            "gamma" => Family::Gamma,
            "erlang" => Family::Erlang,
            "weibull" => Family::Weibull,
            "pareto" | "bounded-pareto" | "bounded_pareto" => Family::Pareto,
            "empirical" => Family::Empirical,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Family::Exponential => "exponential",
            Family::Deterministic => "deterministic",
            Family::Uniform => "uniform",
            Family::LogNormal => "lognormal",
            Family::Gamma => "gamma",
            Family::Erlang => "erlang",
            Family::Weibull => "weibull",
            Family::Pareto => "pareto",
            Family::Empirical => "empirical",
        }
    }

    /// Parameters, in the order positional arguments fill them.
    fn params(self) -> &'static [(&'static str, Kind)] {
        use Kind::*;
        match self {
            Family::Exponential => &[("mean", Time)],
            Family::Deterministic => &[("value", Time)],
            Family::Uniform => &[("min", Time), ("max", Time)],
            Family::LogNormal => &[("mean", Time), ("cv", Number)],
            Family::Gamma => &[
                ("mean", Time),
                ("cv", Number),
                ("shape", Number),
                ("scale", Time),
            ],
            Family::Erlang => &[("k", Count), ("mean", Time)],
            Family::Weibull => &[("shape", Number), ("mean", Time), ("scale", Time)],
            Family::Pareto => &[("alpha", Number), ("min", Time), ("max", Time)],
            Family::Empirical => &[("file", Text), ("unit", Text)],
        }
    }

    /// How many leading parameters may be given without a name.
    fn positional(self) -> usize {
        match self {
            Family::Gamma | Family::Weibull => 2,
            _ => self.params().len(),
        }
    }

    fn param_names(self) -> String {
        self.params()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An argument before conversion: text from the string form, or a TOML value from a table.
#[derive(Clone, Copy, Debug)]
enum Raw<'a> {
    Text(&'a str),
    Toml(&'a toml::Value),
}

/// The arguments of one spec, bound to parameter names.
struct Args<'a> {
    family: Family,
    /// Whether errors should name a table key (table form) or just the parameter.
    table: bool,
    values: Vec<(&'static str, Kind, Raw<'a>)>,
}

impl<'a> Args<'a> {
    fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _, _)| *n == name)
    }

    fn err(&self, name: &str, message: String) -> SpecError {
        if self.table {
            SpecError::at(name, message)
        } else {
            SpecError::new(format!("{}: {message}", name))
        }
    }

    fn raw(&self, name: &str) -> Result<(Kind, Raw<'a>), SpecError> {
        self.values
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|&(_, k, r)| (k, r))
            .ok_or_else(|| {
                SpecError::new(format!(
                    "{} needs `{name}` (parameters: {})",
                    self.family.name(),
                    self.family.param_names()
                ))
            })
    }

    fn time(&self, name: &str) -> Result<f64, SpecError> {
        let (_, raw) = self.raw(name)?;
        let text = match raw {
            Raw::Text(t) => unquote(t),
            Raw::Toml(toml::Value::String(s)) => s.as_str(),
            Raw::Toml(v @ (toml::Value::Integer(_) | toml::Value::Float(_))) => {
                return Err(self.err(
                    name,
                    format!("{v} has no unit: write it as a string with a unit, e.g. \"{v}ms\""),
                ));
            }
            Raw::Toml(v) => {
                return Err(self.err(
                    name,
                    format!("expected a duration such as \"10ms\", got {}", v.type_str()),
                ));
            }
        };
        parse_duration(text)
            .map(|t| t.as_secs_f64())
            .map_err(|e| self.err(name, e))
    }

    fn number(&self, name: &str) -> Result<f64, SpecError> {
        let (_, raw) = self.raw(name)?;
        let v = match raw {
            Raw::Text(t) => unquote(t).parse::<f64>().ok(),
            Raw::Toml(toml::Value::Integer(i)) => Some(*i as f64),
            Raw::Toml(toml::Value::Float(f)) => Some(*f),
            Raw::Toml(_) => None,
        };
        match v {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(self.err(name, format!("must be a number, got {}", show(raw)))),
        }
    }

    fn count(&self, name: &str) -> Result<u32, SpecError> {
        let (_, raw) = self.raw(name)?;
        let v = match raw {
            Raw::Text(t) => unquote(t).parse::<u32>().ok(),
            Raw::Toml(toml::Value::Integer(i)) => u32::try_from(*i).ok(),
            Raw::Toml(_) => None,
        };
        match v {
            Some(k) if k >= 1 => Ok(k),
            _ => Err(self.err(
                name,
                format!("must be a whole number >= 1, got {}", show(raw)),
            )),
        }
    }

    fn text(&self, name: &str) -> Result<Option<&'a str>, SpecError> {
        if !self.has(name) {
            return Ok(None);
        }
        let (_, raw) = self.raw(name)?;
        match raw {
            Raw::Text(t) => Ok(Some(unquote(t))),
            Raw::Toml(toml::Value::String(s)) => Ok(Some(s.as_str())),
            Raw::Toml(v) => Err(self.err(name, format!("must be a string, got {}", v.type_str()))),
        }
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn show(raw: Raw<'_>) -> String {
    match raw {
        Raw::Text(t) => format!("\"{}\"", t.trim()),
        Raw::Toml(v) => v.to_string(),
    }
}

/// Parses a distribution given as a TOML string or table. `base_dir` is the folder empirical
/// CSV paths are relative to.
pub fn parse_dist(value: &toml::Value, base_dir: &Path) -> Result<Dist, SpecError> {
    match value {
        toml::Value::String(s) => parse_dist_str(s, base_dir).map_err(SpecError::new),
        toml::Value::Table(t) => parse_dist_table(t, base_dir),
        toml::Value::Integer(_) | toml::Value::Float(_) => Err(SpecError::new(format!(
            "{value} has no unit: write a duration such as \"{value}ms\" (a fixed time) or a \
             distribution such as \"exp({value}ms)\""
        ))),
        other => Err(SpecError::new(format!(
            "expected a distribution, as a string ({SYNTAX}) or a table \
             {{ dist = \"exponential\", mean = \"10ms\" }}; got {}",
            other.type_str()
        ))),
    }
}

/// Parses the string form: `"exp(10ms)"`, `"5ms"`, `"lognormal(10ms, cv=1.5)"`...
pub fn parse_dist_str(spec: &str, base_dir: &Path) -> Result<Dist, String> {
    let s = spec.trim();
    let Some(open) = s.find('(') else {
        return match parse_duration(s) {
            Ok(t) => Deterministic::new(t.as_secs_f64())
                .map(Dist::Deterministic)
                .map_err(|e| e.0),
            Err(e) if Family::from_name(s).is_some() => Err(format!(
                "\"{s}\" needs its parameters in parentheses, e.g. \"{s}(10ms)\" ({e})"
            )),
            Err(e) => Err(format!(
                "\"{s}\" is not a distribution: {e}; expected {SYNTAX}"
            )),
        };
    };
    let name = s[..open].trim();
    let family = Family::from_name(name)
        .ok_or_else(|| format!("unknown distribution \"{name}\" in \"{s}\"; expected {SYNTAX}"))?;
    let Some(inner) = s[open + 1..].strip_suffix(')') else {
        return Err(format!("\"{s}\": missing `)` at the end"));
    };
    let mut args = Args {
        family,
        table: false,
        values: Vec::new(),
    };
    let params = family.params();
    let mut seen_named = false;
    if !inner.trim().is_empty() {
        for (i, part) in inner.split(',').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("\"{s}\": empty argument {}", i + 1));
            }
            let (pname, kind, value) = match part.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim();
                    let &(pname, kind) = params.iter().find(|(n, _)| *n == k).ok_or_else(|| {
                        format!(
                            "\"{s}\": {} has no parameter `{k}` (parameters: {})",
                            family.name(),
                            family.param_names()
                        )
                    })?;
                    seen_named = true;
                    (pname, kind, v)
                }
                None => {
                    if i >= family.positional() {
                        return Err(format!(
                            "\"{s}\": too many unnamed arguments; name them \
                             (parameters: {})",
                            family.param_names()
                        ));
                    }
                    if seen_named {
                        return Err(format!(
                            "\"{s}\": unnamed arguments must come before named ones"
                        ));
                    }
                    let (pname, kind) = params[i];
                    (pname, kind, part)
                }
            };
            if args.has(pname) {
                return Err(format!("\"{s}\": `{pname}` is given twice"));
            }
            args.values.push((pname, kind, Raw::Text(value)));
        }
    }
    build(&args, base_dir).map_err(|e| match e.sub {
        Some(sub) => format!("\"{s}\": {sub}: {}", e.message),
        None => format!("\"{s}\": {}", e.message),
    })
}

fn parse_dist_table(t: &toml::Table, base_dir: &Path) -> Result<Dist, SpecError> {
    let name = match t.get("dist") {
        Some(toml::Value::String(n)) => n.as_str(),
        Some(v) => {
            return Err(SpecError::at(
                "dist",
                format!(
                    "must be a distribution name (a string), got {}",
                    v.type_str()
                ),
            ));
        }
        None => {
            return Err(SpecError::new(
                "a distribution table needs `dist` (exponential, deterministic, uniform, \
                 lognormal, gamma, erlang, weibull, pareto, empirical)",
            ));
        }
    };
    let family = Family::from_name(name).ok_or_else(|| {
        SpecError::at(
            "dist",
            format!(
                "unknown distribution \"{name}\"; expected exponential, deterministic, uniform, \
                 lognormal, gamma, erlang, weibull, pareto or empirical"
            ),
        )
    })?;
    let mut args = Args {
        family,
        table: true,
        values: Vec::new(),
    };
    for (k, v) in t {
        if k == "dist" {
            continue;
        }
        let &(pname, kind) = family
            .params()
            .iter()
            .find(|(n, _)| *n == k)
            .ok_or_else(|| {
                SpecError::at(
                    k,
                    format!(
                        "{} has no parameter `{k}` (parameters: {})",
                        family.name(),
                        family.param_names()
                    ),
                )
            })?;
        args.values.push((pname, kind, Raw::Toml(v)));
    }
    // The distributions' own messages start with the parameter at fault ("cv must be ...");
    // point at that key when it is one the table gave.
    build(&args, base_dir).map_err(|mut e| {
        if e.sub.is_none()
            && let Some((name, _, _)) = args
                .values
                .iter()
                .find(|(n, _, _)| e.message.starts_with(&format!("{n} ")))
        {
            e.sub = Some(name.to_string());
        }
        e
    })
}

/// Turns bound arguments into a distribution, checking the parameter combination.
fn build(a: &Args<'_>, base_dir: &Path) -> Result<Dist, SpecError> {
    Ok(match a.family {
        Family::Exponential => Dist::Exponential(Exponential::new(a.time("mean")?)?),
        Family::Deterministic => Dist::Deterministic(Deterministic::new(a.time("value")?)?),
        Family::Uniform => Dist::Uniform(Uniform::new(a.time("min")?, a.time("max")?)?),
        Family::LogNormal => Dist::LogNormal(LogNormal::new(a.time("mean")?, a.number("cv")?)?),
        Family::Gamma => {
            let g = match (a.has("mean"), a.has("cv"), a.has("shape"), a.has("scale")) {
                (true, true, false, false) => Gamma::from_mean_cv(a.time("mean")?, a.number("cv")?),
                (false, false, true, true) => Gamma::new(a.number("shape")?, a.time("scale")?),
                (true, false, true, false) => {
                    let shape = a.number("shape")?;
                    if !(shape.is_finite() && shape > 0.0) {
                        return Err(a.err("shape", format!("must be > 0, got {shape}")));
                    }
                    Gamma::new(shape, a.time("mean")? / shape)
                }
                _ => {
                    return Err(SpecError::new(
                        "gamma takes either mean and cv, or shape and scale, or shape and mean",
                    ));
                }
            };
            Dist::Gamma(g?)
        }
        Family::Erlang => Dist::Gamma(Gamma::erlang(a.count("k")?, a.time("mean")?)?),
        Family::Weibull => {
            let shape = a.number("shape")?;
            let w = match (a.has("mean"), a.has("scale")) {
                (true, false) => Weibull::from_shape_mean(shape, a.time("mean")?),
                (false, true) => Weibull::new(shape, a.time("scale")?),
                _ => {
                    return Err(SpecError::new(
                        "weibull takes shape and exactly one of mean or scale",
                    ));
                }
            };
            Dist::Weibull(w?)
        }
        Family::Pareto => Dist::Pareto(BoundedPareto::new(
            a.number("alpha")?,
            a.time("min")?,
            a.time("max")?,
        )?),
        Family::Empirical => {
            let file = a.text("file")?.ok_or_else(|| {
                SpecError::new("empirical needs `file`, a CSV of samples (one value per line)")
            })?;
            let unit = a.text("unit")?.unwrap_or("s");
            let per = unit_nanos(unit).ok_or_else(|| {
                a.err(
                    "unit",
                    format!("unknown unit \"{unit}\" (units: {UNIT_LIST})"),
                )
            })?;
            let path = base_dir.join(file);
            let samples = read_samples(&path, per as f64 * 1e-9).map_err(|m| a.err("file", m))?;
            Dist::Empirical(
                Empirical::new(samples)
                    .map_err(|e| a.err("file", format!("{}: {}", path.display(), e.0)))?,
            )
        }
    })
}

/// Reads a one-column CSV of samples: one value per line, an optional header line, `#`
/// comments and blank lines ignored. A value is a number in `unit_secs` seconds, or a duration
/// with its own unit (`"12ms"`). Errors name the file and the line.
pub fn read_samples(path: &Path, unit_secs: f64) -> Result<Vec<f64>, String> {
    let shown = path.display();
    // Only a regular file, and only so much of it: `/dev/zero` would exhaust memory and
    // `/dev/stdin` or a FIFO block forever.
    let mut samples = Vec::new();
    super::input::for_each_value(path, MAX_EMPIRICAL_BYTES, "value", |line, field, first| {
        let value = match field.parse::<f64>() {
            Ok(x) => Some(x * unit_secs),
            Err(_) => parse_duration(field).ok().map(|t| t.as_secs_f64()),
        };
        match value {
            Some(x) if x.is_finite() && x >= 0.0 => samples.push(x),
            Some(_) => {
                return Err(format!(
                    "{shown} line {line}: \"{field}\" must be a finite number >= 0"
                ));
            }
            None if first => {} // a header
            None => {
                return Err(format!(
                    "{shown} line {line}: \"{field}\" is not a number or a duration"
                ));
            }
        }
        if samples.len() > MAX_EMPIRICAL_SAMPLES {
            return Err(format!(
                "{shown}: more than {MAX_EMPIRICAL_SAMPLES} samples; subsample the file"
            ));
        }
        Ok(())
    })?;
    if samples.is_empty() {
        return Err(format!("{shown}: no samples (expected one value per line)"));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Sample;

    fn d(s: &str) -> Dist {
        parse_dist_str(s, Path::new(".")).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn t(toml_text: &str) -> Result<Dist, SpecError> {
        let table: toml::Table = toml::from_str(&format!("x = {toml_text}")).unwrap();
        parse_dist(&table["x"], Path::new("."))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-9)
    }

    #[test]
    fn string_forms() {
        assert_eq!(d("exp(10ms)"), Dist::exp(0.01).unwrap());
        assert_eq!(d("exponential(mean=10ms)"), Dist::exp(0.01).unwrap());
        assert_eq!(d("det(5ms)"), Dist::det(0.005).unwrap());
        assert_eq!(d("5ms"), Dist::det(0.005).unwrap());
        assert!(d("0s").is_zero());
        assert!(d("det(0s)").is_zero());
        assert_eq!(
            d("uniform(1ms, 3ms)"),
            Dist::Uniform(Uniform::new(0.001, 0.003).unwrap())
        );
        let ln = d("lognormal(10ms, cv=1.5)");
        assert!(close(ln.mean(), 0.01) && close(ln.cv(), 1.5));
        assert_eq!(d("lognormal(10ms, 1.5)"), ln);
        let g = d("gamma(10ms, cv=0.5)");
        assert!(close(g.mean(), 0.01) && close(g.cv(), 0.5));
        let g2 = d("gamma(shape=4, scale=2.5ms)");
        assert!(close(g2.mean(), 0.01) && close(g2.cv(), 0.5));
        let g3 = d("gamma(shape=4, mean=10ms)");
        assert!(close(g3.mean(), 0.01));
        let e = d("erlang(2, 10ms)");
        assert!(close(e.mean(), 0.01) && close(e.cv(), 1.0 / 2f64.sqrt()));
        let w = d("weibull(shape=1.5, mean=90d)");
        assert!((w.mean() / (90.0 * 86400.0) - 1.0).abs() < 1e-9);
        let w2 = d("weibull(1.5, 90d)");
        assert_eq!(w, w2);
        let w3 = d("weibull(shape=1, scale=1s)");
        assert!(close(w3.mean(), 1.0));
        let p = d("pareto(alpha=1.5, min=1ms, max=1s)");
        assert_eq!(
            p,
            Dist::Pareto(BoundedPareto::new(1.5, 0.001, 1.0).unwrap())
        );
        assert_eq!(d("PARETO(1.5, 1ms, 1s)"), p);
        assert_eq!(d("  exp( 10ms )  "), Dist::exp(0.01).unwrap());
    }

    #[test]
    fn string_errors() {
        let bad = |s: &str| parse_dist_str(s, Path::new(".")).unwrap_err();
        assert!(bad("normal(1ms)").contains("unknown distribution \"normal\""));
        assert!(bad("exp").contains("parentheses"));
        assert!(bad("exp(10)").contains("no unit"));
        assert!(bad("exp(10ms").contains("missing `)`"));
        assert!(bad("exp(10ms, 3ms)").contains("too many"));
        assert!(bad("lognormal(10ms)").contains("needs `cv`"));
        assert!(bad("lognormal(10ms, cv=0)").contains("cv must be"));
        assert!(bad("lognormal(10ms, cv=-1)").contains("cv"));
        assert!(bad("lognormal(10ms, sigma=1)").contains("no parameter `sigma`"));
        assert!(bad("lognormal(cv=1, 10ms)").contains("before named"));
        assert!(bad("exp(mean=1ms, mean=2ms)").contains("twice"));
        assert!(bad("gamma(10ms)").contains("either"));
        assert!(bad("erlang(0, 10ms)").contains(">= 1"));
        assert!(bad("erlang(1.5, 10ms)").contains(">= 1"));
        assert!(bad("weibull(shape=2)").contains("exactly one"));
        assert!(bad("pareto(alpha=1.5, min=1s, max=1ms)").contains("max"));
        assert!(bad("uniform(3ms, 1ms)").contains("max"));
        assert!(bad("exp(0s)").contains("mean"));
        assert!(bad("exp(,)").contains("empty argument"));
        assert!(bad("lognormal(10ms, cv=abc)").contains("must be a number"));
        assert!(bad("5").contains("no unit"));
        assert!(bad("").contains("not a distribution"));
        assert!(bad("empirical(/nonexistent/x.csv)").contains("cannot read"));
    }

    #[test]
    fn table_forms() {
        assert_eq!(
            t("{ dist = \"exponential\", mean = \"10ms\" }").unwrap(),
            Dist::exp(0.01).unwrap()
        );
        let ln = t("{ dist = \"lognormal\", mean = \"10ms\", cv = 1.5 }").unwrap();
        assert!(close(ln.cv(), 1.5));
        assert_eq!(
            t("{ dist = \"erlang\", k = 3, mean = \"30ms\" }").unwrap(),
            Dist::Gamma(Gamma::erlang(3, 0.03).unwrap())
        );
        assert_eq!(t("\"det(1s)\"").unwrap(), Dist::det(1.0).unwrap());

        let e = t("{ dist = \"lognormal\", mean = \"10ms\", cv = -1 }").unwrap_err();
        assert!(e.message.contains("cv"), "{e:?}");
        let e = t("{ dist = \"exponential\", mean = 10 }").unwrap_err();
        assert_eq!(e.sub.as_deref(), Some("mean"));
        assert!(e.message.contains("no unit"));
        let e = t("{ dist = \"exponential\", mean = \"10ms\", cv = 1 }").unwrap_err();
        assert_eq!(e.sub.as_deref(), Some("cv"));
        let e = t("{ dist = \"normal\", mean = \"10ms\" }").unwrap_err();
        assert_eq!(e.sub.as_deref(), Some("dist"));
        assert!(
            t("{ mean = \"10ms\" }")
                .unwrap_err()
                .message
                .contains("needs `dist`")
        );
        assert!(t("10").unwrap_err().message.contains("no unit"));
        assert!(
            t("true")
                .unwrap_err()
                .message
                .contains("expected a distribution")
        );
    }

    #[test]
    fn empirical_csv() {
        let dir = std::env::temp_dir().join(format!("infrasim-emp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lat.csv"), "latency_ms\n# comment\n10\n20\n\n30\n").unwrap();
        let e = parse_dist_str("empirical(lat.csv, unit=ms)", &dir).unwrap();
        assert!(close(e.mean(), 0.02));
        let e2 = parse_dist(
            &toml::Value::Table(
                toml::from_str("dist = \"empirical\"\nfile = \"lat.csv\"\nunit = \"ms\"").unwrap(),
            ),
            &dir,
        )
        .unwrap();
        assert_eq!(e, e2);
        // Default unit: seconds; values may carry their own unit.
        std::fs::write(dir.join("s.csv"), "0.5\n1.5\n250ms\n").unwrap();
        let s = parse_dist_str("empirical(s.csv)", &dir).unwrap();
        assert!(close(s.mean(), 0.75));

        std::fs::write(dir.join("bad.csv"), "1\n2\nx\n").unwrap();
        let err = parse_dist_str("empirical(bad.csv)", &dir).unwrap_err();
        assert!(err.contains("bad.csv line 3"), "{err}");
        std::fs::write(dir.join("neg.csv"), "1\n-2\n").unwrap();
        let err = parse_dist_str("empirical(neg.csv)", &dir).unwrap_err();
        assert!(err.contains("neg.csv line 2"), "{err}");
        std::fs::write(dir.join("two.csv"), "1,2\n").unwrap();
        let err = parse_dist_str("empirical(two.csv)", &dir).unwrap_err();
        assert!(err.contains("one value per line"), "{err}");
        std::fs::write(dir.join("empty.csv"), "header\n").unwrap();
        let err = parse_dist_str("empirical(empty.csv)", &dir).unwrap_err();
        assert!(err.contains("no samples"), "{err}");
        let err = parse_dist_str("empirical(lat.csv, unit=parsec)", &dir).unwrap_err();
        assert!(err.contains("unknown unit"), "{err}");
        // Not a regular file: refused before reading (a device could be endless or block).
        let err = parse_dist_str("empirical(.)", &dir).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        if Path::new("/dev/zero").exists() {
            let err = parse_dist_str("empirical(/dev/zero)", &dir).unwrap_err();
            assert!(err.contains("not a regular file"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
