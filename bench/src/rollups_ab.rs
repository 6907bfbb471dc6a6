//! `payin-create-rollups`: what the statistics rollups cost the write path,
//! A/B on one server in one run. payin-create runs with the rollups'
//! triggers (and, on PostgreSQL, the partial index of unsettled payins the
//! statistics read), then with them dropped, then restored, `ROUNDS` times
//! each way, alternated so that neither side always runs on the larger
//! table. The definitions are read back from the database before the drop
//! and executed again to restore them, so the "with" side is exactly what
//! the migrations made. The rollups are wrong after a "without" round: this
//! is a throwaway benchmark database.

use crate::load::{self, Run};
use crate::scenarios::{Ctx, Outcome, PayinCreate};
use anyhow::Context;
use sqlx::{AnyPool, Row};
use std::sync::Arc;

/// PostgreSQL's partial index of unsettled payins (statistics read them raw).
const UNSETTLED: &str = "payins_unsettled";

/// Rounds per side: with, without, with, without, … Each side's figure is
/// its median round: on this 2-core VM one round in four or five runs 10–15%
/// slow, whichever side it falls on.
const ROUNDS: usize = 3;

/// The triggers that keep the rollups on payins, by engine.
const TRIGGERS: [&str; 2] = ["payins_stats_insert", "payins_stats_update"];

pub async fn run(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(ctx.database_url).await?;
    let postgres = !ctx.database_url.starts_with("sqlite");
    let definitions = definitions(&pool, postgres).await?;
    anyhow::ensure!(
        definitions.len() == TRIGGERS.len() + usize::from(postgres),
        "expected the rollups' triggers{} in the database, found {}",
        if postgres { " and payins_unsettled" } else { "" },
        definitions.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", ")
    );
    let workload = Arc::new(PayinCreate::set_up(ctx, "rollups-ab-").await?);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut all = Run::default();
    for round in 0..ROUNDS * 2 {
        let rollups = round % 2 == 0;
        workload.next_round(round);
        let run = load::run(Arc::clone(&workload), ctx.connections, ctx.duration).await?;
        let rps = run.completed as f64 / run.elapsed.as_secs_f64().max(1e-9);
        if run.error_count() > 0 {
            anyhow::bail!("round {round} ({}): {} errors", side(rollups), run.error_count());
        }
        if rollups {
            with.push(rps);
            drop_all(&pool, &definitions, postgres).await?;
        } else {
            without.push(rps);
            restore_all(&pool, &definitions).await?;
        }
        all.completed += run.completed;
        all.elapsed += run.elapsed;
        all.latencies_us.extend(run.latencies_us);
    }
    pool.close().await;
    all.latencies_us.sort_unstable();
    let list = |v: &[f64]| v.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");
    let ratio = median(&with) / median(&without);
    let note = format!(
        "with rollups {:.0}/s (median of {}), without {:.0}/s (median of {}): ratio {ratio:.3}",
        median(&with),
        list(&with),
        median(&without),
        list(&without)
    );
    let lines = vec![
        format!("rounds alternate with/without, {ROUNDS} each, {} s measured per round", ctx.duration.as_secs()),
        note.clone(),
    ];
    Ok(Outcome { run: all, lines, note, check_ok: true })
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn side(rollups: bool) -> &'static str {
    if rollups {
        "with rollups"
    } else {
        "without rollups"
    }
}

/// (name, the statement that creates it) of each trigger and index.
async fn definitions(pool: &AnyPool, postgres: bool) -> anyhow::Result<Vec<(String, String)>> {
    let names = TRIGGERS.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let sql = if postgres {
        format!(
            "SELECT tgname::text AS name, pg_get_triggerdef(oid) AS def FROM pg_trigger \
             WHERE tgname IN ({names}) AND NOT tgisinternal \
             UNION ALL SELECT indexname::text, indexdef FROM pg_indexes WHERE indexname = '{UNSETTLED}'"
        )
    } else {
        format!("SELECT name, sql AS def FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})")
    };
    let rows = sqlx::query(&sql).fetch_all(pool).await.context("reading the rollups' definitions")?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("def")?))).collect()
}

async fn drop_all(pool: &AnyPool, definitions: &[(String, String)], postgres: bool) -> anyhow::Result<()> {
    for (name, _) in definitions {
        let sql = match (name == UNSETTLED, postgres) {
            (true, _) => format!("DROP INDEX {name}"),
            (false, true) => format!("DROP TRIGGER {name} ON payins"),
            (false, false) => format!("DROP TRIGGER {name}"),
        };
        sqlx::raw_sql(&sql).execute(pool).await.with_context(|| sql.clone())?;
    }
    Ok(())
}

async fn restore_all(pool: &AnyPool, definitions: &[(String, String)]) -> anyhow::Result<()> {
    for (name, def) in definitions {
        sqlx::raw_sql(def).execute(pool).await.with_context(|| format!("restoring {name}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
