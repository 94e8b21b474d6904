//! The scenario being written: sections of keys in the order a reader expects, each value with
//! an optional comment saying where it came from, values no input gave marked `PLACEHOLDER`,
//! and the list of directives that were not mapped. [`Draft::render`] writes the TOML text; it
//! is loaded through the normal `scenario` path like any user's file (tests check that every
//! generated scenario runs).

use super::Unmapped;
use toml::Value;

/// The first bytes of every scenario `import` and `fit` write: `-o` replaces a file only when
/// it starts with them (`report::atomic::claim_file`), so a user's own scenario is never
/// overwritten.
pub const HEADER: &str = "# Scenario written by simulate ";

/// The marker of a value no input gave.
pub const PLACEHOLDER: &str = "PLACEHOLDER";

#[derive(Clone, Debug)]
struct Entry {
    key: String,
    value: Value,
    comment: String,
    placeholder: bool,
}

#[derive(Clone, Debug)]
struct Section {
    /// `""` for the top level, `lb`, `[servers]` for an entry of an array of tables.
    header: String,
    entries: Vec<Entry>,
}

/// A scenario under construction.
#[derive(Clone, Debug)]
pub struct Draft {
    /// What wrote it and from what (`import`, `fit`), for the first line.
    pub command: String,
    pub sources: Vec<String>,
    /// Free comment lines under the header (a fit's summary).
    pub notes: Vec<String>,
    pub unmapped: Vec<Unmapped>,
    sections: Vec<Section>,
}

/// Where a section goes in the file: TOML needs `[lb]` before `[lb.vrrp]`, readers want the
/// traffic first, the database last.
fn rank(header: &str) -> usize {
    const ORDER: [&str; 14] = [
        "",
        "workload",
        "[workload.mix]",
        "lb",
        "lb.vrrp",
        "lb.tls",
        "lb.rate_limit",
        "health",
        "defaults.server",
        "[servers]",
        "database",
        "database.primary",
        "database.replication",
        "database.failover",
    ];
    ORDER
        .iter()
        .position(|h| *h == header)
        .unwrap_or(ORDER.len())
}

impl Draft {
    pub fn new(name: &str) -> Draft {
        let mut d = Draft {
            command: "import".into(),
            sources: vec![],
            notes: vec![],
            unmapped: vec![],
            sections: vec![],
        };
        d.set("", "name", name, "");
        d.set("", "seed", 1i64, "");
        d
    }

    fn section(&mut self, header: &str) -> &mut Section {
        let i = match self.sections.iter().position(|s| s.header == header) {
            Some(i) => i,
            None => {
                self.sections.push(Section {
                    header: header.to_string(),
                    entries: vec![],
                });
                self.sections.len() - 1
            }
        };
        &mut self.sections[i]
    }

    fn put(s: &mut Section, key: &str, value: Value, comment: &str, placeholder: bool) {
        let e = Entry {
            key: key.to_string(),
            value,
            comment: comment.to_string(),
            placeholder,
        };
        match s.entries.iter_mut().find(|e| e.key == key) {
            Some(old) => *old = e,
            None => s.entries.push(e),
        }
    }

    /// Sets `key` in the table `header` (created if missing), replacing an earlier value.
    pub fn set(&mut self, header: &str, key: &str, value: impl Into<Value>, comment: &str) {
        Self::put(self.section(header), key, value.into(), comment, false);
    }

    /// Sets a value no input gave: marked `PLACEHOLDER` in the file.
    pub fn placeholder(&mut self, header: &str, key: &str, value: impl Into<Value>, why: &str) {
        Self::put(self.section(header), key, value.into(), why, true);
    }

    /// The value of `key` in the table `header`, if set.
    pub fn get(&self, header: &str, key: &str) -> Option<&Value> {
        self.sections
            .iter()
            .find(|s| s.header == header)?
            .entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// Whether `key` holds a placeholder (or is unset).
    pub fn is_placeholder(&self, header: &str, key: &str) -> bool {
        self.sections
            .iter()
            .find(|s| s.header == header)
            .and_then(|s| s.entries.iter().find(|e| e.key == key))
            .is_none_or(|e| e.placeholder)
    }

    /// Adds an entry to the array of tables `name` (`servers`, `workload.mix`); returns its
    /// index among them.
    pub fn push(&mut self, name: &str) -> usize {
        let header = format!("[{name}]");
        let n = self.len(name);
        self.sections.push(Section {
            header,
            entries: vec![],
        });
        n
    }

    /// Entries of the array of tables `name`.
    pub fn len(&self, name: &str) -> usize {
        let header = format!("[{name}]");
        self.sections.iter().filter(|s| s.header == header).count()
    }

    fn nth(&mut self, name: &str, i: usize) -> &mut Section {
        let header = format!("[{name}]");
        self.sections
            .iter_mut()
            .filter(|s| s.header == header)
            .nth(i)
            .expect("an entry added by push")
    }

    /// Sets `key` in entry `i` of the array of tables `name`.
    pub fn set_in(&mut self, name: &str, i: usize, key: &str, value: impl Into<Value>, c: &str) {
        Self::put(self.nth(name, i), key, value.into(), c, false);
    }

    /// Sets a placeholder in entry `i` of the array of tables `name`.
    pub fn placeholder_in(
        &mut self,
        name: &str,
        i: usize,
        key: &str,
        v: impl Into<Value>,
        c: &str,
    ) {
        Self::put(self.nth(name, i), key, v.into(), c, true);
    }

    /// The value of `key` in entry `i` of the array of tables `name`.
    pub fn get_in(&self, name: &str, i: usize, key: &str) -> Option<&Value> {
        let header = format!("[{name}]");
        self.sections
            .iter()
            .filter(|s| s.header == header)
            .nth(i)?
            .entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// Fills what the model requires and no input gave, as marked placeholders: the run's
    /// length, the traffic, the application's service time.
    pub fn fill_placeholders(&mut self) {
        if self.get("", "duration").is_none() {
            self.placeholder("", "duration", "5min", "simulated time; any length");
        }
        if self.get("workload", "rate").is_none() {
            self.placeholder(
                "workload",
                "rate",
                100.0,
                "requests per second: not in a configuration (`simulate fit` measures it from a log)",
            );
        }
        if self.len("workload.mix") == 0 {
            let i = self.push("workload.mix");
            self.set_in("workload.mix", i, "name", "default", "");
            self.placeholder_in(
                "workload.mix",
                i,
                "app",
                "exp(10ms)",
                "application time per request: not in a configuration (`simulate fit` measures it from a log)",
            );
        }
    }

    /// The scenario's TOML text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let sources = if self.sources.is_empty() {
            "nothing".to_string()
        } else {
            self.sources.join(", ")
        };
        out.push_str(&format!(
            "{HEADER}{} (infrasim {}) from {}.\n",
            self.command,
            env!("CARGO_PKG_VERSION"),
            comment_safe(&sources)
        ));
        out.push_str(&format!(
            "# Values marked {PLACEHOLDER} are in no input: set them before trusting the results.\n"
        ));
        out.push_str("# Every key: docs/scenario.md.\n");
        for n in &self.notes {
            out.push_str(&format!("# {}\n", comment_safe(n)));
        }
        if self.unmapped.is_empty() {
            out.push_str("#\n# Every directive of the inputs was mapped.\n");
        } else {
            out.push_str(&format!(
                "#\n# Not mapped ({} directives): the model has no key for them, or they do not change\n\
                 # what it computes. Nothing else was dropped.\n",
                self.unmapped.len()
            ));
            for u in &self.unmapped {
                out.push_str(&format!("#   {}\n", comment_safe(&u.to_string())));
            }
        }
        let mut order: Vec<&Section> = self.sections.iter().collect();
        order.sort_by_key(|s| rank(&s.header));
        for s in order {
            if s.header.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("\n[{}]\n", s.header));
            }
            for e in &s.entries {
                let mut line = format!("{} = {}", e.key, e.value);
                let comment = match (e.placeholder, e.comment.is_empty()) {
                    (true, true) => PLACEHOLDER.to_string(),
                    (true, false) => format!("{PLACEHOLDER}: {}", e.comment),
                    (false, _) => e.comment.clone(),
                };
                if !comment.is_empty() {
                    line.push_str(&format!("  # {}", comment_safe(&comment)));
                }
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// A comment may hold no control character but tab (TOML): user text goes through this.
pub fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_come_out_in_toml_order_and_parse() {
        let mut d = Draft::new("t");
        d.set("lb.vrrp", "advert_int", "1s", "keepalived");
        d.set("lb", "algorithm", "leastconn", "balance");
        let i = d.push("servers");
        d.set_in("servers", i, "name", "a\nb", "");
        d.fill_placeholders();
        let text = d.render();
        let parsed: toml::Table = toml::from_str(&text).expect(&text);
        assert_eq!(parsed["lb"]["vrrp"]["advert_int"].as_str(), Some("1s"));
        assert_eq!(parsed["servers"][0]["name"].as_str(), Some("a\nb"));
        assert!(text.contains("rate = 100.0  # PLACEHOLDER"), "{text}");
        assert!(text.starts_with(HEADER));
    }
}
