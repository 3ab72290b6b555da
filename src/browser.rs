//! Opening the authorize URL. The URL is always printed as well; opening is a convenience that
//! is skipped where it cannot work (SSH, WSL without a Windows browser hand-off, no display).

use std::time::Duration;

use url::Url;

pub trait Browser: Send + Sync {
    /// Opens the URL; the error says why it could not.
    fn open(&self, url: &Url) -> Result<(), String>;

    /// Why a browser here cannot open the URL or reach the loopback listener, if so.
    fn headless_reason(&self) -> Option<&'static str> {
        headless_reason()
    }
}

/// The operator's default browser. On Linux and the BSDs it is started here (`$BROWSER`'s
/// commands, else `xdg-open`) and watched for `START_GRACE`, so one that exits with an error at
/// once (a missing display, Chromium refusing to run as root) is reported, not silent; elsewhere,
/// and where no `xdg-open` exists, through the `webbrowser` crate.
pub struct SystemBrowser;

/// How long a started browser is watched for an early failing exit.
pub const START_GRACE: Duration = Duration::from_secs(2);

impl Browser for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        if cfg!(all(unix, not(target_os = "macos")))
            && let Some(started) = start_watched(url.as_str())
        {
            return started;
        }
        webbrowser::open(url.as_str()).map_err(|e| e.to_string())
    }
}

/// The commands to try: each `$BROWSER` entry (`:`-separated; `%s` is the URL, else it is the
/// last argument), else `xdg-open URL`.
fn browser_commands(browser_env: Option<&str>, url: &str) -> Vec<Vec<String>> {
    match browser_env.filter(|b| !b.trim().is_empty()) {
        Some(entries) => entries
            .split(':')
            .filter(|e| !e.trim().is_empty())
            .map(|entry| {
                let mut argv: Vec<String> = entry
                    .split_whitespace()
                    .map(|w| w.replace("%s", url))
                    .collect();
                if !entry.contains("%s") {
                    argv.push(url.to_string());
                }
                argv
            })
            .collect(),
        None => vec![vec!["xdg-open".to_string(), url.to_string()]],
    }
}

/// Starts the first command that runs; `None` when none could be found (the caller falls back).
fn start_watched(url: &str) -> Option<Result<(), String>> {
    let browser_env = std::env::var("BROWSER").ok();
    let mut failed = None;
    for argv in browser_commands(browser_env.as_deref(), url) {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        let child = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let why = match child {
            Ok(child) => match watch(child, START_GRACE) {
                Ok(()) => return Some(Ok(())),
                Err(status) => format!("the browser command `{program}` exited with {status}"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("the browser command `{program}` was not found")
            }
            Err(e) => format!("the browser command `{program}` could not start ({e})"),
        };
        failed = Some(why);
    }
    // `$BROWSER` was set: its failure is the answer. Without it, a missing xdg-open falls back.
    match (failed, browser_env.is_some_and(|b| !b.trim().is_empty())) {
        (Some(why), true) => Some(Err(why)),
        (Some(why), false) if !why.ends_with("was not found") => Some(Err(why)),
        _ => None,
    }
}

/// Waits up to `grace` for a failing exit; a browser still running then (or a launcher that
/// handed the URL over and exited 0) has started. The child is reaped in the background.
fn watch(mut child: std::process::Child, grace: Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now().checked_add(grace);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) if deadline.is_some_and(|d| std::time::Instant::now() < d) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(None) | Err(_) => {
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
        }
    }
}

/// `--no-browser`, or a machine where no browser can open.
pub struct NoBrowser;

impl Browser for NoBrowser {
    fn open(&self, _url: &Url) -> Result<(), String> {
        Err("not opening a browser".into())
    }
}

/// Why a browser on this machine could not receive the callback or open at all, if so:
/// SSH sessions and display-less Linux go straight to the paste-back path.
pub fn headless_reason() -> Option<&'static str> {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return Some("this is an SSH session: the browser runs on another machine");
    }
    if cfg!(target_os = "linux") {
        if set("WSL_DISTRO_NAME") && !set("BROWSER") {
            return Some(
                "this is WSL: a Windows browser cannot reach this Linux listener reliably",
            );
        }
        if !set("DISPLAY") && !set("WAYLAND_DISPLAY") && !set("BROWSER") {
            return Some("no display: this machine cannot open a browser");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_entries_take_the_url_where_they_say() {
        let url = "http://127.0.0.1:1/start/x";
        assert_eq!(
            browser_commands(Some("firefox --new-tab %s:lynx"), url),
            vec![
                vec!["firefox".to_string(), "--new-tab".into(), url.into()],
                vec!["lynx".to_string(), url.into()],
            ]
        );
        assert_eq!(
            browser_commands(None, url),
            vec![vec!["xdg-open".to_string(), url.into()]]
        );
    }

    #[test]
    fn a_browser_that_exits_with_an_error_at_once_is_reported() {
        let failing = std::process::Command::new("false").spawn().unwrap();
        assert!(watch(failing, START_GRACE).unwrap_err().contains('1'));
        let ok = std::process::Command::new("true").spawn().unwrap();
        assert!(watch(ok, START_GRACE).is_ok());
        let running = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(watch(running, Duration::from_millis(200)).is_ok());
    }
}
