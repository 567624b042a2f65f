//! Where the console listens, and how. Loopback by default; any other
//! address only over TLS (`--tls-cert/--tls-key`) or when the operator
//! says `--insecure-listen` (a reverse proxy in front terminates TLS): the
//! console holds every PSA credential, so it is never exposed in clear by
//! accident.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::ServeError;

/// How long a client may take over its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Refuse a non-loopback address unless TLS or `--insecure-listen`.
pub(super) fn check(addr: SocketAddr, tls: bool, insecure: bool) -> Result<(), ServeError> {
    if addr.ip().is_loopback() || tls || insecure {
        return Ok(());
    }
    Err(ServeError::Exposed { addr })
}

/// The TLS acceptor for a PEM certificate chain and private key.
pub(super) fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let bad = |path: &Path, why: String| ServeError::Tls { path: path.display().to_string(), why };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| bad(key, e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener whose connections are TLS, for `axum::serve`. Handshakes
/// run one at a time, each capped at [`HANDSHAKE`]: enough for an operator
/// console, and a client that stalls its handshake only delays others.
pub(super) struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::debug!(error = %e, %addr, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The client's address, for counting wrong tokens, over plain TCP or TLS.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub SocketAddr);

impl<L: axum::serve::Listener<Addr = SocketAddr>>
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Timed<L>>> for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, Timed<L>>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// How long a client may take to send a request's head (and how long a
/// connection may sit idle between requests, with nothing written either):
/// `FERRY_HEADER_TIMEOUT_MS`, default 30 s (hyper's own default, which
/// `axum::serve` does not switch on).
pub(super) fn header_timeout() -> Duration {
    std::env::var("FERRY_HEADER_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(30))
}

/// A listener whose connections are closed when a request's head does not
/// arrive in time ([`Deadline`]): half-sent requests do not hold a
/// connection (and its task) forever.
pub(super) struct Timed<L> {
    pub inner: L,
    pub timeout: Duration,
}

impl<L: axum::serve::Listener<Addr = SocketAddr>> axum::serve::Listener for Timed<L> {
    type Io = Deadline<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        (Deadline::new(io, self.timeout), addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Where a connection is in its request/response cycle, as far as the
/// bytes tell (no HTTP parsing beyond the blank line ending a head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head: the deadline runs.
    Head,
    /// The head arrived; the handler and its body reads take what they take
    /// (an API sync may run for minutes with nothing sent either way).
    Handling,
    /// A response is being written or was written: the deadline runs from
    /// the last write, so a live event stream (a keep-alive every 15 s)
    /// stays open and an idle keep-alive connection closes.
    Written,
}

/// An IO that fails reads with `TimedOut` while a request head is late.
pub(super) struct Deadline<IO> {
    io: IO,
    timeout: Duration,
    phase: Phase,
    /// The last bytes of the head read so far (to find `\r\n\r\n` across reads).
    tail: [u8; 3],
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<IO> Deadline<IO> {
    fn new(io: IO, timeout: Duration) -> Self {
        Deadline { io, timeout, phase: Phase::Head, tail: [0; 3], sleep: Box::pin(tokio::time::sleep(timeout)) }
    }

    fn rearm(&mut self) {
        let at = tokio::time::Instant::now() + self.timeout;
        self.sleep.as_mut().reset(at);
    }

    /// Follow the bytes read: a head ends at the first blank line.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.phase == Phase::Written {
            // The next request begins.
            self.phase = Phase::Head;
            self.tail = [0; 3];
            self.rearm();
        }
        if self.phase != Phase::Head {
            return;
        }
        let mut window: Vec<u8> = self.tail.to_vec();
        window.extend_from_slice(bytes);
        if window.windows(4).any(|w| w == b"\r\n\r\n") {
            self.phase = Phase::Handling;
        } else {
            let n = window.len();
            self.tail.copy_from_slice(&window[n - 3..]);
        }
    }
}

impl<IO: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Deadline<IO> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = buf.filled()[before..].to_vec();
                self.saw(&fresh);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.phase != Phase::Handling && self.sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request head did not arrive in time",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<IO: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Deadline<IO> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let result = std::pin::Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(result, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.phase = Phase::Written;
            self.rearm();
        }
        result
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let result = std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(result, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.phase = Phase::Written;
            self.rearm();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Bodies larger than this are refused before any route sees them; the
/// routes' own limits (2 MiB) stay what answers an ordinary oversized form
/// or JSON body.
const BODY_CEILING: usize = 4 * 1024 * 1024;

/// A request's body must arrive whole within the same deadline as its head
/// ([`header_timeout`]): a client that sends headers and then trickles its
/// body, or never sends it, would otherwise hold a connection, a task and
/// its buffers forever, and sign-in is reachable without credentials. The
/// body is read here, bounded, before any route; what a route does next
/// (an API sync waits for its run) is not limited by it.
pub(super) async fn body_in_time(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{Method, StatusCode, header};
    use axum::response::IntoResponse;
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let refused = |status: StatusCode, why: &str| {
        let mut response =
            super::error::Problem::new(status, why, Some("send the whole request at once".to_string())).into_response();
        response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        response
    };
    match tokio::time::timeout(header_timeout(), axum::body::to_bytes(body, BODY_CEILING)).await {
        Ok(Ok(bytes)) => next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Ok(Err(_)) => refused(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large"),
        Err(_) => refused(StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A half-sent request head is cut off; once the head is in, the
    /// handler may take its time; after a response, the next head is timed.
    #[tokio::test]
    async fn a_late_request_head_closes_the_connection() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let timeout = Duration::from_millis(50);
        let (mut client, server) = tokio::io::duplex(1024);
        let mut server = Deadline::new(server, timeout);
        client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.expect("write");
        let mut buf = [0u8; 1024];
        let n = server.read(&mut buf).await.expect("the part sent");
        assert!(n > 0);
        let err = server.read(&mut buf).await.expect_err("the rest never comes");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);

        let (mut client, server) = tokio::io::duplex(1024);
        let mut server = Deadline::new(server, timeout);
        client.write_all(b"POST / HTTP/1.1\r\nHost: x\r").await.expect("write");
        assert!(server.read(&mut buf).await.expect("read") > 0);
        client.write_all(b"\n\r\nbody").await.expect("write");
        assert!(server.read(&mut buf).await.expect("read") > 0);
        assert_eq!(server.phase, Phase::Handling, "the head ended across two reads");
        // Handling: a read may wait past the timeout.
        let waited = tokio::time::timeout(timeout * 4, server.read(&mut buf)).await;
        assert!(waited.is_err(), "still waiting, not cut off: {waited:?}");
        server.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.expect("respond");
        assert_eq!(server.phase, Phase::Written);
        let err = server.read(&mut buf).await.expect_err("idle after the response");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    }

    #[test]
    fn only_loopback_without_tls() {
        let at = |s: &str| s.parse::<SocketAddr>().expect("address");
        assert!(check(at("127.0.0.1:8780"), false, false).is_ok());
        assert!(check(at("[::1]:8780"), false, false).is_ok());
        assert!(check(at("0.0.0.0:8780"), false, false).is_err());
        assert!(check(at("192.0.2.4:8780"), false, false).is_err());
        assert!(check(at("0.0.0.0:8780"), true, false).is_ok());
        assert!(check(at("0.0.0.0:8780"), false, true).is_ok());
    }
}
