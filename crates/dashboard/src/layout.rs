//! The frame every page shares: the navigation, the instant and window every page keeps,
//! sign-out, and the blocks of the page itself.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::pages::{Page, PAGES};
use crate::{Block, Controls, PageQuery, Tile, Tone, KEPT};

/// What the frame shows around a page's blocks.
#[derive(Debug, Clone)]
pub struct Chrome<'a> {
    pub page: &'static Page,
    pub query: &'a PageQuery,
    /// The session's token against cross-site forms, put in every form that changes something.
    pub csrf: &'a str,
    pub workspace: &'a str,
    /// The instant the figures are as of, as the reports said (RFC 3339), and whether the
    /// person chose it.
    pub as_of: Option<(String, bool)>,
    /// The page's title when it is not the page's own (an account's name).
    pub title: Option<String>,
}

const HTMX_CONFIG: &str =
    r#"{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0}"#;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · tenure" }
            link rel="stylesheet" href="/assets/tenure.css";
            link rel="icon" href="data:,";
            script src=(format!("/assets/htmx-{}.min.js", crate::assets::HTMX_VERSION)) defer {}
            script src="/assets/tenure.js" defer {}
        }
    }
}

/// A whole page: the frame around `blocks`.
pub fn render(chrome: &Chrome, blocks: &[Block]) -> Markup {
    let page = chrome.page;
    let title = chrome
        .title
        .clone()
        .unwrap_or_else(|| page.title.to_owned());
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title))
            body {
                a.skip href="#content" { "Skip to content" }
                header.top {
                    a.brand href=(chrome.query.href("/", &[])) { "tenure" }
                    nav.pages aria-label="Pages" {
                        ul {
                            @for p in PAGES.iter().filter(|p| p.in_menu) {
                                li {
                                    a href=(chrome.query.href(p.path, &[]))
                                        aria-current=[(p.name == page.name || p.name == page.menu_parent).then_some("page")] {
                                        (p.menu)
                                    }
                                }
                            }
                        }
                    }
                    form.signout method="post" action="/signout" {
                        input type="hidden" name="csrf" value=(chrome.csrf);
                        span.workspace title="The workspace of your key" { (chrome.workspace) }
                        button.quiet type="submit" { "Sign out" }
                    }
                }
                main id="content" tabindex="-1" {
                    h1 { (title) }
                    p.lede { (page.lede) }
                    (when(chrome))
                    @let downloads = pinned(chrome);
                    @for block in blocks { (block.render(page.name, chrome.query, &downloads)) }
                }
                footer {
                    @match &chrome.as_of {
                        Some((at, chosen)) => {
                            "Figures as of " (at.replace('T', " ").trim_end_matches('Z')) " UTC"
                            @if !*chosen { " (the end of the data)" }
                            ". "
                        }
                        None => {}
                    }
                    "All dates and times are UTC. "
                    a href="/docs/dashboard" { "About this dashboard" }
                    " · "
                    a href="/docs/figures" { "What every figure means" }
                }
            }
        }
    }
}

/// The instant and window every page keeps, with the page's own parameters carried along.
fn when(chrome: &Chrome) -> Markup {
    let q = chrome.query;
    let date = |name: &str| q.get(name).map(|v| v.get(..10).unwrap_or(v).to_owned());
    html! {
        form.when method="get" action=(chrome.page.path_of(q)) aria-label="Instant and window" {
            label { "As of (UTC)" input type="date" name="as_of" value=[date("as_of")]; }
            label { "From" input type="date" name="from" value=[date("from")]; }
            label { "To" input type="date" name="to" value=[date("to")]; }
            @for (name, value) in q.pairs().iter().filter(|(n, _)| carried(n)) {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" { "Apply" }
            @if !q.kept().is_empty() {
                a href=(chrome.page.path_of(&PageQuery::new(q.pairs().iter().filter(|(n, _)| !KEPT.contains(&n.as_str())).cloned()))) { "Reset to the end of the data" }
            }
        }
    }
}

/// The page's query with the instant its figures are as of: a CSV asked later (when more
/// data has come, and the end of the data has moved) holds the figures drawn.
fn pinned(chrome: &Chrome) -> PageQuery {
    let mut query = chrome.query.clone();
    if let (None, Some((at, _))) = (query.get("as_of"), &chrome.as_of) {
        query.set("as_of", at.as_str());
    }
    query
}

/// Whether the instant-and-window form carries parameter `name` along: the page's selectors
/// yes; a page of a list, no (a new instant starts it again).
fn carried(name: &str) -> bool {
    !KEPT.contains(&name) && name != "cursor"
}

impl Block {
    /// The block; `downloads` is the query its CSV links carry.
    pub fn render(&self, page: &str, query: &PageQuery, downloads: &PageQuery) -> Markup {
        match self {
            Block::Tiles(tiles) => html! { div.tiles { @for tile in tiles { (tile.render()) } } },
            Block::Controls(controls) => controls.render(page, query),
            Block::Figure(figure) => figure.render(page, query, downloads),
            Block::Text(markup) => markup.clone(),
            Block::Missing { what, message } => html! {
                div.missing role="status" { strong { (what) ": " } (message) }
            },
        }
    }
}

impl Tile {
    fn render(&self) -> Markup {
        html! {
            div.tile {
                div.label { (self.label) }
                div.value { (self.value) }
                @if let Some(change) = &self.change {
                    div.change class=(match change.tone { Tone::Good => "good", Tone::Bad => "bad", Tone::Neutral => "neutral" }) {
                        (change.text)
                    }
                }
                a href=(self.how.href()) aria-label=(format!("How {} is computed", self.label)) { "how computed" }
            }
        }
    }
}

impl Controls {
    fn render(&self, page: &str, query: &PageQuery) -> Markup {
        let action = crate::pages::page(page).map_or("/".to_owned(), |p| p.path_of(query));
        html! {
            form.controls method="get" action=(action)
                hx-get=(action) hx-trigger="change, submit" hx-target="#content" hx-select="#content"
                hx-swap="outerHTML" hx-push-url="true" aria-label="Selectors" {
                @for (name, value) in query.kept() {
                    input type="hidden" name=(name) value=(value);
                }
                @for select in &self.selects {
                    label {
                        (select.label)
                        select name=(select.name) {
                            @for (value, text) in &select.options {
                                option value=(value) selected[*value == select.selected] { (text) }
                            }
                        }
                    }
                }
                @for field in &self.texts {
                    label {
                        (field.label)
                        input type="search" name=(field.name) value=(field.value) placeholder=(field.placeholder);
                    }
                }
                button type="submit" { "Show" }
            }
        }
    }
}

/// The sign-in form; `error` says why the last attempt failed.
pub fn signin_page(error: Option<&str>, next: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Sign in"))
            body {
                main id="content" {
                    div.signin {
                        h1 { "Sign in to tenure" }
                        p { "Sign in with a read or admin key of your workspace. "
                            "An administrator makes one with " code { "tenure keys create --scope read" } "." }
                        @if let Some(error) = error { p.error role="alert" { (error) } }
                        form method="post" action="/signin" {
                            input type="hidden" name="next" value=(next);
                            label { "Key" input type="password" name="key" autocomplete="current-password" required autofocus; }
                            p { button type="submit" { "Sign in" } }
                        }
                    }
                }
            }
        }
    }
}

/// A page of the embedded docs, in the frame of the sign-in page (no session needed to read
/// what a figure means).
pub fn doc_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { a.brand href="/" { "tenure" } nav.pages aria-label="Docs" { ul { li { a href="/docs/dashboard" { "Dashboard" } } li { a href="/docs/figures" { "Figures" } } li { a href="/docs/reports" { "Reports" } } } } }
                main id="content" { (body) }
                footer { (PreEscaped("&nbsp;")) }
            }
        }
    }
}
