//! TLS for QUIC between node and hub: the one module of `common` that knows about
//! rustls and quinn's config types. No sockets here: it builds configurations, judges
//! certificates (given the time as an argument where it matters), and tells what a
//! failed connection means for delivery ([`connection_failure`]).
//!
//! TLS 1.3 only, ring only, ALPN `samla/1`, and a client certificate always required.
//! A node is known by its certificate: either issued by the region CA and naming its
//! kommun as the URI SAN `urn:samla:kommun:NNNN`, or pinned by its SHA-256
//! fingerprint in the hub config (certificates from an existing PKI, e.g. SITHS).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::codes::KommunCode;
use crate::delivery::{Failure, Stage};
use crate::wire::ALPN;

/// The URI SAN prefix that names a node's kommun.
pub const KOMMUN_URI_PREFIX: &str = "urn:samla:kommun:";

/// Why a TLS setup or a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// A certificate could not be parsed.
    #[error("certificate could not be read: {0}")]
    Certificate(String),
    /// A private key could not be parsed.
    #[error("{0}")]
    PrivateKey(String),
    /// The certificate names no kommun and is not pinned.
    #[error("the client certificate names no kommun (URI SAN {KOMMUN_URI_PREFIX}NNNN) and is not pinned in the hub config")]
    NoKommun,
    /// The certificate names more than one kommun (or a malformed one beside
    /// another): it cannot stand for one kommun, so it is refused.
    #[error("the client certificate names {count} kommuner ({KOMMUN_URI_PREFIX}NNNN URI SANs); a node certificate names exactly one")]
    SeveralKommuner {
        /// How many `urn:samla:kommun:` names it carries.
        count: usize,
    },
}

/// A certificate from another PKI, pinned by fingerprint to a kommun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedCertificate {
    /// SHA-256 of the certificate's DER.
    pub sha256: [u8; 32],
    /// The kommun it stands for.
    pub kommun: KommunCode,
}

/// Every certificate in PEM text (a file's contents).
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate(
            "no certificate in the file".to_owned(),
        ));
    }
    Ok(certs)
}

/// The private key in PEM text (a file's contents).
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| TlsError::PrivateKey(format!("not a PEM private key: {e}")))
}

/// A certificate's serial number (its raw big-endian bytes), as revoked in configs.
pub fn serial(certificate: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate.as_ref()).ok()?;
    Some(cert.raw_serial().to_vec())
}

/// Who a (verified) certificate names: its first DNS name (or, failing that, its
/// subject's common name) and its subject's organisation, for what people read.
pub fn certificate_names(certificate: &CertificateDer<'_>) -> (Option<String>, Option<String>) {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(certificate.as_ref()) else {
        return (None, None);
    };
    let dns = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                _ => None,
            })
        });
    let subject = cert.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(crate::text::shown);
    let organisation = subject
        .iter_organization()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(crate::text::shown);
    (
        dns.map(|d| crate::text::shown(&d)).or(common_name),
        organisation,
    )
}

/// SHA-256 of a certificate's DER, as pinned and revoked in configs.
pub fn fingerprint(certificate: &CertificateDer<'_>) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, certificate.as_ref());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

/// A root store holding the region CA certificate(s).
fn root_store(region_ca: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for ca in region_ca {
        roots.add(ca.clone()).map_err(config_error)?;
    }
    Ok(roots)
}

/// The hub's QUIC server configuration.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    region_ca: &[CertificateDer<'static>],
    pinned: Vec<PinnedCertificate>,
) -> Result<quinn_proto::ServerConfig, TlsError> {
    server_config_for(ALPN, chain, key, region_ca, pinned)
}

/// A QUIC server configuration for protocol `alpn` (the hub's, or a key custodian's
/// `samla-custodian/1`), with the same client certificate rules as the hub's.
pub fn server_config_for(
    alpn: &[u8],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    region_ca: &[CertificateDer<'static>],
    pinned: Vec<PinnedCertificate>,
) -> Result<quinn_proto::ServerConfig, TlsError> {
    let roots = root_store(region_ca)?;
    let region = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(config_error)?;
    let verifier = Arc::new(RegionOrPinned { region, pinned });
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(config_error)?;
    tls.alpn_protocols = vec![alpn.to_vec()];
    let quic =
        quinn_proto::crypto::rustls::QuicServerConfig::try_from(tls).map_err(config_error)?;
    Ok(quinn_proto::ServerConfig::with_crypto(Arc::new(quic)))
}

/// A node's QUIC client configuration: trusts the region CA, shows its certificate.
pub fn client_config(
    region_ca: &[CertificateDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<quinn_proto::ClientConfig, TlsError> {
    client_config_for(ALPN, region_ca, chain, key)
}

/// A QUIC client configuration for protocol `alpn`: trusts the region CA, shows its
/// certificate (a node's to the hub or a custodian, the coordinator's to a custodian).
pub fn client_config_for(
    alpn: &[u8],
    region_ca: &[CertificateDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<quinn_proto::ClientConfig, TlsError> {
    let roots = root_store(region_ca)?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(config_error)?;
    tls.alpn_protocols = vec![alpn.to_vec()];
    let quic =
        quinn_proto::crypto::rustls::QuicClientConfig::try_from(tls).map_err(config_error)?;
    Ok(quinn_proto::ClientConfig::new(Arc::new(quic)))
}

/// The kommun a verified client certificate stands for: pinned, or named in its SAN.
pub fn peer_kommun(
    leaf: &CertificateDer<'_>,
    pinned: &[PinnedCertificate],
) -> Result<KommunCode, TlsError> {
    let sha256 = fingerprint(leaf);
    if let Some(p) = pinned.iter().find(|p| p.sha256 == sha256) {
        return Ok(p.kommun);
    }
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| TlsError::Certificate(e.to_string()))?
        .ok_or(TlsError::NoKommun)?;
    let named: Vec<&str> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => uri.strip_prefix(KOMMUN_URI_PREFIX),
            _ => None,
        })
        .collect();
    match named[..] {
        [] => Err(TlsError::NoKommun),
        [one] => one.parse().map_err(|_| TlsError::NoKommun),
        _ => Err(TlsError::SeveralKommuner { count: named.len() }),
    }
}

/// What a failed QUIC connection means for delivery: whose certificate was refused and
/// why (by the TLS alert), whether the hub closed it on purpose, or whether it simply
/// broke. `stage` and `idle_timeout` describe a timeout.
pub fn connection_failure(
    error: &quinn_proto::ConnectionError,
    stage: Stage,
    idle_timeout: std::time::Duration,
) -> Failure {
    use quinn_proto::ConnectionError as E;
    let text = |bytes: &[u8]| crate::text::shown(&String::from_utf8_lossy(bytes));
    match error {
        // This node refused the hub's certificate (or the hub's protocol).
        E::TransportError(e) => match alert(u64::from(e.code)) {
            Some(code) => {
                let detail = format!("{}: {}", alert_name(code), e.reason);
                match code {
                    ALERT_BAD_CERTIFICATE if e.reason.contains("not valid for name") => {
                        Failure::HubCertificateName {
                            detail: e.reason.clone(),
                        }
                    }
                    // A certificate from another CA with the same name fails on its
                    // signature rather than on its issuer.
                    ALERT_UNKNOWN_CA | ALERT_DECRYPT_ERROR => {
                        Failure::HubCertificateUnknownCa { detail }
                    }
                    ALERT_CERTIFICATE_EXPIRED => Failure::HubCertificateExpired { detail },
                    ALERT_NO_APPLICATION_PROTOCOL => Failure::WrongProtocol { detail },
                    _ => Failure::HubCertificate { detail },
                }
            }
            None => Failure::Lost {
                detail: e.to_string(),
            },
        },
        // The hub's TLS refused this node's certificate (or its protocol).
        E::ConnectionClosed(close) => match alert(u64::from(close.error_code)) {
            Some(ALERT_NO_APPLICATION_PROTOCOL) => Failure::WrongProtocol {
                detail: alert_name(ALERT_NO_APPLICATION_PROTOCOL).to_owned(),
            },
            Some(code) if CERTIFICATE_ALERTS.contains(&code) => Failure::NodeCertificateRefused {
                detail: alert_name(code).to_owned(),
            },
            _ => Failure::Lost {
                detail: format!("the hub aborted the connection: {close}"),
            },
        },
        E::ApplicationClosed(close) => Failure::ClosedByHub {
            code: close.error_code.into_inner(),
            reason: text(&close.reason),
        },
        E::Reset => Failure::Lost {
            detail: "reset by the hub (did it restart?)".to_owned(),
        },
        E::TimedOut => Failure::TimedOut {
            stage,
            waited: idle_timeout,
        },
        E::LocallyClosed => Failure::Lost {
            detail: "closed by this node".to_owned(),
        },
        E::VersionMismatch => Failure::WrongProtocol {
            detail: "no QUIC version in common".to_owned(),
        },
        E::CidsExhausted => Failure::Local {
            detail: error.to_string(),
        },
    }
}

/// What a connection that could not even be started means for delivery.
pub fn connect_failure(error: &quinn_proto::ConnectError) -> Failure {
    use quinn_proto::ConnectError as E;
    match error {
        E::InvalidServerName(name) => Failure::BadServerName { name: name.clone() },
        E::InvalidRemoteAddress(_) => Failure::BadAddress,
        E::UnsupportedVersion => Failure::WrongProtocol {
            detail: error.to_string(),
        },
        E::EndpointStopping | E::CidsExhausted | E::NoDefaultClientConfig => Failure::Local {
            detail: error.to_string(),
        },
    }
}

const ALERT_HANDSHAKE_FAILURE: u8 = 40;
const ALERT_BAD_CERTIFICATE: u8 = 42;
const ALERT_UNSUPPORTED_CERTIFICATE: u8 = 43;
const ALERT_CERTIFICATE_REVOKED: u8 = 44;
const ALERT_CERTIFICATE_EXPIRED: u8 = 45;
const ALERT_CERTIFICATE_UNKNOWN: u8 = 46;
const ALERT_UNKNOWN_CA: u8 = 48;
const ALERT_ACCESS_DENIED: u8 = 49;
const ALERT_DECRYPT_ERROR: u8 = 51;
const ALERT_CERTIFICATE_REQUIRED: u8 = 116;
const ALERT_NO_APPLICATION_PROTOCOL: u8 = 120;

/// The alerts a TLS peer sends when it refuses a certificate.
const CERTIFICATE_ALERTS: [u8; 9] = [
    ALERT_HANDSHAKE_FAILURE,
    ALERT_BAD_CERTIFICATE,
    ALERT_UNSUPPORTED_CERTIFICATE,
    ALERT_CERTIFICATE_REVOKED,
    ALERT_CERTIFICATE_EXPIRED,
    ALERT_CERTIFICATE_UNKNOWN,
    ALERT_UNKNOWN_CA,
    ALERT_ACCESS_DENIED,
    ALERT_CERTIFICATE_REQUIRED,
];

/// The TLS alert a QUIC crypto error code carries (RFC 9001 §4.8), if it is one.
fn alert(code: u64) -> Option<u8> {
    (0x100..0x200)
        .contains(&code)
        .then_some((code & 0xff) as u8)
}

/// A TLS alert's name (RFC 8446 §6).
fn alert_name(code: u8) -> &'static str {
    match code {
        ALERT_HANDSHAKE_FAILURE => "TLS alert handshake_failure",
        ALERT_BAD_CERTIFICATE => "TLS alert bad_certificate",
        ALERT_UNSUPPORTED_CERTIFICATE => "TLS alert unsupported_certificate",
        ALERT_CERTIFICATE_REVOKED => "TLS alert certificate_revoked",
        ALERT_CERTIFICATE_EXPIRED => "TLS alert certificate_expired (expired or not yet valid)",
        ALERT_CERTIFICATE_UNKNOWN => "TLS alert certificate_unknown",
        ALERT_UNKNOWN_CA => "TLS alert unknown_ca (not issued by a trusted CA)",
        ALERT_ACCESS_DENIED => "TLS alert access_denied",
        ALERT_DECRYPT_ERROR => "TLS alert decrypt_error (a signature does not verify)",
        ALERT_CERTIFICATE_REQUIRED => "TLS alert certificate_required (no certificate was shown)",
        ALERT_NO_APPLICATION_PROTOCOL => "TLS alert no_application_protocol (not samla/1)",
        _ => "TLS alert",
    }
}

/// Accepts a client certificate chained to the region CA, or one pinned by
/// fingerprint that is within its validity period.
#[derive(Debug)]
struct RegionOrPinned {
    region: Arc<dyn ClientCertVerifier>,
    pinned: Vec<PinnedCertificate>,
}

impl ClientCertVerifier for RegionOrPinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.region.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let sha256 = fingerprint(end_entity);
        if self.pinned.iter().any(|p| p.sha256 == sha256) {
            let (_, cert) =
                x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
                })?;
            let seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            let at = x509_parser::time::ASN1Time::from_timestamp(seconds).map_err(|_| {
                rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)
            })?;
            return if cert.validity().is_valid_at(at) {
                Ok(ClientCertVerified::assertion())
            } else {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Expired,
                ))
            };
        }
        self.region
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.region.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.region.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.region.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quinn_proto::{ConnectionError, TransportError, TransportErrorCode, VarInt};
    use std::time::Duration;

    fn local(alert: u8, reason: &str) -> Failure {
        let error = ConnectionError::TransportError(TransportError {
            code: TransportErrorCode::crypto(alert),
            frame: None,
            reason: reason.to_owned(),
        });
        connection_failure(&error, Stage::Connect, Duration::from_secs(10))
    }

    fn remote(code: TransportErrorCode) -> Failure {
        let error = ConnectionError::ConnectionClosed(quinn_proto::ConnectionClose {
            error_code: code,
            frame_type: None,
            reason: bytes::Bytes::new(),
        });
        connection_failure(&error, Stage::Connect, Duration::from_secs(10))
    }

    #[test]
    fn a_refused_hub_certificate_says_why_and_is_not_retried() {
        let name = local(
            42,
            "invalid peer certificate: certificate not valid for name \"wrong\"; certificate is only valid for DnsName(\"localhost\")",
        );
        assert!(
            matches!(&name, Failure::HubCertificateName { detail } if detail.contains("only valid for"))
        );
        assert!(matches!(
            local(48, "invalid peer certificate: UnknownIssuer"),
            Failure::HubCertificateUnknownCa { .. }
        ));
        assert!(matches!(
            local(45, "expired"),
            Failure::HubCertificateExpired { .. }
        ));
        assert!(matches!(
            local(42, "bad encoding"),
            Failure::HubCertificate { .. }
        ));
        assert!(matches!(
            local(120, "no alpn"),
            Failure::WrongProtocol { .. }
        ));
        for failure in [
            name,
            local(48, ""),
            local(45, ""),
            local(42, ""),
            local(120, ""),
        ] {
            assert!(!failure.is_temporary(), "{failure:?}");
        }
    }

    #[test]
    fn the_hub_refusing_this_nodes_certificate_is_told_apart_from_a_broken_connection() {
        for alert in [42, 45, 48, 116] {
            let failure = remote(TransportErrorCode::crypto(alert));
            assert!(
                matches!(failure, Failure::NodeCertificateRefused { .. }),
                "{alert}: {failure:?}"
            );
            assert!(!failure.is_temporary());
        }
        let refused = remote(TransportErrorCode::CONNECTION_REFUSED);
        assert!(matches!(refused, Failure::Lost { .. }) && refused.is_temporary());
        let timed_out = connection_failure(
            &ConnectionError::TimedOut,
            Stage::Request,
            Duration::from_secs(10),
        );
        assert_eq!(
            timed_out,
            Failure::TimedOut {
                stage: Stage::Request,
                waited: Duration::from_secs(10)
            }
        );
        assert!(
            connection_failure(&ConnectionError::Reset, Stage::Request, Duration::ZERO)
                .is_temporary()
        );
    }

    #[test]
    fn a_deliberate_close_by_the_hub_keeps_its_code_and_reason() {
        let close = |code: u32, reason: &'static [u8]| {
            let error = ConnectionError::ApplicationClosed(quinn_proto::ApplicationClose {
                error_code: VarInt::from_u32(code),
                reason: bytes::Bytes::from_static(reason),
            });
            connection_failure(&error, Stage::Request, Duration::ZERO)
        };
        let revoked = close(2, b"certificate revoked");
        assert_eq!(
            revoked,
            Failure::ClosedByHub {
                code: 2,
                reason: "certificate revoked".to_owned()
            }
        );
        assert!(!revoked.is_temporary());
        assert!(close(3, b"too many connections").is_temporary());
        assert!(close(0, b"hub shutting down").is_temporary());
    }

    #[test]
    fn connections_that_cannot_start_are_configuration_errors() {
        let name = connect_failure(&quinn_proto::ConnectError::InvalidServerName(
            "a b".to_owned(),
        ));
        assert_eq!(
            name,
            Failure::BadServerName {
                name: "a b".to_owned()
            }
        );
        assert!(!name.is_temporary());
        let port0 = connect_failure(&quinn_proto::ConnectError::InvalidRemoteAddress(
            "127.0.0.1:0".parse().unwrap(),
        ));
        assert_eq!(port0, Failure::BadAddress);
    }
}
