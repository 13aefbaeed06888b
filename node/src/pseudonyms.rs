//! Where a node's pseudonyms come from, as the pipeline uses them: the region's
//! shared master key (shared-key mode, DESIGN.md §4), or t of the region's key
//! custodians (custodian mode, §4a), chosen by the config. [`Pseudonymiser::load`]
//! reads what the mode needs before anything is read from an export.

use samla_common::oprf::output::PseudonymScheme;
use samla_common::pseudonym::{KeyId, MasterSecret};

use crate::config::{NodeConfig, PseudonymMode};
use crate::custodian::{CustodianClient, CustodianError};
use crate::keyfile::{self, KeyError};

/// Why the pseudonym source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymiserError {
    /// The master key file.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The custodians' key set, or the node's certificate files.
    #[error(transparent)]
    Custodian(#[from] CustodianError),
}

/// The pseudonym source of a run. No `Debug`: it may hold the master secret.
pub enum Pseudonymiser {
    /// The master secret (zeroed when dropped).
    SharedKey(MasterSecret),
    /// The custodians.
    Custodians(Box<CustodianClient>),
}

impl Pseudonymiser {
    /// Opens the source the config names.
    pub fn load(config: &NodeConfig) -> Result<Pseudonymiser, PseudonymiserError> {
        match &config.pseudonyms {
            PseudonymMode::SharedKey { key_file } => {
                Ok(Pseudonymiser::SharedKey(keyfile::load(key_file)?))
            }
            PseudonymMode::Custodian(mode) => {
                let link = config.hub.as_ref().ok_or_else(|| {
                    CustodianError::Setup(
                        "custodian mode needs the [hub] section's certificate".to_owned(),
                    )
                })?;
                let read = |what: &'static str, path: &std::path::Path| {
                    samla_cli_common::files::read_small(
                        path,
                        samla_cli_common::files::MAX_KEY_BYTES,
                        what,
                    )
                    .map_err(|e| CustodianError::Setup(samla_cli_common::error::message(&e)))
                };
                fn pem(
                    path: &std::path::Path,
                ) -> impl FnOnce(samla_common::tls::TlsError) -> CustodianError + '_
                {
                    move |e| CustodianError::Setup(format!("{}: {e}", path.display()))
                }
                let ca =
                    samla_common::tls::certificates_from_pem(&read("region CA", &link.region_ca)?)
                        .map_err(pem(&link.region_ca))?;
                let chain = samla_common::tls::certificates_from_pem(&read(
                    "certificate",
                    &link.certificate,
                )?)
                .map_err(pem(&link.certificate))?;
                let key_pem = zeroize::Zeroizing::new(read("private key", &link.private_key)?);
                let key = samla_common::tls::private_key_from_pem(&key_pem)
                    .map_err(pem(&link.private_key))?;
                Ok(Pseudonymiser::Custodians(Box::new(CustodianClient::open(
                    mode, &ca, chain, key,
                )?)))
            }
        }
    }

    /// The key id submissions carry.
    pub fn key_id(&self) -> KeyId {
        match self {
            Pseudonymiser::SharedKey(master) => master.key_id(),
            Pseudonymiser::Custodians(client) => client.key_id(),
        }
    }

    /// The scheme that makes the pseudonyms.
    pub fn scheme(&self) -> PseudonymScheme {
        match self {
            Pseudonymiser::SharedKey(_) => PseudonymScheme::SharedKey,
            Pseudonymiser::Custodians(_) => PseudonymScheme::Custodian,
        }
    }
}
