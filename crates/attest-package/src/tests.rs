use std::io::{Cursor, Read as _, Write as _};

use attest_ledger::SigningKey;
use attest_model::{
    Category, CheckResult, Control, ControlKind, Criterion, EvidenceRecord, EvidenceRequirement,
    Frequency, Monitoring, NewEvidence, Period, RunRecord, SampleSizes, Scope, Severity, Status,
};
use attest_store::Store as _;
use attest_store_sqlite::SqliteStore;
use attest_workspace::Workspace;
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};

use crate::export::{evidence_of_period, safe_name};
use crate::{ExportInput, PackageError, VerifyNote, VerifyOutcome, export, verify};

const DAY: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3600;

fn control(id: &str, kind: ControlKind, checks: &[&str]) -> Control {
    Control {
        id: id.into(),
        family: id.split('-').next().unwrap().into(),
        title: format!("{id} operates"),
        description: format!("{id} description"),
        criteria: vec!["CC6.1".into()],
        owner: "Security lead".into(),
        frequency: if kind == ControlKind::Manual {
            Frequency::Quarterly
        } else {
            Frequency::Continuous
        },
        kind,
        severity: Severity::High,
        checks: checks.iter().map(|s| (*s).into()).collect(),
        evidence: kind.needs_evidence().then(|| EvidenceRequirement {
            expected: "signed review".into(),
            freshness_days: 92,
        }),
    }
}

fn workspace() -> Workspace {
    Workspace {
        root: None,
        organisation: "Example Ltd".into(),
        scope: Scope::default(),
        sources: vec![],
        criteria: vec![Criterion {
            id: "CC6.1".into(),
            category: Category::Security,
            series: "CC6".into(),
            title: "Logical access".into(),
            description: String::new(),
            points_of_focus: vec![],
        }],
        families: vec![],
        controls: vec![
            control("AUTO-01", ControlKind::Automated, &["c.a"]),
            control("MAN-01", ControlKind::Manual, &[]),
        ],
        checks: vec![],
        check_locations: std::collections::BTreeMap::new(),
        excluded: vec![],
        monitoring: Monitoring::default(),
        sampling: SampleSizes::default(),
        findings: attest_model::FindingPolicy::default(),
        notify: Vec::new(),
    }
}

fn key() -> SigningKey {
    SigningKey::from_seed([4; 32])
}

/// Two days of hourly runs on web-1 (each run signs a checkpoint) and one access review.
fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path())
        .unwrap()
        .with_signing_key(key());
    for hour in 0..48 {
        let status = if hour == 5 {
            Status::Fail
        } else {
            Status::Pass
        };
        store
            .record_run(
                &RunRecord {
                    source: "host".into(),
                    target: "web-1".into(),
                    observed_at: Timestamp::from_second(DAY + hour * HOUR).unwrap(),
                    max_gap: SignedDuration::from_mins(90),
                },
                &[CheckResult {
                    check: "c.a".into(),
                    resource: "web-1/c.a".into(),
                    status,
                    severity: Severity::High,
                    message: format!("c.a is {status}"),
                }],
            )
            .unwrap();
    }
    let review = b"signed access review";
    let address = store.put_object(review).unwrap();
    store
        .add_evidence(&NewEvidence {
            control: "MAN-01".into(),
            file_name: "review.txt".into(),
            sha256: address,
            size: review.len() as u64,
            note: None,
            effective_date: date(2026, 1, 2),
            added_at: Timestamp::from_second(DAY + 30 * HOUR).unwrap(),
            added_by: "cto".into(),
        })
        .unwrap();
    (store, dir)
}

/// The package of the second day, in memory.
fn package(store: &SqliteStore) -> Vec<u8> {
    let workspace = workspace();
    let key = key();
    let mut out = Cursor::new(Vec::new());
    let summary = export(
        ExportInput {
            workspace: &workspace,
            store,
            key: &key,
            period: Period {
                start: date(2026, 1, 2),
                end: date(2026, 1, 2),
            },
            seed: 5,
            generated_at: Timestamp::from_second(DAY + 3 * 86_400).unwrap(),
        },
        &mut out,
    )
    .unwrap();
    assert_eq!(summary.evidence_files, 1);
    // Anchored at the checkpoint of the last run of the first day.
    assert!(summary.first_seq > 1, "{summary:?}");
    assert!(summary.last_seq >= summary.first_seq, "{summary:?}");
    assert!(summary.checkpoints >= 2, "{summary:?}");
    out.into_inner()
}

fn members(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut member = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            member.read_to_end(&mut content).unwrap();
            (member.name().unwrap().into_owned(), content)
        })
        .collect()
}

fn rezip(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in members {
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn tampered(outcome: Result<VerifyOutcome, PackageError>) -> String {
    match outcome.unwrap() {
        VerifyOutcome::Tampered { reason } => reason,
        VerifyOutcome::Intact(intact) => panic!("intact: {intact:?}"),
    }
}

#[test]
fn an_exported_package_verifies_in_memory() {
    let (store, _dir) = store();
    let zip = package(&store);
    let public = key().public();
    let VerifyOutcome::Intact(intact) =
        verify(Cursor::new(&zip), "package.zip", Some(&public)).unwrap()
    else {
        panic!("not intact");
    };
    assert_eq!(intact.public_key, public);
    assert_eq!(intact.evidence_files, 1);
    // README, key, verify.py, 5 reports, 2 CSV, evidence and its records, 2 ledger files.
    assert_eq!(intact.files, 14);
    assert!(intact.notes.is_empty(), "{:?}", intact.notes);
    let names: Vec<String> = members(&zip).into_iter().map(|(name, _)| name).collect();
    assert!(
        names.contains(&"evidence/1-review.txt".to_owned()),
        "{names:?}"
    );
    assert_eq!(names.last().map(String::as_str), Some("manifest.sig"));
    // The same store, period, seed and time make the same package.
    assert_eq!(package(&store), zip);

    // Without a key, the package's own copy is used, and the note says so.
    let VerifyOutcome::Intact(intact) = verify(Cursor::new(&zip), "package.zip", None).unwrap()
    else {
        panic!("not intact");
    };
    assert_eq!(intact.notes, vec![VerifyNote::EmbeddedKey(public)]);
    assert!(intact.notes[0].to_string().contains(&public.to_hex()));

    // Another organisation's key refuses it.
    let other = SigningKey::from_seed([9; 32]).public();
    assert!(
        tampered(verify(Cursor::new(&zip), "package.zip", Some(&other)))
            .starts_with("the manifest names public key")
    );
}

#[test]
fn a_flipped_byte_fails_verification() {
    let (store, _dir) = store();
    let zip = package(&store);
    let public = key().public();

    // A byte of the stored (compressed) evidence file.
    let mut archive = zip::ZipArchive::new(Cursor::new(&zip)).unwrap();
    let member = archive.by_name("evidence/1-review.txt").unwrap();
    let at = member.data_start().unwrap() + member.compressed_size() / 2;
    drop(member);
    let mut flipped = zip.clone();
    flipped[usize::try_from(at).unwrap()] ^= 0x01;
    let outcome = verify(Cursor::new(&flipped), "package.zip", Some(&public));
    assert!(
        !matches!(outcome, Ok(VerifyOutcome::Intact(_))),
        "{outcome:?}"
    );

    // A byte of a file's content, the archive rebuilt around it: the manifest catches it.
    let mut edited = members(&zip);
    let (_, entries) = edited
        .iter_mut()
        .find(|(name, _)| name == "ledger/entries.jsonl")
        .unwrap();
    let last = entries.len() - 2;
    entries[last] ^= 0x01;
    assert_eq!(
        tampered(verify(
            Cursor::new(rezip(&edited)),
            "package.zip",
            Some(&public)
        )),
        "ledger/entries.jsonl does not match its SHA-256 in the manifest (it was changed)"
    );

    // Not a zip at all: an error naming the package, not a verdict.
    let err = verify(Cursor::new(b"hello".to_vec()), "not.zip", None).unwrap_err();
    assert!(
        err.to_string().starts_with("not.zip is not a zip file: "),
        "{err}"
    );
}

#[test]
fn a_store_whose_ledger_differs_from_its_checkpoints_is_refused() {
    let (store, dir) = store();
    let checkpoint = store.checkpoints().unwrap()[3].seq;
    drop(store);
    let db = rusqlite::Connection::open(dir.path().join("attest.db")).unwrap();
    db.execute(
        "UPDATE ledger SET time = time + 1 WHERE seq = ?1",
        [i64::try_from(checkpoint).unwrap()],
    )
    .unwrap();
    drop(db);
    let store = SqliteStore::open(dir.path()).unwrap();
    let workspace = workspace();
    let err = export(
        ExportInput {
            workspace: &workspace,
            store: &store,
            key: &key(),
            period: Period {
                start: date(2026, 1, 1),
                end: date(2026, 1, 2),
            },
            seed: 5,
            generated_at: Timestamp::from_second(DAY + 3 * 86_400).unwrap(),
        },
        Cursor::new(Vec::new()),
    )
    .unwrap_err();
    assert!(
        matches!(err, PackageError::CheckpointMismatch { seq } if seq == checkpoint),
        "{err}"
    );
}

#[test]
fn file_names_stay_inside_evidence() {
    assert_eq!(safe_name("review.txt"), "review.txt");
    assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
    assert_eq!(safe_name("a\nb\\c"), "a_b_c");
    assert_eq!(safe_name("..."), "file");
}

#[test]
fn evidence_of_a_period_is_effective_by_its_end_and_still_fresh() {
    let workspace = workspace();
    let record = |id: i64, control: &str, effective: jiff::civil::Date| EvidenceRecord {
        id,
        control: control.into(),
        file_name: format!("{id}.txt"),
        sha256: String::new(),
        size: 0,
        note: None,
        effective_date: effective,
        added_at: Timestamp::from_second(DAY).unwrap(),
        added_by: "cto".into(),
    };
    let evidence = [
        // Fresh for 92 days: current on the first day of the period.
        record(1, "MAN-01", date(2025, 10, 15)),
        // Expired before the period.
        record(2, "MAN-01", date(2025, 9, 1)),
        // Effective after the period.
        record(3, "MAN-01", date(2026, 2, 1)),
        // No freshness requirement: must be effective within the period.
        record(4, "AUTO-01", date(2026, 1, 5)),
        record(5, "AUTO-01", date(2025, 12, 31)),
    ];
    let period = Period {
        start: date(2026, 1, 1),
        end: date(2026, 1, 31),
    };
    let ids: Vec<i64> = evidence_of_period(&workspace, &evidence, period)
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec![1, 4]);
}
