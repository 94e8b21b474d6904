//! `--set key.path=value`: change a scenario without editing the file.
//!
//! The value is read as a TOML value (`--set workload.rate=800`, `--set lb.maxconn=0`), or as a
//! string when it is not valid TOML (`--set lb.algorithm=leastconn`,
//! `--set workload.mix[0].app=exp(5ms)`). Paths use dots and `[i]` indices into arrays of
//! tables (`servers[1].weight=2`). `<list>.count=N` resizes `servers`, `database.replicas` or any
//! array of tables: extra entries copy the last one (with the next name: `web-02` -> `web-03`),
//! so `--set servers.count=3` asks "what if there were three servers?", and
//! `--set faults.count=0` "what if nothing failed?".
//!
//! Overrides edit the parsed document before it is checked, so an overridden value is validated
//! exactly like one written in the file. Whether a key exists is decided by the schema there;
//! here we only refuse paths that cannot be walked (an index out of range, a key under a number).

use std::collections::HashSet;

use toml::Value;

use super::build::{MAX_SERVERS, replica_default_name, server_default_name};
use super::error::Problem;
use super::keypath::{KeyPath, Seg};

/// Most values (tables, lists and scalars, counted recursively) a document may hold after
/// `<list>.count=N` copies entries: a scenario has a few hundred, and copies of lists holding
/// copies of lists would otherwise grow without bound (1024^k values after k nested resizes).
pub const MAX_VALUES: usize = super::input::MAX_ITEMS;

/// One applied override: its text, and the parts of the document it changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub text: String,
    /// Everything at or under these paths comes from the override.
    pub covers: Vec<KeyPath>,
    /// These paths were changed by the override, but what is under them may come from the file
    /// (a list whose length the override changed).
    pub touches: Vec<KeyPath>,
}

/// The lists that may also be written as a bare count (`servers = 3`).
fn is_count_shorthand(path: &KeyPath) -> bool {
    let s = path.to_string();
    s == "servers" || s == "database.replicas"
}

/// The lists of tables the schema knows (besides the count shorthands): an absent one stands
/// for an empty list, so `faults.count=1` and `faults[0].at=...` can be walked into.
fn is_table_list(path: &KeyPath) -> bool {
    matches!(
        path.to_string().as_str(),
        "faults" | "random_faults" | "workload.mix" | "workload.phases"
    )
}

/// The entries a count shorthand stands for: tables holding only the default name.
fn materialize(path: &KeyPath, n: i64) -> Result<Vec<Value>, String> {
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n <= MAX_SERVERS)
        .ok_or_else(|| format!("`{path} = {n}` must be between 0 and {MAX_SERVERS}"))?;
    let servers = path.to_string() == "servers";
    Ok((0..n)
        .map(|i| {
            let name = if servers {
                server_default_name(i, n)
            } else {
                replica_default_name(i)
            };
            let mut t = toml::Table::new();
            t.insert("name".into(), Value::String(name));
            Value::Table(t)
        })
        .collect())
}

/// Reads an override value: TOML if it parses as a TOML value, else the text as a string.
pub fn parse_value(text: &str) -> Value {
    let doc = format!("v = {text}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) if t.len() == 1 => t.remove("v").unwrap_or(Value::String(text.to_string())),
        _ => Value::String(text.to_string()),
    }
}

/// Applies `overrides` in order to `root`. Returns what was applied and the problems found;
/// an override with a problem changes nothing.
pub fn apply(root: &mut toml::Table, overrides: &[String]) -> (Vec<Applied>, Vec<Problem>) {
    let mut applied = Vec::new();
    let mut problems = Vec::new();
    let mut doc = Value::Table(std::mem::take(root));
    for text in overrides {
        let Some((path_text, value_text)) = text.split_once('=') else {
            problems.push(Problem::new(
                "",
                format!("--set {text}: expected key.path=value (e.g. --set workload.rate=800)"),
            ));
            continue;
        };
        let path = match KeyPath::parse(path_text) {
            Ok(p) => p,
            Err(e) => {
                problems.push(Problem::new(path_text.trim(), format!("--set {text}: {e}")));
                continue;
            }
        };
        let value = parse_value(value_text.trim());
        // Work on a copy so that a failed override leaves no half-made tables behind.
        let mut trial = doc.clone();
        match apply_one(&mut trial, &path, value) {
            Ok(mut changed) => {
                doc = trial;
                changed.text = text.clone();
                applied.push(changed);
            }
            Err(e) => problems.push(Problem::new(&path, format!("--set {text}: {e}"))),
        }
    }
    if let Value::Table(t) = doc {
        *root = t;
    }
    (applied, problems)
}

/// Sets one value; returns what changed (without the text).
fn apply_one(doc: &mut Value, path: &KeyPath, value: Value) -> Result<Applied, String> {
    let Some((last, parents)) = path.0.split_last() else {
        return Err("the key path is empty".into());
    };
    if *last == Seg::Key("count".into()) && !parents.is_empty() {
        let list = KeyPath(parents.to_vec());
        if let Some(result) = resize(doc, &list, &value) {
            return result;
        }
    }
    let parent_path = KeyPath(parents.to_vec());
    let parent = walk(doc, parents, true)?;
    match (last, parent) {
        (Seg::Key(k), Value::Table(t)) => {
            t.insert(k.clone(), value);
        }
        (Seg::Index(i), Value::Array(a)) => {
            let n = a.len();
            let slot = a
                .get_mut(*i)
                .ok_or_else(|| out_of_range(&parent_path, *i, n))?;
            *slot = value;
        }
        (Seg::Key(k), other) => {
            return Err(format!(
                "cannot set `{k}` inside `{parent_path}`: it is {} {}, not a table",
                article(other.type_str()),
                other.type_str()
            ));
        }
        (Seg::Index(i), other) => {
            return Err(format!(
                "cannot index `{parent_path}[{i}]`: `{parent_path}` is {} {}, not a list",
                article(other.type_str()),
                other.type_str()
            ));
        }
    }
    Ok(Applied {
        covers: vec![path.clone()],
        ..Applied::default()
    })
}

/// `list.count = n`. None when `list` is not something that can be counted (then `count` is
/// treated as an ordinary key).
fn resize(doc: &mut Value, list: &KeyPath, value: &Value) -> Option<Result<Applied, String>> {
    let shorthand = is_count_shorthand(list);
    let existing = lookup(doc, &list.0);
    let countable = match existing {
        Some(Value::Array(_)) => true,
        Some(Value::Integer(_)) => shorthand,
        None => shorthand || is_table_list(list),
        Some(_) => false,
    };
    if !countable {
        return None;
    }
    let n = match value {
        Value::Integer(n) if (0..=MAX_SERVERS as i64).contains(n) => *n as usize,
        other => {
            return Some(Err(format!(
                "`{list}.count` must be a whole number between 0 and {MAX_SERVERS}, got {other}"
            )));
        }
    };
    Some(resize_at(doc, list, n))
}

fn resize_at(doc: &mut Value, list: &KeyPath, n: usize) -> Result<Applied, String> {
    let total = values(doc);
    let (last, parents) = list.0.split_last().ok_or("the key path is empty")?;
    let parent = walk(doc, parents, true)?;
    let slot = match (last, parent) {
        (Seg::Key(k), Value::Table(t)) => t.entry(k.clone()).or_insert_with(|| {
            if is_count_shorthand(list) {
                Value::Integer(n as i64)
            } else {
                Value::Array(Vec::new())
            }
        }),
        (Seg::Index(i), Value::Array(a)) => {
            let len = a.len();
            a.get_mut(*i)
                .ok_or_else(|| out_of_range(&KeyPath(parents.to_vec()), *i, len))?
        }
        _ => return Err(format!("`{list}` cannot be resized")),
    };
    Ok(match slot {
        Value::Array(items) => {
            let before = items.len();
            let each = match items.last() {
                Some(v @ Value::Table(_)) => values(v),
                _ => 1,
            };
            let added = each.saturating_mul(n.saturating_sub(before));
            if total.saturating_add(added) > MAX_VALUES {
                return Err(format!(
                    "would add {} copies of an entry of {each} values; a scenario may hold at most \
                     {MAX_VALUES} values in all",
                    n - before
                ));
            }
            resize_array(items, n);
            Applied {
                covers: (before..n).map(|i| list.index(i)).collect(),
                touches: vec![list.clone()],
                ..Applied::default()
            }
        }
        other => {
            *other = Value::Integer(n as i64);
            Applied {
                covers: vec![list.clone()],
                ..Applied::default()
            }
        }
    })
}

/// How many values `v` holds, itself included.
fn values(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(values).sum(),
        Value::Table(t) => t.values().map(values).sum(),
        _ => 0,
    }
}

/// Truncates or extends an array of tables; new entries copy the last one with the next name.
fn resize_array(items: &mut Vec<Value>, n: usize) {
    if n <= items.len() {
        items.truncate(n);
        return;
    }
    let template = match items.last() {
        Some(v @ Value::Table(_)) => v.clone(),
        _ => Value::Table(toml::Table::new()),
    };
    let mut taken: Option<HashSet<String>> = None;
    let mut last: Option<String> = None;
    while items.len() < n {
        let mut item = template.clone();
        if let Value::Table(t) = &mut item
            && let Some(Value::String(name)) = t.get("name")
        {
            // Each new name is the first free one after the template's; every name before the
            // last one given is taken, so the search resumes from there. One set of the taken
            // names for the whole resize: rebuilding it per entry made `servers.count=10000`
            // cubic (issue 13).
            let taken = taken.get_or_insert_with(|| {
                items
                    .iter()
                    .filter_map(|v| v.get("name").and_then(Value::as_str).map(String::from))
                    .collect()
            });
            let next = next_name(last.as_deref().unwrap_or(name), taken);
            taken.insert(next.clone());
            last = Some(next.clone());
            t.insert("name".into(), Value::String(next));
        }
        items.push(item);
    }
}

/// The next free name in a sequence: `web-02` -> `web-03` (keeping the width), `db` -> `db-2`.
pub fn next_name(base: &str, taken: &HashSet<String>) -> String {
    let digits = base.len() - base.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, num, width) = if digits > 0 {
        let stem = &base[..base.len() - digits];
        let num = base[base.len() - digits..].parse::<u64>().unwrap_or(0);
        (stem.to_string(), num, digits)
    } else {
        (format!("{base}-"), 1, 1)
    };
    let mut k = num.saturating_add(1);
    loop {
        let candidate = format!("{stem}{k:0width$}");
        if !taken.contains(&candidate) || k == u64::MAX {
            return candidate;
        }
        k += 1;
    }
}

fn lookup<'a>(doc: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    let mut cur = doc;
    for s in segs {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Table(t)) => t.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Walks `segs` from `doc`, creating missing tables when `create`, and expanding a count
/// shorthand (`servers = 2`) into tables when an index steps into it.
fn walk<'a>(doc: &'a mut Value, segs: &[Seg], create: bool) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    let mut here = KeyPath::root();
    for s in segs {
        if let (Seg::Index(_), Value::Integer(n)) = (s, &*cur)
            && is_count_shorthand(&here)
        {
            *cur = Value::Array(materialize(&here, *n)?);
        }
        let type_name = cur.type_str();
        cur = match (s, cur) {
            (Seg::Key(k), Value::Table(t)) => {
                if !t.contains_key(k) {
                    if !create {
                        return Err(format!("`{}` is not set", here.key(k)));
                    }
                    // An absent server or replica list stands for its default count, so that
                    // `servers[0].weight=2` works on a file that lists no servers.
                    let absent = match here.key(k).to_string().as_str() {
                        "servers" => Value::Integer(1),
                        "database.replicas" => Value::Integer(0),
                        _ if is_table_list(&here.key(k)) => Value::Array(Vec::new()),
                        _ => Value::Table(toml::Table::new()),
                    };
                    t.insert(k.clone(), absent);
                }
                t.get_mut(k)
                    .ok_or_else(|| format!("`{}` is not set", here.key(k)))?
            }
            (Seg::Index(i), Value::Array(a)) => {
                let n = a.len();
                a.get_mut(*i).ok_or_else(|| out_of_range(&here, *i, n))?
            }
            (Seg::Key(k), _) => {
                return Err(format!(
                    "cannot reach `{}`: `{here}` is {} {type_name}, not a table",
                    here.key(k),
                    article(type_name)
                ));
            }
            (Seg::Index(i), _) => {
                return Err(format!(
                    "cannot reach `{here}[{i}]`: `{here}` is {} {type_name}, not a list",
                    article(type_name)
                ));
            }
        };
        here = match s {
            Seg::Key(k) => here.key(k),
            Seg::Index(i) => here.index(*i),
        };
    }
    Ok(cur)
}

fn out_of_range(list: &KeyPath, i: usize, n: usize) -> String {
    format!(
        "index {i} is out of range: `{list}` has {n} entr{} (indices start at 0; \
         `--set {list}.count={}` adds entries)",
        if n == 1 { "y" } else { "ies" },
        i + 1
    )
}

fn article(type_name: &str) -> &'static str {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    fn set(text: &str, sets: &[&str]) -> (toml::Table, Vec<Applied>, Vec<Problem>) {
        let mut t = doc(text);
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let (a, p) = apply(&mut t, &sets);
        (t, a, p)
    }

    #[test]
    fn values_parse_as_toml_or_string() {
        assert_eq!(parse_value("800"), Value::Integer(800));
        assert_eq!(parse_value("0.5"), Value::Float(0.5));
        assert_eq!(parse_value("\"x\""), Value::String("x".into()));
        assert_eq!(parse_value("leastconn"), Value::String("leastconn".into()));
        assert_eq!(parse_value("random(2)"), Value::String("random(2)".into()));
        assert_eq!(parse_value("5min"), Value::String("5min".into()));
        assert_eq!(parse_value(""), Value::String("".into()));
        assert_eq!(parse_value("1\nx = 2"), Value::String("1\nx = 2".into()));
    }

    #[test]
    fn scalar_overrides() {
        let (t, a, p) = set(
            "[lb]\nalgorithm = \"roundrobin\"\n",
            &[
                "lb.algorithm=leastconn",
                "workload.rate=800",
                "lb.maxconn = 10",
            ],
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(t["lb"]["algorithm"].as_str(), Some("leastconn"));
        assert_eq!(t["workload"]["rate"].as_integer(), Some(800));
        assert_eq!(t["lb"]["maxconn"].as_integer(), Some(10));
        assert_eq!(a[1].covers, vec![KeyPath::parse("workload.rate").unwrap()]);
        assert_eq!(a[1].text, "workload.rate=800");
    }

    #[test]
    fn indexed_overrides() {
        let text = "[[servers]]\nname = \"a\"\n[[servers]]\nname = \"b\"\n\
                    [database]\nreplicas = [{ name = \"r1\" }]\n";
        let (t, _, p) = set(
            text,
            &["servers[1].weight=2", "database.replicas[0].speed=0.5"],
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(t["servers"][1]["weight"].as_integer(), Some(2));
        assert_eq!(t["database"]["replicas"][0]["speed"].as_float(), Some(0.5));

        // Indexing into the count shorthand expands it to named tables.
        let (t, _, p) = set("servers = 3\n", &["servers[2].speed=2.0"]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(t["servers"][2]["name"].as_str(), Some("web-03"));
        assert_eq!(t["servers"][2]["speed"].as_float(), Some(2.0));
        assert_eq!(t["servers"][0]["name"].as_str(), Some("web-01"));
    }

    #[test]
    fn count_shorthand() {
        let text = "[[servers]]\nname = \"web-01\"\napp_workers = 8\n\
                    [[servers]]\nname = \"web-02\"\napp_workers = 4\n";
        let (t, a, p) = set(text, &["servers.count=4"]);
        assert!(p.is_empty(), "{p:?}");
        let s = t["servers"].as_array().unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[2]["name"].as_str(), Some("web-03"));
        assert_eq!(s[3]["name"].as_str(), Some("web-04"));
        assert_eq!(s[3]["app_workers"].as_integer(), Some(4));
        assert_eq!(a[0].covers.len(), 2);
        assert_eq!(a[0].covers[0].to_string(), "servers[2]");
        assert_eq!(a[0].touches[0].to_string(), "servers");

        let (t, _, _) = set(text, &["servers.count=1"]);
        assert_eq!(t["servers"].as_array().unwrap().len(), 1);

        let (t, _, p) = set("servers = 2\n", &["servers.count=3"]);
        assert!(p.is_empty());
        assert_eq!(t["servers"].as_integer(), Some(3));
        let (t, _, p) = set("", &["servers.count=3", "database.replicas.count=2"]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(t["servers"].as_integer(), Some(3));
        assert_eq!(t["database"]["replicas"].as_integer(), Some(2));

        let (_, _, p) = set("", &["servers.count=100000"]);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("between 0 and 10000"), "{p:?}");
        let (_, _, p) = set("", &["servers.count=two"]);
        assert_eq!(p.len(), 1);
    }

    /// Found by review while fuzzing: nested lists resized from the inside out grew 1024-fold
    /// per level (four `--set` made 1024^4 tables and exhausted memory).
    #[test]
    fn nested_resizes_cannot_exhaust_memory() {
        let text = "x = [{a = [{b = [{c = [{}]}]}]}]\n";
        let sets = [
            "x[0].a[0].b[0].c.count=1024",
            "x[0].a[0].b.count=1024",
            "x[0].a.count=1024",
            "x.count=1024",
        ];
        let (t, a, p) = set(text, &sets);
        assert_eq!(a.len(), 1, "the first one fits: {p:?}");
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].message
                .contains(&format!("at most {MAX_VALUES} values")),
            "{p:?}"
        );
        assert_eq!(p[0].key, "x[0].a[0].b.count");
        assert!(values(&Value::Table(t)) <= MAX_VALUES);
        // Ordinary resizes are far below the limit.
        let (t, _, p) = set(
            "[[servers]]\nname = \"web-01\"\nweight = 2\napp_workers = 8\n",
            &["servers.count=1024", "faults.count=1024"],
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(t["servers"].as_array().unwrap().len(), 1024);
    }

    #[test]
    fn unwalkable_paths_are_errors() {
        let (_, _, p) = set("[[servers]]\nname = \"a\"\n", &["servers[3].weight=2"]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "servers[3].weight");
        assert!(p[0].message.contains("out of range"), "{p:?}");
        assert!(p[0].message.contains("--set servers[3].weight=2"), "{p:?}");

        let (_, _, p) = set("seed = 1\n", &["seed.x=2", "nokey", "a..b=1", "lb[0]=1"]);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].message.contains("not a table"), "{p:?}");
        assert!(p[1].message.contains("key.path=value"), "{p:?}");
    }

    #[test]
    fn names_continue_sequences() {
        let taken = HashSet::from(["web-01".to_string(), "web-02".to_string()]);
        let none = HashSet::new();
        assert_eq!(next_name("web-02", &taken), "web-03");
        assert_eq!(next_name("web-01", &taken), "web-03");
        assert_eq!(next_name("db", &none), "db-2");
        assert_eq!(next_name("web-9", &none), "web-10");
    }
}
