//! The wire protocol between node and hub (DESIGN.md §7), without the IO.
//!
//! One request per bidirectional QUIC stream: a 4-byte big-endian length, then the
//! message encoded by [`crate::codec`]. [`frame_length`] checks the announced length
//! against the limit before the reader allocates anything.
//!
//! A node signs the encoded [`Submission`] and sends it as a [`SignedSubmission`];
//! the hub turns it into a [`VerifiedSubmission`] only through
//! [`SignedSubmission::verify`], which checks everything §7 lists, and answers with a
//! [`SignedReceipt`] (built and checked in [`crate::receipt`]) or a typed [`Refusal`]
//! the node can print.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::codes::KommunCode;
use crate::signing::{Signature, SigningKey, VerifyingKey, SUBMISSION_CONTEXT};
use crate::statistics::{Statistics, SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS};
use crate::translog::LogHash;

pub use crate::receipt::{Receipt, ReceiptError, SignedReceipt, VerifiedReceipt};

/// ALPN protocol id.
pub const ALPN: &[u8] = b"samla/1";
/// Default largest frame, in bytes.
pub const DEFAULT_FRAME_LIMIT: u32 = 64 * 1024 * 1024;

/// Why a frame or message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The announced length is over the limit.
    #[error("frame of {announced} bytes is over the limit of {limit}")]
    TooLarge {
        /// What the header announced.
        announced: u32,
        /// The limit.
        limit: u32,
    },
    /// The message could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// The body length a frame header announces, if within `limit`.
pub fn frame_length(header: [u8; 4], limit: u32) -> Result<usize, WireError> {
    let announced = u32::from_be_bytes(header);
    if announced > limit {
        return Err(WireError::TooLarge { announced, limit });
    }
    usize::try_from(announced).map_err(|_| WireError::TooLarge { announced, limit })
}

/// A message as a frame: length header and body.
pub fn encode_frame<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let body = codec::encode(message)?;
    let length = u32::try_from(body.len()).map_err(|_| WireError::TooLarge {
        announced: u32::MAX,
        limit: u32::MAX,
    })?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// What a node asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Store this submission and return its receipt.
    Submit(SignedSubmission),
    /// The log's latest signed checkpoint, and a consistency proof from the tree of
    /// `since` entries (the last one this node saw) to it.
    Checkpoint {
        /// The size of the last checkpoint the node saw (0 for none).
        since: u64,
    },
}

/// What the hub answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Stored (now or before): the receipt.
    Receipt(SignedReceipt),
    /// Not stored, and why.
    Refused(Refusal),
    /// The latest checkpoint and a consistency proof from the size asked about.
    Checkpoint {
        /// The signed note (C2SP tlog-checkpoint).
        note: Vec<u8>,
        /// RFC 6962 consistency proof from `since` to the checkpoint's size.
        consistency: Vec<LogHash>,
    },
}

/// A submission: one kommun's statistics, numbered and dated by the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The node's sequence number; each is higher than the last the hub accepted.
    pub sequence: u64,
    /// When the node built it (Unix seconds).
    pub created_at: i64,
    /// The tables and linkage sets.
    pub statistics: Statistics,
}

/// The id of a submission: BLAKE3 of its signed bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubmissionId(#[serde(with = "crate::bytes")] [u8; 32]);

impl SubmissionId {
    /// The id of these signed bytes.
    pub fn of(bytes: &[u8]) -> SubmissionId {
        SubmissionId(*blake3::hash(bytes).as_bytes())
    }

    /// The raw id.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From raw bytes (as stored).
    pub fn from_bytes(bytes: [u8; 32]) -> SubmissionId {
        SubmissionId(bytes)
    }
}

impl fmt::Display for SubmissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SubmissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubmissionId({self})")
    }
}

impl std::str::FromStr for SubmissionId {
    type Err = crate::pseudonym::HexIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        let err = crate::pseudonym::HexIdError { expected: 64 };
        if text.len() != 64 {
            return Err(err);
        }
        hex::decode_to_slice(text, &mut out).map_err(|_| err)?;
        Ok(SubmissionId(out))
    }
}

/// An encoded [`Submission`], the node's key, and its signature over the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedSubmission {
    /// The encoded submission, exactly as signed and stored.
    #[serde(with = "serde_bytes_vec")]
    pub bytes: Vec<u8>,
    /// The key that signed.
    pub signer: VerifyingKey,
    /// Ed25519 over `"samla/submission/v1\0" ‖ BLAKE3(bytes)`.
    pub signature: Signature,
}

/// A submission that passed every check of §7; only [`SignedSubmission::verify`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSubmission {
    id: SubmissionId,
    submission: Submission,
    signed: SignedSubmission,
}

/// Why the hub did not store a submission. The node prints it as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The client certificate is for another kommun than the submission.
    #[error(
        "the certificate is for kommun {certificate} but the submission is for kommun {submission}"
    )]
    WrongKommun {
        /// The certificate's kommun.
        certificate: String,
        /// The submission's kommun.
        submission: String,
    },
    /// The signing key is not registered for this kommun.
    #[error("signing key {key} is not registered for kommun {kommun} at the hub; send the region the key `samla-node init` printed")]
    UnknownSigner {
        /// The kommun.
        kommun: String,
        /// The key, in hex.
        key: String,
    },
    /// The signature does not match the bytes.
    #[error("the signature does not match the submission (changed after signing?)")]
    BadSignature,
    /// The bytes are not a submission.
    #[error("the submission is malformed: {0}")]
    Malformed(String),
    /// The schema version is not one the hub knows.
    #[error("schema version {found} is not supported by the hub (it knows {supported})")]
    SchemaVersion {
        /// The version sent.
        found: u32,
        /// The version the hub knows.
        supported: u32,
    },
    /// The statistics break a rule of the schema.
    #[error("the statistics break the schema: {0}")]
    Schema(String),
    /// The sequence number is not higher than the last accepted one.
    #[error("sequence {found} is not after the last accepted sequence {last} for this kommun (a replay?)")]
    Replay {
        /// The sequence sent.
        found: u64,
        /// The last sequence the hub accepted.
        last: u64,
    },
    /// The frame is larger than the hub accepts.
    #[error("the message is larger than the hub accepts ({announced} bytes, limit {limit})")]
    TooLarge {
        /// What the frame announced.
        announced: u32,
        /// The limit.
        limit: u32,
    },
    /// The hub could not store it; try again later.
    #[error("the hub could not store the submission right now ({0}); it stays in the outbox")]
    Unavailable(String),
    /// The signing key was registered for this kommun but its overlap period is over.
    #[error("signing key {key} of kommun {kommun} was retired after {until}; sign with the kommun's new key")]
    RetiredSigner {
        /// The kommun.
        kommun: String,
        /// The key, in hex.
        key: String,
        /// The last day it was accepted.
        until: String,
    },
    /// The client certificate is on the hub's revocation list.
    #[error("{0}; ask the region for a new certificate")]
    Revoked(String),
    /// The kommun sent more submissions in the last minute than the hub allows.
    #[error("kommun {kommun} sent more than {limit} submissions in a minute; try again shortly")]
    RateLimited {
        /// The kommun.
        kommun: String,
        /// Submissions allowed per minute.
        limit: u32,
    },
}

impl Refusal {
    /// The refusal's kind, one word (for counting refusals of a kind).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::WrongKommun { .. } => "wrong_kommun",
            Refusal::UnknownSigner { .. } => "unknown_signer",
            Refusal::BadSignature => "bad_signature",
            Refusal::Malformed(_) => "malformed",
            Refusal::SchemaVersion { .. } => "schema_version",
            Refusal::Schema(_) => "schema",
            Refusal::Replay { .. } => "replay",
            Refusal::TooLarge { .. } => "too_large",
            Refusal::Unavailable(_) => "unavailable",
            Refusal::RetiredSigner { .. } => "retired_signer",
            Refusal::Revoked(_) => "revoked",
            Refusal::RateLimited { .. } => "rate_limited",
        }
    }

    /// Whether sending the same submission again later can succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Refusal::Unavailable(_) | Refusal::RateLimited { .. })
    }
}

impl SignedSubmission {
    /// Encodes and signs a submission.
    pub fn sign(submission: &Submission, key: &SigningKey) -> Result<SignedSubmission, CodecError> {
        let bytes = codec::encode(submission)?;
        let signature = key.sign(SUBMISSION_CONTEXT, &bytes);
        Ok(SignedSubmission {
            bytes,
            signer: key.verifying_key(),
            signature,
        })
    }

    /// The submission's id.
    pub fn id(&self) -> SubmissionId {
        SubmissionId::of(&self.bytes)
    }

    /// Checks a submission received from `sender` (the kommun of its TLS client
    /// certificate, so the sender is already authenticated) against the keys
    /// registered for that kommun: encoding, kommun, signer, signature, schema version
    /// and the schema's rules. Sequence numbers are the store's to check, as they
    /// depend on what it holds.
    pub fn verify(
        self,
        sender: KommunCode,
        registered: &[VerifyingKey],
    ) -> Result<VerifiedSubmission, Refusal> {
        let submission: Submission =
            codec::decode(&self.bytes).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let statistics = &submission.statistics;
        if statistics.kommun != sender {
            return Err(Refusal::WrongKommun {
                certificate: sender.to_string(),
                submission: statistics.kommun.to_string(),
            });
        }
        if !registered.contains(&self.signer) {
            return Err(Refusal::UnknownSigner {
                kommun: sender.to_string(),
                key: self.signer.to_string(),
            });
        }
        self.signer
            .verify(SUBMISSION_CONTEXT, &self.bytes, &self.signature)
            .map_err(|_| Refusal::BadSignature)?;
        if !SUPPORTED_SCHEMA_VERSIONS.contains(&statistics.schema_version) {
            return Err(Refusal::SchemaVersion {
                found: statistics.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        statistics
            .check()
            .map_err(|e| Refusal::Schema(e.to_string()))?;
        Ok(VerifiedSubmission {
            id: self.id(),
            submission,
            signed: self,
        })
    }
}

impl VerifiedSubmission {
    /// The id.
    pub fn id(&self) -> SubmissionId {
        self.id
    }

    /// The decoded submission.
    pub fn submission(&self) -> &Submission {
        &self.submission
    }

    /// The exact bytes and signature received.
    pub fn signed(&self) -> &SignedSubmission {
        &self.signed
    }
}

/// Byte vectors as bytes on the wire (not as a sequence of numbers) and hex in JSON.
pub(crate) mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(bytes))
        } else {
            serializer.serialize_bytes(bytes)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            hex::decode(text).map_err(serde::de::Error::custom)
        } else {
            struct Bytes;
            impl<'de> serde::de::Visitor<'de> for Bytes {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                    Ok(v.to_vec())
                }
                fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                    Ok(v)
                }
            }
            deserializer.deserialize_byte_buf(Bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_limits_are_checked_on_the_header() {
        assert_eq!(frame_length(100u32.to_be_bytes(), 1000), Ok(100));
        assert_eq!(
            frame_length((1u32 << 30).to_be_bytes(), DEFAULT_FRAME_LIMIT),
            Err(WireError::TooLarge {
                announced: 1 << 30,
                limit: DEFAULT_FRAME_LIMIT
            })
        );
    }
}
