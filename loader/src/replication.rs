//! `--source-data`: after the load, the replication statements the dump's
//! `[source]` section asks for (`myloader_exec_reset_replica`,
//! `myloader_exec_change_source`, `myloader_exec_start_replica`), so that
//! the server loaded goes on replicating from where the dump's rows end.
//! Every other live key of the section becomes a `CHANGE MASTER TO` option
//! (MariaDB's names: `SOURCE_` keys are `MASTER_` there); with
//! `SOURCE_AUTO_POSITION = 1` the replica starts from the dump's GTIDs.

use anyhow::{bail, Result};
use common::keyfile::unquote;

/// The statements for one `[source]` section's live keys, in order.
pub fn statements(entries: &[(String, String)]) -> Result<Vec<String>> {
    let flag = |name: &str| entries.iter().any(|(k, v)| k.trim().eq_ignore_ascii_case(name) && v.trim() == "1");
    let mut options = Vec::new();
    let mut gtid = None;
    let mut auto_position = false;
    for (k, v) in entries {
        let key = k.trim();
        let value = v.trim();
        let upper = key.to_ascii_uppercase();
        if upper.starts_with("MYLOADER_EXEC_") || upper == "CHANNEL_NAME" {
            continue;
        }
        if upper == "EXECUTED_GTID_SET" {
            gtid = Some(unquote(value).to_string());
            continue;
        }
        if upper == "SOURCE_AUTO_POSITION" || upper == "MASTER_AUTO_POSITION" {
            auto_position = value == "1";
            continue;
        }
        let name = match upper.strip_prefix("SOURCE_") {
            Some(rest) => format!("MASTER_{rest}"),
            None => upper.clone(),
        };
        if !name.starts_with("MASTER_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("[source] key {key:?} is not a replication option");
        }
        let value = if value.starts_with('"') || value.starts_with('\'') {
            common::escape::string_literal(unquote(value))
        } else if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
            value.to_string()
        } else {
            bail!("[source] {key} = {value:?}: expected a number or a quoted string");
        };
        options.push(format!("{name} = {value}"));
    }
    let mut out = Vec::new();
    if flag("myloader_exec_reset_replica") || flag("myloader_exec_reset_slave") {
        out.push("STOP SLAVE".to_string());
        out.push("RESET SLAVE".to_string());
    }
    if flag("myloader_exec_change_source") || flag("myloader_exec_change_master") {
        if auto_position {
            let Some(g) = gtid.as_deref().filter(|g| !g.is_empty()) else {
                bail!("[source] asks for SOURCE_AUTO_POSITION without executed_gtid_set");
            };
            out.push(format!("SET GLOBAL gtid_slave_pos = {}", common::escape::string_literal(g)));
            options.retain(|o| !o.starts_with("MASTER_LOG_FILE") && !o.starts_with("MASTER_LOG_POS"));
            options.push("MASTER_USE_GTID = slave_pos".to_string());
        }
        if options.is_empty() {
            bail!("[source] asks to change the source, but names no position");
        }
        out.push(format!("CHANGE MASTER TO {}", options.join(", ")));
    }
    if flag("myloader_exec_start_replica") || flag("myloader_exec_start_slave") {
        out.push("START SLAVE".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn positions_and_flags() {
        let s = statements(&e(&[
            ("executed_gtid_set", "\"0-1-5\""),
            ("SOURCE_LOG_FILE", "\"bin.000003\""),
            ("SOURCE_LOG_POS", "1234"),
            ("myloader_exec_reset_replica", "1"),
            ("myloader_exec_change_source", "1"),
            ("myloader_exec_start_replica", "1"),
        ]))
        .unwrap();
        assert_eq!(
            s,
            vec!["STOP SLAVE", "RESET SLAVE", "CHANGE MASTER TO MASTER_LOG_FILE = 'bin.000003', MASTER_LOG_POS = 1234", "START SLAVE"]
        );
        let s = statements(&e(&[
            ("executed_gtid_set", "\"0-1-5\""),
            ("SOURCE_AUTO_POSITION", "1"),
            ("SOURCE_SSL", "1"),
            ("myloader_exec_change_source", "1"),
        ]))
        .unwrap();
        assert_eq!(s, vec!["SET GLOBAL gtid_slave_pos = '0-1-5'", "CHANGE MASTER TO MASTER_SSL = 1, MASTER_USE_GTID = slave_pos"]);
        assert!(statements(&e(&[("myloader_exec_change_source", "0"), ("SOURCE_LOG_POS", "1")])).unwrap().is_empty());
        assert!(statements(&e(&[("SOURCE_LOG_FILE", "x; DROP"), ("myloader_exec_change_source", "1")])).is_err());
        assert!(statements(&e(&[("DROP_ALL", "1")])).is_err());
    }
}
