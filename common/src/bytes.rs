//! Fixed-size byte strings (hashes, keys, signatures) and how they serialise: as
//! lowercase hex in human-readable formats (JSON, TOML), as raw bytes in binary ones
//! (the wire), so a million pseudonyms cost 33 MB on the wire rather than 65.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Serialises `N` bytes: hex if the format is human-readable, bytes otherwise.
pub fn serialize<const N: usize, S: Serializer>(
    bytes: &[u8; N],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        let mut buffer = vec![0u8; 2 * N];
        hex::encode_to_slice(bytes, &mut buffer).map_err(serde::ser::Error::custom)?;
        let text = std::str::from_utf8(&buffer).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    } else {
        serializer.serialize_bytes(bytes)
    }
}

/// Deserialises what [`serialize`] wrote; refuses any other length.
pub fn deserialize<'de, const N: usize, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    struct Fixed<const N: usize>;
    impl<'de, const N: usize> Visitor<'de> for Fixed<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{N} bytes, or {} lowercase hex characters", 2 * N)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<[u8; N], E> {
            let mut out = [0u8; N];
            if text.len() != 2 * N || text.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(E::invalid_length(text.len(), &self));
            }
            hex::decode_to_slice(text, &mut out)
                .map_err(|_| E::invalid_value(de::Unexpected::Str("non-hex"), &self))?;
            Ok(out)
        }
        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<[u8; N], E> {
            <[u8; N]>::try_from(bytes).map_err(|_| E::invalid_length(bytes.len(), &self))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
            let mut out = [0u8; N];
            for (i, b) in out.iter_mut().enumerate() {
                *b = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }
    if deserializer.is_human_readable() {
        deserializer.deserialize_str(Fixed::<N>)
    } else {
        deserializer.deserialize_bytes(Fixed::<N>)
    }
}
