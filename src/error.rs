//! The one error type the wizard returns. Every variant carries a message that tells the operator
//! what to do next; `main` prints it on one line and exits with `exit_code()`.

use thiserror::Error;

/// Exit codes, documented in the README and `--help`.
pub mod exit {
    pub const OK: i32 = 0;
    pub const INTERNAL: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const INPUT: i32 = 3;
    pub const AUTHORIZATION: i32 = 4;
    pub const SITE: i32 = 5;
    pub const STORE: i32 = 6;
    pub const TFVARS: i32 = 7;
    pub const NETWORK: i32 = 8;
    pub const RECOVERY_SAVED: i32 = 9;
    pub const STATUS_WARN: i32 = 10;
    pub const STATUS_CRITICAL: i32 = 11;
    /// The store write failed and the recovery file could not be written either.
    pub const RECOVERY_FAILED: i32 = 12;
    /// `check`, `--check-proxy`: no answer from the proxy, a redirect, or credentials refused.
    pub const PROXY_UNREACHABLE: i32 = 13;
    /// The proxy's health check did not pass.
    pub const PROXY_HEALTH: i32 = 14;
    /// The call through the proxy failed.
    pub const PROXY_CALL: i32 = 15;
    /// The secrets are stored (and the run remembered), but terraform.tfvars could not be
    /// updated afterwards.
    pub const TFVARS_AFTER_STORE: i32 = 16;
    /// Signals end a run with 128 + the signal's number, as a shell reports it.
    pub const HANGUP: i32 = 129;
    pub const INTERRUPTED: i32 = 130;
    pub const TERMINATED: i32 = 143;
}

#[derive(Debug, Error)]
pub enum Error {
    /// A value is missing, or has the wrong shape (bad flag, empty client id, pasted garbage).
    #[error("{0}")]
    Input(String),
    /// Atlassian refused the authorization or the token exchange.
    #[error("{0}")]
    Authorization(String),
    /// The authorization code was rejected (expired, reused): a new authorization is needed.
    #[error("{0}")]
    CodeRejected(String),
    /// No usable Atlassian site.
    #[error("{0}")]
    Site(String),
    /// The secret store could not be read or written.
    #[error("{0}")]
    Store(String),
    /// terraform.tfvars could not be read, parsed or written.
    #[error("{0}")]
    Tfvars(String),
    /// A network failure or timeout that retries did not cure.
    #[error("{0}")]
    Network(String),
    /// Writing to the store failed, but the secrets were saved to a recovery file.
    #[error("{0}")]
    RecoverySaved(String),
    /// The new tokens could be kept neither in the store nor in a recovery file.
    #[error("{0}")]
    RecoveryFailed(String),
    /// The deployed proxy gave no answer, redirected, or refused the credentials.
    #[error("{0}")]
    ProxyUnreachable(String),
    /// The deployed proxy's health check did not pass.
    #[error("{0}")]
    ProxyHealth(String),
    /// The call through the deployed proxy failed.
    #[error("{0}")]
    ProxyCall(String),
    /// Ctrl-C; the message says what was cleaned up.
    #[error("{0}")]
    Interrupted(String),
    /// A bug or an unexpected state.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit::INPUT,
            Error::Authorization(_) | Error::CodeRejected(_) => exit::AUTHORIZATION,
            Error::Site(_) => exit::SITE,
            Error::Store(_) => exit::STORE,
            Error::Tfvars(_) => exit::TFVARS,
            Error::Network(_) => exit::NETWORK,
            Error::RecoverySaved(_) => exit::RECOVERY_SAVED,
            Error::RecoveryFailed(_) => exit::RECOVERY_FAILED,
            Error::ProxyUnreachable(_) => exit::PROXY_UNREACHABLE,
            Error::ProxyHealth(_) => exit::PROXY_HEALTH,
            Error::ProxyCall(_) => exit::PROXY_CALL,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::Internal(_) => exit::INTERNAL,
        }
    }
}

impl From<dialoguer::Error> for Error {
    fn from(e: dialoguer::Error) -> Self {
        let dialoguer::Error::IO(io) = e;
        if io.kind() == std::io::ErrorKind::Interrupted {
            Error::Interrupted("interrupted".into())
        } else {
            Error::Input(format!(
                "could not read from the terminal ({io}): pass the values as flags with --non-interactive"
            ))
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its sources on one line ("dispatch failure: io error: ... refused"): an SDK's or
/// reqwest's top-level message alone says little, and their Debug dumps say too much.
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}
