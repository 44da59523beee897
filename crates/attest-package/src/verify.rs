//! Checking a package: [`Package::open`] reads its manifest, [`Package::verify`] checks the
//! signature, every file, the ledger segment and the evidence records.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{BufRead as _, Read, Seek};

use attest_ledger::{Checkpoint, Entry, GENESIS, Hash, PublicKey, Verifier};
use attest_model::EvidenceRecord;
use attest_store::payload::{EVIDENCE_ADDED, evidence_added};
use sha2::{Digest as _, Sha256};

use crate::PackageError;
use crate::format::{CheckpointLine, EntryLine, EvidenceLine, FORMAT, FileEntry, Manifest};

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every check passed.
    Intact(Box<Intact>),
    /// The first check that failed.
    Tampered {
        /// What was found wrong, in one line.
        reason: String,
    },
}

/// An intact package: what was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Intact {
    /// The key the manifest's signature verified with.
    pub public_key: PublicKey,
    /// Files that match their SHA-256 in the manifest.
    pub files: usize,
    /// The first ledger entry of the segment.
    pub first_seq: u64,
    /// The last ledger entry of the segment.
    pub last_seq: u64,
    /// Checkpoint signatures checked.
    pub checkpoints: u64,
    /// Evidence files checked.
    pub evidence_files: usize,
    /// What the reader should know about what was verified.
    pub notes: Vec<VerifyNote>,
}

/// A remark on an intact package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyNote {
    /// No key was given: the package was verified with its own copy of the key.
    EmbeddedKey(PublicKey),
    /// Entries after the last checkpoint: chained, not signed.
    UnsignedTail {
        /// The first unsigned entry.
        first: u64,
        /// The last entry of the segment.
        last: u64,
    },
    /// Evidence records whose `evidence.added` entries are outside the segment.
    EvidenceOutsideSegment(usize),
}

impl fmt::Display for VerifyNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyNote::EmbeddedKey(key) => write!(
                f,
                "verified with the public key inside the package ({}); compare it with the key the organisation published, or pass --public-key",
                key.to_hex()
            ),
            VerifyNote::UnsignedTail { first, last } => write!(
                f,
                "entries {first} to {last} are after the last checkpoint: chained but not signed"
            ),
            VerifyNote::EvidenceOutsideSegment(count) => write!(
                f,
                "{count} evidence record(s) were added outside this ledger segment (before or after the period); their files match the signed manifest"
            ),
        }
    }
}

/// A package whose manifest has been read, ready to verify.
pub struct Package<R> {
    name: String,
    zip: zip::ZipArchive<R>,
    manifest_bytes: Vec<u8>,
    manifest: Manifest,
}

impl<R> fmt::Debug for Package<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("name", &self.name)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

/// Why a package is not intact.
#[allow(
    clippy::unnecessary_wraps,
    reason = "shaped for `return tampered(...)` in a function returning a result"
)]
fn tampered(reason: impl Into<String>) -> Result<VerifyOutcome, PackageError> {
    Ok(VerifyOutcome::Tampered {
        reason: reason.into(),
    })
}

fn parse_hash(text: &str) -> Option<Hash> {
    hex::decode(text).ok().and_then(|b| b.try_into().ok())
}

fn parse_signature(text: &str) -> Option<[u8; 64]> {
    hex::decode(text).ok().and_then(|b| b.try_into().ok())
}

impl<R: Read + Seek> Package<R> {
    /// Opens the zip in `reader` and reads its manifest; `name` (its path) names it in errors.
    pub fn open(reader: R, name: &str) -> Result<Self, PackageError> {
        let mut zip = zip::ZipArchive::new(reader).map_err(|error| PackageError::NotZip {
            package: name.to_owned(),
            error,
        })?;
        let manifest_bytes = read_member(&mut zip, name, "manifest.json")?;
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|error| PackageError::Manifest {
                package: name.to_owned(),
                error,
            })?;
        if manifest.format != FORMAT {
            return Err(PackageError::Format {
                package: name.to_owned(),
                format: manifest.format,
            });
        }
        Ok(Package {
            name: name.to_owned(),
            zip,
            manifest_bytes,
            manifest,
        })
    }

    fn read(&mut self, member: &str) -> Result<Vec<u8>, PackageError> {
        read_member(&mut self.zip, &self.name, member)
    }

    /// Verifies the package with `public_key`, the key the organisation published; without
    /// one, with the copy inside the package (which only shows the package consistent with
    /// itself, and says so in a [`VerifyNote::EmbeddedKey`]).
    pub fn verify(mut self, public_key: Option<&PublicKey>) -> Result<VerifyOutcome, PackageError> {
        let mut notes = Vec::new();
        let key = if let Some(given) = public_key {
            *given
        } else {
            let text = String::from_utf8_lossy(&self.read("public-key.txt")?).into_owned();
            let key = PublicKey::from_hex(&text).map_err(PackageError::PublicKey)?;
            notes.push(VerifyNote::EmbeddedKey(key));
            key
        };
        if self.manifest.public_key != key.to_hex() {
            return tampered(format!(
                "the manifest names public key {}, not {}",
                self.manifest.public_key,
                key.to_hex()
            ));
        }
        let signature =
            parse_signature(String::from_utf8_lossy(&self.read("manifest.sig")?).trim());
        if !signature.is_some_and(|s| key.verifies_bytes(&self.manifest_bytes, &s)) {
            return tampered(format!(
                "the manifest's signature does not verify with key {}",
                key.to_hex()
            ));
        }
        // Every file, against the manifest.
        let listed: BTreeMap<&str, &FileEntry> = self
            .manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f))
            .collect();
        let names: Vec<String> = self
            .zip
            .file_names()
            .map(|n| n.map(std::borrow::Cow::into_owned))
            .collect::<Result<_, _>>()
            .map_err(|error| PackageError::Archive {
                package: self.name.clone(),
                error,
            })?;
        for name in &names {
            if name != "manifest.json"
                && name != "manifest.sig"
                && !name.ends_with('/')
                && !listed.contains_key(name.as_str())
            {
                return tampered(format!("{name} is not in the manifest (a file was added)"));
            }
        }
        for (name, entry) in &listed {
            let Ok(mut file) = self.zip.by_name(name) else {
                return tampered(format!(
                    "{name} is in the manifest but not in the package (a file was removed)"
                ));
            };
            let mut hasher = Sha256::new();
            let size = std::io::copy(&mut file, &mut hasher)?;
            if hex::encode(hasher.finalize()) != entry.sha256 || size != entry.size {
                return tampered(format!(
                    "{name} does not match its SHA-256 in the manifest (it was changed)"
                ));
            }
        }
        let files = listed.len();
        // The ledger segment.
        let mut checkpoints = Vec::new();
        for line in read_member(&mut self.zip, &self.name, "ledger/checkpoints.jsonl")?.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let c: CheckpointLine =
                serde_json::from_str(&line).map_err(|e| PackageError::Malformed {
                    member: "ledger/checkpoints.jsonl",
                    problem: e.to_string(),
                })?;
            let (Some(head), Some(signature)) =
                (parse_hash(&c.head), parse_signature(&c.signature))
            else {
                return Err(PackageError::Malformed {
                    member: "ledger/checkpoints.jsonl",
                    problem: format!("checkpoint at entry {} is malformed", c.seq),
                });
            };
            checkpoints.push(Checkpoint {
                seq: c.seq,
                head,
                time: c.time,
                signature,
            });
        }
        let first = self.manifest.ledger.first_seq;
        let anchor = if first <= 1 {
            GENESIS
        } else {
            match checkpoints
                .iter()
                .find(|c| c.seq == first.saturating_sub(1))
            {
                Some(c) => c.head,
                None => {
                    return tampered(format!(
                        "no signed checkpoint at entry {} anchors the segment",
                        first.saturating_sub(1)
                    ));
                }
            }
        };
        let mut verifier = Verifier::segment(&key, checkpoints, first, anchor);
        let mut evidence_entries: HashMap<i64, (u64, String)> = HashMap::new();
        {
            let entries = self
                .zip
                .by_name("ledger/entries.jsonl")
                .map_err(|_| PackageError::MissingEntries)?;
            for line in std::io::BufReader::with_capacity(1 << 20, entries).lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let e: EntryLine =
                    serde_json::from_str(&line).map_err(|err| PackageError::Malformed {
                        member: "ledger/entries.jsonl",
                        problem: err.to_string(),
                    })?;
                let (Some(payload_sha256), Some(prev)) =
                    (parse_hash(&e.payload_sha256), parse_hash(&e.prev))
                else {
                    return Err(PackageError::Malformed {
                        member: "ledger/entries.jsonl",
                        problem: format!("entry {} has a malformed hash", e.seq),
                    });
                };
                let entry = Entry {
                    seq: e.seq,
                    time: e.time,
                    kind: e.kind,
                    payload_sha256,
                    prev,
                };
                if let Err(broken) = attest_ledger::check_payload(&entry, e.payload.as_bytes()) {
                    return tampered(broken.to_string());
                }
                if let Err(broken) = verifier.push(&entry) {
                    return tampered(broken.to_string());
                }
                if entry.kind == EVIDENCE_ADDED
                    && let Ok(value) = serde_json::from_str::<serde_json::Value>(&e.payload)
                    && let Some(id) = value.get("id").and_then(serde_json::Value::as_i64)
                {
                    evidence_entries.insert(id, (entry.seq, e.payload));
                }
            }
        }
        let segment = match verifier.finish() {
            Ok(segment) => segment,
            Err(broken) => return tampered(broken.to_string()),
        };
        let last = first.saturating_add(segment.entries).saturating_sub(1);
        if last != self.manifest.ledger.last_seq {
            return tampered(format!(
                "the segment ends at entry {last}, the manifest says {}",
                self.manifest.ledger.last_seq
            ));
        }
        if segment.unsigned_tail > 0 {
            notes.push(VerifyNote::UnsignedTail {
                first: last.saturating_sub(segment.unsigned_tail).saturating_add(1),
                last,
            });
        }
        // Evidence.
        let records: Vec<EvidenceLine> =
            serde_json::from_slice(&self.read("evidence/evidence.json")?).map_err(|e| {
                PackageError::Malformed {
                    member: "evidence/evidence.json",
                    problem: e.to_string(),
                }
            })?;
        let mut outside = 0;
        for line in &records {
            let content = self.read(&line.path)?;
            if hex::encode(Sha256::digest(&content)) != line.sha256 {
                return tampered(format!(
                    "evidence #{} ({}): the file does not match its SHA-256",
                    line.id, line.file_name
                ));
            }
            let Some((seq, payload)) = evidence_entries.get(&line.id) else {
                outside += 1;
                continue;
            };
            let record = EvidenceRecord {
                id: line.id,
                control: line.control.clone(),
                file_name: line.file_name.clone(),
                sha256: line.sha256.clone(),
                size: line.size,
                note: line.note.clone(),
                effective_date: line.effective_date.parse().unwrap_or_default(),
                added_at: line.added_at.parse().unwrap_or_default(),
                added_by: line.added_by.clone(),
            };
            if evidence_added(&record) != *payload {
                return tampered(format!(
                    "evidence #{}: the record differs from what ledger entry {seq} recorded",
                    line.id
                ));
            }
        }
        if outside > 0 {
            notes.push(VerifyNote::EvidenceOutsideSegment(outside));
        }
        Ok(VerifyOutcome::Intact(Box::new(Intact {
            public_key: key,
            files,
            first_seq: first,
            last_seq: last,
            checkpoints: segment.checkpoints,
            evidence_files: records.len(),
            notes,
        })))
    }
}

/// The content of `member` of the package `name`.
fn read_member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    member: &str,
) -> Result<Vec<u8>, PackageError> {
    let mut file = zip
        .by_name(member)
        .map_err(|_| PackageError::MissingMember {
            package: name.to_owned(),
            member: member.to_owned(),
        })?;
    let mut content = Vec::new();
    file.read_to_end(&mut content)?;
    Ok(content)
}

/// Opens the package in `reader` (named `name` in errors) and verifies it: [`Package::open`]
/// then [`Package::verify`].
pub fn verify<R: Read + Seek>(
    reader: R,
    name: &str,
    public_key: Option<&PublicKey>,
) -> Result<VerifyOutcome, PackageError> {
    Package::open(reader, name)?.verify(public_key)
}
