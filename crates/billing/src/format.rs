//! As-you-type formatting for the card form, as pure functions of `(text, caret) -> (text, caret)`.
//! Carets are UTF-16 offsets, as the DOM's `selectionStart` gives them. Anything that is not a
//! digit (pasted dashes, letters, emoji) is dropped, and the caret stays after the same digit.

use crate::validate::CardBrand;

/// Digits of `text` (at most `max`), and how many of them stand before `caret`.
fn digits_and_caret(text: &str, caret: usize, max: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut before = 0;
    let mut offset = 0;
    for ch in text.chars() {
        if ch.is_ascii_digit() && digits.len() < max {
            digits.push(ch);
            if offset < caret {
                before = digits.len();
            }
        }
        offset += ch.len_utf16();
    }
    (digits, before)
}

/// `4242 4242 4242 4242`, `3782 822463 10005`: the brand's groups, its maximum length.
pub fn format_card_number(text: &str, caret: usize) -> (String, usize) {
    let (all, _) = digits_and_caret(text, usize::MAX, usize::MAX);
    let brand = CardBrand::detect(&all);
    let (digits, before) = digits_and_caret(text, caret, brand.max_length());
    let groups = brand.groups(digits.len());
    let mut out = String::with_capacity(digits.len() + 4);
    let mut new_caret = 0;
    let mut group_index = 0;
    let mut in_group = 0;
    for (i, ch) in digits.chars().enumerate() {
        let size = groups.get(group_index).copied().unwrap_or(usize::MAX);
        if in_group == size {
            out.push(' ');
            group_index += 1;
            in_group = 0;
        }
        out.push(ch);
        in_group += 1;
        if i + 1 == before {
            new_caret = out.len();
        }
    }
    (out, new_caret)
}

/// `MM / YY`: a leading 2-9 becomes `0N`, a month that cannot start with its second digit (`13`)
/// becomes `01 / 3`, the slash comes once the year starts.
pub fn format_expiry(text: &str, caret: usize) -> (String, usize) {
    let (mut digits, mut before) = digits_and_caret(text, caret, 4);
    let first = digits.as_bytes().first().copied();
    let second = digits.as_bytes().get(1).copied();
    let pad = matches!((first, second), (Some(b'2'..=b'9'), _) | (Some(b'1'), Some(b'3'..=b'9')));
    if pad {
        digits.insert(0, '0');
        digits.truncate(4);
        if before > 0 {
            before = (before + 1).min(digits.len());
        }
    }
    let mut out = String::with_capacity(7);
    let mut new_caret = 0;
    for (i, ch) in digits.chars().enumerate() {
        if i == 2 {
            out.push_str(" / ");
        }
        out.push(ch);
        if i + 1 == before {
            new_caret = out.len();
        }
    }
    (out, new_caret)
}

/// Digits only, at most `max`.
pub fn format_digits(text: &str, caret: usize, max: usize) -> (String, usize) {
    digits_and_caret(text, caret, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn groups_card_numbers_by_brand() {
        assert_eq!(format_card_number("4242424242424242", 16), ("4242 4242 4242 4242".into(), 19));
        assert_eq!(format_card_number("378282246310005", 15), ("3782 822463 10005".into(), 17));
        assert_eq!(format_card_number("36227206271667", 14), ("3622 720627 1667".into(), 16));
        assert_eq!(format_card_number("4242", 4), ("4242".into(), 4));
        assert_eq!(format_card_number("42424", 5), ("4242 4".into(), 6));
        assert_eq!(format_card_number("", 0), ("".into(), 0));
    }

    #[test]
    fn cleans_pasted_text_and_caps_length() {
        assert_eq!(format_card_number("4242-4242-4242-4242", 19), ("4242 4242 4242 4242".into(), 19));
        assert_eq!(format_card_number("card: 4242 4242 4242 4242 99999", 31).0, "4242 4242 4242 4242 999");
        assert_eq!(format_card_number("3782 8224 6310 0059 99", 22).0, "3782 822463 10005");
    }

    #[test]
    fn keeps_the_caret_after_the_same_digit() {
        // Typing a digit in the middle: "4242 4|242" + "9" -> caret after the 9.
        assert_eq!(format_card_number("4242 49242", 7), ("4242 4924 2".into(), 7));
        // Deleting the last digit of a group does not leave a trailing space.
        assert_eq!(format_card_number("4242 ", 5), ("4242".into(), 4));
        // Caret at the start stays there.
        assert_eq!(format_card_number("4242 4242", 0), ("4242 4242".into(), 0));
        // Emoji before the caret count as two UTF-16 units but no digits.
        assert_eq!(format_card_number("😀42", 4), ("42".into(), 2));
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(format_expiry("1", 1), ("1".into(), 1));
        assert_eq!(format_expiry("4", 1), ("04".into(), 2));
        assert_eq!(format_expiry("12", 2), ("12".into(), 2));
        assert_eq!(format_expiry("13", 2), ("01 / 3".into(), 6));
        assert_eq!(format_expiry("123", 3), ("12 / 3".into(), 6));
        assert_eq!(format_expiry("1230", 4), ("12 / 30".into(), 7));
        assert_eq!(format_expiry("12/30", 5), ("12 / 30".into(), 7));
        assert_eq!(format_expiry("12 / 305", 8), ("12 / 30".into(), 7));
        assert_eq!(format_expiry("12 / ", 5), ("12".into(), 2));
    }

    proptest! {
        #[test]
        fn formatters_are_idempotent_and_total(s in "\\PC{0,40}", caret in 0usize..60) {
            let (card, card_caret) = format_card_number(&s, caret);
            prop_assert!(card_caret <= card.len());
            prop_assert_eq!(format_card_number(&card, card_caret), (card.clone(), card_caret));
            let (exp, exp_caret) = format_expiry(&s, caret);
            prop_assert!(exp_caret <= exp.len());
            prop_assert_eq!(format_expiry(&exp, exp_caret), (exp.clone(), exp_caret));
            let (digits, digits_caret) = format_digits(&s, caret, 4);
            prop_assert_eq!(format_digits(&digits, digits_caret, 4), (digits.clone(), digits_caret));
        }
    }
}
