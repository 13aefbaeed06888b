//! `samla-custodian ceremony`: the key ceremony (docs/custodian.md, "The key
//! ceremony"), run once per key on an offline machine: a fresh key shared t of n, the
//! domain slots dealt, `keyset.bin` (public) and one `custodian-N.share` (0600) per
//! custodian. The key itself is never written; every share is read back and checked
//! against the key set before the command reports success.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_cli_common::files;
use samla_common::oprf::ceremony;
use samla_common::oprf::shamir::Threshold;
use samla_custodian::files::{read_key_set, read_share};

use super::args::CeremonyArgs;

/// A checked ceremony.
pub(super) struct CeremonyJob {
    threshold: Threshold,
    slots: u16,
    out: PathBuf,
}

impl CeremonyJob {
    pub(super) fn prepare(args: CeremonyArgs) -> Result<CeremonyJob> {
        let threshold = Threshold::new(args.threshold, args.custodians).with_context(|| {
            format!(
                "--threshold {} --custodians {}",
                args.threshold, args.custodians
            )
        })?;
        if args.slots == 0 || usize::from(args.slots) > ceremony::MAX_SLOTS {
            anyhow::bail!(
                "--slots {}: give 1 to {} (one slot per linkage domain the key will serve)",
                args.slots,
                ceremony::MAX_SLOTS
            );
        }
        files::require_new_or_empty_dir(&args.out)?;
        Ok(CeremonyJob {
            threshold,
            slots: args.slots,
            out: args.out,
        })
    }

    pub(super) fn run(self) -> Result<ExitCode> {
        let dealt = ceremony::run(self.threshold, self.slots, &mut rand::rng())?;
        files::create_dir(&self.out)?;
        let key_set_path = self.out.join("keyset.bin");
        files::write_public(&key_set_path, &samla_common::codec::encode(&dealt.public)?)?;
        let mut shares = Vec::new();
        for secret in &dealt.secrets {
            let path = self
                .out
                .join(format!("custodian-{}.share", secret.custodian()));
            files::write_private(&path, &secret.to_bytes())?;
            shares.push(path);
        }
        drop(dealt);
        // Read everything back as a custodian will, and check it.
        let public = read_key_set(&key_set_path)?;
        for path in &shares {
            read_share(path)?
                .check(&public)
                .with_context(|| format!("checking {}", path.display()))?;
        }
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "key id {}: {} of {} custodians, {} slots",
            public.key_id(),
            self.threshold.required(),
            self.threshold.custodians(),
            self.slots
        )?;
        writeln!(out, "wrote {} (public)", key_set_path.display())?;
        for path in &shares {
            writeln!(
                out,
                "wrote {} (give it to that custodian alone, then delete it here)",
                path.display()
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
