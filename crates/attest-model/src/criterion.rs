//! Trust Services Criteria and their categories.

use schemars::JsonSchema;
use serde::Serialize;

use crate::named_enum;

named_enum! {
    /// A Trust Services category; `security` (the common criteria) is always in scope.
    pub enum Category("category") {
        /// Common criteria CC1–CC9.
        Security => "security",
        /// A1: the system is available for operation and use as committed.
        Availability => "availability",
        /// C1: confidential information is protected as committed.
        Confidentiality => "confidentiality",
        /// PI1: processing is complete, valid, accurate, timely and authorised.
        ProcessingIntegrity => "processing_integrity",
        /// P1–P8: personal information is handled as committed.
        Privacy => "privacy",
    }
}

impl Category {
    /// The name a person reads, e.g. "Processing integrity".
    pub fn title(self) -> &'static str {
        match self {
            Category::Security => "Security",
            Category::Availability => "Availability",
            Category::Confidentiality => "Confidentiality",
            Category::ProcessingIntegrity => "Processing integrity",
            Category::Privacy => "Privacy",
        }
    }
}

/// One Trust Services Criterion, e.g. `CC6.1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Criterion {
    /// Identifier, e.g. `CC6.1`.
    pub id: String,
    /// The category the criterion belongs to.
    pub category: Category,
    /// The series code, e.g. `CC6`, `A1`, `P4`.
    pub series: String,
    /// A short title.
    pub title: String,
    /// What the criterion asks of a service organisation.
    pub description: String,
    /// What an engineer or control owner acts on to meet it.
    pub points_of_focus: Vec<String>,
}

impl Criterion {
    /// Orders criterion ids naturally: `CC1.2` before `CC1.10`, series in catalog order.
    pub fn sort_key(id: &str) -> (u8, String, u32, u32) {
        let (prefix, rest) = id.split_at(id.find(|c: char| c.is_ascii_digit()).unwrap_or(id.len()));
        let rank = match prefix {
            "CC" => 0,
            "A" => 1,
            "C" => 2,
            "PI" => 3,
            "P" => 4,
            _ => 5,
        };
        let mut numbers = rest
            .split('.')
            .map(|n| n.parse::<u32>().unwrap_or(u32::MAX));
        let major = numbers.next().unwrap_or(0);
        let minor = numbers.next().unwrap_or(0);
        (rank, prefix.to_owned(), major, minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_sort_naturally_in_catalog_order() {
        let mut ids = vec!["P1.1", "CC1.10", "A1.2", "CC1.2", "PI1.1", "C1.1", "CC10.1"];
        ids.sort_by_key(|id| Criterion::sort_key(id));
        assert_eq!(
            ids,
            ["CC1.2", "CC1.10", "CC10.1", "A1.2", "C1.1", "PI1.1", "P1.1"]
        );
    }

    #[test]
    fn category_names_round_trip() {
        for category in Category::ALL {
            assert_eq!(category.as_str().parse::<Category>(), Ok(*category));
        }
        let err = "secure".parse::<Category>().unwrap_err();
        assert!(err.to_string().contains("security, availability"), "{err}");
    }
}
