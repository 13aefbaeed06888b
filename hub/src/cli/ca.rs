//! `samla-hub ca`: the region's certificate authority. Arguments become a [`CaJob`]
//! (validity dates worked out, certificate files read) before anything is written.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use rustls::pki_types::CertificateDer;
use samla_common::codes::KommunCode;
use samla_hub::ca::{self, Validity};
use samla_hub::files;

use super::args::{CaCommand, ValidityArgs};

/// A checked `samla-hub ca` command.
pub(super) enum CaJob {
    Init {
        dir: PathBuf,
        name: String,
        validity: Validity,
    },
    IssueNode {
        ca_dir: PathBuf,
        kommun: KommunCode,
        out_dir: PathBuf,
        validity: Validity,
    },
    IssueHub {
        ca_dir: PathBuf,
        names: Vec<String>,
        organisation: Option<String>,
        out_dir: PathBuf,
        validity: Validity,
    },
    Fingerprint(CertificateDer<'static>),
    RevokeLine(CertificateDer<'static>),
}

impl CaJob {
    /// Checks the arguments: the validity period, and a certificate that is read.
    pub(super) fn prepare(command: CaCommand, now: time::OffsetDateTime) -> Result<CaJob> {
        Ok(match command {
            CaCommand::Init {
                dir,
                name,
                validity,
            } => CaJob::Init {
                dir,
                name,
                validity: validity.validity(now),
            },
            CaCommand::IssueNode {
                ca_dir,
                kommun,
                out_dir,
                validity,
            } => CaJob::IssueNode {
                ca_dir,
                kommun,
                out_dir,
                validity: validity.validity(now),
            },
            CaCommand::IssueHub {
                ca_dir,
                names,
                organisation,
                out_dir,
                validity,
            } => CaJob::IssueHub {
                ca_dir,
                names,
                organisation,
                out_dir,
                validity: validity.validity(now),
            },
            CaCommand::Fingerprint { file } => CaJob::Fingerprint(first_certificate(&file)?),
            CaCommand::RevokeLine { file } => CaJob::RevokeLine(first_certificate(&file)?),
        })
    }

    /// Makes the CA, issues the certificate, or prints what was asked.
    pub(super) fn run(self) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match self {
            CaJob::Init {
                dir,
                name,
                validity,
            } => {
                let w = ca::init(&dir, &name, validity)?;
                writeln!(
                    out,
                    "wrote {} and {} (keep the key offline)",
                    w.certificate.display(),
                    w.private_key.display()
                )?;
            }
            CaJob::IssueNode {
                ca_dir,
                kommun,
                out_dir,
                validity,
            } => {
                let w = ca::issue_node(&ca_dir, kommun, &out_dir, validity)?;
                writeln!(
                    out,
                    "wrote {} and {} for kommun {kommun}",
                    w.certificate.display(),
                    w.private_key.display()
                )?;
                writeln!(
                    out,
                    "Give both to the kommun's node, with {}.",
                    ca_dir.join(ca::CA_CERT).display()
                )?;
            }
            CaJob::IssueHub {
                ca_dir,
                names,
                organisation,
                out_dir,
                validity,
            } => {
                let w = ca::issue_hub_for(
                    &ca_dir,
                    &names,
                    organisation.as_deref(),
                    &out_dir,
                    validity,
                )?;
                writeln!(
                    out,
                    "wrote {} and {}",
                    w.certificate.display(),
                    w.private_key.display()
                )?;
            }
            CaJob::Fingerprint(certificate) => {
                writeln!(
                    out,
                    "{}",
                    hex::encode(samla_common::tls::fingerprint(&certificate))
                )?;
            }
            CaJob::RevokeLine(certificate) => {
                let fingerprint = hex::encode(samla_common::tls::fingerprint(&certificate));
                let serial = samla_common::tls::serial(&certificate)
                    .map(hex::encode)
                    .context("the certificate has no readable serial number")?;
                writeln!(out, "sha256:{fingerprint}")?;
                writeln!(out, "serial:{serial}")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The first certificate of a PEM file (the file holds at least one, or it is refused).
fn first_certificate(file: &std::path::Path) -> Result<CertificateDer<'static>> {
    files::certificates(file)?
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no certificate", file.display()))
}

impl ValidityArgs {
    /// The validity period: the dates given, or `--days` from now.
    fn validity(&self, now: time::OffsetDateTime) -> Validity {
        match (self.not_before, self.not_after) {
            (Some(from), Some(to)) => Validity {
                not_before: from.midnight().assume_utc(),
                not_after: to.midnight().assume_utc(),
            },
            _ => Validity::days_from(now, self.days),
        }
    }
}
