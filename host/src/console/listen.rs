//! Where the console listens, and how. Loopback by default; any other
//! address only over TLS (`--tls-cert/--tls-key`) or when the operator
//! says `--insecure-listen` (a reverse proxy in front terminates TLS): the
//! console holds every PSA credential, so it is never exposed in clear by
//! accident.

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

/// The client's address, for the login rate limit, over plain TCP or TLS.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
