//! Deadlines for spawned programs: a child that does not finish in time is killed, and the test
//! fails with what it printed so far, instead of hanging the suite.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any one run of the binary may take in a story.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// As `Command::output`, failing the test (and killing the child) after `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    output_to(cmd, Stdio::piped(), limit)
}

/// As `output_within`, with the child's stdout sent to `stdout` (a closed pipe, say); unless
/// that is `Stdio::piped()`, `Output::stdout` stays empty.
pub fn output_to(cmd: &mut Command, stdout: Stdio, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let stdout = child.stdout.take().map(drain).unwrap_or_default();
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{:?} did not finish within {limit:?}; killed it. stdout so far:\n{}\nstderr so far:\n{}",
                cmd.get_program(),
                text(&stdout),
                text(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The pipes close with the child; a grandchild holding them open is not waited for.
    let grace = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&stdout) + Arc::strong_count(&stderr) > 2 && Instant::now() < grace {
        std::thread::sleep(Duration::from_millis(10));
    }
    Output {
        status,
        stdout: stdout.lock().unwrap().clone(),
        stderr: stderr.lock().unwrap().clone(),
    }
}

/// Reads `pipe` to its end on a thread; the buffer fills as output arrives.
fn drain(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    seen
}

fn text(buffer: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

/// `Command::output` with the story deadline (`RUN_LIMIT`).
pub trait OutputWithin {
    fn output_within_limit(&mut self) -> Output;
}

impl OutputWithin for Command {
    fn output_within_limit(&mut self) -> Output {
        output_within(self, RUN_LIMIT)
    }
}

/// An HTTP client for talking to the binary's listeners: a request it never answers fails the
/// test within `RUN_LIMIT` instead of hanging it.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(RUN_LIMIT)
        .build()
        .expect("an HTTP client")
}
