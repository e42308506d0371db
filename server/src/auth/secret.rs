//! API-key secrets: `mdl_` followed by 32 base64url characters (192 random bits). Only the
//! SHA-256 of a secret is stored; because secrets are long and random, a fast hash is as safe as
//! a slow one and keeps every authenticated call cheap.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// Every secret starts with this, so leaked keys are easy to spot and grep for.
pub const SECRET_PREFIX: &str = "mdl_";
const RANDOM_BYTES: usize = 24;
/// Length of a secret: the prefix plus 32 base64url characters.
pub const SECRET_LEN: usize = SECRET_PREFIX.len() + RANDOM_BYTES * 4 / 3;
/// Characters of a secret kept in clear to recognise it in listings.
pub const DISPLAY_PREFIX_LEN: usize = SECRET_PREFIX.len() + 8;

/// A freshly generated secret with what is stored about it.
#[derive(Debug)]
pub struct NewSecret {
    /// The secret, shown once to its owner (never by `Debug`).
    pub secret: SecretString,
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// Its first characters.
    pub display_prefix: String,
}

/// Generates a secret from the operating system's random source.
pub fn generate() -> Result<NewSecret, getrandom::Error> {
    let mut bytes = [0_u8; RANDOM_BYTES];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    Ok(NewSecret {
        sha256: hash(&secret),
        display_prefix: secret[..DISPLAY_PREFIX_LEN].to_owned(),
        secret: SecretString::from(secret),
    })
}

/// Returns the SHA-256 of a secret.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Returns whether `value` has the shape of a secret (checked before any database read).
pub fn is_well_formed(value: &str) -> bool {
    value.len() == SECRET_LEN
        && value.starts_with(SECRET_PREFIX)
        && value[SECRET_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_well_formed_and_distinct() {
        use secrecy::ExposeSecret as _;
        let a = generate().unwrap();
        let b = generate().unwrap();
        let secret = a.secret.expose_secret();
        assert!(is_well_formed(secret), "{secret}");
        assert_ne!(secret, b.secret.expose_secret());
        assert_eq!(a.sha256, hash(secret));
        assert!(secret.starts_with(&a.display_prefix));
        assert!(!format!("{a:?}").contains(secret), "Debug never prints the secret");
    }

    #[test]
    fn rejects_malformed_values() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("mdl_short"));
        assert!(!is_well_formed(&format!("xyz_{}", "a".repeat(32))));
        assert!(!is_well_formed(&format!("mdl_{}", "é".repeat(16))));
    }
}
