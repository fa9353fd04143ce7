//! A page's query string: the instant and window every page keeps, and the page's own selectors.

use tenure_reports::{spec, Param};

/// The parameters every page keeps as a person moves between pages: the instant the figures
/// are as of, and the window of the reports that take one.
pub const KEPT: [&str; 3] = ["as_of", "from", "to"];

/// The query of one page request, as given (empty values dropped: an emptied field of a form
/// means "not set").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageQuery {
    pairs: Vec<(String, String)>,
}

impl PageQuery {
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut query = Self::default();
        for (name, value) in pairs {
            query.set(name.into(), value.into());
        }
        query
    }

    /// Sets `name` (replacing it), or removes it when `value` is empty.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        self.pairs.retain(|(n, _)| *n != name);
        let value = value.trim().to_owned();
        if !value.is_empty() {
            self.pairs.push((name, value));
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The kept parameters ([`KEPT`]) that are set.
    pub fn kept(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(n, _)| KEPT.contains(&n.as_str()))
            .cloned()
            .collect()
    }

    /// A link to `path` that keeps the instant and the window, with `extra` besides.
    pub fn href(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = self.kept();
        for (name, value) in extra {
            pairs.retain(|(n, _)| n != name);
            if !value.is_empty() {
                pairs.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let query = encode(&pairs);
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }

    /// This page again with `name` set to `value` (or removed when empty), every other
    /// parameter kept: for a table's sort links and a selector's options.
    pub fn with(&self, path: &str, name: &str, value: &str) -> String {
        let mut next = self.clone();
        next.set(name, value);
        next.at(path)
    }

    /// `path` with this whole query.
    pub fn at(&self, path: &str) -> String {
        let query = encode(&self.pairs);
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }

    /// The parameters `report` reads among the kept ones and `names` (taken from this query
    /// when set), then `fixed`: the query of one [`crate::Call`]. A report is never given a
    /// parameter it does not read, which it would refuse.
    pub fn params_for(
        &self,
        report: &str,
        names: &[&str],
        fixed: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let reads = |name: &str| {
            name == "as_of"
                || spec(report)
                    .is_ok_and(|s| Param::named(name).is_some_and(|p| s.params.contains(&p)))
        };
        let mut params: Vec<(String, String)> = KEPT
            .iter()
            .chain(names)
            .filter(|name| reads(name))
            .filter_map(|name| Some(((*name).to_owned(), self.get(name)?.to_owned())))
            .collect();
        for (name, value) in fixed {
            params.retain(|(n, _)| n != name);
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
        params
    }
}

/// `application/x-www-form-urlencoded`, as a query string.
pub(crate) fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", escape(n), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` as one segment of a path (an account id in `/accounts/ID`).
pub(crate) fn path_segment(text: &str) -> String {
    escape(text).replace('+', "%20")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_instant_and_window_only() {
        let q = PageQuery::new([("as_of", "2026-11-30"), ("model", "linear"), ("from", "")]);
        assert_eq!(q.href("/cohorts", &[]), "/cohorts?as_of=2026-11-30");
        assert_eq!(
            q.href("/accounts", &[("search", "acme & co")]),
            "/accounts?as_of=2026-11-30&search=acme+%26+co"
        );
        assert_eq!(
            q.with("/attribution", "model", "first_touch"),
            "/attribution?as_of=2026-11-30&model=first_touch"
        );
    }

    #[test]
    fn a_report_is_given_only_what_it_reads() {
        let q = PageQuery::new([
            ("as_of", "2026-11-30"),
            ("from", "2026-01-01"),
            ("by", "tier"),
        ]);
        // forecast reads neither the window nor a grouping; cohorts a grouping only.
        assert_eq!(
            q.params_for("forecast", &["by"], &[]),
            [("as_of".to_owned(), "2026-11-30".to_owned())]
        );
        assert_eq!(
            q.params_for("cohorts", &["by"], &[]),
            [
                ("as_of".to_owned(), "2026-11-30".to_owned()),
                ("by".into(), "tier".into())
            ]
        );
        assert_eq!(
            q.params_for("survival", &["by"], &[("by", "channel")])
                .last(),
            Some(&("by".to_owned(), "channel".to_owned()))
        );
    }
}
