//! The pseudo-locale (`en-XA`): English accented, about 40% longer and bracketed, so a test sees
//! every text that escaped the catalog (plain English) and every layout that breaks on longer
//! words. Placeholders and plural categories stay as they are.

/// `Subscribe to {plan}` -> `[Šûƀšçŕîƀé ţö {plan} ·········]`.
pub fn pseudo(text: &str) -> String {
    match text.strip_prefix('\u{1e}') {
        Some(variants) => variants
            .split('\u{1e}')
            .map(|variant| match variant.split_once('\u{1f}') {
                Some((category, text)) => format!("\u{1e}{category}\u{1f}{}", one(text)),
                None => format!("\u{1e}{}", one(variant)),
            })
            .collect(),
        None => one(text),
    }
}

fn one(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut letters = 0usize;
    let mut in_placeholder = false;
    for ch in text.chars() {
        match ch {
            '{' => in_placeholder = true,
            '}' => in_placeholder = false,
            _ => {}
        }
        if in_placeholder {
            out.push(ch);
            continue;
        }
        if ch.is_alphabetic() {
            letters += 1;
        }
        out.push(accent(ch));
    }
    // 40% longer: one padding mark for every 2.5 letters, at least one.
    let padding = (letters * 2).div_ceil(5).max(1);
    format!("[{out} {}]", "·".repeat(padding))
}

fn accent(ch: char) -> char {
    const PLAIN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ACCENTED: &str = "àƀçðéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÀƁÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ";
    PLAIN.chars().position(|c| c == ch).and_then(|i| ACCENTED.chars().nth(i)).unwrap_or(ch)
}

#[cfg(test)]
mod tests {
    use super::pseudo;

    #[test]
    fn accents_lengthens_and_keeps_placeholders() {
        assert_eq!(pseudo("Pay {amount}"), "[Þàý {amount} ··]");
        let long = pseudo("Subscribe to {plan}");
        assert!(long.starts_with("[Šûƀšçŕîƀé ţö {plan} "), "{long}");
        assert!(long.chars().count() as f32 >= "Subscribe to {plan}".len() as f32 * 1.3, "{long}");
        assert_eq!(
            pseudo("\u{1e}one\u{1f}{count} day\u{1e}other\u{1f}{count} days"),
            "\u{1e}one\u{1f}[{count} ðàý ··]\u{1e}other\u{1f}[{count} ðàýš ··]"
        );
    }
}
