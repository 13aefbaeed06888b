//! The cell key method (DESIGN.md §6, second method; SCB's method for person
//! statistics): every cell is published, moved by a small integer noise that is a
//! fixed function of the people in it, so the same people give the same value in
//! every publication and differencing publications gains nothing.
//!
//! The pieces, in the order data meets them:
//!
//! - [`record_key`]: at the node, each participation (a person in one project in one
//!   kommun) gets a secret uniform [`RecordKey`] in `[0, 1)`, derived from the master
//!   secret and the personnummer, never from the pseudonym.
//! - [`CellKey`]: a cell's key is the sum mod 1 of the record keys of the distinct
//!   people it counts; a total's or a regional cell's key is the sum mod 1 of its
//!   parts' keys, so it is the same however the cell is put together. Keys are
//!   fractions `x / 2⁶⁴` held as `u64`, so a sum mod 1 is a wrapping addition, exact in
//!   every implementation.
//! - [`ptable`]: the perturbation table, built from the maximum noise `D`, the variance
//!   `V` and `js` by the maximum-entropy method of the R package ptable.
//! - [`perturb`]: looks the cell key up in the row of the cell's true count and adds
//!   the noise found there. Zeros stay zero, no noise exceeds `D`, no published count
//!   is in `1..=js`.
//!
//! Distinct counts and overlaps, whose people the hub knows only as pseudonyms, use
//! [`CellKey::of_pseudonyms`]: a public function of the pseudonyms, which tells the hub
//! nothing it did not have. docs/cell-key.md says what the method protects and what it
//! does not.
//!
//! Sans-IO like the rest of the crate: building a table and perturbing are pure
//! functions of their arguments.

use std::fmt;
use std::iter::Sum;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pseudonym::Pseudonym;

mod maxent;
pub mod ptable;
pub mod record_key;

pub use ptable::{Ptable, PtableError, PtableParams};
pub use record_key::{PersonSecret, RecordKey, RecordKeyer};

/// A cell's key `x / 2⁶⁴`, held as `x`: the sum mod 1 of the record keys of the people
/// in the cell, or of the keys of the cells it sums.
///
/// Serialised as a `u64` in binary formats and as 16 lowercase hex digits of `x` in
/// human-readable ones (a JSON number above 2⁵³ loses digits in many readers).
/// `Debug` is redacted: a one-person cell's key is that person's record key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CellKey(u64);

impl CellKey {
    /// The key of a cell with nobody in it.
    pub const EMPTY: CellKey = CellKey(0);

    /// Wraps `x`, the key `x / 2⁶⁴` (as decoded from a submission).
    pub fn from_bits(bits: u64) -> CellKey {
        CellKey(bits)
    }

    /// `x`, for the key `x / 2⁶⁴`.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// This key with one more person's record key added (mod 1).
    #[must_use]
    pub fn with(self, record: RecordKey) -> CellKey {
        CellKey(self.0.wrapping_add(record.bits()))
    }

    /// The key of the union of two cells with no one in common: the sum mod 1.
    #[must_use]
    pub fn combine(self, other: CellKey) -> CellKey {
        CellKey(self.0.wrapping_add(other.0))
    }

    /// The key of a cell of these (distinct) people.
    pub fn of_records(records: impl IntoIterator<Item = RecordKey>) -> CellKey {
        records.into_iter().fold(CellKey::EMPTY, CellKey::with)
    }

    /// The key of a cell of people known by these (distinct) pseudonyms: the sum of
    /// their public keys ([`RecordKey::of_pseudonym`]).
    pub fn of_pseudonyms<'a>(pseudonyms: impl IntoIterator<Item = &'a Pseudonym>) -> CellKey {
        let keyer = record_key::PseudonymKeyer::new();
        CellKey::of_records(pseudonyms.into_iter().map(|p| keyer.key(p)))
    }
}

impl Sum for CellKey {
    fn sum<I: Iterator<Item = CellKey>>(keys: I) -> CellKey {
        keys.fold(CellKey::EMPTY, CellKey::combine)
    }
}

impl fmt::Debug for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CellKey(<redacted>)")
    }
}

impl Serialize for CellKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&format!("{:016x}", self.0))
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for CellKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CellKey, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = CellKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cell key: a u64, or 16 lowercase hex digits")
            }
            fn visit_u64<E: de::Error>(self, bits: u64) -> Result<CellKey, E> {
                Ok(CellKey(bits))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<CellKey, E> {
                let lowercase_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
                if text.len() != 16 || !text.bytes().all(lowercase_hex) {
                    return Err(E::invalid_value(de::Unexpected::Str(text), &self));
                }
                u64::from_str_radix(text, 16)
                    .map(CellKey)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(KeyVisitor)
        } else {
            deserializer.deserialize_u64(KeyVisitor)
        }
    }
}

/// A count as published under the cell key method: the true count moved by the
/// table's noise. Only [`perturb`] makes one, so an output that takes these cannot be
/// handed a true count by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PerturbedCount(u64);

impl PerturbedCount {
    /// The published number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for PerturbedCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The published value of a cell with `count` people and key `key`: `count` plus the
/// noise `table` assigns to that key in `count`'s row. A zero stays zero; the result is
/// within `max_noise` of `count` and never in `1..=js`. The same count and key always
/// give the same value.
pub fn perturb(count: u64, key: CellKey, table: &Ptable) -> PerturbedCount {
    let noise = i64::from(table.noise(count, key));
    PerturbedCount(count.saturating_add_signed(noise))
}

#[cfg(test)]
mod tests;
