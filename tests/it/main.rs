//! The integration tests: one binary (one link against the AWS and Google SDKs), a module per
//! story file, and the harness they share in `support`. Operator stories drive the real binary
//! (`CARGO_BIN_EXE_jira-psoxy-setup`); the store stories drive the library against moto and the
//! Secret Manager fake. Everything runs on 127.0.0.1.

mod support;

mod browser_demo;
mod cli_help;
mod confluence;
mod confluence_stores;
mod confluence_tfvars;
mod demo_options;
mod endings;
mod file_store_safety;
mod gcp_fake;
mod gcp_init;
mod gcp_lock;
mod gcp_store;
mod handover;
mod handover_bench;
mod help_layout;
mod hostile_input;
mod init_file;
mod init_refusals;
mod no_token_lost;
mod proxy_answers;
mod proxy_auth;
mod proxy_standin;
mod proxy_terraform;
mod psoxy_current;
mod pty;
mod pty_asks;
mod pty_demo;
mod pty_fit;
mod recovery_files;
mod recovery_forward;
mod remote_answers;
mod renew;
mod secret_hygiene;
mod secrets_manager;
mod secrets_manager_leftover;
mod secrets_manager_recovery;
mod secrets_manager_store;
mod ssm_denials;
mod ssm_endings;
mod ssm_env;
mod ssm_hangs;
mod ssm_init;
mod ssm_lifecycle;
mod ssm_misanswers;
mod ssm_recovery;
mod ssm_store;
mod status;
mod status_at_scale;
mod status_edges;
mod status_fleet;
mod store_contract;
mod tfvars_after_store;
mod tfvars_placement;
mod tfvars_shapes;
mod token_answers;
