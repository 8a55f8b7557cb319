//! One connection for one command: no retries (a refused login is said at once) and nothing
//! declared (the commands that only read must not create a topology), and the answer that
//! tells a missing queue apart.

use lapin::{Connection, ConnectionProperties, ErrorKind};
use std::{io, time::Duration};

/// A connection to the first node that answers within `limit`, declaring nothing.
pub async fn connect_once(urls: &[String], limit: Duration) -> lapin::Result<Connection> {
    let mut last = None;
    for url in urls {
        let properties = ConnectionProperties::default().with_connection_name("hookgate".into());
        match tokio::time::timeout(limit, Connection::connect(url, properties)).await {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(error)) => last = Some(error),
            Err(_) => {
                last = Some(
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no answer within {limit:?}"),
                    )
                    .into(),
                )
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no broker URL configured").into()))
}

/// Whether the broker answered 404: the queue (or exchange) looked at does not exist.
pub fn is_not_found(error: &lapin::Error) -> bool {
    matches!(error.kind(), ErrorKind::ProtocolError(amqp) if amqp.get_id() == 404)
}
