//! The HTTP server: hyper's connections under the SPEC 2.3 limits. Headers must be complete
//! within the header timeout, or the client gets 408 and the connection is closed (an idle
//! keep-alive connection is closed the same way, without an answer); headers over
//! [`MAX_HEADER_BYTES`] get hyper's 431. Each request carries its peer address, and the drain
//! at shutdown is bounded.

use super::errors::error_response;
use crate::telemetry::Metrics;
use axum::{extract::ConnectInfo, http::StatusCode, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tower::ServiceExt;

/// Request headers larger than this get 431 (SPEC 2.3).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// How the server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub header_timeout: Duration,
    /// How long the requests in flight get to finish at shutdown.
    pub drain: Duration,
}

/// Serves `router` until `shutdown` resolves, then lets the requests in flight finish within
/// `limits.drain`; connections still open then are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    let graceful = GracefulShutdown::new();
    // Every connection's task, so that those still open after the drain can be cut.
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was taken: the
                    // listener itself is fine, so wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let stream = Arc::new(SharedStream::new(stream));
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.map(axum::body::Body::new)
                });
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(Io(stream.clone())),
                TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        let metrics = metrics.clone();
        connections.spawn(async move {
            let Err(error) = connection.await else { return };
            let Some(error) = error.downcast_ref::<hyper::Error>() else {
                return;
            };
            if error.is_timeout() {
                let answered = stream.answer_timeout().await;
                let reason = if answered { "header_timeout" } else { "idle" };
                metrics
                    .connections_closed
                    .with_label_values(&[reason])
                    .inc();
            } else if error.is_parse_too_large() {
                metrics
                    .connections_closed
                    .with_label_values(&["headers_too_large"])
                    .inc();
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(drain = ?limits.drain, "requests still in flight at the end of the drain were cut off");
    }
    connections.shutdown().await;
    Ok(())
}

/// Every `reason` label of `hookgate_http_connections_closed_total`.
pub const CLOSE_REASONS: [&str; 3] = ["header_timeout", "idle", "headers_too_large"];

/// A TCP stream that the server keeps a handle on while hyper drives the connection, so that
/// it can answer 408 after hyper gave up waiting for headers.
struct SharedStream {
    stream: TcpStream,
    /// Bytes of a request arrived since the last answer was written: a timeout then cut a
    /// request short (408), rather than ended an idle keep-alive connection (no answer).
    request_started: AtomicBool,
}

impl SharedStream {
    fn new(stream: TcpStream) -> Self {
        SharedStream {
            stream,
            request_started: AtomicBool::new(false),
        }
    }

    /// Answers 408 when a request was cut short; returns whether it was.
    async fn answer_timeout(self: Arc<Self>) -> bool {
        if !self.request_started.load(Ordering::Relaxed) {
            return false;
        }
        let body = error_response(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request headers did not arrive in time",
        );
        let body = axum::body::to_bytes(body.into_body(), 1024)
            .await
            .unwrap_or_default();
        let head = format!(
            "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let mut writer = Io(self);
        let answer = async {
            writer.write_all(head.as_bytes()).await?;
            writer.write_all(&body).await?;
            writer.shutdown().await
        };
        // The client is slow by definition: the answer gets a moment, not a wait.
        let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
        true
    }
}

/// hyper's side of a [`SharedStream`].
struct Io(Arc<SharedStream>);

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let shared = &self.0;
        loop {
            ready!(shared.stream.poll_read_ready(cx))?;
            match shared.stream.try_read(buf.initialize_unfilled()) {
                Ok(read) => {
                    buf.advance(read);
                    if read > 0 {
                        shared.request_started.store(true, Ordering::Relaxed);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.0;
        loop {
            ready!(shared.stream.poll_write_ready(cx))?;
            match shared.stream.try_write(data) {
                Ok(written) => {
                    shared.request_started.store(false, Ordering::Relaxed);
                    return Poll::Ready(Ok(written));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&self.0.stream).shutdown(std::net::Shutdown::Write))
    }
}
