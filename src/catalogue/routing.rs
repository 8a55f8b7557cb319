//! Routing keys: how each message finds its queues on the topic exchanges (SPEC 4). They are
//! a pure function of an event's reading, so they live with the catalogue.

use super::{
    limits::{check_chars, check_len, text_type, SHORT_STRING_BYTES},
    EventType, Family, LimitError, Reading, StatusToken,
};

text_type!(
    /// A topic routing key: at most 255 bytes of `[a-z0-9_.]`, so it fits an AMQP short string
    /// and no `#` or `*` in it can act as a wildcard.
    RoutingKey
);

impl RoutingKey {
    /// The key an event is published with: by family and status, `<family>.invalid` when it
    /// does not fit its family, `unknown.<type>` when its type is not in the catalogue.
    pub fn of(event_type: &EventType, reading: &Reading) -> RoutingKey {
        match reading {
            Reading::Valid(valid) => RoutingKey::event(valid.family, &valid.status),
            Reading::Unfit { family, .. } => RoutingKey::invalid(*family),
            Reading::Unknown { .. } => RoutingKey::unknown(event_type),
        }
    }

    /// Checks a key read back from storage (rows written before these limits existed).
    pub fn parse(text: &str) -> Result<RoutingKey, LimitError> {
        check_len("routing key", text, SHORT_STRING_BYTES)?;
        check_chars("routing key", text, "[a-z0-9_.]", is_key_char)?;
        Ok(RoutingKey(text.to_owned()))
    }

    /// `<family>.<status>`.
    pub fn event(family: Family, status: &StatusToken) -> RoutingKey {
        RoutingKey(format!("{family}.{status}"))
    }

    /// `<family>.invalid`, for events whose resource does not fit their family.
    pub fn invalid(family: Family) -> RoutingKey {
        RoutingKey(format!("{family}.invalid"))
    }

    /// `unknown.<eventType lowercased>`.
    pub fn unknown(event_type: &EventType) -> RoutingKey {
        RoutingKey(format!("unknown.{}", event_type.to_ascii_lowercase()))
    }

    /// `notify.<family>.<status>`.
    pub fn notification(family: Family, status: &StatusToken) -> RoutingKey {
        RoutingKey(format!("notify.{family}.{status}"))
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::describe;

    fn key(event_type: &str, resource: &str) -> String {
        let event_type = EventType::parse(event_type).unwrap();
        let d = describe(&event_type, resource.as_bytes(), None);
        RoutingKey::of(&event_type, &d.reading).into_string()
    }

    #[test]
    fn events_route_by_family_and_status_invalid_or_unknown() {
        let closed = r#"{"id":"t","status":"Closed","updateTime":"2023-03-01T08:23:05Z"}"#;
        assert_eq!(key("TRANSFER.UPDATED", closed), "transfer.closed");
        assert_eq!(key("TRANSFER.UPDATED", "not json"), "transfer.invalid");
        assert_eq!(
            key("CARDHOLDER.UPDATED", "{}"),
            "unknown.cardholder.updated"
        );
        let hostile = r#"{"id":"t","status":"closed.x#*","updateTime":"2023-03-01T08:23:05Z"}"#;
        assert_eq!(key("TRANSFER.UPDATED", hostile), "transfer.closed_x_");
    }

    #[test]
    fn routing_keys_fit_a_short_string() {
        let longest_status = StatusToken::normalise(&"s".repeat(64)).unwrap();
        for family in Family::KNOWN {
            assert!(RoutingKey::notification(family, &longest_status).len() <= 255);
        }
        let longest_type = EventType::parse(&"T".repeat(128)).unwrap();
        assert!(RoutingKey::unknown(&longest_type).len() <= 255);
        assert!(RoutingKey::parse(&"a".repeat(256)).is_err());
        assert!(RoutingKey::parse("transfer.#").is_err());
        assert!(RoutingKey::parse("transfer.closed").is_ok());
    }
}
