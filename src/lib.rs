//! jira-psoxy-setup: a guided wizard that connects Worklytics' Psoxy to Jira Cloud.
//!
//! `wizard` tells the story (init, renew, status) over four seams: `ui::Prompter`, the browser and
//! `callback`, the `atlassian` client, and `store::SecretStore`.

pub mod atlassian;
pub mod browser;
pub mod callback;
pub mod cli;
pub mod demo;
pub mod error;
pub mod http;
pub mod interrupt;
pub mod last_run;
pub mod page;
pub mod recovery;
pub mod reminder;
pub mod secret;
pub mod sim;
pub mod store;
pub mod tfvars;
pub mod ui;
pub mod user_dirs;
pub mod wizard;
