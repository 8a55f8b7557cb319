//! Values that leave hookgate in AMQP short strings (routing keys, message ids, types) or sit
//! in database indexes (event ids, object ids, event types). Each is a type whose constructor
//! checks the SPEC 2.3a limits, so a value that would overflow a frame field or an index entry
//! cannot be built, and the code that publishes or stores it needs no check of its own.

use super::family::Family;

/// AMQP short strings carry a one-byte length.
pub const SHORT_STRING_BYTES: usize = 255;
pub const MAX_EVENT_ID_BYTES: usize = 255;
pub const MAX_EVENT_TYPE_BYTES: usize = 128;
pub const MAX_OBJECT_ID_BYTES: usize = 255;
pub const MAX_STATUS_BYTES: usize = 64;
pub const MAX_CURRENCY_BYTES: usize = 32;
/// Error texts stored with an event or sent in a header.
pub const MAX_ERROR_BYTES: usize = 1024;
/// How much of an offending value an error message may quote.
const QUOTE_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is {len} bytes; at most {max} are accepted")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} has a character outside {allowed}: {preview}")]
    BadCharacter {
        field: &'static str,
        allowed: &'static str,
        preview: String,
    },
}

pub(crate) fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), LimitError> {
    match text.len() {
        0 => Err(LimitError::Empty { field }),
        len if len > max => Err(LimitError::TooLong { field, len, max }),
        _ => Ok(()),
    }
}

pub(crate) fn check_chars(
    field: &'static str,
    text: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), LimitError> {
    if text.chars().all(ok) {
        Ok(())
    } else {
        Err(LimitError::BadCharacter {
            field,
            allowed,
            preview: quote(text),
        })
    }
}

/// A short, printable excerpt of a hostile value for an error message: never the value in full.
pub fn quote(text: &str) -> String {
    let mut preview: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .take(QUOTE_BYTES)
        .collect();
    truncate_to(&mut preview, QUOTE_BYTES);
    if preview.len() < text.len() {
        format!("{preview:?}… ({} bytes)", text.len())
    } else {
        format!("{preview:?}")
    }
}

/// An error text cut to [`MAX_ERROR_BYTES`] on a character boundary.
pub fn bounded_error(text: impl Into<String>) -> String {
    let mut text: String = text.into();
    if text.len() > MAX_ERROR_BYTES {
        truncate_to(&mut text, MAX_ERROR_BYTES - 16);
        text.push_str(" …(truncated)");
    }
    text
}

fn truncate_to(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
    // Text that must fit `$max` bytes of what `$allowed` says and `$pred` checks.
    ($(#[$doc:meta])* $name:ident, $what:literal: at most $max:expr, of $allowed:literal if $pred:expr) => {
        text_type!($(#[$doc])* $name);

        impl $name {
            pub fn parse(text: &str) -> Result<$name, LimitError> {
                check_len($what, text, $max)?;
                check_chars($what, text, $allowed, $pred)?;
                Ok($name(text.to_owned()))
            }
        }
    };
    // Text from a resource that needs only a length bound and no control characters.
    ($(#[$doc:meta])* $name:ident, plain text of at most $max:expr) => {
        text_type!($(#[$doc])* $name);

        impl $name {
            pub fn parse(field: &'static str, text: &str) -> Result<$name, LimitError> {
                check_len(field, text, $max)?;
                check_chars(field, text, "non-control characters", |c| !c.is_control())?;
                Ok($name(text.to_owned()))
            }
        }
    };
}
pub(crate) use text_type;

text_type!(
    /// An envelope event id (`id`, `webhook-id`): 1–255 bytes of printable ASCII. It becomes
    /// the AMQP `message_id` and part of the inbox's unique key.
    EventId, "event id": at most MAX_EVENT_ID_BYTES,
    of "printable ASCII" if |c| c.is_ascii_graphic() || c == ' '
);

text_type!(
    /// An `eventType`: 1–128 bytes of `[A-Za-z0-9_.]`. It becomes the AMQP `type` and, for
    /// unknown families, part of the routing key.
    EventType, "eventType": at most MAX_EVENT_TYPE_BYTES,
    of "[A-Za-z0-9_.]" if |c| c.is_ascii_alphanumeric() || c == '_' || c == '.'
);

impl EventType {
    pub fn family(&self) -> Family {
        Family::of_event_type(&self.0)
    }
}

text_type!(
    /// A status as it enters routing keys and the read model: lower snake case, only
    /// `[a-z0-9_]`, 1–64 bytes.
    StatusToken
);

impl StatusToken {
    /// Normalises a raw status (SPEC 3) and replaces anything outside `[a-z0-9_]` with `_`, so
    /// that `.`, `#` and `*` cannot change how a key routes. Runs of `_` become one and none
    /// leads, as in the normalisation itself, so a token normalises to itself.
    pub fn normalise(raw: &str) -> Result<StatusToken, LimitError> {
        let mut token = String::with_capacity(raw.len());
        for c in super::normalise_status(raw).chars() {
            let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            };
            if c != '_' || !(token.is_empty() || token.ends_with('_')) {
                token.push(c);
            }
        }
        check_len("status", &token, MAX_STATUS_BYTES)?;
        Ok(StatusToken(token))
    }

    /// A status the catalogue itself names, such as `deleted`.
    pub(crate) fn known(status: &'static str) -> StatusToken {
        StatusToken(status.to_owned())
    }
}

text_type!(
    /// An identifier taken from a resource (object id, account id): 1–255 bytes with no
    /// control characters, so it fits a btree index entry and a PostgreSQL `text`.
    ResourceId, plain text of at most MAX_OBJECT_ID_BYTES
);

text_type!(
    /// A currency code from a resource: 1–32 bytes, no control characters.
    Currency, plain text of at most MAX_CURRENCY_BYTES
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_printable_ascii_up_to_255_bytes() {
        assert!(EventId::parse("6f1c2e9a-0b7d-4d7e-9a51-1f0e7c3b9d21").is_ok());
        assert!(EventId::parse("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").is_ok());
        assert!(EventId::parse(&"a".repeat(255)).is_ok());
        assert!(matches!(
            EventId::parse(&"a".repeat(256)),
            Err(LimitError::TooLong { len: 256, .. })
        ));
        assert!(matches!(EventId::parse(""), Err(LimitError::Empty { .. })));
        for bad in ["a\0b", "tab\there", "é", "line\n"] {
            assert!(EventId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn event_types_are_word_characters_and_dots() {
        let t = EventType::parse("transfer.updated").unwrap();
        assert_eq!(t.family(), Family::Transfer);
        assert!(EventType::parse(&"A".repeat(128)).is_ok());
        assert!(EventType::parse(&"A".repeat(129)).is_err());
        for bad in ["", "TRANSFER UPDATED", "TRANSFER.#", "a*b", "x-y", "ü"] {
            assert!(EventType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_become_routing_safe_tokens() {
        let cases = [
            ("Closed", "closed"),
            ("PROOF_REQUIRED", "proof_required"),
            ("closed.x", "closed_x"),
            ("a#b*c", "a_b_c"),
            ("closed.x#*", "closed_x_"),
            ("ok\0", "ok_"),
            ("Über", "ber"),
        ];
        for (raw, want) in cases {
            let token = StatusToken::normalise(raw).unwrap();
            assert_eq!(token.as_str(), want, "{raw:?}");
            assert_eq!(StatusToken::normalise(&token).unwrap(), token, "idempotent");
        }
        assert!(StatusToken::normalise(&"a".repeat(64)).is_ok());
        assert!(StatusToken::normalise(&"a".repeat(65)).is_err());
        assert!(StatusToken::normalise("  ").is_err());
    }

    #[test]
    fn resource_ids_reject_control_characters_and_long_values() {
        assert!(ResourceId::parse("object id", "t-1").is_ok());
        assert!(ResourceId::parse("object id", "a\0b").is_err());
        assert!(ResourceId::parse("object id", &"x".repeat(256)).is_err());
        assert!(Currency::parse("currency", "USD\0").is_err());
    }

    #[test]
    fn errors_quote_at_most_a_preview() {
        let error = EventId::parse(&format!("{}\u{7}", "x".repeat(10_000))).unwrap_err();
        assert!(error.to_string().len() < 200, "{error}");
        let text = bounded_error("é".repeat(5_000));
        assert!(text.len() <= MAX_ERROR_BYTES, "{}", text.len());
        assert!(text.ends_with("(truncated)"));
    }
}
