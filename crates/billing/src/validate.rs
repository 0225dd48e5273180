//! Validation of the payment form. Every validator is total (never panics on any input) and
//! returns a typed error whose `message()` is the text the page shows next to the field.

use crate::countries::{self, PostalRequirement};

crate::wire_string_enum! {
    /// A card network, detected from the number's first digits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum CardBrand {
        Visa = "visa",
        Mastercard = "mastercard",
        Amex = "amex",
        Discover = "discover",
        Diners = "diners",
        Jcb = "jcb",
        Unionpay = "unionpay",
        Unknown = "unknown",
    }
}

impl CardBrand {
    /// The brand of a (possibly partial) number, from its leading digits.
    pub fn detect(digits: &str) -> CardBrand {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        let in_range = |n: usize, lo: u32, hi: u32| prefix(n).is_some_and(|p| (lo..=hi).contains(&p));
        if digits.starts_with('4') {
            CardBrand::Visa
        } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
            CardBrand::Mastercard
        } else if in_range(2, 34, 34) || in_range(2, 37, 37) {
            CardBrand::Amex
        } else if in_range(4, 6011, 6011) || in_range(3, 644, 649) || in_range(2, 65, 65) {
            CardBrand::Discover
        } else if in_range(3, 300, 305) || in_range(4, 3095, 3095) || in_range(2, 36, 36) || in_range(2, 38, 39) {
            CardBrand::Diners
        } else if in_range(4, 3528, 3589) {
            CardBrand::Jcb
        } else if in_range(2, 62, 62) || in_range(2, 81, 81) {
            CardBrand::Unionpay
        } else {
            CardBrand::Unknown
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::Discover => "Discover",
            CardBrand::Diners => "Diners Club",
            CardBrand::Jcb => "JCB",
            CardBrand::Unionpay => "UnionPay",
            CardBrand::Unknown => "Card",
        }
    }

    /// Valid lengths of a complete number.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            CardBrand::Visa => &[13, 16, 19],
            CardBrand::Mastercard => &[16],
            CardBrand::Amex => &[15],
            CardBrand::Discover | CardBrand::Jcb | CardBrand::Unionpay => &[16, 17, 18, 19],
            CardBrand::Diners => &[14, 15, 16, 17, 18, 19],
            CardBrand::Unknown => &[16],
        }
    }

    pub fn max_length(self) -> usize {
        self.lengths().iter().copied().max().unwrap_or(16)
    }

    /// The digits of the security code.
    pub fn cvc_length(self) -> usize {
        if self == CardBrand::Amex { 4 } else { 3 }
    }

    /// Digit groups for display: 4-4-4-4 for most, 4-6-5 for Amex, 4-6-4 for 14-digit Diners.
    pub fn groups(self, len: usize) -> &'static [usize] {
        match (self, len) {
            (CardBrand::Amex, _) => &[4, 6, 5],
            (CardBrand::Diners, 0..=14) => &[4, 6, 4],
            _ => &[4, 4, 4, 4, 3],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    Invalid,
    InvisibleCharacters,
}

impl EmailError {
    pub fn message(self) -> &'static str {
        match self {
            EmailError::Empty => "Enter your email address.",
            EmailError::TooLong => "This email address is too long.",
            EmailError::Invalid => "This email address is not valid. Check it for typos, like name@example.com.",
            EmailError::InvisibleCharacters => {
                "This email address contains invisible characters. Type it in instead of pasting it."
            }
        }
    }
}

/// A plausible, deliverable-looking address: RFC 5321 syntax (through `email_address`), at most
/// 254 characters, and a domain with a dot (no `user@localhost`). Returns the trimmed address.
pub fn validate_email(input: &str) -> Result<String, EmailError> {
    let email = input.trim();
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    if email.chars().any(is_invisible_format_char) {
        return Err(EmailError::InvisibleCharacters);
    }
    if email.len() > 254 {
        return Err(EmailError::TooLong);
    }
    if !email_address::EmailAddress::is_valid(email) {
        return Err(EmailError::Invalid);
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(EmailError::Invalid);
    };
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if local.is_empty() || local.starts_with('"') || !domain_ok {
        return Err(EmailError::Invalid);
    }
    Ok(email.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardNumberError {
    Empty,
    InvalidCharacters,
    Incomplete,
    TooLong,
    UnsupportedBrand,
    Invalid,
}

impl CardNumberError {
    pub fn message(self) -> &'static str {
        match self {
            CardNumberError::Empty => "Enter your card number.",
            CardNumberError::InvalidCharacters => "A card number has only digits.",
            CardNumberError::Incomplete => "Your card number is incomplete.",
            CardNumberError::TooLong => "Your card number is too long.",
            CardNumberError::UnsupportedBrand => {
                "We accept Visa, Mastercard, American Express, Discover, Diners Club, JCB and UnionPay."
            }
            CardNumberError::Invalid => "Your card number is invalid. Check it and try again.",
        }
    }
}

/// A card number that passed every check: digits only, its brand and a length and checksum that
/// fit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardNumber {
    pub digits: String,
    pub brand: CardBrand,
}

impl CardNumber {
    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len().saturating_sub(4)..]
    }
}

/// Digits and spaces only (what the formatter shows); brand; length per brand; Luhn.
pub fn validate_card_number(input: &str) -> Result<CardNumber, CardNumberError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(CardNumberError::Empty);
    }
    if !trimmed.chars().all(|c| c.is_ascii_digit() || c == ' ') {
        return Err(CardNumberError::InvalidCharacters);
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let brand = CardBrand::detect(&digits);
    if brand == CardBrand::Unknown {
        return Err(CardNumberError::UnsupportedBrand);
    }
    let lengths = brand.lengths();
    if digits.len() > brand.max_length() {
        return Err(CardNumberError::TooLong);
    }
    if !lengths.contains(&digits.len()) {
        return Err(CardNumberError::Incomplete);
    }
    if !luhn::valid(&digits) {
        return Err(CardNumberError::Invalid);
    }
    Ok(CardNumber { digits, brand })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryError {
    Empty,
    Incomplete,
    InvalidMonth,
    InPast,
    TooFarAhead,
}

impl ExpiryError {
    pub fn message(self) -> &'static str {
        match self {
            ExpiryError::Empty => "Enter your card's expiry date.",
            ExpiryError::Incomplete => "Your card's expiry date is incomplete. Use MM / YY.",
            ExpiryError::InvalidMonth => "Your card's expiry month is invalid. Use a month from 01 to 12.",
            ExpiryError::InPast => "Your card's expiry date is in the past.",
            ExpiryError::TooFarAhead => "Your card's expiry year is too far in the future.",
        }
    }
}

/// A card's expiry month and four-digit year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Expiry {
    pub month: u8,
    pub year: u16,
}

/// Cards are not issued for longer than this.
const MAX_YEARS_AHEAD: u16 = 20;

/// `MM / YY` (spaces and slash optional): month 1-12, not before `(current_year, current_month)`
/// and not more than 20 years ahead.
pub fn validate_expiry(input: &str, current_year: u16, current_month: u8) -> Result<Expiry, ExpiryError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ExpiryError::Empty);
    }
    if !trimmed.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '/') {
        return Err(ExpiryError::Incomplete);
    }
    let digits: Vec<u16> = trimmed.chars().filter_map(|c| c.to_digit(10)).map(|d| d as u16).collect();
    if digits.len() < 4 {
        return Err(ExpiryError::Incomplete);
    }
    if digits.len() > 4 {
        return Err(ExpiryError::Incomplete);
    }
    let month = digits[0] * 10 + digits[1];
    if !(1..=12).contains(&month) {
        return Err(ExpiryError::InvalidMonth);
    }
    let year = 2000 + digits[2] * 10 + digits[3];
    let month = month as u8;
    if (year, month) < (current_year, current_month) {
        return Err(ExpiryError::InPast);
    }
    if year > current_year.saturating_add(MAX_YEARS_AHEAD) {
        return Err(ExpiryError::TooFarAhead);
    }
    Ok(Expiry { month, year })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvcError {
    Empty,
    Incomplete,
    Invalid,
}

impl CvcError {
    pub fn message(self) -> &'static str {
        match self {
            CvcError::Empty => "Enter your card's security code.",
            CvcError::Incomplete => "Your card's security code is incomplete.",
            CvcError::Invalid => "Your card's security code is invalid.",
        }
    }
}

/// Exactly the brand's number of digits: 4 for Amex, 3 for the others.
pub fn validate_cvc(input: &str, brand: CardBrand) -> Result<String, CvcError> {
    let cvc = input.trim();
    if cvc.is_empty() {
        return Err(CvcError::Empty);
    }
    if !cvc.chars().all(|c| c.is_ascii_digit()) {
        return Err(CvcError::Invalid);
    }
    let len = cvc.len();
    let wanted = brand.cvc_length();
    if len < wanted {
        Err(CvcError::Incomplete)
    } else if len > wanted {
        Err(CvcError::Invalid)
    } else {
        Ok(cvc.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    Invalid,
    InvisibleCharacters,
}

impl NameError {
    pub fn message(self) -> &'static str {
        match self {
            NameError::Empty => "Enter the name on your card.",
            NameError::TooLong => "The name on the card can be at most 100 characters.",
            NameError::Invalid => "The name on the card can't contain digits or symbols like < > { }.",
            NameError::InvisibleCharacters => {
                "The name on the card contains invisible characters. Type it in instead of pasting it."
            }
        }
    }
}

/// The name on the card: 1 to 100 characters, letters and the punctuation names use.
pub fn validate_cardholder_name(input: &str) -> Result<String, NameError> {
    let name = input.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().any(is_invisible_format_char) {
        return Err(NameError::InvisibleCharacters);
    }
    if name.chars().count() > 100 {
        return Err(NameError::TooLong);
    }
    let allowed = |c: char| c.is_alphabetic() || c == ' ' || matches!(c, '\'' | '-' | '.' | ',' | '’');
    if !name.chars().all(allowed) || !name.chars().any(char::is_alphabetic) {
        return Err(NameError::Invalid);
    }
    Ok(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountryError {
    Empty,
    Unsupported,
}

impl CountryError {
    pub fn message(self) -> &'static str {
        match self {
            CountryError::Empty => "Choose your country or region.",
            CountryError::Unsupported => "We can't accept billing addresses in this country or region yet.",
        }
    }
}

pub fn validate_country(code: &str) -> Result<&'static str, CountryError> {
    if code.trim().is_empty() {
        return Err(CountryError::Empty);
    }
    countries::COUNTRIES.iter().find(|(c, _)| *c == code).map(|(c, _)| *c).ok_or(CountryError::Unsupported)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostalError {
    Empty,
    Incomplete,
    Invalid,
}

impl PostalError {
    /// The message for a field labelled as `postal_label(country)`.
    pub fn message(self, country: &str) -> String {
        let what = match country {
            "US" => "ZIP code",
            "GB" => "postcode",
            _ => "postal code",
        };
        match self {
            PostalError::Empty => format!("Enter your {what}."),
            PostalError::Incomplete => format!("Your {what} is incomplete."),
            PostalError::Invalid => format!("Your {what} is invalid."),
        }
    }
}

/// The postal code for `country`, normalised (ASCII letters in upper case, single spaces). Returns `None` when the
/// country does not need one and none was given.
pub fn validate_postal_code(input: &str, country: &str) -> Result<Option<String>, PostalError> {
    let cleaned: String = input.trim().to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().join(" ");
    let requirement = countries::postal_requirement(country);
    if cleaned.is_empty() {
        return match requirement {
            PostalRequirement::Required => Err(PostalError::Empty),
            _ => Ok(None),
        };
    }
    let compact: String = cleaned.chars().filter(|c| *c != ' ').collect();
    match country {
        "US" => {
            let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
            let shape_ok = cleaned.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
            match (shape_ok, digits.len()) {
                (false, _) => Err(PostalError::Invalid),
                (true, 0..=4) => Err(PostalError::Incomplete),
                (true, 5) if cleaned.len() == 5 => Ok(Some(digits)),
                (true, 9) => Ok(Some(format!("{}-{}", &digits[..5], &digits[5..]))),
                (true, 6..=8) => Err(PostalError::Incomplete),
                _ => Err(PostalError::Invalid),
            }
        }
        "CA" => {
            let chars: Vec<char> = compact.chars().collect();
            if !compact.chars().all(|c| c.is_ascii_alphanumeric()) || chars.len() > 6 {
                return Err(PostalError::Invalid);
            }
            let pattern_ok = chars
                .iter()
                .enumerate()
                .all(|(i, c)| if i % 2 == 0 { c.is_ascii_alphabetic() } else { c.is_ascii_digit() });
            if !pattern_ok {
                Err(PostalError::Invalid)
            } else if chars.len() < 6 {
                Err(PostalError::Incomplete)
            } else {
                Ok(Some(format!("{} {}", &compact[..3], &compact[3..])))
            }
        }
        "GB" => {
            if !compact.chars().all(|c| c.is_ascii_alphanumeric()) || !(5..=7).contains(&compact.len()) {
                return if compact.len() < 5 && compact.chars().all(|c| c.is_ascii_alphanumeric()) {
                    Err(PostalError::Incomplete)
                } else {
                    Err(PostalError::Invalid)
                };
            }
            let (outward, inward) = compact.split_at(compact.len() - 3);
            let inward_ok = {
                let b = inward.as_bytes();
                b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
            };
            let outward_ok = outward.as_bytes()[0].is_ascii_alphabetic() && outward.chars().any(|c| c.is_ascii_digit());
            if inward_ok && outward_ok { Ok(Some(format!("{outward} {inward}"))) } else { Err(PostalError::Invalid) }
        }
        _ => {
            let ok = (2..=10).contains(&cleaned.len())
                && cleaned.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
                && cleaned.chars().any(|c| c.is_ascii_digit());
            if requirement == PostalRequirement::None || ok {
                Ok(Some(cleaned).filter(|_| requirement != PostalRequirement::None))
            } else {
                Err(PostalError::Invalid)
            }
        }
    }
}

/// The field errors read as their messages (the postal code's names no country: "postal code").
macro_rules! message_is_display {
    ($($error:ty),*) => {$(
        impl std::fmt::Display for $error {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.message())
            }
        }

        impl std::error::Error for $error {}
    )*};
}

message_is_display!(EmailError, CardNumberError, ExpiryError, CvcError, NameError, CountryError);

impl std::fmt::Display for PostalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(""))
    }
}

impl std::error::Error for PostalError {}

/// Unicode's format characters (general category Cf, Unicode 15): bidi controls such as U+202E,
/// zero-width spaces and joiners, the BOM, tags. They render as nothing, so in an email or a name
/// they only ever disguise what was typed. A table instead of a Unicode crate: a few bytes of wasm.
pub fn is_invisible_format_char(c: char) -> bool {
    const CF: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let c = u32::from(c);
    CF.iter().any(|&(low, high)| (low..=high).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_errors_read_as_their_messages() {
        assert_eq!(EmailError::Empty.to_string(), EmailError::Empty.message());
        assert_eq!(CardNumberError::Incomplete.to_string(), "Your card number is incomplete.");
        assert_eq!(PostalError::Incomplete.to_string(), "Your postal code is incomplete.");
        let as_error: &dyn std::error::Error = &NameError::Empty;
        assert_eq!(as_error.to_string(), "Enter the name on your card.");
    }

    #[test]
    fn invisible_characters_are_refused_in_emails_and_names() {
        for c in ['\u{202E}', '\u{200B}', '\u{200D}', '\u{2066}', '\u{FEFF}', '\u{00AD}', '\u{E0041}'] {
            assert_eq!(validate_email(&format!("dev{c}@example.com")), Err(EmailError::InvisibleCharacters), "{c:?}");
            assert_eq!(validate_email(&format!("dev@exam{c}ple.com")), Err(EmailError::InvisibleCharacters), "{c:?}");
            assert_eq!(validate_cardholder_name(&format!("Ada{c} Lovelace")), Err(NameError::InvisibleCharacters));
        }
        assert_eq!(validate_cardholder_name("Zoë O’Brien").as_deref(), Ok("Zoë O’Brien"));
        assert!(!is_invisible_format_char('a') && !is_invisible_format_char(' ') && !is_invisible_format_char('é'));
    }

    #[test]
    fn emails() {
        assert_eq!(validate_email("  dev@example.com "), Ok("dev@example.com".into()));
        assert_eq!(validate_email("first.last+kiro@sub.example.co.uk"), Ok("first.last+kiro@sub.example.co.uk".into()));
        assert_eq!(validate_email(""), Err(EmailError::Empty));
        assert_eq!(validate_email("   "), Err(EmailError::Empty));
        for bad in [
            "dev",
            "dev@",
            "@example.com",
            "dev@localhost",
            "dev@@example.com",
            "dev@example..com",
            "dev example@x.com",
            "dev@.example.com",
            "dev@example.com.",
        ] {
            assert_eq!(validate_email(bad), Err(EmailError::Invalid), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(validate_email(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn brands_by_prefix() {
        let cases = [
            ("4242424242424242", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2223003122003222", CardBrand::Mastercard),
            ("2720990000000000", CardBrand::Mastercard),
            ("378282246310005", CardBrand::Amex),
            ("341111111111111", CardBrand::Amex),
            ("6011111111111117", CardBrand::Discover),
            ("6500000000000002", CardBrand::Discover),
            ("36227206271667", CardBrand::Diners),
            ("3056930009020004", CardBrand::Diners),
            ("3566002020360505", CardBrand::Jcb),
            ("6200000000000005", CardBrand::Unionpay),
            ("2220000000000000", CardBrand::Unknown),
            ("1234567812345678", CardBrand::Unknown),
            ("", CardBrand::Unknown),
        ];
        for (number, brand) in cases {
            assert_eq!(CardBrand::detect(number), brand, "{number}");
        }
    }

    #[test]
    fn card_numbers() {
        for good in [
            "4242 4242 4242 4242",
            "5555555555554444",
            "3782 822463 10005",
            "6011111111111117",
            "36227206271667",
            "3566002020360505",
            "6200000000000005",
            "2223003122003222",
        ] {
            assert!(validate_card_number(good).is_ok(), "{good}");
        }
        assert_eq!(validate_card_number("4242 4242 4242 4242").unwrap().last4(), "4242");
        assert_eq!(validate_card_number(""), Err(CardNumberError::Empty));
        assert_eq!(validate_card_number("4242-4242"), Err(CardNumberError::InvalidCharacters));
        assert_eq!(validate_card_number("4242 4242"), Err(CardNumberError::Incomplete));
        assert_eq!(validate_card_number("4242 4242 4242 4241"), Err(CardNumberError::Invalid));
        assert_eq!(validate_card_number("4242 4242 4242 4242 4242"), Err(CardNumberError::TooLong));
        assert_eq!(validate_card_number("1234 5678 1234 5670"), Err(CardNumberError::UnsupportedBrand));
        assert_eq!(validate_card_number("3782 822463 1000"), Err(CardNumberError::Incomplete));
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(validate_expiry("12 / 30", 2026, 11), Ok(Expiry { month: 12, year: 2030 }));
        assert_eq!(validate_expiry("1126", 2026, 11), Ok(Expiry { month: 11, year: 2026 }));
        assert_eq!(validate_expiry("", 2026, 11), Err(ExpiryError::Empty));
        assert_eq!(validate_expiry("1 / 2", 2026, 11), Err(ExpiryError::Incomplete));
        assert_eq!(validate_expiry("13 / 30", 2026, 11), Err(ExpiryError::InvalidMonth));
        assert_eq!(validate_expiry("00 / 30", 2026, 11), Err(ExpiryError::InvalidMonth));
        assert_eq!(validate_expiry("10 / 26", 2026, 11), Err(ExpiryError::InPast));
        assert_eq!(validate_expiry("12 / 25", 2026, 11), Err(ExpiryError::InPast));
        assert_eq!(validate_expiry("01 / 47", 2026, 11), Err(ExpiryError::TooFarAhead));
        assert_eq!(validate_expiry("01 / 46", 2026, 11), Ok(Expiry { month: 1, year: 2046 }));
        assert_eq!(validate_expiry("ab / cd", 2026, 11), Err(ExpiryError::Incomplete));
    }

    #[test]
    fn security_codes() {
        assert_eq!(validate_cvc("123", CardBrand::Visa), Ok("123".into()));
        assert_eq!(validate_cvc("1234", CardBrand::Amex), Ok("1234".into()));
        assert_eq!(validate_cvc("123", CardBrand::Amex), Err(CvcError::Incomplete));
        assert_eq!(validate_cvc("1234", CardBrand::Visa), Err(CvcError::Invalid));
        assert_eq!(validate_cvc("12a", CardBrand::Visa), Err(CvcError::Invalid));
        assert_eq!(validate_cvc("", CardBrand::Visa), Err(CvcError::Empty));
    }

    #[test]
    fn cardholder_names() {
        assert_eq!(validate_cardholder_name("  Ada   Lovelace "), Ok("Ada Lovelace".into()));
        assert_eq!(validate_cardholder_name("Zoë O'Brien-Núñez"), Ok("Zoë O'Brien-Núñez".into()));
        assert_eq!(validate_cardholder_name("山田 太郎"), Ok("山田 太郎".into()));
        assert_eq!(validate_cardholder_name(""), Err(NameError::Empty));
        assert_eq!(validate_cardholder_name("<script>"), Err(NameError::Invalid));
        assert_eq!(validate_cardholder_name("R2D2"), Err(NameError::Invalid));
        assert_eq!(validate_cardholder_name(&"a".repeat(101)), Err(NameError::TooLong));
    }

    #[test]
    fn countries_and_postal_codes() {
        assert_eq!(validate_country("US"), Ok("US"));
        assert_eq!(validate_country(""), Err(CountryError::Empty));
        assert_eq!(validate_country("RU"), Err(CountryError::Unsupported));

        assert_eq!(validate_postal_code("94107", "US"), Ok(Some("94107".into())));
        assert_eq!(validate_postal_code("94107-1234", "US"), Ok(Some("94107-1234".into())));
        assert_eq!(validate_postal_code("941071234", "US"), Ok(Some("94107-1234".into())));
        assert_eq!(validate_postal_code("", "US"), Err(PostalError::Empty));
        assert_eq!(validate_postal_code("941", "US"), Err(PostalError::Incomplete));
        assert_eq!(validate_postal_code("9410A", "US"), Err(PostalError::Invalid));
        assert_eq!(validate_postal_code("k1a0b1", "CA"), Ok(Some("K1A 0B1".into())));
        assert_eq!(validate_postal_code("K1A", "CA"), Err(PostalError::Incomplete));
        assert_eq!(validate_postal_code("111 111", "CA"), Err(PostalError::Invalid));
        assert_eq!(validate_postal_code("sw1a 1aa", "GB"), Ok(Some("SW1A 1AA".into())));
        assert_eq!(validate_postal_code("M1 1AE", "GB"), Ok(Some("M1 1AE".into())));
        assert_eq!(validate_postal_code("SW1A", "GB"), Err(PostalError::Incomplete));
        assert_eq!(validate_postal_code("12345", "GB"), Err(PostalError::Invalid));
        assert_eq!(validate_postal_code("", "DE"), Ok(None));
        assert_eq!(validate_postal_code("10115", "DE"), Ok(Some("10115".into())));
        assert_eq!(validate_postal_code("<>", "DE"), Err(PostalError::Invalid));
        assert_eq!(validate_postal_code("anything", "HK"), Ok(None));
        assert_eq!(PostalError::Empty.message("US"), "Enter your ZIP code.");
    }

    proptest! {
        #[test]
        fn validators_never_panic(s in "\\PC*", year in 2000u16..2100, month in 1u8..=12) {
            let _ = validate_email(&s);
            let _ = validate_expiry(&s, year, month);
            let _ = validate_cvc(&s, CardBrand::detect(&s));
            let _ = validate_cardholder_name(&s);
            let _ = validate_country(&s);
            for country in ["US", "CA", "GB", "DE", "HK", ""] {
                let _ = validate_postal_code(&s, country);
            }
            if let Ok(card) = validate_card_number(&s) {
                prop_assert!(luhn::valid(&card.digits));
            }
        }

        #[test]
        fn accepted_card_numbers_pass_luhn(digits in "[0-9 ]{0,24}") {
            if let Ok(card) = validate_card_number(&digits) {
                prop_assert!(luhn::valid(&card.digits));
                prop_assert!(card.brand.lengths().contains(&card.digits.len()));
            }
        }
    }
}
