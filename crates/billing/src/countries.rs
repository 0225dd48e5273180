//! The billing countries Kiro accepts (SPEC section 2), as ISO 3166-1 alpha-2 codes with display
//! names, and what each needs of a postal code.

/// `(code, display name)`, sorted by display name.
pub const COUNTRIES: [(&str, &str); 41] = [
    ("AR", "Argentina"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("BG", "Bulgaria"),
    ("CA", "Canada"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CZ", "Czech Republic"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("HK", "Hong Kong SAR"),
    ("IN", "India"),
    ("ID", "Indonesia"),
    ("IL", "Israel"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("MY", "Malaysia"),
    ("MX", "Mexico"),
    ("MA", "Morocco"),
    ("NP", "Nepal"),
    ("NL", "Netherlands"),
    ("NZ", "New Zealand"),
    ("NO", "Norway"),
    ("PH", "Philippines"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("SG", "Singapore"),
    ("ZA", "South Africa"),
    ("KR", "South Korea"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("TH", "Thailand"),
    ("AE", "United Arab Emirates"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
];

/// What the payment form asks for a country's postal code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostalRequirement {
    /// The card networks check it (US ZIP, Canadian and UK postcodes).
    Required,
    /// The country has postal codes but cards are not checked against them.
    Optional,
    /// The country has no postal codes: the field is not shown.
    None,
}

pub fn postal_requirement(code: &str) -> PostalRequirement {
    match code {
        "US" | "CA" | "GB" => PostalRequirement::Required,
        "HK" | "AE" => PostalRequirement::None,
        _ => PostalRequirement::Optional,
    }
}

/// The supported country for a browser locale such as `en-US` or `pt-BR`, if any. Locales without
/// a region (`de`) have no country.
pub fn country_from_locale(locale: &str) -> Option<&'static str> {
    let region = locale
        .split(['-', '_'])
        .skip(1)
        .find(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))?;
    let upper = region.to_ascii_uppercase();
    COUNTRIES.iter().find(|(c, _)| *c == upper).map(|(c, _)| *c)
}

/// The label of the postal code field, in the country's own terms.
pub fn postal_label(code: &str) -> &'static str {
    match code {
        "US" => "ZIP code",
        "GB" => "Postcode",
        "CA" => "Postal code",
        _ => "Postal code (optional)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_uses_alpha_2_codes() {
        let names: Vec<_> = COUNTRIES.iter().map(|(_, n)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        let mut codes: Vec<_> = COUNTRIES.iter().map(|(c, _)| *c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), COUNTRIES.len());
        assert!(codes.iter().all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase())));
    }

    #[test]
    fn locales_map_to_supported_countries() {
        assert_eq!(country_from_locale("en-US"), Some("US"));
        assert_eq!(country_from_locale("pt-BR"), Some("BR"));
        assert_eq!(country_from_locale("zh-Hant-HK"), Some("HK"));
        assert_eq!(country_from_locale("en_gb"), Some("GB"));
        assert_eq!(country_from_locale("de"), None);
        assert_eq!(country_from_locale("ru-RU"), None);
        assert_eq!(country_from_locale(""), None);
    }

    #[test]
    fn postal_rules() {
        assert_eq!(postal_requirement("US"), PostalRequirement::Required);
        assert_eq!(postal_requirement("DE"), PostalRequirement::Optional);
        assert_eq!(postal_requirement("HK"), PostalRequirement::None);
    }
}
