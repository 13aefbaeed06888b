//! What nodes (and a setup coordinator) send a custodian and what it answers, without
//! the IO: one request per bidirectional QUIC stream, framed and encoded as the hub's
//! protocol is ([`crate::wire::encode_frame`], [`crate::wire::frame_length`],
//! [`crate::codec`]), under its own ALPN and frame limit.
//!
//! Every batch of elements is bounded twice before it is allocated: the frame's
//! length against [`FRAME_LIMIT`], and the batch's announced element count against
//! [`MAX_BATCH`] when it is decoded ([`bounded_elements`]), so no message can make a
//! custodian or a node reserve more than one batch's worth of memory. Refusals are
//! typed so the node can print them and retry, wait or stop.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::ceremony::{PublicKeySet, SlotNumber};
use super::domain::{DomainAttestation, DomainRecord, ProductOpening, TweakOpening};
use super::group::Element;
use super::output::CustodianKeyId;
use super::shamir::{CustodianIndex, MAX_CUSTODIANS};
use super::threshold::ShareAnswer;
use crate::codec::{self, CodecError};
use crate::pseudonym::LinkageDomain;

/// ALPN protocol id of the node↔custodian protocol.
pub const ALPN: &[u8] = b"samla-custodian/1";
/// The most elements one request may carry.
pub const MAX_BATCH: usize = 4096;
/// The largest frame either side accepts: a full batch (33 bytes an element) is
/// 135 KiB; a key set of 16 custodians and 256 slots is 406 KiB.
pub const FRAME_LIMIT: u32 = 1024 * 1024;

/// What a node or a setup coordinator asks a custodian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustodianRequest {
    /// The key set the custodian holds a share of.
    KeySet,
    /// A domain's setup record and this custodian's attestation of its keys.
    Domain {
        /// The key.
        key_id: CustodianKeyId,
        /// The domain.
        domain: LinkageDomain,
    },
    /// Evaluate a batch.
    Evaluate(EvaluateRequest),
    /// Domain setup, round 1: open `e_i` for this slot and domain.
    OpenTweak {
        /// The key.
        key_id: CustodianKeyId,
        /// The domain being set up.
        domain: LinkageDomain,
        /// The slot to spend on it.
        slot: SlotNumber,
    },
    /// Domain setup, round 2: open `u_i`, given round 1's openings.
    OpenProduct {
        /// The key.
        key_id: CustodianKeyId,
        /// The domain being set up.
        domain: LinkageDomain,
        /// The slot.
        slot: SlotNumber,
        /// Round 1's openings from at least t custodians.
        #[serde(deserialize_with = "bounded_custodians")]
        tweaks: Vec<TweakOpening>,
    },
    /// Domain setup, done: check and keep this record.
    StoreDomain(DomainRecord),
}

/// A batch of blinded elements for one domain, for the custodians of `subset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateRequest {
    /// The key the node expects.
    pub key_id: CustodianKeyId,
    /// The domain.
    pub domain: LinkageDomain,
    /// The custodians the node asks, in increasing order (each answers with its
    /// Lagrange coefficient for this subset applied).
    #[serde(deserialize_with = "bounded_custodians")]
    pub subset: Vec<CustodianIndex>,
    /// The blinded elements, at most [`MAX_BATCH`].
    #[serde(deserialize_with = "bounded_elements")]
    pub blinded: Vec<Element>,
}

/// What a custodian answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustodianResponse {
    /// The key set.
    KeySet(PublicKeySet),
    /// The domain's record and this custodian's attestation.
    Domain {
        /// The setup record.
        record: DomainRecord,
        /// `T_i` and its proof.
        attestation: DomainAttestation,
    },
    /// The evaluated batch and its proof.
    Evaluated(ShareAnswer),
    /// Round 1's opening.
    TweakOpened(TweakOpening),
    /// Round 2's opening.
    ProductOpened(ProductOpening),
    /// The record was checked and kept.
    DomainStored,
    /// Not done, and why.
    Refused(CustodianRefusal),
}

/// Why a custodian did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CustodianRefusal {
    /// The kommun's evaluations for this period are used up; nothing was evaluated.
    #[error("the kommun has used {used} of its {limit} evaluations this period; the next period starts at {resets_at} (Unix time)")]
    RateLimited {
        /// Evaluations used in the period.
        used: u64,
        /// The limit.
        limit: u64,
        /// Evaluations asked for.
        requested: u64,
        /// When the next period starts (Unix seconds).
        resets_at: i64,
    },
    /// The custodian holds no share of this key.
    #[error("the custodian holds no share of key {key_id}")]
    UnknownKey {
        /// The key asked for.
        key_id: CustodianKeyId,
    },
    /// The domain is not set up at this custodian.
    #[error("linkage domain {domain} is not set up at this custodian")]
    UnknownDomain {
        /// The domain.
        domain: LinkageDomain,
    },
    /// The subset is not usable, or does not include this custodian.
    #[error("the custodians asked are not a usable subset: {reason}")]
    Subset {
        /// Why.
        reason: String,
    },
    /// A batch with no elements.
    #[error("an empty batch")]
    EmptyBatch,
    /// A domain setup step was refused (slot taken, wrong opening, …).
    #[error("domain setup refused: {reason}")]
    Setup {
        /// Why.
        reason: String,
    },
    /// The caller's role may not ask this.
    #[error("not allowed: {what}")]
    NotAllowed {
        /// What was asked.
        what: String,
    },
    /// The custodian cannot answer now; try again later or ask another.
    #[error("the custodian is busy; try again later")]
    Busy,
}

/// Why a message could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The bytes are not a message.
    #[error("custodian message")]
    Codec(#[from] CodecError),
}

/// Encodes a request (the frame body).
pub fn encode_request(request: &CustodianRequest) -> Result<Vec<u8>, MessageError> {
    Ok(codec::encode(request)?)
}

/// Decodes a request, bounded as this module says.
pub fn decode_request(bytes: &[u8]) -> Result<CustodianRequest, MessageError> {
    Ok(codec::decode(bytes)?)
}

/// Encodes a response (the frame body).
pub fn encode_response(response: &CustodianResponse) -> Result<Vec<u8>, MessageError> {
    Ok(codec::encode(response)?)
}

/// Decodes a response, bounded as this module says.
pub fn decode_response(bytes: &[u8]) -> Result<CustodianResponse, MessageError> {
    Ok(codec::decode(bytes)?)
}

/// Deserialises a list, refusing more than `limit` entries before allocating.
struct Bounded<T> {
    limit: usize,
    what: &'static str,
    marker: std::marker::PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {} {}", self.limit, self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let announced = seq.size_hint().unwrap_or(0);
        if announced > self.limit {
            return Err(de::Error::invalid_length(announced, &self));
        }
        let mut out = Vec::with_capacity(announced);
        while let Some(item) = seq.next_element()? {
            if out.len() == self.limit {
                return Err(de::Error::invalid_length(self.limit + 1, &self));
            }
            out.push(item);
        }
        Ok(out)
    }
}

pub(crate) fn bounded<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    limit: usize,
    what: &'static str,
) -> Result<Vec<T>, D::Error> {
    deserializer.deserialize_seq(Bounded {
        limit,
        what,
        marker: std::marker::PhantomData,
    })
}

/// Deserialises at most [`MAX_BATCH`] elements, refusing a longer batch from its
/// announced length, before anything is allocated.
pub fn bounded_elements<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Element>, D::Error> {
    bounded(deserializer, MAX_BATCH, "elements")
}

/// Deserialises at most [`MAX_CUSTODIANS`] entries.
pub(crate) fn bounded_custodians<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    bounded(deserializer, usize::from(MAX_CUSTODIANS), "custodians")
}
