//! The hub's QUIC server: accepts nodes with a valid client certificate, reads one
//! request per bidirectional stream, and answers each with a signed receipt or a typed
//! refusal. Frames are checked against the size limit before anything is allocated.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use samla_common::codes::KommunCode;
use samla_common::delivery::close_code;
use samla_common::tls::{self, PinnedCertificate};
use samla_common::wire::{
    self, Refusal, Request, Response, SignedSubmission, SubmissionId, VerifiedSubmission, WireError,
};

use samla_cli_common::error::Chain;

use crate::config::HubConfig;
use crate::files::{ConfigFileError, ServeFiles};
use crate::refusals::RefusalLog;
use crate::room::{RequestRoom, Room};
use crate::status::{self, HubStatus, State};
use crate::store::{LogSigner, Store, StoreError};
use crate::writer::StoreWriter;

mod connection;
use connection::connection;

/// The bytes QUIC buffers per stream before the hub reads them.
const STREAM_WINDOW: u32 = 256 * 1024;

/// How long a stopping hub waits for submissions in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file the config names (CA, certificate, key, receipt key).
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
    /// The limits do not fit together.
    #[error("[limits]: {0}")]
    Limits(String),
    /// The store's writer thread could not start.
    #[error("starting the store writer")]
    Writer(#[source] std::io::Error),
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

/// The TLS files, read when the hub is opened, used when it binds.
struct TlsFiles {
    region_ca: Vec<rustls::pki_types::CertificateDer<'static>>,
    certificate: Vec<rustls::pki_types::CertificateDer<'static>>,
    private_key: rustls::pki_types::PrivateKeyDer<'static>,
}

/// Everything a connection needs, shared.
pub struct Hub {
    config: HubConfig,
    /// Taken by [`Hub::bind`].
    tls: Option<TlsFiles>,
    pinned: Vec<PinnedCertificate>,
    writer: StoreWriter,
    counters: Counters,
    /// Per kommun, when its submissions in the last minute arrived.
    rates: Mutex<HashMap<KommunCode, VecDeque<i64>>>,
    /// Per kommun, its open connections.
    connections: Mutex<HashMap<KommunCode, u32>>,
    /// Room for request bytes in memory (`[limits] in_flight_megabytes`).
    room: RequestRoom,
    /// Refusals counted per kommun and kind, so a flood adds a bounded number of
    /// log entries.
    refusals: Mutex<RefusalLog>,
}

/// What the hub has done since it started, for its status file.
#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    in_flight: AtomicU64,
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

/// A running hub endpoint.
pub struct Running {
    endpoint: quinn::Endpoint,
    hub: Arc<Hub>,
}

impl Hub {
    /// Reads every file the config names (the first that cannot be used is named
    /// with its config key), then opens the database.
    pub fn open(config: HubConfig) -> Result<Hub, ServerError> {
        let ServeFiles {
            region_ca,
            certificate,
            private_key,
            receipt_key,
        } = ServeFiles::read(&config)?;
        let mut store = Store::open(&config.database).map_err(|source| ServerError::Store {
            path: config.database.clone(),
            source,
        })?;
        let registrations: Vec<(KommunCode, String)> = config
            .nodes
            .iter()
            .map(|(kommun, node)| {
                let mut keys: Vec<String> = node
                    .signing_keys
                    .iter()
                    .map(|k| match k.until {
                        Some(until) => format!("signing {} until {until}", k.key),
                        None => format!("signing {}", k.key),
                    })
                    .collect();
                keys.extend(
                    node.pinned_certificate
                        .map(|c| format!("certificate sha256 {}", hex::encode(c))),
                );
                (*kommun, keys.join(", "))
            })
            .collect();
        let log = LogSigner {
            key: &receipt_key,
            origin: &config.log_origin,
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match store.log_registrations(&registrations, now, &log) {
            Ok(_) => {}
            // A damaged store is served, not hidden: every write and checkpoint is
            // refused as temporary ("hub store damaged") until it is repaired, so
            // nodes keep their submissions and no node is given a wrong proof.
            Err(StoreError::Damaged(why)) => {
                tracing::error!(damage = %why, "hub store damaged: nothing is stored and no checkpoint is given until it is repaired; run `samla-hub audit verify`");
            }
            Err(source) => {
                return Err(ServerError::Store {
                    path: config.database.clone(),
                    source,
                })
            }
        }
        let room = RequestRoom::new(config.limits.in_flight_bytes, config.max_frame_bytes)
            .ok_or_else(|| {
                ServerError::Limits(
                    "in_flight_megabytes must hold the largest request (max_frame_bytes)"
                        .to_owned(),
                )
            })?;
        let writer = StoreWriter::start(store, receipt_key, config.log_origin.clone())
            .map_err(ServerError::Writer)?;
        Ok(Hub {
            tls: Some(TlsFiles {
                region_ca,
                certificate,
                private_key,
            }),
            pinned: config.pinned(),
            writer,
            counters: Counters::default(),
            rates: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            room,
            refusals: Mutex::new(RefusalLog::default()),
            config,
        })
    }

    /// Binds the endpoint (to `listen` or the config's address).
    pub fn bind(mut self, listen: Option<SocketAddr>) -> Result<Running, ServerError> {
        let TlsFiles {
            region_ca,
            certificate,
            private_key,
        } = self
            .tls
            .take()
            // Set by `open` and taken only here, where the hub is consumed.
            .expect("the TLS files are read when the hub is opened");
        let mut server =
            tls::server_config(certificate, private_key, &region_ca, self.pinned.clone())?;
        let limits = self.config.limits;
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_concurrent_bidi_streams(quinn::VarInt::from_u32(limits.concurrent_streams))
            .max_concurrent_uni_streams(quinn::VarInt::from_u32(0))
            .max_idle_timeout(quinn::IdleTimeout::try_from(limits.idle_timeout).ok())
            // What QUIC buffers for a stream that waits for room: 256 KiB a stream,
            // so a connection buffers at most `concurrent_streams` times that outside
            // the room. (The connection-wide window stays unlimited: capped lower,
            // the streams waiting for room could hold all of it, and the one being
            // read would stall.)
            .stream_receive_window(quinn::VarInt::from_u32(STREAM_WINDOW));
        server.transport_config(Arc::new(transport));
        let address = listen.unwrap_or(self.config.listen);
        let endpoint = quinn::Endpoint::server(server, address)
            .map_err(|source| ServerError::Listen { address, source })?;
        Ok(Running {
            endpoint,
            hub: Arc::new(self),
        })
    }

    /// Answers one request from a node whose certificate names `kommun`: decodes it
    /// and checks a submission on a blocking thread (both take CPU time in proportion
    /// to its size; the raw bytes are freed there), then asks the store writer.
    async fn answer(self: &Arc<Self>, kommun: KommunCode, body: Vec<u8>) -> Response {
        let hub = Arc::clone(self);
        let now = now();
        let checked =
            tokio::task::spawn_blocking(move || hub.decode_and_check(kommun, body, now)).await;
        match checked {
            Ok(Checked::Submission(Ok(verified))) => self.store(kommun, *verified, now).await,
            Ok(Checked::Submission(Err((id, refusal)))) => {
                self.refuse(now, Some(kommun), Some(id), refusal).await
            }
            Ok(Checked::Checkpoint { since }) => self.checkpoint(since).await,
            Ok(Checked::Malformed(why)) => {
                self.refuse(now, Some(kommun), None, Refusal::Malformed(why))
                    .await
            }
            Err(_) => Response::Refused(Refusal::Unavailable("internal error".to_owned())),
        }
    }

    fn decode_and_check(&self, kommun: KommunCode, body: Vec<u8>, now: i64) -> Checked {
        match samla_common::codec::decode::<Request>(&body) {
            Ok(Request::Submit(signed)) => {
                drop(body);
                let id = signed.id();
                let checked = self.check(kommun, signed, now);
                Checked::Submission(checked.map(Box::new).map_err(|r| (id, r)))
            }
            Ok(Request::Checkpoint { since }) => Checked::Checkpoint { since },
            Err(e) => Checked::Malformed(e.to_string()),
        }
    }

    /// Hands a verified submission to the store writer; its receipt, or why not.
    async fn store(&self, kommun: KommunCode, verified: VerifiedSubmission, now: i64) -> Response {
        let id = verified.id();
        match self.writer.accept(verified, now).await {
            Ok(stored) if stored.new => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                tracing::info!(kommun = %kommun, submission = %id, "submission stored");
                Response::Receipt(stored.receipt)
            }
            Ok(stored) => {
                tracing::info!(kommun = %kommun, submission = %id, "submission sent again: stored before, its receipt given again");
                Response::Receipt(stored.receipt)
            }
            Err(StoreError::Damaged(why)) => {
                tracing::error!(kommun = %kommun, submission = %id, damage = %why, "hub store damaged: no receipt given; run `samla-hub audit verify`");
                Response::Refused(Refusal::Unavailable(crate::store::DAMAGED.to_owned()))
            }
            Err(StoreError::Refused(refusal)) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(kommun = %kommun, submission = %id, reason = %refusal, "submission refused");
                Response::Refused(refusal)
            }
            Err(e) => {
                tracing::error!(kommun = %kommun, submission = %id, error = %Chain(&e), "store failed");
                Response::Refused(Refusal::Unavailable("the store failed".to_owned()))
            }
        }
    }

    /// The checks before storing: the kommun's rate limit, and the signature against
    /// the kommun's signing keys in force today.
    fn check(
        &self,
        kommun: KommunCode,
        signed: SignedSubmission,
        now: i64,
    ) -> Result<VerifiedSubmission, Refusal> {
        if let Some(refusal) = self.rate_limit(kommun, now) {
            return Err(refusal);
        }
        let keys = self
            .config
            .nodes
            .get(&kommun)
            .map(|n| n.signing_keys.as_slice())
            .unwrap_or_default();
        let today = time::OffsetDateTime::from_unix_timestamp(now)
            .map(|t| t.date())
            .unwrap_or(time::Date::MIN);
        let current: Vec<_> = keys
            .iter()
            .filter(|k| k.accepted_on(today))
            .map(|k| k.key)
            .collect();
        let retired = keys
            .iter()
            .find(|k| k.key == signed.signer && !k.accepted_on(today))
            .and_then(|k| k.until);
        match (signed.verify(kommun, &current), retired) {
            (Ok(verified), _) => Ok(verified),
            (Err(Refusal::UnknownSigner { kommun: k, key }), Some(until)) => {
                Err(Refusal::RetiredSigner {
                    kommun: k,
                    key,
                    until: until.to_string(),
                })
            }
            (Err(refusal), _) => Err(refusal),
        }
    }

    /// Counts a submission against the kommun's per-minute limit; the refusal if it
    /// is over.
    fn rate_limit(&self, kommun: KommunCode, now: i64) -> Option<Refusal> {
        let limit = self.config.limits.submissions_per_minute;
        let Ok(mut windows) = self.rates.lock() else {
            return None;
        };
        let recent = windows.entry(kommun).or_default();
        while recent.front().is_some_and(|t| now - t >= 60) {
            recent.pop_front();
        }
        if recent.len() >= limit as usize {
            return Some(Refusal::RateLimited {
                kommun: kommun.to_string(),
                limit,
            });
        }
        recent.push_back(now);
        None
    }

    /// The latest checkpoint and a consistency proof from `since`.
    async fn checkpoint(&self, since: u64) -> Response {
        match self.writer.checkpoint(since).await {
            Ok((note, consistency)) => Response::Checkpoint { note, consistency },
            Err(StoreError::Damaged(why)) => {
                tracing::error!(damage = %why, "hub store damaged: no checkpoint given; run `samla-hub audit verify`");
                Response::Refused(Refusal::Unavailable(crate::store::DAMAGED.to_owned()))
            }
            Err(e) => {
                tracing::error!(error = %Chain(&e), "checkpoint failed");
                Response::Refused(Refusal::Unavailable(
                    "the transfer log could not be read".to_owned(),
                ))
            }
        }
    }

    /// Logs a connection refused after the handshake (a revoked certificate).
    async fn refuse_connection(&self, kommun: Option<KommunCode>, reason: &str) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            kommun = kommun.as_ref().map(tracing::field::display),
            reason,
            "connection refused"
        );
        let refusal = Refusal::Revoked(reason.to_owned());
        self.log_refusal(now(), kommun, None, refusal).await;
    }

    /// Logs a refusal and answers with it.
    async fn refuse(
        &self,
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<samla_common::wire::SubmissionId>,
        refusal: Refusal,
    ) -> Response {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            kommun = kommun.as_ref().map(tracing::field::display),
            reason = %refusal,
            "submission refused"
        );
        self.log_refusal(at, kommun, id, refusal.clone()).await;
        Response::Refused(refusal)
    }

    /// Counts a refusal against the kommun's limit (a kommun that floods the hub
    /// with refused requests is rate limited like one that floods it with
    /// submissions) and logs it: the first of its kommun and kind in a window as it
    /// is, the rest as one entry with their count (`crate::refusals`).
    async fn log_refusal(
        &self,
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<SubmissionId>,
        refusal: Refusal,
    ) {
        if let Some(kommun) = kommun {
            if let Ok(mut windows) = self.rates.lock() {
                let recent = windows.entry(kommun).or_default();
                while recent.front().is_some_and(|t| at - t >= 60) {
                    recent.pop_front();
                }
                // Past the limit the exact number no longer matters: the window
                // stays small however long a flood lasts.
                if recent.len() <= self.config.limits.submissions_per_minute as usize {
                    recent.push_back(at);
                }
            }
        }
        let (log_it, closed) = match self.refusals.lock() {
            Ok(mut refusals) => refusals.handle(at, kommun, &refusal),
            Err(_) => (true, None),
        };
        if let Some(repeated) = closed {
            self.log_repeated(&repeated).await;
        }
        if log_it {
            if let Err(e) = self.writer.log_refusal(at, kommun, id, refusal).await {
                tracing::error!(error = %Chain(&e), "could not log a refusal");
            }
        }
    }

    /// Logs the refusals counted in windows that have closed (all of them when
    /// `stopping`).
    async fn flush_refusals(&self, now: i64, stopping: bool) {
        let closed = match self.refusals.lock() {
            Ok(mut refusals) if stopping => refusals.drain(),
            Ok(mut refusals) => refusals.poll(now),
            Err(_) => Vec::new(),
        };
        for repeated in closed {
            self.log_repeated(&repeated).await;
        }
    }

    async fn log_repeated(&self, repeated: &crate::refusals::Repeated) {
        tracing::warn!(
            kommun = repeated.kommun.as_ref().map(tracing::field::display),
            kind = repeated.kind,
            count = repeated.count,
            "refusals counted"
        );
        if let Err(e) = self.writer.log_repeated(repeated).await {
            tracing::error!(error = %Chain(&e), "could not log counted refusals");
        }
    }
}

/// A request, decoded and (a submission) checked.
enum Checked {
    /// A submission: verified, or refused (with its id).
    Submission(Result<Box<VerifiedSubmission>, (SubmissionId, Refusal)>),
    /// A checkpoint request.
    Checkpoint { since: u64 },
    /// Not a request.
    Malformed(String),
}

impl Running {
    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Serves until `shutdown` completes. Then it stops taking connections, lets the
    /// requests in flight finish (each submission's store transaction completes or
    /// never began), closes the endpoint and writes its final status. While it runs
    /// it rewrites its status file every few seconds.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>) {
        let started_at = now();
        let listen = self
            .endpoint
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let status_path = status::path_for(&self.hub.config.database);
        let write_status = |state: State| {
            let c = &self.hub.counters;
            let status = HubStatus {
                state,
                pid: std::process::id(),
                listen: listen.clone(),
                started_at,
                heartbeat_at: now(),
                accepted: c.accepted.load(Ordering::Relaxed),
                refused: c.refused.load(Ordering::Relaxed),
                in_flight: c.in_flight.load(Ordering::Relaxed),
                log_origin: self.hub.config.log_origin.clone(),
            };
            if let Err(e) = status::write(&status_path, &status) {
                tracing::warn!(path = %status_path.display(), error = %Chain(&e), "could not write the status file");
            }
        };
        write_status(State::Ready);
        tracing::info!(%listen, "samla-hub ready");
        let accept = async {
            while let Some(incoming) = self.endpoint.accept().await {
                let hub = Arc::clone(&self.hub);
                tokio::spawn(connection(hub, incoming));
            }
        };
        let heartbeat = async {
            let mut tick = tokio::time::interval(Duration::from_secs(status::HEARTBEAT_SECONDS));
            loop {
                tick.tick().await;
                write_status(State::Ready);
                self.hub.flush_refusals(now(), false).await;
            }
        };
        tokio::select! {
            () = accept => {}
            () = heartbeat => {}
            () = shutdown => {}
        }
        self.endpoint.set_server_config(None);
        write_status(State::Stopping);
        let in_flight = || self.hub.counters.in_flight.load(Ordering::SeqCst);
        tracing::info!(
            in_flight = in_flight(),
            "stopping: no new connections; finishing requests in flight"
        );
        let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
        while in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.hub.flush_refusals(now(), true).await;
        self.endpoint
            .close(varint(close_code::DONE), b"hub shutting down");
        self.endpoint.wait_idle().await;
        write_status(State::Stopped);
        tracing::info!(
            accepted = self.hub.counters.accepted.load(Ordering::Relaxed),
            refused = self.hub.counters.refused.load(Ordering::Relaxed),
            "samla-hub stopped cleanly"
        );
    }
}

/// A close code of [`close_code`] (the codes the node reads to tell why the hub closed)
/// as QUIC's variable-length integer; every one of them is small enough.
fn varint(code: u64) -> quinn::VarInt {
    quinn::VarInt::from_u64(code).unwrap_or(quinn::VarInt::MAX)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
