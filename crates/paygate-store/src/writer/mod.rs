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
use connection::{connection_failed, Conn, Connections};
use recent::RecentOrders;
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
    async fn submit(&self, cmd: Command) -> Result<Outcome, CmdError> {
        let shard = &self.shards[shard_of(cmd.shard_key(), self.shards.len())];
        let (reply, answer) = oneshot::channel();
        shard.send(Job { cmd, reply }).await.map_err(|_| CmdError::Unavailable)?;
        answer.await.map_err(|_| CmdError::Unavailable)?
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

/// Applies a batch; if the transaction fails as a whole (a constraint hit by
/// a concurrent node, a deadlock, a lost connection), every command is
/// retried alone so that one bad command cannot fail its neighbours; a lost
/// connection is replaced first. Returns false when the connection itself
/// failed, so that it is closed rather than reused.
async fn process(
    pool: &Db,
    conn: &mut Conn,
    render: &dyn Render,
    jobs: Vec<Job>,
    notify: &tokio::sync::Notify,
    deadline: Duration,
    recent: &mut RecentOrders,
) -> bool {
    // A caller that gave up (its request timed out) gets nothing applied if
    // its job has not started yet: it was answered 503 and may retry.
    let jobs: Vec<Job> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
    if jobs.is_empty() {
        return true;
    }
    let (cmds, replies): (Vec<Command>, Vec<_>) = jobs.into_iter().map(|j| (j.cmd, j.reply)).unzip();
    let ctx = Ctx { render, notify, deadline, recent };
    let healthy = process_commands(pool, conn, &ctx, &cmds, replies).await;
    // Whatever became of them: the next batch looks these order ids up.
    recent.remember(&cmds);
    healthy
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
}

/// [`process`] once the commands are taken from their jobs.
async fn process_commands(pool: &Db, conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command], replies: Vec<Reply>) -> bool {
    let mut result = apply(conn, ctx, cmds).await;
    if let Err(e @ CmdError::Stalled) = &result {
        // Its callers were answered 503 by the same deadline, and the old
        // session may still commit the batch (a COMMIT waiting on a slow
        // disk): applying it again could post an unkeyed adjustment twice.
        // Closing the connection is all there is to do.
        answer_unavailable(e, replies);
        return false;
    }
    if matches!(&result, Err(e) if connection_failed(e)) {
        // The connection died (a restart, a failover, an idle kill): the
        // whole batch once more on a fresh one. Every command is keyed (order
        // id, idempotency key, current status), so one whose commit did land
        // is found, not applied twice.
        if let Err(e) = connection::renew(pool, conn).await {
            answer_unavailable(&e, replies);
            return false;
        }
        result = apply(conn, ctx, cmds).await;
        if let Err(e) = &result {
            if connection_failed(e) {
                // Twice in a row: the database is gone or stalled. Trying the
                // commands one by one could wait out the deadline for each.
                answer_unavailable(e, replies);
                return false;
            }
        }
    }
    match result {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
            true
        }
        Err(e) if cmds.len() == 1 => {
            // A unique violation alone usually means a concurrent node just
            // created the same order: one more try finds and compares it.
            let retried = match e {
                CmdError::Store(crate::StoreError::Conflict(_)) => apply(conn, ctx, cmds).await,
                other => Err(other),
            };
            let answer = retried.and_then(|mut a| a.pop().unwrap_or(Err(CmdError::Unavailable)));
            let healthy = !matches!(&answer, Err(e) if connection_failed(e));
            if let Err(err @ CmdError::Store(_)) = &answer {
                tracing::error!(error = %err, "writer command failed");
            }
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(answer);
            }
            healthy
        }
        Err(e) => {
            tracing::warn!(error = %e, size = cmds.len(), "batch failed; retrying its commands one by one");
            let mut healthy = !connection_failed(&e);
            let mut pending = cmds.iter().zip(replies);
            while let Some((cmd, reply)) = pending.next() {
                if reply.is_closed() {
                    // Its caller was answered 503 and may retry.
                    continue;
                }
                if !healthy {
                    if let Err(e) = connection::renew(pool, conn).await {
                        answer_unavailable(&e, [reply]);
                        continue;
                    }
                }
                let one = std::slice::from_ref(cmd);
                let answer = match apply(conn, ctx, one).await {
                    Ok(mut a) => a.pop().unwrap_or(Err(CmdError::Unavailable)),
                    Err(CmdError::Store(crate::StoreError::Conflict(_))) => {
                        apply(conn, ctx, one).await.and_then(|mut a| a.pop().unwrap_or(Err(CmdError::Unavailable)))
                    }
                    Err(e) => Err(e),
                };
                healthy = !matches!(&answer, Err(e) if connection_failed(e));
                if let Err(e @ CmdError::Stalled) = &answer {
                    answer_unavailable(e, std::iter::once(reply).chain(pending.map(|(_, r)| r)));
                    return false;
                }
                let _ = reply.send(answer);
            }
            healthy
        }
    }
}

/// Applies `cmds` optimistically, and once more carefully if that met an
/// existing order id. `Err` means nothing was written, except after a lost
/// or stalled connection, whose commit may have landed.
///
/// On PostgreSQL within `deadline`, the request timeout: past it the batch
/// is [`CmdError::Stalled`], answered 503 (its callers have been by then)
/// and its connection closed, and the shard goes on with a fresh one.
/// Without this, a session that stops answering without closing its socket
/// (a frozen server, a failover behind a NAT; sqlx sets no TCP keepalive)
/// would hold its shard, and every payment routed to it, until a restart.
async fn apply(conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command]) -> Answers {
    let backend = backend_of(conn);
    let attempt = async {
        if autocommit::eligible(cmds) {
            return autocommit::apply(conn, ctx, cmds).await;
        }
        apply_in_transaction(conn, ctx, cmds).await
    };
    match backend {
        Backend::Postgres => tokio::time::timeout(ctx.deadline, attempt).await.unwrap_or(Err(CmdError::Stalled)),
        // An embedded database has no socket to go silent; a new connection
        // would only queue behind the old one's write lock.
        Backend::Sqlite => attempt.await,
    }
}

/// [`apply`] inside a transaction: optimistic first, then careful.
async fn apply_in_transaction(conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command]) -> Answers {
    let mut result = apply_once(conn, ctx, cmds, Lookup::Recent(ctx.recent)).await;
    // Careful mode can still meet an order id another node inserted between
    // its lookup and its insert; a couple of rounds settle that.
    for _ in 0..3 {
        if !matches!(result, Err(CmdError::Retry)) {
            break;
        }
        metrics::counter!("paygate_writer_careful_retries_total").increment(1);
        result = apply_once(conn, ctx, cmds, Lookup::Careful).await;
    }
    match result {
        Err(CmdError::Retry) => Err(CmdError::Store(crate::StoreError::Conflict("merchant_order_id".into()))),
        other => other,
    }
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

type Reply = oneshot::Sender<Result<Outcome, CmdError>>;

/// A batch's answers, one per command in order; `Err` means nothing of the
/// batch was written.
type Answers = Result<Vec<Result<Outcome, CmdError>>, CmdError>;

/// No connection could be had: the callers get 503 and may retry.
fn answer_unavailable(e: &dyn std::fmt::Display, replies: impl IntoIterator<Item = Reply>) {
    tracing::error!(error = %e, "writer has no database connection");
    for reply in replies {
        let _ = reply.send(Err(CmdError::Unavailable));
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
