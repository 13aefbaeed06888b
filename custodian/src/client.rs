//! One request to a custodian over QUIC with mutual TLS, as the setup coordinator and
//! tools send it: a bidirectional stream, one frame each way, the answer's length
//! checked against `messages::FRAME_LIMIT` before it is read.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use samla_common::oprf::messages::{self, CustodianRequest, CustodianResponse, FRAME_LIMIT};
use samla_common::wire;

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TLS setup.
    #[error(transparent)]
    Tls(#[from] samla_common::tls::TlsError),
    /// The local socket.
    #[error("opening a local UDP socket")]
    Socket(#[source] std::io::Error),
    /// Connecting failed.
    #[error("connecting to {address}")]
    Connect {
        /// The custodian.
        address: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The exchange failed.
    #[error("talking to {address}: {reason}")]
    Exchange {
        /// The custodian.
        address: SocketAddr,
        /// Why.
        reason: String,
    },
    /// No answer in time.
    #[error("{address} did not answer within {} s", REQUEST_TIMEOUT.as_secs())]
    Timeout {
        /// The custodian.
        address: SocketAddr,
    },
}

/// A client endpoint with its certificate, for any number of custodians.
pub struct Client {
    endpoint: quinn::Endpoint,
}

impl Client {
    /// A client trusting `region_ca` and showing `chain`.
    pub fn new(
        region_ca: &[CertificateDer<'static>],
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Client, ClientError> {
        let config = samla_common::tls::client_config_for(messages::ALPN, region_ca, chain, key)?;
        let bind: SocketAddr = ([0, 0, 0, 0], 0).into();
        let mut endpoint = quinn::Endpoint::client(bind).map_err(ClientError::Socket)?;
        endpoint.set_default_client_config(config);
        Ok(Client { endpoint })
    }

    /// Sends one request to the custodian at `address` (certificate name
    /// `server_name`) and reads its answer.
    pub async fn request(
        &self,
        address: SocketAddr,
        server_name: &str,
        request: &CustodianRequest,
    ) -> Result<CustodianResponse, ClientError> {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.exchange(address, server_name, request),
        )
        .await
        .map_err(|_| ClientError::Timeout { address })?
    }

    async fn exchange(
        &self,
        address: SocketAddr,
        server_name: &str,
        request: &CustodianRequest,
    ) -> Result<CustodianResponse, ClientError> {
        let connect = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Connect {
            address,
            source,
        };
        let conn = self
            .endpoint
            .connect(address, server_name)
            .map_err(|e| connect(Box::new(e)))?
            .await
            .map_err(|e| connect(Box::new(e)))?;
        let exchange = |reason: String| ClientError::Exchange { address, reason };
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| exchange(e.to_string()))?;
        let frame = wire::encode_frame(request).map_err(|e| exchange(e.to_string()))?;
        send.write_all(&frame)
            .await
            .map_err(|e| exchange(e.to_string()))?;
        let _ = send.finish();
        let mut header = [0u8; 4];
        recv.read_exact(&mut header)
            .await
            .map_err(|e| exchange(e.to_string()))?;
        let length =
            wire::frame_length(header, FRAME_LIMIT).map_err(|e| exchange(e.to_string()))?;
        let mut body = vec![0u8; length];
        recv.read_exact(&mut body)
            .await
            .map_err(|e| exchange(e.to_string()))?;
        conn.close(quinn::VarInt::from_u32(0), b"done");
        messages::decode_response(&body).map_err(|e| exchange(e.to_string()))
    }

    /// Waits until the endpoint's connections are closed.
    pub async fn close(self) {
        self.endpoint.wait_idle().await;
    }
}
