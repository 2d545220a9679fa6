//! Import workers: one connection each, running the jobs the scheduler
//! hands out and reporting back.

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::ddl;
use crate::exec::{FileOutcome, FileRole, LoadError, Session, SessionVars};

/// A unit of work for one worker.
pub struct Job {
    pub id: usize,
    pub work: Work,
    pub vars: Arc<SessionVars>,
}

pub enum Work {
    /// `CREATE DATABASE IF NOT EXISTS` (the `-B` target).
    CreateDatabase { db: String },
    /// A dump file, run in database `db` (none for `-schema-create.sql`).
    File { path: PathBuf, role: FileRole, db: Option<String> },
    /// Statements rloader made (deferred indexes, foreign keys).
    Generated { db: String, what: String, statements: Vec<String> },
}

impl std::fmt::Display for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Work::CreateDatabase { db } => write!(f, "database `{db}`"),
            Work::File { path, .. } => f.write_str(&crate::exec::display_name(path)),
            Work::Generated { what, .. } => f.write_str(what),
        }
    }
}

pub struct Done {
    pub id: usize,
    pub result: Result<FileOutcome, LoadError>,
}

/// Runs jobs until the job channel closes.
pub fn run(mut session: Session, jobs: Receiver<Job>, done: Sender<Done>) {
    for job in jobs {
        log::debug!("{} started", job.work);
        let started = std::time::Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_job(&mut session, &job)))
            .unwrap_or_else(|p| {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(LoadError::new(format!("internal error in a worker: {what}")))
            });
        log::info!("{} done in {:.3}s", job.work, started.elapsed().as_secs_f64());
        if done.send(Done { id: job.id, result }).is_err() {
            break;
        }
    }
}

fn run_job(session: &mut Session, job: &Job) -> Result<FileOutcome, LoadError> {
    session.throttle()?;
    session.apply_vars(&job.vars)?;
    match &job.work {
        Work::CreateDatabase { db } => {
            session.drop_database_if_asked(db)?;
            let q = format!("CREATE DATABASE IF NOT EXISTS {}", ddl::quote_ident(db));
            session.run_generated(&format!("database `{db}`"), &[q])?;
            Ok(FileOutcome { database: Some(db.clone()), ..FileOutcome::default() })
        }
        Work::File { path, role, db } => {
            if let Some(db) = db {
                session.use_db(db).map_err(|mut e| {
                    e.file = Some(crate::exec::display_name(path));
                    e
                })?;
            }
            session.run_file(path, *role)
        }
        Work::Generated { db, what, statements } => {
            session.use_db(db)?;
            session.run_generated(what, statements)?;
            Ok(FileOutcome::default())
        }
    }
}
