//! An independent reading of Prometheus text: PyPI's `prometheus-client` parser
//! (`text_string_to_metric_families`, installed into .venv by scripts/test.sh), as node_exporter's
//! textfile collector would read the file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::deadline::{RUN_LIMIT, output_within};

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/test.sh (it installs prometheus-client into .venv)",
        venv.display()
    );
    venv
}

/// Every sample in the file, as `{"name", "type", "labels": {...}, "value"}`; the test fails if
/// the parser rejects the text.
pub fn samples(path: &Path) -> Vec<Value> {
    const PARSE: &str = "
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        out.append({'name': s.name, 'type': family.type, 'labels': s.labels, 'value': s.value})
print(json.dumps(out))
";
    let out = output_within(
        Command::new(python()).args(["-c", PARSE]).arg(path),
        RUN_LIMIT,
    );
    assert!(
        out.status.success(),
        "prometheus-client rejected {}:\n{}\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A reader that reads and parses `path` over and over until `stop` exists, counting the reads
/// and keeping the first text that was not a whole file (it must end with the timestamp
/// sample). `finish` gives `(reads, first bad text)`.
pub struct Reader(Child);

impl Reader {
    pub fn start(path: &Path, stop: &Path) -> Reader {
        const LOOP: &str = "
import json, os, sys, time
from prometheus_client.parser import text_string_to_metric_families
path, stop = sys.argv[1], sys.argv[2]
reads, bad = 0, None
deadline = time.time() + 55
while not os.path.exists(stop) and time.time() < deadline:
    try:
        text = open(path).read()
    except FileNotFoundError:
        continue
    reads += 1
    try:
        names = [f.name for f in text_string_to_metric_families(text)]
        whole = names[-1:] == ['psoxy_oauth_status_check_timestamp_seconds'] and text.endswith('\\n')
    except Exception as e:
        whole = False
    if not whole and bad is None:
        bad = text
print(json.dumps({'reads': reads, 'bad': bad}))
";
        let child = Command::new(python())
            .args(["-c", LOOP])
            .arg(path)
            .arg(stop)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Reader(child)
    }

    /// Stops the loop (the caller has created `stop`) and returns `(reads, first bad text)`.
    pub fn finish(self) -> (u64, Option<String>) {
        let out = self.0.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the reader failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["reads"].as_u64().unwrap(),
            v["bad"].as_str().map(str::to_string),
        )
    }
}
