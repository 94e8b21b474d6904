//! What every input format shares: lines bounded in length and number, and times written as
//! scenario durations.

use super::{IngestError, MAX_LINE_BYTES};

/// The lines of `text`, numbered from 1; a line longer than [`MAX_LINE_BYTES`] is an error
/// naming it (a configuration line that long is not a configuration).
///
/// A file that starts with a UTF-8 byte-order mark (U+FEFF, which Windows editors write) is
/// refused, naming line 1: none of the programs whose files are read here skips it. HAProxy
/// reads it as part of the first keyword and stops (HAProxy 2.6: `unknown keyword
/// '\u{feff}global' out of section`; `readcfgfile()` in src/cfgparse.c has no case for it),
/// nginx and keepalived take it into the first directive's name, and MySQL into the first
/// option (`Found option without preceding group`). Reading it as they do
/// would turn line 1 (`global`, a comment) into an unknown directive and silently drop what
/// follows from its section.
pub fn lines<'a>(file: &str, text: &'a str) -> Result<Vec<(usize, &'a str)>, IngestError> {
    if text.starts_with('\u{feff}') {
        return Err(IngestError::new(
            file,
            Some(1),
            "the file starts with a UTF-8 byte-order mark (bytes EF BB BF), which HAProxy, \
             nginx, keepalived and MySQL read as part of the first word (HAProxy refuses the \
             file: `unknown keyword ... out of section`; MySQL: `Found option without \
             preceding group`): save the file without it",
        ));
    }
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.len() > MAX_LINE_BYTES {
            return Err(IngestError::new(
                file,
                Some(i + 1),
                format!(
                    "the line is {} bytes long, more than the {MAX_LINE_BYTES} a configuration line may be",
                    l.len()
                ),
            ));
        }
        out.push((i + 1, l));
    }
    Ok(out)
}

/// A number of nanoseconds as the shortest exact scenario duration: `"5s"`, `"250ms"`.
pub fn duration(ns: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "min"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
    ];
    if ns == 0 {
        return "0s".into();
    }
    for (unit, name) in UNITS {
        if ns.is_multiple_of(unit) {
            return format!("{}{name}", ns / unit);
        }
    }
    format!("{ns}ns")
}

/// A time in a configuration: digits and an optional unit from `units` (name, nanoseconds),
/// `default` nanoseconds per unit when there is none. `None` when it is not such a time.
pub fn parse_time(s: &str, default: u64, units: &[(&str, u64)]) -> Option<u64> {
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    let n: u64 = s[..digits].parse().ok()?;
    let rest = &s[digits..];
    let per = if rest.is_empty() {
        default
    } else {
        units.iter().find(|(u, _)| *u == rest)?.1
    };
    n.checked_mul(per)
}

/// A whole number in a configuration, within `lo..=hi`.
pub fn parse_int(s: &str, lo: i64, hi: i64) -> Option<i64> {
    let n: i64 = s.parse().ok()?;
    (lo..=hi).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact_and_short() {
        assert_eq!(duration(2_000_000_000), "2s");
        assert_eq!(duration(1_500_000_000), "1500ms");
        assert_eq!(duration(90_000_000_000), "90s");
        assert_eq!(duration(120_000_000_000), "2min");
        assert_eq!(duration(250_000), "250us");
        assert_eq!(duration(7), "7ns");
    }
}

/// A statement of a block-structured configuration (nginx, keepalived): its words, its line
/// and, for `name args { ... }`, the statements inside.
#[derive(Clone, Debug)]
pub struct Stmt {
    pub line: usize,
    pub words: Vec<String>,
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    /// The directive's name: its first word ("" for an empty statement).
    pub fn name(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }
}

/// A block-structured configuration file (nginx, keepalived) as parsed: its name, for the
/// unmapped list, and its statements.
pub struct BlockConf {
    pub file: String,
    pub stmts: Vec<Stmt>,
}

impl BlockConf {
    /// Parses `text` with [`blocks`]: `semicolons` for nginx's syntax, not for keepalived's.
    pub fn parse(file: &str, text: &str, semicolons: bool) -> Result<BlockConf, IngestError> {
        Ok(BlockConf {
            file: file.to_string(),
            stmts: blocks(file, text, semicolons)?,
        })
    }
}

/// Parses a block-structured configuration. nginx ends statements with `;` and comments with
/// `#` (nginx "Configuration file measurement units" and core docs); keepalived ends them at
/// the line's end and also takes `!` as a comment (keepalived.conf(5)). Both quote with `"`
/// (and nginx with `'`), and open and close blocks with `{` and `}`.
#[allow(unused_assignments)] // `end_word!` resets the state it may not read again
pub fn blocks(file: &str, text: &str, semicolons: bool) -> Result<Vec<Stmt>, IngestError> {
    use super::{MAX_DEPTH, MAX_SECTIONS, MAX_WORDS};
    // (statements of the open block, the statement that opened it)
    let mut stack: Vec<(Vec<Stmt>, Option<Stmt>)> = vec![(vec![], None)];
    let mut words: Vec<String> = vec![];
    let mut start = 0usize;
    let mut count = 0usize;
    let too_many = |no: usize| {
        IngestError::new(
            file,
            Some(no),
            format!("more than {MAX_SECTIONS} blocks, or {MAX_WORDS} words in a statement"),
        )
    };
    for (no, line) in lines(file, text)? {
        let mut chars = line.chars().peekable();
        let mut cur = String::new();
        let mut in_word = false;
        macro_rules! end_word {
            () => {
                if in_word {
                    if words.is_empty() {
                        start = no;
                    }
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                    if words.len() > MAX_WORDS {
                        return Err(too_many(no));
                    }
                }
            };
        }
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' | '\r' => end_word!(),
                '#' if !in_word => break,
                '!' if !semicolons && !in_word => break,
                '"' | '\'' if !in_word && (c == '"' || semicolons) => {
                    loop {
                        match chars.next() {
                            None => {
                                return Err(IngestError::new(
                                    file,
                                    Some(no),
                                    "a quote is not closed on this line",
                                ));
                            }
                            Some(q) if q == c => break,
                            Some('\\') => {
                                if let Some(n) = chars.next() {
                                    cur.push(n);
                                }
                            }
                            Some(x) => cur.push(x),
                        }
                    }
                    // An empty quoted word is a word.
                    if words.is_empty() {
                        start = no;
                    }
                    words.push(std::mem::take(&mut cur));
                }
                ';' if semicolons => {
                    end_word!();
                    if !words.is_empty() {
                        let s = Stmt {
                            line: start,
                            words: std::mem::take(&mut words),
                            block: None,
                        };
                        stack.last_mut().expect("the top level").0.push(s);
                    }
                }
                '{' => {
                    end_word!();
                    if stack.len() > MAX_DEPTH {
                        return Err(IngestError::new(
                            file,
                            Some(no),
                            format!("blocks nested more than {MAX_DEPTH} deep"),
                        ));
                    }
                    count += 1;
                    if count > MAX_SECTIONS {
                        return Err(too_many(no));
                    }
                    let opener = Stmt {
                        line: if words.is_empty() { no } else { start },
                        words: std::mem::take(&mut words),
                        block: None,
                    };
                    stack.push((vec![], Some(opener)));
                }
                '}' => {
                    end_word!();
                    if !words.is_empty() {
                        if semicolons {
                            return Err(IngestError::new(
                                file,
                                Some(no),
                                "a statement before `}` does not end with `;`",
                            ));
                        }
                        let s = Stmt {
                            line: start,
                            words: std::mem::take(&mut words),
                            block: None,
                        };
                        stack.last_mut().expect("the top level").0.push(s);
                    }
                    if stack.len() == 1 {
                        return Err(IngestError::new(file, Some(no), "`}` closes no block"));
                    }
                    let (inner, opener) = stack.pop().expect("checked above");
                    let mut opener = opener.expect("every inner block has an opener");
                    opener.block = Some(inner);
                    stack.last_mut().expect("the top level").0.push(opener);
                }
                c => {
                    in_word = true;
                    cur.push(c);
                }
            }
        }
        end_word!();
        if !semicolons && !words.is_empty() {
            let s = Stmt {
                line: start,
                words: std::mem::take(&mut words),
                block: None,
            };
            stack.last_mut().expect("the top level").0.push(s);
        }
    }
    if !words.is_empty() {
        return Err(IngestError::new(
            file,
            Some(start),
            "the last statement does not end with `;`",
        ));
    }
    if stack.len() > 1 {
        let line = stack.last().and_then(|s| s.1.as_ref()).map(|s| s.line);
        return Err(IngestError::new(
            file,
            line,
            "this block is not closed with `}`",
        ));
    }
    Ok(stack.pop().map(|s| s.0).unwrap_or_default())
}
