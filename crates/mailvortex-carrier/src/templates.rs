//! Editable carrier templates: subjects, plain-text bodies and attachment
//! names/MIME types, grouped into coherent *themes* (a scan comes with a
//! scan-like subject, body and file name).
//!
//! # File format (TOML)
//!
//! ```toml
//! [[theme]]
//! name = "scans"                 # for people editing the file; never sent
//! subjects = ["Scanned document", "Scan from {weekday}"]
//! bodies = ["""Hi,
//!
//! here is the scan you asked for.
//!
//! Best regards
//! """]
//!
//! [[theme.attachments]]
//! name = "scan_{compact_date}.pdf"
//! mime = "application/pdf"
//! ```
//!
//! Placeholders (the only text in braces allowed):
//!
//! | placeholder      | becomes                              | example      |
//! |------------------|--------------------------------------|--------------|
//! | `{date}`         | sender-local date, ISO               | `2024-06-07` |
//! | `{compact_date}` | sender-local date, digits only       | `20240607`   |
//! | `{year}`         | year                                 | `2024`       |
//! | `{month}`        | English month name                   | `June`       |
//! | `{weekday}`      | English weekday name                 | `Friday`     |
//! | `{n}`            | random 4 digits, same in one mail    | `0427`       |
//! | `{id}`           | random 6 digits, same in one mail    | `583920`     |
//!
//! Rules (checked by [`CarrierTemplates::new`] and
//! [`CarrierTemplates::from_toml`]):
//! - 1..=[`MAX_THEMES`] themes, each with 1..=[`MAX_ENTRIES`] subjects,
//!   bodies and attachments;
//! - subjects: one line, no control characters, no leading/trailing
//!   spaces, at most [`MAX_SUBJECT_CHARS`] characters once rendered;
//! - bodies: lines of at most [`MAX_BODY_LINE_CHARS`] characters once
//!   rendered (so a client would send them unwrapped), no trailing spaces,
//!   no control characters but `\n`, at most [`MAX_BODY_BYTES`] bytes;
//! - attachment names: ASCII letters, digits, space, `.`, `_`, `-`, `(`,
//!   `)`, ending in an extension such as `.pdf`, at most
//!   [`MAX_FILE_NAME_CHARS`] characters once rendered, and at most
//!   [`MAX_TYPE_AND_NAME_CHARS`] together with the MIME type (the part
//!   headers then fit on one line each, as with common clients);
//! - MIME types: `application/…`, `image/…`, `audio/…` or `video/…` with a
//!   lower-case subtype (text types would be re-encoded by mail software);
//! - and the attachment must be a file this crate can really write, so that
//!   its bytes match its declared type: `application/pdf` with a `.pdf`
//!   name or `application/zip` with a `.zip` name (extension in any case).
//!   Other types (`image/jpeg`, `.xls`, ...) are refused rather than faked.

use serde::{Deserialize, Serialize};

use crate::date::LocalTime;
use crate::error::TemplateError;

/// Most themes in one set.
pub const MAX_THEMES: usize = 64;
/// Most subjects, bodies or attachments in one theme.
pub const MAX_ENTRIES: usize = 64;
/// Longest rendered subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// Longest rendered body line, in characters.
pub const MAX_BODY_LINE_CHARS: usize = 76;
/// Longest rendered body, in bytes.
pub const MAX_BODY_BYTES: usize = 4000;
/// Longest rendered attachment file name, in characters (so that the
/// `Content-Disposition` line needs no folding).
pub const MAX_FILE_NAME_CHARS: usize = 31;
/// Longest MIME type plus rendered file name, in characters (so that the
/// attachment's `Content-Type: <type>; name="<file>"` line needs no folding).
pub const MAX_TYPE_AND_NAME_CHARS: usize = 52;

/// One attachment template: a file name pattern and its MIME type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentTemplate {
    /// File name pattern, e.g. `scan_{n}.pdf`.
    pub name: String,
    /// MIME type, e.g. `application/pdf`.
    pub mime: String,
}

impl AttachmentTemplate {
    /// Convenience constructor.
    pub fn new(name: impl Into<String>, mime: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            mime: mime.into(),
        }
    }
}

/// A coherent group of subjects, bodies and attachments. One carrier picks
/// one theme, then one subject, one body and one attachment from it, each
/// uniformly at random.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// Label for people editing the file. Never appears in a mail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Subject lines.
    pub subjects: Vec<String>,
    /// Plain-text bodies (`\n` line ends).
    pub bodies: Vec<String>,
    /// Attachment names and types.
    pub attachments: Vec<AttachmentTemplate>,
}

/// A validated set of themes. Only obtainable through validating
/// constructors, so [`build_carrier`](crate::build_carrier) never meets an
/// invalid template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierTemplates {
    themes: Vec<Theme>,
}

/// The TOML document: `[[theme]]` tables.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    #[serde(rename = "theme", default)]
    themes: Vec<Theme>,
}

const FILE_HEADER: &str = "\
# Carrier mail templates. Each [[theme]] groups subjects, bodies and
# attachments that belong together; a mail uses one of each from one theme.
# Placeholders: {date} {compact_date} {year} {month} {weekday} {n} {id}
";

impl Default for CarrierTemplates {
    /// The built-in English set (see `src/builtin.rs`).
    fn default() -> Self {
        Self {
            themes: crate::builtin::themes(),
        }
    }
}

impl CarrierTemplates {
    /// Validates `themes` and wraps them.
    pub fn new(themes: Vec<Theme>) -> Result<Self, TemplateError> {
        validate(&themes)?;
        Ok(Self { themes })
    }

    /// Parses and validates a TOML template file.
    pub fn from_toml(text: &str) -> Result<Self, TemplateError> {
        let file: TemplateFile = toml::from_str(text)?;
        Self::new(file.themes)
    }

    /// Writes the set as a TOML template file (with a short explanatory
    /// comment on top) that [`from_toml`](Self::from_toml) reads back.
    pub fn to_toml(&self) -> Result<String, TemplateError> {
        let body = toml::to_string_pretty(&TemplateFile {
            themes: self.themes.clone(),
        })?;
        Ok(format!("{FILE_HEADER}\n{body}"))
    }

    /// The themes.
    pub fn themes(&self) -> &[Theme] {
        &self.themes
    }
}

/// A placeholder in a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    Date,
    CompactDate,
    Year,
    Month,
    Weekday,
    N,
    Id,
}

impl Placeholder {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "date" => Self::Date,
            "compact_date" => Self::CompactDate,
            "year" => Self::Year,
            "month" => Self::Month,
            "weekday" => Self::Weekday,
            "n" => Self::N,
            "id" => Self::Id,
            _ => return None,
        })
    }

    /// Longest possible expansion, in characters.
    fn max_chars(self) -> usize {
        match self {
            Self::Date => 10,
            Self::CompactDate => 8,
            Self::Year => 4,
            Self::Month | Self::Weekday => 9,
            Self::N => 4,
            Self::Id => 6,
        }
    }
}

/// A piece of a template: literal text or a placeholder.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Ph(Placeholder),
}

/// Splits a template into pieces; rejects stray braces and unknown names.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                out.push(Piece::Text(rest));
                break;
            }
            Some(i) => {
                let (text, tail) = rest.split_at(i);
                if !text.is_empty() {
                    out.push(Piece::Text(text));
                }
                if tail.starts_with('}') {
                    return Err("unmatched '}'".into());
                }
                let close = tail.find('}').ok_or_else(|| "unclosed '{'".to_string())?;
                let name = tail.get(1..close).unwrap_or_default();
                let ph = Placeholder::parse(name)
                    .ok_or_else(|| format!("unknown placeholder {{{name}}}"))?;
                out.push(Piece::Ph(ph));
                rest = tail.get(close + 1..).unwrap_or_default();
            }
        }
    }
    Ok(out)
}

/// Values for the placeholders of one carrier.
pub(crate) struct RenderContext {
    pub(crate) local: LocalTime,
    /// 1..=9999
    pub(crate) n: u32,
    /// 100000..=999999
    pub(crate) id: u32,
}

/// Fills in the placeholders of a template that passed validation.
pub(crate) fn render(template: &str, ctx: &RenderContext) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    // Validated templates always split; fall back to the raw text otherwise.
    let Ok(parts) = pieces(template) else {
        return template.to_string();
    };
    let l = &ctx.local;
    for p in parts {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Ph(Placeholder::Date) => {
                out.push_str(&format!("{:04}-{:02}-{:02}", l.year, l.month, l.day));
            }
            Piece::Ph(Placeholder::CompactDate) => {
                out.push_str(&format!("{:04}{:02}{:02}", l.year, l.month, l.day));
            }
            Piece::Ph(Placeholder::Year) => out.push_str(&format!("{:04}", l.year)),
            Piece::Ph(Placeholder::Month) => out.push_str(l.month_name()),
            Piece::Ph(Placeholder::Weekday) => out.push_str(l.weekday_name()),
            Piece::Ph(Placeholder::N) => out.push_str(&format!("{:04}", ctx.n)),
            Piece::Ph(Placeholder::Id) => out.push_str(&format!("{:06}", ctx.id)),
        }
    }
    out
}

/// Longest possible rendering of one line of a template, in characters.
fn max_rendered_chars(parts: &[Piece<'_>]) -> usize {
    parts
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.chars().count(),
            Piece::Ph(ph) => ph.max_chars(),
        })
        .sum()
}

fn validate(themes: &[Theme]) -> Result<(), TemplateError> {
    if themes.is_empty() || themes.len() > MAX_THEMES {
        return Err(TemplateError::ThemeCount {
            found: themes.len(),
            max: MAX_THEMES,
        });
    }
    for (t, theme) in themes.iter().enumerate() {
        let here = |field: &str, index: Option<usize>| {
            let mut s = format!("theme {}", t + 1);
            if !theme.name.is_empty() {
                s.push_str(&format!(" ({:?})", theme.name));
            }
            s.push_str(&format!(", {field}"));
            if let Some(i) = index {
                s.push_str(&format!("[{}]", i + 1));
            }
            s
        };
        let invalid = |field: &str, index: Option<usize>, problem: String| TemplateError::Invalid {
            location: here(field, index),
            problem,
        };
        for (field, len) in [
            ("subjects", theme.subjects.len()),
            ("bodies", theme.bodies.len()),
            ("attachments", theme.attachments.len()),
        ] {
            if len == 0 || len > MAX_ENTRIES {
                return Err(invalid(
                    field,
                    None,
                    format!("needs 1 to {MAX_ENTRIES} entries, found {len}"),
                ));
            }
        }
        if theme.name.chars().any(char::is_control) || theme.name.len() > 200 {
            return Err(invalid(
                "name",
                None,
                "must be one line of at most 200 bytes".into(),
            ));
        }
        for (i, s) in theme.subjects.iter().enumerate() {
            check_subject(s).map_err(|p| invalid("subjects", Some(i), p))?;
        }
        for (i, b) in theme.bodies.iter().enumerate() {
            check_body(b).map_err(|p| invalid("bodies", Some(i), p))?;
        }
        for (i, a) in theme.attachments.iter().enumerate() {
            check_file_name(&a.name).map_err(|p| invalid("attachments", Some(i), p))?;
            check_mime(&a.mime).map_err(|p| invalid("attachments", Some(i), p))?;
            let max_name = pieces(&a.name).map(|p| max_rendered_chars(&p)).unwrap_or(0);
            if a.mime.len() + max_name > MAX_TYPE_AND_NAME_CHARS {
                return Err(invalid(
                    "attachments",
                    Some(i),
                    format!(
                        "MIME type and file name together may take {} characters, \
                         at most {MAX_TYPE_AND_NAME_CHARS} allowed",
                        a.mime.len() + max_name
                    ),
                ));
            }
            if crate::container::Kind::for_attachment(&a.mime, &a.name).is_none() {
                return Err(invalid(
                    "attachments",
                    Some(i),
                    format!(
                        "{:?} as {} cannot be written as a real file of that type; \
                         supported are application/pdf (.pdf) and application/zip (.zip)",
                        a.name, a.mime
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_subject(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("subject is empty".into());
    }
    if s.chars().any(char::is_control) {
        return Err("subject must be one line without control characters".into());
    }
    if s.trim() != s {
        return Err("subject must not start or end with spaces".into());
    }
    let max = max_rendered_chars(&pieces(s)?);
    if max > MAX_SUBJECT_CHARS {
        return Err(format!(
            "subject may render to {max} characters, at most {MAX_SUBJECT_CHARS} allowed"
        ));
    }
    Ok(())
}

fn check_body(b: &str) -> Result<(), String> {
    if b.trim().is_empty() {
        return Err("body is empty".into());
    }
    if b.chars().any(|c| c != '\n' && c.is_control()) {
        return Err("body must not contain control characters (tabs, CR, ...)".into());
    }
    let mut max_total = 0usize;
    for (n, line) in b.split('\n').enumerate() {
        if line.trim_end() != line {
            return Err(format!("line {} ends with spaces", n + 1));
        }
        let parts = pieces(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let max = max_rendered_chars(&parts);
        if max > MAX_BODY_LINE_CHARS {
            return Err(format!(
                "line {} may render to {max} characters, at most {MAX_BODY_LINE_CHARS} allowed",
                n + 1
            ));
        }
        // Bytes: a literal char is up to 4 bytes, placeholders are ASCII.
        max_total += parts
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Ph(ph) => ph.max_chars(),
            })
            .sum::<usize>()
            + 1;
    }
    if max_total > MAX_BODY_BYTES {
        return Err(format!(
            "body may render to {max_total} bytes, at most {MAX_BODY_BYTES} allowed"
        ));
    }
    Ok(())
}

fn check_file_name(name: &str) -> Result<(), String> {
    let parts = pieces(name)?;
    for p in &parts {
        if let Piece::Text(t) = p
            && let Some(c) = t
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || " ._-()".contains(*c)))
        {
            return Err(format!(
                "file name {name:?} contains {c:?}; \
                 allowed are ASCII letters, digits, space and . _ - ( )"
            ));
        }
    }
    if name.starts_with(['.', ' ', '-']) || name.ends_with(' ') {
        return Err(format!(
            "file name {name:?} must not start with '.', ' ' or '-' or end with ' '"
        ));
    }
    // The extension must be literal text at the end: ".pdf", ".jpg", ...
    let ext_ok = match parts.last() {
        Some(Piece::Text(t)) => t.rsplit_once('.').is_some_and(|(stem, ext)| {
            (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && !(stem.is_empty() && parts.len() == 1)
        }),
        _ => false,
    };
    if !ext_ok {
        return Err(format!(
            "file name {name:?} must end in an extension such as .pdf"
        ));
    }
    let max = max_rendered_chars(&parts);
    if max > MAX_FILE_NAME_CHARS {
        return Err(format!(
            "file name may render to {max} characters, at most {MAX_FILE_NAME_CHARS} allowed"
        ));
    }
    Ok(())
}

fn check_mime(mime: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "MIME type {mime:?} must be application/, image/, audio/ or video/ \
             followed by a lower-case subtype of letters, digits, '.', '+' or '-'"
        )
    };
    let (ty, sub) = mime.split_once('/').ok_or_else(bad)?;
    if !matches!(ty, "application" | "image" | "audio" | "video")
        || sub.is_empty()
        || sub.len() > 100
        || !sub.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        || !sub
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".+-".contains(c))
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme() -> Theme {
        Theme {
            name: "t".into(),
            subjects: vec!["Hello {weekday}".into()],
            bodies: vec!["Hi,\n\nsee attached.\n".into()],
            attachments: vec![AttachmentTemplate::new("IMG_{n}.pdf", "application/pdf")],
        }
    }

    fn err_of(t: Theme) -> String {
        match CarrierTemplates::new(vec![t]) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn builtin_is_valid_and_round_trips_through_toml() -> Result<(), TemplateError> {
        let d = CarrierTemplates::default();
        CarrierTemplates::new(d.themes().to_vec())?;
        let text = d.to_toml()?;
        assert_eq!(CarrierTemplates::from_toml(&text)?, d);
        Ok(())
    }

    #[test]
    fn pieces_split_and_reject() {
        assert_eq!(
            pieces("IMG_{n}.jpg"),
            Ok(vec![
                Piece::Text("IMG_"),
                Piece::Ph(Placeholder::N),
                Piece::Text(".jpg")
            ])
        );
        assert!(pieces("a {foo} b").is_err_and(|e| e.contains("{foo}")));
        assert!(pieces("a { b").is_err());
        assert!(pieces("a } b").is_err());
    }

    #[test]
    fn invalid_entries_name_their_location() {
        let mut t = theme();
        t.subjects.push("Bad {nope}".into());
        let e = err_of(t);
        assert!(e.contains("theme 1 (\"t\"), subjects[2]"), "{e}");
        assert!(e.contains("unknown placeholder {nope}"), "{e}");

        let mut t = theme();
        t.subjects = vec!["line\nbreak".into()];
        assert!(err_of(t).contains("one line"));

        let mut t = theme();
        t.bodies = vec![format!("{}\n", "x".repeat(77))];
        assert!(err_of(t).contains("line 1 may render to 77"));

        let mut t = theme();
        t.bodies = vec!["trailing \nspace".into()];
        assert!(err_of(t).contains("ends with spaces"));

        let mut t = theme();
        t.bodies = vec!["tab\there".into()];
        assert!(err_of(t).contains("control characters"));

        let mut t = theme();
        t.attachments = vec![AttachmentTemplate::new("noext", "application/pdf")];
        assert!(err_of(t).contains("extension"));

        let mut t = theme();
        t.attachments = vec![AttachmentTemplate::new("a/b.pdf", "application/pdf")];
        assert!(err_of(t).contains("contains '/'"));

        // Types that cannot be written for real are refused, and so are
        // names whose extension does not fit the type.
        for (name, mime) in [
            ("IMG_{n}.jpg", "image/jpeg"),
            ("figures.xls", "application/vnd.ms-excel"),
            ("data.dat", "application/octet-stream"),
            ("notes.pdf", "application/zip"),
            ("notes.zip", "application/pdf"),
        ] {
            let mut t = theme();
            t.attachments = vec![AttachmentTemplate::new(name, mime)];
            assert!(
                err_of(t).contains("cannot be written as a real file"),
                "{name}"
            );
        }
        let mut t = theme();
        t.attachments = vec![
            AttachmentTemplate::new("SCAN.PDF", "application/pdf"),
            AttachmentTemplate::new("Notes.Zip", "application/zip"),
        ];
        assert_eq!(err_of(t), "");

        let mut t = theme();
        t.attachments = vec![AttachmentTemplate::new("a.txt", "text/plain")];
        assert!(err_of(t).contains("MIME type"));

        let mut t = theme();
        t.attachments = vec![AttachmentTemplate::new("a.jpg", "image/JPEG")];
        assert!(err_of(t).contains("MIME type"));

        let mut t = theme();
        t.attachments = vec![AttachmentTemplate::new(
            "report.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )];
        assert!(err_of(t).contains("together may take 76 characters"));

        let mut t = theme();
        t.attachments = vec![AttachmentTemplate::new(
            "a_long_file_name_{date}_{n}.pdf",
            "application/pdf",
        )];
        assert!(err_of(t).contains("may render to 36 characters"));

        let mut t = theme();
        t.subjects.clear();
        assert!(err_of(t).contains("subjects: needs 1 to"));

        assert!(
            CarrierTemplates::new(vec![])
                .is_err_and(|e| matches!(e, TemplateError::ThemeCount { found: 0, .. }))
        );
        assert_eq!(err_of(theme()), "");
    }

    #[test]
    fn toml_errors_are_typed() {
        assert!(matches!(
            CarrierTemplates::from_toml("[[theme]]\nsubjects = 3\n"),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            CarrierTemplates::from_toml(
                "[[theme]]\nsubjects=[\"a\"]\nbodies=[\"b\"]\nattachments=[]\nextra=1\n"
            ),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            CarrierTemplates::from_toml(""),
            Err(TemplateError::ThemeCount { found: 0, .. })
        ));
        let ok = "[[theme]]\nsubjects=[\"Hi\"]\nbodies=[\"Hello\\n\"]\n\
                  attachments=[{name=\"a.pdf\", mime=\"application/pdf\"}]\n";
        assert!(CarrierTemplates::from_toml(ok).is_ok());
    }
}
