//! Dotted key paths (`servers[1].weight`): how problems name the place they come from and how
//! `--set` names the value it changes.

use std::fmt;

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root to a value, displayed as `database.replicas[0].speed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path extended by a table key.
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        KeyPath(v)
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        KeyPath(v)
    }

    /// This path followed by `other`.
    pub fn join(&self, other: &KeyPath) -> Self {
        let mut v = self.0.clone();
        v.extend(other.0.iter().cloned());
        KeyPath(v)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path without its last step (the root stays the root).
    pub fn parent(&self) -> KeyPath {
        let mut v = self.0.clone();
        v.pop();
        KeyPath(v)
    }

    /// True when `self` is `other` or one of its ancestors.
    pub fn is_prefix_of(&self, other: &KeyPath) -> bool {
        other.0.len() >= self.0.len() && other.0[..self.0.len()] == self.0[..]
    }

    /// Parses `a.b[2].c` (also `a.b[2][0]`). Keys are bare: letters, digits, `_` and `-`.
    pub fn parse(s: &str) -> Result<KeyPath, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the key path is empty".into());
        }
        let mut segs = Vec::new();
        for part in s.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.is_empty() {
                return Err(format!("`{s}` has an empty key (write keys as `a.b[0].c`)"));
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "`{name}` in `{s}` is not a plain key (letters, digits, `_`, `-`)"
                ));
            }
            segs.push(Seg::Key(name.to_string()));
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("`{s}`: `[` without a matching `]`"))?;
                let inner = &rest[1..close];
                let idx: usize = inner.trim().parse().map_err(|_| {
                    format!("`{s}`: `[{inner}]` is not an array index (a whole number >= 0)")
                })?;
                segs.push(Seg::Index(idx));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("`{s}`: unexpected `{rest}` after `]`"));
                }
            }
        }
        Ok(KeyPath(segs))
    }

    /// Reads back a displayed path without judging the key names (they may be user typos with
    /// any characters); used only to locate a problem in the document.
    pub fn parse_lenient(s: &str) -> KeyPath {
        let mut segs = Vec::new();
        if s.is_empty() {
            return KeyPath(segs);
        }
        for part in s.split('.') {
            let mut pieces = part.split('[');
            if let Some(name) = pieces.next()
                && !name.is_empty()
            {
                segs.push(Seg::Key(name.to_string()));
            }
            for p in pieces {
                match p.strip_suffix(']').and_then(|n| n.parse().ok()) {
                    Some(i) => segs.push(Seg::Index(i)),
                    None => segs.push(Seg::Key(format!("[{p}"))),
                }
            }
        }
        KeyPath(segs)
    }

    /// Converts the path serde_path_to_error reports.
    pub fn from_serde(p: &serde_path_to_error::Path) -> KeyPath {
        use serde_path_to_error::Segment;
        let segs = p
            .iter()
            .filter_map(|s| match s {
                Segment::Seq { index } => Some(Seg::Index(*index)),
                Segment::Map { key } => Some(Seg::Key(key.clone())),
                Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                Segment::Unknown => None,
            })
            .collect();
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "a",
            "servers[1].weight",
            "database.replicas[0].speed",
            "a[1][2].b",
        ] {
            assert_eq!(KeyPath::parse(s).unwrap().to_string(), s);
        }
        assert!(KeyPath::parse("").is_err());
        assert!(KeyPath::parse("a..b").is_err());
        assert!(KeyPath::parse("a[x]").is_err());
        assert!(KeyPath::parse("a[1").is_err());
        assert!(KeyPath::parse("a[1]b").is_err());
        assert!(KeyPath::parse("a b").is_err());
    }

    #[test]
    fn prefixes() {
        let a = KeyPath::parse("servers").unwrap();
        let b = KeyPath::parse("servers[2].weight").unwrap();
        assert!(a.is_prefix_of(&b));
        assert!(!b.is_prefix_of(&a));
        assert_eq!(b.parent().to_string(), "servers[2]");
    }
}
