//! The key ceremony (docs/custodian.md): a dealer on an offline machine makes the
//! POPRF key `sk`, splits it t-of-n, deals each custodian the material for a number
//! of future linkage domains ("slots"), publishes what anyone may check, and forgets
//! `sk`.
//!
//! Per slot the dealer deals a multiplication triple `(a, b, c = a·b)` t-of-n. A
//! domain's setup ([`super::domain`]) spends one slot to share `(sk + m_d)^-1`
//! without anyone learning `sk` or the inverse. The dealer publishes `pk = sk·G`,
//! every custodian's `pk_i = sk_i·G` and every triple share's commitment `a_i·G`,
//! `b_i·G`, `c_i·G`; [`PublicKeySet`] refuses a set whose shares do not lie on one
//! polynomial of degree t − 1. A custodian's [`CustodianSecret`] is checked against
//! the public set whenever it is loaded. Slots need no `sk`: more can be dealt later
//! ([`deal_slots`]) under the same ceremony rules.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::group::{self, Element};
use super::output::{self, CustodianKeyId};
use super::poprf::ServerSecret;
use super::shamir::{self, CustodianIndex, Threshold};
use crate::codec::{self, CodecError};

/// The most slots one public key set holds.
pub const MAX_SLOTS: usize = 256;

/// Why a public key set or a custodian's secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// A list does not have one entry per custodian.
    #[error("{what} has {found} entries; the key has {custodians} custodians")]
    Count {
        /// Which list.
        what: &'static str,
        /// Entries found.
        found: usize,
        /// n.
        custodians: u8,
    },
    /// Public shares do not lie on one polynomial of degree t − 1.
    #[error("{what} do not belong to one t-of-n sharing: the key set was altered or dealt wrong")]
    Inconsistent {
        /// Which shares.
        what: String,
    },
    /// More slots than a key set may hold.
    #[error("{found} slots is more than the {MAX_SLOTS} a key set may hold")]
    TooManySlots {
        /// Slots found.
        found: usize,
    },
    /// A custodian's secret does not match the public key set.
    #[error("custodian {custodian}'s secret does not match the public key set ({what})")]
    Mismatch {
        /// The custodian.
        custodian: CustodianIndex,
        /// What differs.
        what: &'static str,
    },
    /// A custodian's secret file is not in its format.
    #[error("custodian secret is malformed")]
    Encoding(#[source] CodecError),
    /// A scalar in a custodian's secret is not canonical.
    #[error("custodian secret holds a value that is not a scalar")]
    Scalar,
}

/// What the ceremony publishes: the key, each custodian's key share commitment, and
/// each slot's triple commitments. Built only by the ceremony or by parsing, both of
/// which check that every list is one consistent t-of-n sharing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PublicKeySetParts", into = "PublicKeySetParts")]
pub struct PublicKeySet(PublicKeySetParts);

/// The fields of a [`PublicKeySet`], unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeySetParts {
    /// t of n.
    pub threshold: Threshold,
    /// `pk = sk·G`, the key the pseudonyms are made under.
    pub public_key: Element,
    /// `pk_i = sk_i·G`, custodian `i` at position `i − 1`.
    #[serde(deserialize_with = "super::messages::bounded_custodians")]
    pub key_shares: Vec<Element>,
    /// Per slot, in slot order.
    #[serde(deserialize_with = "bounded_slots")]
    pub slots: Vec<SlotCommitments>,
}

/// The commitments to one slot's triple shares, custodian `i` at position `i − 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotCommitments {
    /// `a_i·G`.
    #[serde(deserialize_with = "super::messages::bounded_custodians")]
    pub a: Vec<Element>,
    /// `b_i·G`.
    #[serde(deserialize_with = "super::messages::bounded_custodians")]
    pub b: Vec<Element>,
    /// `c_i·G`.
    #[serde(deserialize_with = "super::messages::bounded_custodians")]
    pub c: Vec<Element>,
}

/// Deserialises at most [`MAX_SLOTS`] entries, refusing more before allocating.
fn bounded_slots<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    super::messages::bounded(deserializer, MAX_SLOTS, "slots")
}

impl TryFrom<PublicKeySetParts> for PublicKeySet {
    type Error = CeremonyError;
    fn try_from(parts: PublicKeySetParts) -> Result<PublicKeySet, CeremonyError> {
        let threshold = parts.threshold;
        if parts.slots.len() > MAX_SLOTS {
            return Err(CeremonyError::TooManySlots {
                found: parts.slots.len(),
            });
        }
        check_sharing("key shares", &parts.key_shares, threshold)?;
        let first: Vec<RistrettoPoint> = points(&parts.key_shares)
            .take(usize::from(threshold.required()))
            .collect();
        let lowest = shamir::Subset::new(
            threshold
                .all()
                .take(usize::from(threshold.required()))
                .collect(),
            threshold,
        )
        .map_err(|_| inconsistent("key shares"))?;
        if lowest.interpolate_points_at(&first, Scalar::ZERO) != *parts.public_key.point() {
            return Err(inconsistent("key shares and the public key"));
        }
        for (number, slot) in parts.slots.iter().enumerate() {
            for (name, list) in [("a", &slot.a), ("b", &slot.b), ("c", &slot.c)] {
                check_sharing(&format!("slot {number} {name} shares"), list, threshold)?;
            }
        }
        Ok(PublicKeySet(parts))
    }
}

impl From<PublicKeySet> for PublicKeySetParts {
    fn from(set: PublicKeySet) -> PublicKeySetParts {
        set.0
    }
}

fn points(list: &[Element]) -> impl Iterator<Item = RistrettoPoint> + '_ {
    list.iter().map(|e| *e.point())
}

fn inconsistent(what: &str) -> CeremonyError {
    CeremonyError::Inconsistent {
        what: what.to_owned(),
    }
}

fn check_sharing(what: &str, list: &[Element], threshold: Threshold) -> Result<(), CeremonyError> {
    if list.len() != usize::from(threshold.custodians()) {
        return Err(CeremonyError::Count {
            what: "a share list",
            found: list.len(),
            custodians: threshold.custodians(),
        });
    }
    let all: Vec<RistrettoPoint> = points(list).collect();
    if shamir::points_consistent(&all, threshold) {
        Ok(())
    } else {
        Err(inconsistent(what))
    }
}

impl PublicKeySet {
    /// t of n.
    pub fn threshold(&self) -> Threshold {
        self.0.threshold
    }

    /// `pk`, the key the pseudonyms are made under.
    pub fn public_key(&self) -> &Element {
        &self.0.public_key
    }

    /// The key id: names the key in submissions and logs.
    pub fn key_id(&self) -> CustodianKeyId {
        output::custodian_key_id(&self.0.public_key)
    }

    /// `pk_i` of custodian `i`; `None` if the key has fewer custodians.
    pub fn key_share(&self, i: CustodianIndex) -> Option<&Element> {
        self.0.key_shares.get(position(i))
    }

    /// The commitments of a slot, if the set has it.
    pub fn slot(&self, slot: SlotNumber) -> Option<&SlotCommitments> {
        self.0.slots.get(usize::from(slot.0))
    }

    /// Slots held.
    pub fn slot_count(&self) -> usize {
        self.0.slots.len()
    }

    /// Appends slots dealt later by [`deal_slots`] (after checking them).
    pub fn add_slots(&mut self, slots: Vec<SlotCommitments>) -> Result<(), CeremonyError> {
        if self.0.slots.len() + slots.len() > MAX_SLOTS {
            return Err(CeremonyError::TooManySlots {
                found: self.0.slots.len() + slots.len(),
            });
        }
        for slot in &slots {
            for list in [&slot.a, &slot.b, &slot.c] {
                check_sharing("added slot shares", list, self.0.threshold)?;
            }
        }
        self.0.slots.extend(slots);
        Ok(())
    }
}

/// The position of custodian `i` in per-custodian lists. Every list of a checked key
/// set has n entries and every index a caller holds was checked against n.
pub(crate) fn position(i: CustodianIndex) -> usize {
    usize::from(i.number()) - 1
}

/// A slot's number: which triple a domain setup spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlotNumber(pub u16);

/// One custodian's shares of one slot's triple.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SlotShares {
    pub(crate) a: Scalar,
    pub(crate) b: Scalar,
    pub(crate) c: Scalar,
}

/// What one custodian holds after the ceremony: its number, its share `sk_i` of the
/// key, and its shares of every slot's triple. Zeroized on drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct CustodianSecret {
    #[zeroize(skip)]
    pub(crate) custodian: CustodianIndex,
    pub(crate) key_share: Scalar,
    pub(crate) slots: Vec<SlotShares>,
}

/// The stored form of a [`CustodianSecret`].
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct SecretFile {
    #[zeroize(skip)]
    custodian: CustodianIndex,
    #[serde(with = "crate::bytes")]
    key_share: [u8; 32],
    #[serde(deserialize_with = "bounded_slots")]
    slots: Vec<[[u8; 32]; 3]>,
}

impl CustodianSecret {
    /// Which custodian this is.
    pub fn custodian(&self) -> CustodianIndex {
        self.custodian
    }

    /// Checks the secret against the public key set: `sk_i·G = pk_i` and every slot's
    /// shares against their commitments. Run whenever a secret is loaded.
    pub fn check(&self, public: &PublicKeySet) -> Result<(), CeremonyError> {
        let i = self.custodian;
        let mismatch = |what| CeremonyError::Mismatch { custodian: i, what };
        let key_share = public
            .key_share(i)
            .ok_or_else(|| mismatch("custodian number"))?;
        if RistrettoPoint::mul_base(&self.key_share) != *key_share.point() {
            return Err(mismatch("key share"));
        }
        if self.slots.len() != public.slot_count() {
            return Err(mismatch("number of slots"));
        }
        for (shares, commitments) in self.slots.iter().zip(&public.0.slots) {
            let p = position(i);
            let ok = RistrettoPoint::mul_base(&shares.a) == *commitments.a[p].point()
                && RistrettoPoint::mul_base(&shares.b) == *commitments.b[p].point()
                && RistrettoPoint::mul_base(&shares.c) == *commitments.c[p].point();
            if !ok {
                return Err(mismatch("slot shares"));
            }
        }
        Ok(())
    }

    /// The secret's stored form (keep it 0600, like any key file).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let file = SecretFile {
            custodian: self.custodian,
            key_share: self.key_share.to_bytes(),
            slots: self
                .slots
                .iter()
                .map(|s| [s.a.to_bytes(), s.b.to_bytes(), s.c.to_bytes()])
                .collect(),
        };
        // Encoding fixed-size arrays and a bounded list cannot fail.
        Zeroizing::new(codec::encode(&file).expect("a secret file always encodes"))
    }

    /// Parses what [`CustodianSecret::to_bytes`] wrote; check it with
    /// [`CustodianSecret::check`] before use.
    pub fn from_bytes(bytes: &[u8]) -> Result<CustodianSecret, CeremonyError> {
        let file: SecretFile = codec::decode(bytes).map_err(CeremonyError::Encoding)?;
        if file.slots.len() > MAX_SLOTS {
            return Err(CeremonyError::TooManySlots {
                found: file.slots.len(),
            });
        }
        let scalar = |b: &[u8; 32]| group::scalar_from_bytes(*b).ok_or(CeremonyError::Scalar);
        Ok(CustodianSecret {
            custodian: file.custodian,
            key_share: scalar(&file.key_share)?,
            slots: file
                .slots
                .iter()
                .map(|[a, b, c]| {
                    Ok(SlotShares {
                        a: scalar(a)?,
                        b: scalar(b)?,
                        c: scalar(c)?,
                    })
                })
                .collect::<Result<_, CeremonyError>>()?,
        })
    }

    /// Adds the custodian's shares of slots dealt later, in order.
    pub fn add_slots(&mut self, slots: Vec<SlotShares>) {
        self.slots.extend(slots);
    }
}

/// What the ceremony produces: the public key set, and one secret per custodian
/// (custodian `i` at position `i − 1`), each to be handed to its custodian alone.
pub struct Ceremony {
    /// Published to custodians, nodes and auditors.
    pub public: PublicKeySet,
    /// One per custodian.
    pub secrets: Vec<CustodianSecret>,
}

/// Runs the key ceremony: a fresh key, shared t-of-n, with `slots` slots.
pub fn run<R: CryptoRng + ?Sized>(
    threshold: Threshold,
    slots: u16,
    rng: &mut R,
) -> Result<Ceremony, CeremonyError> {
    run_with_key(&ServerSecret::generate(rng), threshold, slots, rng)
}

/// The ceremony for a given key (the RFC's test key in tests; a fresh one in [`run`]).
pub(crate) fn run_with_key<R: CryptoRng + ?Sized>(
    key: &ServerSecret,
    threshold: Threshold,
    slots: u16,
    rng: &mut R,
) -> Result<Ceremony, CeremonyError> {
    let key_shares = Zeroizing::new(shamir::deal(key.scalar(), threshold, rng));
    let (commitments, slot_shares) = deal_slots(threshold, slots, rng)?;
    let public = PublicKeySet::try_from(PublicKeySetParts {
        threshold,
        public_key: key.public_key(),
        key_shares: commit(&key_shares).ok_or_else(|| inconsistent("a key share of zero"))?,
        slots: commitments,
    })?;
    let mut per_custodian: Vec<Vec<SlotShares>> = threshold.all().map(|_| Vec::new()).collect();
    for slot in slot_shares {
        for (held, shares) in per_custodian.iter_mut().zip(slot) {
            held.push(shares);
        }
    }
    let secrets = threshold
        .all()
        .zip(key_shares.iter().copied())
        .zip(per_custodian)
        .map(|((custodian, key_share), slots)| CustodianSecret {
            custodian,
            key_share,
            slots,
        })
        .collect();
    Ok(Ceremony { public, secrets })
}

/// Deals `count` slots: per slot a triple `(a, b, a·b)` shared t-of-n, its
/// commitments (for [`PublicKeySet::add_slots`]) and per slot one [`SlotShares`] per
/// custodian. Needs no key, but whoever deals a slot could learn `sk` from the
/// domain setup that spends it: deal under the ceremony's rules and forget the triple.
pub fn deal_slots<R: CryptoRng + ?Sized>(
    threshold: Threshold,
    count: u16,
    rng: &mut R,
) -> Result<(Vec<SlotCommitments>, Vec<Vec<SlotShares>>), CeremonyError> {
    let mut commitments = Vec::with_capacity(usize::from(count));
    let mut shares = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let a = group::random_scalar(rng);
        let b = group::random_scalar(rng);
        let triple = Zeroizing::new([a, b, a * b]);
        let [a_shares, b_shares, c_shares] =
            triple.map(|s| Zeroizing::new(shamir::deal(&s, threshold, rng)));
        let zero = || inconsistent("a triple share of zero");
        commitments.push(SlotCommitments {
            a: commit(&a_shares).ok_or_else(zero)?,
            b: commit(&b_shares).ok_or_else(zero)?,
            c: commit(&c_shares).ok_or_else(zero)?,
        });
        shares.push(
            a_shares
                .iter()
                .zip(b_shares.iter())
                .zip(c_shares.iter())
                .map(|((a, b), c)| SlotShares {
                    a: *a,
                    b: *b,
                    c: *c,
                })
                .collect(),
        );
    }
    Ok((commitments, shares))
}

/// `s_i·G` for every share; `None` if a share is zero (probability 2^-252; the
/// ceremony is then run again).
fn commit(shares: &[Scalar]) -> Option<Vec<Element>> {
    shares
        .iter()
        .map(|s| Element::from_point(RistrettoPoint::mul_base(s)))
        .collect()
}
