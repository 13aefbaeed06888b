//! `samla-node key`: the region's pseudonym master key file.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use samla_node::keyfile;

use super::args::KeyCommand;

/// Creates a key file or prints a key file's id. The key itself is never printed.
pub(super) fn run(command: KeyCommand) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        KeyCommand::Generate { out: path } => {
            let secret = keyfile::generate(&path)?;
            writeln!(
                out,
                "wrote new master key {} (key id {})",
                path.display(),
                secret.key_id()
            )?;
            writeln!(
                out,
                "Give the same file to every kommun node of the region, never to the hub."
            )?;
        }
        KeyCommand::Id { file } => writeln!(out, "{}", keyfile::load(&file)?.key_id())?,
    }
    Ok(ExitCode::SUCCESS)
}
