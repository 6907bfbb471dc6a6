//! The writer's retry policy, in one place. Nothing here reaches a caller
//! but the final answer of each command.
//!
//! 1. A batch is applied with the order ids the shard remembers looked up
//!    (`recent.rs`); if an insert meets an order id it did not look up, the
//!    batch is redone with every order id looked up, up to three rounds
//!    (another node may insert the same id in between).
//! 2. If the connection fails, it is replaced and the batch applied once more
//!    (every command is keyed, so one whose commit did land is found, not
//!    applied twice); a second failure in a row answers 503.
//! 3. If the batch fails as a whole for another reason (a constraint a
//!    concurrent node hit first, a deadlock), its commands are applied one
//!    by one, so one bad command cannot fail its neighbours; a unique
//!    violation alone is tried once more (a concurrent create of the same
//!    order is then found and compared).
//! 4. A PostgreSQL batch that outlives the deadline is `Stalled`: answered
//!    503 and never replayed, since its old session may still commit it.

use super::batch::Lookup;
use super::command::{CmdError, Command, Outcome};
use super::connection::{self, connection_failed, Conn};
use super::recent::RecentOrders;
use super::render::Render;
use super::WriteError;
use super::{answer_unavailable, apply_once, autocommit, backend_of, Answers, Ctx, Job, Reply};
use crate::db::{Backend, Db};
use crate::StoreError;
use std::time::Duration;

/// Applies a batch; if the transaction fails as a whole (a constraint hit by
/// a concurrent node, a deadlock, a lost connection), every command is
/// retried alone so that one bad command cannot fail its neighbours; a lost
/// connection is replaced first. Returns false when the connection itself
/// failed, so that it is closed rather than reused.
pub(super) async fn process(
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
    let ctx = Ctx { render, notify, deadline, recent, turns: pool };
    let healthy = process_commands(pool, conn, &ctx, &cmds, replies).await;
    // Whatever became of them: the next batch looks these order ids up.
    recent.remember(&cmds);
    healthy
}

/// [`process`] once the commands are taken from their jobs.
async fn process_commands(pool: &Db, conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command], replies: Vec<Reply>) -> bool {
    let mut result = apply(conn, ctx, cmds).await;
    if let Err(e @ CmdError::Failed(WriteError::Stalled)) = &result {
        // Its callers were answered 503 by the same deadline, and the old
        // session may still commit the batch (a COMMIT waiting on a slow
        // disk): applying it again could post an unkeyed adjustment twice.
        // Closing the connection is all there is to do.
        answer_unavailable(e, replies);
        return false;
    }
    if matches!(&result, Err(e) if batch_lost_connection(e)) {
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
            if batch_lost_connection(e) {
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
            let retried = if is_conflict(&e) { apply(conn, ctx, cmds).await } else { Err(e) };
            let answer = only_answer(retried);
            let healthy = !matches!(&answer, Err(e) if connection_failed(e));
            if let Err(err @ WriteError::Store(_)) = &answer {
                tracing::error!(error = %err, "writer command failed");
            }
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(answer);
            }
            healthy
        }
        Err(e) => {
            tracing::warn!(error = %e, size = cmds.len(), "batch failed; retrying its commands one by one");
            let mut healthy = !batch_lost_connection(&e);
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
                let first = apply(conn, ctx, one).await;
                let answer = match first {
                    Err(e) if is_conflict(&e) => only_answer(apply(conn, ctx, one).await),
                    other => only_answer(other),
                };
                healthy = !matches!(&answer, Err(e) if connection_failed(e));
                if let Err(e @ WriteError::Stalled) = &answer {
                    answer_unavailable(e, std::iter::once(reply).chain(pending.map(|(_, r)| r)));
                    return false;
                }
                let _ = reply.send(answer);
            }
            healthy
        }
    }
}

/// The answer of a batch of one command.
fn only_answer(answers: Answers) -> Result<Outcome, WriteError> {
    match answers {
        Ok(mut a) => a.pop().unwrap_or(Err(WriteError::Unavailable)),
        Err(e) => Err(e.into_write_error()),
    }
}

/// A unique violation the whole batch met.
fn is_conflict(e: &CmdError) -> bool {
    matches!(e, CmdError::Failed(WriteError::Store(StoreError::Conflict(_))))
}

/// The batch failed because its connection did.
fn batch_lost_connection(e: &CmdError) -> bool {
    matches!(e, CmdError::Failed(w) if connection_failed(w))
}

/// Applies `cmds` optimistically, and once more carefully if that met an
/// existing order id. `Err` means nothing was written, except after a lost
/// or stalled connection, whose commit may have landed.
///
/// On PostgreSQL within `deadline`, the request timeout: past it the batch
/// is [`WriteError::Stalled`], answered 503 (its callers have been by then)
/// and its connection closed, and the shard goes on with a fresh one.
/// Without this, a session that stops answering without closing its socket
/// (a frozen server, a failover behind a NAT; sqlx sets no TCP keepalive)
/// would hold its shard, and every payment routed to it, until a restart.
async fn apply(conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command]) -> Answers {
    let backend = backend_of(conn);
    // SQLite: each transaction takes its turn with the writes made outside
    // the writer (webhook claims and attempt records, exchange moves), in
    // arrival order; one transaction at a time, so a batch that falls back
    // to one command at a time lets them in between. Left to SQLite's busy
    // handler, those writes slept and retried while batches kept taking the
    // lock: at 2,000 events/s a claim waited up to 1.6 s (bench/README.md).
    let _turn = ctx.turns.write_turn().await;
    let attempt = async {
        if autocommit::eligible(cmds) {
            return autocommit::apply(conn, ctx, cmds).await;
        }
        apply_in_transaction(conn, ctx, cmds).await
    };
    match backend {
        Backend::Postgres => {
            tokio::time::timeout(ctx.deadline, attempt).await.unwrap_or(Err(CmdError::Failed(WriteError::Stalled)))
        }
        // An embedded database has no socket to go silent; a new connection
        // would only queue behind the old one's write lock.
        Backend::Sqlite => attempt.await,
    }
}

/// [`apply`] inside a transaction: optimistic first, then careful.
pub(super) async fn apply_in_transaction(conn: &mut Conn, ctx: &Ctx<'_>, cmds: &[Command]) -> Answers {
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
        Err(CmdError::Retry) => Err(StoreError::Conflict("merchant_order_id".into()).into()),
        other => other,
    }
}
