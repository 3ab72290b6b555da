//! What the tool prints fits the terminal: in 60 columns every line breaks between words with
//! its hanging indent, echoed answers included, and links stand on lines of their own.

use crate::support;

use support::terminal::*;
use support::*;

/// What a terminal shows, as lines: escape sequences removed, carriage returns as line ends.
fn screen_lines(seen: &str) -> Vec<String> {
    let escapes =
        regex::Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)").unwrap();
    escapes
        .replace_all(seen, "")
        .split(['\r', '\n'])
        .map(str::to_string)
        .collect()
}

/// The demo in a 60-column terminal, the steps shown again once: nothing the terminal would
/// have to break mid-word, the summary's continuation lines under their values, and the short
/// link whole on its own line.
#[tokio::test(flavor = "multi_thread")]
async fn in_60_columns_everything_wraps_between_words_and_links_stay_whole() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let args = ["init", "--demo", "--file", file.to_str().unwrap()];
    let mut t = Terminal::start_sized(&s, 60, &args, &[]);
    t.answer_connector();
    t.expect("Secret-name prefix");
    t.send("\r");
    t.expect("Step 1 done?");
    t.send("\x1b[B");
    t.send("\r");
    t.answer_checklist(4);
    t.expect("Demo: the consent page");
    t.send("\r");
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    let lines = screen_lines(&seen);
    for line in &lines {
        let one_word = !line.trim().contains(' ');
        assert!(
            line.chars().count() <= 60 || one_word,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("· Show the steps again")),
        "the echoed answer: {lines:#?}"
    );
    let short = lines
        .iter()
        .find(|l| l.contains("/start/"))
        .unwrap_or_else(|| panic!("the short link: {lines:#?}"));
    assert!(short.trim().starts_with("http://127.0.0.1:"), "{short:?}");
    assert!(short.trim().chars().count() <= 60, "{short:?}");
    let renew_by = lines
        .iter()
        .position(|l| l.starts_with("  renew by:      "))
        .unwrap_or_else(|| panic!("the renew-by line keeps its indent: {lines:#?}"));
    let next = &lines[renew_by + 1..];
    let continuation = next.iter().find(|l| !l.is_empty()).unwrap();
    assert!(
        continuation.starts_with(&" ".repeat(17)) && !continuation.starts_with(&" ".repeat(18)),
        "hangs under the value: {continuation:?}"
    );
}

/// The demo's paste-back rehearsal in 60 columns: the labels above links wrap between words,
/// and the landing URL stands on a line of its own.
#[tokio::test(flavor = "multi_thread")]
async fn in_60_columns_the_paste_rehearsal_wraps_its_labels() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file();
    let args = [
        "init",
        "--demo",
        "--paste",
        "--file",
        file.to_str().unwrap(),
    ];
    let mut t = Terminal::start_sized(&s, 60, &args, &[]);
    t.answer_connector();
    t.expect("Secret-name prefix");
    t.send("\r");
    t.answer_checklist(4);
    t.expect("Demo: the consent page");
    t.send("\r");
    t.expect("paste it below:");
    let url = t.expect_regex(r"http://127\.0\.0\.1:[0-9]+/callback\?[^\s\x1b]+");
    t.expect("Paste the URL");
    t.wait_for_echo_off();
    t.send(&format!("{url}\r"));
    let (code, seen) = t.finish();
    assert_eq!(code, 0, "exit {code}: {seen}");
    for line in screen_lines(&seen) {
        let one_word = !line.trim().contains(' ');
        assert!(
            line.chars().count() <= 60 || one_word,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
}
