//! Claiming events for projection. A claim is a transaction with a handle: the events leave the
//! unprocessed queue and are recorded as processed when it is taken; those that then fail are
//! given back with [`ProcessingClaim::release`]; [`ProcessingClaim::finish`] commits. A claim
//! dropped unfinished (an error, a panic, a deadline) rolls back, so no event is ever left
//! recorded as processed by a batch that did not commit.

use super::event_rows::StoredEvent;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// The events a batch claimed, inside the transaction that must also hold their projection.
#[must_use = "a claim is only kept by `finish`; dropped, it rolls back"]
pub struct ProcessingClaim {
    tx: Transaction<'static, Postgres>,
}

impl ProcessingClaim {
    /// Claims the listed events and returns those no one had processed yet; a redelivered or
    /// replayed processed event is not returned. One statement: the events leave the
    /// unprocessed queue, their processing is recorded, and a dead-letter mark left by an
    /// earlier failure is cleared.
    pub async fn take(
        pool: &PgPool,
        keys: &[(&str, &str)],
    ) -> Result<(ProcessingClaim, Vec<StoredEvent>), sqlx::Error> {
        let mut tx = pool.begin().await?;
        let (sources, ids): (Vec<&str>, Vec<&str>) = keys.iter().copied().unzip();
        let events = sqlx::query_as(concat!(
            "WITH claimed AS (
                 DELETE FROM inbox_unprocessed AS u USING inbox_events AS e
                 WHERE u.seq = e.seq AND u.seq = ANY (",
            seqs_of_keys!(),
            ")
                 RETURNING e.*),
             recorded AS (
                 INSERT INTO inbox_processed (seq, processed_at)
                 SELECT seq, now() FROM claimed ON CONFLICT (seq) DO NOTHING),
             cleared AS (
                 UPDATE inbox_events SET dead_lettered_at = NULL, error = NULL
                 WHERE seq IN (SELECT seq FROM claimed) AND dead_lettered_at IS NOT NULL)
             SELECT ",
            stored_event_columns!(),
            " FROM claimed"
        ))
        .bind(&sources)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        Ok((ProcessingClaim { tx }, events))
    }

    /// The claim's transaction, for the projection of its events.
    pub fn connection(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Gives claimed events back: they failed, so they are not processed and may be replayed.
    pub async fn release(&mut self, keys: &[(&str, &str)]) -> Result<(), sqlx::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let (sources, ids): (Vec<&str>, Vec<&str>) = keys.iter().copied().unzip();
        sqlx::query(concat!(
            "WITH released AS (
                     DELETE FROM inbox_processed WHERE seq = ANY (",
            seqs_of_keys!(),
            ") RETURNING seq)
                 INSERT INTO inbox_unprocessed (seq) SELECT seq FROM released
                 ON CONFLICT (seq) DO NOTHING"
        ))
        .bind(&sources)
        .bind(&ids)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Commits the claim with everything done inside it.
    pub async fn finish(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
