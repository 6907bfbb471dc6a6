//! The write path for everything that moves money or changes a payment's
//! status: a queue in front of a writer task that applies whatever has
//! queued up as one transaction (group commit) and answers each caller when
//! its batch is durable.
//!
//! Handlers do their expensive work (parsing, HMAC, validation) in parallel
//! and then `submit` a [`Command`]; batching is invisible to them.

mod batch;
pub mod command;
pub mod render;

pub use command::{Adjustment, CmdError, Command, Outcome, PayInChange, PayOutChange};
pub use render::{EventObject, Render};

use crate::db::{Backend, Db};
use crate::time::now_micros;
use batch::Batch;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most commands one transaction takes; beyond it the next batch starts.
const MAX_BATCH: usize = 256;

struct Job {
    cmd: Command,
    reply: oneshot::Sender<Result<Outcome, CmdError>>,
}

/// Handle to the writer. Cheap to clone; the task stops when every handle
/// is dropped.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts `tasks` writer tasks (SQLite serialises writers anyway: use 1).
    pub fn start(db: Db, render: Arc<dyn Render>, tasks: usize) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 16);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..tasks.max(1) {
            let (db, render, rx) = (db.clone(), render.clone(), rx.clone());
            tokio::spawn(async move { run(db, render, rx).await });
        }
        Writer { queue: tx }
    }

    /// Applies `cmd` durably; returns once its transaction has committed.
    pub async fn submit(&self, cmd: Command) -> Result<Outcome, CmdError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { cmd, reply }).await.map_err(|_| CmdError::Unavailable)?;
        answer.await.map_err(|_| CmdError::Unavailable)?
    }
}

async fn run(db: Db, render: Arc<dyn Render>, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(j) => jobs.push(j),
                None => return,
            }
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
        }
        metrics::histogram!("paygate_writer_batch_size").record(jobs.len() as f64);
        let started = std::time::Instant::now();
        process(&db, render.as_ref(), jobs).await;
        metrics::histogram!("paygate_writer_batch_seconds").record(started.elapsed().as_secs_f64());
    }
}

/// Applies a batch; if the transaction fails as a whole (a constraint hit by
/// a concurrent node, a deadlock, a lost connection), every command is
/// retried alone so that one bad command cannot fail its neighbours.
async fn process(db: &Db, render: &dyn Render, jobs: Vec<Job>) {
    let (cmds, replies): (Vec<Command>, Vec<_>) = jobs.into_iter().map(|j| (j.cmd, j.reply)).unzip();
    match apply_once(db, render, &cmds).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) if cmds.len() == 1 => {
            // A unique violation alone usually means a concurrent node just
            // created the same order: one more try finds and compares it.
            let retried = match e {
                CmdError::Store(crate::StoreError::Conflict(_)) => apply_once(db, render, &cmds).await,
                other => Err(other),
            };
            let answer = retried.and_then(|mut a| a.pop().unwrap_or(Err(CmdError::Unavailable)));
            if let Err(err) = &answer {
                if matches!(err, CmdError::Store(_)) {
                    tracing::error!(error = %err, "writer command failed");
                }
            }
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = cmds.len(), "batch failed; retrying its commands one by one");
            for (cmd, reply) in cmds.into_iter().zip(replies) {
                let one = vec![cmd];
                let answer = match apply_once(db, render, &one).await {
                    Ok(mut a) => a.pop().unwrap_or(Err(CmdError::Unavailable)),
                    Err(CmdError::Store(crate::StoreError::Conflict(_))) => apply_once(db, render, &one)
                        .await
                        .and_then(|mut a| a.pop().unwrap_or(Err(CmdError::Unavailable))),
                    Err(e) => Err(e),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

/// One transaction for `cmds`. `Err` means nothing was written.
async fn apply_once(
    db: &Db,
    render: &dyn Render,
    cmds: &[Command],
) -> Result<Vec<Result<Outcome, CmdError>>, CmdError> {
    // SQLite: take the write lock up front, so reading balances and then
    // writing cannot fail with a stale snapshot.
    let mut tx = match db.backend() {
        Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => db.pool().begin().await?,
    };
    let applied = Batch::new(db.backend(), render, now_micros()).apply(&mut tx, cmds).await?;
    tx.commit().await?;
    Ok(applied.answers)
}
