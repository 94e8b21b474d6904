//! Scenario errors: every problem found, each with its key path, line and a message that says
//! what was wrong and what is allowed.

use std::fmt;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::keypath::{KeyPath, Seg};

/// One thing wrong with a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path (`servers[1].weight`); empty for the document as a whole.
    pub key: String,
    /// 1-based line in the scenario file, when the problem can be placed there.
    pub line: Option<usize>,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl Problem {
    pub fn new(key: impl fmt::Display, message: impl Into<String>) -> Self {
        Problem {
            key: key.to_string(),
            line: None,
            message: message.into(),
        }
    }
}

/// Why a scenario could not be loaded: all the problems found, in document order where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    /// One line per problem: `error: scenarios/x.toml: workload.rate (line 7): must be ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {file}: ")?;
            match (p.key.is_empty(), p.line) {
                (false, Some(l)) => write!(f, "{} (line {l}): ", p.key)?,
                (false, None) => write!(f, "{}: ", p.key)?,
                (true, Some(l)) => write!(f, "line {l}: ")?,
                (true, None) => {}
            }
            f.write_str(&p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// 1-based line of a byte offset.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Finds where a key path is written in the original document, using the parser's spans.
pub(crate) struct Locator<'a> {
    text: &'a str,
    doc: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    /// A locator over `text`; it locates nothing when the text does not parse.
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            doc: DeTable::parse(text).ok(),
        }
    }

    /// The line of the deepest part of `path` present in the document (the key itself, or the
    /// table it should have been in), and whether the whole path was found.
    pub fn find(&self, path: &KeyPath) -> (Option<usize>, bool) {
        let Some(doc) = &self.doc else {
            return (None, false);
        };
        let mut line = None;
        let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
        let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
        for seg in &path.0 {
            let next: Option<&Spanned<DeValue<'_>>> = match seg {
                Seg::Key(k) => table.and_then(|t| {
                    t.iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k)
                        .map(|(key, v)| {
                            line = Some(line_at(self.text, key.span().start));
                            v
                        })
                }),
                Seg::Index(i) => array.and_then(|a| a.get(*i)).inspect(|v| {
                    line = Some(line_at(self.text, v.span().start));
                }),
            };
            let Some(v) = next else {
                return (line, false);
            };
            table = None;
            array = None;
            match v.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(a),
                _ => {}
            }
        }
        (line, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_one_line_per_problem() {
        let e = ScenarioError {
            file: PathBuf::from("scenarios/x.toml"),
            problems: vec![
                Problem {
                    key: "workload.rate".into(),
                    line: Some(7),
                    message: "must be a number > 0, got -3".into(),
                },
                Problem::new("lb.algorithm", "unknown algorithm"),
                Problem {
                    key: String::new(),
                    line: Some(2),
                    message: "syntax".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "error: scenarios/x.toml: workload.rate (line 7): must be a number > 0, got -3\n\
             error: scenarios/x.toml: lb.algorithm: unknown algorithm\n\
             error: scenarios/x.toml: line 2: syntax"
        );
    }

    #[test]
    fn locates_keys_tables_and_array_items() {
        let text = "name = \"x\"\n\n[lb]\nalgorithm = \"first\"\n\n[[servers]]\nname = \"a\"\n\n[[servers]]\nname = \"b\"\nweight = 3\n";
        let loc = Locator::new(text);
        let at = |p: &str| loc.find(&KeyPath::parse(p).unwrap());
        assert_eq!(at("name"), (Some(1), true));
        assert_eq!(at("lb.algorithm"), (Some(4), true));
        assert_eq!(at("lb.maxconn"), (Some(3), false));
        assert_eq!(at("servers[1].weight"), (Some(11), true));
        assert_eq!(at("workload.rate"), (None, false));
        assert_eq!(line_at("a\nb", 100), 2);
    }
}
