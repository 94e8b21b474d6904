//! `[sweep] labels`: a reader's name for each value of a swept parameter, so that chart titles
//! and reports say "web-04 at 30% speed" rather than `servers[3].speed=0.3`.
//!
//! ```toml
//! [sweep]
//! parameters = { "servers[3].speed" = [1.0, 0.3] }
//! labels = { "servers[3].speed" = ["all servers at full speed", "web-04 at 30% speed"] }
//! ```
//!
//! Each list names the values of the parameter of the same key, in order, one label per
//! value. Labels change no result: only the text of `index.html`, the charts' titles and
//! `study.json` (which keeps them, so that `merge` draws the same report).

use super::error::Problem;
use super::limits::MAX_SWEEP_LABEL_CHARS;
use super::study::Parameter;

/// Checks `labels` against the sweep's `parameters` and attaches each list to its parameter;
/// every problem found is pushed, naming its key.
pub fn attach(
    problems: &mut Vec<Problem>,
    parameters: &mut [Parameter],
    labels: Option<toml::Table>,
) {
    for (key, v) in labels.unwrap_or_default() {
        let at = format!("sweep.labels.\"{key}\"");
        let Some(p) = parameters.iter_mut().find(|p| p.key == key) else {
            problems.push(Problem::new(
                &at,
                "names a parameter that [sweep] parameters does not sweep",
            ));
            continue;
        };
        let toml::Value::Array(items) = v else {
            problems.push(Problem::new(
                &at,
                "must be a list of texts, one per value of the parameter",
            ));
            continue;
        };
        if items.len() != p.values.len() {
            problems.push(Problem::new(
                &at,
                format!(
                    "has {} labels for the parameter's {} values: give one per value, in order",
                    items.len(),
                    p.values.len()
                ),
            ));
            continue;
        }
        let mut texts = vec![];
        for (i, item) in items.iter().enumerate() {
            let Some(t) = item.as_str() else {
                problems.push(Problem::new(
                    format!("{at}[{i}]"),
                    "must be a text, e.g. \"web-04 at 30% speed\"",
                ));
                continue;
            };
            let n = t.chars().count();
            if t.trim().is_empty() || n > MAX_SWEEP_LABEL_CHARS || t.chars().any(char::is_control) {
                problems.push(Problem::new(
                    format!("{at}[{i}]"),
                    format!(
                        "must be 1 to {MAX_SWEEP_LABEL_CHARS} characters of text on one line \
                         (got {n})"
                    ),
                ));
                continue;
            }
            texts.push(t.to_string());
        }
        if texts.len() == p.values.len() {
            p.labels = texts;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<Parameter> {
        vec![Parameter {
            key: "servers[3].speed".into(),
            values: vec!["1.0".into(), "0.3".into()],
            labels: vec![],
        }]
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn labels_attach_to_their_parameter() {
        let mut p = params();
        let mut problems = vec![];
        attach(
            &mut problems,
            &mut p,
            Some(table(
                r#""servers[3].speed" = ["all fast", "web-04 at 30% speed"]"#,
            )),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(p[0].labels, ["all fast", "web-04 at 30% speed"]);
    }

    #[test]
    fn wrong_labels_name_their_key() {
        let long = "x".repeat(MAX_SWEEP_LABEL_CHARS + 1);
        for (text, needle) in [
            (r#"other = ["a"]"#.to_string(), "does not sweep"),
            (
                r#""servers[3].speed" = ["a"]"#.to_string(),
                "1 labels for the parameter's 2",
            ),
            (r#""servers[3].speed" = "a""#.to_string(), "list of texts"),
            (
                r#""servers[3].speed" = ["a", 3]"#.to_string(),
                "must be a text",
            ),
            (
                format!(r#""servers[3].speed" = ["a", "{long}"]"#),
                "1 to 80",
            ),
            (
                r#""servers[3].speed" = ["a", "b\nc"]"#.to_string(),
                "one line",
            ),
            (r#""servers[3].speed" = ["a", " "]"#.to_string(), "1 to 80"),
        ] {
            let mut p = params();
            let mut problems = vec![];
            attach(&mut problems, &mut p, Some(table(&text)));
            assert_eq!(problems.len(), 1, "{text}");
            let shown = format!("{:?}", problems[0]);
            assert!(shown.contains(needle), "{text}: {shown}");
            assert!(shown.contains("sweep.labels"), "{shown}");
            assert!(p[0].labels.is_empty());
        }
    }
}
