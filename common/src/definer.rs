//! The `DEFINER=user@host` clause of CREATE statements for views,
//! triggers, routines and events, which `--skip-definer` removes (rdumper
//! as it writes them, rloader as it loads them) so that the objects belong
//! to whoever loads them.

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
    let m = definer_re().find(create)?;
    let mut s = String::with_capacity(create.len());
    s.push_str(&create[..m.start()]);
    s.push_str(&create[m.end()..]);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::remove;

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
}
