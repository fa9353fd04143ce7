//! The configuration reference: each key's meaning and default, read from the user
//! documentation (`docs/configuration.md`) so that `tenure config check` and the documentation
//! say the same thing from one text. A test fails if a key of the default configuration has no
//! entry there, or if an entry states a default the code does not have.

use std::collections::BTreeMap;

/// The reference's text, compiled in.
pub const REFERENCE: &str = include_str!("../../../docs/configuration.md");

/// One documented key: its default as written and its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDoc {
    /// As the reference writes it: TOML in backticks (`` `30` ``), or words for a default too
    /// long to write inline.
    pub default: String,
    pub meaning: String,
}

impl KeyDoc {
    /// The default as TOML when the reference writes it so (in backticks).
    pub fn default_toml(&self) -> Option<&str> {
        self.default
            .strip_prefix('`')
            .and_then(|d| d.strip_suffix('`'))
            .filter(|d| !d.contains('`'))
    }

    /// A documented table whose entries are the user's own names (rates by currency, channels
    /// by offline kind): its default is an inline table, and its entries are not keys.
    pub fn is_map(&self) -> bool {
        self.default_toml().is_some_and(|d| d.starts_with('{'))
    }
}

/// Every key of the reference by its path: `server.listen`, `channels.rules` (an array of
/// tables), `channels.rules[].when[].medium` (a key of each element).
///
/// The reference lists keys as table rows `` | `path` | default | meaning | ``.
pub fn keys() -> BTreeMap<String, KeyDoc> {
    parse(REFERENCE)
}

fn parse(text: &str) -> BTreeMap<String, KeyDoc> {
    text.lines()
        .filter_map(|line| {
            let row = line.trim().strip_prefix("| `")?.strip_suffix('|')?;
            let (path, rest) = row.split_once('`')?;
            let mut cells = rest.trim_start().strip_prefix('|')?.splitn(2, " | ");
            let default = cells.next()?.trim().to_owned();
            let meaning = cells.next()?.trim().to_owned();
            Some((path.to_owned(), KeyDoc { default, meaning }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_and_other_lines_ignored() {
        let text = "# Title\n\n| key | default | meaning |\n|---|---|---|\n\
                    | `server.listen` | `\"127.0.0.1:7070\"` | Where `serve` listens. |\n\
                    | `currency.rates` | `{}` | Rates by currency. |\n\
                    Some prose with | `pipes` | in it.\n";
        let keys = parse(text);
        assert_eq!(keys.len(), 2, "{keys:?}");
        let listen = &keys["server.listen"];
        assert_eq!(listen.default_toml(), Some("\"127.0.0.1:7070\""));
        assert_eq!(listen.meaning, "Where `serve` listens.");
        assert!(!listen.is_map());
        assert!(keys["currency.rates"].is_map());
    }
}
