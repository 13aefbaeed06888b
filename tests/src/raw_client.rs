//! A raw QUIC client for sending what a well-behaved node never would: malformed
//! frames, oversized headers, requests with another kommun's certificate.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use samla_common::wire::{self, Request, Response};

use crate::region::Region;

/// A single-threaded runtime for a test to drive a [`RawClient`] on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A raw QUIC client for sending frames a real node never would.
pub struct RawClient {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
}

impl RawClient {
    /// Connects with the given certificate (or none).
    pub async fn connect(
        region: &Region,
        identity: Option<(&Path, &Path)>,
    ) -> Result<RawClient, String> {
        RawClient::connect_to(region, region.address, identity).await
    }

    /// Connects to `address` (the hub, or something in front of it) with the region's
    /// CA and the given certificate.
    pub async fn connect_to(
        region: &Region,
        address: SocketAddr,
        identity: Option<(&Path, &Path)>,
    ) -> Result<RawClient, String> {
        let ca = samla_common::tls::certificates_from_pem(
            &std::fs::read(region.root().join("ca/ca.crt")).unwrap(),
        )
        .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in &ca {
            roots.add(c.clone()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots);
        let mut tls = match identity {
            Some((cert, key)) => {
                let chain = samla_common::tls::certificates_from_pem(&std::fs::read(cert).unwrap())
                    .unwrap();
                let key =
                    samla_common::tls::private_key_from_pem(&std::fs::read(key).unwrap()).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        tls.alpn_protocols = vec![wire::ALPN.to_vec()];
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
        let mut config = quinn::ClientConfig::new(std::sync::Arc::new(quic));
        let mut transport = quinn::TransportConfig::default();
        transport.max_idle_timeout(Some(Duration::from_secs(5).try_into().unwrap()));
        config.transport_config(std::sync::Arc::new(transport));
        let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        endpoint.set_default_client_config(config);
        let connection = endpoint
            .connect(address, "localhost")
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        Ok(RawClient {
            endpoint,
            connection,
        })
    }

    /// Sends raw bytes on a new stream and reads one response frame.
    pub async fn exchange(&self, bytes: &[u8]) -> Result<Response, String> {
        let (mut send, mut recv) = self.connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(bytes).await.map_err(|e| e.to_string())?;
        let _ = send.finish();
        let mut header = [0u8; 4];
        recv.read_exact(&mut header)
            .await
            .map_err(|e| e.to_string())?;
        let length = wire::frame_length(header, 1 << 20).map_err(|e| e.to_string())?;
        let mut body = vec![0u8; length];
        recv.read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        samla_common::codec::decode(&body).map_err(|e| e.to_string())
    }

    /// Sends a request and reads the response.
    pub async fn request(&self, request: &Request) -> Result<Response, String> {
        self.exchange(&wire::encode_frame(request).unwrap()).await
    }

    /// The QUIC connection, for tests of the hub's limits.
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"done");
        self.endpoint.wait_idle().await;
    }
}
