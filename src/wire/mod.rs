//! The wire format: the messages hookgate publishes (SPEC 4), the headers they carry and their
//! routing keys. The relays, the workers, the DLQ tools and the notifier all read and write
//! messages through this module only.

mod dead_letter;
mod event;
mod headers;
mod notification;
mod topic;

pub use dead_letter::{dead_letter_from, headers_json, read_dead_letter};
pub use event::{event_message, EventCopy, EventMessageParts, EventRef};
pub use headers::{
    attempts, carry_trace, header_number, header_text, message_id_of, text_value, trace_of,
    value_text, was_retried, FAILURE_HEADERS, X_EVENT_ID, X_HOOKGATE_ATTEMPTS, X_HOOKGATE_ERROR,
    X_HOOKGATE_FAILED_AT, X_HOOKGATE_QUEUE, X_HOOKGATE_RESEND, X_SOURCE,
};
pub use notification::{
    is_resend, notification_id, notification_message, notification_properties,
    repair_notification_message, resend_properties, NotificationFacts,
};
pub use topic::{any_topic_matches, topic_matches};
