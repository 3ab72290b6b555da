//! Opening the authorize URL. The URL is always printed as well; opening is a convenience that
//! is skipped where it cannot work (SSH, WSL without a Windows browser hand-off, no display).

use url::Url;

pub trait Browser: Send + Sync {
    /// Opens the URL; the error says why it could not.
    fn open(&self, url: &Url) -> Result<(), String>;

    /// Why a browser here cannot open the URL or reach the loopback listener, if so.
    fn headless_reason(&self) -> Option<&'static str> {
        headless_reason()
    }
}

/// The operator's default browser, through the `webbrowser` crate (honours `$BROWSER`).
pub struct SystemBrowser;

impl Browser for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        webbrowser::open(url.as_str()).map_err(|e| e.to_string())
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
