//! `check` authenticates to the deployed proxy as Psoxy's test tool does: on AWS it assumes the
//! caller role (moto's STS) and signs with SigV4, which the stand-in verifies with botocore; on
//! GCP it brings a Google ID token for the proxy's URL (a fake metadata server mints it). Every
//! refusal is one line that says what to do; no credential appears in any output.

use crate::support;

use serde_json::Value;
use support::moto::Moto;
use support::proxy_standin::*;

fn aws_machine(moto: &Moto) -> Machine {
    let mut m = Machine::new();
    for (k, v) in moto.env() {
        m.set(k, v);
    }
    m
}

fn aws_check<'a>(standin: &'a StandIn, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "check",
        "--proxy-url",
        standin.url.as_str(),
        "--proxy-role-arn",
        ROLE_ARN,
        "--proxy-auth",
        "aws-iam",
    ];
    args.extend_from_slice(extra);
    args
}

fn sigv4_standin(moto: &Moto, extra: &[(&str, Value)]) -> StandIn {
    let mut s = scenario("sigv4", json_health(200, passing_health()));
    s["moto"] = moto.endpoint.clone().into();
    s["region"] = "us-east-1".into();
    s["role_arn"] = ROLE_ARN.into();
    for (k, v) in extra {
        s[*k] = v.clone();
    }
    StandIn::start(s)
}

/// The session credentials moto handed out for the caller role.
fn session_tokens(moto: &Moto) -> Vec<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", moto.port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let data: Value = serde_json::from_str(body).unwrap();
    data["sts"]["AssumedRole"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|r| {
            [
                r["session_token"].as_str().unwrap_or_default().to_string(),
                r["secret_access_key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ]
        })
        .collect()
}

#[test]
fn on_aws_the_check_assumes_the_caller_role_and_its_sigv4_signature_verifies() {
    let moto = Moto::start();
    let standin = sigv4_standin(&moto, &[]);
    let m = aws_machine(&moto);
    let tfvars = m.path("terraform.tfvars");
    std::fs::write(&tfvars, format!("jira_cloud_id = \"{CLOUD_ID}\"\n")).unwrap();
    let tfvars = tfvars.display().to_string();
    let out = m.run(&aws_check(
        &standin,
        &[
            "--aws-region",
            "us-east-1",
            "--tfvars",
            &tfvars,
            "--json",
            "-v",
        ],
    ));
    assert_eq!(out.code, 0, "{}", out.all());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "passed");
    assert_eq!(report["health"]["passed"], true);
    assert_eq!(report["call"]["http_status"], 200);
    assert_eq!(report["call"]["site_found"], true);
    assert!(
        out.stderr.contains(ROLE_ARN),
        "-v says who signs: {}",
        out.stderr
    );
    // Both requests carried the role's session: the stand-in verified each signature.
    let requests = standin.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0]["health"].as_bool().unwrap());
    assert_eq!(requests[1]["path"], "/oauth/token/accessible-resources");
    let secrets = session_tokens(&moto);
    assert!(!secrets.is_empty(), "moto's STS was asked");
    support::assert_no_secrets(
        &out.all(),
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        !out.stdout.contains("SENTINEL-SALT-HASH"),
        "the salt's hash is left out"
    );
    // What was used is remembered, nothing secret.
    let kept =
        std::fs::read_to_string(m.path("home/.config/jira-psoxy-setup/proxy-jira-cloud.json"))
            .unwrap();
    assert!(
        kept.contains(&standin.url) && kept.contains(ROLE_ARN),
        "{kept}"
    );
    support::assert_no_secrets(
        &kept,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[test]
fn a_signature_for_the_wrong_region_is_refused_in_one_line_naming_the_region() {
    let moto = Moto::start();
    let standin = sigv4_standin(&moto, &[]);
    let out = aws_machine(&moto).run(&aws_check(&standin, &["--aws-region", "eu-west-1"]));
    let error = out.the_error(13);
    assert!(
        error.contains("HTTP 403") && error.contains("eu-west-1"),
        "{}",
        error
    );
    assert!(error.contains("--aws-region"), "{}", error);
    assert_eq!(
        standin.requests().len(),
        1,
        "no call after a refused health check"
    );
}

#[test]
fn expired_credentials_and_an_unsigned_request_are_refused_in_one_line() {
    let moto = Moto::start();
    let standin = sigv4_standin(&moto, &[("expired", true.into())]);
    let out = aws_machine(&moto).run(&aws_check(&standin, &["--aws-region", "us-east-1"]));
    assert_eq!(out.code, 13, "{}", out.all());
    assert_eq!(out.error_lines().len(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("expired"), "{}", out.stderr);

    let standin = sigv4_standin(&moto, &[]);
    let url = standin.url.clone();
    let out = aws_machine(&moto).run(&["check", "--proxy-url", &url, "--proxy-auth", "none"]);
    let error = out.the_error(13);
    assert!(
        error.contains("HTTP 403") && error.contains("--proxy-auth aws-iam"),
        "{}",
        error
    );
}

/// `check` of the proxy at `url` with a Google ID token, at -v (which says where it came from).
fn check_with_id_token(m: &Machine, url: &str) -> Ran {
    m.run(&[
        "check",
        "--proxy-url",
        url,
        "--proxy-auth",
        "google-id-token",
        "-v",
    ])
}

fn gcp_machine(standin: &StandIn) -> Machine {
    let mut m = Machine::new();
    m.set("GCE_METADATA_HOST", format!("127.0.0.1:{}", standin.port));
    m
}

#[test]
fn on_gcp_the_check_brings_an_id_token_for_the_proxys_url_from_application_default_credentials() {
    let standin = StandIn::start(scenario("idtoken", json_health(200, passing_health())));
    let m = gcp_machine(&standin);
    let url = standin.url.clone();
    let out = check_with_id_token(&m, &url);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("from Application Default Credentials"),
        "-v says where the token came from: {}",
        out.stderr
    );
    let requests = standin.requests();
    let minted = &requests[0];
    assert!(
        minted["path"]
            .as_str()
            .unwrap()
            .contains("audience=http%3A%2F%2F127.0.0.1"),
        "{minted}"
    );
    // The token itself never shows.
    let headers = requests[1]["headers"].as_object().unwrap();
    let (_, authorization) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .expect("the health check carried a token");
    let token = authorization
        .as_str()
        .unwrap()
        .trim_start_matches("Bearer ");
    assert!(token.len() > 20);
    support::assert_no_secrets(&out.all(), &[token]);
}

#[test]
fn an_id_token_for_another_audience_is_refused_in_one_line() {
    let standin = StandIn::start(scenario("idtoken", json_health(200, passing_health())));
    // The same proxy under another name: the token's audience is that name, not the proxy's URL.
    let url = format!("http://localhost:{}", standin.port);
    let out = check_with_id_token(&gcp_machine(&standin), &url);
    let error = out.the_error(13);
    assert!(
        error.contains("HTTP 401") && error.contains("audience"),
        "{}",
        error
    );
}

#[test]
fn credentials_that_cannot_mint_an_id_token_fall_back_to_gcloud_and_say_so_at_v() {
    let standin = StandIn::start(scenario("idtoken", json_health(200, passing_health())));
    let mut m = gcp_machine(&standin);
    // `gcloud auth application-default login` leaves a user's credentials, which cannot mint
    // ID tokens for an audience.
    let adc = m.path("adc.json");
    std::fs::write(
        &adc,
        r#"{"type":"authorized_user","client_id":"x.apps.googleusercontent.com","client_secret":"SENTINEL-ADC-SECRET","refresh_token":"SENTINEL-ADC-REFRESH"}"#,
    )
    .unwrap();
    m.set("GOOGLE_APPLICATION_CREDENTIALS", adc.display().to_string());
    // A gcloud that gets its token where a service account's would come from.
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let gcloud = m.path("bin/gcloud");
    std::fs::write(
        &gcloud,
        format!(
            "#!{}\nimport sys, urllib.request, urllib.parse\nopen({:?}, 'w').write(' '.join(sys.argv[1:]))\naud = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--audiences=')][0]\nq = urllib.parse.urlencode({{'audience': aud}})\nr = urllib.request.Request('http://127.0.0.1:{}/computeMetadata/v1/instance/service-accounts/default/identity?' + q, headers={{'Metadata-Flavor': 'Google'}})\nprint(urllib.request.urlopen(r).read().decode())\n",
            python.display(),
            m.path("gcloud-args").display().to_string(),
            standin.port
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gcloud, std::fs::Permissions::from_mode(0o755)).unwrap();
    let url = standin.url.clone();
    let out = check_with_id_token(&m, &url);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("`gcloud auth print-identity-token`"),
        "{}",
        out.stderr
    );
    let args = std::fs::read_to_string(m.path("gcloud-args")).unwrap();
    assert_eq!(args, format!("auth print-identity-token --audiences={url}"));
    support::assert_no_secrets(&out.all(), &["SENTINEL-ADC-SECRET", "SENTINEL-ADC-REFRESH"]);
}
