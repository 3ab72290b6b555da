//! A bounded, deterministic mutation run over the two parsers that take outside text (the pasted
//! redirect URL and terraform.tfvars), in every test run on stable Rust. The cargo-fuzz targets in
//! fuzz/ run the same entry points under libFuzzer for longer (see BENCHMARKS.md / README).

use jira_psoxy_setup::callback::parse_pasted;
use jira_psoxy_setup::tfvars::{Edit, set_cloud_id};

const STATE: &str = "0123456789abcdef0123456789abcdef";
const ID: &str = "a436116f-02ce-4520-8fbb-7301462a1674";

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALPHABET: &[&str] = &[
    "=",
    "&",
    "?",
    "#",
    "%",
    "%3D",
    "\"",
    "{",
    "}",
    "[",
    "]",
    "\n",
    "\r\n",
    " ",
    "\\",
    "<<EOT\n",
    "EOT\n",
    "/*",
    "*/",
    "#",
    "é",
    "\u{0}",
    "code",
    "state",
    "jira_cloud_id",
    "connector_settings",
    "${",
    "%{",
];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut s: Vec<char> = seed.chars().collect();
    for _ in 0..=rng.below(6) {
        let at = rng.below(s.len() + 1);
        match rng.below(4) {
            0 if !s.is_empty() => {
                let end = (at + rng.below(8)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => s
                .splice(at..at, ALPHABET[rng.below(ALPHABET.len())].chars())
                .for_each(drop),
            2 if !s.is_empty() => {
                let i = rng.below(s.len());
                s[i] = char::from_u32(rng.below(0x250) as u32).unwrap_or('x');
            }
            _ => {
                let from = rng.below(s.len());
                let piece: Vec<char> = s[from..(from + rng.below(12)).min(s.len())].to_vec();
                s.splice(at..at, piece).for_each(drop);
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn pasted_urls_never_panic_and_only_the_right_state_yields_a_checked_code() {
    let seeds = [
        format!("http://localhost/?code=abcDEF123&state={STATE}"),
        format!("http://127.0.0.1:8765/callback?state={STATE}&code=x-y_z"),
        format!("?error=access_denied&error_description=no&state={STATE}"),
        "abcdefghijklmnop".to_string(),
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for i in 0..40_000 {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        if let Ok(p) = parse_pasted(&input, STATE)
            && p.state_checked
        {
            // URL parsing drops tabs and newlines anywhere in the input (WHATWG URL, as browsers do).
            let url_text: String = input
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            assert!(
                url_text.contains(STATE),
                "a code was accepted without this run's state: {input:?}"
            );
        }
    }
}

#[test]
fn tfvars_edits_never_panic_and_always_set_the_id_when_accepted() {
    let seeds = [
        "environment_name = \"acme\"\njira_cloud_id = \"old\" # c\n",
        "connector_settings = {\n  jira = {\n    \"jira_cloud_id\" = \"x\"\n  }\n}\n",
        "jira_cloud_id = \"t\"\nconnector_settings = { a = \"b\", jira_cloud_id = \"m\" }\n",
        "d = <<EOT\ntext\nEOT\nlist = [1, 2]\n",
        "",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    for i in 0..8_000 {
        let input = mutate(&mut rng, seeds[i % seeds.len()]);
        if let Ok((out, edit)) = set_cloud_id(&input, "jira_cloud_id", ID) {
            // Left alone only when connector_settings is not a literal map.
            if edit == Edit::ByHand {
                assert_eq!(out, input);
                continue;
            }
            assert!(out.contains(ID), "accepted but not set: {input:?}");
        }
    }
}

/// Found by `cargo fuzz run tfvars`: 577 bytes that keep the HCL parser backtracking for seconds.
/// The editor gives up after its time limit instead of hanging the wizard.
#[test]
fn a_pathological_tfvars_is_refused_within_the_time_limit() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pathological.tfvars");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("terraform.tfvars");
    std::fs::copy(&path, &copy).unwrap();
    let started = std::time::Instant::now();
    let err = jira_psoxy_setup::tfvars::update_file(&copy, "jira_cloud_id", ID).unwrap_err();
    let limit = jira_psoxy_setup::tfvars::PARSE_TIME_LIMIT;
    assert!(
        started.elapsed() < limit + std::time::Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("does not parse"), "{err}");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&path).unwrap(),
        "left alone"
    );
}
