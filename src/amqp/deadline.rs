//! Bounds on waiting for the broker. A node that accepts TCP but never answers (a network
//! partition, a node hung while booting or stopping) would otherwise hold whatever waits on it
//! for ever: the relay's claim, a worker's unacked batch, the connection lock, a shutdown.

use std::{future::Future, io, time::Duration};

/// How long one broker operation may take: connecting, opening a channel, declaring, a
/// publisher confirm. Generous, because a quorum queue's leader election delays answers for a
/// few seconds, and past it the connection is treated as broken.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// How long closing a connection that already failed may take before it is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// `operation`'s result, or a timed-out error naming `what` after [`ANSWER_TIMEOUT`].
pub async fn answered<T>(
    what: &str,
    operation: impl Future<Output = lapin::Result<T>>,
) -> lapin::Result<T> {
    match tokio::time::timeout(ANSWER_TIMEOUT, operation).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: no answer from the broker within {ANSWER_TIMEOUT:?}"),
        )
        .into()),
    }
}

/// Closes a connection that failed, politely if the broker still answers.
pub async fn close_failed(connection: lapin::Connection) {
    let closing = connection.close(320, "hookgate reconnects".into());
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_never_answers_times_out_naming_it() {
        let error = answered(
            "publisher confirm",
            std::future::pending::<lapin::Result<()>>(),
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("publisher confirm"), "{error}");
    }

    #[tokio::test]
    async fn an_answer_passes_through() {
        assert_eq!(answered("declare", async { Ok(7) }).await.unwrap(), 7);
    }
}
