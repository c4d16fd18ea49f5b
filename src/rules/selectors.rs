//! Which nodes a rule selects (design §9.1): terms over node properties, ANDed; a term's values
//! ORed; a value exact text or an fnmatch glob, as functionalizer and Python's `fnmatchcase` match.

use serde_json::{Map, Value};

/// Nodes whose properties match every term (no term: every node).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    /// The terms, ANDed.
    pub terms: Vec<Term>,
}

/// A node property and the values it may have (ORed).
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Node property name (e.g. `mtype`).
    pub property: String,
    /// Accepted values.
    pub patterns: Vec<Pattern>,
}

/// An accepted value: exact text, or an fnmatch glob (`*`, `?`, `[…]`, case-sensitive).
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Exactly this value.
    Exact(String),
    /// A glob.
    Glob(String),
}

impl Pattern {
    pub(super) fn of(value: &str) -> Pattern {
        if value.contains(['*', '?', '[']) {
            Pattern::Glob(value.to_string())
        } else {
            Pattern::Exact(value.to_string())
        }
    }

    pub(super) fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(text) => text == value,
            Pattern::Glob(glob) => fnmatch(glob, value),
        }
    }

    pub(super) fn text(&self) -> &str {
        match self {
            Pattern::Exact(text) | Pattern::Glob(text) => text,
        }
    }
}

/// Python's `fnmatch.fnmatchcase`: `*` any run, `?` one character, `[seq]`/`[!seq]` with ranges;
/// a `[` without its `]` is literal. Case-sensitive, as functionalizer matches on POSIX.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*` (greedy, linear for each star).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = bracket(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_pi, star_ti)) => {
                pi = star_pi + 1;
                ti = star_ti + 1;
                star = Some((star_pi, star_ti + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A `[…]` set at `p[start]`: whether `c` is in it and the index after it; `None` when the
/// bracket is not closed (then `[` is a literal character).
fn bracket(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = i < p.len() && p[i] == '!';
    if negate {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    if i >= p.len() {
        return None;
    }
    Some((matched != negate, i + 1))
}

impl Selector {
    pub(super) fn properties(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.property.as_str())
    }

    pub(super) fn to_json(&self) -> Value {
        let mut object = Map::new();
        for term in &self.terms {
            let values: Vec<Value> = term.patterns.iter().map(|p| Value::from(p.text())).collect();
            object.insert(
                term.property.clone(),
                if values.len() == 1 { values[0].clone() } else { Value::Array(values) },
            );
        }
        Value::Object(object)
    }
}

/// Selector keys that are not node properties: the node population's name, and the edge
/// population's (rules restricted to some edge populations).
pub const NODE_POPULATION_KEY: &str = "@population";
/// See [`NODE_POPULATION_KEY`].
pub const EDGE_POPULATION_KEY: &str = "@edges";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_pythons_fnmatchcase() {
        // Expectations from Python's fnmatch.fnmatchcase.
        let cases = [
            ("mac*on", "macron", true),
            ("mac*on", "macaroon", true),
            ("MAC*", "macron", false),
            ("[fb]*", "foo", true),
            ("[fb]*", "spam", false),
            ("[!fb]*", "spam", true),
            ("L?_*", "L5_TPC", true),
            ("L?_*", "L23_PC", false),
            ("*", "", true),
            ("a[", "a[", true),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[]]", "]", true),
            ("*_PC", "L23_PC", true),
            ("*_PC", "L23_PCX", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(fnmatch(pattern, text), expected, "fnmatch({pattern:?}, {text:?})");
        }
    }
}
