//! Notifications of applied status transitions: the message, its outbox and the HTTP notifier.

mod outbox;

pub use outbox::NotificationOutbox;
