//! `samla-hub demo --custodians N`: the demo region's key custodians (DESIGN.md §4a,
//! docs/custodian.md), run in this process through the `samla-custodian` library.
//!
//! The key ceremony deals a fresh key t of n (t is a majority of n), each custodian
//! gets what `samla-custodian init` writes (TLS key and certificate request, log key,
//! config) with a certificate from the demo CA, the setup coordinator gets its
//! certificate and config, and the custodians serve on loopback. The demo's linkage
//! domain is set up through the coordinator messages, exactly as `samla-custodian
//! setup-domain` does. At the end each custodian is stopped and its log verified and
//! exported. Every directory works with the real `samla-custodian` commands.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use samla_cli_common::files;
use samla_common::oprf::ceremony::{self, PublicKeySet, SlotNumber};
use samla_common::oprf::shamir::{Threshold, MAX_CUSTODIANS};
use samla_common::pseudonym::LinkageDomain;
use samla_custodian::client::Client;
use samla_custodian::config::CustodianConfig;
use samla_custodian::files::{read_key_set, read_log_key, read_share};
use samla_custodian::setup::{setup_domain, CoordinatorConfig};
use samla_hub::ca::{self, Validity};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Slots the ceremony deals: one per linkage domain the key will serve.
const SLOTS: u16 = 8;
/// The fewest custodians the demo runs.
pub(super) const MIN_CUSTODIANS: u8 = 2;

/// t for n custodians: a majority, so 3 gives 2 of 3, 5 gives 3 of 5.
pub(super) fn threshold_for(n: u8) -> Result<Threshold> {
    if !(MIN_CUSTODIANS..=MAX_CUSTODIANS).contains(&n) {
        bail!(
            "--custodians {n}: give {MIN_CUSTODIANS} to {MAX_CUSTODIANS} (3 runs the region with 2 of 3 custodians)"
        );
    }
    Ok(Threshold::new(n / 2 + 1, n)?)
}

/// The custodians' files, written; nothing runs yet.
pub(super) struct Prepared {
    root: PathBuf,
    public: PublicKeySet,
    ports: Vec<u16>,
}

/// Runs the ceremony and writes every custodian's and the coordinator's directory
/// under `root` (`custodians/` of the demo).
pub(super) fn prepare(
    root: &Path,
    ca_dir: &Path,
    validity: Validity,
    threshold: Threshold,
) -> Result<Prepared> {
    files::create_dir(root)?;
    let dealt = ceremony::run(threshold, SLOTS, &mut rand::rng())?;
    let key_set = root.join("keyset.bin");
    files::write_public(&key_set, &samla_common::codec::encode(&dealt.public)?)?;
    for secret in &dealt.secrets {
        let dir = root.join(format!("custodian-{}", secret.custodian()));
        files::create_dir(&dir)?;
        files::write_private(&dir.join("share.key"), &secret.to_bytes())?;
    }
    drop(dealt);
    let public = read_key_set(&key_set)?;

    let coordinator = ca::issue_coordinator(ca_dir, &root.join("coordinator"), validity)?;
    let pem = std::fs::read(&coordinator.certificate)?;
    let certificate = samla_common::tls::certificates_from_pem(&pem)?
        .into_iter()
        .next()
        .context("the coordinator certificate just issued")?;
    let fingerprint = hex::encode(samla_common::tls::fingerprint(&certificate));
    let mut coordinator_config = String::from(
        "# The setup coordinator of the demo region (written by `samla-hub demo --custodians`).\n\
         region_ca = \"../../ca/ca.crt\"\n\
         certificate = \"coordinator.crt\"\n\
         private_key = \"coordinator.key\"\n\
         key_set = \"../keyset.bin\"\n",
    );

    let mut ports = Vec::new();
    for number in 1..=threshold.custodians() {
        let dir = root.join(format!("custodian-{number}"));
        let port = super::free_udp_port()?;
        ports.push(port);
        init(&dir, number, port, &fingerprint)?;
        ca::issue_custodian(
            ca_dir,
            &dir.join("custodian.csr"),
            &["localhost".to_owned()],
            &dir,
            validity,
        )?;
        std::fs::copy(ca_dir.join("ca.crt"), dir.join("ca.crt"))?;
        std::fs::copy(&key_set, dir.join("keyset.bin"))?;
        read_share(&dir.join("share.key"))?
            .check(&public)
            .with_context(|| format!("checking {}", dir.join("share.key").display()))?;
        coordinator_config.push_str(&format!(
            "\n[[custodian]]\nnumber = {number}\naddress = \"127.0.0.1:{port}\"\nserver_name = \"localhost\"\n"
        ));
    }
    files::write_public(
        &root.join("coordinator/coordinator.toml"),
        coordinator_config.as_bytes(),
    )?;
    Ok(Prepared {
        root: root.to_owned(),
        public,
        ports,
    })
}

/// What `samla-custodian init` writes (log key, TLS key and request, config), with the
/// coordinator pinned.
fn init(dir: &Path, number: u8, port: u16, coordinator: &str) -> Result<()> {
    let written =
        samla_custodian::init::write(dir, number, "localhost", &format!("127.0.0.1:{port}"))?;
    let config = std::fs::read_to_string(&written.config)?.replace(
        "coordinators = []",
        &format!("coordinators = [\"{coordinator}\"]"),
    );
    std::fs::write(&written.config, config)?;
    Ok(())
}

impl Prepared {
    /// The key id the ceremony made (what node configs and reports name).
    pub(super) fn key_id(&self) -> String {
        self.public.key_id().to_string()
    }

    /// The `[custodian]` section of a node config in `nodes/NNNN-name/`.
    pub(super) fn node_section(&self) -> String {
        let mut section = format!(
            "\n# Pseudonyms from {t} of the region's {n} key custodians (no key file).\n\
             [custodian]\n\
             key_set = \"../../custodians/keyset.bin\"\n\
             key_id = \"{key_id}\"\n\
             threshold = {t}\n",
            t = self.public.threshold().required(),
            n = self.public.threshold().custodians(),
            key_id = self.key_id(),
        );
        for (i, port) in self.ports.iter().enumerate() {
            section.push_str(&format!(
                "\n[[custodian.server]]\nnumber = {}\naddress = \"127.0.0.1:{port}\"\nserver_name = \"localhost\"\n",
                i + 1
            ));
        }
        section
    }

    fn config(&self, number: usize) -> Result<CustodianConfig> {
        Ok(CustodianConfig::load(
            &self.root.join(format!("custodian-{number}/custodian.toml")),
        )?)
    }

    /// Starts every custodian on `runtime` and sets `domain` up on slot 0 through the
    /// coordinator messages; every custodian must store it.
    pub(super) fn start(self, runtime: &Runtime, domain: &LinkageDomain) -> Result<Serving> {
        let mut running = Vec::new();
        for number in 1..=self.ports.len() {
            let config = self.config(number)?;
            let server = runtime.block_on(async { samla_custodian::server::open(config, None) })?;
            let (stop, stopped) = oneshot::channel::<()>();
            let task = runtime.spawn(server.serve(async {
                let _ = stopped.await;
            }));
            running.push((stop, task));
        }
        let coordinator = CoordinatorConfig::load(&self.root.join("coordinator/coordinator.toml"))?;
        let outcome = runtime.block_on(async {
            let ca =
                samla_common::tls::certificates_from_pem(&std::fs::read(&coordinator.region_ca)?)?;
            let chain = samla_common::tls::certificates_from_pem(&std::fs::read(
                &coordinator.certificate,
            )?)?;
            let key = zeroize::Zeroizing::new(std::fs::read(&coordinator.private_key)?);
            let key = samla_common::tls::private_key_from_pem(&key)?;
            let client = Client::new(&ca, chain, key)?;
            let outcome = setup_domain(
                &client,
                &self.public,
                &coordinator.custodians,
                domain,
                SlotNumber(0),
            )
            .await?;
            client.close().await;
            anyhow::Ok(outcome)
        })?;
        if let Some((number, why)) = outcome.not_stored.first() {
            bail!("custodian {number} did not store the linkage domain {domain}: {why}");
        }
        Ok(Serving {
            prepared: self,
            running,
        })
    }
}

/// The custodians, serving.
pub(super) struct Serving {
    prepared: Prepared,
    running: Vec<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Serving {
    /// Stops every custodian (requests in flight finish), then verifies each one's
    /// log from its database and exports it to `audit/custodian-N/`. Says what it
    /// verified.
    pub(super) fn stop_and_verify(self, runtime: &Runtime, audit: &Path) -> Result<String> {
        for (stop, task) in self.running {
            let _ = stop.send(());
            runtime.block_on(task)?;
        }
        let (mut entries, mut checkpoints) = (0, 0);
        let n = self.prepared.ports.len();
        for number in 1..=n {
            let config = self.prepared.config(number)?;
            let store = samla_custodian::store::Store::open(&config.database)?;
            let key = read_log_key(&config.log_key)?.verifying_key();
            let bundle = samla_custodian::audit::bundle(
                &store,
                &config.log_origin,
                read_share(&config.share)?.custodian().number(),
                self.prepared.key_id(),
                key,
            )?;
            match samla_custodian::audit::verify_store(&store, &bundle)? {
                Ok(summary) => {
                    entries += summary.entries;
                    checkpoints += summary.checkpoints;
                }
                Err(findings) => {
                    let findings: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
                    bail!(
                        "the log of custodian {number} does not verify: {}",
                        findings.join("; ")
                    )
                }
            }
            samla_custodian::audit::export(&bundle, &audit.join(format!("custodian-{number}")))?;
        }
        Ok(format!(
            "all {n} custodian logs verify ({entries} entries, {checkpoints} signed checkpoints); the custodians are stopped"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_a_majority_and_counts_outside_2_to_16_are_refused() {
        for (n, t) in [(2, 2), (3, 2), (4, 3), (5, 3), (16, 9)] {
            let threshold = threshold_for(n).unwrap();
            assert_eq!((threshold.required(), threshold.custodians()), (t, n));
        }
        for n in [0, 1, 17] {
            let e = threshold_for(n).unwrap_err().to_string();
            assert!(
                e.contains(&format!("--custodians {n}: give 2 to 16")),
                "{e}"
            );
        }
    }
}
