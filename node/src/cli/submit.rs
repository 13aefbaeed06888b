//! `samla-node submit`: build, sign and queue a submission for a period, then deliver
//! the outbox.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use samla_common::signing::SigningKey;
use samla_node::keyfile;
use samla_node::outbox::PendingBuild;
use samla_node::output::write_file_summary;

use super::args::SubmitArgs;
use super::check::finish_rejects;
use super::preview::{select, Build};
use super::send::Send;

/// A checked `samla-node submit`: what to build, the signing key, and how to deliver.
pub(super) struct Submit {
    build: Build,
    signing: SigningKey,
    accept_rejects: bool,
    send: Send,
}

impl Submit {
    /// Reads the config (it must have a `[hub]` section), resolves the projects and
    /// period, and loads the signing key and the master key.
    pub(super) fn prepare(
        config_path: &Path,
        reference: time::Date,
        args: SubmitArgs,
    ) -> Result<Submit> {
        let config = super::load_config(config_path)?;
        let link = super::hub_link(&config)?;
        let (projects, period) = select(&config, &args.build.projects, &args.build.period)?;
        let signing = keyfile::load_signing_key(&link.signing_key)?;
        let pseudonymiser = samla_node::pseudonyms::Pseudonymiser::load(&config)?;
        let send = Send::new(&config, link, &args.send);
        Ok(Submit {
            build: Build {
                config,
                pseudonymiser,
                files: args.build.files,
                projects,
                period,
                rejects: args.build.rejects,
                reference,
            },
            signing,
            accept_rejects: args.accept_rejects,
            send,
        })
    }

    /// Builds the statistics; unless rows were rejected or a header is misnamed (and
    /// that is not accepted), signs
    /// and queues one submission per linkage domain and delivers the outbox.
    pub(super) fn run(self) -> Result<ExitCode> {
        let (_, rejects, built) = self.build.build();
        let built = built?;
        let mut err = std::io::stderr().lock();
        for summary in &built.files {
            write_file_summary(&mut err, summary)?;
        }
        let warned = built.header_warnings() > 0;
        if (finish_rejects(&rejects, &built.files, &mut err)? || warned) && !self.accept_rejects {
            writeln!(err, "\nNothing was submitted: fix the rejected rows and misnamed headers, or pass --accept-rejects to leave them out.")?;
            return Ok(ExitCode::from(1));
        }
        drop(err);
        let mut outbox = self.send.open_outbox()?;
        outbox.record_custodian_batches(&built.custodian_batches)?;
        let mut out = std::io::stdout().lock();
        for statistics in built.statistics {
            let (period, domain) = (
                statistics.period.to_string(),
                statistics.linkage_domain.to_string(),
            );
            let created_at = now();
            let id = outbox.enqueue_build(
                created_at,
                PendingBuild::signed(statistics, &self.signing, created_at),
            )?;
            writeln!(out, "built submission {id} ({period}, {domain}); it waits in the outbox until the hub's receipt is verified")?;
        }
        drop(out);
        self.send.deliver(&mut outbox)
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
