//! Config files: read whole, as UTF-8, and capped at [`MAX_CONFIG_BYTES`] before
//! anything is allocated. Both binaries' configs (`samla-node.toml`, `hub.toml`) are
//! read here; their parsing is each binary's own.

use std::path::Path;

use crate::files::{read_small, FileError};

/// The largest config file read, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file's text.
pub fn read_config(path: &Path) -> Result<String, FileError> {
    let bytes = read_small(path, MAX_CONFIG_BYTES, "config")?;
    String::from_utf8(bytes).map_err(|e| FileError::Read {
        what: "config",
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}
