//! Questions in a terminal through dialoguer, each prompt wrapped to the terminal's width with
//! room for the answer dialoguer echoes after it (the terminal would otherwise break words).

use std::io::Write;

use super::{Prompter, terminal_width, wrap};
use crate::error::{Error, Result};
use crate::secret::{SecretString, secret_from_line};

/// A prompt that fits the terminal: dialoguer leaves wrapping to the terminal, which breaks words.
fn fitted(prompt: &str) -> String {
    wrap(prompt, terminal_width().saturating_sub(4), 2)
}

/// As `fitted`, leaving room after the prompt's last line for the answer dialoguer echoes there
/// (`✔ Step 1 done? … · Show the steps again`); an answer that would not fit starts a line of
/// its own, so the terminal never breaks it mid-word.
fn fitted_for(prompt: &str, answer_columns: usize) -> String {
    // The echo adds ` · ` before the answer.
    let placeholder = "x".repeat(answer_columns.saturating_add(3));
    let wrapped = fitted(&format!("{prompt} {placeholder}"));
    match wrapped.strip_suffix(&placeholder) {
        Some(head) if head.ends_with('\n') || head.ends_with("  ") => head.to_string(),
        Some(head) => head.trim_end_matches(' ').to_string(),
        None => fitted(prompt),
    }
}

pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn input(&self, prompt: &str, default: Option<&str>, _flag: &str) -> Result<String> {
        let theme = dialoguer::theme::ColorfulTheme::default();
        let answer = default.map_or(16, |d| d.chars().count());
        let mut input =
            dialoguer::Input::<String>::with_theme(&theme).with_prompt(fitted_for(prompt, answer));
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        Ok(input.interact_text()?)
    }

    fn secret(&self, prompt: &str, _flag: &str) -> Result<SecretString> {
        let theme = dialoguer::theme::ColorfulTheme::default();
        let value = dialoguer::Password::with_theme(&theme)
            .with_prompt(fitted_for(prompt, 8))
            .interact()?;
        Ok(secret_from_line(&value))
    }

    fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        let theme = dialoguer::theme::ColorfulTheme::default();
        Ok(dialoguer::Confirm::with_theme(&theme)
            .with_prompt(fitted_for(prompt, 3))
            .default(default)
            .interact()?)
    }

    fn select(&self, prompt: &str, items: &[String], _flag: &str) -> Result<usize> {
        let theme = dialoguer::theme::ColorfulTheme::default();
        let answer = items.iter().map(|i| i.chars().count()).max().unwrap_or(0);
        Ok(dialoguer::Select::with_theme(&theme)
            .with_prompt(fitted_for(prompt, answer))
            .items(items)
            .default(0)
            .interact()?)
    }

    /// Hidden like a password: the URL carries the authorization code, which is a secret.
    fn paste(&self, prompt: &str) -> Result<String> {
        let theme = dialoguer::theme::ColorfulTheme::default();
        Ok(dialoguer::Password::with_theme(&theme)
            .with_prompt(fitted_for(prompt, 8))
            .allow_empty_password(true)
            .interact()?)
    }

    fn paste_or_stop(
        &self,
        prompt: &str,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<String>> {
        // Where the console cannot be waited on (not Unix), only the listener is waited for.
        if cfg!(unix) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{}: ", fitted(prompt));
            let _ = err.flush();
        }
        crate::hidden_line::read(stop)
            .map_err(|e| Error::Input(format!("cannot read the pasted URL ({e}): run again")))
    }
}
