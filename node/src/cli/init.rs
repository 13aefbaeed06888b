//! `samla-node init`: this node's signing key and config, and the `[[node]]` block
//! the region adds to its hub config.
//!
//! The config it writes runs as it is: each project with its lifetime (so that
//! `submit --period lifetime` works), and a `[daemon]` section watching an inbox it
//! creates (so that `samla-node run` works). The `[[node]]` block is printed and also
//! written beside the config (`register-NNNN.toml`), to send to the region.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use samla_cli_common::files;
use samla_common::signing::SigningKey;

use super::args::{InitArgs, InitProject};

/// The signing key's file name, in the config's directory.
const SIGNING_KEY: &str = "node-signing.key";

/// A checked `samla-node init`: the config text to write, and where.
pub(super) struct Init {
    dir: PathBuf,
    config_path: PathBuf,
    kommun: samla_common::codes::KommunCode,
    args: InitArgs,
    projects: Vec<InitProject>,
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
        let mut projects = args.projects.clone();
        if let (Some(start), Some(end)) = (args.start, args.end) {
            let lifetime = samla_common::period::Period::new(start, end)
                .with_context(|| format!("--end {end} is before --start {start}"))?;
            match projects.as_mut_slice() {
                [one] if one.lifetime.is_none() => one.lifetime = Some(lifetime),
                [one] => bail!(
                    "--project {} gives a lifetime already; leave out --start and --end",
                    one.code
                ),
                _ => bail!(
                    "--start and --end are for one project; give each project its lifetime \
                     as --project CODE:DOMAIN:START..END"
                ),
            }
        }
        let config_path = args.dir.join("samla-node.toml");
        let registration_path = args.dir.join(format!("register-{}.toml", args.kommun));
        for (path, what) in [
            (&config_path, "config"),
            (&args.dir.join(SIGNING_KEY), "signing key"),
            (&registration_path, "registration"),
        ] {
            if path.exists() {
                bail!("refusing to overwrite existing {what} {}", path.display());
            }
        }
        Ok(Init {
            dir: args.dir.clone(),
            config_path,
            kommun: args.kommun,
            hub_name,
            projects,
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
            projects,
            hub_name,
        } = self;
        files::create_dir(&dir)?;
        let signing_path = dir.join(SIGNING_KEY);
        let document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
        let signing = SigningKey::from_pkcs8(&document)?;
        files::write_private(&signing_path, &document)?;
        let periods = if projects.iter().any(|p| p.lifetime.is_some()) {
            "[\"quarter\", \"lifetime\"]"
        } else {
            "[\"quarter\"]"
        };
        let projects: String = projects.iter().map(project_section).collect();
        let path = |p: &Path| {
            p.display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        };
        let inbox = dir.join(&args.inbox);
        files::create_dir(&inbox)?;
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
             log_origin = \"{log_origin}\"\n\n\
             # What `samla-node run` does.\n\
             [daemon]\n\
             # Each new export put here is submitted once, then moved to processed/ in it;\n\
             # a file that cannot be used goes to rejected/ with a report beside it. Copy a\n\
             # file in under a name starting with `.` or ending in `.part`, then rename it.\n\
             inbox = \"{inbox}\"\n\
             # The closed periods each export is submitted for, unless its name names one\n\
             # (`export-2025-Q3.csv`): month, quarter, half, year, lifetime. Only inside\n\
             # each project's lifetime.\n\
             periods = {periods}\n\
             # How often the inbox is looked at, and how long a file must be unchanged first.\n\
             poll_seconds = 10\n\
             settle_seconds = 5\n\
             # Files with rejected rows are not submitted; set true to submit the good rows.\n\
             accept_rejects = false\n",
            inbox = path(&args.inbox),
            key_file = path(&args.key_file),
            address = args.hub,
            region_ca = path(&args.region_ca),
            certificate = path(&args.certificate),
            private_key = path(&args.private_key),
            receipt_key = args.receipt_key,
            log_origin = args.log_origin,
        );
        files::write_public(&config_path, text.as_bytes())?;
        let registration = format!(
            "[[node]]\nkommun = \"{kommun}\"\nsigning_keys = [\"{}\"]\n",
            signing.verifying_key()
        );
        let registration_path = dir.join(format!("register-{kommun}.toml"));
        files::write_public(&registration_path, registration.as_bytes())?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "wrote {}, {} and {}, and made the inbox {}",
            config_path.display(),
            signing_path.display(),
            registration_path.display(),
            inbox.display()
        )?;
        writeln!(
            out,
            "\nRegister this node with the region: send it {} (no secret in it), to add to the hub config:\n",
            registration_path.display()
        )?;
        write!(out, "{registration}")?;
        Ok(ExitCode::SUCCESS)
    }
}

/// A `[[project]]` section, with the lifetime when it is known.
fn project_section(project: &InitProject) -> String {
    let mut section = format!(
        "\n[[project]]\ncode = \"{}\"\nlinkage_domain = \"{}\"\n",
        project.code, project.domain
    );
    match project.lifetime {
        Some(lifetime) => section.push_str(&format!(
            "# The project's lifetime: `--period lifetime`, and the daemon submits only inside it.\n\
             start = \"{}\"\nend = \"{}\"\n",
            samla_common::period::format_date(lifetime.from()),
            samla_common::period::format_date(lifetime.to())
        )),
        None => section.push_str(
            "# Add the project's lifetime for `--period lifetime` and the daemon:\n\
             # start = \"YYYY-MM-DD\"\n# end = \"YYYY-MM-DD\"\n",
        ),
    }
    section
}
