//! The vocabulary of Attest, as plain data types with no I/O.
//!
//! Every name here is a term of `DESIGN.md`: a [`Criterion`] of the Trust Services Criteria
//! belongs to a [`Category`]; a [`Control`] maps to criteria and is evidenced by checks, by
//! manual [`EvidenceRecord`]s, or both; the [`Scope`] says what an audit covers. Types that
//! cross a boundary (JSON output, files) derive `Serialize` and `JsonSchema`; their field
//! names are part of Attest's documented, stable output.
//!
//! ```
//! use attest_model::{Category, Frequency};
//! assert_eq!("processing_integrity".parse::<Category>().unwrap(), Category::ProcessingIntegrity);
//! assert_eq!(Frequency::Quarterly.to_string(), "quarterly");
//! ```

mod agent;
mod check;
mod control;
mod criterion;
mod evidence;
mod finding;
mod notify;
mod result;
mod scope;

pub use agent::{
    AGENT_REPORT_VERSION, AgentReport, MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_REPORT_BYTES,
    MAX_REPORT_RESULTS, ReportProblem, ReportResult, Role, is_report_id,
};
pub use check::{CheckMeta, Fix, FixKind};
pub use control::{Control, ControlKind, EvidenceRequirement, Family, Frequency, Severity};
pub use criterion::{Category, Criterion};
pub use evidence::{EvidenceRecord, Freshness, NewEvidence};
pub use finding::{Finding, FindingEvent, FindingPolicy, FindingSource, FindingStatus};
pub use notify::{
    ChannelKind, NOTIFY_EVENTS, NotifyConfig, NotifyTarget, SecretSource, SmtpConfig, SmtpSecurity,
};
pub use result::{CheckResult, ResultInterval, RunRecord, Status};
pub use scope::{AuditType, Monitoring, Period, SampleSizes, Scope};

/// A value that is not one of the allowed names of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}; expected one of: {}", expected.join(", "))]
pub struct UnknownVariant {
    /// What kind of value was parsed, e.g. "frequency".
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
    /// The accepted names.
    pub expected: &'static [&'static str],
}

/// Defines a closed, snake_case-named enum with `FromStr`, `Display`, `ALL` and `NAMES`.
///
/// The defining crate needs `serde` and `schemars` as dependencies.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The accepted names, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The `snake_case` name used in files and output.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::UnknownVariant {
                        what: $what,
                        value: s.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }
    };
}
