//! Characters a reader cannot see, refused in what marketers type: a coupon code pasted with
//! a byte-order mark or a zero-width space never matches the code a shop sends, and a
//! direction override in a name reorders what everyone after reads.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The first character of `text` that cannot be seen or that reorders what is read: controls,
/// format characters (zero-width spaces, byte-order marks, direction marks and overrides, soft
/// hyphens) and line or paragraph separators. With `joiners`, the format characters that
/// writing needs pass: the zero-width joiner and non-joiner (Persian and other scripts, emoji
/// sequences) and the tag characters of subdivision flags (🏴 with tags is Scotland's).
pub fn hidden_char(text: &str, joiners: bool) -> Option<char> {
    text.chars().find(|&c| is_hidden(c, joiners))
}

/// Whether `c` is a character [`hidden_char`] finds.
pub fn is_hidden(c: char, joiners: bool) -> bool {
    let hidden = matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    );
    let written = matches!(c, '\u{200C}' | '\u{200D}' | '\u{E0020}'..='\u{E007F}');
    hidden && !(joiners && written)
}

/// A hidden character as a message names it: by its code point, since it cannot be shown.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_reordering_characters_are_found_and_visible_text_passes() {
        for text in [
            "\u{feff}SUMMER20",
            "SUM\u{200b}MER",
            "Alice\u{202e}",
            "a\u{2028}b",
            "a\u{2029}b",
            "soft\u{ad}hyphen",
            "tab\there",
            "\u{2066}isolate",
            "mark\u{200f}",
        ] {
            assert!(hidden_char(text, true).is_some(), "{text:?}");
        }
        for text in [
            "Zoë Ångström",
            "José 🎉",
            "日本語",
            "مریم‌جان",
            "Ross 🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
        ] {
            assert_eq!(hidden_char(text, true), None, "{text:?}");
        }
        assert_eq!(hidden_char("مریم‌جان", false), Some('\u{200c}'));
        assert_eq!(code_point('\u{feff}'), "U+FEFF");
    }
}
