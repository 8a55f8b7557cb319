//! The read-model worker: projects each event exactly once in effect.
//!
//! Deliveries that arrive together are handled in one transaction: it claims their events (out
//! of `inbox_unprocessed`, into `inbox_processed`), parses each resource as received, projects
//! them all together (state, history, notification outbox), and commits once. A redelivery or
//! replay of a processed event finds it already claimed and changes nothing.

use super::{
    consumer::{handle_each_alone, Handler},
    Failure,
};
use crate::{
    catalogue::{bounded_error, Description, LimitError, Reading},
    projection::{project, Mode, Projectable, Projected},
    store::{classify, Deadline, ErrorKind},
    store::{event_rows::StoredEvent, inbox, processing::ProcessingClaim},
    telemetry::{traces, Metrics},
    wire::EventRef,
};
use lapin::message::Delivery;
use sqlx::PgPool;
use std::{collections::HashMap, sync::Arc};
use tokio::sync::Notify;

pub struct ReadModelHandler {
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
    pub queue: String,
    /// Woken after a commit that wrote a notification.
    pub notifications: Arc<Notify>,
    /// A batch's transaction's, so a connection gone silent cannot hold the worker.
    pub deadline: Deadline,
}

/// A database error as the failure of the events it met: passing faults are retried, anything
/// else is the event's own and will not pass.
fn database_failure(error: &sqlx::Error) -> Failure {
    let text = bounded_error(format!("database: {error}"));
    match classify(error) {
        ErrorKind::Transient | ErrorKind::Conflict => Failure::Transient(text),
        ErrorKind::RowLevel | ErrorKind::Other => Failure::Permanent(text),
    }
}

impl ReadModelHandler {
    fn event_ref(delivery: &Delivery) -> Result<EventRef, Failure> {
        EventRef::read(&delivery.data)
            .ok_or_else(|| Failure::Permanent("message is not a hookgate event message".into()))
    }

    /// Everything in one transaction; on a database error every outcome is that error.
    async fn project_batch(
        &self,
        refs: &[Result<EventRef, Failure>],
    ) -> Result<Vec<Result<(), Failure>>, sqlx::Error> {
        let keys: Vec<(&str, &str)> = refs
            .iter()
            .flatten()
            .map(|r| (r.source.as_str(), r.id.as_str()))
            .collect();
        let (mut claim, claimed) = ProcessingClaim::take(&self.pool, &keys).await?;
        let mut claimed: Vec<(&StoredEvent, Result<Description, _>)> =
            claimed.iter().map(|c| (c, c.describe())).collect();
        // Arrival order: events for one object are applied in it.
        claimed.sort_by_key(|(event, _)| event.seq);
        let (mut outcomes, mut projectable) = self.sort_claimed(&claimed);
        // One `project` span per event, each a child of the event's trace, open for the
        // batch's work; its notification goes on under it.
        let _spans: Vec<tracing::Span> = projectable
            .iter_mut()
            .map(|event| {
                let span = tracing::info_span!("project", event_id = %event.event_id);
                let parent = event.traceparent.take();
                traces::follow(&span, parent.as_ref());
                event.traceparent = Some(traces::passed_on(&span, parent.as_ref()));
                span
            })
            .collect();
        let projected = project(claim.connection(), &projectable, Mode::Live).await?;
        let mut notified = false;
        for (event, outcome) in projectable.iter().zip(projected) {
            if let Projected::Applied { notified: true } = outcome {
                notified = true;
            }
            outcomes.insert((event.source, event.event_id), Ok(()));
        }
        let unclaim: Vec<(&str, &str)> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_err())
            .map(|(key, _)| *key)
            .collect();
        // A failed event is not processed: it goes to the DLQ and may be replayed.
        claim.release(&unclaim).await?;
        claim.finish().await?;
        if notified {
            self.notifications.notify_one();
        }
        let mut seen = std::collections::HashSet::new();
        Ok(refs
            .iter()
            .map(|r| {
                let r = r.as_ref().map_err(Clone::clone)?;
                let key = (r.source.as_str(), r.id.as_str());
                // A second copy in the same batch, or an event processed before: no effect.
                match outcomes.get(&key) {
                    Some(outcome) if seen.insert(key) => outcome.clone(),
                    _ => {
                        self.metrics
                            .redeliveries
                            .with_label_values(&[self.queue.as_str()])
                            .inc();
                        Ok(())
                    }
                }
            })
            .collect())
    }
}

/// Outcomes decided so far, by `(source, event id)`.
type Outcomes<'e> = HashMap<(&'e str, &'e str), Result<(), Failure>>;

impl ReadModelHandler {
    /// Splits claimed events into those to project and those already decided: an event type
    /// outside the limits or a resource that does not fit fails for good, an event of an
    /// unknown family is done with.
    fn sort_claimed<'e>(
        &self,
        claimed: &'e [(&'e StoredEvent, Result<Description, LimitError>)],
    ) -> (Outcomes<'e>, Vec<Projectable<'e>>) {
        let mut outcomes: HashMap<(&str, &str), Result<(), Failure>> = HashMap::new();
        let mut projectable = Vec::new();
        for (event, description) in claimed {
            let key = (event.key.source.as_str(), event.key.event_id.as_str());
            match description {
                Err(error) => {
                    outcomes.insert(key, Err(Failure::Permanent(error.to_string())));
                }
                Ok(description) => match &description.reading {
                    Reading::Unknown { .. } => {
                        // The type goes to the log, not to a label: it comes from outside.
                        tracing::warn!(event_id = %event.key.event_id, event_type = %event.key.event_type, "event type outside the catalogue: processed without a projection");
                        self.metrics.unknown_events.inc();
                        outcomes.insert(key, Ok(()));
                    }
                    Reading::Unfit { family, reason, .. } => {
                        let reason = format!("resource does not fit {family}: {reason}");
                        outcomes.insert(key, Err(Failure::Permanent(reason)));
                    }
                    Reading::Valid(_) => projectable.extend(Projectable::of(event, description)),
                },
            }
        }
        (outcomes, projectable)
    }
}

impl Handler for ReadModelHandler {
    /// One transaction for the batch. If the database refuses it for anything but a passing
    /// fault, each event is projected alone, so only the offender fails (and, its failure being
    /// permanent, is dead-lettered at once) while its neighbours go through.
    async fn handle(&self, deliveries: &[Delivery]) -> Vec<Result<(), Failure>> {
        let refs: Vec<Result<EventRef, Failure>> = deliveries.iter().map(Self::event_ref).collect();
        let error = match self.deadline.on(self.project_batch(&refs)).await {
            Ok(outcomes) => return outcomes,
            Err(error) => error,
        };
        let failure = database_failure(&error);
        tracing::warn!(%failure, messages = deliveries.len(), "batch not projected");
        if matches!(failure, Failure::Transient(_)) || refs.len() == 1 {
            return refs.iter().map(|_| Err(failure.clone())).collect();
        }
        handle_each_alone(&refs, async |event| {
            match self
                .deadline
                .on(self.project_batch(std::slice::from_ref(event)))
                .await
            {
                Ok(mut outcome) => outcome.pop().unwrap_or(Ok(())),
                Err(error) => Err(database_failure(&error)),
            }
        })
        .await
    }

    async fn dead_lettered(&self, delivery: &Delivery, error: &str) {
        let Ok(event) = Self::event_ref(delivery) else {
            return;
        };
        let at = (&self.pool, self.deadline);
        record_dead_letter(at, &event.source, &event.id, error).await;
    }
}

/// Marks the inbox row as dead-lettered with its reason.
pub async fn record_dead_letter(
    (pool, deadline): (&PgPool, Deadline),
    source: &str,
    event_id: &str,
    error: &str,
) {
    let record = inbox::record_dead_letter(pool, source, event_id, error);
    if let Err(error) = deadline.on(record).await {
        tracing::warn!(%event_id, %error, "dead letter not recorded in the inbox");
    }
}
