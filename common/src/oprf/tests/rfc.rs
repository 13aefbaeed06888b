//! The RFC path against RFC 9497's own vectors: key derivation, blinding, evaluation,
//! the proof (bit for bit, with the RFC's nonce), its verification and `Finalize`.

use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::rfc9497_vectors::*;
use crate::oprf::dleq::Proof;
use crate::oprf::group::{self, Element, Mode};
use crate::oprf::poprf::{self, ServerSecret};
use crate::oprf::OprfError;

/// One test vector of RFC 9497 appendix A, as hex.
pub(super) struct Vector {
    pub inputs: &'static [&'static str],
    pub blinds: &'static [&'static str],
    pub blinded: &'static [&'static str],
    pub evaluated: &'static [&'static str],
    pub outputs: &'static [&'static str],
    pub info: &'static str,
    pub proof: &'static str,
    pub proof_nonce: &'static str,
}

fn bytes(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn array<const N: usize>(text: &str) -> [u8; N] {
    bytes(text).try_into().unwrap()
}

fn scalar(text: &str) -> Scalar {
    group::scalar_from_bytes(array(text)).unwrap()
}

fn elements(texts: &[&str]) -> Vec<Element> {
    texts
        .iter()
        .map(|t| Element::from_bytes(array(t)).unwrap())
        .collect()
}

fn hexes(elements: &[Element]) -> Vec<String> {
    elements.iter().map(|e| hex::encode(e.to_bytes())).collect()
}

#[test]
fn poprf_key_derivation_matches_the_rfc() {
    let key = ServerSecret::derive(&array(POPRF_SEED), &bytes(POPRF_KEY_INFO)).unwrap();
    assert_eq!(hex::encode(key.scalar().to_bytes()), POPRF_SK);
    assert_eq!(hex::encode(key.public_key().to_bytes()), POPRF_PK);
}

#[test]
fn poprf_vectors_blind_evaluate_prove_and_finalize() {
    let key = ServerSecret::derive(&array(POPRF_SEED), &bytes(POPRF_KEY_INFO)).unwrap();
    let public_key = Element::from_bytes(array(POPRF_PK)).unwrap();
    for (n, v) in POPRF_VECTORS.iter().enumerate() {
        let inputs: Vec<Vec<u8>> = v.inputs.iter().map(|i| bytes(i)).collect();
        let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let info = bytes(v.info);
        let blinds = Zeroizing::new(v.blinds.iter().map(|b| scalar(b)).collect());
        let blinded = poprf::blind_with_blinds(&inputs, blinds).unwrap();
        assert_eq!(hexes(&blinded.elements), v.blinded, "vector {n}: blinded");

        let (evaluated, proof) = key
            .blind_evaluate_with_nonce(&blinded.elements, &info, &scalar(v.proof_nonce))
            .unwrap();
        assert_eq!(hexes(&evaluated), v.evaluated, "vector {n}: evaluated");
        assert_eq!(hex::encode(proof.to_bytes()), v.proof, "vector {n}: proof");

        let outputs =
            poprf::finalize(&inputs, &blinded, &evaluated, &proof, &info, &public_key).unwrap();
        let shown: Vec<String> = outputs.iter().map(|o| hex::encode(o.as_bytes())).collect();
        assert_eq!(shown, v.outputs, "vector {n}: outputs");

        for (input, expected) in inputs.iter().zip(v.outputs) {
            let direct = key.evaluate(input, &info).unwrap();
            assert_eq!(
                hex::encode(direct.as_bytes()),
                *expected,
                "vector {n}: Evaluate"
            );
        }
    }
}

#[test]
fn poprf_finalize_refuses_a_proof_for_other_elements_or_key() {
    let v = &POPRF_VECTORS[2];
    let public_key = Element::from_bytes(array(POPRF_PK)).unwrap();
    let inputs: Vec<Vec<u8>> = v.inputs.iter().map(|i| bytes(i)).collect();
    let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let info = bytes(v.info);
    let blinds = Zeroizing::new(v.blinds.iter().map(|b| scalar(b)).collect());
    let blinded = poprf::blind_with_blinds(&inputs, blinds).unwrap();
    let proof = Proof::from_bytes(array(v.proof)).unwrap();
    let mut evaluated = elements(v.evaluated);
    evaluated.swap(0, 1);
    assert_eq!(
        poprf::finalize(&inputs, &blinded, &evaluated, &proof, &info, &public_key).err(),
        Some(OprfError::Proof)
    );
    evaluated.swap(0, 1);
    let other_key = ServerSecret::derive(&[7; 32], b"other")
        .unwrap()
        .public_key();
    assert_eq!(
        poprf::finalize(&inputs, &blinded, &evaluated, &proof, &info, &other_key).err(),
        Some(OprfError::Proof)
    );
    assert_eq!(
        poprf::finalize(
            &inputs,
            &blinded,
            &evaluated,
            &proof,
            b"other info",
            &public_key
        )
        .err(),
        Some(OprfError::Proof)
    );
}

#[test]
fn voprf_vectors_evaluate_and_prove() {
    let sk =
        poprf::derive_key_pair(&array(VOPRF_SEED), &bytes(VOPRF_KEY_INFO), Mode::Voprf).unwrap();
    assert_eq!(hex::encode(sk.to_bytes()), VOPRF_SK);
    let public_key = Element::from_bytes(array(VOPRF_PK)).unwrap();
    for (n, v) in VOPRF_VECTORS.iter().enumerate() {
        let blinded: Vec<Element> = v
            .inputs
            .iter()
            .zip(v.blinds)
            .map(|(input, blind)| {
                let point =
                    group::hash_to_group(&bytes(input), Mode::Voprf).unwrap() * scalar(blind);
                Element::from_point(point).unwrap()
            })
            .collect();
        assert_eq!(hexes(&blinded), v.blinded, "vector {n}: blinded");

        let (evaluated, proof) =
            poprf::voprf_evaluate(&sk, &blinded, &scalar(v.proof_nonce)).unwrap();
        assert_eq!(hexes(&evaluated), v.evaluated, "vector {n}: evaluated");
        assert_eq!(hex::encode(proof.to_bytes()), v.proof, "vector {n}: proof");
        assert!(poprf::voprf_verify(
            &public_key,
            &blinded,
            &evaluated,
            &proof
        ));

        // VOPRF Finalize: SHA-512(len ‖ input ‖ len ‖ unblinded ‖ "Finalize").
        for (((input, blind), z), expected) in
            v.inputs.iter().zip(v.blinds).zip(&evaluated).zip(v.outputs)
        {
            let input = bytes(input);
            let unblinded = (scalar(blind).invert() * z.point()).compress().to_bytes();
            let mut hash = Sha512::new();
            hash.update((input.len() as u16).to_be_bytes());
            hash.update(&input);
            hash.update(32u16.to_be_bytes());
            hash.update(unblinded);
            hash.update(b"Finalize");
            assert_eq!(
                hex::encode(hash.finalize()),
                *expected,
                "vector {n}: output"
            );
        }

        let other = Element::from_bytes(array(POPRF_PK)).unwrap();
        assert!(!poprf::voprf_verify(&other, &blinded, &evaluated, &proof));
        if blinded.len() > 1 {
            let mut swapped = evaluated.clone();
            swapped.swap(0, 1);
            assert!(!poprf::voprf_verify(
                &public_key,
                &blinded,
                &swapped,
                &proof
            ));
        }
    }
}

#[test]
fn elements_and_scalars_refuse_bad_encodings() {
    use crate::oprf::group::ElementError;
    assert_eq!(Element::from_bytes([0; 32]), Err(ElementError::Identity));
    // Not canonical: the field element 2^255 - 1 is over p.
    assert_eq!(Element::from_bytes([0xff; 32]), Err(ElementError::Encoding));
    // A valid element's encoding with its lowest bit set is negative, never canonical.
    let mut odd = array::<32>(POPRF_PK);
    odd[0] |= 1;
    assert_eq!(Element::from_bytes(odd), Err(ElementError::Encoding));
    assert!(group::scalar_from_bytes([0xff; 32]).is_none());
    assert!(Proof::from_bytes([0xff; 64]).is_none());
}

#[test]
fn oversized_inputs_are_refused_not_truncated() {
    let key = ServerSecret::derive(&[1; 32], b"k").unwrap();
    let long = vec![0u8; 70_000];
    assert_eq!(
        key.evaluate(&long, b"info").err(),
        Some(OprfError::InputTooLong { found: 70_000 })
    );
    assert_eq!(
        key.evaluate(b"x", &long).err(),
        Some(OprfError::InputTooLong { found: 70_000 })
    );
}
