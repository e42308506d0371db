//! API-key authentication and per-RPC scopes, as one tower layer in front of every service.
//!
//! Clients send `authorization: Bearer <secret>`. [`policy`] says what each RPC needs,
//! [`verifier`] checks the key against the database (with a short cache), and [`layer`] turns a
//! refusal into `UNAUTHENTICATED` or `PERMISSION_DENIED` before the service runs. A handler reads
//! the verified [`Caller`] from the request extensions.

pub mod anonymous;
pub mod keys;
pub mod layer;
pub mod model;
pub mod policy;
pub mod secret;
pub mod store;
pub mod verifier;

use std::{fmt, str::FromStr};

use uuid::Uuid;

pub use layer::AuthLayer;
pub use verifier::KeyVerifier;

/// A permission held by an API key. Scopes are ordered: a higher scope includes the lower ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read data.
    Read,
    /// Write through the import RPCs, and read.
    Import,
    /// Operate the server; includes every other scope.
    Admin,
}

impl Scope {
    /// Every scope, lowest first.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Import, Scope::Admin];

    /// Returns the name stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Import => "import",
            Self::Admin => "admin",
        }
    }

    /// Returns whether a key holding `held` may call an RPC needing `self`.
    pub fn is_granted_by(self, held: &[Scope]) -> bool {
        held.iter().any(|scope| *scope >= self)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| format!("unknown scope {value:?}: expected read, import or admin"))
    }
}

/// The verified identity of a call, inserted into the request extensions by the auth layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Id of the API key used.
    pub key_id: Uuid,
    /// Scopes of that key.
    pub scopes: Vec<Scope>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scopes_include_lower_ones() {
        assert!(Scope::Read.is_granted_by(&[Scope::Import]));
        assert!(Scope::Import.is_granted_by(&[Scope::Admin]));
        assert!(!Scope::Admin.is_granted_by(&[Scope::Read, Scope::Import]));
        assert!(!Scope::Read.is_granted_by(&[]));
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("ADMIN".parse::<Scope>(), Ok(Scope::Admin));
        assert!("root".parse::<Scope>().is_err());
    }
}
