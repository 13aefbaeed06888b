//! The custodian's QUIC server: mutual TLS with certificates from the region CA (a
//! node's names its kommun; a setup coordinator's is pinned by fingerprint in the
//! config), one request per bidirectional stream, framed as the hub's protocol and
//! bounded by `messages::FRAME_LIMIT` before anything is allocated.
//!
//! Per request: decode; for an evaluation, admit it under the kommun's window lock
//! (the window with the batch counted is held at once, so concurrent batches of one
//! kommun never pass the limit together), evaluate on a blocking thread (batches of
//! several kommuner, and of one, use every core), then store the window and append
//! the log entry in one transaction, then answer. Every other request is handled by
//! `Custodian::handle` under the state's write lock. Nothing is answered that is not
//! stored and logged first.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use samla_cli_common::error::Chain;
use samla_common::codes::KommunCode;
use samla_common::oprf::messages::{
    self, CustodianRefusal, CustodianRequest, CustodianResponse, FRAME_LIMIT,
};
use samla_common::oprf::rate::RateWindow;
use samla_common::oprf::service::{Caller, Custodian, Handled, ServiceError};
use samla_common::signing::SigningKey;
use samla_common::tls;
use samla_common::wire::{self, WireError};

use crate::config::CustodianConfig;
use crate::files::{ConfigFileError, CustodianFiles};
use crate::status::{self, CustodianStatus, State};
use crate::store::{LogSigner, Store, StoreError};

/// How long a request's bytes may take to arrive after its header.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent streams per connection.
const STREAMS: u32 = 8;
/// How long a stopping custodian waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file the config names.
    #[error(transparent)]
    File(#[from] ConfigFileError),
    /// TLS setup.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The database.
    #[error("database {path}")]
    Store {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        #[source]
        source: StoreError,
    },
    /// The key share or the stored domains do not fit the key set.
    #[error("restoring the custodian's state from {path}")]
    Restore {
        /// The database.
        path: std::path::PathBuf,
        /// What is wrong.
        #[source]
        source: ServiceError,
    },
    /// The socket.
    #[error("listening on {address}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    evaluations: AtomicU64,
    refused: AtomicU64,
    in_flight: AtomicU64,
}

struct Shared {
    config: CustodianConfig,
    custodian: RwLock<Custodian>,
    store: Mutex<Store>,
    log_key: SigningKey,
    /// Each kommun's window as admitted so far (ahead of the store while batches
    /// are being evaluated).
    windows: Mutex<HashMap<KommunCode, Option<RateWindow>>>,
    connections: Mutex<HashMap<KommunCode, u32>>,
    counters: Counters,
}

/// A custodian bound to its socket.
pub struct Running {
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
}

/// Opens the custodian: reads every file, opens the database, restores the slot
/// ledger and every stored domain (each record verified again), and binds.
pub fn open(config: CustodianConfig, listen: Option<SocketAddr>) -> Result<Running, ServerError> {
    let files = CustodianFiles::read(&config)?;
    let store_error = |source| ServerError::Store {
        path: config.database.clone(),
        source,
    };
    let store = Store::open(&config.database).map_err(store_error)?;
    let restore_error = |source| ServerError::Restore {
        path: config.database.clone(),
        source,
    };
    let mut custodian =
        Custodian::new(files.key_set, files.share, config.rate_limit).map_err(restore_error)?;
    let bindings = store.bindings().map_err(store_error)?;
    let records = store.domains().map_err(store_error)?;
    custodian
        .restore(bindings, records)
        .map_err(restore_error)?;
    let mut server = tls::server_config_for(
        messages::ALPN,
        files.certificate,
        files.private_key,
        &files.region_ca,
        Vec::new(),
    )?;
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(STREAMS))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(0))
        .max_idle_timeout(quinn::IdleTimeout::try_from(Duration::from_secs(30)).ok())
        .stream_receive_window(quinn::VarInt::from_u32(FRAME_LIMIT));
    server.transport_config(Arc::new(transport));
    let address = listen.unwrap_or(config.listen);
    let endpoint = quinn::Endpoint::server(server, address)
        .map_err(|source| ServerError::Listen { address, source })?;
    Ok(Running {
        endpoint,
        shared: Arc::new(Shared {
            custodian: RwLock::new(custodian),
            store: Mutex::new(store),
            log_key: files.log_key,
            windows: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            config,
        }),
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Running {
    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>) {
        let started_at = now();
        let listen = self
            .endpoint
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let (number, key_id) = match self.shared.custodian.read() {
            Ok(c) => (c.custodian().number(), c.key_id().to_string()),
            Err(_) => (0, String::new()),
        };
        let status_path = status::path_for(&self.shared.config.database);
        let write_status = |state: State| {
            let c = &self.shared.counters;
            let status = CustodianStatus {
                state,
                pid: std::process::id(),
                listen: listen.clone(),
                custodian: number,
                key_id: key_id.clone(),
                started_at,
                heartbeat_at: now(),
                batches: c.batches.load(Ordering::Relaxed),
                evaluations: c.evaluations.load(Ordering::Relaxed),
                refused: c.refused.load(Ordering::Relaxed),
            };
            if let Err(e) = status::write(&status_path, &status) {
                tracing::warn!(path = %status_path.display(), error = %Chain(&e), "could not write the status file");
            }
        };
        write_status(State::Ready);
        tracing::info!(%listen, custodian = number, key = %key_id, "samla-custodian ready");
        let accept = async {
            while let Some(incoming) = self.endpoint.accept().await {
                tokio::spawn(connection(Arc::clone(&self.shared), incoming));
            }
        };
        let heartbeat = async {
            let mut tick = tokio::time::interval(Duration::from_secs(status::HEARTBEAT_SECONDS));
            loop {
                tick.tick().await;
                write_status(State::Ready);
            }
        };
        tokio::select! {
            () = accept => {}
            () = heartbeat => {}
            () = shutdown => {}
        }
        self.endpoint.set_server_config(None);
        write_status(State::Stopping);
        let in_flight = || self.shared.counters.in_flight.load(Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
        while in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.endpoint
            .close(quinn::VarInt::from_u32(0), b"custodian shutting down");
        self.endpoint.wait_idle().await;
        write_status(State::Stopped);
        tracing::info!("samla-custodian stopped cleanly");
    }
}

fn leaf_certificate(conn: &quinn::Connection) -> Option<CertificateDer<'static>> {
    let identity = conn.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    chain.first().cloned()
}

/// Who a verified certificate is: a pinned coordinator, or the kommun it names.
fn caller(shared: &Shared, leaf: &CertificateDer<'_>) -> Result<Caller, tls::TlsError> {
    if shared.config.coordinators.contains(&tls::fingerprint(leaf)) {
        return Ok(Caller::Coordinator);
    }
    tls::peer_kommun(leaf, &[]).map(Caller::Node)
}

/// One of a kommun's allowed connections, given back when dropped.
struct ConnectionSlot<'a> {
    shared: &'a Shared,
    kommun: KommunCode,
}

impl<'a> ConnectionSlot<'a> {
    fn take(shared: &'a Shared, kommun: KommunCode) -> Option<ConnectionSlot<'a>> {
        let mut open = shared.connections.lock().ok()?;
        let n = open.entry(kommun).or_default();
        if *n >= shared.config.connections_per_kommun {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot { shared, kommun })
    }
}

impl Drop for ConnectionSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut open) = self.shared.connections.lock() {
            if let Some(n) = open.get_mut(&self.kommun) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

async fn connection(shared: Arc<Shared>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, incoming).await {
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
    let who = leaf_certificate(&conn)
        .ok_or(tls::TlsError::NoKommun)
        .and_then(|leaf| caller(&shared, &leaf));
    let who = match who {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!(%remote, error = %Chain(&e), "client certificate names no kommun and is no coordinator's");
            conn.close(quinn::VarInt::from_u32(2), b"certificate names no kommun");
            return;
        }
    };
    let _slot = match who {
        Caller::Node(kommun) => match ConnectionSlot::take(&shared, kommun) {
            Some(slot) => Some(slot),
            None => {
                tracing::warn!(%remote, kommun = %kommun, "too many connections from one kommun");
                conn.close(quinn::VarInt::from_u32(3), b"too many connections");
                return;
            }
        },
        Caller::Coordinator => None,
    };
    match who {
        Caller::Node(kommun) => tracing::info!(%remote, kommun = %kommun, "node connected"),
        Caller::Coordinator => tracing::info!(%remote, "setup coordinator connected"),
    }
    while let Ok((send, recv)) = conn.accept_bi().await {
        tokio::spawn(stream(Arc::clone(&shared), who, send, recv));
    }
}

/// Counts a request in flight until dropped.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn start(counter: &'a AtomicU64) -> InFlight<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn stream(
    shared: Arc<Shared>,
    who: Caller,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let _in_flight = InFlight::start(&shared.counters.in_flight);
    let body = match read_frame(&mut recv).await {
        Ok(body) => body,
        Err(e) => {
            tracing::info!(error = %e, "request not read");
            let _ = recv.stop(0u32.into());
            if matches!(e, FrameError::Wire(_) | FrameError::TooSlow) {
                // Answered as busy: the node tries again or asks another custodian.
                let _ = respond(
                    &mut send,
                    &CustodianResponse::Refused(CustodianRefusal::Busy),
                )
                .await;
            }
            return;
        }
    };
    let worker = Arc::clone(&shared);
    let response = tokio::task::spawn_blocking(move || worker.answer(who, body))
        .await
        .unwrap_or(CustodianResponse::Refused(CustodianRefusal::Busy));
    let _ = respond(&mut send, &response).await;
}

async fn respond(send: &mut quinn::SendStream, response: &CustodianResponse) -> Result<(), ()> {
    match wire::encode_frame(response) {
        Ok(frame) => {
            send.write_all(&frame).await.map_err(|_| ())?;
            let _ = send.finish();
            let _ = send.stopped().await;
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %Chain(&e), "could not encode a response");
            Err(())
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("the stream ended early")]
    Read(#[from] quinn::ReadExactError),
    #[error("the request did not arrive in time")]
    TooSlow,
}

/// Reads one frame, its announced length checked before anything is allocated.
async fn read_frame(recv: &mut quinn::RecvStream) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; 4];
    recv.read_exact(&mut header).await?;
    let length = wire::frame_length(header, FRAME_LIMIT)?;
    let mut body = vec![0u8; length];
    tokio::time::timeout(REQUEST_TIMEOUT, recv.read_exact(&mut body))
        .await
        .map_err(|_| FrameError::TooSlow)??;
    Ok(body)
}

impl Shared {
    /// Answers one request (on a blocking thread): decided, stored and logged.
    fn answer(&self, who: Caller, body: Vec<u8>) -> CustodianResponse {
        let now = now();
        let request = match messages::decode_request(&body) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "malformed request");
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                return CustodianResponse::Refused(CustodianRefusal::Subset {
                    reason: "the request is not a custodian message".to_owned(),
                });
            }
        };
        drop(body);
        let handled = match (who, request) {
            (Caller::Node(kommun), CustodianRequest::Evaluate(request)) => {
                match self.evaluate(now, kommun, request) {
                    Some(handled) => handled,
                    None => return CustodianResponse::Refused(CustodianRefusal::Busy),
                }
            }
            (who, request) => {
                let Ok(mut custodian) = self.custodian.write() else {
                    return CustodianResponse::Refused(CustodianRefusal::Busy);
                };
                let stored = match who {
                    Caller::Node(kommun) => self.current_window(kommun).ok().flatten(),
                    Caller::Coordinator => None,
                };
                custodian.handle(now, who, stored, request, &mut rand::rng())
            }
        };
        self.finish(handled)
    }

    /// The kommun's window as admitted so far, loaded from the store the first time.
    fn current_window(&self, kommun: KommunCode) -> Result<Option<RateWindow>, StoreError> {
        let Ok(windows) = self.windows.lock() else {
            return Ok(None);
        };
        if let Some(w) = windows.get(&kommun) {
            return Ok(*w);
        }
        drop(windows);
        self.store.lock().map_err(|_| poisoned())?.window(kommun)
    }

    /// Admits a batch under the kommun's window lock and evaluates it outside it;
    /// `None` if the state cannot be read (answered as busy).
    fn evaluate(
        &self,
        now: i64,
        kommun: KommunCode,
        request: messages::EvaluateRequest,
    ) -> Option<Handled> {
        let custodian = self.custodian.read().ok()?;
        let admitted = {
            let mut windows = self.windows.lock().ok()?;
            let stored = match windows.get(&kommun) {
                Some(w) => *w,
                None => {
                    let loaded = match self.store.lock().ok()?.window(kommun) {
                        Ok(loaded) => loaded,
                        Err(e) => {
                            tracing::error!(error = %Chain(&e), "could not read a rate window");
                            return None;
                        }
                    };
                    windows.insert(kommun, loaded);
                    loaded
                }
            };
            match custodian.admit(now, kommun, stored, request) {
                Ok(admitted) => {
                    windows.insert(kommun, Some(admitted.window()));
                    admitted
                }
                Err(refused) => return Some(*refused),
            }
        };
        Some(custodian.evaluate(now, admitted, &mut rand::rng()))
    }

    /// Stores and logs a handled request, then gives its response (or `Busy` if the
    /// store failed: nothing unlogged is answered).
    fn finish(&self, handled: Handled) -> CustodianResponse {
        let signer = LogSigner {
            key: &self.log_key,
            origin: &self.config.log_origin,
        };
        let committed = self
            .store
            .lock()
            .map_err(|_| poisoned())
            .and_then(|mut store| store.commit(&handled, &signer));
        if let Err(e) = committed {
            tracing::error!(error = %Chain(&e), "could not store and log a request; answered busy");
            return CustodianResponse::Refused(CustodianRefusal::Busy);
        }
        let entry = &handled.log;
        let kommun = entry.kommun.map(|k| k.to_string()).unwrap_or_default();
        let domain = entry
            .domain
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default();
        match &handled.response {
            CustodianResponse::Evaluated(_) => {
                self.counters.batches.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .evaluations
                    .fetch_add(entry.count, Ordering::Relaxed);
                tracing::info!(kommun, domain, count = entry.count, "batch evaluated");
            }
            CustodianResponse::Refused(refusal) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(kommun, domain, count = entry.count, reason = %refusal, "request refused");
            }
            _ => {
                tracing::info!(kommun, domain, kind = entry.kind.code(), note = %entry.note, "request answered")
            }
        }
        handled.response
    }
}

fn poisoned() -> StoreError {
    StoreError::Damaged {
        what: "state",
        detail: "a thread failed while holding the store".to_owned(),
    }
}
