#![no_main]
//! Any file content: the editor refuses it or returns a file that sets the cloud id, never panics.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok((out, _)) = jira_psoxy_setup::tfvars::set_cloud_id(text, "a436116f-02ce-4520-8fbb-7301462a1674") {
            assert!(out.contains("a436116f-02ce-4520-8fbb-7301462a1674"));
        }
    }
});
