//! `GET /v1/events`: events found by family, status, type, object, account, state and time of
//! receipt, newest first, a page at a time. The cursor is opaque to callers: the position
//! after the page's last event.

use super::{
    auth::Authorized,
    errors::ApiError,
    params::Params,
    views::{ErrorBody, EventPage, FoundEventView},
    AppState,
};
use crate::{
    catalogue::{normalise_status, parse_time_str, within_stored_years, Family},
    store::{
        event_search::{self, EventSearch, Position},
        inbox::EventState,
    },
};
use axum::{extract::State, Json};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use serde::Deserialize;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A family name, e.g. transfer
    family: Option<String>,
    /// A status, in any case: normalised as the routing key has it
    status: Option<String>,
    /// An event type, e.g. TRANSFER.UPDATED
    event_type: Option<String>,
    /// The object's id at the platform
    object_id: Option<String>,
    /// The account the object belongs to
    account_id: Option<String>,
    /// Where the event is in its life
    #[param(value_type = Option<EventState>)]
    state: Option<String>,
    /// Received at or after this RFC 3339 time
    from: Option<String>,
    /// Received before this RFC 3339 time
    to: Option<String>,
    /// Events per page, 1 to 500; 50 when absent
    limit: Option<i64>,
    /// The previous page's `nextCursor`
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "read",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of events, newest first", body = EventPage),
        (status = 400, description = "`malformed_payload` or `unknown_family`: which parameter is wrong", body = ErrorBody),
    ),
)]
pub(super) async fn search(
    _: Authorized,
    State(state): State<AppState>,
    Params(query): Params<SearchQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let search = read_query(query)?;
    let found = event_search::search(&state.pool, &search).await?;
    let next_cursor = match found.last() {
        Some(last) if found.len() as i64 == search.limit => Some(cursor_after(Position {
            received_at: last.record.received_at,
            seq: last.seq,
        })),
        _ => None,
    };
    Ok(Json(EventPage {
        events: found.iter().map(FoundEventView::of).collect(),
        next_cursor,
    }))
}

impl SearchQuery {
    /// The query with its empty parameters taken as absent, as a web form sends them.
    pub fn without_blanks(self) -> SearchQuery {
        let given = |value: Option<String>| value.filter(|text| !text.trim().is_empty());
        SearchQuery {
            family: given(self.family),
            status: given(self.status),
            event_type: given(self.event_type),
            object_id: given(self.object_id),
            account_id: given(self.account_id),
            state: given(self.state),
            from: given(self.from),
            to: given(self.to),
            limit: self.limit,
            cursor: given(self.cursor),
        }
    }

    /// The filters as query parameters, for a link to the same search.
    pub fn filters(&self) -> Vec<(&'static str, &str)> {
        [
            ("family", &self.family),
            ("status", &self.status),
            ("eventType", &self.event_type),
            ("objectId", &self.object_id),
            ("accountId", &self.account_id),
            ("state", &self.state),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }

    pub fn with_limit(self, limit: i64) -> SearchQuery {
        SearchQuery {
            limit: Some(limit),
            ..self
        }
    }

    pub fn field(&self, name: &str) -> &str {
        self.filters()
            .into_iter()
            .find(|(key, _)| *key == name)
            .map_or("", |(_, value)| value)
    }
}

/// The query as a search, or which parameter is wrong.
pub fn read_query(query: SearchQuery) -> Result<EventSearch, ApiError> {
    let family = query
        .family
        .map(|name| match Family::parse(&name) {
            Some(family) => Ok(family.as_str().to_owned()),
            None => Err(ApiError::UnknownFamily {
                name,
                in_path: false,
            }),
        })
        .transpose()?;
    let state = query.state.as_deref().map(parse_state).transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(EventSearch {
        family,
        status: query.status.as_deref().map(normalise_status),
        event_type: query.event_type,
        object_id: query.object_id,
        account_id: query.account_id,
        state,
        from: query
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?,
        after: query.cursor.as_deref().map(read_cursor).transpose()?,
        limit,
    })
}

fn parse_state(text: &str) -> Result<EventState, ApiError> {
    match text {
        "received" => Ok(EventState::Received),
        "published" => Ok(EventState::Published),
        "processed" => Ok(EventState::Processed),
        "dead_lettered" => Ok(EventState::DeadLettered),
        _ => Err(ApiError::bad_request(
            "state must be one of received, published, processed, dead_lettered",
        )),
    }
}

fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_time_str(text).map_err(|_| {
        ApiError::bad_request(format!(
            "{name} must be an RFC 3339 time, e.g. 2026-11-23T10:00:00Z"
        ))
    })
}

/// `<received_at in microseconds>.<seq>`, base64url: opaque to callers.
pub fn cursor_after(position: Position) -> String {
    let text = format!(
        "{}.{}",
        position.received_at.timestamp_micros(),
        position.seq
    );
    URL_SAFE_NO_PAD.encode(text)
}

fn read_cursor(cursor: &str) -> Result<Position, ApiError> {
    let position = || -> Option<Position> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let (micros, seq) = text.split_once('.')?;
        let received_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        let seq: i64 = seq.parse().ok()?;
        (seq > 0 && within_stored_years(&received_at)).then_some(Position { received_at, seq })
    };
    position().ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_cursor_reads_back_as_the_position_it_was_made_from() {
        let position = Position {
            received_at: parse_time_str("2026-11-23T10:00:00.123456Z").unwrap(),
            seq: 42,
        };
        assert_eq!(read_cursor(&cursor_after(position)).unwrap(), position);
        for bad in [
            "",
            "!!",
            "LTE",
            &URL_SAFE_NO_PAD.encode("42"),
            &URL_SAFE_NO_PAD.encode("1.0"),
            &URL_SAFE_NO_PAD.encode("-99999999999999999.1"),
        ] {
            assert!(read_cursor(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_cursor_text_is_a_position_or_a_refusal(text in ".{0,64}") {
            let _ = read_cursor(&text);
        }
    }
}
