//! One QUIC connection from a node: its certificate checked (revocation, exactly one
//! kommun, the kommun's connection limit), then each stream read as one bounded frame
//! and answered.

use super::*;

pub(super) async fn connection(hub: Arc<Hub>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match tokio::time::timeout(hub.config.limits.handshake_timeout, incoming).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            tracing::info!(%remote, error = %Chain(&e), "handshake failed");
            return;
        }
        Err(_) => {
            tracing::info!(%remote, "handshake timed out");
            return;
        }
    };
    let leaf = leaf_certificate(&conn);
    if leaf
        .as_ref()
        .is_some_and(|c| hub.config.revoked.contains(c))
    {
        let kommun = peer_kommun(&conn, &hub.pinned).ok();
        hub.refuse_connection(kommun, "client certificate revoked")
            .await;
        conn.close(varint(close_code::REVOKED), b"certificate revoked");
        return;
    }
    let kommun = match peer_kommun(&conn, &hub.pinned) {
        Ok(kommun) => kommun,
        Err(e) => {
            tracing::warn!(%remote, error = %Chain(&e), "client certificate names no kommun");
            conn.close(
                varint(close_code::NO_KOMMUN),
                b"certificate names no kommun",
            );
            return;
        }
    };
    let Some(_slot) = ConnectionSlot::take(&hub, kommun) else {
        tracing::warn!(%remote, kommun = %kommun, "too many connections from one kommun");
        conn.close(
            varint(close_code::TOO_MANY_CONNECTIONS),
            b"too many connections",
        );
        return;
    };
    tracing::info!(%remote, kommun = %kommun, "node connected");
    while let Ok((send, recv)) = conn.accept_bi().await {
        let hub = Arc::clone(&hub);
        tokio::spawn(stream(hub, kommun, send, recv));
    }
}

/// One of a kommun's allowed connections, given back when dropped.
struct ConnectionSlot<'a> {
    hub: &'a Hub,
    kommun: KommunCode,
}

impl<'a> ConnectionSlot<'a> {
    fn take(hub: &'a Hub, kommun: KommunCode) -> Option<ConnectionSlot<'a>> {
        let mut open = hub.connections.lock().ok()?;
        let n = open.entry(kommun).or_default();
        if *n >= hub.config.limits.connections_per_kommun {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot { hub, kommun })
    }
}

impl Drop for ConnectionSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut open) = self.hub.connections.lock() {
            if let Some(n) = open.get_mut(&self.kommun) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

fn leaf_certificate(conn: &quinn::Connection) -> Option<CertificateDer<'static>> {
    let identity = conn.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    chain.first().cloned()
}

fn peer_kommun(
    conn: &quinn::Connection,
    pinned: &[PinnedCertificate],
) -> Result<KommunCode, tls::TlsError> {
    let identity = conn.peer_identity().ok_or(tls::TlsError::NoKommun)?;
    let chain = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| tls::TlsError::NoKommun)?;
    let leaf = chain.first().ok_or(tls::TlsError::NoKommun)?;
    tls::peer_kommun(leaf, pinned)
}

async fn stream(
    hub: Arc<Hub>,
    kommun: KommunCode,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let _in_flight = InFlight::start(&hub.counters.in_flight);
    let response = match read_frame(&hub, kommun, &mut recv).await {
        // The request keeps its room until it is answered.
        Ok((body, _room)) => hub.answer(kommun, body).await,
        Err(FrameError::TooSlow) => {
            let _ = recv.stop(0u32.into());
            let seconds = hub.config.limits.request_timeout.as_secs();
            let why = format!("the request did not arrive within {seconds} s");
            hub.refuse(now(), Some(kommun), None, Refusal::Unavailable(why))
                .await
        }
        Err(FrameError::Wire(WireError::TooLarge { announced, limit })) => {
            let _ = recv.stop(0u32.into());
            hub.refuse(
                now(),
                Some(kommun),
                None,
                Refusal::TooLarge { announced, limit },
            )
            .await
        }
        Err(FrameError::Wire(e)) => {
            hub.refuse(now(), Some(kommun), None, Refusal::Malformed(e.to_string()))
                .await
        }
        Err(FrameError::Read(e)) => {
            tracing::info!(kommun = %kommun, error = %Chain(&e), "stream ended early");
            return;
        }
        Err(FrameError::Closed) => return,
    };
    match wire::encode_frame(&response) {
        Ok(frame) => {
            if send.write_all(&frame).await.is_ok() {
                let _ = send.finish();
                let _ = send.stopped().await;
            }
        }
        Err(e) => tracing::error!(error = %Chain(&e), "could not encode a response"),
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Read(#[from] quinn::ReadExactError),
    #[error("the hub is stopping")]
    Closed,
    #[error("the request did not arrive in time")]
    TooSlow,
}

/// Reads one frame: checks the announced length before allocating, waits until
/// the hub's requests in memory leave room for it, and gives the rest of it the
/// request timeout to arrive.
async fn read_frame(
    hub: &Hub,
    kommun: KommunCode,
    recv: &mut quinn::RecvStream,
) -> Result<(Vec<u8>, Room), FrameError> {
    let mut header = [0u8; 4];
    recv.read_exact(&mut header).await?;
    let length = wire::frame_length(header, hub.config.max_frame_bytes)?;
    let room = hub
        .room
        .take(kommun, u32::try_from(length).unwrap_or(u32::MAX))
        .await
        .ok_or(FrameError::Closed)?;
    let mut body = vec![0u8; length];
    // The time spent waiting for room does not count against the sender.
    tokio::time::timeout(
        hub.config.limits.request_timeout,
        recv.read_exact(&mut body),
    )
    .await
    .map_err(|_| FrameError::TooSlow)??;
    Ok((body, room))
}
