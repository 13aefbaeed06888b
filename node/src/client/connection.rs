//! One QUIC connection to the hub with the node's certificate: one request per
//! stream, the answer's length checked before it is read, and what went wrong told
//! as a delivery [`Failure`].

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use samla_common::delivery::{Failure, Stage};
use samla_common::tls::TlsError;
use samla_common::wire::{self, Request, Response};

use samla_cli_common::error::Chain;

use super::{ClientError, CLOSE_TIMEOUT, IDLE_TIMEOUT, REQUEST_TIMEOUT, RESPONSE_LIMIT};
use crate::config::HubLink;

/// A connection to the hub.
pub struct HubClient {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    address: String,
}

/// Reads a file named by `[hub] key`, at most 1 MiB.
fn read_file(key: &'static str, path: &std::path::Path) -> Result<Vec<u8>, ClientError> {
    use std::io::Read;
    let fail = |source| ClientError::File {
        key,
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(1 << 20).read_to_end(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// An unusable PEM file named by `[hub] key`.
fn pem<'a>(
    key: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(TlsError) -> ClientError + 'a {
    move |source| ClientError::Pem {
        key,
        path: path.to_owned(),
        source,
    }
}

/// The QUIC client configuration for `link`: the region CA, the node's certificate
/// and key, and the idle timeout and keep-alive a node uses.
pub fn client_config(link: &HubLink) -> Result<quinn::ClientConfig, ClientError> {
    let ca = samla_common::tls::certificates_from_pem(&read_file("region_ca", &link.region_ca)?)
        .map_err(pem("region_ca", &link.region_ca))?;
    let chain =
        samla_common::tls::certificates_from_pem(&read_file("certificate", &link.certificate)?)
            .map_err(pem("certificate", &link.certificate))?;
    let key_pem = zeroize::Zeroizing::new(read_file("private_key", &link.private_key)?);
    let key = samla_common::tls::private_key_from_pem(&key_pem)
        .map_err(pem("private_key", &link.private_key))?;
    let mut config = samla_common::tls::client_config(&ca, chain, key)?;
    let mut transport = quinn::TransportConfig::default();
    // Ten seconds fit a QUIC idle timeout (a VarInt of milliseconds) by far.
    transport.max_idle_timeout(IDLE_TIMEOUT.try_into().ok());
    transport.keep_alive_interval(Some(Duration::from_secs(3)));
    config.transport_config(Arc::new(transport));
    Ok(config)
}

/// The hub's address, resolved.
async fn remote_address(address: &str) -> Result<SocketAddr, Failure> {
    if address
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(Failure::BadAddress);
    }
    tokio::net::lookup_host(address)
        .await
        .map_err(|_| Failure::Unresolved)?
        .next()
        .ok_or(Failure::Unresolved)
}

impl HubClient {
    /// The hub as its (verified) certificate names it, for the node's log:
    /// `hub certificate NAME (ORGANISATION), sha256 FINGERPRINT`.
    pub fn peer_description(&self) -> Option<String> {
        let identity = self.connection.peer_identity()?;
        let chain = identity
            .downcast::<Vec<quinn::rustls::pki_types::CertificateDer<'static>>>()
            .ok()?;
        let leaf = chain.first()?;
        let (name, organisation) = samla_common::tls::certificate_names(leaf);
        let name = name.unwrap_or_else(|| "-".to_owned());
        let organisation = organisation.map_or(String::new(), |o| format!(" ({o})"));
        Some(format!(
            "hub certificate {name}{organisation}, sha256 {}",
            hex::encode(samla_common::tls::fingerprint(leaf))
        ))
    }

    /// Connects from a new local endpoint and completes the TLS handshake.
    pub async fn connect(link: &HubLink) -> Result<HubClient, ClientError> {
        let config = client_config(link)?;
        HubClient::open(link, config)
            .await
            .map_err(|failure| ClientError::Connection {
                address: link.address.clone(),
                failure,
            })
    }

    /// Connects from an existing local endpoint (one UDP socket shared by several
    /// connections, each with its own certificate), and completes the handshake.
    pub async fn connect_on(
        endpoint: &quinn::Endpoint,
        link: &HubLink,
    ) -> Result<HubClient, ClientError> {
        let fail = |failure| ClientError::Connection {
            address: link.address.clone(),
            failure,
        };
        let remote = remote_address(&link.address).await.map_err(fail)?;
        HubClient::handshake(endpoint, remote, link, client_config(link)?)
            .await
            .map_err(fail)
    }

    /// Connects with a ready configuration from a new local endpoint.
    pub(super) async fn open(
        link: &HubLink,
        config: quinn::ClientConfig,
    ) -> Result<HubClient, Failure> {
        let remote = remote_address(&link.address).await?;
        let local: SocketAddr = if remote.is_ipv6() {
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
        };
        let endpoint = quinn::Endpoint::client(local).map_err(|e| Failure::Local {
            detail: e.to_string(),
        })?;
        HubClient::handshake(&endpoint, remote, link, config).await
    }

    async fn handshake(
        endpoint: &quinn::Endpoint,
        remote: SocketAddr,
        link: &HubLink,
        config: quinn::ClientConfig,
    ) -> Result<HubClient, Failure> {
        let connection = endpoint
            .connect_with(config, remote, &link.server_name)
            .map_err(|e| samla_common::tls::connect_failure(&e))?
            .await
            .map_err(|e| samla_common::tls::connection_failure(&e, Stage::Connect, IDLE_TIMEOUT))?;
        Ok(HubClient {
            endpoint: endpoint.clone(),
            connection,
            address: link.address.clone(),
        })
    }

    /// Sends one request on a new stream and reads the response, giving up (to try
    /// again later) when the hub has not answered within [`REQUEST_TIMEOUT`].
    pub async fn request(&self, request: &Request) -> Result<Response, ClientError> {
        let fail = |failure| ClientError::Connection {
            address: self.address.clone(),
            failure,
        };
        let timed_out = Failure::TimedOut {
            stage: Stage::Request,
            waited: REQUEST_TIMEOUT,
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request)).await {
            Ok(answer) => answer.map_err(fail),
            Err(_) => Err(fail(timed_out)),
        }
    }

    /// One request and its answer, with what went wrong as a delivery [`Failure`].
    pub(super) async fn exchange(&self, request: &Request) -> Result<Response, Failure> {
        let frame = wire::encode_frame(request).map_err(|e| Failure::Local {
            detail: Chain(&e).to_string(),
        })?;
        let (mut send, mut recv) = self
            .connection
            .open_bi()
            .await
            .map_err(|e| self.lost(Some(&e), &e))?;
        send.write_all(&frame).await.map_err(|e| match &e {
            quinn::WriteError::ConnectionLost(c) => self.lost(Some(c), &e),
            _ => self.lost(None, &e),
        })?;
        send.finish().map_err(|e| self.lost(None, &e))?;
        let mut header = [0u8; 4];
        recv.read_exact(&mut header)
            .await
            .map_err(|e| self.read_failure(&e))?;
        let length =
            wire::frame_length(header, RESPONSE_LIMIT).map_err(|e| Failure::BadAnswer {
                detail: Chain(&e).to_string(),
            })?;
        let mut body = vec![0u8; length];
        recv.read_exact(&mut body)
            .await
            .map_err(|e| self.read_failure(&e))?;
        samla_common::codec::decode(&body).map_err(|e| Failure::BadAnswer {
            detail: Chain(&e).to_string(),
        })
    }

    /// A broken exchange: the hub's reason if it closed the connection on purpose
    /// (a revoked certificate, too many connections), else what broke.
    fn lost(
        &self,
        connection: Option<&quinn::ConnectionError>,
        error: &dyn fmt::Display,
    ) -> Failure {
        let classify = |e: &quinn::ConnectionError| {
            samla_common::tls::connection_failure(e, Stage::Request, IDLE_TIMEOUT)
        };
        match (self.connection.close_reason(), connection) {
            (Some(reason), _) => classify(&reason),
            (None, Some(e)) => classify(e),
            (None, None) => Failure::Lost {
                detail: error.to_string(),
            },
        }
    }

    fn read_failure(&self, error: &quinn::ReadExactError) -> Failure {
        match error {
            quinn::ReadExactError::ReadError(quinn::ReadError::ConnectionLost(c)) => {
                self.lost(Some(c), error)
            }
            quinn::ReadExactError::FinishedEarly(_) => Failure::BadAnswer {
                detail: "the answer ended early".to_owned(),
            },
            _ => self.lost(None, error),
        }
    }

    /// Closes the connection cleanly, and waits until the endpoint's connections
    /// (this one, and any other sharing the endpoint) are closed.
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"done");
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.endpoint.wait_idle()).await;
    }
}
