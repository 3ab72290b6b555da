//! A program in a real pseudo-terminal, answered as a person would (tests/it/pty*.rs).

use std::process::Command;
use std::time::Duration;

use expectrl::{Expect, Regex, Session as Pty};

use super::*;

/// A terminal session that keeps everything the program printed.
pub struct Terminal<'s> {
    pty: expectrl::session::OsSession,
    seen: String,
    session: &'s Session,
}

impl<'s> Terminal<'s> {
    pub fn start<A: AsRef<std::ffi::OsStr>>(
        s: &'s Session,
        args: &[A],
        extra_env: &[(&str, &str)],
    ) -> Terminal<'s> {
        Self::spawn(
            s,
            Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup")),
            args,
            extra_env,
        )
    }

    /// As `start`, with the terminal echoing input when the program starts, as a person's does
    /// (the pty crate turns echo off before the program runs).
    pub fn start_echoing<A: AsRef<std::ffi::OsStr>>(
        s: &'s Session,
        args: &[A],
        extra_env: &[(&str, &str)],
    ) -> Terminal<'s> {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "stty echo && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_jira-psoxy-setup"),
        ]);
        Self::spawn(s, cmd, args, extra_env)
    }

    /// As `start`, in a terminal `columns` wide (24 rows), set before the program starts: the
    /// pty crate sets its default size from the parent after the fork, so the program waits for
    /// a line, sent once the size is ours.
    pub fn start_sized<A: AsRef<std::ffi::OsStr>>(
        s: &'s Session,
        columns: u16,
        args: &[A],
        extra_env: &[(&str, &str)],
    ) -> Terminal<'s> {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "read _ && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_jira-psoxy-setup"),
        ]);
        let mut t = Self::spawn(s, cmd, args, extra_env);
        t.pty
            .get_process_mut()
            .set_window_size(columns, 24)
            .unwrap();
        t.send("\n");
        t
    }

    pub fn spawn<A: AsRef<std::ffi::OsStr>>(
        s: &'s Session,
        mut cmd: Command,
        args: &[A],
        extra_env: &[(&str, &str)],
    ) -> Terminal<'s> {
        cmd.args(args).env_clear().current_dir(s.dir.path());
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut pty = Pty::spawn(cmd).expect("spawn in a pty");
        pty.set_expect_timeout(Some(Duration::from_secs(30)));
        Terminal {
            pty,
            seen: String::new(),
            session: s,
        }
    }

    pub fn expect(&mut self, needle: &str) -> String {
        let found = self.pty.expect(needle).unwrap_or_else(|e| {
            panic!(
                "waiting for {needle:?}: {e}\n--- seen so far:\n{}",
                self.seen
            )
        });
        self.record(&found)
    }

    pub fn expect_regex(&mut self, re: &str) -> String {
        let found = self
            .pty
            .expect(Regex(re))
            .unwrap_or_else(|e| panic!("waiting for /{re}/: {e}\n--- seen:\n{}", self.seen));
        self.record(&found)
    }

    pub fn record(&mut self, found: &expectrl::Captures) -> String {
        self.seen.push_str(&String::from_utf8_lossy(found.before()));
        let m = String::from_utf8_lossy(found.get(0).unwrap_or_default()).into_owned();
        self.seen.push_str(&m);
        m
    }

    pub fn send(&mut self, text: &str) {
        self.pty.send(text).unwrap();
    }

    /// The first question of step 1: the connector, the first offered (Jira Cloud).
    pub fn answer_connector(&mut self) {
        self.expect("Which Psoxy connector?");
        self.send("\r");
    }

    /// Step 1 as a newcomer answers it: the first connector and store offered (Jira Cloud, a
    /// local file), and the prefix proposed.
    pub fn accept_target(&mut self) {
        self.answer_connector();
        self.expect("Where should the secrets go?");
        self.send("\r");
        self.expect("Secret-name prefix");
        self.send("\r");
    }

    /// Step 1 where init ran before: the file store again, and the deployment found in it.
    pub fn accept_existing_target(&mut self) {
        self.answer_connector();
        self.expect("Where should the secrets go?");
        self.send("\r");
        self.expect("Use it?");
        self.send("y");
    }

    pub fn answer_checklist(&mut self, steps: usize) {
        for i in 1..=steps {
            self.expect(&format!("Step {i} done?"));
            // "Done" is the first choice.
            self.send("\r");
        }
    }

    /// Ctrl-C now: the run ends with 130 and says nothing was written. Returns what was shown.
    pub fn interrupt_before_anything_is_written(mut self) -> String {
        self.send("\x03");
        let (code, seen) = self.finish();
        assert_eq!(code, 130, "exit {code}: {seen}");
        assert!(
            seen.contains("interrupted") && seen.contains("nothing was written"),
            "{seen}"
        );
        seen
    }

    /// Reads to the end and returns the exit code. Whatever the story, the terminal never
    /// showed a code or token the simulator issued, or the client secret.
    pub fn finish(self) -> (i32, String) {
        let (code, seen, _) = self.finish_with_echo();
        (code, seen)
    }

    /// Waits until a hidden prompt has turned the terminal's echo off.
    pub fn wait_for_echo_off(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.pty.get_process().get_echo().unwrap() {
            assert!(
                std::time::Instant::now() < deadline,
                "echo never went off: {}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// As `finish`, and whether the terminal echoes typed input once the program is gone.
    /// A program still running at `RUN_LIMIT` is killed and the story fails with what it showed.
    pub fn finish_with_echo(mut self) -> (i32, String, bool) {
        // A pty reports EIO once the program has exited; what was read before that is kept.
        // The read runs on a thread so that a program that never ends cannot hang the test.
        let pid = self.pty.get_process().pid();
        let (done, finished) = std::sync::mpsc::channel();
        let mut pty = self.pty;
        std::thread::spawn(move || {
            let mut rest = Vec::new();
            let _ = std::io::Read::read_to_end(&mut pty, &mut rest);
            let _ = done.send((pty, rest));
        });
        let (pty, rest, overdue) = match finished.recv_timeout(RUN_LIMIT) {
            Ok((pty, rest)) => (pty, rest, false),
            Err(_) => {
                // The kill ends the program; the pty then reports EIO and the thread returns.
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
                // Something else holding the pty open (a browser it started) must not hang us.
                let (pty, rest) = finished
                    .recv_timeout(std::time::Duration::from_secs(10))
                    .expect("the pty reader returns once the program is killed");
                (pty, rest, true)
            }
        };
        self.pty = pty;
        self.seen.push_str(&String::from_utf8_lossy(&rest));
        assert!(
            !overdue,
            "the program did not finish within {RUN_LIMIT:?}; killed it. Seen:\n{}",
            self.seen
        );
        let status = self.pty.get_process().wait().unwrap();
        let code = match status {
            expectrl::process::unix::WaitStatus::Exited(_, code) => code,
            expectrl::process::unix::WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
            other => panic!("unexpected status {other:?}"),
        };
        let mut secrets = self.session.sim.issued_secrets();
        secrets.push(CLIENT_SECRET.to_string());
        assert_no_secrets(
            &self.seen,
            &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let echo = self.pty.get_process().get_echo().unwrap();
        (code, self.seen, echo)
    }
}

/// `init` as a person types it: store file, callback and endpoints, everything else prompted.
pub fn interactive_init(s: &Session) -> Vec<String> {
    let base = s.sim.base_url().to_string();
    let file = s.secrets_file().display().to_string();
    [
        "init",
        "--file",
        &file,
        "--redirect-uri",
        &s.redirect_uri,
        "--atlassian-auth-url",
        &base,
        "--atlassian-api-url",
        &base,
    ]
    .map(String::from)
    .to_vec()
}

pub fn authorize_url(text: &str) -> url::Url {
    url::Url::parse(text.trim()).unwrap()
}
