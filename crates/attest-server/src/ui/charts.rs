//! Charts drawn on the server as SVG markup: the readiness trend (a line chart) and the
//! Type 2 timeline (one bar per control across the audit period).
//!
//! Colours and dash patterns come from classes in the stylesheet (`series-<category>`,
//! `seg-<kind>`), never from inline styles, which the content security policy refuses.
//! Every chart carries a title and a description, and the pages show the same numbers in a
//! table beside it.

use std::fmt::Write as _;

use attest_model::Category;
use jiff::Timestamp;

use crate::views::TrendPoint;

/// Width of the trend chart's view box.
const TREND_W: f64 = 720.0;
/// Height of the trend chart's view box.
const TREND_H: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

/// `text` escaped for SVG/HTML text and attributes.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number as an SVG coordinate (two decimals at most).
fn num(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The readiness trend: share of passing results per category per day, as an SVG line
/// chart with a y axis in percent, date labels every week, and one line per category
/// (`categories` in order: the order of the legend). Answers `None` when no day has data.
pub fn trend_svg(points: &[TrendPoint], categories: &[Category]) -> Option<String> {
    if points.iter().all(|p| p.categories.is_empty()) {
        return None;
    }
    let plot_w = TREND_W - LEFT - RIGHT;
    let plot_h = TREND_H - TOP - BOTTOM;
    let n = points.len();
    #[allow(clippy::cast_precision_loss, reason = "a few hundred days at most")]
    let x = |i: usize| -> f64 {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * (i as f64) / ((n - 1) as f64)
        }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - v.clamp(0.0, 100.0) / 100.0);

    let mut svg = String::new();
    let first = points
        .first()
        .map(|p| p.date.to_string())
        .unwrap_or_default();
    let last = points
        .last()
        .map(|p| p.date.to_string())
        .unwrap_or_default();
    let _ = write!(
        svg,
        "<svg class=\"trend-chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-labelledby=\"trend-title trend-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"trend-title\">Readiness trend, {first} to {last}</title>\
         <desc id=\"trend-desc\">{desc}</desc>",
        w = num(TREND_W),
        h = num(TREND_H),
        desc = esc(&trend_description(points, categories)),
    );
    // Grid and y axis.
    for v in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x1}\" x2=\"{x2}\" y1=\"{y}\" y2=\"{y}\"/>\
             <text class=\"axis-label\" x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{v}%</text>",
            x1 = num(LEFT),
            x2 = num(TREND_W - RIGHT),
            y = num(y(v)),
            lx = num(LEFT - 8.0),
            ty = num(y(v) + 4.0),
        );
    }
    // X axis: a label every seven days back from the last, and the first.
    for (i, point) in points.iter().enumerate() {
        let from_end = n - 1 - i;
        let weekly = from_end.is_multiple_of(7);
        let first_far_enough = i == 0 && from_end % 7 >= 3;
        if !(weekly || first_far_enough) {
            continue;
        }
        let anchor = if n > 1 && i == 0 {
            "start"
        } else if n > 1 && i == n - 1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            "<line class=\"tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{y1}\" y2=\"{y2}\"/>\
             <text class=\"axis-label\" x=\"{x}\" y=\"{ty}\" text-anchor=\"{anchor}\">{label}</text>",
            x = num(x(i)),
            y1 = num(TREND_H - BOTTOM),
            y2 = num(TREND_H - BOTTOM + 4.0),
            ty = num(TREND_H - BOTTOM + 18.0),
            label = point.date.strftime("%b %-d"),
        );
    }
    // One line per category; a day without data breaks the line.
    for category in categories {
        let mut path = String::new();
        let mut dots = String::new();
        let mut pen_down = false;
        for (i, point) in points.iter().enumerate() {
            match point.categories.get(category) {
                Some(value) => {
                    let _ = write!(
                        path,
                        "{}{} {} ",
                        if pen_down { "L" } else { "M" },
                        num(x(i)),
                        num(y(*value))
                    );
                    pen_down = true;
                    let _ = write!(
                        dots,
                        "<circle class=\"pt series-{cat}\" cx=\"{cx}\" cy=\"{cy}\" r=\"2.5\">\
                         <title>{title}, {date}: {value}%</title></circle>",
                        cat = category.as_str(),
                        cx = num(x(i)),
                        cy = num(y(*value)),
                        title = category.title(),
                        date = point.date,
                    );
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                svg,
                "<path class=\"line series-{cat}\" d=\"{d}\" fill=\"none\"/>{dots}",
                cat = category.as_str(),
                d = path.trim_end(),
            );
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// One sentence per category: where it started and where it is now.
fn trend_description(points: &[TrendPoint], categories: &[Category]) -> String {
    let mut parts = Vec::new();
    for category in categories {
        let mut known = points
            .iter()
            .filter_map(|p| p.categories.get(category).map(|v| (p.date, *v)));
        let Some((first_date, first_value)) = known.next() else {
            parts.push(format!("{}: no results yet.", category.title()));
            continue;
        };
        match known.next_back() {
            Some((last_date, last_value)) => parts.push(format!(
                "{}: {first_value}% on {first_date}, {last_value}% on {last_date}.",
                category.title()
            )),
            None => parts.push(format!(
                "{}: {first_value}% on {first_date}.",
                category.title()
            )),
        }
    }
    parts.join(" ")
}

/// What a stretch of a control's timeline was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// Operating.
    Operating,
    /// Failing or undecided results, or lapsed manual evidence.
    Exception,
    /// No run within the longest allowed silence.
    Gap,
    /// Nothing to assess (the control was not tested).
    Untested,
    /// After the moment assessed (the period has not reached it yet).
    Future,
}

impl SegmentKind {
    /// Its class suffix and its name on the page.
    pub fn name(self) -> (&'static str, &'static str) {
        match self {
            SegmentKind::Operating => ("operating", "Operating"),
            SegmentKind::Exception => ("exception", "Exception"),
            SegmentKind::Gap => ("gap", "Gap in monitoring"),
            SegmentKind::Untested => ("untested", "Not tested"),
            SegmentKind::Future => ("future", "Not yet assessed"),
        }
    }
}

/// One stretch of a control's timeline, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// What it was.
    pub kind: SegmentKind,
    /// Start.
    pub from: i64,
    /// End.
    pub to: i64,
}

/// A control's stretches over `[start, end)`: future from `assessed` on; before it,
/// exception where any exception covers the moment, else gap where any gap does, else
/// operating (or untested when the control was not `tested`). Adjacent stretches of one
/// kind are merged.
pub fn segments(
    start: i64,
    assessed: i64,
    end: i64,
    tested: bool,
    exceptions: &[(i64, i64)],
    gaps: &[(i64, i64)],
) -> Vec<Segment> {
    if end <= start {
        return Vec::new();
    }
    let assessed = assessed.clamp(start, end);
    let mut bounds = vec![start, assessed, end];
    for (from, to) in exceptions.iter().chain(gaps) {
        bounds.push((*from).clamp(start, end));
        bounds.push((*to).clamp(start, end));
    }
    bounds.sort_unstable();
    bounds.dedup();
    let covers = |list: &[(i64, i64)], a: i64, b: i64| list.iter().any(|(f, t)| *f <= a && *t >= b);
    let mut out: Vec<Segment> = Vec::new();
    for pair in bounds.windows(2) {
        let [a, b] = [pair[0], pair[1]];
        if b <= a {
            continue;
        }
        let kind = if a >= assessed {
            SegmentKind::Future
        } else if !tested {
            SegmentKind::Untested
        } else if covers(exceptions, a, b) {
            SegmentKind::Exception
        } else if covers(gaps, a, b) {
            SegmentKind::Gap
        } else {
            SegmentKind::Operating
        };
        match out.last_mut() {
            Some(last) if last.kind == kind && last.to == a => last.to = b,
            _ => out.push(Segment {
                kind,
                from: a,
                to: b,
            }),
        }
    }
    out
}

/// `segments` of `[start, end)` as a bar: an SVG 1000 units wide that stretches to its box.
pub fn bar_svg(segments: &[Segment], start: i64, end: i64, label: &str) -> String {
    let mut svg = format!(
        "<svg class=\"tl-bar\" viewBox=\"0 0 1000 20\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(label)
    );
    #[allow(clippy::cast_precision_loss, reason = "seconds within a few years")]
    let scale = |t: i64| (t - start) as f64 * 1000.0 / ((end - start).max(1) as f64);
    for segment in segments {
        let (class, name) = segment.kind.name();
        let x = scale(segment.from);
        let w = (scale(segment.to) - x).max(0.8);
        let _ = write!(
            svg,
            "<rect class=\"seg seg-{class}\" x=\"{x}\" y=\"0\" width=\"{w}\" height=\"20\">\
             <title>{name}: {from} – {to}</title></rect>",
            x = num(x),
            w = num(w),
            from = moment(segment.from),
            to = moment(segment.to),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Seconds since the epoch as `2026-03-04 14:02 UTC`.
fn moment(seconds: i64) -> String {
    Timestamp::from_second(seconds).map_or_else(
        |_| seconds.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn point(date: &str, values: &[(Category, f64)]) -> TrendPoint {
        TrendPoint {
            date: date.parse().unwrap(),
            categories: values.iter().copied().collect::<BTreeMap<_, _>>(),
            results: 1,
        }
    }

    #[test]
    fn the_trend_has_axes_a_line_per_category_and_a_description() {
        let points = vec![
            point("2026-03-01", &[(Category::Security, 50.0)]),
            point("2026-03-02", &[]),
            point(
                "2026-03-03",
                &[(Category::Security, 75.0), (Category::Availability, 100.0)],
            ),
        ];
        let svg = trend_svg(&points, &[Category::Security, Category::Availability]).unwrap();
        assert!(svg.contains(">100%</text>"));
        assert!(svg.contains(">0%</text>"));
        assert!(svg.contains(">Mar 3</text>"));
        // The missing day breaks the security line into two moves.
        assert_eq!(svg.matches("class=\"line series-security\"").count(), 1);
        let path = svg.split("series-security\" d=\"").nth(1).unwrap();
        assert_eq!(path.split('"').next().unwrap().matches('M').count(), 2);
        assert!(svg.contains("class=\"line series-availability\""));
        assert!(svg.contains("Security: 50% on 2026-03-01, 75% on 2026-03-03."));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn no_data_draws_no_chart() {
        let points = vec![point("2026-03-01", &[])];
        assert!(trend_svg(&points, &[Category::Security]).is_none());
    }

    #[test]
    fn exceptions_win_over_gaps_and_the_rest_operates_until_assessed() {
        let got = segments(0, 80, 100, true, &[(20, 30)], &[(25, 40)]);
        let kinds: Vec<(SegmentKind, i64, i64)> =
            got.iter().map(|s| (s.kind, s.from, s.to)).collect();
        assert_eq!(
            kinds,
            vec![
                (SegmentKind::Operating, 0, 20),
                (SegmentKind::Exception, 20, 30),
                (SegmentKind::Gap, 30, 40),
                (SegmentKind::Operating, 40, 80),
                (SegmentKind::Future, 80, 100),
            ]
        );
    }

    #[test]
    fn an_untested_control_is_one_untested_stretch() {
        let got = segments(0, 100, 100, false, &[], &[]);
        assert_eq!(
            got,
            vec![Segment {
                kind: SegmentKind::Untested,
                from: 0,
                to: 100
            }]
        );
        let svg = bar_svg(&got, 0, 100, "AC-01: not tested");
        assert!(svg.contains("class=\"seg seg-untested\" x=\"0\" y=\"0\" width=\"1000\""));
        assert!(svg.contains("aria-label=\"AC-01: not tested\""));
    }
}
