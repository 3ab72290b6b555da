//! Configuration of the simulated Atlassian app, user and sites.

use std::time::Duration;

/// An app set up from Psoxy's current Jira page (psoxy-contract §1 step 3): 5 Jira API
/// permissions, nothing under the User Identity API (`offline_access` is no console permission,
/// but the simulator checks requests against this list).
pub const DEFAULT_SCOPES: [&str; 6] = [
    "offline_access",
    "read:group:jira",
    "read:avatar:jira",
    "read:user:jira",
    "read:jira-user",
    "read:jira-work",
];

/// An app set up from Psoxy's older page: the same plus User Identity API -> `read:account`.
pub const OLDER_PAGE_SCOPES: [&str; 7] = [
    "offline_access",
    "read:group:jira",
    "read:avatar:jira",
    "read:user:jira",
    "read:account",
    "read:jira-user",
    "read:jira-work",
];

/// An app set up from Psoxy's Confluence page (psoxy-contract §7): its 9 Confluence API
/// permissions.
pub const CONFLUENCE_SCOPES: [&str; 10] = [
    "offline_access",
    "read:blogpost:confluence",
    "read:comment:confluence",
    "read:group:confluence",
    "read:space:confluence",
    "read:attachment:confluence",
    "read:page:confluence",
    "read:user:confluence",
    "read:task:confluence",
    "read:content-details:confluence",
];

/// What the authorization server does when the authorize request asks for a
/// scope that is not configured on the app in the developer console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingScope {
    /// Redirect back with `error=invalid_scope` (the default).
    #[default]
    InvalidScope,
    /// Show the consent page anyway; the token's `scope` lists only the
    /// granted subset.
    GrantSubset,
}

/// One Atlassian Cloud site the user can reach (an "accessible resource").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSite {
    /// The cloud id (a UUID).
    pub id: String,
    pub name: String,
    /// e.g. `https://acme1.atlassian.net`
    pub url: String,
}

impl SimSite {
    /// A deterministic site: id `0000000n-0000-4000-8000-00000000000n` (hex),
    /// name `Acme n`, url `https://acmen.atlassian.net`.
    pub fn numbered(n: u32) -> SimSite {
        SimSite {
            id: format!("{n:08x}-0000-4000-8000-{n:012x}"),
            name: format!("Acme {n}"),
            url: format!("https://acme{n}.atlassian.net"),
        }
    }
}

/// The Atlassian account that approves the consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    pub account_id: String,
    pub display_name: String,
    pub email: String,
}

impl Default for SimUser {
    fn default() -> Self {
        SimUser {
            account_id: "5b10ac8d82e05b22cc7d4ef5".to_string(),
            display_name: "Demo Admin".to_string(),
            email: "admin@acme.example".to_string(),
        }
    }
}

/// Everything the simulator needs to know about the app and the world.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The app's registered callback URL; compared by exact string equality.
    pub redirect_uri: String,
    /// Scopes configured on the app in the developer console.
    pub app_scopes: Vec<String>,
    /// Granted scopes the token answer's `scope` leaves out (Atlassian: `read:task:confluence`).
    pub unlisted_scopes: Vec<String>,
    pub missing_scope: MissingScope,
    pub sites: Vec<SimSite>,
    pub user: SimUser,
    /// Name of the app shown on the consent page.
    pub app_name: String,
    /// Lifetime of an authorization code.
    pub code_ttl: Duration,
    pub access_token_ttl_secs: u64,
    /// How long a rotated-out refresh token stays usable (Atlassian: 10 min).
    pub refresh_token_leeway: Duration,
    /// Inactivity expiry of a refresh token family (Atlassian: 90 days).
    pub refresh_token_inactivity: Duration,
    /// Absolute expiry of a refresh token family, counted from its first
    /// token (Atlassian: 365 days).
    pub refresh_token_max_age: Duration,
    /// The first N accessible-resources calls answer 429 with `Retry-After: 1`.
    pub rate_limit_accessible_resources: u32,
    /// Invalid/reused code errors answer `403 text/plain "Invalid authorization code"`.
    pub non_json_token_errors: bool,
    /// How a successful token answer departs from Atlassian's (a broken or hostile endpoint).
    pub token_quirks: TokenQuirks,
}

/// Departures from a well-formed token answer; the tokens are issued (and live) all the same.
#[derive(Debug, Clone, Default)]
pub struct TokenQuirks {
    /// Sent as `expires_in` instead of the real lifetime, e.g. `9223372036854775807`.
    pub expires_in: Option<serde_json::Value>,
    /// Fields left out of the answer, e.g. `access_token`.
    pub omit: Vec<String>,
}

const DAY: u64 = 24 * 60 * 60;

impl SimConfig {
    /// An app with exactly Psoxy's Confluence permissions, answering as Atlassian does today
    /// (`read:task:confluence` granted but not listed).
    pub fn confluence() -> SimConfig {
        SimConfig {
            app_scopes: CONFLUENCE_SCOPES.iter().map(|s| s.to_string()).collect(),
            unlisted_scopes: vec!["read:task:confluence".to_string()],
            app_name: "Psoxy Confluence connector (demo)".to_string(),
            ..SimConfig::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "demo-client-id".to_string(),
            client_secret: "demo-client-secret".to_string(),
            redirect_uri: "http://localhost".to_string(),
            app_scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            unlisted_scopes: Vec::new(),
            missing_scope: MissingScope::InvalidScope,
            sites: vec![SimSite::numbered(1)],
            user: SimUser::default(),
            app_name: "Psoxy Jira connector (demo)".to_string(),
            code_ttl: Duration::from_secs(10 * 60),
            access_token_ttl_secs: 3600,
            refresh_token_leeway: Duration::from_secs(10 * 60),
            refresh_token_inactivity: Duration::from_secs(90 * DAY),
            refresh_token_max_age: Duration::from_secs(365 * DAY),
            rate_limit_accessible_resources: 0,
            non_json_token_errors: false,
            token_quirks: TokenQuirks::default(),
        }
    }
}
