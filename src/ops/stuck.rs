//! The stuck-object watch (SPEC 5): one walk over the waiting families that `GET /v1/stuck`,
//! `hookgate stuck` and the console's page all take, a page at a time, oldest first within a
//! family and the families in catalogue order.

use crate::{
    catalogue::{format_time, parse_threshold, Family},
    settings::StuckAfter,
    store::stuck::{self, After, StuckObject},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// Objects a page.
pub const PAGE_SIZE: usize = 100;

/// Which stuck objects: one family or every family that can be stuck; waiting longer than
/// `older_than`, else each family's threshold; from where the previous page ended.
#[derive(Debug, Clone, Default)]
pub struct StuckRequest {
    pub family: Option<Family>,
    pub older_than: Option<Duration>,
    pub cursor: Option<Cursor>,
}

/// Why a request's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    UnknownFamily(String),
    Malformed(&'static str),
}

/// The text given, trimmed; blank counts as absent.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

impl StuckRequest {
    /// Reads the parameters as people give them: a family name, an age (`90s`, `30m`, `2h`,
    /// `3d`), a cursor a page gave; blank counts as absent.
    pub fn read(
        family: Option<&str>,
        older_than: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<StuckRequest, Unreadable> {
        let family = match given(family) {
            None => None,
            Some(name) => Some(
                Family::known(name).ok_or_else(|| Unreadable::UnknownFamily(name.to_owned()))?,
            ),
        };
        let older_than = match given(older_than).map(parse_threshold) {
            None => None,
            Some(Some(age)) => Some(age),
            Some(None) => {
                return Err(Unreadable::Malformed(
                    "olderThan must be a positive age such as 90s, 30m, 2h or 3d",
                ))
            }
        };
        let cursor = match given(cursor) {
            None => None,
            Some(text) => Some(
                Cursor::decode(text)
                    .ok_or(Unreadable::Malformed("cursor is not one this API gave"))?,
            ),
        };
        Ok(StuckRequest {
            family,
            older_than,
            cursor,
        })
    }
}

/// Where the next page starts: after this object of this family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    family: Family,
    after: After,
}

impl Cursor {
    /// The opaque text the API hands out.
    pub fn encode(&self) -> String {
        let micros = self.after.occurred_at.timestamp_micros();
        let text = format!("{}.{micros}.{}", self.family, self.after.object_id);
        URL_SAFE_NO_PAD.encode(text)
    }

    /// A cursor [`Cursor::encode`] gave; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = text.splitn(3, '.');
        let family = Family::known(parts.next()?)?;
        let occurred_at = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let object_id = parts.next()?.to_owned();
        Some(Cursor {
            family,
            after: After {
                occurred_at,
                object_id,
            },
        })
    }
}

/// A stuck object as the API, the CLI and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stuck {
    #[schema(value_type = String)]
    pub family: Family,
    pub id: String,
    pub status: String,
    pub account_id: Option<String>,
    pub occurred_at: String,
    pub last_event_id: String,
}

pub struct StuckPage {
    pub objects: Vec<Stuck>,
    pub next: Option<Cursor>,
}

/// One page of what `request` selects, as of `now`.
pub async fn page(
    pool: &PgPool,
    thresholds: &StuckAfter,
    request: &StuckRequest,
    now: DateTime<Utc>,
) -> Result<StuckPage, sqlx::Error> {
    let families: Vec<Family> = match request.family {
        Some(family) => vec![family],
        None => Family::that_wait().collect(),
    };
    let start = match &request.cursor {
        Some(cursor) => families.iter().position(|f| *f == cursor.family),
        None => Some(0),
    };
    let mut objects = Vec::new();
    let mut next = None;
    for &family in families.iter().skip(start.unwrap_or(families.len())) {
        let after = request
            .cursor
            .as_ref()
            .filter(|cursor| cursor.family == family)
            .map(|cursor| &cursor.after);
        let before = now - request.older_than.unwrap_or_else(|| thresholds.of(family));
        let room = PAGE_SIZE - objects.len();
        let rows = stuck::stuck_page(pool, family, before, after, room as i64).await?;
        if let Some(last) = rows.last().filter(|_| rows.len() == room) {
            next = Some(Cursor {
                family,
                after: After {
                    occurred_at: last.occurred_at,
                    object_id: last.object_id.clone(),
                },
            });
        }
        objects.extend(rows.into_iter().map(|row| shown(family, row)));
        if objects.len() == PAGE_SIZE {
            break;
        }
    }
    Ok(StuckPage { objects, next })
}

fn shown(family: Family, row: StuckObject) -> Stuck {
    Stuck {
        family,
        id: row.object_id,
        status: row.status,
        account_id: row.account_id,
        occurred_at: format_time(&row.occurred_at),
        last_event_id: row.last_event_id,
    }
}

/// How many objects of each waiting family are stuck now, by its threshold: the gauge.
pub async fn counts(
    pool: &PgPool,
    thresholds: &StuckAfter,
    now: DateTime<Utc>,
) -> Result<Vec<(Family, i64)>, sqlx::Error> {
    let mut counts = Vec::new();
    for family in Family::that_wait() {
        let before = now - thresholds.of(family);
        counts.push((family, stuck::count_stuck(pool, family, before).await?));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_anything_else_is_refused() {
        let cursor = Cursor {
            family: Family::Payout,
            after: After {
                occurred_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
                object_id: "p.1.x".into(),
            },
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("loans.1.x"),
            &URL_SAFE_NO_PAD.encode("payout.x.1"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
