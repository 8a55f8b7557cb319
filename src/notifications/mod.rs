//! Notifications of applied status transitions: the message, its outbox and the HTTP notifier.

mod message;
mod outbox;

pub use message::{
    notification_id, notification_message, repair_notification_message, NotificationFacts,
};
pub use outbox::NotificationOutbox;
