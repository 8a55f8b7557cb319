//! `hookgate verify`: recomputes every object's state from the archive under the SPEC 3 order
//! and compares it with the read model; with `repair`, puts each difference right through the
//! projection the workers use.
//!
//! The archive is read in keyset pages ordered by object, so memory holds one page and the
//! events of one object, however large the archive.

use super::{
    jobs::{self, JobKind},
    object_pages::{describe, projectable, Described, ObjectPages},
    OpsError,
};
use crate::{
    catalogue::{format_time, Family, OrderKey},
    projection::{lock_object, replace_object, Projectable},
    store::{
        archive::{count_processed, events_of_object, ObjectEvent},
        read_model::{stored_states, StoredState},
    },
};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateSummary {
    pub status: String,
    pub event_id: String,
    pub occurred_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub family: &'static str,
    pub object_id: String,
    /// What the read model holds; `None` when it has no row for the object.
    pub stored: Option<StateSummary>,
    pub expected: StateSummary,
    /// The event the expected state comes from.
    pub deciding_event: String,
}

#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub objects: u64,
    pub events: u64,
    pub differences: Vec<Difference>,
    pub repaired: u64,
}

/// `verify`: one family or all, and whether to repair what differs.
pub struct VerifyRequest {
    pub family: Option<Family>,
    pub repair: bool,
}

/// Verifies what `request` names; `progress` gets events read and the total. One verify runs
/// at a time across every process ([`jobs`]).
pub async fn verify(
    pool: &PgPool,
    &VerifyRequest { family, repair }: &VerifyRequest,
    progress: impl FnMut(u64, u64),
) -> Result<Report, OpsError> {
    let job = jobs::start(pool, JobKind::Verify).await?;
    let outcome = verify_families(pool, family, repair, job.reporting(progress)).await;
    job.finish(&outcome).await;
    outcome
}

async fn verify_families(
    pool: &PgPool,
    family: Option<Family>,
    repair: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, OpsError> {
    let families = Family::one_or_all(family);
    let total = count_processed(pool, &families).await?;
    let mut report = Report::default();
    for &family in &families {
        verify_family(pool, family, repair, &mut report, &mut |read| {
            progress(read, total)
        })
        .await?;
    }
    Ok(report)
}

async fn verify_family(
    pool: &PgPool,
    family: Family,
    repair: bool,
    report: &mut Report,
    progress: &mut impl FnMut(u64),
) -> Result<(), sqlx::Error> {
    let mut pages = ObjectPages::new(family);
    let before = report.events;
    while let Some(objects) = pages.next(pool).await? {
        report.events = before + pages.read;
        progress(report.events);
        compare_objects(pool, family, objects, repair, report).await?;
    }
    Ok(())
}

/// Compares complete objects (their events grouped, in object order) with the read model.
async fn compare_objects(
    pool: &PgPool,
    family: Family,
    events: Vec<ObjectEvent>,
    repair: bool,
    report: &mut Report,
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let described = describe(events);
    let mut objects: Vec<&[Described]> = Vec::new();
    let mut start = 0;
    for end in 1..=described.len() {
        if end == described.len() || described[end].0.object_id != described[start].0.object_id {
            objects.push(&described[start..end]);
            start = end;
        }
    }
    let ids: Vec<&str> = objects.iter().map(|o| o[0].0.object_id.as_str()).collect();
    let stored: HashMap<String, StoredState> = stored_states(pool, family, &ids)
        .await?
        .into_iter()
        .map(|state| (state.object_id.clone(), state))
        .collect();
    for object in objects {
        report.objects += 1;
        let state = stored.get(object[0].0.object_id.as_str());
        let Some(difference) = difference(family, object, state) else {
            continue;
        };
        if repair {
            if !repair_object(pool, family, &difference.object_id).await? {
                // A worker applied what the read model lacked since the snapshot was read.
                continue;
            }
            report.repaired += 1;
        }
        report.differences.push(difference);
    }
    Ok(())
}

/// How `stored` differs from what `object`'s archived events give, if it does.
fn difference(
    family: Family,
    object: &[Described],
    stored: Option<&StoredState>,
) -> Option<Difference> {
    let events = projectable(family, object);
    let deciding = greatest(family, &events)?;
    differs(family, object, &events[deciding], stored)
}

/// Puts one object right, deciding again under its lock from its events and row as they are
/// now: a worker may have applied a newer event since the snapshot that found the difference
/// was read, and a repair from that snapshot would move the object backwards (invariant 5).
/// Returns whether it changed anything.
async fn repair_object(
    pool: &PgPool,
    family: Family,
    object_id: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    lock_object(&mut tx, family, object_id).await?;
    let object = describe(events_of_object(&mut tx, family, object_id).await?);
    let stored = stored_states(&mut *tx, family, &[object_id]).await?.pop();
    // Ended here, not dropped: a dropped transaction keeps the object's lock until its
    // connection is next used, and a worker projecting the object would wait for it.
    if difference(family, &object, stored.as_ref()).is_none() {
        tx.rollback().await?;
        return Ok(false);
    }
    let events = projectable(family, &object);
    let Some(deciding) = greatest(family, &events) else {
        tx.rollback().await?;
        return Ok(false);
    };
    replace_object(
        &mut tx,
        family,
        object_id,
        &events,
        &events[deciding],
        stored.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The index of the greatest event under the SPEC 3 order: the one the state comes from.
fn greatest(family: Family, events: &[Projectable<'_>]) -> Option<usize> {
    (0..events.len())
        .map(|i| (i, OrderKey::of(family, &events[i].point())))
        .max_by(|a, b| a.1.cmp(&b.1))
        .map(|(i, _)| i)
}

/// The difference between the stored state and the one the archive gives, if any. A stored
/// state that comes from an event no longer archived (pruned by retention) and is greater
/// than everything archived is consistent: the pruned event decided it.
fn differs(
    family: Family,
    object: &[Described],
    deciding: &Projectable<'_>,
    stored: Option<&StoredState>,
) -> Option<Difference> {
    let expected = deciding.point();
    if let Some(stored) = stored {
        if stored.last_event_id == deciding.event_id {
            return None;
        }
        let archived = object
            .iter()
            .any(|(a, _)| a.event.key.event_id == stored.last_event_id);
        if !archived && OrderKey::of(family, &stored.point()) > OrderKey::of(family, &expected) {
            return None;
        }
    }
    Some(Difference {
        family: family.as_str(),
        object_id: object[0].0.object_id.clone(),
        stored: stored.map(|s| StateSummary {
            status: s.status.clone(),
            event_id: s.last_event_id.clone(),
            occurred_at: format_time(&s.occurred_at),
        }),
        expected: StateSummary {
            status: expected.status.to_owned(),
            event_id: expected.event_id.to_owned(),
            occurred_at: format_time(&expected.occurred_at),
        },
        deciding_event: deciding.event_id.to_owned(),
    })
}
