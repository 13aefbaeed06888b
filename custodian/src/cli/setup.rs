//! `samla-custodian setup-domain`: the setup coordinator sets a linkage domain up at
//! the custodians and says which stored it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_common::oprf::ceremony::{PublicKeySet, SlotNumber};
use samla_common::pseudonym::LinkageDomain;
use samla_custodian::client::Client;
use samla_custodian::files::read_key_set;
use samla_custodian::setup::{setup_domain, CoordinatorConfig};

use super::args::SetupArgs;

/// A checked `setup-domain`.
pub(super) struct Setup {
    config: CoordinatorConfig,
    public: PublicKeySet,
    domain: LinkageDomain,
    slot: SlotNumber,
}

impl Setup {
    pub(super) fn prepare(args: SetupArgs) -> Result<Setup> {
        let config = CoordinatorConfig::load(&args.coordinator)?;
        let public = read_key_set(&config.key_set)
            .with_context(|| format!("key set {}", config.key_set.display()))?;
        if usize::from(args.slot) >= public.slot_count() {
            anyhow::bail!(
                "--slot {}: the key set has slots 0 to {}",
                args.slot,
                public.slot_count().saturating_sub(1)
            );
        }
        Ok(Setup {
            config,
            public,
            domain: args.domain,
            slot: SlotNumber(args.slot),
        })
    }

    pub(super) fn run(self) -> Result<ExitCode> {
        let runtime = super::runtime()?;
        let outcome = runtime.block_on(async {
            let region_ca = pem_certificates(&self.config.region_ca)?;
            let chain = pem_certificates(&self.config.certificate)?;
            let key = samla_cli_common::files::read_private(
                &self.config.private_key,
                samla_cli_common::files::MAX_KEY_BYTES,
                "private key",
            )?;
            let key = samla_common::tls::private_key_from_pem(&key)
                .with_context(|| self.config.private_key.display().to_string())?;
            let client = Client::new(&region_ca, chain, key)?;
            let outcome = setup_domain(
                &client,
                &self.public,
                &self.config.custodians,
                &self.domain,
                self.slot,
            )
            .await?;
            client.close().await;
            anyhow::Ok(outcome)
        })?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "linkage domain {} set up on slot {} (key {})",
            self.domain,
            self.slot.0,
            self.public.key_id()
        )?;
        for c in &outcome.stored {
            writeln!(out, "custodian {c}: stored")?;
        }
        for (c, why) in &outcome.not_stored {
            writeln!(
                out,
                "custodian {c}: NOT stored ({why}); run this command again when it is up"
            )?;
        }
        Ok(if outcome.not_stored.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

fn pem_certificates(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let bytes = samla_cli_common::files::read_small(
        path,
        samla_cli_common::files::MAX_KEY_BYTES,
        "certificate",
    )?;
    samla_common::tls::certificates_from_pem(&bytes).with_context(|| path.display().to_string())
}
