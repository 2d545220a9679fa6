//! A reader for the INI-style "key files" both mydumper's `metadata` and the
//! MySQL/mydumper option files use: `[group]` lines, `key = value` lines,
//! `#`/`;` comments. Groups of the same name are merged, as GLib does.
//! A key line without `=` reads as `key = 1`, as mydumper's pre-pass makes it.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    /// Keys in file order; a repeated key keeps its last value.
    pub entries: Vec<(String, String)>,
    /// `#` comment lines inside the group, without the `#`, trimmed.
    pub comments: Vec<String>,
}

impl Group {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn set(&mut self, key: String, value: String) {
        if let Some(e) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            e.1 = value;
        } else {
            self.entries.push((key, value));
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFile {
    /// Comment lines before the first group.
    pub leading_comments: Vec<String>,
    pub groups: Vec<Group>,
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}: {text:?}")]
pub struct KeyFileError {
    pub line: usize,
    pub reason: &'static str,
    pub text: String,
}

impl KeyFile {
    pub fn parse(text: &str) -> Result<KeyFile, KeyFileError> {
        let mut kf = KeyFile::default();
        let mut current: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(c) = line.strip_prefix('#').or_else(|| line.strip_prefix(';')) {
                let c = c.trim().to_string();
                match current {
                    Some(g) => kf.groups[g].comments.push(c),
                    None => kf.leading_comments.push(c),
                }
                continue;
            }
            if line.starts_with('!') {
                // `!include` / `!includedir` directives of MySQL option files
                continue;
            }
            if line.starts_with('[') {
                if !line.ends_with(']') || line.len() < 2 {
                    return Err(KeyFileError { line: i + 1, reason: "unterminated group name", text: raw.into() });
                }
                let name = line[1..line.len() - 1].to_string();
                current = Some(match kf.groups.iter().position(|g| g.name == name) {
                    Some(p) => p,
                    None => {
                        kf.groups.push(Group { name, ..Group::default() });
                        kf.groups.len() - 1
                    }
                });
                continue;
            }
            let Some(g) = current else {
                return Err(KeyFileError { line: i + 1, reason: "key outside of any group", text: raw.into() });
            };
            let (k, v) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (line, "1"),
            };
            kf.groups[g].set(k.to_string(), v.to_string());
        }
        Ok(kf)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn get(&self, group: &str, key: &str) -> Option<&str> {
        self.group(group).and_then(|g| g.get(key))
    }

    /// Merges `other` into `self`: its groups are appended or merged, its
    /// values win.
    pub fn merge(&mut self, other: KeyFile) {
        self.leading_comments.extend(other.leading_comments);
        for g in other.groups {
            match self.groups.iter_mut().find(|x| x.name == g.name) {
                Some(mine) => {
                    for (k, v) in g.entries {
                        mine.set(k, v);
                    }
                    mine.comments.extend(g.comments);
                }
                None => self.groups.push(g),
            }
        }
    }
}

/// Removes one level of quotes (`"…"` or `'…'`) around a value.
pub fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_keys_comments() {
        let kf = KeyFile::parse(
            "# Started dump at: x\n[config]\nquote-character = BACKTICK\n\n[client]\nuser=root\nno-data\n; c\n[config]\nmax-statement-size = 5\n# Finished dump at: y\n",
        )
        .unwrap();
        assert_eq!(kf.leading_comments, vec!["Started dump at: x"]);
        assert_eq!(kf.get("config", "quote-character"), Some("BACKTICK"));
        assert_eq!(kf.get("config", "max-statement-size"), Some("5"));
        assert_eq!(kf.get("client", "no-data"), Some("1"));
        assert_eq!(kf.groups.len(), 2);
        assert_eq!(kf.group("config").unwrap().comments, vec!["Finished dump at: y"]);
    }

    #[test]
    fn rejects_key_outside_group() {
        assert!(KeyFile::parse("a = 1\n").is_err());
    }

    #[test]
    fn unquotes() {
        assert_eq!(unquote("\"x y\""), "x y");
        assert_eq!(unquote("'x'"), "x");
        assert_eq!(unquote("x"), "x");
    }
}
