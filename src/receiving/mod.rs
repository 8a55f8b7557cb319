//! Receiving webhooks: verify the signature, understand the envelope, store it in the inbox.

mod error;
pub mod inbox;
mod receiver;

pub use error::{ReceiveError, VERIFICATION_REASONS, WEBHOOK_OUTCOMES};
pub use receiver::{incoming_trace, to_new_event, Receiver};
