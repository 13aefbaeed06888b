//! The binary encoding of everything that crosses the wire or is signed: bincode 2
//! with serde, in one place so it can be swapped (bincode is pinned at 2.0.1 and no
//! longer maintained).
//!
//! Decoding is bounded: a length prefix inside a message can never make the decoder
//! claim more than [`DECODE_LIMIT`] bytes, and trailing bytes are refused.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The most a single decode may allocate, in bytes.
pub const DECODE_LIMIT: usize = 256 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// Why bytes could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Encoding failed (a value larger than the limit).
    #[error("encoding failed: {0}")]
    Encode(String),
    /// The bytes are not a valid encoding of the expected message.
    #[error("malformed message: {0}")]
    Decode(String),
    /// The message is followed by bytes that belong to nothing.
    #[error("malformed message: {0} bytes after the end")]
    Trailing(usize),
}

/// Encodes a value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes a value that must fill `bytes` exactly.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - used));
    }
    Ok(value)
}
