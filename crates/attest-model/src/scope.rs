//! What an audit covers.

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Category, named_enum};

named_enum! {
    /// The kind of SOC 2 report.
    pub enum AuditType("audit type") {
        /// Design of controls at one point in time.
        Type1 => "type1",
        /// Operating effectiveness of controls over a period.
        Type2 => "type2",
    }
}

/// An audit period, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Period {
    /// First day of the period.
    #[schemars(with = "String")]
    pub start: Date,
    /// Last day of the period.
    #[schemars(with = "String")]
    pub end: Date,
}

/// The audit type, categories and period in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Scope {
    /// Type 1 or Type 2.
    pub audit_type: AuditType,
    /// Categories in scope; always contains `security`.
    pub categories: Vec<Category>,
    /// The audit period, if set.
    pub period: Option<Period>,
    /// Systems in scope, by name.
    pub systems: Vec<String>,
}

impl Scope {
    /// Whether criteria of `category` are in scope.
    pub fn includes(&self, category: Category) -> bool {
        category == Category::Security || self.categories.contains(&category)
    }
}

impl Default for Scope {
    /// Type 2 over the Security category, no period set.
    fn default() -> Self {
        Scope {
            audit_type: AuditType::Type2,
            categories: vec![Category::Security],
            period: None,
            systems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_is_always_in_scope() {
        let scope = Scope {
            categories: vec![],
            ..Scope::default()
        };
        assert!(scope.includes(Category::Security));
        assert!(!scope.includes(Category::Privacy));
        let wider = Scope {
            categories: vec![Category::Privacy],
            ..Scope::default()
        };
        assert!(wider.includes(Category::Privacy));
    }
}
