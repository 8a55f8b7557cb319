//! Receiving webhooks: verify the signature, understand the envelope, store it in the inbox.

mod error;
mod handler;
pub mod inbox;
pub mod schemes;

pub use error::ReceiveError;
pub use handler::{receive, Receiver};
