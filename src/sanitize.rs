//! The one cleaner for text that comes from outside (Atlassian's answers, the browser's callback)
//! and may reach the terminal, the JSON output or a file. It is applied where the text enters,
//! so nothing downstream has to remember: control characters (ESC, CSI, OSC, BEL, newlines),
//! Unicode direction overrides and zero-width characters are dropped, and the length is bounded.
//! What remains cannot clear the screen, fake a line of our output or plant a hidden link.

/// The longest remote text kept, in characters.
pub const MAX_CHARS: usize = 500;

/// `s` without control or invisible formatting characters, at most `MAX_CHARS` characters.
pub fn remote_text(s: &str) -> String {
    s.chars()
        .filter(|c| !is_hidden(*c))
        .take(MAX_CHARS)
        .collect()
}

/// C0/C1 controls (which include ESC and the 8-bit CSI/OSC), and the formatting characters that
/// reorder or hide text on screen (bidi overrides and isolates, zero-width joiners, BOM).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_line_breaks_lose_their_control_characters() {
        let hostile = "Acme\x1b[2J\r\n[ok] done\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x07\u{9b}31m\u{202E}txt";
        let clean = remote_text(hostile);
        assert_eq!(
            clean,
            "Acme[2J[ok] done]8;;https://evil.example\\link]8;;31mtxt"
        );
        assert!(!clean.chars().any(|c| c.is_control()));
    }

    #[test]
    fn ordinary_text_is_kept_and_long_text_is_bounded() {
        assert_eq!(
            remote_text("Zoë Müller <zoe@acme.example>"),
            "Zoë Müller <zoe@acme.example>"
        );
        assert_eq!(remote_text(&"x".repeat(5000)).chars().count(), MAX_CHARS);
    }
}
