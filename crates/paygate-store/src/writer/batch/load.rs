//! Steps 1 and 2 of a batch: the rows its commands refer to (locked on
//! PostgreSQL), the order ids it must look up, the event sequences of the
//! objects it may announce, and the balances of every account it may touch.

use super::{Batch, OrderKey};
use crate::db::Backend;
use crate::dialect::for_update;
use crate::payments::{PayInRow, PayOutRow, PAYIN_COLUMNS, PAYOUT_COLUMNS};
use crate::sql::{bind_all, list, pad_pow2, P};
use crate::writer::batch::Lookup;
use crate::writer::command::{Adjustment, CmdError, Command};
use paygate_core::ids::{MerchantId, PayInId, PayOutId};
use paygate_core::ledger::{AccountRef, Bucket, SystemAccount};
use paygate_core::money::CurrencyCode;
use paygate_core::tokens::Mode;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which ledger (merchant, mode, currency) a command posts to.
type LedgerKey = (MerchantId, Mode, CurrencyCode);

/// Accounts a command may touch, given the row it refers to.
fn accounts_for(
    cmd: &Command,
    payins: &HashMap<PayInId, PayInRow>,
    payouts: &HashMap<PayOutId, PayOutRow>,
) -> Vec<(LedgerKey, Vec<AccountRef>)> {
    use AccountRef::{Merchant, System};
    use Bucket::{Available, Frozen, Hold};
    use SystemAccount::*;
    // Payin and dispute commands post to the ledger of the payin they are about.
    let on_payin = |id: &str, accts: Vec<AccountRef>| {
        payins.get(id).map(|r| vec![((r.merchant_id.clone(), r.mode, r.currency.clone()), accts)]).unwrap_or_default()
    };
    match cmd {
        Command::CreatePayIn(_) => vec![],
        Command::CreatePayOut(row) => {
            vec![((row.merchant_id.clone(), row.mode, row.currency.clone()), vec![Merchant(Available), Merchant(Hold)])]
        }
        Command::PayIn(c) => on_payin(&c.id, vec![Merchant(Available), System(ProviderClearing), System(Fees)]),
        Command::PayOut(c) => payouts
            .get(c.id.as_str())
            .map(|r| {
                let accts = vec![Merchant(Available), Merchant(Hold), System(PayoutClearing), System(Fees)];
                vec![((r.merchant_id.clone(), r.mode, r.currency.clone()), accts)]
            })
            .unwrap_or_default(),
        Command::Adjust(a) => {
            let key = (a.merchant_id.clone(), a.mode, a.currency.clone());
            vec![(key, vec![Merchant(Available), System(Adjustments)])]
        }
        Command::OpenDispute(d) => on_payin(&d.row.payin_id, vec![Merchant(Available), Merchant(Frozen)]),
        Command::Dispute(c) => {
            on_payin(&c.payin_id, vec![Merchant(Available), Merchant(Frozen), System(ProviderClearing), System(Fees)])
        }
    }
}

impl Batch<'_> {
    pub(super) async fn load_rows(&mut self, conn: &mut AnyConnection, cmds: &[Command]) -> Result<(), CmdError> {
        let mut payin_ids = BTreeSet::new();
        let mut payout_ids = BTreeSet::new();
        let mut payin_orders = BTreeSet::new();
        let mut payout_orders = BTreeSet::new();
        // Objects whose events this batch may add to (a new dispute has none yet).
        let mut announced = BTreeSet::new();
        for c in cmds {
            match c {
                Command::CreatePayIn(r) => {
                    payin_orders.insert((r.merchant_id.clone(), r.merchant_order_id.clone()));
                }
                Command::CreatePayOut(r) => {
                    payout_orders.insert((r.merchant_id.clone(), r.merchant_order_id.clone()));
                }
                Command::PayIn(ch) => {
                    payin_ids.insert(ch.id.clone());
                    announced.insert(ch.id.clone());
                }
                Command::PayOut(ch) => {
                    payout_ids.insert(ch.id.clone());
                    announced.insert(ch.id.clone());
                }
                Command::Adjust(_) => {}
                Command::OpenDispute(d) => {
                    payin_ids.insert(d.row.payin_id.to_string());
                }
                Command::Dispute(ch) => {
                    payin_ids.insert(ch.payin_id.clone());
                    announced.extend([ch.payin_id.clone(), ch.id.clone()]);
                }
            }
        }
        // Keyed adjustments are rare and operator-driven: always looked up.
        for c in cmds {
            if let Command::Adjust(Adjustment { merchant_id, idempotency_key: Some(key), .. }) = c {
                let row = sqlx::query(
                    "SELECT tx_id, mode, currency, amount FROM adjustments WHERE merchant_id = $1 AND idempotency_key = $2",
                )
                .bind(merchant_id.as_str())
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(r) = row {
                    let found = (r.try_get("tx_id")?, r.try_get("mode")?, r.try_get("currency")?, r.try_get("amount")?);
                    self.adjustments.insert((merchant_id.clone(), key.clone()), found);
                }
            }
        }
        if let Lookup::Recent(recent) = self.lookup {
            payin_orders.retain(|k| recent.knows_payin(k));
            payout_orders.retain(|k| recent.knows_payout(k));
        }
        let backend = self.backend;
        for r in fetch_rows(conn, backend, "payins", PAYIN_COLUMNS, payin_ids, &payin_orders).await? {
            self.remember_payin(PayInRow::from_row(&r)?);
        }
        for r in fetch_rows(conn, backend, "payouts", PAYOUT_COLUMNS, payout_ids, &payout_orders).await? {
            self.remember_payout(PayOutRow::from_row(&r)?);
        }
        self.load_sequences(conn, announced).await?;
        self.load_disputes(conn, cmds).await
    }

    /// The latest event sequence of each object. Runs after the objects'
    /// rows are locked (PostgreSQL), so no other batch adds to them meanwhile;
    /// the unique `(object_id, sequence)` index stands behind it.
    pub(super) async fn load_sequences(
        &mut self,
        conn: &mut AnyConnection,
        ids: BTreeSet<String>,
    ) -> Result<(), CmdError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = pad_pow2(ids.into_iter().collect::<Vec<_>>());
        let sql = format!(
            "SELECT object_id, MAX(sequence) AS seq FROM events WHERE object_id IN ({}) GROUP BY object_id",
            list(self.backend, 1, ids.len())
        );
        let params = ids.into_iter().map(P::from).collect();
        for r in bind_all(lookup(&sql), params).fetch_all(&mut *conn).await? {
            self.sequences.insert(r.try_get("object_id")?, r.try_get("seq")?);
        }
        Ok(())
    }

    pub(super) fn remember_payin(&mut self, row: PayInRow) {
        self.payin_by_order.insert((row.merchant_id.clone(), row.merchant_order_id.clone()), row.id.clone());
        self.payins.insert(row.id.clone(), row);
    }

    pub(super) fn remember_payout(&mut self, row: PayOutRow) {
        self.payout_by_order.insert((row.merchant_id.clone(), row.merchant_order_id.clone()), row.id.clone());
        self.payouts.insert(row.id.clone(), row);
    }

    /// Loads (and on PostgreSQL locks) every existing account the batch may
    /// touch, in id order; accounts that do not exist yet count as zero and
    /// are created only when a command moves money on them, so a refused
    /// request leaves no trace. Two nodes creating the same account at once
    /// collide on its primary key, and the loser's commands are retried.
    pub(super) async fn load_accounts(&mut self, conn: &mut AnyConnection, cmds: &[Command]) -> Result<(), CmdError> {
        let mut needed: BTreeMap<String, Vec<P>> = BTreeMap::new();
        for c in cmds {
            for ((merchant, mode, currency), refs) in accounts_for(c, &self.payins, &self.payouts) {
                for r in refs {
                    let id = r.account_id(&merchant, mode.as_str(), &currency);
                    needed.entry(id.clone()).or_insert_with(|| {
                        vec![
                            id.into(),
                            merchant.clone().into(),
                            mode.as_str().into(),
                            i64::from(r.is_merchant()).into(),
                            currency.clone().into(),
                            r.bucket_name().into(),
                            self.now.into(),
                        ]
                    });
                }
            }
        }
        let ids: Vec<&String> = pad_pow2(needed.keys().collect());
        let lock = for_update(self.backend);
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "SELECT id, balance FROM accounts WHERE id IN ({}) ORDER BY id{lock}",
                list(self.backend, 1, chunk.len())
            );
            let params = chunk.iter().map(|s| P::from(s.as_str())).collect();
            for r in bind_all(lookup(&sql), params).fetch_all(&mut *conn).await? {
                self.book.load(r.try_get("id")?, r.try_get("balance")?);
            }
        }
        for (id, columns) in needed {
            if self.book.balance(&id).is_none() {
                self.book.load(id.clone(), 0);
                self.absent.insert(id, columns);
            }
        }
        Ok(())
    }
}

/// Rows of `table` that the batch's commands refer to: by id (locked, in id
/// order, on PostgreSQL) and by the (merchant, order id) pairs to look up.
pub(super) async fn fetch_rows(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[&str],
    ids: BTreeSet<String>,
    orders: &BTreeSet<OrderKey>,
) -> Result<Vec<AnyRow>, CmdError> {
    let cols = columns.join(", ");
    let mut rows = Vec::new();
    if !ids.is_empty() {
        let ids = pad_pow2(ids.into_iter().collect::<Vec<_>>());
        let lock = for_update(backend);
        let sql = format!("SELECT {cols} FROM {table} WHERE id IN ({}) ORDER BY id{lock}", list(backend, 1, ids.len()));
        let params = ids.into_iter().map(P::from).collect();
        rows.extend(bind_all(lookup(&sql), params).fetch_all(&mut *conn).await?);
    }
    if !orders.is_empty() {
        let (cond, params) = order_condition(backend, orders);
        let sql = format!("SELECT {cols} FROM {table} WHERE {cond}");
        rows.extend(bind_all(lookup(&sql), params).fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// A lookup statement, planned for its actual parameters every time. Cached
/// (generic) plans are made once, often while a table is still nearly empty,
/// and PostgreSQL then kept scanning the whole table for these lookups as it
/// grew. Planning a small SELECT costs far less than that risk.
pub(super) fn lookup(sql: &str) -> crate::sql::AnyQuery<'_> {
    sqlx::query(sql).persistent(false)
}

/// `merchant_id IN (…) AND merchant_order_id IN (…)`: both lists are index
/// conditions on the unique (merchant_id, merchant_order_id) index, also in
/// the generic plans PostgreSQL uses for prepared statements (an OR chain of
/// pairs degraded to a table scan there). It may return a few rows of other
/// pairs of the batch's merchants; they exist, so remembering them is right.
fn order_condition(backend: Backend, keys: &BTreeSet<OrderKey>) -> (String, Vec<P>) {
    let merchants: BTreeSet<&str> = keys.iter().map(|(m, _)| m.as_str()).collect();
    let orders: BTreeSet<&str> = keys.iter().map(|(_, o)| o.as_str()).collect();
    let merchants = pad_pow2(merchants.into_iter().collect::<Vec<_>>());
    let orders = pad_pow2(orders.into_iter().collect::<Vec<_>>());
    let cond = format!(
        "merchant_id IN ({}) AND merchant_order_id IN ({})",
        list(backend, 1, merchants.len()),
        list(backend, merchants.len() + 1, orders.len())
    );
    let params = merchants.into_iter().chain(orders).map(P::from).collect();
    (cond, params)
}
