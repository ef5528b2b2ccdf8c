//! The one place that makes text from outside (a server, a plugin, a library's error, a file, an
//! argument) fit to print: no character that could drive a terminal, one line where one line is
//! expected, and a readable length. Secrets are [`crate::secrets::scrub`]'s business; it ends
//! with [`printable`].
//!
//! - [`printable`]: for one line; [`printable_lines`]: for text whose lines are kept (stdout).
//! - [`one_line`]: line breaks become spaces, the words as written; [`collapse`]: all layout
//!   goes (a server's prose, an HTML page).
//! - [`cut`]: the start, then `…`; [`cut_middle`]: the start and the end; [`cut_bytes`]: for logs,
//!   with the full size.

/// What ends a text that was cut.
pub const ELLIPSIS: &str = "…";

/// `text` with no character that could drive a terminal, for one line: tabs and line breaks
/// become spaces, every other control character (C0, DEL, C1, so escape sequences too) and the
/// invisible bidirectional overrides become `?`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\t' | '\n' | '\r' => ' ',
            _ => harmless(character),
        })
        .collect()
}

/// As [`printable`], without a copy of text that is printable already (a table's cells, 400,000
/// of them in a listing of 100,000 keys).
pub fn printable_cow(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|character| character.is_control() || is_bidi_control(character))
    {
        std::borrow::Cow::Owned(printable(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// As [`printable`], but line breaks and tabs stay: for text printed on stdout as it is.
pub fn printable_lines(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\t' | '\n' => character,
            '\r' => ' ',
            _ => harmless(character),
        })
        .collect()
}

fn harmless(character: char) -> char {
    if character.is_control() || is_bidi_control(character) {
        '?'
    } else {
        character
    }
}

/// Characters that reorder how a line is displayed without being seen.
fn is_bidi_control(character: char) -> bool {
    matches!(
        character,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `text` on one line: each line break, with the white space around it, becomes one space, and
/// blank lines go. Everything else stays as written (a value quoted with two spaces keeps them).
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` with every run of white space or control characters made one space, trimmed: prose
/// whose layout means nothing here (a server's message, the text of an HTML page).
pub fn collapse(text: &str) -> String {
    text.split(|character: char| character.is_whitespace() || character.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` if it has at most `limit` characters; else its first `limit` characters and `…`.
pub fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((at, _)) => format!("{}{ELLIPSIS}", &text[..at]),
        None => text.to_owned(),
    }
}

/// `text` if it has at most `limit` characters; else its start and its end, where a message says
/// what failed and why: half of `limit` from the start, three tenths from the end, and how many
/// characters are not shown between them.
pub fn cut_middle(text: &str, limit: usize) -> String {
    let length = text.chars().count();
    if length <= limit {
        return text.to_owned();
    }
    let head = limit / 2;
    let tail = limit * 3 / 10;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(length - tail).collect();
    format!(
        "{start}{ELLIPSIS} ({} characters not shown) {ELLIPSIS}{end}",
        length - head - tail
    )
}

/// `text` if it has at most `limit` bytes; else as many whole characters as fit, `…`, and the
/// full size: for log lines, which measure bodies in bytes.
pub fn cut_bytes(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS} ({} bytes in all)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_made_visible_and_harmless() {
        assert_eq!(printable("a\u{1b}]0;x\u{7}b"), "a?]0;x?b");
        assert_eq!(printable("one\ntwo\tthree\r"), "one two three ");
        assert_eq!(printable("\u{9b}31m\u{202e}evil"), "?31m?evil");
        assert_eq!(printable("plain, café ✓"), "plain, café ✓");
    }

    #[test]
    fn printable_lines_keeps_lines_and_tabs_only() {
        assert_eq!(
            printable_lines("{\n\t\"a\": 1\r\n}\u{1b}[2J\u{202e}"),
            "{\n\t\"a\": 1 \n}?[2J?"
        );
    }

    #[test]
    fn one_line_joins_lines_and_keeps_the_words_as_written() {
        assert_eq!(
            one_line("first  \n\n  second\r\nthird"),
            "first second third"
        );
        assert_eq!(one_line("a  b\tc"), "a  b\tc");
        assert_eq!(one_line("\n \n"), "");
    }

    #[test]
    fn collapse_drops_all_layout() {
        assert_eq!(
            collapse("  502 Bad\tGateway\r\n\n  nginx\u{1b}x "),
            "502 Bad Gateway nginx x"
        );
    }

    #[test]
    fn cut_keeps_whole_characters_and_marks_the_cut() {
        assert_eq!(cut("short", 5), "short");
        assert_eq!(cut("ééééé", 3), "ééé…");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn cut_middle_keeps_both_ends() {
        assert_eq!(cut_middle(&"x".repeat(1000), 1000), "x".repeat(1000));
        let text = format!("{}{}{}", "a".repeat(500), "b".repeat(700), "c".repeat(300));
        assert_eq!(
            cut_middle(&text, 1000),
            format!(
                "{}… (700 characters not shown) …{}",
                "a".repeat(500),
                "c".repeat(300)
            )
        );
    }

    #[test]
    fn cut_bytes_stays_on_a_character_boundary_and_gives_the_size() {
        assert_eq!(cut_bytes("abc", 3), "abc");
        assert_eq!(cut_bytes("aé", 2), "a… (3 bytes in all)");
    }
}
