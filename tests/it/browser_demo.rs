//! The demo in a real browser: headless Chromium, driven over the DevTools protocol, opens the
//! link the CLI printed, decides on the simulator's consent page and lands on the tool's callback
//! page. Every request the page makes is recorded from the protocol's Network events.
//!
//! Chromium is required, not optional: `scripts/test.sh` installs Debian's package, and a machine
//! without it fails here with how to get it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Network;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'",
    ),
    ("x-content-type-options", "nosniff"),
];

/// Chromium, or a failure that says how to get it.
fn chromium() -> PathBuf {
    headless_chrome::browser::default_executable().unwrap_or_else(|why| {
        panic!(
            "no Chromium found ({why}): install it with `apt-get install -y chromium` \
             (scripts/test.sh does this), or set CHROME to a Chrome or Chromium binary"
        )
    })
}

/// One response as the browser saw it: URL, status, headers.
struct Seen {
    url: String,
    status: u32,
    headers: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

/// A headless Chromium with a fresh profile and one tab whose traffic is recorded.
struct Chromium {
    _browser: Browser,
    _profile: tempfile::TempDir,
    tab: Arc<Tab>,
    requests: Arc<Mutex<Vec<String>>>,
    responses: Arc<Mutex<Vec<Seen>>>,
}

impl Chromium {
    fn launch() -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let args: Vec<&OsStr> = [
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .iter()
        .map(OsStr::new)
        .collect();
        let options = LaunchOptions::default_builder()
            .path(Some(chromium()))
            .headless(true)
            .sandbox(false)
            .user_data_dir(Some(profile.path().to_path_buf()))
            .args(args)
            .idle_browser_timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let browser = Browser::new(options).expect("Chromium starts headless");
        let tab = browser.new_tab().unwrap();
        tab.set_default_timeout(Duration::from_secs(30));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responses = Arc::new(Mutex::new(Vec::new()));
        let (req, resp) = (requests.clone(), responses.clone());
        tab.add_event_listener(Arc::new(move |event: &Event| match event {
            Event::NetworkRequestWillBeSent(e) => {
                req.lock().unwrap().push(e.params.request.url.clone());
                // A redirect's response arrives only here, with the request it caused.
                if let Some(r) = &e.params.redirect_response {
                    resp.lock().unwrap().push(Seen {
                        url: r.url.clone(),
                        status: r.status,
                        headers: r.headers.0.clone().unwrap_or_default(),
                    });
                }
            }
            Event::NetworkResponseReceived(e) => resp.lock().unwrap().push(Seen {
                url: e.params.response.url.clone(),
                status: e.params.response.status,
                headers: e.params.response.headers.0.clone().unwrap_or_default(),
            }),
            _ => {}
        }))
        .unwrap();
        tab.call_method(Network::Enable {
            max_total_buffer_size: None,
            max_resource_buffer_size: None,
            max_post_data_size: None,
            report_direct_socket_traffic: None,
            enable_durable_messages: None,
        })
        .unwrap();
        Chromium {
            _browser: browser,
            _profile: profile,
            tab,
            requests,
            responses,
        }
    }

    fn open(&self, url: &str) {
        self.tab.navigate_to(url).unwrap();
        self.tab.wait_until_navigated().unwrap();
    }

    /// Waits until the page's title is `title` (a click's navigation ends there).
    fn wait_for_title(&self, title: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = self.tab.get_title().unwrap_or_default();
            if now == title {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "page title {now:?}, waited for {title:?}: {}",
                self.tab.get_content().unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last response whose URL contains `part`.
    fn response(&self, part: &str) -> Seen {
        let responses = self.responses.lock().unwrap();
        let seen = responses
            .iter()
            .rev()
            .find(|r| r.url.contains(part))
            .unwrap_or_else(|| panic!("no response for {part}"));
        Seen {
            url: seen.url.clone(),
            status: seen.status,
            headers: seen.headers.clone(),
        }
    }

    /// Every request the page made went to this machine.
    fn assert_only_loopback(&self) {
        let requests = self.requests.lock().unwrap();
        assert!(!requests.is_empty(), "requests were recorded");
        for r in requests.iter() {
            let url = url::Url::parse(r).unwrap();
            let host = url.host_str().unwrap_or_default();
            assert!(
                url.scheme() == "http" && ["127.0.0.1", "localhost", "[::1]"].contains(&host),
                "a request left the machine: {r}"
            );
        }
    }
}

/// `init --demo --no-browser` waiting for a person's browser, as a newcomer would run it on a
/// machine where the browser is opened by hand.
struct Demo {
    child: Child,
    dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    /// The short link the CLI printed (redirects to the consent page).
    start: String,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
            .args([
                "init",
                "--demo",
                "--no-browser",
                "--non-interactive",
                "--file",
            ])
            .arg(dir.path().join("secrets.json"))
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        // The link is printed on the line after its label.
        let marker = "Short link to the same page:\n";
        let deadline = Instant::now() + Duration::from_secs(60);
        let start = loop {
            let text = stderr.lock().unwrap().clone();
            if let Some(at) = text.find(marker) {
                let rest = &text[at + marker.len()..];
                if let Some(end) = rest.find('\n') {
                    break rest[..end].trim().to_string();
                }
            }
            assert!(Instant::now() < deadline, "no link printed: {text}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Demo {
            child,
            dir,
            stderr,
            start,
        }
    }

    /// The callback URL on the listener's port (the demo registers `/callback`).
    fn callback(&self, query: &str) -> String {
        let mut url = url::Url::parse(&self.start).unwrap();
        url.set_path("/callback");
        url.set_query(Some(query));
        url.to_string()
    }

    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "the CLI did not finish: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn output(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn secrets(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("secrets.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_security_headers(seen: &Seen) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(seen.header(name), Some(value), "{name} on {}", seen.url);
    }
}

#[test]
fn a_forged_link_is_refused_then_consent_accepted_in_chromium_finishes_the_demo() {
    let browser = Chromium::launch();
    let mut demo = Demo::start();

    // A link with another state: refused, and the CLI keeps waiting for the real one.
    browser.open(&demo.callback("code=forged&state=forged"));
    browser.wait_for_title("Not this authorization");
    let forged = browser.response("state=forged");
    assert_eq!(forged.status, 400);
    assert_security_headers(&forged);
    let page = browser.tab.get_content().unwrap();
    assert!(!page.contains("window the wizard opened"), "{page}");
    assert!(demo.child.try_wait().unwrap().is_none(), "still waiting");

    browser.open(&demo.start);
    browser.wait_for_title("Authorize app \u{2014} Atlassian (simulated)");
    assert_security_headers(&browser.response(&demo.start));
    assert_security_headers(&browser.response("/authorize?"));
    browser
        .tab
        .wait_for_element("#accept")
        .unwrap()
        .click()
        .unwrap();
    browser.wait_for_title("Code received");
    let callback = browser.response("/callback?code=");
    assert_eq!(callback.status, 200);
    assert_security_headers(&callback);
    let page = browser.tab.get_content().unwrap();
    assert!(page.contains("finish in the terminal"), "{page}");
    assert!(page.contains("<html lang=\"en\""), "{page}");

    assert_eq!(demo.exit_code(), 0, "{}", demo.output());
    let secrets = demo.secrets().expect("secrets written");
    assert!(
        secrets["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"]
            .as_str()
            .is_some_and(|t| t.starts_with("sim-rt-")),
        "{secrets}"
    );
    browser.assert_only_loopback();
}

#[test]
fn consent_declined_in_chromium_ends_the_demo_with_exit_4_and_nothing_written() {
    let browser = Chromium::launch();
    let mut demo = Demo::start();
    browser.open(&demo.start);
    browser.wait_for_title("Authorize app \u{2014} Atlassian (simulated)");
    browser
        .tab
        .wait_for_element("#decline")
        .unwrap()
        .click()
        .unwrap();
    browser.wait_for_title("Access declined");
    let declined = browser.response("error=access_denied");
    assert_eq!(declined.status, 403);
    assert_security_headers(&declined);
    assert_eq!(demo.exit_code(), 4, "{}", demo.output());
    assert!(demo.output().contains("declined"), "{}", demo.output());
    assert!(
        demo.secrets()
            .is_none_or(|s| s.get("PSOXY_JIRA_CLOUD_REFRESH_TOKEN").is_none()),
        "no token stored"
    );
    browser.assert_only_loopback();
}
