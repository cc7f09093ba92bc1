//! A tolerant reader for the INI dialects the mail programs write: Mozilla's `profiles.ini`,
//! GLib key files (Evolution, GNOME Online Accounts, Geary) and KDE's KConfig files (KMail).
//!
//! It never fails: a byte-order mark, CRLF line ends, comments (`#`, `;`), lines that are
//! neither a group nor a `key=value` pair, entries before the first group and duplicate keys
//! or groups are all accepted. A repeated key takes the last value, as GLib and KConfig do; a
//! repeated group continues the first one.

/// One `[group]` with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// The text between the brackets.
    pub name: String,
    entries: Vec<(String, String)>,
}

impl Group {
    /// The raw value of `key` (the last one if repeated), with surrounding spaces removed.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` with GLib/KConfig escapes (`\s`, `\n`, `\t`, `\r`, `\\`) undone.
    /// `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<String> {
        self.raw(key).map(unescape).filter(|v| !v.is_empty())
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case); `None` when absent or odd.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        parse_bool(self.raw(key)?)
    }

    /// A port number; `None` when absent, zero, negative or not a number.
    pub fn get_port(&self, key: &str) -> Option<u16> {
        parse_port(self.raw(key)?)
    }

    /// All entries in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A parsed file: its groups in the order they first appear.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyFile {
    groups: Vec<Group>,
}

impl KeyFile {
    /// Parses `text`; never fails.
    pub fn parse(text: &str) -> KeyFile {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut groups: Vec<Group> = Vec::new();
        let mut current: Option<usize> = None;
        for line in text.split('\n') {
            let line = line.trim_end_matches('\r').trim_start();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(end) = rest.rfind(']') else { continue };
                let name = rest[..end].to_string();
                current = Some(match groups.iter().position(|g| g.name == name) {
                    Some(i) => i,
                    None => {
                        groups.push(Group {
                            name,
                            entries: Vec::new(),
                        });
                        groups.len() - 1
                    }
                });
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty() {
                continue;
            }
            let i = match current {
                Some(i) => i,
                None => {
                    // Entries before any group: kept under the empty name.
                    if groups.first().is_none_or(|g| !g.name.is_empty()) {
                        groups.insert(0, Group::default());
                    }
                    current = Some(0);
                    0
                }
            };
            groups[i]
                .entries
                .push((key.to_string(), value.trim().to_string()));
        }
        KeyFile { groups }
    }

    /// Every group in file order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter()
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// `key` in `group`, unescaped, if present and not empty.
    pub fn get(&self, group: &str, key: &str) -> Option<String> {
        self.group(group)?.get(key)
    }
}

/// Undoes GLib/KConfig escapes; an unknown escape is kept as written.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out.trim().to_string()
}

/// A boolean as the key-file dialects write it.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A TCP port; zero and anything out of range is `None`.
pub fn parse_port(raw: &str) -> Option<u16> {
    raw.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

/// Splits `host:port` (as GNOME Online Accounts and some KMail versions store it). A bare IPv6
/// address is left whole; `[v6]:port` is understood.
pub fn split_host_port(raw: &str) -> (String, Option<u16>) {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(parse_port);
        return (host.to_string(), port);
    }
    match raw.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match parse_port(port) {
            Some(p) => (host.to_string(), Some(p)),
            None => (host.to_string(), None),
        },
        _ => (raw.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_comments_and_duplicates() {
        let text = "\u{feff}# comment\r\nstray=1\r\n[A]\r\nk = v1\r\n; other\r\nk=v2\r\n\
                    garbage line\r\n[B]\r\nx=\\sspaced\\\\\r\n[A]\r\nj=3\r\n";
        let kf = KeyFile::parse(text);
        let names: Vec<_> = kf.groups().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["", "A", "B"]);
        assert_eq!(kf.get("", "stray").as_deref(), Some("1"));
        assert_eq!(kf.get("A", "k").as_deref(), Some("v2"));
        assert_eq!(kf.get("A", "j").as_deref(), Some("3"));
        assert_eq!(
            kf.group("B").and_then(|g| g.raw("x")),
            Some("\\sspaced\\\\")
        );
        assert_eq!(kf.get("B", "x").as_deref(), Some("spaced\\"));
    }

    #[test]
    fn values_and_ports() {
        assert_eq!(parse_bool(" TRUE "), Some(true));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_port("993"), Some(993));
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("-1"), None);
        assert_eq!(
            split_host_port("imap.example.org:1993"),
            ("imap.example.org".to_string(), Some(1993))
        );
        assert_eq!(
            split_host_port("imap.example.org"),
            ("imap.example.org".to_string(), None)
        );
        assert_eq!(split_host_port("[::1]:143"), ("::1".to_string(), Some(143)));
        assert_eq!(split_host_port("::1"), ("::1".to_string(), None));
        assert_eq!(split_host_port("host:abc"), ("host".to_string(), None));
    }
}
