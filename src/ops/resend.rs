//! Resending notifications to one subscriber (SPEC 5): a subscriber restored from a backup,
//! or one that mishandled what it got, is sent again the notifications of the transitions
//! applied in a time range, or of some objects, that its patterns take. Each goes to its
//! queue only, with its original id (the subscriber deduplicates by `webhook-id`) and a header
//! that makes the notifier POST it although an earlier delivery succeeded.
//!
//! A resend plans first: the selection is checked, pinned to the notifications kept now, and
//! counted page by page, so a dry run's count is exact and the run reports progress against
//! it. Then it walks the same pages, publishing each page with confirms before the next.

use super::OpsError;
use crate::{
    amqp::{confirmed, publish_mandatory, Outcome, Topology},
    catalogue::{format_time, quote, EventId, Family},
    store::{
        kept_notifications::{self, KeptKey, KeptSelection},
        read_model,
    },
    wire::{any_topic_matches, resend_properties},
};
use chrono::{DateTime, Utc};
use lapin::Channel;
use sqlx::PgPool;

/// Notifications read a page at a time.
const PAGE: i64 = 500;
/// Objects one resend may name.
pub const MAX_OBJECTS: usize = 100;

/// Which notifications to resend, to whom; a dry run only counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResendRequest {
    pub subscriber: String,
    pub selection: ResendSelection,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResendSelection {
    /// Transitions applied at or after `since` and before `until` (now when absent).
    Between {
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        family: Option<Family>,
    },
    /// Every kept notification of these objects.
    Objects(Vec<(Family, String)>),
}

impl ResendRequest {
    /// What the audit log says of a resend that sent `resent`.
    pub fn audit_detail(&self, resent: u64) -> serde_json::Value {
        let selection = match &self.selection {
            ResendSelection::Between {
                since,
                until,
                family,
            } => serde_json::json!({
                "since": format_time(since),
                "until": until.as_ref().map(format_time),
                "family": family.map(Family::as_str),
            }),
            ResendSelection::Objects(objects) => serde_json::json!({
                "objects": objects
                    .iter()
                    .map(|(family, id)| format!("{family}/{id}"))
                    .collect::<Vec<_>>(),
            }),
        };
        serde_json::json!({"subscriber": self.subscriber, "selection": selection, "resent": resent})
    }
}

/// What a resend sent, or with `dry_run` would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    pub resent: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// A checked, pinned and counted selection, and where it goes.
pub struct ResendPlan {
    queue: String,
    pinned: Pinned,
    pub total: u64,
}

/// A selection pinned to the `seq` range it held when the resend was planned, with the
/// subscriber's patterns: what every walk of it reads.
struct Pinned {
    patterns: Vec<String>,
    selection: KeptSelection,
    span: Option<(i64, i64)>,
}

/// Checks `request` against the topology and the notifications kept for `kept_days`, pins
/// it and counts what it would send. A range that starts before the oldest notification
/// retention keeps is refused, naming that time: part of it may be gone already.
pub async fn plan(
    pool: &PgPool,
    topology: &Topology,
    request: &ResendRequest,
    kept_days: u32,
    now: DateTime<Utc>,
) -> Result<ResendPlan, OpsError> {
    let patterns = topology
        .subscribers
        .iter()
        .find(|(name, _)| *name == request.subscriber)
        .map(|(_, patterns)| patterns.clone())
        .ok_or_else(|| unknown_subscriber(topology, &request.subscriber))?;
    let selection = match &request.selection {
        ResendSelection::Between {
            since,
            until,
            family,
        } => {
            let oldest = now - chrono::Duration::days(i64::from(kept_days));
            if *since < oldest {
                return Err(OpsError::Selection(format!(
                    "notifications are kept for {kept_days} days: the oldest time available is {}",
                    format_time(&oldest)
                )));
            }
            let until = until.map_or(now, |until| until.min(now));
            OpsError::unless_ordered(since, &until, ["since", "until"])?;
            KeptSelection::Between {
                since: *since,
                until,
                family: *family,
            }
        }
        ResendSelection::Objects(objects) => {
            check_objects(pool, objects).await?;
            KeptSelection::OfObjects(objects.clone())
        }
    };
    let pinned = Pinned {
        span: kept_notifications::pin(pool, &selection).await?,
        patterns,
        selection,
    };
    let mut total = 0;
    let mut pages = pinned.pages();
    while let Some(page) = pages.next(pool).await? {
        total += page.len() as u64;
    }
    Ok(ResendPlan {
        queue: topology.names.subscriber(&request.subscriber),
        pinned,
        total,
    })
}

fn unknown_subscriber(topology: &Topology, name: &str) -> OpsError {
    let known: Vec<&str> = topology
        .subscribers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    OpsError::Selection(format!(
        "no subscriber is named {}; configured: {}",
        quote(name),
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// Refuses an empty or oversized list, and names the objects the read model does not have.
async fn check_objects(pool: &PgPool, objects: &[(Family, String)]) -> Result<(), OpsError> {
    if objects.is_empty() || objects.len() > MAX_OBJECTS {
        return Err(OpsError::Selection(format!(
            "name 1 to {MAX_OBJECTS} objects"
        )));
    }
    let mut missing = Vec::new();
    for (family, id) in objects {
        if read_model::find_object(pool, *family, id).await?.is_none() {
            missing.push(format!("{family}/{}", quote(id)));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(OpsError::Selection(format!(
            "no such object: {}",
            missing.join(", ")
        )))
    }
}

/// A notification the subscriber's patterns take, with the ids its message carries.
struct Sendable {
    seq: i64,
    id: EventId,
    source: String,
    event_id: EventId,
    traceparent: Option<String>,
}

impl Pinned {
    /// A walk of the pinned selection from its start.
    fn pages(&self) -> Pages<'_> {
        Pages {
            pinned: self,
            after: self.span.map(|(first, _)| first),
        }
    }

    fn takes(&self, key: KeptKey) -> Option<Sendable> {
        if !any_topic_matches(&self.patterns, &key.routing_key) {
            return None;
        }
        Some(Sendable {
            seq: key.seq,
            id: EventId::parse(&key.notification_id).ok()?,
            source: key.source,
            event_id: EventId::parse(&key.event_id).ok()?,
            traceparent: key.traceparent,
        })
    }
}

/// The pinned selection read a page at a time (keyset, by `seq`).
struct Pages<'p> {
    pinned: &'p Pinned,
    /// Where the next page starts; `None` once the walk is over.
    after: Option<i64>,
}

impl Pages<'_> {
    /// The next page's sendable notifications (possibly none), or `None` at the end. A
    /// notification whose ids break today's limits was parked by the relay, never sent, and
    /// is left out.
    async fn next(&mut self, pool: &PgPool) -> Result<Option<Vec<Sendable>>, OpsError> {
        let (Some(after), Some((_, upto))) = (self.after, self.pinned.span) else {
            return Ok(None);
        };
        let selection = &self.pinned.selection;
        let keys = kept_notifications::keys_page(pool, selection, after, upto, PAGE).await?;
        self.after = keys.last().map(|last| last.seq);
        if keys.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            keys.into_iter()
                .filter_map(|k| self.pinned.takes(k))
                .collect(),
        ))
    }
}

/// Publishes the plan's notifications to the subscriber's queue, a page at a time, each page
/// confirmed before the next; `progress` gets (sent, total).
pub async fn resend(
    pool: &PgPool,
    channel: &Channel,
    plan: &ResendPlan,
    at: DateTime<Utc>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Resent, OpsError> {
    let mut resent = 0_u64;
    let mut pages = plan.pinned.pages();
    while let Some(page) = pages.next(pool).await? {
        let seqs: Vec<i64> = page.iter().map(|s| s.seq).collect();
        let bodies = kept_notifications::bodies(pool, &seqs).await?;
        let mut pending = Vec::with_capacity(page.len());
        for notification in &page {
            // Retention may have pruned one since the page was read: it is not sent.
            let Ok(at_body) = bodies.binary_search_by_key(&notification.seq, |(seq, _)| *seq)
            else {
                continue;
            };
            let properties = resend_properties(
                &notification.id,
                &notification.source,
                &notification.event_id,
                notification.traceparent.as_deref(),
                at,
            );
            let body = &bodies[at_body].1;
            let confirm = publish_mandatory(channel, "", &plan.queue, body, properties).await?;
            pending.push((notification, confirm));
        }
        for (notification, confirm) in pending {
            if confirmed(confirm).await? != Outcome::Taken {
                let id = notification.id.as_str().to_owned();
                return Err(OpsError::NotConfirmed(id));
            }
            resent += 1;
            progress(resent, plan.total);
        }
    }
    Ok(Resent {
        resent,
        dry_run: false,
    })
}
