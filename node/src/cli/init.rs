//! `samla-node init`: this node's signing key and config, and the `[[node]]` block
//! the region adds to its hub config.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use samla_cli_common::files;
use samla_common::signing::SigningKey;

use super::args::InitArgs;

/// A checked `samla-node init`: the config text to write, and where.
pub(super) struct Init {
    dir: PathBuf,
    config_path: PathBuf,
    kommun: samla_common::codes::KommunCode,
    args: InitArgs,
    hub_name: String,
}

impl Init {
    /// Works out the hub's certificate name and refuses to overwrite a config.
    pub(super) fn prepare(args: InitArgs) -> Result<Init> {
        let hub_name = match &args.hub_name {
            Some(name) => name.clone(),
            None => args
                .hub
                .rsplit_once(':')
                .map_or(args.hub.clone(), |(host, _)| {
                    host.trim_matches(['[', ']']).to_owned()
                }),
        };
        let config_path = args.dir.join("samla-node.toml");
        if config_path.exists() {
            bail!(
                "refusing to overwrite existing config {}",
                config_path.display()
            );
        }
        Ok(Init {
            dir: args.dir.clone(),
            config_path,
            kommun: args.kommun,
            hub_name,
            args,
        })
    }

    /// Writes the signing key (0600) and the config, and prints the registration.
    pub(super) fn run(self) -> Result<ExitCode> {
        let Init {
            dir,
            config_path,
            kommun,
            args,
            hub_name,
        } = self;
        files::create_dir(&dir)?;
        let signing_path = dir.join("node-signing.key");
        let document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
        let signing = SigningKey::from_pkcs8(&document)?;
        files::write_private(&signing_path, &document)?;
        let projects: String = args
            .projects
            .iter()
            .map(|(code, domain)| {
                format!("\n[[project]]\ncode = \"{code}\"\nlinkage_domain = \"{domain}\"\n")
            })
            .collect();
        let path = |p: &Path| {
            p.display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        };
        let text = format!(
            "# samla-node config for kommun {kommun}, written by `samla-node init`.\n\
             # Paths are relative to this file.\n\n\
             kommun = \"{kommun}\"\n\
             # The region's pseudonym master key (same file in every kommun; never at the hub).\n\
             key_file = \"{key_file}\"\n\
             # The node's outbox and transfer log.\n\
             database = \"node.db\"\n\
             {projects}\n\
             [hub]\n\
             address = \"{address}\"\n\
             server_name = \"{hub_name}\"\n\
             region_ca = \"{region_ca}\"\n\
             certificate = \"{certificate}\"\n\
             private_key = \"{private_key}\"\n\
             # This node's key for signing submissions; the hub knows its public half.\n\
             signing_key = \"node-signing.key\"\n\
             # The hub's key for receipts (from `samla-hub init`).\n\
             receipt_key = \"{receipt_key}\"\n\
             # The name of the hub's transfer log (the first line of its checkpoints).\n\
             log_origin = \"{log_origin}\"\n",
            key_file = path(&args.key_file),
            address = args.hub,
            region_ca = path(&args.region_ca),
            certificate = path(&args.certificate),
            private_key = path(&args.private_key),
            receipt_key = args.receipt_key,
            log_origin = args.log_origin,
        );
        files::write_public(&config_path, text.as_bytes())?;
        let public = signing.verifying_key();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "wrote {} and {}",
            config_path.display(),
            signing_path.display()
        )?;
        writeln!(
            out,
            "\nRegister this node with the region: add to the hub config\n"
        )?;
        writeln!(
            out,
            "[[node]]\nkommun = \"{kommun}\"\nsigning_keys = [\"{public}\"]"
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
