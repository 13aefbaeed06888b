//! `samla-hub init`: the hub's receipt signing key and a config to edit.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use samla_cli_common::files;
use samla_common::signing::SigningKey;
use samla_hub::config::HubConfig;

use super::args::InitArgs;

/// A checked `samla-hub init`: where to write, and the address the config names.
pub(super) struct Init {
    dir: PathBuf,
    listen: SocketAddr,
}

impl Init {
    /// The arguments are already typed; nothing more to check before writing.
    pub(super) fn prepare(args: InitArgs) -> Init {
        Init {
            dir: args.dir,
            listen: args.listen,
        }
    }

    /// Writes `receipt.key` (0600), its public half `receipt.pub` and `hub.toml`,
    /// and prints the receipt key the nodes need.
    pub(super) fn run(self) -> Result<ExitCode> {
        files::create_dir(&self.dir)?;
        let document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
        let key = SigningKey::from_pkcs8(&document)?;
        let (key_path, config_path) = (self.dir.join("receipt.key"), self.dir.join("hub.toml"));
        files::write_private(&key_path, &document)?;
        files::write_public(
            &config_path,
            HubConfig::template(&self.listen.to_string()).as_bytes(),
        )?;
        // The public half, as a file to hand to the kommuner (no secret in it).
        let public_path = self.dir.join("receipt.pub");
        files::write_public(
            &public_path,
            format!("{}\n", key.verifying_key()).as_bytes(),
        )?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "wrote {}, {} and {}",
            config_path.display(),
            key_path.display(),
            public_path.display()
        )?;
        writeln!(
            out,
            "receipt key (give it to every node, as receipt_key in its [hub] section; it is also in {}):",
            public_path.display()
        )?;
        writeln!(out, "{}", key.verifying_key())?;
        Ok(ExitCode::SUCCESS)
    }
}
