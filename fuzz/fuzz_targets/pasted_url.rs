#![no_main]
//! Whatever an operator (or an attacker) pastes, the parser answers Ok or Err, never panics.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = jira_psoxy_setup::callback::parse_pasted(text, "0123456789abcdef0123456789abcdef");
    }
});
