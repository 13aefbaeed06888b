//! The node config's `[custodian]` section, the alternative to `key_file`:
//!
//! ```toml
//! [custodian]
//! key_set = "keyset.bin"          # the ceremony's public key set
//! key_id = "d0a0e239fc108d56"     # the key the region uses (checked against key_set)
//! threshold = 2                   # t (checked against key_set)
//!
//! [[custodian.server]]
//! number = 1
//! address = "custodian-1.region.example:4500"
//! server_name = "custodian-1.region.example"
//! ```
//!
//! The node shows the custodians the same certificate as the hub (the `[hub]`
//! section's `certificate`, `private_key` and `region_ca`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One custodian, as the node reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodianServer {
    /// Its number in the key set.
    pub number: u8,
    /// `host:port`.
    pub address: String,
    /// The name on its certificate.
    pub server_name: String,
}

/// The checked `[custodian]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodianMode {
    /// The public key set file.
    pub key_set: PathBuf,
    /// The key id the region uses (16 hex digits).
    pub key_id: String,
    /// t.
    pub threshold: u8,
    /// The custodians.
    pub servers: Vec<CustodianServer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCustodianMode {
    key_set: PathBuf,
    key_id: String,
    threshold: u8,
    #[serde(rename = "server")]
    servers: Vec<RawServer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    number: u8,
    address: String,
    server_name: String,
}

impl RawCustodianMode {
    /// Checks the section; the error names the key at fault.
    pub(crate) fn check(self, base: &Path) -> Result<CustodianMode, (String, String)> {
        let key_id_ok =
            self.key_id.len() == 16 && self.key_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !key_id_ok {
            return Err((
                "custodian.key_id".to_owned(),
                format!(
                    "{:?} is not a key id (16 hex digits, printed by `samla-custodian ceremony`)",
                    self.key_id
                ),
            ));
        }
        if self.threshold == 0 || usize::from(self.threshold) > self.servers.len() {
            return Err((
                "custodian.threshold".to_owned(),
                format!(
                    "{} custodians needed but {} listed under [[custodian.server]]",
                    self.threshold,
                    self.servers.len()
                ),
            ));
        }
        let mut numbers: Vec<u8> = self.servers.iter().map(|s| s.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.len() != self.servers.len() || numbers.first() == Some(&0) {
            return Err((
                "custodian.server.number".to_owned(),
                "each custodian needs its own number from 1 (its number in the key set)".to_owned(),
            ));
        }
        Ok(CustodianMode {
            key_set: base.join(self.key_set),
            key_id: self.key_id.to_ascii_lowercase(),
            threshold: self.threshold,
            servers: self
                .servers
                .into_iter()
                .map(|s| CustodianServer {
                    number: s.number,
                    address: s.address,
                    server_name: s.server_name,
                })
                .collect(),
        })
    }
}
