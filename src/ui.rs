//! Everything a person sees or answers. `Ui` prints progress to stderr (results go to stdout);
//! `Prompter` asks questions: `TerminalPrompter` through dialoguer, `ScriptedPrompter` for
//! `--non-interactive` runs, where every answer must come from flags, env or stdin.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};
use crate::secret::SecretString;

mod terminal_prompt;
pub use terminal_prompt::TerminalPrompter;

/// Lines read from standard input, shared by everything that reads it (the client secret with
/// `--client-secret-stdin`, then a pasted redirect URL), so no reader swallows another's line.
#[derive(Clone)]
pub struct StdinLines(Arc<Mutex<Box<dyn BufRead + Send>>>);

impl StdinLines {
    pub fn real() -> Self {
        StdinLines(Arc::new(Mutex::new(Box::new(std::io::BufReader::new(
            std::io::stdin(),
        )))))
    }

    /// The next line, without its line ending; `None` at end of input.
    pub fn next_line(&self) -> Option<String> {
        let mut line = String::new();
        let mut reader = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }
}

/// Progress output on stderr: coloured symbols in a terminal, plain text elsewhere (see `stderr_color`).
pub struct Ui {
    color: bool,
    terminal: bool,
    quiet: bool,
}

/// Whether stderr may carry colour (ours and the logs'): only a terminal that is not `TERM=dumb`,
/// and only without `NO_COLOR` (https://no-color.org).
pub fn stderr_color() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal()
        && !set("NO_COLOR")
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui {
            color: stderr_color(),
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    fn line(&self, symbol: &str, code: &str, msg: &str) {
        if self.quiet {
            return;
        }
        let msg = self.fit(symbol, msg);
        let mut err = std::io::stderr().lock();
        if self.color {
            let _ = writeln!(err, "\x1b[{code}m{symbol}\x1b[0m {msg}");
        } else {
            let _ = writeln!(err, "{symbol} {msg}");
        }
    }

    /// A new step of the wizard.
    pub fn step(&self, msg: &str) {
        self.line("==>", "1;34", msg);
    }
    pub fn ok(&self, msg: &str) {
        self.line(if self.color { "✔" } else { "[ok]" }, "32", msg);
    }
    pub fn warn(&self, msg: &str) {
        // Warnings are shown even when quiet: they change what the operator must do.
        let msg = self.fit(if self.color { "!" } else { "[warning]" }, msg);
        let mut err = std::io::stderr().lock();
        if self.color {
            let _ = writeln!(err, "\x1b[33m!\x1b[0m {msg}");
        } else {
            let _ = writeln!(err, "[warning] {msg}");
        }
    }
    pub fn info(&self, msg: &str) {
        self.line("  ", "0", msg);
    }

    /// In a terminal, `msg` wrapped between words to fit after `symbol`, so the terminal never
    /// breaks a word; elsewhere (logs, pipes) one line.
    fn fit(&self, symbol: &str, msg: &str) -> String {
        if !self.terminal {
            return msg.to_string();
        }
        let indent = symbol.chars().count().saturating_add(1);
        wrap(msg, terminal_width().saturating_sub(indent), indent)
    }

    /// Prints a URL on one unbroken line; as an OSC 8 hyperlink too in a colour terminal.
    pub fn url(&self, label: &str, url: &str) {
        let label = if self.terminal {
            fill(label, terminal_width(), 0, 2)
        } else {
            label.to_string()
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{label}");
        if self.color {
            let _ = writeln!(err, "\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\");
        } else {
            let _ = writeln!(err, "{url}");
        }
    }

    /// A spinner for a network wait; hidden when stderr is not a terminal.
    pub fn spinner(&self, msg: &str) -> Spinner {
        // A dumb terminal cannot redraw a line: the wait is said once instead.
        if self.terminal && !self.quiet && dumb_terminal() {
            self.info(&format!("{msg} ..."));
            return Spinner(None);
        }
        if !self.terminal || self.quiet {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            // `wide_msg`: cut to the terminal's width, so the line is redrawn, never wrapped.
            ProgressStyle::with_template("{spinner} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(msg.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }
}

/// Whether the terminal is a dumb one (`TERM=dumb`): questions are then asked as plain lines.
pub fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// The terminal's width in columns (stderr's), or 80 when unknown.
pub fn terminal_width() -> usize {
    dialoguer::console::Term::stderr()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
        .filter(|&c| c > 20)
        .unwrap_or(80)
}

/// `text` broken between words into lines of at most `width` columns (a longer word, such as a
/// URL, stays whole on its own line); lines after the first are indented by `indent` spaces.
/// The first line is taken to follow a prefix of `indent` columns printed before it (a symbol,
/// `error: `), so every line has `width` columns for text.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    fill(text, width.max(20).saturating_add(indent), indent, indent)
}

/// `text` broken between words so that no line passes `total` columns: the first line starts at
/// column `first` (after whatever was printed before it), later ones after `indent` spaces (a
/// hanging indent). Leading spaces and line breaks in `text` are kept; a word longer than a
/// line (a URL) stays whole on a line of its own.
pub fn fill(text: &str, total: usize, first: usize, indent: usize) -> String {
    let total = total.max(indent.saturating_add(20));
    let mut out = String::with_capacity(text.len());
    for (line, n) in text.split('\n').zip(0..) {
        if n > 0 {
            out.push('\n');
        }
        let body = line.trim_start_matches(' ');
        let lead = line.len().saturating_sub(body.len());
        out.extend(std::iter::repeat_n(' ', lead));
        let start = if n == 0 { first } else { 0 };
        let mut column = start.saturating_add(lead);
        let mut empty = true;
        for word in body.split(' ') {
            let len = word.chars().count();
            let room = column.saturating_add(1).saturating_add(len) <= total;
            if !empty && !room && column > indent {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
            } else if !empty {
                out.push(' ');
                column = column.saturating_add(1);
            }
            out.push_str(word);
            column = column.saturating_add(len);
            empty = false;
        }
    }
    out
}

/// One line on stdout. A reader that went away (`status | head -1`, a closed pipe) is no error
/// of ours: the run still ends with the exit code monitoring reads, where `println!` would panic.
pub fn write_stdout(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// `println!` for results on stdout, through [`write_stdout`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::ui::write_stdout(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::ui::write_stdout(format_args!($($arg)*))
    };
}

/// Prints a result line on stdout; in a terminal, wrapped between words with continuation
/// lines indented by `indent` (pipes and files keep one line per item).
pub fn print_fitted(line: &str, indent: usize) {
    if std::io::stdout().is_terminal() {
        let width = dialoguer::console::Term::stdout()
            .size_checked()
            .map_or(80, |(_, cols)| usize::from(cols));
        write_stdout(format_args!("{}", fill(line, width, 0, indent)));
    } else {
        write_stdout(format_args!("{line}"));
    }
}

/// Clears itself when dropped, so an early `?` never leaves a spinner running.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn set_message(&self, msg: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(msg);
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// The questions the wizard asks. `flag` names the flag (or env) that answers it
/// non-interactively, so a missing value fails at once with the fix in the message.
pub trait Prompter: Send + Sync {
    fn input(&self, prompt: &str, default: Option<&str>, flag: &str) -> Result<String>;
    fn secret(&self, prompt: &str, flag: &str) -> Result<SecretString>;
    /// Non-interactive runs take `default`: callers pick the safe answer.
    fn confirm(&self, prompt: &str, default: bool) -> Result<bool>;
    fn select(&self, prompt: &str, items: &[String], flag: &str) -> Result<usize>;
    /// A line pasted by the operator (a redirect URL); non-interactive runs read it from stdin.
    fn paste(&self, prompt: &str) -> Result<String>;
    /// As `paste`, given up (`None`) once `stop` is set: offered while something else may
    /// deliver the answer first. `None` too at the end of input.
    fn paste_or_stop(
        &self,
        prompt: &str,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<String>> {
        let _ = stop;
        self.paste(prompt).map(Some)
    }
}

/// For `--non-interactive` runs and whenever stdin or stderr is not a terminal: never waits for a
/// person; a question without an answer is an error naming the flag.
pub struct ScriptedPrompter {
    pub stdin: StdinLines,
}

impl Prompter for ScriptedPrompter {
    fn input(&self, prompt: &str, default: Option<&str>, flag: &str) -> Result<String> {
        default
            .map(str::to_string)
            .ok_or_else(|| missing(prompt, flag))
    }

    fn secret(&self, prompt: &str, flag: &str) -> Result<SecretString> {
        Err(missing(prompt, flag))
    }

    fn confirm(&self, _prompt: &str, default: bool) -> Result<bool> {
        Ok(default)
    }

    fn select(&self, prompt: &str, _items: &[String], flag: &str) -> Result<usize> {
        Err(missing(prompt, flag))
    }

    fn paste(&self, _prompt: &str) -> Result<String> {
        self.stdin.next_line().ok_or_else(|| {
            Error::Input(
                "no redirect URL on standard input: pipe the URL the browser landed on into this command, or use a loopback --redirect-uri".into(),
            )
        })
    }
}

fn missing(prompt: &str, flag: &str) -> Error {
    Error::Input(format!(
        "{prompt} is required in non-interactive mode: pass {flag}"
    ))
}

/// Log lines on stderr, for `-v`/`-vv`; never a secret.
pub fn init_logging(verbose: u8) {
    // Dependencies speak only from -v on: at the default level the AWS SDK's own warnings (an
    // instance-metadata probe on a laptop, say) would bury the one-line error that says what to do.
    let (ours, theirs) = match verbose {
        0 => ("warn", "error"),
        1 => ("info", "warn"),
        _ => ("debug", "warn"),
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("jira_psoxy_setup={ours},{theirs}"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_color())
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_breaks_between_words_and_keeps_long_words_whole() {
        let text = "Step 2 done? Authorization -> OAuth 2.0 (3LO) -> Callback URL, exactly: http://127.0.0.1:8765/callback";
        let wrapped = wrap(text, 40, 2);
        for line in wrapped.lines() {
            assert!(
                line.chars().count() <= 40 || !line.trim().contains(' '),
                "{line:?}"
            );
        }
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        assert!(
            wrapped.contains("\n  http://127.0.0.1:8765/callback"),
            "{wrapped}"
        );
        assert_eq!(wrap("short line", 40, 2), "short line");
    }

    #[test]
    fn filling_keeps_leading_spaces_and_hangs_continuations_under_the_value() {
        let line = "  renew by:      2027-12-04 (token family issued 2026-12-04; run `jira-psoxy-setup renew` before then)";
        let filled = super::fill(line, 60, 0, 17);
        let lines: Vec<&str> = filled.lines().collect();
        assert!(
            lines[0].starts_with("  renew by:      2027-12-04"),
            "{filled}"
        );
        for l in &lines {
            assert!(l.chars().count() <= 60, "{l:?} in\n{filled}");
        }
        for l in &lines[1..] {
            assert!(
                l.starts_with(&" ".repeat(17)) && !l.starts_with(&" ".repeat(18)),
                "{filled}"
            );
        }
        assert_eq!(
            filled.split_whitespace().collect::<Vec<_>>(),
            line.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(super::fill("a\n  b", 60, 0, 2), "a\n  b");
    }
}
