//! The region's certificate authority: one self-signed CA that issues the hub's
//! server certificate and each node's client certificate. A node certificate names its
//! kommun as the URI SAN `urn:samla:kommun:NNNN`; that is how the hub knows who is
//! calling. Private keys are ECDSA P-256 and are written with mode 0600.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use samla_common::codes::KommunCode;
use samla_common::tls::KOMMUN_URI_PREFIX;
use time::OffsetDateTime;

use samla_cli_common::files::{self, FileError, MAX_KEY_BYTES};

/// File names inside a CA directory.
pub const CA_CERT: &str = "ca.crt";
/// The CA's private key.
pub const CA_KEY: &str = "ca.key";

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Reading or writing a file failed, or the CA key is readable by others.
    #[error(transparent)]
    File(#[from] FileError),
    /// The CA's key or certificate is not a PEM file rcgen can use.
    #[error("{path} is not a usable CA file")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: rcgen::Error,
    },
    /// A file is not PEM text.
    #[error("{path} is not a PEM file")]
    NotPem {
        /// The file.
        path: PathBuf,
    },
    /// Certificate generation failed.
    #[error("generating the certificate")]
    Generate(#[from] rcgen::Error),
    /// An argument is not usable.
    #[error("{0}")]
    Argument(String),
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// From.
    pub not_before: OffsetDateTime,
    /// Until.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From `now` for `days` days.
    pub fn days_from(now: OffsetDateTime, days: i64) -> Validity {
        Validity {
            not_before: now - time::Duration::minutes(5),
            not_after: now + time::Duration::days(days),
        }
    }
}

/// Files written by one command.
#[derive(Debug)]
pub struct Written {
    /// The certificate.
    pub certificate: PathBuf,
    /// Its private key.
    pub private_key: PathBuf,
}

/// Creates a new region CA in `dir` (`ca.crt`, `ca.key`).
pub fn init(dir: &Path, name: &str, validity: Validity) -> Result<Written, CaError> {
    files::create_dir(dir)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "samla");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let written = Written {
        certificate: dir.join(CA_CERT),
        private_key: dir.join(CA_KEY),
    };
    files::write_private(&written.private_key, key.serialize_pem().as_bytes())?;
    files::write_public(&written.certificate, cert.pem().as_bytes())?;
    Ok(written)
}

fn load_issuer(ca_dir: &Path) -> Result<Issuer<'static, KeyPair>, CaError> {
    let key_path = ca_dir.join(CA_KEY);
    let key_pem = files::read_private(&key_path, MAX_KEY_BYTES, "CA key")?;
    let key_text = std::str::from_utf8(&key_pem).map_err(|_| CaError::NotPem {
        path: key_path.clone(),
    })?;
    let key = KeyPair::from_pem(key_text).map_err(|source| CaError::CaFile {
        path: key_path,
        source,
    })?;
    let cert_path = ca_dir.join(CA_CERT);
    let cert_pem = files::read_small(&cert_path, MAX_KEY_BYTES, "CA certificate")?;
    let cert_text = String::from_utf8(cert_pem).map_err(|_| CaError::NotPem {
        path: cert_path.clone(),
    })?;
    Issuer::from_ca_cert_pem(&cert_text, key).map_err(|source| CaError::CaFile {
        path: cert_path,
        source,
    })
}

fn issue(
    ca_dir: &Path,
    mut params: CertificateParams,
    validity: Validity,
    out: &Written,
) -> Result<(), CaError> {
    let issuer = load_issuer(ca_dir)?;
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    files::write_private(&out.private_key, key.serialize_pem().as_bytes())?;
    files::write_public(&out.certificate, cert.pem().as_bytes())?;
    Ok(())
}

/// Issues a node's client certificate for a kommun (`node-NNNN.crt`, `node-NNNN.key`
/// in `out_dir`).
pub fn issue_node(
    ca_dir: &Path,
    kommun: KommunCode,
    out_dir: &Path,
    validity: Validity,
) -> Result<Written, CaError> {
    files::create_dir(out_dir)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("samla-node {kommun}"));
    let uri = format!("{KOMMUN_URI_PREFIX}{kommun}");
    params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let out = Written {
        certificate: out_dir.join(format!("node-{kommun}.crt")),
        private_key: out_dir.join(format!("node-{kommun}.key")),
    };
    issue(ca_dir, params, validity, &out)?;
    Ok(out)
}

/// Issues the hub's server certificate for a host name or IP address (`hub.crt`,
/// `hub.key` in `out_dir`).
pub fn issue_hub(
    ca_dir: &Path,
    names: &[String],
    out_dir: &Path,
    validity: Validity,
) -> Result<Written, CaError> {
    issue_hub_for(ca_dir, names, None, out_dir, validity)
}

/// Issues the hub's server certificate like [`issue_hub`], naming the organisation
/// that runs the hub (e.g. `Region Kronoberg`) in its subject: nodes log that name
/// with every submission they send, for the privacy officer.
pub fn issue_hub_for(
    ca_dir: &Path,
    names: &[String],
    organisation: Option<&str>,
    out_dir: &Path,
    validity: Validity,
) -> Result<Written, CaError> {
    if names.is_empty() {
        return Err(CaError::Argument("give at least one --name".to_owned()));
    }
    files::create_dir(out_dir)?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("samla-hub {}", names[0]));
    if let Some(organisation) = organisation {
        params
            .distinguished_name
            .push(DnType::OrganizationName, organisation);
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let out = Written {
        certificate: out_dir.join("hub.crt"),
        private_key: out_dir.join("hub.key"),
    };
    issue(ca_dir, params, validity, &out)?;
    Ok(out)
}

/// The URI SAN of a setup coordinator's certificate (custodians pin it by fingerprint).
pub const COORDINATOR_URI: &str = "urn:samla:custodian-coordinator";

/// Issues a key custodian's server certificate from its certificate request
/// (`custodian.csr` from `samla-custodian init`; the custodian's key never leaves its
/// machine): the request's public key, with the names, usage and validity the CA
/// gives, whatever the request asked for (`custodian.crt` in `out_dir`).
pub fn issue_custodian(
    ca_dir: &Path,
    csr: &Path,
    names: &[String],
    out_dir: &Path,
    validity: Validity,
) -> Result<PathBuf, CaError> {
    if names.is_empty() {
        return Err(CaError::Argument("give at least one --name".to_owned()));
    }
    let pem = files::read_small(csr, MAX_KEY_BYTES, "certificate request")?;
    let text = std::str::from_utf8(&pem).map_err(|_| CaError::NotPem {
        path: csr.to_owned(),
    })?;
    let mut request = rcgen::CertificateSigningRequestParams::from_pem(text).map_err(|source| {
        CaError::CaFile {
            path: csr.to_owned(),
            source,
        }
    })?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("samla-custodian {}", names[0]));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    request.params = params;
    let issuer = load_issuer(ca_dir)?;
    let cert = request.signed_by(&issuer)?;
    files::create_dir(out_dir)?;
    let path = out_dir.join("custodian.crt");
    files::write_public(&path, cert.pem().as_bytes())?;
    Ok(path)
}

/// Issues the region's setup coordinator a client certificate (`coordinator.crt`,
/// `coordinator.key` in `out_dir`); each custodian pins its fingerprint.
pub fn issue_coordinator(
    ca_dir: &Path,
    out_dir: &Path,
    validity: Validity,
) -> Result<Written, CaError> {
    files::create_dir(out_dir)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "samla custodian setup coordinator");
    params.subject_alt_names = vec![SanType::URI(COORDINATOR_URI.try_into()?)];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let out = Written {
        certificate: out_dir.join("coordinator.crt"),
        private_key: out_dir.join("coordinator.key"),
    };
    issue(ca_dir, params, validity, &out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate from the region CA with these URI SANs; its DER.
    fn certificate(
        ca: &Path,
        out: &Path,
        uris: &[&str],
    ) -> rustls::pki_types::CertificateDer<'static> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = uris
            .iter()
            .map(|u| SanType::URI((*u).to_owned().try_into().unwrap()))
            .collect();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        std::fs::create_dir_all(out).unwrap();
        let written = Written {
            certificate: out.join("node.crt"),
            private_key: out.join("node.key"),
        };
        let validity = Validity::days_from(OffsetDateTime::now_utc(), 1);
        issue(ca, params, validity, &written).unwrap();
        let pem = std::fs::read(&written.certificate).unwrap();
        samla_common::tls::certificates_from_pem(&pem)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn a_certificate_naming_two_kommuner_stands_for_none() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca");
        init(
            &ca,
            "test CA",
            Validity::days_from(OffsetDateTime::now_utc(), 1),
        )
        .unwrap();
        let one = certificate(&ca, &dir.path().join("one"), &["urn:samla:kommun:2180"]);
        assert_eq!(
            samla_common::tls::peer_kommun(&one, &[]),
            Ok("2180".parse().unwrap())
        );
        let two = certificate(
            &ca,
            &dir.path().join("two"),
            &["urn:samla:kommun:2180", "urn:samla:kommun:2181"],
        );
        assert_eq!(
            samla_common::tls::peer_kommun(&two, &[]),
            Err(samla_common::tls::TlsError::SeveralKommuner { count: 2 })
        );
        // The same kommun twice, or a malformed one beside a real one, is refused too:
        // the certificate does not name exactly one kommun.
        let twice = certificate(
            &ca,
            &dir.path().join("twice"),
            &["urn:samla:kommun:2180", "urn:samla:kommun:21x0"],
        );
        assert!(samla_common::tls::peer_kommun(&twice, &[]).is_err());
    }
}
