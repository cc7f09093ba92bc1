//! A reader for Mozilla's `prefs.js`: `user_pref("name", value);` lines, as libpref writes
//! and parses them.
//!
//! Understood: `user_pref`, `pref` and `sticky_pref` statements, the `locked`/`sticky`
//! attributes, strings in double or single quotes with the escapes `\"`, `\'`, `\\`, `\n`,
//! `\r`, `\t`, `\xHH` and `\uHHHH` (surrogate pairs joined), integers with a sign, `true` and
//! `false`, and comments (`//`, `#`, `/* */`). A statement that does not parse is skipped up to
//! the end of its line and counted; the reader never fails and never panics.

use std::collections::HashMap;

/// A preference value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefValue {
    /// A string.
    Str(String),
    /// An integer (libpref's are 32-bit; larger ones are rejected as it does).
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// The preferences of one `prefs.js`, the last value of a name winning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefs {
    values: HashMap<String, PrefValue>,
    /// Statements that were skipped because they did not parse.
    pub errors: usize,
}

impl Prefs {
    /// Parses the text of a `prefs.js`.
    pub fn parse(text: &str) -> Prefs {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let mut prefs = Prefs::default();
        loop {
            p.skip_space_and_comments();
            if p.at_end() {
                break;
            }
            let start = p.pos;
            match p.statement() {
                Ok((name, value)) => {
                    prefs.values.insert(name, value);
                }
                Err(()) => {
                    prefs.errors += 1;
                    p.pos = start;
                    p.skip_line();
                }
            }
        }
        prefs
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&PrefValue> {
        self.values.get(name)
    }

    /// `name` as a non-empty string; an integer is given as its digits.
    pub fn get_str(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            PrefValue::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            PrefValue::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    /// `name` as an integer; a string of digits is accepted (hand-edited files).
    pub fn get_int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            PrefValue::Int(i) => Some(*i),
            PrefValue::Str(s) => s.trim().parse().ok(),
            PrefValue::Bool(_) => None,
        }
    }

    /// `name` as a boolean; `"true"`/`"false"` strings are accepted.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            PrefValue::Bool(b) => Some(*b),
            PrefValue::Str(s) => crate::keyfile::parse_bool(s),
            PrefValue::Int(_) => None,
        }
    }

    /// `name` as a comma-separated list (`mail.accountmanager.accounts`), empty items dropped.
    pub fn get_list(&self, name: &str) -> Vec<String> {
        self.get_str(name)
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every name starting with `prefix`.
    pub fn names_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.values
            .keys()
            .filter(move |k| k.starts_with(prefix))
            .map(String::as_str)
    }

    /// How many preferences were read.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when nothing was read.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

type Res<T> = Result<T, ()>;

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.chars.get(self.pos + 1).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if c.is_whitespace() => self.pos += 1,
                (Some('#'), _) | (Some('/'), Some('/')) => self.skip_line(),
                (Some('/'), Some('*')) => {
                    self.pos += 2;
                    loop {
                        match (self.peek(), self.peek2()) {
                            (Some('*'), Some('/')) => {
                                self.pos += 2;
                                break;
                            }
                            (Some(_), _) => self.pos += 1,
                            (None, _) => return,
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn expect(&mut self, want: char) -> Res<()> {
        self.skip_space_and_comments();
        if self.bump() == Some(want) {
            Ok(())
        } else {
            Err(())
        }
    }

    fn ident(&mut self) -> Res<String> {
        self.skip_space_and_comments();
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                s.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        if s.is_empty() { Err(()) } else { Ok(s) }
    }

    fn statement(&mut self) -> Res<(String, PrefValue)> {
        let kw = self.ident()?;
        if !matches!(kw.as_str(), "user_pref" | "pref" | "sticky_pref") {
            return Err(());
        }
        self.expect('(')?;
        self.skip_space_and_comments();
        let name = self.string()?;
        self.expect(',')?;
        let value = self.value()?;
        // Optional attributes: `, locked`, `, sticky`.
        loop {
            self.skip_space_and_comments();
            if self.peek() == Some(',') {
                self.pos += 1;
                let attr = self.ident()?;
                if !matches!(attr.as_str(), "locked" | "sticky") {
                    return Err(());
                }
            } else {
                break;
            }
        }
        self.expect(')')?;
        self.expect(';')?;
        Ok((name, value))
    }

    fn value(&mut self) -> Res<PrefValue> {
        self.skip_space_and_comments();
        match self.peek() {
            Some('"') | Some('\'') => Ok(PrefValue::Str(self.string()?)),
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.integer(),
            Some(c) if c.is_ascii_alphabetic() => match self.ident()?.as_str() {
                "true" => Ok(PrefValue::Bool(true)),
                "false" => Ok(PrefValue::Bool(false)),
                _ => Err(()),
            },
            _ => Err(()),
        }
    }

    fn integer(&mut self) -> Res<PrefValue> {
        let negative = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let mut v: i64 = 0;
        let mut digits = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.pos += 1;
            digits += 1;
            v = v
                .checked_mul(10)
                .ok_or(())?
                .checked_add(i64::from(d))
                .ok_or(())?;
            if v > i64::from(i32::MAX) + 1 {
                return Err(());
            }
        }
        if digits == 0 {
            return Err(());
        }
        let v = if negative { -v } else { v };
        if v > i64::from(i32::MAX) || v < i64::from(i32::MIN) {
            return Err(());
        }
        Ok(PrefValue::Int(v))
    }

    fn hex(&mut self, n: usize) -> Res<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = self.bump().and_then(|c| c.to_digit(16)).ok_or(())?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn string(&mut self) -> Res<String> {
        let quote = match self.bump() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(()),
        };
        let mut out = String::new();
        loop {
            let c = self.bump().ok_or(())?;
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match self.bump().ok_or(())? {
                '"' => out.push('"'),
                '\'' => out.push('\''),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'x' => {
                    let v = self.hex(2)?;
                    out.push(char::from_u32(v).ok_or(())?);
                }
                'u' => {
                    let hi = self.hex(4)?;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        // A surrogate pair: the low half must follow as \uDC00..\uDFFF.
                        if self.bump() != Some('\\') || self.bump() != Some('u') {
                            return Err(());
                        }
                        let lo = self.hex(4)?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(());
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    out.push(char::from_u32(code).ok_or(())?);
                }
                _ => return Err(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_value_kinds_escapes_and_comments() {
        let text = "// Mozilla User Preferences\r\n\
            /* a block\n comment */\n\
            # hash comment\n\
            user_pref(\"a.str\", \"x \\\"q\\\" \\\\ \\u00e9\\uD83D\\uDE00 \\x41\");\n\
            user_pref('b.single', 'it\\'s');\n\
            user_pref(\"c.int\", -42);\n\
            user_pref(\"d.bool\", true);\n\
            pref(\"e.locked\", 1, locked);\n\
            user_pref(\"c.int\", +7);\n\
            user_pref(\"f.num.as.str\", \"993\");\n";
        let p = Prefs::parse(text);
        assert_eq!(p.errors, 0);
        assert_eq!(p.get_str("a.str").as_deref(), Some("x \"q\" \\ é😀 A"));
        assert_eq!(p.get_str("b.single").as_deref(), Some("it's"));
        assert_eq!(p.get_int("c.int"), Some(7));
        assert_eq!(p.get_bool("d.bool"), Some(true));
        assert_eq!(p.get_int("e.locked"), Some(1));
        assert_eq!(p.get_int("f.num.as.str"), Some(993));
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn bad_statements_are_skipped_and_counted() {
        let text = "user_pref(\"ok.1\", 1);\n\
            user_pref(\"bad.escape\", \"\\q\");\n\
            user_pref(\"unterminated, 3);\n\
            user_pref(\"too.big\", 99999999999999999999);\n\
            user_pref(\"half.surrogate\", \"\\uD800x\");\n\
            frobnicate(\"x\", 1);\n\
            user_pref(\"no.semicolon\", 1)\n\
            user_pref(\"ok.2\", \"two\");\n";
        let p = Prefs::parse(text);
        assert_eq!(p.get_int("ok.1"), Some(1));
        assert_eq!(p.get_str("ok.2").as_deref(), Some("two"));
        assert_eq!(p.len(), 2);
        assert_eq!(p.errors, 6);
    }

    #[test]
    fn wrong_types_give_none_not_garbage() {
        let p = Prefs::parse("user_pref(\"port\", true);\nuser_pref(\"host\", false);\n");
        assert_eq!(p.get_int("port"), None);
        assert_eq!(p.get_str("host"), None);
        assert_eq!(p.get_list("host"), Vec::<String>::new());
    }
}
