//! Talking to the hub: connect over QUIC with the node's certificate, send each pending
//! submission on its own stream, verify the hub's receipt before recording it, and
//! retry with capped exponential backoff while the hub cannot be reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use samla_common::codes::KommunCode;
use samla_common::retry::Backoff;
use samla_common::translog::Checkpoint;
use samla_common::wire::{self, Request, Response};

use crate::config::HubLink;
use crate::node_log::LogKind;
use crate::outbox::{Outbox, OutboxError};

/// The largest response accepted from the hub.
const RESPONSE_LIMIT: u32 = 1024 * 1024;

/// How long a request may wait for the hub's answer. The hub gives a request's bytes
/// two minutes to arrive (`request_timeout_seconds`) after it has room for them; a
/// busier hub than that is asked again later (the same bytes get the same receipt).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Why talking to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A certificate or key file.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// TLS setup.
    #[error(transparent)]
    Tls(#[from] samla_common::tls::TlsError),
    /// The hub's address does not resolve.
    #[error("hub address {0}: cannot be resolved")]
    Address(String),
    /// Connecting or talking failed.
    #[error("hub {address}: {message}")]
    Connection {
        /// The address.
        address: String,
        /// What happened.
        message: String,
    },
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The hub's transfer log does not extend what this node saw before: the hub's
    /// history was rewritten. Nothing more is sent.
    #[error("the hub's transfer log was rewritten: {0}\n\nNothing more was sent. Tell the region and your privacy officer; the node's log records it.")]
    HistoryChanged(String),
    /// The hub's checkpoint is not signed by the hub's key.
    #[error("the hub's checkpoint does not verify: {0}\n\nCheck receipt_key and log_origin in the [hub] section.")]
    BadCheckpoint(String),
}

/// How a step of a delivery run ended when it did not succeed.
enum Step {
    /// Worth trying again later (connection trouble, a temporary refusal).
    Retry(String),
    /// Stop the run.
    Fatal(ClientError),
}

impl From<OutboxError> for Step {
    fn from(e: OutboxError) -> Step {
        Step::Fatal(e.into())
    }
}

/// A connection to the hub.
pub struct HubClient {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    address: String,
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, ClientError> {
    use std::io::Read;
    let fail = |message: String| ClientError::File {
        path: path.to_owned(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(1 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    Ok(bytes)
}

/// The QUIC client configuration for `link`: the region CA, the node's certificate
/// and key, and the idle timeout and keep-alive a node uses.
fn client_config(link: &HubLink) -> Result<quinn::ClientConfig, ClientError> {
    let tls_file = |path: &std::path::Path, e: samla_common::tls::TlsError| ClientError::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let ca = samla_common::tls::certificates_from_pem(&read_file(&link.region_ca)?)
        .map_err(|e| tls_file(&link.region_ca, e))?;
    let chain = samla_common::tls::certificates_from_pem(&read_file(&link.certificate)?)
        .map_err(|e| tls_file(&link.certificate, e))?;
    let key_pem = zeroize::Zeroizing::new(read_file(&link.private_key)?);
    let key = samla_common::tls::private_key_from_pem(&key_pem)
        .map_err(|e| tls_file(&link.private_key, e))?;
    let mut config = samla_common::tls::client_config(&ca, chain, key)?;
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(Some(
        Duration::from_secs(10)
            .try_into()
            .map_err(|_| ClientError::Address(link.address.clone()))?,
    ));
    transport.keep_alive_interval(Some(Duration::from_secs(3)));
    config.transport_config(Arc::new(transport));
    Ok(config)
}

/// The hub's address, resolved.
async fn remote_address(link: &HubLink) -> Result<SocketAddr, ClientError> {
    tokio::net::lookup_host(&link.address)
        .await
        .map_err(|_| ClientError::Address(link.address.clone()))?
        .next()
        .ok_or_else(|| ClientError::Address(link.address.clone()))
}

impl HubClient {
    /// Connects from a new local endpoint and completes the TLS handshake.
    pub async fn connect(link: &HubLink) -> Result<HubClient, ClientError> {
        let remote = remote_address(link).await?;
        let local: SocketAddr = if remote.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .map_err(|_| ClientError::Address(link.address.clone()))?;
        let endpoint = quinn::Endpoint::client(local).map_err(|e| ClientError::Connection {
            address: link.address.clone(),
            message: e.to_string(),
        })?;
        HubClient::connect_to(&endpoint, remote, link).await
    }

    /// Connects from an existing local endpoint (one UDP socket shared by several
    /// connections, each with its own certificate), and completes the handshake.
    pub async fn connect_on(
        endpoint: &quinn::Endpoint,
        link: &HubLink,
    ) -> Result<HubClient, ClientError> {
        let remote = remote_address(link).await?;
        HubClient::connect_to(endpoint, remote, link).await
    }

    async fn connect_to(
        endpoint: &quinn::Endpoint,
        remote: SocketAddr,
        link: &HubLink,
    ) -> Result<HubClient, ClientError> {
        let config = client_config(link)?;
        let connection_error = |message: String| ClientError::Connection {
            address: link.address.clone(),
            message,
        };
        let connection = endpoint
            .connect_with(config, remote, &link.server_name)
            .map_err(|e| connection_error(e.to_string()))?
            .await
            .map_err(|e| connection_error(e.to_string()))?;
        Ok(HubClient {
            endpoint: endpoint.clone(),
            connection,
            address: link.address.clone(),
        })
    }

    /// Sends one request on a new stream and reads the response, giving up (to try
    /// again later) when the hub has not answered within [`REQUEST_TIMEOUT`].
    pub async fn request(&self, request: &Request) -> Result<Response, ClientError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request))
            .await
            .unwrap_or_else(|_| {
                Err(ClientError::Connection {
                    address: self.address.clone(),
                    message: format!(
                        "no answer within {} s; the request will be sent again",
                        REQUEST_TIMEOUT.as_secs()
                    ),
                })
            })
    }

    async fn exchange(&self, request: &Request) -> Result<Response, ClientError> {
        // When the hub closed the connection on purpose, its reason says why (a
        // revoked certificate, too many connections); otherwise the error does.
        let fail = |e: &dyn std::fmt::Display| ClientError::Connection {
            address: self.address.clone(),
            message: match self.connection.close_reason() {
                Some(quinn::ConnectionError::ApplicationClosed(closed)) => format!(
                    "the hub closed the connection: {}",
                    samla_common::text::shown(&String::from_utf8_lossy(&closed.reason))
                ),
                _ => e.to_string(),
            },
        };
        let frame = wire::encode_frame(request)?;
        let (mut send, mut recv) = self.connection.open_bi().await.map_err(|e| fail(&e))?;
        send.write_all(&frame).await.map_err(|e| fail(&e))?;
        send.finish().map_err(|e| fail(&e))?;
        let mut header = [0u8; 4];
        recv.read_exact(&mut header).await.map_err(|e| fail(&e))?;
        let length = wire::frame_length(header, RESPONSE_LIMIT)?;
        let mut body = vec![0u8; length];
        recv.read_exact(&mut body).await.map_err(|e| fail(&e))?;
        Ok(samla_common::codec::decode(&body).map_err(wire::WireError::from)?)
    }

    /// Closes the connection cleanly, and waits until the endpoint's connections
    /// (this one, and any other sharing the endpoint) are closed.
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"done");
        self.endpoint.wait_idle().await;
    }
}

/// What one delivery run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Submissions acknowledged by a verified receipt.
    pub acknowledged: usize,
    /// Submissions the hub refused for good.
    pub refused: Vec<String>,
    /// Submissions still pending when the run gave up.
    pub pending: usize,
    /// The last connection error, if the run gave up.
    pub last_error: Option<String>,
}

/// Progress events, for printing.
pub enum Event<'a> {
    /// A submission was acknowledged.
    Acknowledged(&'a wire::Receipt),
    /// A submission was refused.
    Refused(wire::SubmissionId, &'a wire::Refusal),
    /// The hub could not be reached; retrying after the wait.
    Retrying(&'a str, Duration),
}

/// Sends every pending submission, retrying with backoff until `give_up_after` has
/// passed. Nothing leaves the outbox without a verified receipt or a final refusal.
pub async fn deliver(
    outbox: &mut Outbox,
    link: &HubLink,
    kommun: KommunCode,
    backoff: Backoff,
    give_up_after: Duration,
    mut progress: impl FnMut(Event<'_>),
) -> Result<Delivery, ClientError> {
    let started = Instant::now();
    let mut report = Delivery::default();
    let mut failures = 0u32;
    loop {
        let pending = outbox.pending()?;
        if pending.is_empty() {
            return Ok(report);
        }
        let error = match HubClient::connect(link).await {
            Ok(client) => {
                let outcome = async {
                    sync_checkpoint(&client, outbox, link).await?;
                    send_all(
                        &client,
                        outbox,
                        link,
                        kommun,
                        pending,
                        &mut report,
                        &mut progress,
                    )
                    .await?;
                    sync_checkpoint(&client, outbox, link).await
                }
                .await;
                client.close().await;
                match outcome {
                    Ok(()) => {
                        failures = 0;
                        continue;
                    }
                    Err(Step::Retry(e)) => e,
                    Err(Step::Fatal(e)) => return Err(e),
                }
            }
            Err(e) => e.to_string(),
        };
        failures += 1;
        let wait = backoff.delay(failures);
        if started.elapsed() + wait > give_up_after {
            let pending = outbox.pending()?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            for item in &pending {
                let detail = format!(
                    "after {failures} failed attempts in this run: {error}; stays in the outbox"
                );
                outbox.record(LogKind::RetriesGivenUp, Some(item.entry.id), &detail, now)?;
            }
            report.pending = pending.len();
            report.last_error = Some(error);
            return Ok(report);
        }
        progress(Event::Retrying(&error, wait));
        tokio::time::sleep(wait).await;
    }
}

/// Sends pending submissions over one connection. A connection failure is returned as
/// its message (to retry); refusals and receipts are recorded.
async fn send_all(
    client: &HubClient,
    outbox: &mut Outbox,
    link: &HubLink,
    kommun: KommunCode,
    pending: Vec<crate::outbox::Pending>,
    report: &mut Delivery,
    progress: &mut impl FnMut(Event<'_>),
) -> Result<(), Step> {
    for item in pending {
        let id = item.entry.id;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        outbox.record(
            LogKind::Sent,
            Some(id),
            &format!("sequence {} to {}", item.entry.sequence, link.address),
            now,
        )?;
        let response = match client.request(&Request::Submit(item.signed.clone())).await {
            Ok(r) => r,
            Err(e) => {
                let message = e.to_string();
                outbox.record_failure(id, now, &message)?;
                return Err(Step::Retry(message));
            }
        };
        match response {
            Response::Receipt(signed) => {
                match signed.verify(&link.receipt_key, &link.log_origin, id, kommun) {
                    Ok(verified) => {
                        outbox.record_receipt(&verified.receipt, &signed, now)?;
                        report.acknowledged += 1;
                        progress(Event::Acknowledged(&verified.receipt));
                    }
                    Err(e) => {
                        let message = format!("receipt not accepted: {e}");
                        outbox.record_failure(id, now, &message)?;
                        return Err(Step::Retry(message));
                    }
                }
            }
            Response::Refused(refusal) if refusal.is_temporary() => {
                let message = refusal.to_string();
                outbox.record_failure(id, now, &message)?;
                return Err(Step::Retry(message));
            }
            Response::Refused(refusal) => {
                outbox.record_refusal(id, &refusal, now)?;
                report.refused.push(format!("{id}: {refusal}"));
                progress(Event::Refused(id, &refusal));
            }
            Response::Checkpoint { .. } => {
                let message = "the hub answered a submission with a checkpoint".to_owned();
                outbox.record_failure(id, now, &message)?;
                return Err(Step::Retry(message));
            }
        }
    }
    Ok(())
}

/// Asks the hub for its latest checkpoint and a proof that it extends the last one
/// this node saw, checks both, and records the new checkpoint. A hub whose log does
/// not extend what the node saw has rewritten its history: that stops everything.
async fn sync_checkpoint(
    client: &HubClient,
    outbox: &mut Outbox,
    link: &HubLink,
) -> Result<(), Step> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let last = outbox.last_checkpoint()?;
    let since = last.as_ref().map_or(0, |(size, _)| *size);
    let response = client
        .request(&Request::Checkpoint { since })
        .await
        .map_err(|e| Step::Retry(e.to_string()))?;
    let (note, consistency) = match response {
        Response::Checkpoint { note, consistency } => (note, consistency),
        Response::Refused(refusal) => return Err(Step::Retry(refusal.to_string())),
        Response::Receipt(_) => {
            return Err(Step::Retry(
                "the hub answered a checkpoint request with a receipt".to_owned(),
            ))
        }
    };
    let head = Checkpoint::open(&note, &link.log_origin, &link.receipt_key)
        .map_err(|e| Step::Fatal(ClientError::BadCheckpoint(e.to_string())))?;
    if let Some((_, old_note)) = &last {
        let old = Checkpoint::open(old_note, &link.log_origin, &link.receipt_key).map_err(|e| {
            Step::Fatal(ClientError::BadCheckpoint(format!(
                "the stored checkpoint: {e}"
            )))
        })?;
        if let Err(e) = head.verify_extends(&old, &consistency) {
            let detail = format!(
                "{e} (last seen: size {}, root {}; now: size {}, root {})",
                old.size, old.root, head.size, head.root
            );
            outbox.record_history_changed(&detail, now)?;
            return Err(Step::Fatal(ClientError::HistoryChanged(detail)));
        }
    }
    if last.is_none() || head.size > since {
        outbox.record_checkpoint(head.size, &note, now)?;
    }
    Ok(())
}
