//! Pseudonyms without a key holder (DESIGN.md §4a): RFC 9497's POPRF, suite
//! ristretto255-SHA512, verifiable, with the linkage domain as the public input, and
//! its key split t-of-n between key custodians.
//!
//! A node blinds each normalised personnummer, t custodians each answer with their
//! share of the domain's evaluation and a proof that they used their published share
//! key, and the node checks every proof, adds the answers and unblinds: the result is
//! bit for bit RFC 9497 POPRF `Finalize` under the key nobody holds. From it come the
//! 32-byte pseudonym and the cell-key method's record key ([`output`]). The custodian
//! never sees a personnummer, the node never holds a key, the hub sees neither.
//!
//! The parts, each in its own module:
//! - [`group`]: the suite's elements, scalars and hashes (curve25519-dalek, RustCrypto);
//! - [`dleq`] and [`poprf`]: RFC 9497 itself, checked by the RFC's test vectors;
//! - [`shamir`]: custodian indices, subsets and Lagrange coefficients;
//! - [`ceremony`]: the dealer's one-off key ceremony and its public key set;
//! - [`domain`]: per-domain setup, which shares `(sk + m_d)^-1` among the custodians
//!   without anyone learning `sk`, and the node's check of the result;
//! - [`threshold`]: the node's blind / check / combine / unblind and the custodian's
//!   share evaluation;
//! - [`messages`], [`rate`] and [`log`]: what node and custodian send each other, the
//!   custodian's per-kommun rate limit, and its transfer log entries;
//! - [`service`]: a custodian's request handling, state in and state out.
//!
//! Everything is sans-IO: randomness comes in as a [`rand_core::CryptoRng`], time as
//! Unix seconds; nothing here spawns a thread. Every batch function works on one batch
//! with `&self` keys, so a caller spreads batches over threads as it likes.
//! docs/custodian.md describes the scheme, the ceremony and who can reverse what.

pub mod ceremony;
pub mod dleq;
pub mod domain;
pub mod group;
pub mod log;
pub mod messages;
pub mod output;
pub mod poprf;
pub mod rate;
pub mod service;
pub mod shamir;
pub mod threshold;

#[cfg(test)]
mod tests;

/// Why an RFC 9497 operation failed. Never carries an input, an output or a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OprfError {
    /// An input hashes to the identity (RFC 9497 `InvalidInputError`).
    #[error("an input maps to the identity element and cannot be evaluated")]
    InvalidInput,
    /// An input or public input is longer than the RFC can frame.
    #[error("an input of {found} bytes is longer than the 65 535 bytes RFC 9497 can frame")]
    InputTooLong {
        /// Its length.
        found: usize,
    },
    /// `skS + m` is zero for this public input (RFC 9497 `InverseError`).
    #[error("the key cannot be inverted for this public input")]
    Inverse,
    /// `DeriveKeyPair` found no non-zero scalar in 256 tries.
    #[error("no key could be derived from this seed")]
    DeriveKeyPair,
    /// A proof does not verify (RFC 9497 `VerifyError`).
    #[error("the proof does not verify: the answer was not made with the published key")]
    Proof,
    /// An answer has a different number of elements than the request.
    #[error("{found} elements answered for {expected} sent")]
    Length {
        /// Elements sent.
        expected: usize,
        /// Elements answered.
        found: usize,
    },
    /// More elements than one proof can cover.
    #[error("a batch of {found} elements is over the limit of {limit}")]
    BatchTooLarge {
        /// Elements in the batch.
        found: usize,
        /// The most allowed.
        limit: usize,
    },
}
