//! Charts drawn as SVG on the server, from the same table a figure shows and downloads.
//!
//! Why not a chart library in the browser: every chart here is lines, bars or a grid of cells,
//! which SVG draws in a few hundred lines; drawn on the server they need no script, no second
//! copy of the figures in JavaScript, and no asset to vendor — and each mark carries its
//! figure as a `<title>`, which a screen reader and a pointer both read.

use maud::{html, Markup};
use tenure_core::Currency;
use tenure_reports::Unit;

use crate::format::{axis, number};

/// Okabe–Ito: told apart by people with any common colour blindness.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#000000",
];

#[derive(Debug, Clone)]
pub enum Chart {
    Lines(Lines),
    Bars(Bars),
    HBars(HBars),
    Heatmap(Heatmap),
    Intervals(Intervals),
}

/// Lines over a numeric x axis (days, months), each with an optional band (a 95% interval).
#[derive(Debug, Clone)]
pub struct Lines {
    pub series: Vec<Series>,
    pub x_unit: Unit,
    pub y_unit: Unit,
    /// Drawn as steps (a Kaplan–Meier curve holds its value until the next event).
    pub step: bool,
    /// A fixed y range (survival: 0 to 1); otherwise from the data.
    pub y_range: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// (x, low, high), at the same x as `points` when given.
    pub band: Vec<(f64, f64, f64)>,
}

/// Bars per category (a month), stacked: positive parts up from zero, negative ones down; with
/// an optional line over them (net new MRR).
#[derive(Debug, Clone)]
pub struct Bars {
    pub categories: Vec<String>,
    pub stacks: Vec<Stack>,
    pub line: Option<Stack>,
    pub unit: Unit,
}

#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub values: Vec<f64>,
    pub colour: &'static str,
}

/// One horizontal bar per label.
#[derive(Debug, Clone)]
pub struct HBars {
    pub labels: Vec<String>,
    pub values: Vec<Option<f64>>,
    pub unit: Unit,
}

/// An estimate and its interval per label, around a reference line: a forest plot of odds
/// ratios around 1, on a log scale (an odds ratio of 2 is as far from 1 as one of ½).
#[derive(Debug, Clone)]
pub struct Intervals {
    pub labels: Vec<String>,
    /// (estimate, low, high) per label.
    pub values: Vec<Option<(f64, f64, f64)>>,
    pub reference: f64,
    pub unit: Unit,
}

/// A grid of cells shaded by value: cohorts by month since conversion.
#[derive(Debug, Clone)]
pub struct Heatmap {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<Option<f64>>>,
    pub unit: Unit,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

impl Chart {
    /// The chart as SVG, labelled by `title` and described by [`Chart::describe`] for those
    /// who do not see it.
    pub fn render(&self, title: &str, currency: Currency) -> Markup {
        let description = self.describe(currency);
        let (height, body, legend) = match self {
            Chart::Lines(lines) => (
                HEIGHT,
                lines.draw(currency),
                legend_of_series(&lines.series),
            ),
            Chart::Bars(bars) => (HEIGHT, bars.draw(currency), bars.legend()),
            Chart::HBars(bars) => {
                let height = TOP + 22.0 * bars.labels.len().max(1) as f64 + 8.0;
                (height, bars.draw(currency, height), None)
            }
            Chart::Heatmap(map) => {
                let height = 22.0 + 20.0 * map.rows.len().max(1) as f64;
                (height, map.draw(currency), None)
            }
            Chart::Intervals(intervals) => {
                let height = TOP + 22.0 * intervals.labels.len().max(1) as f64 + BOTTOM;
                (height, intervals.draw(currency, height), None)
            }
        };
        html! {
            figure.chart {
                svg viewBox=(format!("0 0 {WIDTH} {height}")) role="img"
                    aria-label=(format!("{title}: {description}")) preserveAspectRatio="xMinYMin meet" {
                    title { (title) }
                    desc { (description) }
                    (body)
                }
                @if let Some(legend) = legend { (legend) }
            }
        }
    }

    /// What the chart shows, in one sentence: its text alternative.
    pub fn describe(&self, currency: Currency) -> String {
        match self {
            Chart::Lines(lines) => {
                let parts: Vec<String> = lines
                    .series
                    .iter()
                    .filter_map(|s| {
                        let (first, last) = (s.points.first()?, s.points.last()?);
                        Some(format!(
                            "{} from {} at {} to {} at {}",
                            s.name,
                            number(first.1, lines.y_unit, currency),
                            number(first.0, lines.x_unit, currency),
                            number(last.1, lines.y_unit, currency),
                            number(last.0, lines.x_unit, currency),
                        ))
                    })
                    .collect();
                format!("lines: {}", parts.join("; "))
            }
            Chart::Bars(bars) => {
                let (Some(first), Some(last)) = (bars.categories.first(), bars.categories.last())
                else {
                    return "no bars".to_owned();
                };
                let names: Vec<&str> = bars.stacks.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "stacked bars of {} for each of {} periods from {first} to {last}; the table below gives every figure",
                    names.join(", "),
                    bars.categories.len()
                )
            }
            Chart::HBars(bars) => {
                let best = bars
                    .labels
                    .iter()
                    .zip(&bars.values)
                    .filter_map(|(l, v)| Some((l, (*v)?)))
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                match best {
                    Some((label, value)) => format!(
                        "bars for {} items; the largest is {label} at {}",
                        bars.labels.len(),
                        number(value, bars.unit, currency)
                    ),
                    None => "no bars".to_owned(),
                }
            }
            Chart::Heatmap(map) => format!(
                "a grid of {} rows by {} columns shaded by value; the table below gives every figure",
                map.rows.len(),
                map.columns.len()
            ),
            Chart::Intervals(intervals) => {
                let r = intervals.reference;
                let above = intervals.values.iter().flatten().filter(|v| v.1 > r).count();
                let below = intervals.values.iter().flatten().filter(|v| v.2 < r).count();
                format!(
                    "intervals for {} items around {}: {above} wholly above it, {below} wholly below it; the table below gives every figure",
                    intervals.labels.len(),
                    number(r, intervals.unit, currency)
                )
            }
        }
    }
}

/// Round steps covering `lo..=hi`: about `count` of them, each 1, 2 or 5 times a power of ten.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let raw = (hi - lo) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = magnitude
        * match raw / magnitude {
            n if n < 1.5 => 1.0,
            n if n < 3.0 => 2.0,
            n if n < 7.0 => 5.0,
            _ => 10.0,
        };
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A linear map from a domain to a pixel range.
#[derive(Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn at(self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        let t = if span == 0.0 {
            0.5
        } else {
            (v - self.d0) / span
        };
        self.r0 + t * (self.r1 - self.r0)
    }
}

fn y_axis(ticks: &[f64], y: Scale, unit: Unit, currency: Currency) -> Markup {
    html! {
        g.axis {
            @for t in ticks {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(px(y.at(*t))) y2=(px(y.at(*t)))
                    class=(if *t == 0.0 { "zero" } else { "grid" }) {}
                text x=(LEFT - 6.0) y=(px(y.at(*t) + 4.0)) text-anchor="end" { (axis(*t, unit, currency)) }
            }
        }
    }
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

impl Lines {
    fn draw(&self, currency: Currency) -> Markup {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let (x_lo, x_hi) = bounds(xs);
        let (y_lo, y_hi) = self.y_range.unwrap_or_else(|| {
            let ys = self.series.iter().flat_map(|s| {
                s.points
                    .iter()
                    .map(|p| p.1)
                    .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
            });
            let (lo, hi) = bounds(ys);
            (lo.min(0.0), hi)
        });
        let y_ticks = ticks(y_lo, y_hi, 4);
        let x_ticks = ticks(x_lo, x_hi, 8);
        let x = Scale {
            d0: x_lo,
            d1: x_hi,
            r0: LEFT,
            r1: WIDTH - RIGHT,
        };
        let y = Scale {
            d0: *y_ticks.first().unwrap_or(&y_lo),
            d1: *y_ticks.last().unwrap_or(&y_hi),
            r0: HEIGHT - BOTTOM,
            r1: TOP,
        };
        let steps = |points: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
            if !self.step {
                return points;
            }
            let mut out = Vec::with_capacity(points.len() * 2);
            for (i, p) in points.iter().enumerate() {
                if i > 0 {
                    out.push((p.0, points[i - 1].1));
                }
                out.push(*p);
            }
            out
        };
        let path = |points: &[(f64, f64)]| -> String {
            points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    format!(
                        "{}{},{}",
                        if i == 0 { "M" } else { "L" },
                        px(x.at(p.0)),
                        px(y.at(p.1))
                    )
                })
                .collect::<String>()
        };
        html! {
            (y_axis(&y_ticks, y, self.y_unit, currency))
            g.axis {
                @for t in x_ticks.iter().filter(|t| **t >= x_lo && **t <= x_hi) {
                    text x=(px(x.at(*t))) y=(HEIGHT - 8.0) text-anchor="middle" { (axis(*t, self.x_unit, currency)) }
                }
            }
            @for (i, series) in self.series.iter().enumerate() {
                @let colour = PALETTE[i % PALETTE.len()];
                @if !series.band.is_empty() {
                    @let upper = steps(series.band.iter().map(|b| (b.0, b.2)).collect());
                    @let lower = steps(series.band.iter().map(|b| (b.0, b.1)).collect());
                    @let outline: Vec<(f64, f64)> = upper.into_iter().chain(lower.into_iter().rev()).collect();
                    path.band d=(format!("{}Z", path(&outline))) fill=(colour) {}
                }
                path.line d=(path(&steps(series.points.clone()))) stroke=(colour) {
                    title { (series.name) }
                }
            }
        }
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0.0, 1.0))
}

fn legend_of_series(series: &[Series]) -> Option<Markup> {
    (series.len() > 1).then(|| {
        legend(
            series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.as_str(), PALETTE[i % PALETTE.len()])),
        )
    })
}

fn legend<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Markup {
    html! {
        ul.legend {
            @for (name, colour) in items {
                li {
                    svg.swatch viewBox="0 0 10 10" aria-hidden="true" { rect width="10" height="10" fill=(colour) {} }
                    (name)
                }
            }
        }
    }
}

impl Bars {
    fn legend(&self) -> Option<Markup> {
        let mut items: Vec<(&str, &str)> = self
            .stacks
            .iter()
            .map(|s| (s.name.as_str(), s.colour))
            .collect();
        if let Some(line) = &self.line {
            items.push((line.name.as_str(), line.colour));
        }
        Some(legend(items.into_iter()))
    }

    fn draw(&self, currency: Currency) -> Markup {
        let n = self.categories.len().max(1);
        let sums = (0..n).map(|i| {
            let (mut up, mut down) = (0.0f64, 0.0f64);
            for stack in &self.stacks {
                let v = stack.values.get(i).copied().unwrap_or(0.0);
                if v >= 0.0 {
                    up += v;
                } else {
                    down += v;
                }
            }
            (down, up)
        });
        let line_values = self.line.iter().flat_map(|l| l.values.iter().copied());
        let (lo, hi) = bounds(
            sums.flat_map(|(d, u)| [d, u])
                .chain(line_values)
                .chain([0.0]),
        );
        let y_ticks = ticks(lo, hi, 4);
        let y = Scale {
            d0: *y_ticks.first().unwrap_or(&lo),
            d1: *y_ticks.last().unwrap_or(&hi),
            r0: HEIGHT - BOTTOM,
            r1: TOP,
        };
        let band = (WIDTH - LEFT - RIGHT) / n as f64;
        let bar = (band * 0.7).max(1.0);
        let every = n.div_ceil(12);
        let centre = |i: usize| LEFT + band * (i as f64 + 0.5);
        html! {
            (y_axis(&y_ticks, y, self.unit, currency))
            g.axis {
                @for (i, category) in self.categories.iter().enumerate() {
                    // Counted from the last, the latest period always has its label.
                    @if (n - 1 - i).is_multiple_of(every) {
                        text x=(px(centre(i))) y=(HEIGHT - 8.0) text-anchor="middle" { (category) }
                    }
                }
            }
            @for (i, category) in self.categories.iter().enumerate() {
                @let (mut up, mut down) = (0.0f64, 0.0f64);
                @for stack in &self.stacks {
                    @let v = stack.values.get(i).copied().unwrap_or(0.0);
                    @if v != 0.0 {
                        @let (from, to) = if v > 0.0 { let f = up; up += v; (f, up) } else { let f = down; down += v; (f, down) };
                        rect x=(px(centre(i) - bar / 2.0)) width=(px(bar))
                            y=(px(y.at(from.max(to)))) height=(px((y.at(from) - y.at(to)).abs()))
                            fill=(stack.colour) {
                            title { (category) " " (stack.name) ": " (number(v, self.unit, currency)) }
                        }
                    }
                }
            }
            @if let Some(line) = &self.line {
                @let d: String = line.values.iter().enumerate()
                    .map(|(i, v)| format!("{}{},{}", if i == 0 { "M" } else { "L" }, px(centre(i)), px(y.at(*v))))
                    .collect();
                path.line d=(d) stroke=(line.colour) {}
                @for (i, v) in line.values.iter().enumerate() {
                    circle cx=(px(centre(i))) cy=(px(y.at(*v))) r="2.5" fill=(line.colour) {
                        title { (self.categories.get(i).map_or("", String::as_str)) " " (line.name) ": " (number(*v, self.unit, currency)) }
                    }
                }
            }
        }
    }
}

impl HBars {
    fn draw(&self, currency: Currency, height: f64) -> Markup {
        const LABELS: f64 = 200.0;
        let values = self.values.iter().flatten().copied();
        let (lo, hi) = bounds(values.chain([0.0]));
        let x = Scale {
            d0: lo.min(0.0),
            d1: if hi > lo { hi } else { lo + 1.0 },
            r0: LABELS,
            r1: WIDTH - 90.0,
        };
        let _ = height;
        html! {
            @for (i, (label, value)) in self.labels.iter().zip(&self.values).enumerate() {
                @let row = TOP + 22.0 * i as f64;
                text.label x=(LABELS - 8.0) y=(px(row + 14.0)) text-anchor="end" { (truncate(label, 30)) }
                @if let Some(v) = value {
                    @let (a, b) = (x.at(0.0), x.at(*v));
                    rect x=(px(a.min(b))) y=(px(row + 3.0)) width=(px((b - a).abs().max(1.0))) height="15"
                        fill=(if *v < 0.0 { PALETTE[3] } else { PALETTE[0] }) {
                        title { (label) ": " (number(*v, self.unit, currency)) }
                    }
                    text x=(px(a.max(b) + 6.0)) y=(px(row + 14.0)) { (number(*v, self.unit, currency)) }
                } @else {
                    text x=(px(x.at(0.0) + 6.0)) y=(px(row + 14.0)) class="none" { "n/a" }
                }
            }
        }
    }
}

impl Intervals {
    fn draw(&self, currency: Currency, height: f64) -> Markup {
        const LABELS: f64 = 200.0;
        let ends = self
            .values
            .iter()
            .flatten()
            .flat_map(|v| [v.1, v.2])
            .filter(|v| *v > 0.0)
            .chain([self.reference]);
        let (lo, hi) = bounds(ends);
        // Round steps of a log axis: 1, 2 and 5 times powers of ten.
        let steps: Vec<f64> = (-3..=3)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
            .collect();
        let lo = steps
            .iter()
            .rev()
            .find(|s| **s <= lo)
            .copied()
            .unwrap_or(lo);
        let hi = steps.iter().find(|s| **s >= hi).copied().unwrap_or(hi);
        let x = Scale {
            d0: lo.ln(),
            d1: hi.ln(),
            r0: LABELS,
            r1: WIDTH - RIGHT - 10.0,
        };
        let at = |v: f64| x.at(v.max(lo).ln());
        let bottom = height - BOTTOM;
        html! {
            g.axis {
                @for t in steps.iter().filter(|t| **t >= lo && **t <= hi) {
                    line x1=(px(at(*t))) x2=(px(at(*t))) y1=(TOP) y2=(px(bottom))
                        class=(if *t == self.reference { "zero" } else { "grid" }) {}
                    text x=(px(at(*t))) y=(px(bottom + 16.0)) text-anchor="middle" { (axis(*t, self.unit, currency)) }
                }
            }
            @for (i, (label, value)) in self.labels.iter().zip(&self.values).enumerate() {
                @let row = TOP + 22.0 * i as f64;
                text.label x=(LABELS - 8.0) y=(px(row + 14.0)) text-anchor="end" { (truncate(label, 30)) }
                @if let Some((estimate, low, high)) = value {
                    @let colour = if *low > self.reference { PALETTE[3] } else if *high < self.reference { PALETTE[0] } else { "#8a929c" };
                    g {
                        title { (label) ": " (number(*estimate, self.unit, currency)) " (95% interval "
                            (number(*low, self.unit, currency)) " to " (number(*high, self.unit, currency)) ")" }
                        line x1=(px(at(*low))) x2=(px(at(*high))) y1=(px(row + 10.0)) y2=(px(row + 10.0))
                            stroke=(colour) stroke-width="2" {}
                        circle cx=(px(at(*estimate))) cy=(px(row + 10.0)) r="4" fill=(colour) {}
                    }
                }
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

impl Heatmap {
    fn draw(&self, currency: Currency) -> Markup {
        const LABELS: f64 = 70.0;
        let columns = self.columns.len().max(1);
        let cell = ((WIDTH - LABELS) / columns as f64).min(48.0);
        let text_fits = cell >= 30.0;
        html! {
            g.axis {
                @for (j, column) in self.columns.iter().enumerate() {
                    @if text_fits || j % 3 == 0 {
                        text x=(px(LABELS + cell * (j as f64 + 0.5))) y="14" text-anchor="middle" { (column) }
                    }
                }
            }
            @for (i, row) in self.rows.iter().enumerate() {
                @let top = 20.0 + 20.0 * i as f64;
                text.label x=(LABELS - 6.0) y=(px(top + 14.0)) text-anchor="end" { (row) }
                @for (j, value) in self.cells.get(i).into_iter().flatten().enumerate() {
                    @if let Some(v) = value {
                        @let (fill, ink) = shade(*v);
                        rect x=(px(LABELS + cell * j as f64)) y=(px(top)) width=(px(cell - 1.0)) height="19" fill=(fill) {
                            title { (row) ", " (self.columns.get(j).map_or("", String::as_str)) ": " (number(*v, self.unit, currency)) }
                        }
                        @if text_fits {
                            text x=(px(LABELS + cell * (j as f64 + 0.5))) y=(px(top + 13.5)) text-anchor="middle"
                                class=(ink) { (format!("{:.0}", v * 100.0)) }
                        }
                    }
                }
            }
        }
    }
}

/// A cell's fill for a share (0 to 1, and above for revenue retention past 100%) and the class
/// of the ink that reads on it (the stylesheet's, which a `fill` attribute would lose to).
fn shade(value: f64) -> (String, &'static str) {
    let t = value.clamp(0.0, 1.0);
    // From a pale blue (0%) to a deep blue (100%).
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    let fill = format!(
        "#{:02x}{:02x}{:02x}",
        mix(240.0, 8.0),
        mix(244.0, 69.0),
        mix(250.0, 148.0)
    );
    (fill, if t > 0.55 { "cell on-dark" } else { "cell" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: Vec<f64>, want: &[f64]) -> bool {
        got.len() == want.len() && got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-9)
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert!(close(ticks(0.0, 1.0, 4), &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]));
        assert!(close(
            ticks(0.0, 100.0, 4),
            &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        ));
        assert!(close(
            ticks(-3000.0, 12_500.0, 4),
            &[-5000.0, 0.0, 5000.0, 10_000.0, 15_000.0]
        ));
        // One value: a unit around it.
        assert!(close(
            ticks(5.0, 5.0, 4),
            &[4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6]
        ));
    }

    #[test]
    fn a_share_is_shaded_from_pale_to_deep() {
        assert_eq!(shade(0.0), ("#f0f4fa".to_owned(), "cell"));
        assert_eq!(shade(1.0), ("#084594".to_owned(), "cell on-dark"));
        // Revenue retention above 100% is as deep as 100%.
        assert_eq!(shade(1.3), shade(1.0));
    }
}
