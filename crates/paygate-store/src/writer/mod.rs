//! The write path for everything that moves money or changes a payment's
//! status: a queue in front of a writer task that applies whatever has
//! queued up as one transaction (group commit) and answers each caller when
//! its batch is durable.
//!
//! Handlers do their expensive work (parsing, HMAC, validation) in parallel
//! and then `submit` a [`Command`]; batching is invisible to them.

mod autocommit;
mod batch;
mod checkpoint;
mod command;
mod connection;
mod recent;
pub mod render;
mod retry;
mod typed;

pub use command::{Adjustment, DisputeChange, NewDispute, PayInChange, PayOutChange, ReceiptBytes};
use command::{CmdError, Command, Outcome};
pub use render::{EventObject, Render};
pub use typed::{Adjusted, Created, WriteError};

use crate::db::{Backend, Db};
use crate::dialect::Role;
use crate::time::now_micros;
use crate::StoreError;
use batch::{Batch, Lookup};
use connection::{Conn, Connections};
use recent::RecentOrders;
use retry::process;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most commands one transaction takes; beyond it the next batch starts.
const MAX_BATCH: usize = 256;

/// Most receipt bytes one transaction carries (one 5 MiB receipt always fits).
const MAX_BATCH_PAYLOAD: usize = 12 * 1024 * 1024;

struct Job {
    cmd: Command,
    reply: Reply,
}

/// Handle to the writer. Cheap to clone; the tasks stop when every handle
/// is dropped.
#[derive(Clone)]
pub struct Writer {
    shards: Arc<Vec<mpsc::Sender<Job>>>,
    /// Signalled after a batch that wrote webhook events commits, so the
    /// delivery worker starts at once instead of at its next poll.
    pub events_ready: Arc<tokio::sync::Notify>,
}

impl Writer {
    /// Starts `tasks` writer shards on a thread of their own, with their own
    /// runtime and connections. The writer is a serial chain of database round
    /// trips; sharing worker threads with hundreds of request handlers would
    /// make every one of its wake-ups wait in line behind them.
    ///
    /// `deadline` is the longest a PostgreSQL batch may wait on the
    /// database; see [`apply`].
    pub fn start(
        database_url: &str,
        render: Arc<dyn Render>,
        tasks: usize,
        deadline: Duration,
    ) -> Result<Writer, StoreError> {
        let tasks = tasks.max(1);
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..tasks).map(|_| mpsc::channel::<Job>(MAX_BATCH * 16)).unzip();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), StoreError>>();
        let url = database_url.to_string();
        let events_ready = Arc::new(tokio::sync::Notify::new());
        let notify = events_ready.clone();
        std::thread::Builder::new()
            .name("paygate-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StoreError::Corrupt(format!("writer runtime: {e}"))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let db = match Db::connect_as(&url, tasks as u32 + 1, Role::Writer).await {
                        Ok(db) => db,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let checkpointer = match db.backend() {
                        Backend::Sqlite => match Db::connect(&url, 1).await {
                            Ok(own) => Some((tokio::spawn(checkpoint::run(own.clone())), own)),
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                return;
                            }
                        },
                        Backend::Postgres => None,
                    };
                    let _ = ready_tx.send(Ok(()));
                    let shards: Vec<_> = receivers
                        .into_iter()
                        .map(|rx| tokio::spawn(run(db.clone(), render.clone(), rx, notify.clone(), deadline)))
                        .collect();
                    for shard in shards {
                        let _ = shard.await;
                    }
                    if let Some((task, own)) = checkpointer {
                        task.abort();
                        own.close().await;
                    }
                    db.close().await;
                });
            })
            .map_err(|e| StoreError::Corrupt(format!("writer thread: {e}")))?;
        ready_rx.recv().map_err(|_| StoreError::Corrupt("writer thread died while starting".into()))??;
        Ok(Writer { shards: Arc::new(senders), events_ready })
    }

    /// Applies `cmd` durably; returns once its transaction has committed.
    /// Callers use the typed methods of `typed.rs`.
    async fn submit(&self, cmd: Command) -> Result<Outcome, WriteError> {
        let shard = &self.shards[shard_of(cmd.shard_key(), self.shards.len())];
        let (reply, answer) = oneshot::channel();
        shard.send(Job { cmd, reply }).await.map_err(|_| WriteError::Unavailable)?;
        answer.await.map_err(|_| WriteError::Unavailable)?
    }
}

/// FNV-1a: stable across runs and platforms, which a `HashMap` hasher is not.
fn shard_of(key: &str, shards: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % shards as u64) as usize
}

async fn run(
    db: Db,
    render: Arc<dyn Render>,
    mut rx: mpsc::Receiver<Job>,
    notify: Arc<tokio::sync::Notify>,
    deadline: Duration,
) {
    let mut connections = Connections::new(db.clone());
    let mut recent = RecentOrders::default();
    loop {
        let next = if connections.holds_one() {
            match tokio::time::timeout(connection::KEEP_IDLE, rx.recv()).await {
                Ok(next) => next,
                Err(_idle) => {
                    connections.release();
                    rx.recv().await
                }
            }
        } else {
            rx.recv().await
        };
        let Some(first) = next else { return };
        let mut payload = first.cmd.payload_bytes();
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH && payload < MAX_BATCH_PAYLOAD {
            match rx.try_recv() {
                Ok(j) => {
                    payload += j.cmd.payload_bytes();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        metrics::histogram!("paygate_writer_batch_size").record(jobs.len() as f64);
        let started = std::time::Instant::now();
        let mut conn = match connections.take().await {
            Ok(conn) => conn,
            Err(e) => {
                answer_unavailable(&e, jobs.into_iter().map(|j| j.reply));
                continue;
            }
        };
        let healthy = process(&db, &mut conn.0, render.as_ref(), jobs, &notify, deadline, &mut recent).await;
        connections.put(conn, healthy);
        metrics::histogram!("paygate_writer_batch_seconds").record(started.elapsed().as_secs_f64());
    }
}

/// What applying a batch needs besides its connection and commands.
struct Ctx<'a> {
    render: &'a dyn Render,
    /// Woken when a batch wrote webhook events.
    notify: &'a tokio::sync::Notify,
    /// The longest a PostgreSQL batch may wait on the database.
    deadline: Duration,
    /// The order ids this shard saw lately, looked up before inserting.
    recent: &'a RecentOrders,
    /// Whose write turn each transaction takes (SQLite; see `retry::apply`).
    turns: &'a Db,
}

/// One transaction for `cmds`. `Err` means nothing was written.
async fn apply_once(conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command], lookup: Lookup<'_>) -> Answers {
    // SQLite: take the write lock up front, so reading balances and then
    // writing cannot fail with a stale snapshot.
    let mut phase = Phases::start();
    let backend = backend_of(conn);
    let mut tx = crate::dialect::begin_write(backend, conn).await?;
    phase.mark("begin");
    let applied = Batch::new(backend, ctx.render, now_micros(), lookup).apply(&mut tx, cmds).await?;
    phase.restart();
    tx.commit().await?;
    phase.mark("commit");
    if applied.events > 0 {
        ctx.notify.notify_one();
    }
    Ok(applied.answers)
}

type Reply = oneshot::Sender<Result<Outcome, WriteError>>;

/// A batch's answers, one per command in order; `Err` means nothing of the
/// batch was written.
type Answers = Result<Vec<Result<Outcome, WriteError>>, CmdError>;

/// No connection could be had: the callers get 503 and may retry.
fn answer_unavailable(e: &dyn std::fmt::Display, replies: impl IntoIterator<Item = Reply>) {
    tracing::error!(error = %e, "writer has no database connection");
    for reply in replies {
        let _ = reply.send(Err(WriteError::Unavailable));
    }
}

/// The engine behind a writer connection.
fn backend_of(conn: &Conn) -> Backend {
    crate::dialect::backend_of_connection(conn)
}

/// Records how long each step of a batch takes
/// (`paygate_writer_phase_seconds{phase}`), which is what tells a slow
/// database from a slow decision when the write path is tuned.
pub(crate) struct Phases(std::time::Instant);

impl Phases {
    pub(crate) fn start() -> Phases {
        Phases(std::time::Instant::now())
    }

    pub(crate) fn mark(&mut self, phase: &'static str) {
        metrics::histogram!("paygate_writer_phase_seconds", "phase" => phase).record(self.0.elapsed().as_secs_f64());
        self.restart();
    }

    pub(crate) fn restart(&mut self) {
        self.0 = std::time::Instant::now();
    }
}
