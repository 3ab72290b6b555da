//! A prompter that expects a scripted list of questions, in order, and fails on any other.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::ui::Prompter;

/// The answer to one expected question; its kind must match the prompt's.
#[derive(Debug, Clone)]
pub enum Answer {
    Input(String),
    Secret(String),
    Confirm(bool),
    Select(usize),
    Paste(String),
}

/// Each question must contain the next expected text; an unexpected question (or one asked after
/// the script ran out) is an error the step under test returns, and `assert_done` reports any
/// question that was expected but never asked.
pub struct ExpectPrompter {
    script: Mutex<VecDeque<(String, Answer)>>,
    asked: Mutex<Vec<String>>,
}

impl ExpectPrompter {
    pub fn new(script: &[(&str, Answer)]) -> Self {
        ExpectPrompter {
            script: Mutex::new(
                script
                    .iter()
                    .map(|(q, a)| (q.to_string(), a.clone()))
                    .collect(),
            ),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// No question asked at all.
    pub fn silent() -> Self {
        Self::new(&[])
    }

    /// Panics if an expected question was never asked.
    pub fn assert_done(&self) {
        let left = self.script.lock().unwrap();
        assert!(
            left.is_empty(),
            "expected questions never asked: {:?}; asked: {:?}",
            left.iter().map(|(q, _)| q).collect::<Vec<_>>(),
            self.asked.lock().unwrap()
        );
    }

    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    fn next(&self, prompt: &str) -> Result<Answer> {
        self.asked.lock().unwrap().push(prompt.to_string());
        let mut script = self.script.lock().unwrap();
        match script.front() {
            Some((expected, _)) if prompt.contains(expected.as_str()) => {
                Ok(script.pop_front().expect("checked above").1)
            }
            Some((expected, _)) => Err(unexpected(prompt, &format!("expected {expected:?}"))),
            None => Err(unexpected(prompt, "no more questions expected")),
        }
    }
}

fn unexpected(prompt: &str, why: &str) -> Error {
    Error::Internal(format!("unexpected question {prompt:?} ({why})"))
}

fn wrong_kind(prompt: &str, answer: &Answer) -> Error {
    Error::Internal(format!("question {prompt:?} is answered with {answer:?}"))
}

impl Prompter for ExpectPrompter {
    fn input(&self, prompt: &str, _default: Option<&str>, _flag: &str) -> Result<String> {
        match self.next(prompt)? {
            Answer::Input(s) => Ok(s),
            other => Err(wrong_kind(prompt, &other)),
        }
    }

    fn secret(&self, prompt: &str, _flag: &str) -> Result<SecretString> {
        match self.next(prompt)? {
            Answer::Secret(s) => Ok(SecretString::from(s)),
            other => Err(wrong_kind(prompt, &other)),
        }
    }

    fn confirm(&self, prompt: &str, _default: bool) -> Result<bool> {
        match self.next(prompt)? {
            Answer::Confirm(b) => Ok(b),
            other => Err(wrong_kind(prompt, &other)),
        }
    }

    fn select(&self, prompt: &str, items: &[String], _flag: &str) -> Result<usize> {
        match self.next(prompt)? {
            Answer::Select(i) if i < items.len() => Ok(i),
            other => Err(wrong_kind(prompt, &other)),
        }
    }

    fn paste(&self, prompt: &str) -> Result<String> {
        match self.next(prompt)? {
            Answer::Paste(s) => Ok(s),
            other => Err(wrong_kind(prompt, &other)),
        }
    }
}
