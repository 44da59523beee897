//! The evidence ledger: an append-only hash chain with signed checkpoints.
//!
//! Pure: no database, no clock, no file system. Callers give times and payloads; the store
//! keeps entries and checkpoints. The format is specified in `docs/ledger.md` so that an
//! auditor can verify a ledger with a short script of their own:
//!
//! - an entry's hash is SHA-256 of the UTF-8 text
//!   `attest-ledger-entry-v1\n{seq}\n{time}\n{kind}\n{payload_sha256}\n{prev}\n`, hashes in
//!   lowercase hex; `prev` of the first entry is 64 zeros;
//! - a checkpoint signs (Ed25519) the text
//!   `attest-ledger-checkpoint-v1\n{seq}\n{head}\n{time}\n`, where `head` is the hash of entry
//!   `seq`.
//!
//! ```
//! use attest_ledger::{Ledger, SigningKey, verify};
//! let key = SigningKey::from_seed([7; 32]);
//! let mut ledger = Ledger::new();
//! ledger.append(1_767_225_600, "scan.run", b"{\"run\":1}").unwrap();
//! let checkpoint = ledger.checkpoint(&key, 1_767_225_601).unwrap();
//! let verified = verify(ledger.entries(), &[checkpoint], &key.public()).unwrap();
//! assert_eq!(verified.entries, 1);
//! ```

#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::arithmetic_side_effects
)]

use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev` of the first entry.
pub const GENESIS: Hash = [0; 32];

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position, from 1, without gaps.
    pub seq: u64,
    /// Unix seconds.
    pub time: i64,
    /// What happened, e.g. `scan.run`, `evidence.added`; no newline.
    pub kind: String,
    /// SHA-256 of the canonical payload.
    pub payload_sha256: Hash,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev: Hash,
}

impl Entry {
    /// The canonical text that is hashed.
    pub fn canonical(&self) -> String {
        format!(
            "attest-ledger-entry-v1\n{}\n{}\n{}\n{}\n{}\n",
            self.seq,
            self.time,
            self.kind,
            hex::encode(self.payload_sha256),
            hex::encode(self.prev)
        )
    }

    /// The entry's hash.
    pub fn hash(&self) -> Hash {
        entry_hash(
            self.seq,
            self.time,
            &self.kind,
            &self.payload_sha256,
            &self.prev,
        )
    }
}

/// The hash of an entry with these fields: SHA-256 of [`Entry::canonical`], computed without
/// building the text (verification hashes millions of entries).
pub fn entry_hash(seq: u64, time: i64, kind: &str, payload_sha256: &Hash, prev: &Hash) -> Hash {
    let mut numbers = itoa::Buffer::new();
    let mut hasher = Sha256::new();
    hasher.update(b"attest-ledger-entry-v1\n");
    hasher.update(numbers.format(seq).as_bytes());
    hasher.update(b"\n");
    hasher.update(numbers.format(time).as_bytes());
    hasher.update(b"\n");
    hasher.update(kind.as_bytes());
    hasher.update(b"\n");
    let mut hex_digits = [0_u8; 64];
    for hash in [payload_sha256, prev] {
        // A 32-byte hash always fits 64 hex digits.
        if hex::encode_to_slice(hash, &mut hex_digits).is_ok() {
            hasher.update(hex_digits);
        }
        hasher.update(b"\n");
    }
    hasher.finalize().into()
}

/// SHA-256 of a payload.
pub fn payload_hash(payload: &[u8]) -> Hash {
    Sha256::digest(payload).into()
}

/// A signed statement that the chain up to `seq` has hash `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last entry covered.
    pub seq: u64,
    /// Hash of entry `seq`.
    pub head: Hash,
    /// Unix seconds.
    pub time: i64,
    /// Ed25519 signature of [`Checkpoint::message`].
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The canonical text that is signed.
    pub fn message(seq: u64, head: &Hash, time: i64) -> String {
        format!(
            "attest-ledger-checkpoint-v1\n{seq}\n{}\n{time}\n",
            hex::encode(head)
        )
    }
}

/// The organisation's signing key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // INVARIANT: the secret never reaches a log.
        f.debug_struct("SigningKey")
            .field("public", &self.public().to_hex())
            .finish_non_exhaustive()
    }
}

/// The public half, shipped to auditors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, LedgerError> {
        let mut seed = [0_u8; 32];
        getrandom::fill(&mut seed).map_err(|e| LedgerError::Random(e.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    /// The key with this 32-byte seed (the secret).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, to store with restrictive permissions.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs a checkpoint saying that entry `seq` hashes to `head`.
    pub fn checkpoint(&self, seq: u64, head: Hash, time: i64) -> Checkpoint {
        let signature = self.sign(&Checkpoint::message(seq, &head, time));
        Checkpoint {
            seq,
            head,
            time,
            signature,
        }
    }

    /// Signs arbitrary bytes (an auditor package's manifest).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    fn sign(&self, message: &str) -> [u8; 64] {
        self.0.sign(message.as_bytes()).to_bytes()
    }
}

impl PublicKey {
    /// Lowercase hex of the 32 key bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, LedgerError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(LedgerError::BadKey)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| LedgerError::BadKey)
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verifies_bytes(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify(message, &signature).is_ok()
    }

    fn verifies(&self, message: &str, signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify(message.as_bytes(), &signature).is_ok()
    }
}

/// Why the ledger could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// An entry kind contains a newline (or is empty).
    #[error("invalid entry kind {0:?}: it must be non-empty and on one line")]
    BadKind(String),
    /// There is nothing to checkpoint.
    #[error("the ledger is empty: nothing to sign")]
    Empty,
    /// The random source failed.
    #[error("cannot read random bytes for a new key: {0}")]
    Random(String),
    /// A public key is malformed.
    #[error("not an Ed25519 public key (64 hex digits)")]
    BadKey,
}

/// An in-memory ledger, for building entries in order.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Ledger::default()
    }

    /// Continues after existing `entries` (already verified by the caller).
    pub fn resume(entries: Vec<Entry>) -> Self {
        Ledger { entries }
    }

    /// Entries so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends an entry for `payload` (its canonical bytes) and returns it.
    pub fn append(&mut self, time: i64, kind: &str, payload: &[u8]) -> Result<&Entry, LedgerError> {
        if kind.is_empty() || kind.contains(['\n', '\r']) {
            return Err(LedgerError::BadKind(kind.to_owned()));
        }
        let (seq, prev) = match self.entries.last() {
            Some(last) => (last.seq.saturating_add(1), last.hash()),
            None => (1, GENESIS),
        };
        self.entries.push(Entry {
            seq,
            time,
            kind: kind.to_owned(),
            payload_sha256: payload_hash(payload),
            prev,
        });
        self.entries.last().ok_or(LedgerError::Empty)
    }

    /// Signs the current head.
    pub fn checkpoint(&self, key: &SigningKey, time: i64) -> Result<Checkpoint, LedgerError> {
        let last = self.entries.last().ok_or(LedgerError::Empty)?;
        Ok(sign_checkpoint(key, last, time))
    }
}

/// Signs a checkpoint at `entry`.
pub fn sign_checkpoint(key: &SigningKey, entry: &Entry, time: i64) -> Checkpoint {
    key.checkpoint(entry.seq, entry.hash(), time)
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints whose signature and head were checked.
    pub checkpoints: u64,
    /// The last entry covered by a valid checkpoint (0 if none).
    pub signed_through: u64,
    /// Entries after the last checkpoint: intact as a chain, but not yet signed.
    pub unsigned_tail: u64,
}

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    /// Entry numbers skip, repeat or go backwards.
    #[error(
        "entry {found}: expected entry {expected} (entries were deleted, inserted or reordered)"
    )]
    Sequence {
        /// The number expected at this position.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// An entry does not chain to the one before it.
    #[error("entry {seq}: its previous-entry hash does not match entry {}; it or an earlier entry was changed", seq.saturating_sub(1))]
    Chain {
        /// The entry whose `prev` is wrong.
        seq: u64,
    },
    /// A checkpoint's signature does not verify with the public key.
    #[error("checkpoint at entry {seq}: the signature does not verify with this public key")]
    Signature {
        /// The checkpoint's entry.
        seq: u64,
    },
    /// A checkpoint signs a head other than the entry's hash.
    #[error(
        "entry {seq}: its hash differs from the one signed at a checkpoint; the entry was changed"
    )]
    Head {
        /// The entry.
        seq: u64,
    },
    /// A checkpoint names an entry that is not in the ledger.
    #[error("checkpoint at entry {seq}: no such entry (the ledger was truncated)")]
    Missing {
        /// The missing entry.
        seq: u64,
    },
    /// An entry no longer hashes to the value recorded for it when it was appended.
    #[error(
        "entry {seq}: its content no longer hashes to the value recorded when it was appended; the entry was changed"
    )]
    Altered {
        /// The entry.
        seq: u64,
    },
    /// An entry's payload is gone from the store.
    #[error("entry {seq}: its payload is missing from the store")]
    MissingPayload {
        /// The entry.
        seq: u64,
    },
    /// A payload's hash differs from the one the entry records.
    #[error("entry {seq}: its payload does not match its hash; the payload was changed")]
    Payload {
        /// The entry.
        seq: u64,
    },
}

impl Broken {
    /// The entry the problem was found at.
    pub fn seq(&self) -> u64 {
        match self {
            Broken::Sequence { found, .. } => *found,
            Broken::Chain { seq }
            | Broken::Signature { seq }
            | Broken::Head { seq }
            | Broken::Missing { seq }
            | Broken::Altered { seq }
            | Broken::MissingPayload { seq }
            | Broken::Payload { seq } => *seq,
        }
    }
}

/// Verifies a whole ledger: numbering, chain, and every checkpoint's head and signature.
pub fn verify(
    entries: &[Entry],
    checkpoints: &[Checkpoint],
    key: &PublicKey,
) -> Result<Verified, Broken> {
    let mut verifier = Verifier::whole(key, checkpoints.to_vec());
    for entry in entries {
        verifier.push(entry)?;
    }
    verifier.finish()
}

/// Verifies a segment that starts at entry `first_seq` whose predecessor hashes to `anchor`
/// (an auditor package holds the segment of its period).
pub fn verify_segment(
    entries: &[Entry],
    checkpoints: &[Checkpoint],
    key: &PublicKey,
    first_seq: u64,
    anchor: Hash,
) -> Result<Verified, Broken> {
    let mut verifier = Verifier::segment(key, checkpoints.to_vec(), first_seq, anchor);
    for entry in entries {
        verifier.push(entry)?;
    }
    verifier.finish()
}

/// Verifies entries one at a time, in order, so a ledger of any length is checked in
/// constant memory. Each checkpoint is checked (signature, then head) when its entry passes.
#[derive(Debug)]
pub struct Verifier<'k> {
    key: &'k PublicKey,
    /// Sorted by `seq`.
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    first_seq: u64,
    expected: u64,
    prev: Hash,
    whole: bool,
    signed_through: u64,
    checked: u64,
}

impl<'k> Verifier<'k> {
    /// A verifier of a whole ledger, from entry 1.
    pub fn whole(key: &'k PublicKey, checkpoints: Vec<Checkpoint>) -> Self {
        Self::new(key, checkpoints, 1, GENESIS, true)
    }

    /// A verifier of a segment starting at `first_seq`, whose predecessor hashes to `anchor`.
    pub fn segment(
        key: &'k PublicKey,
        checkpoints: Vec<Checkpoint>,
        first_seq: u64,
        anchor: Hash,
    ) -> Self {
        Self::new(key, checkpoints, first_seq, anchor, false)
    }

    fn new(
        key: &'k PublicKey,
        mut checkpoints: Vec<Checkpoint>,
        first_seq: u64,
        anchor: Hash,
        whole: bool,
    ) -> Self {
        checkpoints.sort_by_key(|c| c.seq);
        Verifier {
            key,
            checkpoints,
            next_checkpoint: 0,
            first_seq,
            expected: first_seq,
            prev: anchor,
            whole,
            signed_through: 0,
            checked: 0,
        }
    }

    /// Checks the next entry and returns its hash.
    pub fn push(&mut self, entry: &Entry) -> Result<Hash, Broken> {
        if entry.seq == self.expected && entry.prev != self.prev {
            return Err(Broken::Chain { seq: entry.seq });
        }
        self.push_fields(entry.seq, entry.time, &entry.kind, &entry.payload_sha256)
    }

    /// Checks the next entry given by its fields, chaining it to the entry before, and
    /// returns its hash (for stores that recompute `prev` rather than keep it).
    pub fn push_fields(
        &mut self,
        seq: u64,
        time: i64,
        kind: &str,
        payload_sha256: &Hash,
    ) -> Result<Hash, Broken> {
        if seq != self.expected {
            return Err(Broken::Sequence {
                expected: self.expected,
                found: seq,
            });
        }
        let hash = entry_hash(seq, time, kind, payload_sha256, &self.prev);
        let entry_seq = seq;
        self.prev = hash;
        self.expected = self.expected.saturating_add(1);
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            if checkpoint.seq > entry_seq {
                break;
            }
            self.checked = self.checked.saturating_add(1);
            check_signature(self.key, checkpoint)?;
            if checkpoint.seq == entry_seq {
                if checkpoint.head != hash {
                    return Err(Broken::Head { seq: entry_seq });
                }
                self.signed_through = entry_seq;
            }
            // A checkpoint before the first entry belongs to an earlier period.
            self.next_checkpoint = self.next_checkpoint.saturating_add(1);
        }
        Ok(hash)
    }

    /// Checks the checkpoints past the last entry and says what was established.
    pub fn finish(mut self) -> Result<Verified, Broken> {
        for checkpoint in self
            .checkpoints
            .get(self.next_checkpoint..)
            .unwrap_or_default()
        {
            self.checked = self.checked.saturating_add(1);
            check_signature(self.key, checkpoint)?;
            // In a whole ledger a checkpoint past the end means entries were cut off; after a
            // segment it belongs to a later period.
            if self.whole {
                return Err(Broken::Missing {
                    seq: checkpoint.seq,
                });
            }
        }
        let count = self.expected.saturating_sub(self.first_seq);
        let last = self.expected.saturating_sub(1);
        Ok(Verified {
            entries: count,
            checkpoints: self.checked,
            signed_through: self.signed_through,
            unsigned_tail: if count == 0 {
                0
            } else {
                last.saturating_sub(self.signed_through.max(self.first_seq.saturating_sub(1)))
            },
        })
    }
}

fn check_signature(key: &PublicKey, checkpoint: &Checkpoint) -> Result<(), Broken> {
    if key.verifies(
        &Checkpoint::message(checkpoint.seq, &checkpoint.head, checkpoint.time),
        &checkpoint.signature,
    ) {
        Ok(())
    } else {
        Err(Broken::Signature {
            seq: checkpoint.seq,
        })
    }
}

/// Checks that `payload` is the one entry `entry` records.
pub fn check_payload(entry: &Entry, payload: &[u8]) -> Result<(), Broken> {
    if payload_hash(payload) == entry.payload_sha256 {
        Ok(())
    } else {
        Err(Broken::Payload { seq: entry.seq })
    }
}

#[cfg(test)]
mod tests;
