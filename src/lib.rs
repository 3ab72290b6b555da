//! jira-psoxy-setup: a guided wizard that connects Worklytics' Psoxy to Jira Cloud and
//! Confluence Cloud, with the secrets in a local file, AWS SSM Parameter Store, AWS Secrets Manager
//! or GCP Secret Manager.
//!
//! `wizard` tells the story (init, renew, status) over four seams: `ui::Prompter`, the browser and
//! `callback`, the `atlassian` client, and `store::SecretStore`.

// No panic is reachable from outside input (a panic after the code exchange used to lose the new
// tokens): outside tests, every unwrap, expect, slice index and unchecked arithmetic is refused,
// and each remaining one is allowed where it stands, with its reason.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod atlassian;
pub mod browser;
pub mod callback;
pub mod cli;
pub mod connector;
pub mod demo;
pub mod deployments;
pub mod error;
pub mod family;
pub mod hidden_line;
pub mod http;
pub mod interrupt;
pub mod last_run;
pub mod local_file;
pub mod man;
pub mod page;
pub mod plain_prompt;
pub mod proxy;
pub mod recovery;
pub mod reminder;
pub mod sanitize;
pub mod secret;
pub mod sim;
pub mod store;
#[cfg(test)]
pub mod testing;
pub mod tfvars;
pub mod ui;
pub mod user_dirs;
pub mod wizard;
