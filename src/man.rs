//! Man pages from the command-line interface: the tool's and one per command. The examples and
//! the exit-code table are printed as written (no-fill), so the table stays a table.

use std::io::Write;

use crate::error::{Error, Result};

/// The commands that have a page of their own.
pub fn commands() -> Vec<String> {
    crate::cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Renders the page of `command` (`None`: the tool's).
pub fn render(command: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let cli = crate::cli::command();
    let cmd = match command {
        // clap's own `help` command has no page.
        None => cli.disable_help_subcommand(true),
        Some(name) => {
            let Some(sub) = cli.find_subcommand(name).filter(|c| !c.is_hide_set()) else {
                return Err(Error::Input(format!(
                    "there is no man page for {name:?}: choose one of {}",
                    commands().join(", ")
                )));
            };
            let title = format!("jira-psoxy-setup-{name}");
            sub.clone()
                .display_name(title)
                .bin_name(format!("jira-psoxy-setup {name}"))
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("jira-psoxy-setup {}", env!("CARGO_PKG_VERSION")));
    let io = |e: std::io::Error| Error::Internal(format!("rendering the man page: {e}"));
    man.render_title(out).map_err(io)?;
    man.render_name_section(out).map_err(io)?;
    man.render_synopsis_section(out).map_err(io)?;
    man.render_description_section(out).map_err(io)?;
    man.render_options_section(out).map_err(io)?;
    if command.is_none() {
        man.render_subcommands_section(out).map_err(io)?;
    }
    if let Some(extra) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        writeln!(out, ".SH MORE\n.nf").map_err(io)?;
        for line in extra.to_string().lines() {
            writeln!(out, "{}", roff_line(line)).map_err(io)?;
        }
        writeln!(out, ".fi").map_err(io)?;
    }
    man.render_version_section(out).map_err(io)?;
    Ok(())
}

/// One line of text as roff shows it: backslashes escaped, and a leading `.` or `'` (a control
/// line to roff) made plain.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
