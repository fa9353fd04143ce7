use std::fmt;

use serde::{Deserialize, Serialize};

use compact_str::CompactString;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} is longer than {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("workspace name {0:?} may only contain lowercase letters, digits, '-' and '_'")]
    WorkspaceChars(String),
}

const MAX_ID_LEN: usize = 256;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(CompactString);

        impl $name {
            /// Accepts any non-empty id of at most 256 characters, after trimming white space.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    return Err(IdError::Empty { kind: $kind });
                }
                if trimmed.chars().count() > MAX_ID_LEN {
                    return Err(IdError::TooLong { kind: $kind, max: MAX_ID_LEN });
                }
                Ok(Self(CompactString::new(trimmed)))
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }
    };
}

string_id!(
    /// An account (a customer company): Segment's `groupId`, the `account_id` column of the CSVs.
    AccountId,
    "account id"
);
string_id!(
    /// A known person: Segment's `userId`.
    UserId,
    "user id"
);
string_id!(
    /// A device or browser before (or without) identification: Segment's `anonymousId`.
    AnonymousId,
    "anonymous id"
);

/// A company using tenure; every entry, key and report belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspaceId(String);

impl WorkspaceId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if raw.is_empty() {
            return Err(IdError::Empty {
                kind: "workspace name",
            });
        }
        if raw.len() > 64 {
            return Err(IdError::TooLong {
                kind: "workspace name",
                max: 64,
            });
        }
        let ok = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            return Err(IdError::WorkspaceChars(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The workspace used when none is named.
    pub fn default_workspace() -> Self {
        Self("default".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WorkspaceId {
    type Error = IdError;
    fn try_from(raw: String) -> Result<Self, IdError> {
        Self::parse(&raw)
    }
}

impl From<WorkspaceId> for String {
    fn from(id: WorkspaceId) -> String {
        id.0
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_must_not_be_empty() {
        assert_eq!(AccountId::parse("  acct_1 ").unwrap().as_str(), "acct_1");
        assert_eq!(
            UserId::parse("   "),
            Err(IdError::Empty { kind: "user id" })
        );
        assert!(AnonymousId::parse(&"x".repeat(257)).is_err());
        assert!(AnonymousId::parse(&"x".repeat(256)).is_ok());
    }

    #[test]
    fn workspace_names_are_restricted() {
        assert!(WorkspaceId::parse("acme-eu_2").is_ok());
        assert!(WorkspaceId::parse("Acme").is_err());
        assert!(WorkspaceId::parse("a b").is_err());
        assert!(WorkspaceId::parse("").is_err());
    }
}
