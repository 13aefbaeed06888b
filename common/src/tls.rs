//! TLS for QUIC between node and hub: the one module of `common` that knows about
//! rustls and quinn's config types. No sockets here: it builds configurations and
//! judges certificates, given the time as an argument where it matters.
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
    /// The certificate names no kommun and is not pinned.
    #[error("the client certificate names no kommun (URI SAN {KOMMUN_URI_PREFIX}NNNN) and is not pinned in the hub config")]
    NoKommun,
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
        .map_err(|e| TlsError::Certificate(format!("not a PEM private key: {e}")))
}

/// A certificate's serial number (its raw big-endian bytes), as revoked in configs.
pub fn serial(certificate: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate.as_ref()).ok()?;
    Some(cert.raw_serial().to_vec())
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
    tls.alpn_protocols = vec![ALPN.to_vec()];
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
    let roots = root_store(region_ca)?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(config_error)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
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
    san.value
        .general_names
        .iter()
        .find_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => {
                uri.strip_prefix(KOMMUN_URI_PREFIX)?.parse().ok()
            }
            _ => None,
        })
        .ok_or(TlsError::NoKommun)
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
