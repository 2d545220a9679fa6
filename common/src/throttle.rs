//! `--throttle[=[USEC:]VAR=N]`: before each job, a worker waits while the
//! server's global status variable VAR is above N (bare: Threads_running
//! above 4), checking again every USEC microseconds (100000).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use mysql::prelude::Queryable;

pub const BARE: &str = "Threads_running=4";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub variable: String,
    pub limit: u64,
    pub pause: Duration,
}

impl Throttle {
    pub fn parse(s: &str) -> Result<Throttle> {
        let s = s.trim();
        let (pause, rest) = match s.split_once(':') {
            Some((usec, rest)) => {
                let usec: u64 = usec.trim().parse().with_context(|| format!("--throttle {s:?}: {usec:?} is not microseconds"))?;
                (Duration::from_micros(usec.max(1000)), rest)
            }
            None => (Duration::from_micros(100_000), s),
        };
        let (variable, limit) = rest.split_once('=').with_context(|| format!("--throttle {s:?}: expected [USEC:]VARIABLE=N"))?;
        let variable = variable.trim();
        if !crate::escape::is_word(variable) {
            bail!("--throttle {s:?}: {variable:?} is not a status variable name");
        }
        let limit = limit.trim().parse().with_context(|| format!("--throttle {s:?}: {limit:?} is not a number"))?;
        Ok(Throttle { variable: variable.to_string(), limit, pause })
    }

    /// Waits while the variable is above the limit, or until `stop` says
    /// so. A variable the server does not have is an error.
    pub fn wait(&self, conn: &mut mysql::Conn, stop: &dyn Fn() -> bool) -> Result<()> {
        let q = format!("SHOW GLOBAL STATUS LIKE '{}'", self.variable);
        let mut said = false;
        loop {
            let row: Option<(String, String)> =
                conn.query_first(&q).map_err(|e| anyhow::anyhow!("--throttle: {}", crate::conn::server_message(&e)))?;
            let Some((_, value)) = row else {
                bail!("--throttle: the server has no status variable {}", self.variable);
            };
            let value: u64 = value.trim().parse().unwrap_or(0);
            if value <= self.limit || stop() {
                if said {
                    log::info!("--throttle: {} = {value}, going on", self.variable);
                }
                return Ok(());
            }
            if !said {
                log::warn!("throttling: {} = {value}, above {} (--throttle)", self.variable, self.limit);
                said = true;
            }
            std::thread::sleep(self.pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let t = Throttle::parse(BARE).unwrap();
        assert_eq!((t.variable.as_str(), t.limit, t.pause), ("Threads_running", 4, Duration::from_millis(100)));
        let t = Throttle::parse("50000:Threads_connected=20").unwrap();
        assert_eq!((t.variable.as_str(), t.limit, t.pause), ("Threads_connected", 20, Duration::from_millis(50)));
        assert!(Throttle::parse("Threads_running").is_err());
        assert!(Throttle::parse("x:Threads_running=4").is_err());
        assert!(Throttle::parse("Threads'running=4").is_err());
    }
}
