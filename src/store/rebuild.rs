//! The shadow tables of an online rebuild (`ops::archive::rebuild`): copies of the live tables'
//! definitions (`rebuild_<table>`, `rebuild_status_history`), filled through the projection
//! in [`Tables::Shadow`], compared with the live ones, and swapped in by renaming, in one
//! transaction the caller opens after pausing projection. Table names come from the
//! catalogue, never from input.

use super::read_model::{Tables, PROJECTION_PAUSE};
use crate::catalogue::Family;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

const HISTORY: &str = "status_history";

/// The live family tables a rebuild of `families` replaces.
fn family_tables(families: &[Family]) -> Vec<&'static str> {
    families
        .iter()
        .filter_map(|family| Some(family.facts()?.table))
        .collect()
}

/// The database's clock: a rebuild's watermarks compare with times the database set.
pub async fn database_now(pool: &PgPool) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar("SELECT now()").fetch_one(pool).await
}

/// Drops what an earlier rebuild left and makes empty shadow tables for `families`.
pub async fn prepare(pool: &PgPool, families: &[Family]) -> Result<(), sqlx::Error> {
    discard(pool, families).await?;
    for table in family_tables(families).into_iter().chain([HISTORY]) {
        let shadow = Tables::Shadow.name(table);
        sqlx::query(&format!(
            "CREATE TABLE {shadow} (LIKE {table} INCLUDING ALL)"
        ))
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Drops the shadow tables of `families`, if there are any.
pub async fn discard(pool: &PgPool, families: &[Family]) -> Result<(), sqlx::Error> {
    for table in family_tables(families).into_iter().chain([HISTORY]) {
        let shadow = Tables::Shadow.name(table);
        sqlx::query(&format!("DROP TABLE IF EXISTS {shadow}"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Copies into the shadow what the archive cannot give back: objects none of whose events are
/// archived any more (retention dropped them; they are kept as they are), and the history rows
/// of events no longer archived.
pub async fn keep_unarchived(pool: &PgPool, families: &[Family]) -> Result<(), sqlx::Error> {
    for table in family_tables(families) {
        let shadow = Tables::Shadow.name(table);
        sqlx::query(&format!(
            "INSERT INTO {shadow} SELECT * FROM {table} AS l
             WHERE NOT EXISTS (SELECT 1 FROM {shadow} AS s WHERE s.object_id = l.object_id)"
        ))
        .execute(pool)
        .await?;
    }
    sqlx::query(
        "INSERT INTO rebuild_status_history SELECT * FROM status_history AS h
         WHERE h.family = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM inbox_dedup AS k
                           WHERE k.source = h.source AND k.event_id = h.event_id)
         ON CONFLICT DO NOTHING",
    )
    .bind(families)
    .execute(pool)
    .await?;
    Ok(())
}

/// An object whose state the swap changes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShadowDifference {
    #[schema(value_type = String)]
    pub family: Family,
    pub object_id: String,
    /// The live state, `None` for an object the live table lacks.
    pub live_status: Option<String>,
    pub live_event_id: Option<String>,
    /// The rebuilt state, `None` for an object the rebuild drops.
    pub rebuilt_status: Option<String>,
    pub rebuilt_event_id: Option<String>,
}

fn differences_of(families: &[Family]) -> String {
    families
        .iter()
        .filter_map(|family| Some((family.as_str(), family.facts()?.table)))
        .map(|(family, table)| {
            let shadow = Tables::Shadow.name(table);
            format!(
                "SELECT '{family}' AS family, object_id, l.status AS live_status,
                        l.last_event_id AS live_event_id, s.status AS rebuilt_status,
                        s.last_event_id AS rebuilt_event_id
                 FROM {table} AS l FULL JOIN {shadow} AS s USING (object_id)
                 WHERE l.status IS DISTINCT FROM s.status
                    OR l.last_event_id IS DISTINCT FROM s.last_event_id"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// How many objects the swap changes, and the first `limit` of them.
pub async fn differences(
    pool: &PgPool,
    families: &[Family],
    limit: i64,
) -> Result<(i64, Vec<ShadowDifference>), sqlx::Error> {
    let all = differences_of(families);
    let count = sqlx::query_scalar(&format!("SELECT count(*) FROM ({all}) AS d"))
        .fetch_one(pool)
        .await?;
    let listed = sqlx::query_as(&format!(
        "SELECT * FROM ({all}) AS d ORDER BY family, object_id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((count, listed))
}

/// Pauses projection into the live tables for the rest of `tx`: waits for the batches under
/// way, and holds new ones, at most `lock_timeout` for any lock the swap needs.
pub async fn pause_projection(
    tx: &mut PgConnection,
    lock_timeout: &str,
) -> Result<(), sqlx::Error> {
    super::lock_for_transaction(tx, PROJECTION_PAUSE, lock_timeout).await
}

/// Puts the shadow tables of `families` in place of the live ones inside `tx`. Family tables
/// are swapped by renaming, with their indexes given the live ones' names and the views on them
/// made again. The history is renamed too when the rebuild covers every family; for some
/// families only, their rows are replaced, as the history is shared.
pub async fn swap(
    tx: &mut PgConnection,
    families: &[Family],
    every: bool,
) -> Result<(), sqlx::Error> {
    let mut tables = family_tables(families);
    if every {
        tables.push(HISTORY);
    }
    let views = dependent_views(tx, &tables).await?;
    for (view, _) in &views {
        sqlx::query(&format!("DROP VIEW {view}"))
            .execute(&mut *tx)
            .await?;
    }
    if every {
        // The id sequence belongs to the live history, and would go with it.
        sqlx::query("ALTER SEQUENCE status_history_id_seq OWNED BY NONE")
            .execute(&mut *tx)
            .await?;
    }
    for table in &tables {
        swap_table(tx, table).await?;
    }
    if every {
        sqlx::query("ALTER SEQUENCE status_history_id_seq OWNED BY status_history.id")
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query("DELETE FROM status_history WHERE family = ANY($1)")
            .bind(families)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO status_history SELECT * FROM rebuild_status_history")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DROP TABLE rebuild_status_history")
            .execute(&mut *tx)
            .await?;
    }
    for (view, definition) in &views {
        sqlx::query(&format!("CREATE VIEW {view} AS {definition}"))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The views that read any of `tables`, with their definitions.
async fn dependent_views(
    tx: &mut PgConnection,
    tables: &[&str],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid)
         FROM pg_depend AS d
         JOIN pg_rewrite AS r ON r.oid = d.objid
         JOIN pg_class AS v ON v.oid = r.ev_class AND v.relkind = 'v'
         WHERE d.refobjid = ANY(SELECT to_regclass(t)::oid FROM UNNEST($1::text[]) AS t)",
    )
    .bind(tables)
    .fetch_all(tx)
    .await
}

/// Each index of `table`: its name, and its definition without name and table, so that an
/// index of the shadow can be matched to the live one it replaces.
async fn indexes(tx: &mut PgConnection, table: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.indexrelid::regclass::text,
                i.indisunique::text || ' ' || regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', '')
         FROM pg_index AS i WHERE i.indrelid = to_regclass($1)",
    )
    .bind(table)
    .fetch_all(tx)
    .await
}

async fn swap_table(tx: &mut PgConnection, table: &str) -> Result<(), sqlx::Error> {
    let shadow = Tables::Shadow.name(table);
    let live_indexes = indexes(tx, table).await?;
    let shadow_indexes = indexes(tx, &shadow).await?;
    let retired = format!("rebuild_old_{table}");
    for statement in [
        format!("ALTER TABLE {table} RENAME TO {retired}"),
        format!("ALTER TABLE {shadow} RENAME TO {table}"),
        format!("DROP TABLE {retired}"),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    for (name, definition) in &shadow_indexes {
        if let Some((live, _)) = live_indexes.iter().find(|(_, d)| d == definition) {
            // Renaming a constraint's index renames the constraint.
            sqlx::query(&format!("ALTER INDEX {name} RENAME TO {live}"))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}
