//! Shamir sharing over the ristretto255 scalar field: custodian indices (the
//! x-coordinates), the t-of-n threshold, subsets of custodians, dealing a secret and
//! the Lagrange coefficients that recombine shares, of scalars or in the exponent.
//!
//! Written with curve25519-dalek's `Scalar` arithmetic rather than a Shamir crate:
//! the whole of it is a Horner evaluation and a product of fractions, and the crates
//! that offer it for this field (vsss-rs) bring another `rand_core` and a generic API
//! the scheme does not need. Fewer than t shares of a secret are uniformly random and
//! say nothing about it.

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::group;

/// The most custodians a key can be split between.
pub const MAX_CUSTODIANS: u8 = 16;

/// A custodian's number, 1 to [`MAX_CUSTODIANS`]: the x-coordinate of its shares.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct CustodianIndex(u8);

/// Why a custodian number, threshold or subset was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    /// A custodian number outside 1 to [`MAX_CUSTODIANS`].
    #[error("custodian number {found} is not between 1 and {MAX_CUSTODIANS}")]
    Index {
        /// The number given.
        found: u8,
    },
    /// A threshold that is not `1 <= t <= n <= MAX_CUSTODIANS`.
    #[error("a threshold of {required} of {custodians} custodians is not possible (1 <= t <= n <= {MAX_CUSTODIANS})")]
    Threshold {
        /// t.
        required: u8,
        /// n.
        custodians: u8,
    },
    /// A subset that names a custodian twice or is out of order.
    #[error("custodians must be listed once each, in increasing order")]
    Order,
    /// A subset with fewer custodians than the threshold.
    #[error("{found} custodians answered; {required} are needed")]
    TooFew {
        /// Custodians in the subset.
        found: usize,
        /// t.
        required: u8,
    },
    /// A subset naming a custodian the key was not split to.
    #[error("custodian {found} is not one of the key's {custodians}")]
    Unknown {
        /// The custodian named.
        found: CustodianIndex,
        /// n.
        custodians: u8,
    },
}

impl CustodianIndex {
    /// A custodian number, 1 to [`MAX_CUSTODIANS`].
    pub fn new(number: u8) -> Result<CustodianIndex, ShamirError> {
        if (1..=MAX_CUSTODIANS).contains(&number) {
            Ok(CustodianIndex(number))
        } else {
            Err(ShamirError::Index { found: number })
        }
    }

    /// The number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The x-coordinate.
    fn x(self) -> Scalar {
        Scalar::from(self.0)
    }
}

impl TryFrom<u8> for CustodianIndex {
    type Error = ShamirError;
    fn try_from(number: u8) -> Result<CustodianIndex, ShamirError> {
        CustodianIndex::new(number)
    }
}

impl From<CustodianIndex> for u8 {
    fn from(index: CustodianIndex) -> u8 {
        index.0
    }
}

impl fmt::Display for CustodianIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for CustodianIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "custodian {}", self.0)
    }
}

/// t of n: how many custodians a key is split between, and how many must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(u8, u8)", into = "(u8, u8)")]
pub struct Threshold {
    required: u8,
    custodians: u8,
}

impl Threshold {
    /// `required` of `custodians`, with `1 <= t <= n <= MAX_CUSTODIANS`.
    pub fn new(required: u8, custodians: u8) -> Result<Threshold, ShamirError> {
        if required >= 1 && required <= custodians && custodians <= MAX_CUSTODIANS {
            Ok(Threshold {
                required,
                custodians,
            })
        } else {
            Err(ShamirError::Threshold {
                required,
                custodians,
            })
        }
    }

    /// t.
    pub fn required(self) -> u8 {
        self.required
    }

    /// n.
    pub fn custodians(self) -> u8 {
        self.custodians
    }

    /// Every custodian, 1 to n.
    pub fn all(self) -> impl Iterator<Item = CustodianIndex> {
        (1..=self.custodians).map(CustodianIndex)
    }
}

impl TryFrom<(u8, u8)> for Threshold {
    type Error = ShamirError;
    fn try_from((required, custodians): (u8, u8)) -> Result<Threshold, ShamirError> {
        Threshold::new(required, custodians)
    }
}

impl From<Threshold> for (u8, u8) {
    fn from(t: Threshold) -> (u8, u8) {
        (t.required, t.custodians)
    }
}

/// Custodians that answer together: at least t, each once, in increasing order, each
/// one of the key's n. Only [`Subset::new`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subset(Vec<CustodianIndex>);

impl Subset {
    /// Parses a list of custodians for a key of `threshold`.
    pub fn new(members: Vec<CustodianIndex>, threshold: Threshold) -> Result<Subset, ShamirError> {
        if members.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ShamirError::Order);
        }
        if members.len() < usize::from(threshold.required) {
            return Err(ShamirError::TooFew {
                found: members.len(),
                required: threshold.required,
            });
        }
        if let Some(found) = members.iter().find(|m| m.0 > threshold.custodians) {
            return Err(ShamirError::Unknown {
                found: *found,
                custodians: threshold.custodians,
            });
        }
        Ok(Subset(members))
    }

    /// The members, in increasing order.
    pub fn members(&self) -> &[CustodianIndex] {
        &self.0
    }

    /// Whether `index` is a member.
    pub fn contains(&self, index: CustodianIndex) -> bool {
        self.0.binary_search(&index).is_ok()
    }

    /// The Lagrange coefficient of member `i` at `x = 0`:
    /// `λ_i = Π_{j ≠ i} x_j / (x_j − x_i)`, so that `Σ λ_i f(x_i) = f(0)` for every
    /// polynomial `f` of degree below the subset's size. `None` if `i` is not a member.
    pub fn lagrange(&self, i: CustodianIndex) -> Option<Scalar> {
        self.lagrange_at(i, Scalar::ZERO)
    }

    /// The Lagrange coefficient of member `i` at `x`: `Π_{j ≠ i} (x − x_j) / (x_i − x_j)`.
    pub(crate) fn lagrange_at(&self, i: CustodianIndex, x: Scalar) -> Option<Scalar> {
        if !self.contains(i) {
            return None;
        }
        let (numerator, denominator) = self
            .0
            .iter()
            .filter(|j| **j != i)
            .fold((Scalar::ONE, Scalar::ONE), |(n, d), j| {
                (n * (x - j.x()), d * (i.x() - j.x()))
            });
        // Members are distinct, so no factor of the denominator is zero.
        Some(numerator * denominator.invert())
    }

    /// `f(x)` from the members' values `f(x_i)`, given in member order.
    pub(crate) fn interpolate_at(&self, values: &[Scalar], x: Scalar) -> Scalar {
        self.0
            .iter()
            .zip(values)
            .filter_map(|(i, v)| self.lagrange_at(*i, x).map(|l| l * v))
            .sum()
    }

    /// `f(x)·G` from the members' points `f(x_i)·G`, given in member order.
    pub(crate) fn interpolate_points_at(
        &self,
        points: &[RistrettoPoint],
        x: Scalar,
    ) -> RistrettoPoint {
        let coefficients: Vec<Scalar> = self
            .0
            .iter()
            .filter_map(|i| self.lagrange_at(*i, x))
            .collect();
        RistrettoPoint::vartime_multiscalar_mul(coefficients, points)
    }
}

/// Shares `secret` t-of-n: `f(1), …, f(n)` of a random polynomial `f` of degree
/// `t − 1` with `f(0) = secret`.
pub(crate) fn deal<R: CryptoRng + ?Sized>(
    secret: &Scalar,
    threshold: Threshold,
    rng: &mut R,
) -> Vec<Scalar> {
    let mut coefficients = vec![*secret];
    coefficients.extend((1..threshold.required).map(|_| group::random_scalar(rng)));
    let shares = threshold
        .all()
        .map(|i| {
            coefficients
                .iter()
                .rev()
                .fold(Scalar::ZERO, |acc, c| acc * i.x() + c)
        })
        .collect();
    zeroize::Zeroize::zeroize(&mut coefficients);
    shares
}

/// Whether the points `f(1)·G, …, f(n)·G` lie on one polynomial of degree below t:
/// each point beyond the first t equals its interpolation from the first t.
pub(crate) fn points_consistent(points: &[RistrettoPoint], threshold: Threshold) -> bool {
    if points.len() != usize::from(threshold.custodians) {
        return false;
    }
    let first = Subset((1..=threshold.required).map(CustodianIndex).collect());
    let t = usize::from(threshold.required);
    (t..points.len()).all(|k| {
        let x = Scalar::from(k as u64 + 1);
        first.interpolate_points_at(&points[..t], x) == points[k]
    })
}
