//! The user documentation, embedded: every figure's "how this is computed" opens the section of
//! `docs/` that defines it, served by the same binary (`/docs/NAME`), so the definition a
//! person reads is the one of the version they run.

use maud::{html, Markup, PreEscaped};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag};

/// Each page of `docs/`, by the name its address uses.
pub const DOCS: &[(&str, &str)] = &[
    ("reports", include_str!("../../../docs/reports.md")),
    ("figures", include_str!("../../../docs/figures.md")),
    ("health", include_str!("../../../docs/health.md")),
    (
        "configuration",
        include_str!("../../../docs/configuration.md"),
    ),
    ("api", include_str!("../../../docs/api.md")),
    ("operations", include_str!("../../../docs/operations.md")),
    ("limits", include_str!("../../../docs/limits.md")),
    (
        "data-directory",
        include_str!("../../../docs/data-directory.md"),
    ),
    ("simulator", include_str!("../../../docs/simulator.md")),
    ("dashboard", include_str!("../../../docs/dashboard.md")),
    ("conversions", include_str!("../../../docs/conversions.md")),
];

/// A section of the docs: a page and the text of one of its headings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub doc: &'static str,
    pub heading: &'static str,
}

impl Link {
    pub const fn new(doc: &'static str, heading: &'static str) -> Self {
        Self { doc, heading }
    }

    pub fn href(&self) -> String {
        format!("/docs/{}#{}", self.doc, slug(self.heading))
    }
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as `-`.
pub fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The anchors of `doc`'s headings.
pub fn anchors(doc: &str) -> Vec<String> {
    let Some((_, text)) = DOCS.iter().find(|(name, _)| *name == doc) else {
        return Vec::new();
    };
    headings(text).into_iter().map(|(_, _, s)| s).collect()
}

/// (event index, level, anchor) of each heading of `text`.
fn headings(text: &str) -> Vec<(usize, HeadingLevel, String)> {
    let events: Vec<Event> = Parser::new_ext(text, Options::ENABLE_TABLES).collect();
    let mut found = Vec::new();
    let mut open: Option<(usize, HeadingLevel, String)> = None;
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => open = Some((i, *level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, text)) = &mut open {
                    text.push_str(t);
                }
            }
            Event::End(pulldown_cmark::TagEnd::Heading(_)) => {
                if let Some((i, level, text)) = open.take() {
                    found.push((i, level, slug(&text)));
                }
            }
            _ => {}
        }
    }
    found
}

/// `doc` as HTML, with an anchor on every heading and links between pages of the docs kept
/// inside the dashboard; its title is its first heading.
pub fn render(doc: &str) -> Option<(String, Markup)> {
    let (_, text) = DOCS.iter().find(|(name, _)| *name == doc)?;
    let anchors = headings(text);
    let mut title = None;
    let events = Parser::new_ext(text, Options::ENABLE_TABLES)
        .enumerate()
        .map(|(i, event)| match event {
            Event::Start(Tag::Heading {
                level,
                id: _,
                classes,
                attrs,
            }) => {
                let id = anchors
                    .iter()
                    .find(|(at, _, _)| *at == i)
                    .map(|(_, _, s)| s.clone().into());
                Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                })
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: local(&dest_url).into(),
                title,
                id,
            }),
            Event::Text(t) => {
                if title.is_none() && anchors.first().is_some_and(|(at, _, _)| *at + 1 == i) {
                    title = Some(t.to_string());
                }
                Event::Text(t)
            }
            other => other,
        });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    let title = title.unwrap_or_else(|| doc.to_owned());
    Some((title, html! { article.doc { (PreEscaped(out)) } }))
}

/// A link in the docs to another page of them (`limits.md#x`) as the dashboard serves it.
fn local(url: &str) -> String {
    let (path, anchor) = url
        .split_once('#')
        .map_or((url, None), |(p, a)| (p, Some(a)));
    match path.strip_suffix(".md") {
        Some(name) if !name.contains('/') && !name.contains(':') => match anchor {
            Some(a) => format!("/docs/{name}#{a}"),
            None => format!("/docs/{name}"),
        },
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_githubs() {
        assert_eq!(
            slug("`mrr`: MRR movements by month"),
            "mrr-mrr-movements-by-month"
        );
        assert_eq!(slug("Flags and output"), "flags-and-output");
        assert!(anchors("reports").contains(&"mrr-mrr-movements-by-month".to_owned()));
    }

    #[test]
    fn pages_of_the_docs_link_to_each_other_inside_the_dashboard() {
        assert_eq!(local("limits.md#connections"), "/docs/limits#connections");
        assert_eq!(local("reports.md"), "/docs/reports");
        assert_eq!(
            local("https://example.com/a.md"),
            "https://example.com/a.md"
        );
        let (title, body) = render("reports").unwrap();
        assert_eq!(title, "Reports");
        assert!(body.0.contains(r#"<h3 id="mrr-mrr-movements-by-month">"#));
    }
}
