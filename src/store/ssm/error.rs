//! Turning AWS SDK errors into `StoreError`s that say what to do: which permission is missing,
//! which credential problem to fix, or that a retry will help. Messages never carry values.

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::sanitize::remote_text;
use crate::store::StoreError;

/// The fix for missing or rejected credentials, shared by every credentials message.
pub(crate) fn credentials_fix(profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!(
            "run `aws sso login --profile {p}` if the profile uses IAM Identity Center, or check profile {p} in ~/.aws/config"
        ),
        None => "run `aws sso login` (with AWS_PROFILE or --aws-profile naming your profile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string(),
    }
}

/// What was being attempted, for the message: the IAM action, the parameter and, for SecureString
/// reads and writes, the KMS action and key involved.
pub(crate) struct Op<'a> {
    pub action: &'static str,
    pub name: &'a str,
    pub kms: Option<(&'static str, String)>,
    /// A value that must never appear in a message (AWS validation errors may echo it).
    pub secret: Option<&'a str>,
}

impl<'a> Op<'a> {
    pub fn new(action: &'static str, name: &'a str) -> Self {
        Op {
            action,
            name,
            kms: None,
            secret: None,
        }
    }

    pub fn kms(mut self, action: &'static str, key: Option<&str>) -> Self {
        self.kms = Some((action, key.unwrap_or(self.default_key()).to_string()));
        self
    }

    /// The service the action belongs to: SSM, or Secrets Manager (whose stores reuse this).
    fn secrets_manager(&self) -> bool {
        self.action.starts_with("secretsmanager:")
    }

    fn service(&self) -> &'static str {
        if self.secrets_manager() {
            "AWS Secrets Manager"
        } else {
            "AWS SSM"
        }
    }

    /// What the service calls the thing named.
    fn resource(&self) -> &'static str {
        if self.secrets_manager() {
            "secret"
        } else {
            "parameter"
        }
    }

    /// The AWS managed key the service uses when none is named.
    fn default_key(&self) -> &'static str {
        if self.secrets_manager() {
            "alias/aws/secretsmanager"
        } else {
            "alias/aws/ssm"
        }
    }

    pub fn secret(mut self, value: &'a str) -> Self {
        self.secret = Some(value);
        self
    }
}

const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "KMSAccessDeniedException",
];
const BAD_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationTokenException",
];
const TRANSIENT: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyUpdates",
    "InternalServerError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// The error code AWS returned, if any.
pub(crate) fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.code()
}

pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>, op: Op<'_>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    // AWS answers SSM calls in JSON; gateways, proxies and emulators (moto) may answer in XML.
    let xml = err
        .raw_response()
        .and_then(|r| r.body().bytes())
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let code = err
        .code()
        .map(str::to_string)
        .or_else(|| xml_field(&xml, "Code"))
        .map(|c| remote_text(&c));
    let message = err
        .message()
        .map(str::to_string)
        .or_else(|| xml_field(&xml, "Message"))
        .map(|m| remote_text(&redact(&m, op.secret)));
    let what = match op.name {
        "*" => op.action.to_string(),
        name => format!("{} on {name}", op.action),
    };
    match &err {
        SdkError::TimeoutError(_) => {
            return StoreError::Unavailable(format!(
                "{} timed out ({what}): try again",
                op.service()
            ));
        }
        SdkError::DispatchFailure(d) => {
            let detail = redact(&crate::error::one_line(&err), op.secret);
            if d.is_io() || d.is_timeout() {
                return StoreError::Unavailable(format!(
                    "could not reach {} ({what}): {detail}: check the network, the region and AWS_ENDPOINT_URL",
                    op.service()
                ));
            }
            if detail.to_ascii_lowercase().contains("credential") {
                return StoreError::Credentials(format!(
                    "AWS credentials failed ({what}): {detail}: {}",
                    credentials_fix(None)
                ));
            }
            return StoreError::Other(format!(
                "{} request failed ({what}): {detail}",
                op.service()
            ));
        }
        SdkError::ConstructionFailure(_) => {
            let detail = redact(&crate::error::one_line(&err), op.secret);
            return StoreError::Other(format!(
                "could not build the {} request ({what}): {detail}",
                op.service()
            ));
        }
        _ => {}
    }
    let said = match &message {
        Some(m) if !m.is_empty() => format!(" (AWS said: {m})"),
        _ => String::new(),
    };
    let code_is = |set: &[&str]| code.as_deref().is_some_and(|c| set.contains(&c));
    if code_is(BAD_CREDENTIALS) || (status == Some(401)) {
        return StoreError::Credentials(format!(
            "AWS rejected the credentials for {what}{said}: {}",
            credentials_fix(None)
        ));
    }
    if code_is(DENIED) || status == Some(403) {
        return denied(&op, message.as_deref(), &said);
    }
    if code_is(TRANSIENT) || status.is_some_and(|s| s == 429 || s >= 500) {
        return StoreError::Unavailable(format!(
            "{} is busy or failing ({what}, {}){said}: try again",
            op.service(),
            code.or(status.map(|s| format!("HTTP {s}")))
                .unwrap_or_default()
        ));
    }
    match code.as_deref() {
        Some("InvalidKeyId") => StoreError::Other(format!(
            "the KMS key {} cannot be used for {}{said}: check --kms-key-id, or the key's state and policy",
            op.kms.as_ref().map(|k| k.1.as_str()).unwrap_or("(default)"),
            op.name
        )),
        Some(other) => StoreError::Other(format!("{what} failed: {other}{said}")),
        None => StoreError::Other(format!(
            "{what} failed{}: {}",
            status
                .map(|s| format!(" with HTTP {s}"))
                .unwrap_or_default(),
            redact(&crate::error::one_line(&err), op.secret)
        )),
    }
}

/// A denial names the permission to grant: the KMS one when AWS blames the key.
fn denied(op: &Op<'_>, message: Option<&str>, said: &str) -> StoreError {
    let m = message.unwrap_or_default().to_ascii_lowercase();
    let kms_blamed = !m.contains("ssm:")
        && !m.contains("secretsmanager:")
        && ["kms", "ciphertext", "master key"]
            .iter()
            .any(|w| m.contains(w));
    if let (true, Some((action, key))) = (kms_blamed, &op.kms) {
        return StoreError::PermissionDenied(format!(
            "AWS denied {action} on KMS key {key} (needed for the SecureString {}){said}: grant the caller {action} on that key, in its key policy or IAM",
            op.name
        ));
    }
    if op.name == "*" {
        return StoreError::PermissionDenied(format!(
            "AWS denied {action}{said}: grant the caller {action} (on Resource \"*\": it is not per {})",
            op.resource(),
            action = op.action
        ));
    }
    let also = match &op.kms {
        Some((action, key)) if key != op.default_key() => {
            format!(" (and {action} on KMS key {key})")
        }
        _ => String::new(),
    };
    StoreError::PermissionDenied(format!(
        "AWS denied {action} on {}{said}: grant the caller {action} on that {}{also}",
        op.name,
        op.resource(),
        action = op.action
    ))
}

/// The text of the first `<tag>` element of an XML error body.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let (_, rest) = xml.split_once(&format!("<{tag}>"))?;
    let (inner, _) = rest.split_once(&format!("</{tag}>"))?;
    Some(inner.trim().to_string()).filter(|s| !s.is_empty())
}

/// The shortest part of a secret that is cut out of a message: AWS validation messages quote a
/// value whole or in part (its first 20 characters, say).
const REDACT_MIN: usize = 8;

/// Removes a secret from a message, should AWS (or a mock) echo it back: every run of the text
/// that is a part of the secret at least `REDACT_MIN` bytes long (a shorter secret: whole).
pub(crate) fn redact(text: &str, secret: Option<&str>) -> String {
    let Some(secret) = secret.filter(|s| s.len() >= 4) else {
        return text.to_string();
    };
    let (text_bytes, secret_bytes) = (text.as_bytes(), secret.as_bytes());
    let window = REDACT_MIN.min(secret_bytes.len());
    let parts: std::collections::HashSet<&[u8]> = secret_bytes.windows(window).collect();
    let mut hidden = vec![false; text_bytes.len()];
    for (start, part) in text_bytes.windows(window).enumerate() {
        if parts.contains(part) {
            hidden
                .iter_mut()
                .skip(start)
                .take(window)
                .for_each(|h| *h = true);
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut in_secret = false;
    for (at, c) in text.char_indices() {
        let is_hidden = hidden.iter().skip(at).take(c.len_utf8()).any(|h| *h);
        if is_hidden && !in_secret {
            out.push_str("[REDACTED]");
        }
        if !is_hidden {
            out.push(c);
        }
        in_secret = is_hidden;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: StoreError) -> String {
        match e {
            StoreError::PermissionDenied(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn denials_name_the_ssm_or_the_kms_permission() {
        let put = || Op::new("ssm:PutParameter", "P_REFRESH_TOKEN").kms("kms:Encrypt", Some("k-1"));
        let iam = "User: arn:aws:iam::1:user/monkey is not authorized to perform: ssm:PutParameter";
        let m = text(denied(&put(), Some(iam), ""));
        assert!(
            m.starts_with("AWS denied ssm:PutParameter on P_REFRESH_TOKEN"),
            "{m}"
        );
        assert!(m.contains("(and kms:Encrypt on KMS key k-1)"), "{m}");
        let kms = "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.";
        let m = text(denied(&put(), Some(kms), ""));
        assert!(
            m.starts_with("AWS denied kms:Encrypt on KMS key k-1"),
            "{m}"
        );
        let default_key = Op::new("ssm:GetParameter", "P_CLIENT_ID").kms("kms:Decrypt", None);
        let m = text(denied(&default_key, None, ""));
        assert!(
            m.contains("grant the caller ssm:GetParameter on that parameter"),
            "{m}"
        );
        assert!(!m.contains("kms"), "{m}");
        let m = text(denied(&Op::new("ssm:DescribeParameters", "*"), None, ""));
        assert!(m.contains("Resource \"*\""), "{m}");
        let sm =
            Op::new("secretsmanager:PutSecretValue", "P_REFRESH_TOKEN").kms("kms:Encrypt", None);
        let m = text(denied(&sm, None, ""));
        assert!(
            m.contains("grant the caller secretsmanager:PutSecretValue on that secret"),
            "{m}"
        );
        assert!(!m.contains("kms"), "{m}");
        let m = text(denied(
            &Op::new("secretsmanager:ListSecrets", "*"),
            None,
            "",
        ));
        assert!(m.contains("Resource \"*\""), "{m}");
    }

    #[test]
    fn xml_errors_and_redaction() {
        let xml = "<ErrorResponse><Error><Code>AccessDenied</Code><Message> no </Message></Error></ErrorResponse>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(xml_field(xml, "Message").as_deref(), Some("no"));
        assert_eq!(xml_field("{}", "Code"), None);
        assert_eq!(
            redact("Value 'tok-123' at 'value' failed", Some("tok-123")),
            "Value '[REDACTED]' at 'value' failed"
        );
        // Any part of 8 or more characters, wherever it starts; shorter overlaps stay.
        let token = "sim-rt-0123456789abcdefghijklmnopqrstuvwxyz";
        assert_eq!(
            redact(
                &format!("Value '{}...' at 'value' failed", &token[..20]),
                Some(token)
            ),
            "Value '[REDACTED]...' at 'value' failed"
        );
        assert_eq!(
            redact("quoted 'abcdefghij' and 'rt-0'", Some(token)),
            "quoted '[REDACTED]' and 'rt-0'"
        );
        assert_eq!(redact("ab ü ab", Some(token)), "ab ü ab");
    }
}
