//! Codes, tokens and refresh token families, with a clock that tests can
//! advance.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use super::config::SimConfig;

/// Random URL-safe token: `prefix` followed by `bytes` random bytes in hex.
pub(crate) fn random_token(prefix: &str, bytes: usize) -> String {
    format!("{prefix}{}", crate::secret::random_hex(bytes))
}

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    /// The site picked on the consent page; `None` grants every site.
    site: Option<String>,
    expires_at: Instant,
}

struct AccessGrant {
    scopes: Vec<String>,
    site: Option<String>,
    expires_at: Instant,
    /// The refresh-token family this token came with, if any.
    family: Option<u64>,
}

struct RefreshEntry {
    family: u64,
    /// When a newer token of the family was issued.
    superseded_at: Option<Instant>,
}

struct Family {
    client_id: String,
    scopes: Vec<String>,
    site: Option<String>,
    created_at: Instant,
    last_used: Instant,
    revoked: bool,
}

/// Successful token endpoint answer.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
}

/// Token endpoint failures; the HTTP layer turns them into responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// 400 invalid_request
    InvalidRequest(String),
    /// 400 unsupported_grant_type
    UnsupportedGrantType,
    /// 401 access_denied: unknown client or wrong secret
    Unauthorized,
    /// 403 invalid_grant: unknown, expired or reused code
    InvalidCode,
    /// 403 invalid_grant: redirect_uri differs from the code's
    RedirectMismatch,
    /// 403 invalid_grant: unknown, expired, revoked or reused refresh token
    InvalidRefreshToken,
}

/// All mutable simulator state, behind one mutex.
pub(crate) struct Inner {
    pub config: SimConfig,
    clock_offset: Duration,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashMap<String, AccessGrant>,
    refresh_tokens: HashMap<String, RefreshEntry>,
    families: HashMap<u64, Family>,
    next_family: u64,
    pub requests: Vec<String>,
    pub accessible_resources_calls: u32,
}

impl Inner {
    pub fn new(config: SimConfig) -> Inner {
        Inner {
            config,
            clock_offset: Duration::ZERO,
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            families: HashMap::new(),
            next_family: 1,
            requests: Vec::new(),
            accessible_resources_calls: 0,
        }
    }

    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    pub fn advance_time(&mut self, by: Duration) {
        self.clock_offset += by;
    }

    /// Issues a fresh authorization code (128 random bits).
    pub fn issue_code(
        &mut self,
        redirect_uri: &str,
        scopes: &[String],
        site: Option<String>,
    ) -> String {
        let code = random_token("sim-code-", 16);
        let grant = CodeGrant {
            client_id: self.config.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            scopes: scopes.to_vec(),
            site,
            expires_at: self.now() + self.config.code_ttl,
        };
        self.codes.insert(code.clone(), grant);
        code
    }

    fn check_client(&self, client_id: &str, client_secret: &str) -> Result<(), TokenError> {
        let id_ok = client_id.as_bytes().ct_eq(self.config.client_id.as_bytes());
        let secret_ok = client_secret
            .as_bytes()
            .ct_eq(self.config.client_secret.as_bytes());
        if bool::from(id_ok & secret_ok) {
            Ok(())
        } else {
            Err(TokenError::Unauthorized)
        }
    }

    /// `grant_type=authorization_code`. A code is consumed by any attempt that
    /// passes client authentication, successful or not.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Issued, TokenError> {
        self.check_client(client_id, client_secret)?;
        let grant = self.codes.remove(code).ok_or(TokenError::InvalidCode)?;
        if grant.expires_at <= self.now() || grant.client_id != client_id {
            return Err(TokenError::InvalidCode);
        }
        if grant.redirect_uri != redirect_uri {
            return Err(TokenError::RedirectMismatch);
        }
        let refresh_token = if grant.scopes.iter().any(|s| s == "offline_access") {
            let now = self.now();
            let family = self.next_family;
            self.next_family += 1;
            self.families.insert(
                family,
                Family {
                    client_id: grant.client_id.clone(),
                    scopes: grant.scopes.clone(),
                    site: grant.site.clone(),
                    created_at: now,
                    last_used: now,
                    revoked: false,
                },
            );
            Some((family, self.issue_refresh_token(family)))
        } else {
            None
        };
        Ok(self.issue_access_token(grant.scopes, grant.site, refresh_token))
    }

    fn issue_refresh_token(&mut self, family: u64) -> String {
        let token = random_token("sim-rt-", 32);
        self.refresh_tokens.insert(
            token.clone(),
            RefreshEntry {
                family,
                superseded_at: None,
            },
        );
        token
    }

    fn issue_access_token(
        &mut self,
        scopes: Vec<String>,
        site: Option<String>,
        refresh_token: Option<(u64, String)>,
    ) -> Issued {
        let token = random_token("sim-at-", 32);
        let ttl = self.config.access_token_ttl_secs;
        let (family, refresh_token) = match refresh_token {
            Some((family, token)) => (Some(family), Some(token)),
            None => (None, None),
        };
        let grant = AccessGrant {
            scopes: scopes.clone(),
            site,
            expires_at: self.now() + Duration::from_secs(ttl),
            family,
        };
        self.access_tokens.insert(token.clone(), grant);
        Issued {
            access_token: token,
            expires_in: ttl,
            refresh_token,
            scopes,
        }
    }

    /// Why a refresh token is (not) usable right now.
    fn refresh_status(&self, token: &str) -> RefreshStatus {
        let Some(entry) = self.refresh_tokens.get(token) else {
            return RefreshStatus::Unknown;
        };
        let Some(family) = self.families.get(&entry.family) else {
            return RefreshStatus::Unknown;
        };
        let now = self.now();
        if family.revoked
            || now.duration_since(family.created_at) >= self.config.refresh_token_max_age
            || now.duration_since(family.last_used) >= self.config.refresh_token_inactivity
        {
            return RefreshStatus::Dead;
        }
        match entry.superseded_at {
            None => RefreshStatus::Live(entry.family),
            Some(at) if now.duration_since(at) <= self.config.refresh_token_leeway => {
                RefreshStatus::Live(entry.family)
            }
            Some(_) => RefreshStatus::Reused(entry.family),
        }
    }

    /// `grant_type=refresh_token`: rotates the refresh token.
    pub fn refresh(
        &mut self,
        client_id: &str,
        client_secret: &str,
        token: &str,
    ) -> Result<Issued, TokenError> {
        self.check_client(client_id, client_secret)?;
        let family_id = match self.refresh_status(token) {
            RefreshStatus::Live(family) => family,
            RefreshStatus::Reused(family) => {
                // Reuse after the leeway: treat as stolen, kill the family.
                if let Some(f) = self.families.get_mut(&family) {
                    f.revoked = true;
                }
                tracing::debug!("sim: refresh token reused after leeway, family revoked");
                return Err(TokenError::InvalidRefreshToken);
            }
            RefreshStatus::Dead | RefreshStatus::Unknown => {
                return Err(TokenError::InvalidRefreshToken);
            }
        };
        let now = self.now();
        let family = self
            .families
            .get_mut(&family_id)
            .ok_or(TokenError::InvalidRefreshToken)?;
        if family.client_id != client_id {
            return Err(TokenError::InvalidRefreshToken);
        }
        family.last_used = now;
        let scopes = family.scopes.clone();
        let site = family.site.clone();
        for entry in self.refresh_tokens.values_mut() {
            if entry.family == family_id && entry.superseded_at.is_none() {
                entry.superseded_at = Some(now);
            }
        }
        let new_refresh = self.issue_refresh_token(family_id);
        Ok(self.issue_access_token(scopes, site, Some((family_id, new_refresh))))
    }

    /// The family a refresh token belongs to (live or not).
    pub fn family_of_refresh_token(&self, token: &str) -> Option<u64> {
        self.refresh_tokens.get(token).map(|e| e.family)
    }

    /// The family an access token came with (none for one issued without `offline_access`).
    pub fn family_of_access_token(&self, token: &str) -> Option<u64> {
        self.access_tokens.get(token).and_then(|g| g.family)
    }

    /// The family minted last (by a code exchange), if any.
    pub fn newest_family(&self) -> Option<u64> {
        self.next_family.checked_sub(1).filter(|f| *f > 0)
    }

    pub fn is_live_refresh_token(&self, token: &str) -> bool {
        matches!(self.refresh_status(token), RefreshStatus::Live(_))
    }

    /// Every code and token ever issued, for tests that prove none of them leaks.
    pub fn issued_secrets(&self) -> Vec<String> {
        let codes = self.codes.keys();
        let access = self.access_tokens.keys();
        codes
            .chain(access)
            .chain(self.refresh_tokens.keys())
            .cloned()
            .collect()
    }

    /// Scopes of a valid, unexpired access token.
    pub fn access_token_scopes(&self, token: &str) -> Option<Vec<String>> {
        let grant = self.access_tokens.get(token)?;
        (grant.expires_at > self.now()).then(|| grant.scopes.clone())
    }

    /// Whether a valid access token reaches this site (the one picked on consent, or any).
    pub fn access_token_reaches(&self, token: &str, site_id: &str) -> bool {
        self.access_tokens.get(token).is_some_and(|g| {
            g.expires_at > self.now() && g.site.as_deref().is_none_or(|s| s == site_id)
        })
    }
}

enum RefreshStatus {
    Unknown,
    /// Family revoked or expired.
    Dead,
    Live(u64),
    /// Superseded longer ago than the leeway.
    Reused(u64),
}
