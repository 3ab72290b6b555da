//! Questions as plain lines, for a terminal that cannot move its cursor (`TERM=dumb`: Emacs
//! shells, some CI consoles, screen readers' consoles): no cursor movement, no symbols, a
//! numbered list for a choice; hidden input with echo off. Ctrl-C stays a signal.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use crate::error::{Error, Result};
use crate::secret::{SecretString, secret_from_line};
use crate::ui::{Prompter, StdinLines, wrap};

pub struct PlainPrompter {
    pub stdin: StdinLines,
}

/// Writes a question on stderr, wrapped between words, with no line ending.
fn ask(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{}",
        wrap(text, crate::ui::terminal_width().saturating_sub(2), 2)
    );
    let _ = err.flush();
}

impl PlainPrompter {
    fn line(&self, flag: &str) -> Result<String> {
        self.stdin
            .next_line()
            .map(|l| l.trim().to_string())
            .ok_or_else(|| Error::Input(format!("no answer (end of input): pass {flag}")))
    }

    #[cfg(not(unix))]
    fn hidden(&self, prompt: &str) -> Result<String> {
        Ok(dialoguer::Password::new()
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact()?)
    }

    #[cfg(unix)]
    fn hidden(&self, prompt: &str) -> Result<String> {
        ask(&format!("{prompt}: "));
        let never = AtomicBool::new(false);
        crate::hidden_line::read(&never)
            .map_err(|e| Error::Input(format!("cannot read the answer ({e}): run again")))?
            .ok_or_else(|| Error::Input("no answer (end of input): run again".into()))
    }
}

impl Prompter for PlainPrompter {
    fn input(&self, prompt: &str, default: Option<&str>, flag: &str) -> Result<String> {
        match default {
            Some(d) => ask(&format!("{prompt} [{d}]: ")),
            None => ask(&format!("{prompt}: ")),
        }
        let typed = self.line(flag)?;
        Ok(match default {
            Some(d) if typed.is_empty() => d.to_string(),
            _ => typed,
        })
    }

    fn secret(&self, prompt: &str, _flag: &str) -> Result<SecretString> {
        Ok(secret_from_line(&self.hidden(prompt)?))
    }

    fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        let hint = if default { "Y/n" } else { "y/N" };
        loop {
            ask(&format!("{prompt} [{hint}]: "));
            let typed = self.line("--non-interactive")?.to_ascii_lowercase();
            match typed.as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("  answer y or n"),
            }
        }
    }

    fn select(&self, prompt: &str, items: &[String], flag: &str) -> Result<usize> {
        ask(&format!("{prompt}\n"));
        for (item, n) in items.iter().zip(1..) {
            eprintln!(
                "  {n}) {}",
                wrap(item, crate::ui::terminal_width().saturating_sub(6), 5)
            );
        }
        loop {
            ask(&format!("Choose 1-{} [1]: ", items.len()));
            let typed = self.line(flag)?;
            if typed.is_empty() {
                return Ok(0);
            }
            match typed.parse::<usize>() {
                Ok(n) if (1..=items.len()).contains(&n) => return Ok(n.saturating_sub(1)),
                _ => eprintln!("  answer with a number from 1 to {}", items.len()),
            }
        }
    }

    /// Hidden like a password: the URL carries the authorization code, which is a secret.
    fn paste(&self, prompt: &str) -> Result<String> {
        self.hidden(prompt)
    }

    fn paste_or_stop(&self, prompt: &str, stop: &AtomicBool) -> Result<Option<String>> {
        ask(&format!("{prompt}: "));
        crate::hidden_line::read(stop)
            .map_err(|e| Error::Input(format!("cannot read the pasted URL ({e}): run again")))
    }
}
