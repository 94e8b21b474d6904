//! Serde's errors in the scenario's words, and the nearest name for a misspelt one.

use super::*;

/// Turns a serde error into a problem at `path`, in the scenario's words.
pub fn serde_problem(path: KeyPath, message: &str) -> Problem {
    let mut path = path;
    let mut msg = message.trim().replace('\n', "; ");
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let field = field.to_string();
        if path.0.last() != Some(&super::super::keypath::Seg::Key(field.clone())) {
            path = path.key(&field);
        }
        let allowed: Vec<String> = tail
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect();
        let no_fields = tail.contains("there are no fields");
        msg = format!("unknown key `{field}`");
        let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
        if let Some(best) = closest(&field, &names) {
            msg.push_str(&format!(" (did you mean `{best}`?)"));
        }
        if !allowed.is_empty() {
            msg.push_str(&format!("; allowed here: {}", allowed.join(", ")));
        } else if no_fields {
            msg.push_str("; this table takes no keys");
        }
    } else {
        for (from, to) in [
            ("expected f64", "expected a number"),
            ("expected i64", "expected a whole number"),
            ("expected a string", "expected a string (in quotes)"),
            ("invalid type: ", "wrong type: "),
        ] {
            msg = msg.replace(from, to);
        }
        // `expected struct Fault`: the schema's type names mean nothing to users.
        if let Some(at) = msg.find("expected struct ") {
            let rest = &msg[at + "expected struct ".len()..];
            let name_len = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            msg = format!("{}expected a table{}", &msg[..at], &rest[name_len..]);
        }
        msg = msg.replace("expected a sequence", "expected a list");
    }
    Problem::new(path, msg)
}

/// The candidate within edit distance 2 of `word`, if any.
pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages() {
        let p = serde_problem(
            KeyPath::parse("lb").unwrap(),
            "unknown field `algoritm`, expected one of `algorithm`, `processing`",
        );
        assert_eq!(p.key, "lb.algoritm");
        assert!(
            p.message.contains("did you mean `algorithm`"),
            "{}",
            p.message
        );
        assert!(
            p.message.contains("allowed here: algorithm, processing"),
            "{}",
            p.message
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let p = serde_problem(
            KeyPath::parse("faults[0]").unwrap(),
            "invalid type: integer `1`, expected struct Fault",
        );
        assert_eq!(p.message, "wrong type: integer `1`, expected a table");
        let p = serde_problem(
            KeyPath::parse("faults").unwrap(),
            "invalid type: integer `3`, expected a sequence",
        );
        assert_eq!(p.message, "wrong type: integer `3`, expected a list");
    }
}
