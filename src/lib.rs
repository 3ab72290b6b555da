//! jira-psoxy-setup: a guided wizard that connects Worklytics' Psoxy to Jira Cloud.
pub mod sim;
