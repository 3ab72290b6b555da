//! No secret is ever shown: every command path runs with `-vv` and sentinel values, and no client
//! secret, code or token may appear in stdout, stderr (including logs), the process's argv, or any
//! file other than the chosen store (and the recovery file, on the path that writes one).

use crate::support;

use std::path::{Path, PathBuf};

use jira_psoxy_setup::sim::{MissingScope, SimConfig};
use support::*;

const WRONG_SECRET: &str = "SENTINEL-WRONG-SECRET-deadbeef";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Runs one command path verbosely and checks every place a secret could leak.
async fn run_and_check(
    s: &Session,
    args: Vec<String>,
    env: &[(&str, &str)],
    stdin: &[&str],
    browser: Browser,
    allowed_files: &[PathBuf],
) -> Output {
    let mut argv = String::new();
    let command = args.first().cloned();
    // The harness runs the binary with -vv and checks its output for every issued secret.
    let out = s
        .run_full(&args, env, stdin, browser, |_, pid| {
            if argv.is_empty() {
                // `ps` shows what any user of the machine can see of the process (Linux and macOS).
                let ps = std::process::Command::new("ps")
                    .args(["-o", "args=", "-p", &pid.to_string()])
                    .output();
                argv = ps
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
            }
        })
        .await;
    let mut secrets: Vec<String> = vec![CLIENT_SECRET.into(), WRONG_SECRET.into()];
    secrets.extend(s.sim.issued_secrets());
    secrets.extend(codes(&out.redirects));
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    // init and renew are still running at their first line (they wait for the browser); a quick
    // command like status may already have exited when ps looks.
    if command.is_some_and(|c| c == "init" || c == "renew") {
        assert!(argv.contains("jira-psoxy-setup"), "argv was read: {argv:?}");
    }
    assert_no_secrets(&argv, &secrets);
    let mut files = Vec::new();
    files_under(s.dir.path(), &mut files);
    for file in files
        .iter()
        .filter(|f| !allowed_files.contains(f) && !f.starts_with(recovery_dir(s)))
    {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
        assert_no_secrets(&text, &secrets);
    }
    out
}

fn recovery_dir(s: &Session) -> PathBuf {
    s.state_dir()
}

fn secret_env() -> [(&'static str, &'static str); 1] {
    [("JIRA_CLIENT_SECRET", CLIENT_SECRET)]
}

#[tokio::test]
async fn success_paths_leak_nothing() {
    let s = Session::new(SimConfig {
        sites: sites(2),
        ..loopback_config()
    })
    .await;
    let store = vec![s.secrets_file()];
    let tfvars = s.path("terraform.tfvars");
    std::fs::write(&tfvars, "a = 1\n").unwrap();
    let mut args = s.init_args();
    args.extend(
        [
            "--site",
            "Acme 2",
            "--tfvars",
            tfvars.to_str().unwrap(),
            "--ics",
            s.path("r.ics").to_str().unwrap(),
        ]
        .map(String::from),
    );
    let out = run_and_check(
        &s,
        args.clone(),
        &secret_env(),
        &[],
        Browser::Follow { accept: true },
        &store,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("DEBUG") || out.stderr.contains("INFO"),
        "-vv logs something: {}",
        out.stderr
    );

    args.push("--paste".into());
    args.push("--client-secret-stdin".into());
    let out = run_and_check(
        &s,
        args,
        &[],
        &[CLIENT_SECRET],
        Browser::Paste { accept: true },
        &store,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let renew = s.renew_args();
    let out = run_and_check(
        &s,
        renew,
        &[],
        &[],
        Browser::Follow { accept: true },
        &store,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let status = vec![
        "status".into(),
        "--check".into(),
        "--json".into(),
        "--file".into(),
        s.secrets_file().display().to_string(),
        "--atlassian-api-url".into(),
        s.sim.base_url().to_string(),
    ];
    let out = run_and_check(&s, status, &[], &[], Browser::Nothing, &store).await;
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test]
async fn failure_paths_leak_nothing() {
    let s = Session::new(loopback_config()).await;
    let none: Vec<PathBuf> = vec![];
    let wrong = [("JIRA_CLIENT_SECRET", WRONG_SECRET)];
    let out = run_and_check(
        &s,
        s.init_args(),
        &wrong,
        &[],
        Browser::Follow { accept: true },
        &none,
    )
    .await;
    assert_eq!(out.code, 4);
    let out = run_and_check(
        &s,
        s.init_args(),
        &secret_env(),
        &[],
        Browser::Follow { accept: false },
        &none,
    )
    .await;
    assert_eq!(out.code, 4);
    let mut paste = s.init_args();
    paste.push("--paste".into());
    let wrong_state = Browser::PasteWith(Box::new(|u: &url::Url| {
        u.as_str().replace("state=", "state=x")
    }));
    let out = run_and_check(&s, paste, &secret_env(), &[], wrong_state, &none).await;
    assert_eq!(out.code, 3);
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn tokens_minted_but_refused_for_missing_scopes_or_sites_leak_nothing() {
    let no_sites = SimConfig {
        sites: vec![],
        ..loopback_config()
    };
    let refusals = [
        (app_without("read:jira-work", MissingScope::GrantSubset), 4),
        (no_sites, 5),
    ];
    for (config, code) in refusals {
        let s = Session::new(config).await;
        let out = run_and_check(
            &s,
            s.init_args(),
            &secret_env(),
            &[],
            Browser::Follow { accept: true },
            &[],
        )
        .await;
        assert_eq!(out.code, code);
    }
}

#[tokio::test]
async fn the_recovery_path_keeps_secrets_only_in_the_recovery_file() {
    let s = Session::new(loopback_config()).await;
    let (args, sub, file, unmount) = s.init_with_vanishing_store("gone");
    let out = run_and_check(&s, args, &secret_env(), &[], unmount, &[]).await;
    assert_eq!(out.code, 9, "{}", out.stderr);
    let saved: Vec<PathBuf> = std::fs::read_dir(recovery_dir(&s))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::create_dir(&sub).unwrap();
    let push = vec![
        "push".into(),
        "--from".into(),
        saved[0].display().to_string(),
        "--file".into(),
        file.display().to_string(),
    ];
    let out = run_and_check(
        &s,
        push,
        &[],
        &[],
        Browser::Nothing,
        std::slice::from_ref(&file),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test]
async fn the_proxy_check_after_renew_and_on_its_own_leaks_nothing() {
    use support::proxy_standin::{StandIn, json_health, passing_health, scenario};
    let s = initialized(loopback_config(), &[]).await;
    let mut proxy = scenario("none", json_health(200, passing_health()));
    proxy["call"]["body"][0]["id"] = jira_psoxy_setup::sim::SimSite::numbered(1).id.into();
    let standin = StandIn::start(proxy);
    let store = vec![s.secrets_file()];
    let flags = ["--proxy-url", standin.url.as_str(), "--proxy-auth", "none"].map(String::from);
    let renew = [s.renew_args(), vec!["--check-proxy".into()], flags.to_vec()].concat();
    let out = run_and_check(
        &s,
        renew,
        &[],
        &[],
        Browser::Follow { accept: true },
        &store,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let file = s.secrets_file().display().to_string();
    let check = [
        strings(&["check", "--json", "--file", &file]),
        flags.to_vec(),
    ]
    .concat();
    let out = run_and_check(&s, check, &[], &[], Browser::Nothing, &store).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        s.path("home/.config/jira-psoxy-setup/proxy-jira-cloud.json")
            .exists(),
        "the remembered proxy was among the files checked"
    );
}
