//! JSON text checked and walked without building values: what a host or a plugin needs to
//! pass an API's answer through as received, fast.
//!
//! [`is_json`] accepts exactly the texts `serde_json` reads as one JSON value (its grammar: no
//! comments, no trailing commas, no control character unescaped in a string, `\u` followed by
//! four hexadecimal digits, any depth of nesting), in one pass with no allocation but a stack of
//! one byte per open container. It says only yes or no: [`check`] words a refusal as
//! `serde_json` does, by asking it, so an error reads exactly as it did when `serde_json` was the
//! only check. The other functions walk text [`is_json`] accepted.

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapDeserializer};
use serde_json::value::RawValue;

/// Whether `text` is one JSON value, optionally surrounded by whitespace, as `serde_json` reads
/// it (a `&RawValue` from `text` would succeed).
pub fn is_json(text: &str) -> bool {
    scan::<false>(text.as_bytes(), &mut Vec::new())
}

/// The members of the object `text` is, each as its key (between its quotes, escapes as
/// written) and its value (as text), in order, duplicates included; `None` unless `text` is
/// JSON ([`is_json`]) and an object. Checks and splits in the one pass.
pub fn members(text: &str) -> Option<Vec<(&str, &str)>> {
    let bytes = text.as_bytes();
    if bytes.get(skip_space(bytes, 0)) != Some(&b'{') {
        return None;
    }
    let mut spans = Vec::new();
    if !scan::<true>(bytes, &mut spans) {
        return None;
    }
    spans
        .into_iter()
        .map(|span| Some((text.get(span[0]..span[1])?, text.get(span[2]..span[3])?)))
        .collect()
}

/// [`is_json`]; when `MEMBERS`, the spans of the outermost object's keys and values are added to
/// `members` (key start and end, value start and end).
fn scan<const MEMBERS: bool>(text: &[u8], members: &mut Vec<[usize; 4]>) -> bool {
    let mut open: Vec<u8> = Vec::new();
    let mut at = skip_space(text, 0);
    'value: loop {
        // A value starts at `at`.
        at = match text.get(at) {
            Some(b'"') => match string_end(text, at + 1) {
                Some(end) => end,
                None => return false,
            },
            Some(&byte @ (b'{' | b'[')) => {
                let inner = skip_space(text, at + 1);
                let close = if byte == b'{' { b'}' } else { b']' };
                if text.get(inner) == Some(&close) {
                    inner + 1
                } else {
                    open.push(byte);
                    if byte == b'{' {
                        match member_value(text, inner) {
                            Some(value) => {
                                if MEMBERS && open.len() == 1 {
                                    members.push([inner + 1, key_end(text, value), value, value]);
                                }
                                at = value;
                            }
                            None => return false,
                        }
                    } else {
                        at = inner;
                    }
                    continue 'value;
                }
            }
            Some(b't') => match literal_end(text, at, b"true") {
                Some(end) => end,
                None => return false,
            },
            Some(b'f') => match literal_end(text, at, b"false") {
                Some(end) => end,
                None => return false,
            },
            Some(b'n') => match literal_end(text, at, b"null") {
                Some(end) => end,
                None => return false,
            },
            Some(b'-' | b'0'..=b'9') => match number_end(text, at) {
                Some(end) => end,
                None => return false,
            },
            _ => return false,
        };
        // A value ended before `at`: what may follow depends on what encloses it.
        loop {
            if MEMBERS
                && open.len() == 1
                && let Some(member) = members.last_mut()
            {
                member[3] = at;
            }
            at = skip_space(text, at);
            let Some(&container) = open.last() else {
                return at == text.len();
            };
            match (container, text.get(at)) {
                (b'[', Some(b',')) => {
                    at = skip_space(text, at + 1);
                    continue 'value;
                }
                (b'{', Some(b',')) => match member_value(text, skip_space(text, at + 1)) {
                    Some(value) => {
                        if MEMBERS && open.len() == 1 {
                            let key = skip_space(text, at + 1) + 1;
                            members.push([key, key_end(text, value), value, value]);
                        }
                        at = value;
                        continue 'value;
                    }
                    None => return false,
                },
                (b'[', Some(b']')) | (b'{', Some(b'}')) => {
                    open.pop();
                    at += 1;
                }
                _ => return false,
            }
        }
    }
}

/// `text` as a borrowed `&RawValue`, or `serde_json`'s error for it. Text [`is_json`] accepts is
/// borrowed without being parsed again; anything else is read by `serde_json`, whose verdict
/// and words are the ones returned.
pub fn check(text: &str) -> Result<&RawValue, serde_json::Error> {
    // As `serde_json` gives it: without the whitespace around the value.
    if is_json(text)
        && let Some(raw) = borrow_checked(text.trim_matches([' ', '\n', '\t', '\r']))
    {
        return Ok(raw);
    }
    serde_json::from_str(text)
}

/// `text`, known to be JSON, as a `&RawValue`, through the one door `serde_json` offers to a
/// borrowed raw value: its deserializer for `&RawValue` accepts a map of its marker to the
/// borrowed text (what its own parser hands it). `None` if a version of `serde_json` ever
/// stops accepting that; the caller then parses.
fn borrow_checked(text: &str) -> Option<&RawValue> {
    const MARKER: &str = "$serde_json::private::RawValue";
    let entries = std::iter::once((
        BorrowedStrDeserializer::<serde_json::Error>::new(MARKER),
        BorrowedStrDeserializer::<serde_json::Error>::new(text),
    ));
    let raw = <&RawValue>::deserialize(serde::de::value::MapAccessDeserializer::new(
        MapDeserializer::new(entries),
    ))
    .ok()?;
    (raw.get().len() == text.len()).then_some(raw)
}

/// The index of the first byte at or after `at` that is not JSON whitespace.
pub fn skip_space(text: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = text.get(at) {
        at += 1;
    }
    at
}

/// After a `{` or a `,` in an object (and its whitespace, at `at`): a key, its colon, and the
/// index where its value starts.
fn member_value(text: &[u8], at: usize) -> Option<usize> {
    if text.get(at) != Some(&b'"') {
        return None;
    }
    let colon = skip_space(text, string_end(text, at + 1)?);
    (text.get(colon) == Some(&b':')).then(|| skip_space(text, colon + 1))
}

/// Where the key whose member's value starts at `value` ends (at its closing quote): back over
/// the whitespace and the colon before the value.
fn key_end(text: &[u8], value: usize) -> usize {
    let mut at = value;
    while at > 0 && matches!(text[at - 1], b' ' | b'\n' | b'\t' | b'\r') {
        at -= 1;
    }
    // The colon.
    at = at.saturating_sub(1);
    while at > 0 && matches!(text[at - 1], b' ' | b'\n' | b'\t' | b'\r') {
        at -= 1;
    }
    // The closing quote.
    at.saturating_sub(1)
}

fn literal_end(text: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    let end = at + literal.len();
    (text.get(at..end) == Some(literal)).then_some(end)
}

/// The end of a number starting at `at`: `-`, then `0` or digits not starting with `0`, then
/// maybe a fraction and an exponent, each with at least one digit.
fn number_end(text: &[u8], mut at: usize) -> Option<usize> {
    let digits = |at: usize| {
        let mut end = at;
        while text.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        end
    };
    if text.get(at) == Some(&b'-') {
        at += 1;
    }
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits(at + 1),
        _ => return None,
    }
    if text.get(at) == Some(&b'.') {
        let end = digits(at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if let Some(b'e' | b'E') = text.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = text.get(at) {
            at += 1;
        }
        let end = digits(at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// For each of the eight bytes of `word` (in memory order), its high bit set when the byte is
/// `"`, `\` or below 0x20 (a control character). The lowest set bit is exact; bits above it may
/// be spurious (borrows), so only the first one is used.
#[inline]
fn special_bytes(word: u64) -> u64 {
    let zero_in = |bytes: u64| bytes.wrapping_sub(ONES) & !bytes & HIGHS;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

/// The index of the first `"`, `\` or control character at or after `at` (the length if none).
#[inline(always)]
pub fn next_special_in_string(text: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = text.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let found = special_bytes(u64::from_le_bytes(word));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&byte) = text.get(at) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            return at;
        }
        at += 1;
    }
    at
}

/// The index after the `"` closing a string whose contents start at `at`; `None` if it is not
/// closed, holds a control character, or an escape other than JSON's.
#[inline]
fn string_end(text: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at = next_special_in_string(text, at);
        match text.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => match text.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                b'u' => {
                    let hex = text.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    at += 6;
                }
                _ => return None,
            },
            _ => return None,
        }
    }
}

/// In text [`is_json`] accepted, the index after the value starting at `at`.
pub fn value_end(text: &[u8], at: usize) -> usize {
    let mut depth = 0_usize;
    let mut at = at;
    loop {
        match text.get(at) {
            None => return at,
            Some(b'"') => {
                at += 1;
                loop {
                    at = next_special_in_string(text, at);
                    match text.get(at) {
                        Some(b'\\') => at += 2,
                        Some(_) => {
                            at += 1;
                            break;
                        }
                        None => return at,
                    }
                }
            }
            Some(b'{' | b'[') => {
                depth += 1;
                at += 1;
                continue;
            }
            Some(b'}' | b']') => {
                depth = depth.saturating_sub(1);
                at += 1;
            }
            Some(b',' | b':' | b' ' | b'\n' | b'\t' | b'\r') if depth > 0 => {
                at += 1;
                continue;
            }
            Some(_) => {
                // A number or a literal.
                while let Some(byte) = text.get(at) {
                    if matches!(byte, b',' | b']' | b'}' | b' ' | b'\n' | b'\t' | b'\r') {
                        break;
                    }
                    at += 1;
                }
            }
        }
        if depth == 0 {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_json` and `serde_json` agree on `text`; returns the verdict.
    fn agrees(text: &str) -> bool {
        let ours = is_json(text);
        let theirs = serde_json::from_str::<&RawValue>(text).is_ok();
        assert_eq!(ours, theirs, "{text:?}");
        match check(text) {
            Ok(raw) => assert_eq!(raw.get(), text.trim_matches([' ', '\n', '\t', '\r'])),
            Err(error) => assert_eq!(
                error.to_string(),
                serde_json::from_str::<&RawValue>(text)
                    .expect_err("refused")
                    .to_string()
            ),
        }
        ours
    }

    #[test]
    fn valid_texts_are_accepted() {
        for text in [
            "0",
            "-0",
            "-0.0e+0",
            "1.5E-10",
            "12345678901234567890123",
            "1e400",
            "true",
            " false ",
            "\tnull\r\n",
            r#""""#,
            r#""a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\uD83D\uDE00 é 🔑""#,
            "\"\u{7f}\"",
            "[]",
            "{}",
            "[ ]",
            "{ }",
            "[1,2 , 3]",
            r#"{"a":1,"b":[true,{"c":null}],"d":{}}"#,
            r#"{ "a" : [ 1 , { } , [ ] ] }"#,
            r#"{"keys":[{"prefix":"abcd1234","type":"PERSONAL"}],"next":null}"#,
            r#"{"a":1,"a":2}"#,
        ] {
            assert!(agrees(text), "{text}");
        }
    }

    #[test]
    fn malformed_texts_are_refused_with_serde_json_words() {
        for text in [
            // Nothing, or not JSON at all.
            "",
            "   ",
            "<html>oops</html>",
            "nul",
            "nulls",
            "True",
            "undefined",
            "'a'",
            // Truncated.
            "{",
            "[",
            "[1",
            "[1,",
            r#"{"a""#,
            r#"{"a":"#,
            r#"{"a":1"#,
            r#"{"a":1,"#,
            "\"abc",
            "\"abc\\",
            "\"\\u12",
            "tru",
            "-",
            "1.",
            "1e",
            "1e+",
            // Bad escapes.
            r#""\x""#,
            r#""\u12g4""#,
            r#""\U0041""#,
            r#""\'""#,
            // Control characters in strings.
            "\"a\u{0}b\"",
            "\"tab\there\"",
            "\"line\nbreak\"",
            "\"\u{1f}\"",
            // Numbers JSON does not have.
            "01",
            "-01",
            "+1",
            ".5",
            "1.e5",
            "0x10",
            "NaN",
            "Infinity",
            "1_000",
            // Structure.
            "[1,]",
            "{\"a\":1,}",
            "[,1]",
            "{,}",
            "{\"a\"}",
            "{\"a\" 1}",
            "{1:2}",
            "{a:1}",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "[}",
            "{]",
            "[1}",
            "]",
            "}",
            ":",
            ",",
            // Trailing garbage.
            "{} x",
            "{}{}",
            "[] []",
            "1 2",
            r#"{"keys":[]} trailing"#,
            "null,",
            "\"a\"\"b\"",
            // Comments.
            "[1 /* no */]",
            "// no\n1",
        ] {
            assert!(!agrees(text), "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_checked_without_recursion() {
        let depth = 200_000;
        let deep = "[".repeat(depth) + &"]".repeat(depth);
        assert!(agrees(&deep));
        let objects = "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth);
        assert!(agrees(&objects));
        // One bracket short, one too many, and crossed at the bottom.
        assert!(!agrees(&deep[1..]));
        assert!(!agrees(&deep[..deep.len() - 1]));
        let crossed = "[".repeat(depth) + "{" + &"]".repeat(depth + 1);
        assert!(!agrees(&crossed));
    }

    #[test]
    fn every_cut_of_a_valid_text_agrees_with_serde_json() {
        let text = r#"{"keys":[{"prefix":"ab\"cd\u00e91234","type":"PERSONAL","n":-1.5e+3,"ok":true,"m":null,"x":[false,{}]}], "next" : null}"#;
        for end in 0..=text.len() {
            if text.is_char_boundary(end) {
                agrees(&text[..end]);
                agrees(&text[end..]);
            }
        }
        // Every byte replaced by each character that matters to the grammar.
        let bytes = text.as_bytes();
        for at in 0..bytes.len() {
            for replacement in *b"\"\\{}[],: 0-.eE1\x01ntfu" {
                let mut changed = bytes.to_vec();
                changed[at] = replacement;
                if let Ok(changed) = std::str::from_utf8(&changed) {
                    agrees(changed);
                }
            }
        }
    }

    #[test]
    fn strings_are_scanned_eight_bytes_at_a_time_without_missing_a_stop() {
        for length in 0..40 {
            for stop in ["\"", "\\\\\"", "\u{1}"] {
                let text = format!("\"{}{stop}", "é".repeat(length / 2) + &"a".repeat(length));
                let expected = stop != "\u{1}";
                assert_eq!(is_json(&text), expected, "{text:?}");
            }
        }
    }

    #[test]
    fn members_are_the_outermost_object_s_keys_and_values() {
        let text = r#" { "a" : [1, {"x": 2}] , "b\"c":"v", "a":{"y":{}} ,"e":-1.5e3,"f":[]} "#;
        assert_eq!(
            members(text),
            Some(vec![
                ("a", r#"[1, {"x": 2}]"#),
                (r#"b\"c"#, r#""v""#),
                ("a", r#"{"y":{}}"#),
                ("e", "-1.5e3"),
                ("f", "[]"),
            ])
        );
        assert_eq!(members("{}"), Some(vec![]));
        assert_eq!(members(r#"{"k":true}"#), Some(vec![("k", "true")]));
        for not_an_object in ["[]", "1", r#""{}""#, r#"{"a":1} x"#, r#"{"a":}"#, ""] {
            assert_eq!(members(not_an_object), None, "{not_an_object}");
        }
    }

    #[test]
    fn value_end_finds_the_end_of_each_kind_of_value() {
        let text = br#"[{"a":"x,]\"}","b":[1,[]]}, -1.5e3 ,"s\\" ,true]"#;
        assert_eq!(value_end(text, 0), text.len());
        assert_eq!(value_end(text, 1), 26);
        assert_eq!(&text[28..value_end(text, 28)], b"-1.5e3");
        assert_eq!(&text[36..value_end(text, 36)], br#""s\\""#);
        assert_eq!(
            &text[text.len() - 5..value_end(text, text.len() - 5)],
            b"true"
        );
    }
}
