//! Which dead letters and parked events an operation takes, and the selections refused
//! because they cannot be meant: an unknown event id, or one that two sources' events share
//! given without its source.

use super::OpsError;
use crate::store::{
    dlq_index::{self, Selection},
    parked_events::{self, ParkedSelection},
};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

/// Which dead letters a replay takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// These event ids, of this source when given.
    EventIds(Vec<String>, Option<String>),
    EventType(String),
    All,
}

impl Selector {
    pub(super) fn selection(&self) -> Selection<'_> {
        let (event_ids, event_type, source) = match self {
            Selector::All => (&[][..], None, None),
            Selector::EventIds(ids, source) => (&ids[..], None, source.as_deref()),
            Selector::EventType(wanted) => (&[][..], Some(wanted.as_str()), None),
        };
        Selection {
            event_ids,
            event_type,
            source,
        }
    }

    /// The parked events it takes.
    pub(super) fn parked_selection(&self) -> ParkedSelection {
        let selection = self.selection();
        ParkedSelection {
            event_ids: selection.event_ids.to_vec(),
            event_type: selection.event_type.map(str::to_owned),
            source: selection.source.map(str::to_owned),
        }
    }
}

/// The sources of each of `ids` that names a dead letter or a parked event.
async fn sources_of(
    pool: &PgPool,
    ids: &[String],
) -> Result<BTreeMap<String, BTreeSet<String>>, OpsError> {
    let mut sources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let indexed = dlq_index::sources_of_event_ids(pool, ids).await?;
    let parked = parked_events::parked_event_sources(pool, ids).await?;
    for (id, source) in indexed.into_iter().chain(parked) {
        sources.entry(id).or_default().insert(source);
    }
    Ok(sources)
}

/// An event id that names no dead letter and no parked event (of the source given) is a
/// mistake, not "nothing to do"; one that two sources share needs its source.
pub(super) async fn refuse_unclear(pool: &PgPool, selector: &Selector) -> Result<(), OpsError> {
    let Selector::EventIds(ids, source) = selector else {
        return Ok(());
    };
    if ids.is_empty() {
        return Err(OpsError::Selection("give at least one event id".into()));
    }
    let sources = sources_of(pool, ids).await?;
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| match (sources.get(*id), source) {
            (None, _) => true,
            (Some(found), Some(source)) => !found.contains(source),
            (Some(_), None) => false,
        })
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(OpsError::Selection(format!(
            "no dead letter for event id {}",
            unknown.join(", ")
        )));
    }
    if source.is_none() {
        refuse_shared_ids(&sources)?;
    }
    Ok(())
}

/// Refuses `ids` when one of them has dead letters or parked events from two sources.
pub(super) async fn refuse_shared(pool: &PgPool, ids: &[String]) -> Result<(), OpsError> {
    refuse_shared_ids(&sources_of(pool, ids).await?)
}

fn refuse_shared_ids(sources: &BTreeMap<String, BTreeSet<String>>) -> Result<(), OpsError> {
    match sources.iter().find(|(_, found)| found.len() > 1) {
        None => Ok(()),
        Some((id, found)) => Err(OpsError::Selection(format!(
            "event id {id} has dead letters from more than one source ({}): give its source",
            found.iter().cloned().collect::<Vec<_>>().join(", ")
        ))),
    }
}
