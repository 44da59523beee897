#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing,
    reason = "test arithmetic on small known values"
)]

use proptest::prelude::*;

use super::*;

fn key() -> SigningKey {
    SigningKey::from_seed([42; 32])
}

/// A ledger of `n` entries with a checkpoint every `every` entries and at the end.
fn build(n: u64, every: u64) -> (Vec<Entry>, Vec<Checkpoint>) {
    let key = key();
    let mut ledger = Ledger::new();
    let mut checkpoints = Vec::new();
    for i in 1..=n {
        ledger
            .append(
                1_767_225_600 + i as i64,
                "result.changed",
                format!("{{\"i\":{i}}}").as_bytes(),
            )
            .unwrap();
        if i % every == 0 || i == n {
            checkpoints.push(ledger.checkpoint(&key, 1_767_225_600 + i as i64).unwrap());
        }
    }
    (ledger.entries().to_vec(), checkpoints)
}

#[test]
fn the_canonical_form_matches_the_documented_format() {
    // Computed independently: python3 hashlib over the documented text.
    let mut ledger = Ledger::new();
    let entry = ledger
        .append(1_767_225_600, "scan.run", b"{\"run\":1}")
        .unwrap()
        .clone();
    assert_eq!(
        hex::encode(entry.payload_sha256),
        "1e5cd4c674c30be1aa36674f4e1f6256211744826a848d9c69f5a60206e5c252"
    );
    assert_eq!(
        hex::encode(entry.hash()),
        "119955249251be949ea98f494ecaa77cd7cfa541a9e070a3099c1e1ec5f40349"
    );
    assert_eq!(entry.prev, GENESIS);
    let second = ledger
        .append(1_767_225_601, "evidence.added", b"{}")
        .unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(second.prev, entry.hash());
}

#[test]
fn an_intact_ledger_verifies() {
    let (entries, checkpoints) = build(25, 10);
    let verified = verify(&entries, &checkpoints, &key().public()).unwrap();
    assert_eq!(
        verified,
        Verified {
            entries: 25,
            checkpoints: 3,
            signed_through: 25,
            unsigned_tail: 0
        }
    );
}

#[test]
fn entries_after_the_last_checkpoint_are_reported_as_unsigned() {
    let (mut entries, checkpoints) = build(10, 10);
    let mut ledger = Ledger::resume(entries.clone());
    ledger.append(1, "scan.run", b"x").unwrap();
    entries = ledger.entries().to_vec();
    let verified = verify(&entries, &checkpoints, &key().public()).unwrap();
    assert_eq!((verified.signed_through, verified.unsigned_tail), (10, 1));
}

#[test]
fn each_kind_of_tampering_is_named_at_the_first_bad_entry() {
    let public = key().public();
    let (entries, checkpoints) = build(12, 4);

    let mut edited = entries.clone();
    edited[5].kind = "evidence.deleted".into();
    assert_eq!(
        verify(&edited, &checkpoints, &public),
        Err(Broken::Chain { seq: 7 })
    );

    let mut edited_last = entries.clone();
    edited_last[11].time += 1;
    assert_eq!(
        verify(&edited_last, &checkpoints, &public),
        Err(Broken::Head { seq: 12 })
    );

    let mut deleted = entries.clone();
    deleted.remove(3);
    assert_eq!(
        verify(&deleted, &checkpoints, &public),
        Err(Broken::Sequence {
            expected: 4,
            found: 5
        })
    );

    let mut inserted = entries.clone();
    inserted.insert(2, entries[2].clone());
    assert_eq!(
        verify(&inserted, &checkpoints, &public),
        Err(Broken::Sequence {
            expected: 4,
            found: 3
        })
    );

    let mut reordered = entries.clone();
    reordered.swap(6, 7);
    assert_eq!(
        verify(&reordered, &checkpoints, &public),
        Err(Broken::Sequence {
            expected: 7,
            found: 8
        })
    );

    let truncated = entries[..10].to_vec();
    assert_eq!(
        verify(&truncated, &checkpoints, &public),
        Err(Broken::Missing { seq: 12 })
    );

    let other = SigningKey::from_seed([1; 32]).public();
    assert_eq!(
        verify(&entries, &checkpoints, &other),
        Err(Broken::Signature { seq: 4 })
    );

    let mut forged = checkpoints.clone();
    forged[1].head = [9; 32];
    assert_eq!(
        verify(&entries, &forged, &public),
        Err(Broken::Signature { seq: 8 })
    );

    // Rewriting the whole chain after an edit still breaks every signed head.
    let mut rewritten = entries.clone();
    rewritten[1].payload_sha256 = [7; 32];
    for i in 2..rewritten.len() {
        rewritten[i].prev = rewritten[i - 1].hash();
    }
    assert_eq!(
        verify(&rewritten, &checkpoints, &public),
        Err(Broken::Head { seq: 4 })
    );
}

#[test]
fn payloads_are_checked_against_their_entries() {
    let mut ledger = Ledger::new();
    let entry = ledger
        .append(1, "evidence.added", b"{\"sha256\":\"ab\"}")
        .unwrap()
        .clone();
    assert_eq!(check_payload(&entry, b"{\"sha256\":\"ab\"}"), Ok(()));
    assert_eq!(
        check_payload(&entry, b"{\"sha256\":\"ac\"}"),
        Err(Broken::Payload { seq: 1 })
    );
}

#[test]
fn segments_verify_from_their_anchor() {
    let (entries, checkpoints) = build(30, 10);
    let anchor = entries[9].hash();
    let segment = &entries[10..20];
    let verified = verify_segment(segment, &checkpoints, &key().public(), 11, anchor).unwrap();
    assert_eq!((verified.entries, verified.signed_through), (10, 20));
    assert_eq!(
        verify_segment(segment, &checkpoints, &key().public(), 11, [0; 32]),
        Err(Broken::Chain { seq: 11 })
    );
}

#[test]
fn kinds_must_be_one_line_and_keys_round_trip() {
    let mut ledger = Ledger::new();
    assert!(matches!(
        ledger.append(1, "a\nb", b""),
        Err(LedgerError::BadKind(_))
    ));
    assert!(matches!(
        ledger.append(1, "", b""),
        Err(LedgerError::BadKind(_))
    ));
    assert_eq!(ledger.checkpoint(&key(), 1), Err(LedgerError::Empty));
    let public = key().public();
    assert_eq!(PublicKey::from_hex(&public.to_hex()), Ok(public));
    assert_eq!(PublicKey::from_hex("zz"), Err(LedgerError::BadKey));
    assert_eq!(SigningKey::from_seed(key().to_seed()).public(), public);
    assert!(
        !format!("{:?}", key()).contains(&hex::encode([42_u8; 32])),
        "the secret never reaches Debug output"
    );
    let generated = SigningKey::generate().unwrap();
    assert_ne!(
        generated.to_seed(),
        SigningKey::generate().unwrap().to_seed()
    );
}

#[derive(Debug, Clone)]
enum Tamper {
    EditKind(usize),
    EditTime(usize),
    EditPayload(usize),
    Delete(usize),
    Duplicate(usize),
    Swap(usize),
    TruncateTail(usize),
    SwapKey,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        any::<usize>().prop_map(Tamper::EditKind),
        any::<usize>().prop_map(Tamper::EditTime),
        any::<usize>().prop_map(Tamper::EditPayload),
        any::<usize>().prop_map(Tamper::Delete),
        any::<usize>().prop_map(Tamper::Duplicate),
        any::<usize>().prop_map(Tamper::Swap),
        (1usize..5).prop_map(Tamper::TruncateTail),
        Just(Tamper::SwapKey),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every tampering of a checkpointed ledger is detected, at or before the entry it touched.
    #[test]
    fn random_tampering_is_always_detected(n in 2u64..60, every in 1u64..12, t in tamper()) {
        let (mut entries, checkpoints) = build(n, every);
        let mut public = key().public();
        let len = entries.len();
        let touched: u64 = match t {
            Tamper::EditKind(i) => { let i = i % len; entries[i].kind.push('x'); i as u64 + 1 }
            Tamper::EditTime(i) => { let i = i % len; entries[i].time -= 1; i as u64 + 1 }
            Tamper::EditPayload(i) => { let i = i % len; entries[i].payload_sha256[0] ^= 1; i as u64 + 1 }
            Tamper::Delete(i) => { let i = i % len; entries.remove(i); i as u64 + 1 }
            Tamper::Duplicate(i) => { let i = i % len; let e = entries[i].clone(); entries.insert(i, e); i as u64 + 1 }
            Tamper::Swap(i) => { let i = i % (len - 1); entries.swap(i, i + 1); i as u64 + 1 }
            Tamper::TruncateTail(k) => { let k = k.min(len - 1); entries.truncate(len - k); (len - k) as u64 + 1 }
            Tamper::SwapKey => { public = SigningKey::from_seed([3; 32]).public(); 1 }
        };
        let result = verify(&entries, &checkpoints, &public);
        prop_assert!(result.is_err(), "{t:?} went undetected");
        let broken = result.unwrap_err();
        // Chain and sequence breaks surface right after the touched entry; signature and head
        // breaks at the first checkpoint at or after it.
        match broken {
            Broken::Chain { seq } | Broken::Sequence { found: seq, .. } => prop_assert!(seq <= touched + 1, "{t:?}: {broken}"),
            Broken::Head { seq } | Broken::Missing { seq } => prop_assert!(seq >= touched.saturating_sub(1), "{t:?}: {broken}"),
            Broken::Signature { .. } | Broken::Payload { .. } | Broken::Altered { .. } | Broken::MissingPayload { .. } => {}
        }
    }
}
