//! The batch verifier against ring's one-by-one verification: good batches, each
//! kind of bad signature named by its index, RFC 8032's test vectors, and the one
//! documented difference (a small-order component in `R`, made with the private key).

use super::*;
use crate::signing::SigningKey;
use crate::translog::{Checkpoint, LogHash, SignedForm};

const SEED: [u8; 32] = [7; 32];

fn key() -> SigningKey {
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap())
        .unwrap()
}

fn signed(key: &SigningKey, n: usize) -> Vec<(Vec<u8>, [u8; 64])> {
    (0..n)
        .map(|i| {
            let message = format!("samla-hub.test\n{i}\nmessage {i}\n").into_bytes();
            let signature = key.sign_raw(&message);
            (message, signature)
        })
        .collect()
}

/// Whether the batch equation alone holds over all items (none left to ring).
fn batch_alone(key: &BatchKey, items: &[(Vec<u8>, [u8; 64])]) -> bool {
    let mut transcript = blake3::Hasher::new_keyed(&SEED);
    let mut prepared = Vec::new();
    for (index, (message, signature)) in items.iter().enumerate() {
        let Some(p) = key.prepare(index, message, signature) else {
            return false;
        };
        transcript.update(signature);
        prepared.push(p);
    }
    key.batch_holds(&prepared, transcript)
}

#[test]
fn a_good_batch_verifies_by_the_batch_equation() {
    let key = key();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    let items = signed(&key, 300);
    assert!(batch_alone(&batch, &items));
    assert_eq!(batch.verify(&items, &SEED), Ok(()));
    assert_eq!(batch.verify(&items[..1], &[0; 32]), Ok(()));
    assert_eq!(batch.verify::<Vec<u8>>(&[], &SEED), Ok(()));
}

#[test]
fn a_flipped_signature_byte_is_named() {
    let key = key();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    for at in [0, 31, 32, 63] {
        let mut items = signed(&key, 50);
        items[17].1[at] ^= 0x01;
        assert!(!batch_alone(&batch, &items), "byte {at}");
        assert_eq!(batch.verify(&items, &SEED), Err(vec![17]), "byte {at}");
    }
}

#[test]
fn a_wrong_message_is_named() {
    let key = key();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    let mut items = signed(&key, 50);
    items[3].0.push(b'x');
    items[41].0[0] ^= 0x20;
    assert!(!batch_alone(&batch, &items));
    assert_eq!(batch.verify(&items, &SEED), Err(vec![3, 41]));
}

#[test]
fn a_signature_by_another_key_is_named() {
    let key = key();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    let mut items = signed(&key, 20);
    items[19] = signed(&self::key(), 20).swap_remove(19);
    assert!(!batch_alone(&batch, &items));
    assert_eq!(batch.verify(&items, &SEED), Err(vec![19]));
    // The whole batch against another key: every one refused.
    let other = BatchKey::new(&self::key().verifying_key()).unwrap();
    assert_eq!(other.verify(&items[..3], &SEED), Err(vec![0, 1, 2]));
}

#[test]
fn a_non_canonical_s_is_refused_before_batching() {
    let key = key();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    let mut items = signed(&key, 10);
    // S + ℓ: the same value mod ℓ, which a verifier that reduced S would accept.
    let s = Scalar::from_canonical_bytes(items[4].1[32..].try_into().unwrap()).unwrap();
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    let a = s.to_bytes();
    // ℓ itself, written out: 2^252 + 27742317777372353535851937790883648493.
    let ell: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    for i in 0..32 {
        let total = u16::from(a[i]) + u16::from(ell[i]) + carry;
        sum[i] = total as u8;
        carry = total >> 8;
    }
    assert_eq!(carry, 0, "S + ℓ fits in 32 bytes");
    items[4].1[32..].copy_from_slice(&sum);
    assert!(batch.prepare(4, &items[4].0, &items[4].1).is_none());
    assert_eq!(batch.verify(&items, &SEED), Err(vec![4]));
}

#[test]
fn an_r_that_is_no_point_is_refused() {
    let key = key();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    let mut items = signed(&key, 10);
    // y = 2 is not the y of any point of edwards25519.
    let mut r = [0u8; 32];
    r[0] = 2;
    assert!(CompressedEdwardsY(r).decompress().is_none());
    items[9].1[..32].copy_from_slice(&r);
    assert_eq!(batch.verify(&items, &SEED), Err(vec![9]));
    // y ≥ 2^255 − 19 (here y = p + 1, the encoding of y = 1 unreduced) is refused.
    let mut unreduced = [0xff; 32];
    unreduced[0] = 0xee;
    unreduced[31] = 0x7f;
    assert!(decode_point(&unreduced).is_none());
}

/// RFC 8032 section 7.1, tests 1 to 3: each signature verifies through the batch.
#[test]
fn rfc_8032_test_vectors_verify_through_the_batch() {
    let vectors = [
        (
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (public, message, signature) in vectors {
        let key: VerifyingKey = public.parse().unwrap();
        let batch = BatchKey::new(&key).unwrap();
        let mut sig = [0u8; 64];
        hex::decode_to_slice(signature, &mut sig).unwrap();
        let items = vec![(hex::decode(message).unwrap(), sig)];
        assert!(key.verify_raw(&items[0].0, &sig), "ring accepts {public}");
        assert!(batch_alone(&batch, &items), "{public}");
        assert_eq!(batch.verify(&items, &SEED), Ok(()));
        let mut flipped = items.clone();
        flipped[0].1[40] ^= 0x80;
        assert_eq!(batch.verify(&flipped, &SEED), Err(vec![0]));
    }
}

/// The difference the module documents: with the private scalar, `R` can be given a
/// small-order component; the cofactored batch accepts it, ring refuses it.
#[test]
fn a_small_order_component_in_r_made_with_the_private_key_passes_the_batch_only() {
    let a = Scalar::from_bytes_mod_order([9; 32]);
    let public = EdwardsPoint::mul_base(&a).compress();
    let key: VerifyingKey = hex::encode(public.as_bytes()).parse().unwrap();
    let batch = BatchKey::new(&key).unwrap();
    // y = 0: a point of order 4.
    let torsion = CompressedEdwardsY([0; 32]).decompress().unwrap();
    assert!(torsion.is_small_order());
    let message = b"crafted".to_vec();
    let r = EdwardsPoint::mul_base(&Scalar::from_bytes_mod_order([3; 32])) + torsion;
    let r_bytes = r.compress().to_bytes();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r_bytes)
            .chain_update(public.as_bytes())
            .chain_update(&message)
            .finalize()
            .into(),
    );
    let s = Scalar::from_bytes_mod_order([3; 32]) + k * a;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r_bytes);
    signature[32..].copy_from_slice(s.as_bytes());
    let items = vec![(message, signature)];
    assert!(!key.verify_raw(&items[0].0, &signature));
    assert!(batch_alone(&batch, &items));
    assert_eq!(batch.verify(&items, &SEED), Ok(()));
}

#[test]
fn a_key_of_small_order_is_not_batched() {
    let identity: VerifyingKey = hex::encode(EdwardsPoint::default().compress().as_bytes())
        .parse()
        .unwrap();
    assert_eq!(BatchKey::new(&identity).unwrap_err(), BatchError::Key);
}

/// A checkpoint as [`Checkpoint::sign`] writes it is read in [`SignedForm`]; its
/// signature verifies in a batch; any other note is not read.
#[test]
fn signed_checkpoints_are_read_in_their_form() {
    let key = key();
    let form = SignedForm::new("samla-hub.test", &key.verifying_key()).unwrap();
    let heads: Vec<Checkpoint> = (0..40u64)
        .map(|size| Checkpoint {
            origin: "samla-hub.test".to_owned(),
            size,
            root: LogHash([size as u8; 32]),
        })
        .collect();
    let items: Vec<(Vec<u8>, [u8; 64])> = heads
        .iter()
        .map(|head| form.signature(head, &head.sign(&key).unwrap()).unwrap())
        .collect();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    assert!(batch_alone(&batch, &items));
    let note = heads[5].sign(&key).unwrap();
    assert!(
        form.signature(&heads[6], &note).is_none(),
        "another checkpoint"
    );
    let mut longer = note.clone();
    longer.extend_from_slice(b"\xe2\x80\x94 other AAAA\n");
    assert!(
        form.signature(&heads[5], &longer).is_none(),
        "a second line"
    );
    let other = SignedForm::new("samla-hub.test", &self::key().verifying_key()).unwrap();
    assert!(
        other.signature(&heads[5], &note).is_none(),
        "another key id"
    );
}

/// A note is split at its stored size into the root it claims, its signed text and
/// its signature, exactly as [`SignedForm::signature`] reads it for that root; a note
/// of another size, origin or form is not split.
#[test]
fn signed_checkpoints_are_split_at_their_stored_size() {
    let key = key();
    let form = SignedForm::new("samla-hub.test", &key.verifying_key()).unwrap();
    for size in [0u64, 1, 9, 10, 12_345, u64::from(u32::MAX) + 7] {
        let head = Checkpoint {
            origin: "samla-hub.test".to_owned(),
            size,
            root: LogHash([(size % 251) as u8 ^ 0x5a; 32]),
        };
        let note = head.sign(&key).unwrap();
        let (root, text, signature) = form.split(size, &note).unwrap();
        assert_eq!(root, head.root);
        assert_eq!(
            Some((text, signature)),
            form.signature(&head, &note),
            "size {size}"
        );
        assert!(form.split(size + 1, &note).is_none(), "another size");
        assert!(form.split(size * 10, &note).is_none() || size == 0);
    }
    let head = Checkpoint {
        origin: "samla-hub.other".to_owned(),
        size: 3,
        root: LogHash([1; 32]),
    };
    assert!(
        form.split(3, &head.sign(&key).unwrap()).is_none(),
        "another origin"
    );
    let head = Checkpoint {
        origin: "samla-hub.test".to_owned(),
        size: 3,
        root: LogHash([1; 32]),
    };
    let mut note = head.sign(&key).unwrap();
    // One character of the root changed: the note is still split (the signature, not
    // the form, refuses it), with the root it now claims.
    let at = "samla-hub.test\n3\n".len();
    note[at] = if note[at] == b'B' { b'C' } else { b'B' };
    let (root, _, _) = form.split(3, &note).unwrap();
    assert_ne!(root, head.root);
    note.truncate(at + 10);
    assert!(form.split(3, &note).is_none(), "a cut note");
}
