use std::fmt;

use serde::{Deserialize, Serialize};

use compact_str::CompactString;

/// An e-mail address, trimmed and lowercased, so that equal addresses compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(CompactString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an e-mail address (expected local@domain)")]
pub struct EmailError(pub String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let normal = raw.trim().to_lowercase();
        let valid = match normal.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !normal.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Self(CompactString::from(normal)))
        } else {
            Err(EmailError(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(raw: String) -> Result<Self, EmailError> {
        Self::parse(&raw)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0.into()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        let a = Email::parse("  John_Smith@Gmail.com ").unwrap();
        assert_eq!(a.as_str(), "john_smith@gmail.com");
        assert_eq!(a, Email::parse("john_smith@gmail.com").unwrap());
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in ["", "john", "@x.io", "john@", "a@b@c", "jo hn@x.io"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
