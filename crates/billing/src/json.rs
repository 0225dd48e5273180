//! The app's JSON: a small reader into a tree ([`Json`]), [`FromJson`] for the types the pages
//! read, and [`ToJson`] for the bodies they send.
//!
//! The server speaks JSON through serde (the types' derives); the wasm uses this instead because
//! serde's generated decoders are monomorphised per type and field and were the checkout's
//! largest item after Leptos itself (issue 21). Each type here lists its fields once, in a macro,
//! and decodes through a handful of non-generic functions. The same JSON either way: every type's
//! tests decode serde's output and serde decodes this one's ([`tests`]).

use crate::money::Money;
use time::OffsetDateTime;

/// A JSON value. Numbers are integers (every number the API sends); any other number is kept as
/// [`Json::OtherNumber`] so a field the app does not know can't fail the whole answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    OtherNumber,
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Why a value could not be read: what was expected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonError {
    fn expected(what: &str) -> JsonError {
        JsonError(["expected ", what].concat())
    }

    /// The same error, under the field `name`.
    pub fn at(self, name: &str) -> JsonError {
        JsonError([name, ": ", &self.0].concat())
    }
}

/// Nesting deeper than any answer of the API: a hostile or broken body stops here, not on the stack.
const MAX_DEPTH: usize = 64;

impl Json {
    /// Reads one JSON value (and nothing after it but whitespace).
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
        let value = reader.value(0)?;
        reader.skip_space();
        if reader.at != reader.bytes.len() {
            return Err(JsonError::expected("the end of the text"));
        }
        Ok(value)
    }

    /// The value of an object's field; `Null` when the object has no such field.
    pub fn get(&self, name: &str) -> &Json {
        match self {
            Json::Object(fields) => fields.iter().find(|(key, _)| key == name).map_or(&Json::Null, |(_, v)| v),
            _ => &Json::Null,
        }
    }

    pub fn as_str(&self) -> Result<&str, JsonError> {
        match self {
            Json::Str(text) => Ok(text),
            _ => Err(JsonError::expected("a string")),
        }
    }

    pub(crate) fn as_int(&self) -> Result<i64, JsonError> {
        match self {
            Json::Int(n) => Ok(*n),
            _ => Err(JsonError::expected("an integer")),
        }
    }

    /// Checks that the value is an object (a struct's fields are then read with [`Json::field`]).
    pub fn object(&self) -> Result<&Json, JsonError> {
        match self {
            Json::Object(_) => Ok(self),
            _ => Err(JsonError::expected("an object")),
        }
    }

    /// A field read as `T` (a missing field reads as `null`: `None` for an `Option`).
    pub fn field<T: FromJson>(&self, name: &str) -> Result<T, JsonError> {
        T::from_json(self.get(name)).map_err(|e| e.at(name))
    }

    /// A field read as `T`, or `T::default()` when it is missing or `null` (serde's `default`).
    pub fn field_or_default<T: FromJson + Default>(&self, name: &str) -> Result<T, JsonError> {
        match self.get(name) {
            Json::Null => Ok(T::default()),
            value => T::from_json(value).map_err(|e| e.at(name)),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn skip_space(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, JsonError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(JsonError::expected("a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::expected("less nesting"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(JsonError::expected("a value")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.at += 1;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            if self.eat(b']') {
                return Ok(Json::Array(items));
            }
            if !self.eat(b',') {
                return Err(JsonError::expected("`,` or `]`"));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.at += 1;
        let mut fields = Vec::new();
        if self.eat(b'}') {
            return Ok(Json::Object(fields));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(JsonError::expected("a field name"));
            }
            let name = self.string()?;
            // serde's derives refuse a field given twice; so does this reader, for any field.
            if fields.iter().any(|(seen, _)| *seen == name) {
                return Err(JsonError::expected("each field name once"));
            }
            if !self.eat(b':') {
                return Err(JsonError::expected("`:`"));
            }
            fields.push((name, self.value(depth + 1)?));
            if self.eat(b'}') {
                return Ok(Json::Object(fields));
            }
            if !self.eat(b',') {
                return Err(JsonError::expected("`,` or `}`"));
            }
        }
    }

    /// JSON's number grammar: an integer, or [`Json::OtherNumber`] for a fraction, an exponent
    /// or one beyond `i64`.
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.at;
        self.at += usize::from(self.bytes[self.at] == b'-');
        let integer = self.digits();
        if integer == 0 || (integer > 1 && self.bytes[self.at - integer] == b'0') {
            return Err(JsonError::expected("a number"));
        }
        let mut whole = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            whole = false;
            if self.digits() == 0 {
                return Err(JsonError::expected("a number"));
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            self.at += usize::from(matches!(self.bytes.get(self.at), Some(b'+' | b'-')));
            whole = false;
            if self.digits() == 0 {
                return Err(JsonError::expected("a number"));
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        Ok(if whole { text.parse().map_or(Json::OtherNumber, Json::Int) } else { Json::OtherNumber })
    }

    /// Skips a run of ASCII digits: how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or escape as it is (the input is UTF-8 already).
            let run = self.bytes[self.at..].iter().position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f));
            let end = self.at + run.ok_or_else(|| JsonError::expected("the end of a string"))?;
            out.push_str(std::str::from_utf8(&self.bytes[self.at..end]).unwrap_or_default());
            self.at = end + 1;
            match self.bytes[end] {
                b'"' => return Ok(out),
                b'\\' => out.push(self.escape()?),
                _ => return Err(JsonError::expected("no control characters in a string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char, JsonError> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| JsonError::expected("an escape"))?;
        self.at += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(JsonError::expected("an escape")),
        })
    }

    /// `\uXXXX`, a surrogate pair taking the next `\uXXXX` with it; a lone or broken surrogate
    /// is an error (as serde_json has it).
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) && self.bytes[self.at..].starts_with(b"\\u") {
            self.at += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(JsonError::expected("a surrogate pair"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| JsonError::expected("a character"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.bytes.get(self.at..self.at + 4).filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        let digits = digits.ok_or_else(|| JsonError::expected("4 hex digits"))?;
        self.at += 4;
        Ok(digits.iter().fold(0, |n, d| n * 16 + char::from(*d).to_digit(16).unwrap_or(0)))
    }
}

/// A type the app reads from the API's JSON.
pub trait FromJson: Sized {
    fn from_json(value: &Json) -> Result<Self, JsonError>;

    /// Reads `text` as this type.
    fn from_json_text(text: &str) -> Result<Self, JsonError> {
        Self::from_json(&Json::parse(text)?)
    }
}

/// A type the app sends as JSON.
pub trait ToJson {
    fn write_json(&self, out: &mut String);

    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

impl FromJson for bool {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Bool(b) => Ok(*b),
            _ => Err(JsonError::expected("true or false")),
        }
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

macro_rules! json_integer {
    ($($int:ty),*) => {$(
        impl FromJson for $int {
            fn from_json(value: &Json) -> Result<Self, JsonError> {
                <$int>::try_from(value.as_int()?).map_err(|_| JsonError::expected("an integer in range"))
            }
        }

        impl ToJson for $int {
            fn write_json(&self, out: &mut String) {
                out.push_str(&self.to_string());
            }
        }
    )*};
}

json_integer!(u8, u16, u32, u64, i64);

impl FromJson for String {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        value.as_str().map(str::to_string)
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        out.push('"');
        for c in self.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let n = u32::from(c) as usize;
                    out.push_str("\\u00");
                    out.push(char::from(HEX[n >> 4]));
                    out.push(char::from(HEX[n & 15]));
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        self.as_str().write_json(out);
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(value) => value.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Array(items) => items.iter().map(T::from_json).collect(),
            _ => Err(JsonError::expected("an array")),
        }
    }
}

/// Two strings, from a two-item array (`["tag", "name"]`).
impl FromJson for (String, String) {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let [a, b] = <[String; 2]>::from_json(value)?;
        Ok((a, b))
    }
}

impl FromJson for [String; 2] {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Array(items) if items.len() == 2 => Ok([items[0].as_str()?.into(), items[1].as_str()?.into()]),
            _ => Err(JsonError::expected("two strings")),
        }
    }
}

/// An RFC 3339 time, as the server writes it: `2027-01-23T04:05:06.5Z` or with an offset
/// (`+01:00`). Read by hand: `time`'s own parser costs the checkout 1 KB of brotli.
impl FromJson for OffsetDateTime {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        rfc3339(value.as_str()?).ok_or_else(|| JsonError::expected("an RFC 3339 time"))
    }
}

fn rfc3339(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !separators.iter().all(|&(at, c)| b.get(at).is_some_and(|x| x.eq_ignore_ascii_case(&c))) {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(digits(5, 2)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(digits(0, 4)?).ok()?, month, digits(8, 2)? as u8).ok()?;
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        let len = b[at + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let kept = len.min(9);
        nanos = digits(at + 1, kept)? * 10u32.pow((9 - kept) as u32);
        at += 1 + len;
    }
    let hms = (digits(11, 2)? as u8, digits(14, 2)? as u8, digits(17, 2)? as u8);
    let time = time::Time::from_hms_nano(hms.0, hms.1, hms.2, nanos).ok()?;
    let offset = match b.get(at)? {
        b'Z' | b'z' if at + 1 == b.len() => time::UtcOffset::UTC,
        sign @ (b'+' | b'-') if at + 6 == b.len() && b[at + 3] == b':' => {
            let (h, m) = (digits(at + 1, 2)? as i8, digits(at + 4, 2)? as i8);
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if *sign == b'-' { -1 } else { 1 };
            time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
        _ => return None,
    };
    Some(time::PrimitiveDateTime::new(date, time).assume_offset(offset))
}

impl FromJson for Money {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        value.as_int().map(Money::from_cents)
    }
}

impl ToJson for Money {
    fn write_json(&self, out: &mut String) {
        self.cents().write_json(out);
    }
}

/// Writes a JSON object from `(name, value)` pairs.
pub fn write_object(out: &mut String, fields: &[(&str, &dyn ToJson)]) {
    out.push('{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        name.write_json(out);
        out.push(':');
        value.write_json(out);
    }
    out.push('}');
}

/// [`FromJson`] for a struct, field by field: `Type { a, b; default c; flatten d }`. The fields
/// after `default` take their default when missing or `null` (serde's `#[serde(default)]`); those
/// after `flatten` are read from the struct's own object (serde's `#[serde(flatten)]`).
#[macro_export]
macro_rules! from_json_struct {
    ($name:ident {
        $($field:ident),* $(,)?
        $(; default $($defaulted:ident),* $(,)?)?
        $(; flatten $($flattened:ident),* $(,)?)?
    }) => {
        impl $crate::json::FromJson for $name {
            fn from_json(value: &$crate::json::Json) -> Result<Self, $crate::json::JsonError> {
                let object = value.object()?;
                Ok($name {
                    $($field: object.field(stringify!($field))?,)*
                    $($($defaulted: object.field_or_default(stringify!($defaulted))?,)*)?
                    $($($flattened: $crate::json::FromJson::from_json(object)?,)*)?
                })
            }
        }
    };
}

/// [`ToJson`] for a struct: its fields, each under its own name.
#[macro_export]
macro_rules! to_json_struct {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                $crate::json::write_object(out, &[$((stringify!($field), &self.$field)),*]);
            }
        }
    };
}

/// Both ways for an enum of unit variants, each written as its string: `Type { A: "a", B: "b" }`;
/// `else B` reads any other string as `B` (serde's `#[serde(other)]`).
#[macro_export]
macro_rules! json_string_enum {
    ($name:ident { $($variant:ident : $text:literal),* $(,)? } $(else $other:ident)?) => {
        impl $name {
            /// The variant's name on the wire.
            pub fn wire_name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl $crate::json::FromJson for $name {
            fn from_json(value: &$crate::json::Json) -> Result<Self, $crate::json::JsonError> {
                #[allow(unreachable_patterns)]
                match value.as_str()? {
                    $($text => Ok($name::$variant),)*
                    $(_ => Ok($name::$other),)?
                    _ => Err($crate::json::JsonError(concat!("expected a ", stringify!($name)).into())),
                }
            }
        }

        impl $crate::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                $crate::json::ToJson::write_json(self.wire_name(), out);
            }
        }
    };
}

/// Declares an enum of unit variants with each one's wire name written once: serde's
/// (`#[serde(rename)]`, for the server) and [`json_string_enum!`]'s (for the app).
#[macro_export]
macro_rules! wire_string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }
        $(else $other:ident)?
    ) => {
        $(#[$meta])*
        $vis enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),* }

        $crate::json_string_enum!($name { $($variant: $text),* } $(else $other)?);
    };
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plans::PlanId;

    /// `value` decodes from serde's JSON of it.
    pub fn reads_serde<T: FromJson + serde::Serialize + PartialEq + std::fmt::Debug>(value: &T) {
        let json = serde_json::to_string(value).unwrap();
        assert_eq!(&T::from_json_text(&json).unwrap(), value, "{json}");
    }

    /// serde decodes what `value` writes, to the same value.
    pub fn serde_reads<T: ToJson + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
        let json = value.to_json();
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    #[test]
    fn reads_every_kind_of_value() {
        let text = r#" {"a": [1, -2, 3.5, 1e3, 99999999999999999999], "b": {"c": null, "d": true, "e": false},
            "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 ü"} "#;
        let value = Json::parse(text).unwrap();
        let a = Json::Array(vec![Json::Int(1), Json::Int(-2), Json::OtherNumber, Json::OtherNumber, Json::OtherNumber]);
        assert_eq!(value.get("a"), &a);
        assert_eq!(value.get("b").get("c"), &Json::Null);
        assert_eq!(value.get("b").get("d"), &Json::Bool(true));
        assert_eq!(value.get("missing"), &Json::Null);
        assert_eq!(value.get("s").as_str().unwrap(), "q\"\\/\u{8}\u{c}\n\r\té😀 ü");
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "tru",
            "\"open",
            "\"\\x\"",
            "\"\\u12\"",
            "1 2",
            "{1:2}",
            "\"a\u{1}b\"",
            "[1 2]",
            "nul",
            "-",
            "1.2.3",
            "1e",
            "1-2",
            "--1",
            "01",
            "-01",
            "1.",
            ".5",
            "1e+",
            r#""\u+041""#,
            r#""\ud800\u0041""#,
            r#""\udbff\u0000""#,
            r#""\ud800\ud800""#,
            r#""\udc00""#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1, "b": {"c": true, "c": false}}"#,
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?}");
        }
        for number in ["0", "-0", "10", "1.5", "-0.25e-3", "1E+9", "2e5"] {
            assert!(Json::parse(number).is_ok(), "{number}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(Json::parse(&deep).is_err());
        let fine = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Json::parse(&fine).is_ok());
    }

    #[test]
    fn strings_escape_as_serde_reads_them() {
        for text in ["plain", "q\"uote\\", "tab\tnew\nline\u{1}\u{1f}", "é😀", ""] {
            let written = text.to_json();
            assert_eq!(serde_json::from_str::<String>(&written).unwrap(), text);
            assert_eq!(String::from_json_text(&written).unwrap(), text);
        }
    }

    #[test]
    fn integers_times_and_options() {
        assert_eq!(u8::from_json_text("255").unwrap(), 255);
        assert!(u8::from_json_text("256").is_err());
        assert!(u32::from_json_text("-1").is_err());
        assert!(u32::from_json_text("1.5").is_err());
        assert!(u32::from_json_text("\"1\"").is_err());
        assert_eq!(Option::<u32>::from_json_text("null").unwrap(), None);
        let at = time::macros::datetime!(2027-01-23 04:05:06.5 UTC);
        reads_serde(&Period { start: at, end: at });
        for bad in [
            "2027-13-01T00:00:00Z",
            "2027-02-30T00:00:00Z",
            "2027-01-01T24:00:00Z",
            "2027-01-01T00:00:00",
            "2027-01-01 00:00:00Z",
            "2027-01-01T00:00:00.Z",
            "2027-01-01T00:00:00Zx",
            "2027-1-01T00:00:00Z",
            "2027-01-01T00:00:00+0100",
            "+2027-01-01T00:00:00Z",
            "",
            "2027-01-01T00:00:00+24:00",
            "2027-01-01T00:00:00-01:60",
        ] {
            assert!(OffsetDateTime::from_json_text(&format!("\"{bad}\"")).is_err(), "{bad}");
        }
        // What `time` reads, this reads the same (fractions, offsets, lower-case separators).
        for good in [
            "2027-01-23T04:05:06Z",
            "2027-01-23T04:05:06.5Z",
            "2026-11-16T10:20:30.123456789Z",
            "2026-11-16T10:20:30.1234567891Z",
            "2027-01-23t04:05:06z",
            "2027-01-23T04:05:06+01:30",
            "2027-01-23T04:05:06.25-05:00",
            "2000-02-29T23:59:59Z",
        ] {
            let expected = OffsetDateTime::parse(good, &time::format_description::well_known::Rfc3339).unwrap();
            assert_eq!(OffsetDateTime::from_json_text(&format!("\"{good}\"")).unwrap(), expected, "{good}");
        }
        reads_serde(&Money::from_cents(-2000));
        serde_reads(&Money::from_cents(2000));
        for plan in PlanId::ALL {
            reads_serde(&plan);
            serde_reads(&plan);
        }
        assert!(PlanId::from_json_text("\"gold\"").is_err());
    }

    use crate::period::Period;
}
