//! The accept loop: one hyper HTTP/1.1 connection per client, serving the axum router, over
//! plain TCP or, with `--tls`, over rustls.
//!
//! `axum::serve` would do for normal answers, but a fault must be able to close a connection
//! without answering at all, as a crashing proxy does. Owning the loop lets a request tell its
//! connection task to drop the socket ([`ConnectionAbort`]); it also hands each request its
//! peer address, which the control endpoints check.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::http_error::HttpError;
use crate::shared::Shared;
use crate::{api, control};

/// How long open connections get to finish their request once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a client gets to finish its TLS handshake; one that stalls is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Lets a request close its own connection without an answer.
#[derive(Debug, Default)]
pub(crate) struct ConnectionAbort(Notify);

impl ConnectionAbort {
    pub(crate) fn abort(&self) {
        // `notify_one` keeps the wake-up even if the connection task is not waiting yet.
        self.0.notify_one();
    }
}

/// Every route, with unknown paths and methods answered in the API's error format.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    api::routes()
        .merge(control::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            control::intercept,
        ))
        .with_state(shared)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    HttpError::not_found(format!("no such endpoint: `{}`", uri.path())).into_response()
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    HttpError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on `{}`", uri.path()),
    )
    .into_response()
}

/// Serves until `shutdown` turns true (or its sender is dropped), then lets open connections
/// finish for a moment and closes the rest. With `tls`, every connection is HTTPS.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(accept_connection(
                        stream,
                        peer,
                        tls.clone(),
                        router.clone(),
                        shutdown.clone(),
                    ));
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}

/// Runs the TLS handshake when serving HTTPS (in the connection's own task, so a slow client
/// never holds up the accept loop), then serves the connection. A client that fails the
/// handshake (e.g. it does not trust the certificate) is dropped before any request is read.
async fn accept_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    router: Router,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve_connection(stream, peer, router, shutdown).await,
        Some(acceptor) => {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                serve_connection(stream, peer, router, shutdown).await;
            }
        }
    }
}

async fn serve_connection<Stream>(
    stream: Stream,
    peer: SocketAddr,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) where
    Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let abort = Arc::new(ConnectionAbort::default());
    let service = {
        let abort = abort.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(abort.clone());
            let mut router = router.clone();
            async move {
                let response: Result<Response, Infallible> =
                    router.call(request.map(Body::new)).await;
                response
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut closing = *shutdown.borrow();
    if closing {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            // Returning drops the connection and with it the socket: the client sees the
            // connection close with no answer.
            () = abort.0.notified() => return,
            changed = shutdown.changed(), if !closing => {
                if changed.is_err() || *shutdown.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
