//! Manual evidence records and their freshness.

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Serialize;

use crate::{EvidenceRequirement, named_enum};

/// A piece of evidence about to be stored; the store assigns its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvidence {
    /// The control it evidences.
    pub control: String,
    /// The original file name, without directories.
    pub file_name: String,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Free text from the person who added it.
    pub note: Option<String>,
    /// The day the evidence speaks for (e.g. when a review was signed).
    pub effective_date: Date,
    /// When it was added.
    pub added_at: Timestamp,
    /// Who added it.
    pub added_by: String,
}

/// A stored piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EvidenceRecord {
    /// Store-assigned id, increasing in order of addition.
    pub id: i64,
    /// The control it evidences.
    pub control: String,
    /// The original file name.
    pub file_name: String,
    /// SHA-256 of the content, lowercase hex; the object's address.
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Free text from the person who added it.
    pub note: Option<String>,
    /// The day the evidence speaks for.
    #[schemars(with = "String")]
    pub effective_date: Date,
    /// When it was added (RFC 3339).
    #[schemars(with = "String")]
    pub added_at: Timestamp,
    /// Who added it.
    pub added_by: String,
}

named_enum! {
    /// Whether a piece of evidence still speaks for its control on a given day.
    pub enum Freshness("freshness") {
        /// Within its freshness window.
        Current => "current",
        /// Within its window, but close to the end of it.
        ExpiringSoon => "expiring_soon",
        /// Past its window.
        Expired => "expired",
    }
}

impl Freshness {
    /// The last day evidence effective on `effective` is current under `requirement`.
    pub fn expires_on(effective: Date, requirement: &EvidenceRequirement) -> Date {
        effective
            .checked_add(i64::from(requirement.freshness_days).days())
            .unwrap_or(Date::MAX)
    }

    /// Days before expiry during which evidence counts as expiring soon: the last 15% of the
    /// window, at least one day and at most 30.
    pub fn warning_days(requirement: &EvidenceRequirement) -> i64 {
        ((i64::from(requirement.freshness_days) * 15 + 99) / 100).clamp(1, 30)
    }

    /// Freshness on `today` of evidence effective on `effective`.
    pub fn on(today: Date, effective: Date, requirement: &EvidenceRequirement) -> Freshness {
        let expires = Self::expires_on(effective, requirement);
        if today > expires {
            return Freshness::Expired;
        }
        let warn_from = expires
            .checked_sub(Self::warning_days(requirement).days())
            .unwrap_or(Date::MIN);
        if today >= warn_from {
            Freshness::ExpiringSoon
        } else {
            Freshness::Current
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn quarterly() -> EvidenceRequirement {
        EvidenceRequirement {
            expected: "review".into(),
            freshness_days: 92,
        }
    }

    #[test]
    fn evidence_moves_from_current_to_expiring_to_expired() {
        let effective = date(2026, 1, 1);
        let req = quarterly();
        assert_eq!(Freshness::expires_on(effective, &req), date(2026, 4, 3));
        assert_eq!(Freshness::warning_days(&req), 14);
        assert_eq!(
            Freshness::on(date(2026, 1, 1), effective, &req),
            Freshness::Current
        );
        assert_eq!(
            Freshness::on(date(2026, 3, 19), effective, &req),
            Freshness::Current
        );
        assert_eq!(
            Freshness::on(date(2026, 3, 20), effective, &req),
            Freshness::ExpiringSoon
        );
        assert_eq!(
            Freshness::on(date(2026, 4, 3), effective, &req),
            Freshness::ExpiringSoon
        );
        assert_eq!(
            Freshness::on(date(2026, 4, 4), effective, &req),
            Freshness::Expired
        );
    }

    #[test]
    fn warning_window_is_bounded() {
        let daily = EvidenceRequirement {
            expected: String::new(),
            freshness_days: 1,
        };
        let yearly = EvidenceRequirement {
            expected: String::new(),
            freshness_days: 366,
        };
        assert_eq!(Freshness::warning_days(&daily), 1);
        assert_eq!(Freshness::warning_days(&yearly), 30);
    }
}
