//! Secrets (client secret, authorization code, tokens) live in `secrecy::SecretString`: zeroized on
//! drop, and its `Debug` prints `[REDACTED]`; it has no `Display`. The only way to read one is
//! `expose_secret()`, which is grep-able: every call site is a place a secret leaves the process
//! (an HTTP body, a store write) and nowhere else.

pub use secrecy::{ExposeSecret, SecretString};

/// Wraps a value read from somewhere (prompt, env, stdin) as a secret, trimming line endings.
pub fn secret_from_line(line: &str) -> SecretString {
    SecretString::from(line.trim_end_matches(['\r', '\n']).trim().to_string())
}

/// Fresh random value from the OS RNG, hex encoded: `bytes` bytes of entropy.
#[allow(
    clippy::expect_used,
    reason = "no OAuth state can be made without the OS's random source; this fails before any authorization, never after"
)]
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = secret_from_line("sentinel-secret-value\n");
        assert_eq!(s.expose_secret(), "sentinel-secret-value");
        assert!(!format!("{s:?}").contains("sentinel"));
    }

    #[test]
    fn random_hex_has_the_requested_entropy_and_differs() {
        let a = random_hex(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_hex(16));
    }
}
