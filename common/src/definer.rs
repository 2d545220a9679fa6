//! The `DEFINER=user@host` clause of CREATE statements for views,
//! triggers, routines and events, which `--skip-definer` removes (rdumper
//! as it writes them, rloader as it loads them) so that the objects belong
//! to whoever loads them, and `--replace-definer` sets to another account.

use std::sync::OnceLock;

use regex::Regex;

fn definer_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\bDEFINER\s*=\s*(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.|'')*'|[^\s@]+)\s*@\s*(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.|'')*'|[^\s*]+)\s*")
            .expect("valid DEFINER pattern")
    })
}

/// `create` (a CREATE statement) without its first `DEFINER=…` clause;
/// `None` when it has none.
pub fn remove(create: &str) -> Option<String> {
    replace_with(create, "")
}

fn replace_with(create: &str, clause: &str) -> Option<String> {
    let m = definer_re().find(create)?;
    let mut s = String::with_capacity(create.len() + clause.len());
    s.push_str(&create[..m.start()]);
    s.push_str(clause);
    s.push_str(&create[m.end()..]);
    Some(s)
}

/// What becomes of the DEFINER clauses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Definer {
    #[default]
    Keep,
    /// `--skip-definer`.
    Skip,
    /// `--replace-definer`: the clause to put in, `DEFINER=`u`@`h` `.
    Replace(String),
}

impl Definer {
    /// From `--skip-definer` and `--replace-definer ACCOUNT`.
    pub fn from_options(skip: bool, replace: Option<&str>) -> anyhow::Result<Definer> {
        match (skip, replace) {
            (true, Some(_)) => anyhow::bail!("--skip-definer and --replace-definer cannot be used together"),
            (true, None) => Ok(Definer::Skip),
            (false, Some(a)) => Ok(Definer::Replace(format!("DEFINER={} ", account(a)?))),
            (false, None) => Ok(Definer::Keep),
        }
    }

    /// `create` with its DEFINER clause removed or replaced; `None` when
    /// it stays as it is.
    pub fn apply(&self, create: &str) -> Option<String> {
        match self {
            Definer::Keep => None,
            Definer::Skip => remove(create),
            Definer::Replace(clause) => replace_with(create, clause),
        }
    }
}

/// An account as `user@host`, with each part bare or quoted (`'u'@'h'`,
/// `` `u`@`h` ``, `"u"@"h"`), written `` `u`@`h` ``; no host means `%`.
pub fn account(spec: &str) -> anyhow::Result<String> {
    let spec = spec.trim();
    let (user, rest) = part(spec).ok_or_else(|| anyhow::anyhow!("--replace-definer {spec:?}: not an account (user@host)"))?;
    let host = match rest.strip_prefix('@') {
        Some(h) => match part(h) {
            Some((host, "")) => host,
            _ => anyhow::bail!("--replace-definer {spec:?}: not an account (user@host)"),
        },
        None if rest.is_empty() => "%".to_string(),
        None => anyhow::bail!("--replace-definer {spec:?}: not an account (user@host)"),
    };
    if user.is_empty() {
        anyhow::bail!("--replace-definer {spec:?}: the user is empty");
    }
    let q = |s: &str| format!("`{}`", s.replace('`', "``"));
    Ok(format!("{}@{}", q(&user), q(&host)))
}

/// One part of an account: a quoted name (its quote doubled inside) or
/// bare text up to `@`; and the rest of `s`.
fn part(s: &str) -> Option<(String, &str)> {
    let Some(quote) = s.chars().next().filter(|c| matches!(c, '`' | '\'' | '"')) else {
        let end = s.find('@').unwrap_or(s.len());
        return Some((s[..end].to_string(), &s[end..]));
    };
    let mut out = String::new();
    let mut chars = s[1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().map(|&(_, n)| n) == Some(quote) {
                out.push(quote);
                chars.next();
                continue;
            }
            return Some((out, &s[1 + i + 1..]));
        }
        out.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definer_is_removed() {
        assert_eq!(
            remove("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1").unwrap(),
            "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
        assert_eq!(
            remove("CREATE DEFINER=`a``b`@`%` TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW SET @a=1").unwrap(),
            "CREATE TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW SET @a=1"
        );
        assert_eq!(remove("CREATE DEFINER='u'@'h' PROCEDURE p() SELECT 1").unwrap(), "CREATE PROCEDURE p() SELECT 1");
        assert_eq!(remove("CREATE TABLE t (a INT)"), None);
    }

    #[test]
    fn definer_is_replaced() {
        let d = Definer::from_options(false, Some("app@%")).unwrap();
        assert_eq!(
            d.apply("CREATE DEFINER=`root`@`localhost` TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW SET @a=1").unwrap(),
            "CREATE DEFINER=`app`@`%` TRIGGER `x` BEFORE INSERT ON `t` FOR EACH ROW SET @a=1"
        );
        assert_eq!(d.apply("CREATE TABLE t (a INT)"), None);
        assert_eq!(Definer::from_options(false, None).unwrap().apply("CREATE DEFINER=a@b VIEW v AS SELECT 1"), None);
        assert!(Definer::from_options(true, Some("a@b")).is_err());
    }

    #[test]
    fn accounts() {
        assert_eq!(account("app@10.0.%").unwrap(), "`app`@`10.0.%`");
        assert_eq!(account("'o''brien'@'localhost'").unwrap(), "`o'brien`@`localhost`");
        assert_eq!(account("`we``ird`@`%`").unwrap(), "`we``ird`@`%`");
        assert_eq!(account("\"u\"@\"h\"").unwrap(), "`u`@`h`");
        assert_eq!(account("app").unwrap(), "`app`@`%`");
        assert!(account("@host").is_err());
        assert!(account("'unterminated@h").is_err());
        assert!(account("'u'x@h").is_err());
    }
}
