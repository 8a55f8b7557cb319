//! A family's processed events walked object by object, in keyset pages: each step hands over
//! the events of the objects a page completed (an object the page ended in may go on in the
//! next), so memory holds one page and one object's events, however large the archive.
//! `verify` and `rebuild` walk the archive this way.

use crate::{
    catalogue::{Description, Family},
    projection::Projectable,
    store::archive::{object_events_page, ObjectEvent},
};
use sqlx::PgPool;

const PAGE: i64 = 1000;

pub struct ObjectPages {
    family: Family,
    after: Option<(String, i64)>,
    /// The events of the object the last page ended in.
    open: Vec<ObjectEvent>,
    done: bool,
    /// Events read so far.
    pub read: u64,
}

impl ObjectPages {
    pub fn new(family: Family) -> ObjectPages {
        ObjectPages {
            family,
            after: None,
            open: Vec::new(),
            done: false,
            read: 0,
        }
    }

    /// The events of the next complete objects, grouped by object in object order; `None`
    /// once the archive is exhausted.
    pub async fn next(&mut self, pool: &PgPool) -> Result<Option<Vec<ObjectEvent>>, sqlx::Error> {
        if self.done {
            return Ok(None);
        }
        let position = self
            .after
            .as_ref()
            .map(|(object, seq)| (object.as_str(), *seq));
        let page = object_events_page(pool, self.family, position, PAGE).await?;
        self.done = (page.len() as i64) < PAGE;
        if let Some(last) = page.last() {
            self.after = Some((last.object_id.clone(), last.event.seq));
        }
        self.read += page.len() as u64;
        self.open.extend(page);
        // Every object but the last is complete; the last too once the archive is exhausted.
        let keep_from = match (self.done, self.open.last()) {
            (true, _) | (_, None) => self.open.len(),
            (false, Some(last)) => self
                .open
                .iter()
                .position(|e| e.object_id == last.object_id)
                .unwrap_or(self.open.len()),
        };
        let rest = self.open.split_off(keep_from);
        Ok(Some(std::mem::replace(&mut self.open, rest)))
    }
}

/// An archived event with its description, when it has one.
pub type Described = (ObjectEvent, Option<Description>);

pub fn describe(events: Vec<ObjectEvent>) -> Vec<Described> {
    events
        .into_iter()
        .map(|archived| {
            let description = archived.event.describe().ok();
            (archived, description)
        })
        .collect()
}

/// The events that project into `family`, in the order given.
pub fn projectable(family: Family, events: &[Described]) -> Vec<Projectable<'_>> {
    events
        .iter()
        .filter_map(|(archived, description)| {
            let event = Projectable::of(&archived.event, description.as_ref()?)?;
            (event.valid.family == family).then_some(event)
        })
        .collect()
}
