//! Help that a newcomer can read in a terminal: `-h` short and grouped, `--help` complete with
//! each command's exit codes in a table that reads at 60 columns, and man pages that exist for
//! every page they name.

use std::process::Command;

use crate::support::deadline::OutputWithin as _;

/// stdout of the binary with `args`, its help laid out for `columns` columns.
fn help(args: &[&str], columns: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(args)
        .env_clear()
        .env("COLUMNS", columns)
        .output_within_limit();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn short_help_is_grouped_and_fits_an_80_by_60_screen() {
    for command in ["init", "renew", "status", "check", "push"] {
        let short = help(&[command, "-h"], "80");
        let lines = short.lines().count();
        assert!(lines < 60, "{command} -h is {lines} lines:\n{short}");
        assert!(short.contains("--help"), "{command} -h points at --help");
    }
    let init = help(&["init", "-h"], "80");
    for heading in [
        "Connector and Atlassian app:",
        "Secret store:",
        "AWS (--store aws-ssm or aws-secrets-manager):",
        "Google Cloud (--store gcp-secret-manager):",
        "Output and files:",
    ] {
        assert!(
            init.contains(&format!("\n{heading}\n")),
            "{heading}:\n{init}"
        );
    }
    // Each flag under its heading: the AWS region is not among the general options.
    let aws = init.find("\nAWS (").unwrap();
    assert!(init.find("--aws-region").unwrap() > aws, "{init}");
    assert!(init.find("--gcp-project").unwrap() > init.find("\nGoogle Cloud").unwrap());
}

/// The exit codes of each command, one per line, in `--help` and the man page.
fn exit_code_lines(text: &str) -> Vec<String> {
    let at = text
        .find("Exit codes:")
        .unwrap_or_else(|| panic!("exit codes listed: {text}"));
    text[at..]
        .lines()
        .skip(1)
        .take_while(|l| {
            l.trim_start()
                .split(' ')
                .next()
                .is_some_and(|w| w.parse::<u8>().is_ok())
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn each_command_lists_its_exit_codes_in_a_table_that_reads_at_60_columns() {
    for (command, has, lacks) in [
        (
            "init",
            &["  0 success", "  4 authorization refused", "130 "][..],
            &[" 10 status"][..],
        ),
        (
            "renew",
            &["  9 store failed, recovery file saved"][..],
            &[" 11 "][..],
        ),
        (
            "status",
            &[" 10 status: expires", " 11 status: expired"][..],
            &["  4 "][..],
        ),
        ("push", &["  6 secret store"][..], &[" 10 ", "  4 "][..]),
        (
            "check",
            &[" 13 proxy unreachable", " 15 "][..],
            &[" 10 ", "  4 "][..],
        ),
    ] {
        let long = help(&[command, "--help"], "60");
        let codes = exit_code_lines(&long);
        assert!(codes.len() >= 5, "{command}: {codes:?}");
        for line in &codes {
            assert!(line.chars().count() <= 60, "{command}: {line:?}");
        }
        let table = codes.join("\n");
        for want in has {
            assert!(table.contains(want), "{command} lists {want:?}:\n{table}");
        }
        for not in lacks {
            assert!(
                !table.contains(not),
                "{command} does not list {not:?}:\n{table}"
            );
        }
    }
    let top = help(&["--help"], "60");
    assert_eq!(exit_code_lines(&top).len(), 20, "{top}");
}

#[test]
fn status_and_push_help_do_not_speak_of_the_questions_init_asks() {
    for command in ["status", "push"] {
        let long = help(&[command, "--help"], "100");
        let flat = long.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(!flat.contains("terminal run of init"), "{command}: {long}");
        assert!(!flat.contains("a terminal run asks"), "{command}: {long}");
    }
}

#[test]
fn every_man_page_the_main_page_names_exists_and_keeps_its_table() {
    let main = help(&["man"], "100");
    let named: Vec<&str> = main
        .lines()
        .filter_map(|l| l.strip_prefix("jira\\-psoxy\\-setup\\-"))
        .filter_map(|l| l.strip_suffix("(1)"))
        .collect();
    assert!(
        named.contains(&"init") && named.contains(&"status"),
        "{main}"
    );
    for command in named {
        let page = help(&["man", command], "100");
        assert!(
            page.contains(&format!(".TH jira-psoxy-setup-{command} 1")),
            "{command}: {page}"
        );
        assert!(page.contains("Exit codes:"), "{command}: {page}");
        // The table is printed as written (no-fill), so man keeps one code per line.
        let table = &page[page.find("Exit codes:").unwrap()..];
        let nofill = &page[..page.find("Exit codes:").unwrap()];
        assert!(
            nofill
                .rfind(".nf")
                .is_some_and(|nf| nofill[nf..].find(".fi").is_none()),
            "{page}"
        );
        assert!(table.contains(".fi"), "{page}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_jira-psoxy-setup"))
        .args(["man", "nonesuch"])
        .env_clear()
        .output_within_limit();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("choose one of init"));
}

/// The examples, as `--help` prints them.
fn examples(text: &str) -> &str {
    let at = text.find("Examples:").expect("examples");
    let end = text[at..].find("\n\n").map_or(text.len(), |e| at + e);
    &text[at..end]
}

#[test]
fn examples_read_the_same_at_60_columns_as_on_a_wide_screen() {
    for command in ["init", "renew", "status", "check", "push"] {
        let narrow = help(&[command, "--help"], "60");
        let wide = help(&[command, "--help"], "200");
        assert_eq!(examples(&narrow), examples(&wide), "{command}");
        for line in examples(&narrow).lines() {
            assert!(line.chars().count() <= 60, "{command}: {line:?}");
        }
    }
}
