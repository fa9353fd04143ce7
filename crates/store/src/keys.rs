use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use tenure_core::{Timestamp, WorkspaceId};

/// What a key may do. Scopes do not nest: a read key cannot write and a write key cannot read;
/// an admin key can do both and manage the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Write,
    Read,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Write => "write",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// Whether a key of this scope may ingest data.
    pub fn can_write(self) -> bool {
        matches!(self, Scope::Write | Scope::Admin)
    }

    /// Whether a key of this scope may read reports.
    pub fn can_read(self) -> bool {
        matches!(self, Scope::Read | Scope::Admin)
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "write" => Ok(Scope::Write),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!(
                "unknown key scope {other:?} (expected write, read or admin)"
            )),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key as the store knows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub workspace: WorkspaceId,
    pub scope: Scope,
    /// The first characters of the secret, to tell keys apart in listings.
    pub prefix: String,
}

/// Characters of a secret kept in the clear to tell keys apart (`tnr_w_` and 10 hex digits:
/// 40 random bits, so two keys of a workspace practically never share one). Keys made before
/// this was raised keep their 12.
pub(crate) const KEY_PREFIX_CHARS: usize = 16;

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// The key's first characters, which name it in lists and revocations.
    pub prefix: String,
    pub scope: Scope,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was revoked; a revoked key authorizes nothing.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

/// What revoking a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now; the key's prefix.
    Now(String),
    /// It was revoked before.
    Already(String),
    /// No key of the workspace has that secret or prefix.
    NotFound,
    /// Several keys share that prefix: give the whole secret.
    Ambiguous(usize),
}

/// A new random secret such as `tnr_w_6f1c…` (scope letter, 32 random bytes in hex).
pub(crate) fn new_secret(scope: Scope) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let letter = &scope.as_str()[..1];
    format!("tnr_{letter}_{}", hex::encode(bytes))
}

/// Keys are stored as SHA-256 hashes: they are long random secrets, so a slow hash adds nothing.
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_do_not_nest() {
        assert!(Scope::Write.can_write() && !Scope::Write.can_read());
        assert!(Scope::Read.can_read() && !Scope::Read.can_write());
        assert!(Scope::Admin.can_read() && Scope::Admin.can_write());
        assert_eq!("read".parse::<Scope>(), Ok(Scope::Read));
        assert!("owner".parse::<Scope>().is_err());
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret(Scope::Write);
        assert!(a.starts_with("tnr_w_") && a.len() == 6 + 64);
        assert_ne!(a, new_secret(Scope::Write));
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), a);
    }
}
