//! Korean particles that depend on how the word before them ends: `이/가`, `을/를`, `은/는`,
//! `과/와` and `으로/로` (after a vowel or ㄹ). A catalog writes the pair after a placeholder, as
//! Korean software does (`{product}이(가)`, `{plan}(으)로`), and the text gets the form that
//! follows the value: Hangul by its last syllable, digits as Korean reads them, a Latin name as
//! it is said in Korean (a final b, c, g, k, m, n, p or t is a consonant, l is ㄹ, anything else
//! ends in a vowel: "Kiro", "Pro+", "Power").

/// Each pair as a catalog writes it, the form after a final consonant, the form after a vowel.
const PAIRS: [(&str, &str, &str); 5] = [
    ("이(가)", "이", "가"),
    ("을(를)", "을", "를"),
    ("은(는)", "은", "는"),
    ("과(와)", "과", "와"),
    ("(으)로", "으로", "로"),
];

/// When `rest` (the text after a placeholder filled with `value`) begins with a pair: the form
/// that follows `value`, and the text after the pair.
pub(crate) fn after<'a>(value: &str, rest: &'a str) -> Option<(&'static str, &'a str)> {
    let (written, after_consonant, after_vowel) = PAIRS.iter().find(|(written, ..)| rest.starts_with(written))?;
    let form = match (last_sound(value), *written) {
        (Ending::Vowel, _) | (Ending::Rieul, "(으)로") => after_vowel,
        _ => after_consonant,
    };
    Some((form, &rest[written.len()..]))
}

#[derive(Debug, PartialEq, Eq)]
enum Ending {
    Vowel,
    Consonant,
    /// ㄹ: a consonant, except before `(으)로`.
    Rieul,
}

fn last_sound(value: &str) -> Ending {
    // "Pro+" is read "프로플러스"; other punctuation is not read. (Not `char::is_alphanumeric`:
    // its Unicode tables cost the portal home's first visit 1.5 KB.)
    let read = |c: &char| c.is_ascii_alphanumeric() || *c == '+' || ('가'..='힣').contains(c);
    let Some(last) = value.chars().rev().find(read) else {
        return Ending::Vowel;
    };
    match last {
        '가'..='힣' => match (u32::from(last) - 0xAC00) % 28 {
            0 => Ending::Vowel,
            8 => Ending::Rieul,
            _ => Ending::Consonant,
        },
        // 영, 삼, 육; 일, 칠, 팔; 이, 사, 오, 구.
        '0' | '3' | '6' => Ending::Consonant,
        '1' | '7' | '8' => Ending::Rieul,
        'l' | 'L' => Ending::Rieul,
        c if "bcgkmnptBCGKMNPT".contains(c) => Ending::Consonant,
        _ => Ending::Vowel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str, pair: &str) -> String {
        let text = format!("{pair} 열립니다");
        let (form, rest) = after(value, &text).unwrap();
        format!("{value}{form}{rest}")
    }

    #[test]
    fn the_particle_follows_the_last_sound() {
        assert_eq!(with("Kiro", "이(가)"), "Kiro가 열립니다");
        assert_eq!(with("Slack", "이(가)"), "Slack이 열립니다");
        assert_eq!(with("Kiro Pro+", "(으)로"), "Kiro Pro+로 열립니다");
        assert_eq!(with("Excel", "(으)로"), "Excel로 열립니다");
        assert_eq!(with("Excel", "이(가)"), "Excel이 열립니다");
        assert_eq!(with("Zoom", "(으)로"), "Zoom으로 열립니다");
        assert_eq!(with("키로", "을(를)"), "키로를 열립니다");
        assert_eq!(with("깃랩", "은(는)"), "깃랩은 열립니다");
        assert_eq!(with("서울", "(으)로"), "서울로 열립니다");
        assert_eq!(with("Plan 3", "과(와)"), "Plan 3과 열립니다");
        assert_eq!(with("Plan 2", "과(와)"), "Plan 2와 열립니다");
        assert_eq!(with("Kiro Power", "이(가)"), "Kiro Power가 열립니다");
        assert_eq!(after("Kiro", "로 돌아가기"), None, "a particle without its pair stays as written");
    }
}
