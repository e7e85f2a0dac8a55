//! Charts as SVG strings, drawn on the server from typed series: one implementation for the
//! live dashboard and the static report, no script to run and no library to vendor.
//!
//! Every chart carries a `<title>` and `<desc>` (screen readers announce them), labelled axes,
//! and a `<title>` on each bar or point (the exact figure on hover). Colours are presentation
//! attributes overridden by classes (`s0`…`s7`, `axis`, `grid`): a standalone SVG reads well,
//! and the page's stylesheet ([`CSS`]) switches them for a dark scheme. All text is escaped.

use super::esc;
use crate::render;
use std::fmt::Write;

/// The chart classes' colours, light and dark; inlined by the report, served to the dashboard.
pub const CSS: &str = include_str!("chart.css");

/// Series colours (light scheme), as presentation attributes; CSS classes `s0`… override them.
const PALETTE: [&str; 8] = [
    "#3b6fb6", "#e0803a", "#3f9a5b", "#c9474d", "#8062b3", "#9a6b3f", "#d061a6", "#6f7780",
];

/// How a chart's numbers read on axes and in tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Whole numbers with thousands separators.
    Count,
    /// A fraction shown as a percentage; the axis is fixed to 0–100 %.
    Fraction,
    /// Milliseconds shown as a duration.
    Millis,
    /// US dollars.
    Usd,
}

impl Unit {
    /// The value as the CLI's tables show it (same formatting helpers).
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count => render::int(v.round() as i64),
            Unit::Fraction => render::pct(Some(v)),
            Unit::Millis => render::dur(Some(v)),
            Unit::Usd => render::usd(Some(v)),
        }
    }
    /// A shorter form for axis ticks.
    fn tick(self, v: f64) -> String {
        match self {
            Unit::Fraction => format!("{:.0}%", v * 100.0),
            Unit::Usd if v.abs() >= 1.0 || v == 0.0 => format!("${v:.0}"),
            Unit::Usd if v.abs() >= 0.1 => format!("${v:.1}"),
            Unit::Usd if v.abs() >= 0.01 => format!("${v:.2}"),
            Unit::Usd => format!("${v:.3}"),
            other => other.format(v),
        }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Vertical bars (one per x position; several bar series are grouped side by side).
    Bar,
    /// A line with a dot on each known value; gaps where values are missing.
    Line,
    /// The same, dashed (a second measure of the same thing, e.g. p95 beside p50).
    Dashed,
}

/// Which vertical axis a series is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// One named series of values along the x axis (`None`: no value there).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub mark: Mark,
    pub side: Side,
    /// Palette index (series that belong together, such as one agent's p50 and p95, share it).
    pub colour: usize,
}

/// A vertical axis: its label and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub unit: Unit,
}

/// Series over ordered x positions (hours, days): bars and lines, one or two y axes.
#[derive(Debug, Clone, PartialEq)]
pub struct XyChart {
    /// Unique within a page: the base of the SVG's element ids.
    pub id: String,
    pub title: String,
    /// One sentence for screen readers: what is plotted.
    pub desc: String,
    pub x_label: String,
    /// One label per x position.
    pub x: Vec<String>,
    pub left: Axis,
    pub right: Option<Axis>,
    pub series: Vec<Series>,
}

/// Horizontal bars, one per labelled item, largest first as given.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub value_label: String,
    pub unit: Unit,
    /// (label, value, an optional note shown after the value such as a share).
    pub bars: Vec<(String, f64, Option<String>)>,
}

const WIDTH: f64 = 640.0;
const XY_HEIGHT: f64 = 260.0;
const FONT: f64 = 11.0;

/// "Nice" axis maximum and step for values up to `max` (1, 2 or 5 × 10ⁿ, about 4 steps).
pub fn nice_scale(max: f64, unit: Unit) -> (f64, f64) {
    if unit == Unit::Fraction {
        return (1.0, 0.25);
    }
    if !(max.is_finite() && max > 0.0) {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    if unit == Unit::Millis && raw >= 1000.0 {
        // Whole clock units (15 s, 5 min, 1 h) read better than 8m 20s.
        const STEPS: [f64; 17] = [
            1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5,
            216e5, 432e5,
        ];
        let step = STEPS.iter().copied().find(|s| *s >= raw).unwrap_or(864e5);
        return ((max / step).ceil() * step, step);
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let step = if unit == Unit::Count {
        step.max(1.0)
    } else {
        step
    };
    ((max / step).ceil() * step, step)
}

fn open(out: &mut String, id: &str, title: &str, desc: &str, w: f64, h: f64) {
    let id = esc(id);
    let _ = write!(
        out,
        r##"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{id}-t {id}-d" font-family="system-ui, sans-serif" font-size="{FONT}"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc><text class="chart-title" fill="#222" x="8" y="18" font-size="13" font-weight="600" aria-hidden="true">{}</text>"##,
        esc(title),
        esc(desc),
        esc(title)
    );
}

fn empty(out: &mut String, w: f64, h: f64) {
    let _ = write!(
        out,
        r##"<text class="axis" fill="#555" x="{}" y="{}" text-anchor="middle">No data in this window</text></svg>"##,
        w / 2.0,
        h / 2.0
    );
}

/// An inline chart as a standalone SVG document (served as `image/svg+xml`): adds the namespace
/// that HTML lets inline SVG omit.
pub fn standalone(svg: &str) -> String {
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!("<svg xmlns=\"http://www.w3.org/2000/svg\" {rest}"),
        None => svg.to_string(),
    }
}

/// Draws an [`XyChart`] as one inline `<svg>` element.
#[allow(clippy::too_many_lines)] // the chart's parts drawn in paint order (grid, axes, series, legend)
pub fn xy(c: &XyChart) -> String {
    let mut out = String::with_capacity(4096);
    let has_value = c
        .series
        .iter()
        .any(|s| s.values.iter().any(Option::is_some));
    if c.x.is_empty() || !has_value {
        open(&mut out, &c.id, &c.title, &c.desc, WIDTH, XY_HEIGHT);
        empty(&mut out, WIDTH, XY_HEIGHT);
        return out;
    }
    let legend_rows = legend_layout(&c.series).last().map_or(1, |l| l.1 + 1);
    let height = XY_HEIGHT + 14.0 * (legend_rows - 1) as f64;
    let (left, right, top, bottom) = (
        76.0,
        if c.right.is_some() { 56.0 } else { 16.0 },
        34.0,
        48.0 + 14.0 * legend_rows as f64,
    );
    open(&mut out, &c.id, &c.title, &c.desc, WIDTH, height);
    let (pw, ph) = (WIDTH - left - right, height - top - bottom);
    let max_on = |side: Side| {
        c.series
            .iter()
            .filter(|s| s.side == side)
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0f64, |m, v| m.max(*v))
    };
    let (lmax, lstep) = nice_scale(max_on(Side::Left), c.left.unit);
    let rscale = c
        .right
        .as_ref()
        .map(|a| (a, nice_scale(max_on(Side::Right), a.unit)));
    let n = c.x.len();
    let slot = pw / n as f64;
    let x_at = |i: usize| left + slot * (i as f64 + 0.5);
    let y_at = |v: f64, max: f64| top + ph - (v / max).clamp(0.0, 1.0) * ph;

    // Grid lines and left ticks.
    out.push_str(r##"<g class="grid" stroke="#ddd" stroke-width="1">"##);
    let mut t = 0.0;
    while t <= lmax + lstep / 2.0 {
        let y = y_at(t, lmax);
        let _ = write!(
            out,
            r#"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
            left + pw
        );
        t += lstep;
    }
    out.push_str("</g>");
    out.push_str(r##"<g class="axis" fill="#555">"##);
    let mut t = 0.0;
    while t <= lmax + lstep / 2.0 {
        let _ = write!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y_at(t, lmax) + FONT / 3.0,
            esc(&c.left.unit.tick(t))
        );
        t += lstep;
    }
    if let Some((axis, (rmax, rstep))) = &rscale {
        let mut t = 0.0;
        while t <= rmax + rstep / 2.0 {
            let _ = write!(
                out,
                r#"<text x="{}" y="{:.1}" text-anchor="start">{}</text>"#,
                left + pw + 6.0,
                y_at(t, *rmax) + FONT / 3.0,
                esc(&axis.unit.tick(t))
            );
            t += rstep;
        }
        let _ = write!(
            out,
            r#"<text class="label" transform="translate({},{}) rotate(90)" text-anchor="middle">{}</text>"#,
            WIDTH - 8.0,
            top + ph / 2.0,
            esc(&axis.label)
        );
    }
    // X labels: at most about 8, evenly spaced.
    let every = n.div_ceil(8).max(1);
    for (i, label) in c.x.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x_at(i),
                top + ph + FONT + 4.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        out,
        r#"<text class="label" transform="translate(14,{}) rotate(-90)" text-anchor="middle">{}</text><text class="label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
        top + ph / 2.0,
        esc(&c.left.label),
        left + pw / 2.0,
        top + ph + 2.0 * FONT + 8.0,
        esc(&c.x_label)
    );
    out.push_str("</g>");
    let _ = write!(
        out,
        r##"<line class="axis-line" stroke="#888" x1="{left}" x2="{}" y1="{}" y2="{}"/>"##,
        left + pw,
        top + ph,
        top + ph
    );

    // Bars first (behind the lines), grouped per x position.
    let bars: Vec<&Series> = c.series.iter().filter(|s| s.mark == Mark::Bar).collect();
    let bw = (slot * 0.8) / bars.len().max(1) as f64;
    for (k, s) in bars.iter().enumerate() {
        let (max, unit) = scale_for(c, s.side, lmax, rscale.as_ref());
        let _ = write!(
            out,
            r#"<g class="series s{}" fill="{}" data-series="{}">"#,
            s.colour % PALETTE.len(),
            PALETTE[s.colour % PALETTE.len()],
            esc(&s.name)
        );
        for (i, v) in s.values.iter().enumerate().take(n) {
            let Some(v) = v else { continue };
            let y = y_at(*v, max);
            let x = left + slot * i as f64 + slot * 0.1 + bw * k as f64;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}: {}, {}</title></rect>"#,
                bw.max(1.0),
                (top + ph - y).max(0.0),
                esc(&c.x[i]),
                esc(&s.name),
                esc(&unit.format(*v))
            );
        }
        out.push_str("</g>");
    }
    for s in c.series.iter().filter(|s| s.mark != Mark::Bar) {
        let (max, unit) = scale_for(c, s.side, lmax, rscale.as_ref());
        let colour = PALETTE[s.colour % PALETTE.len()];
        let dash = if s.mark == Mark::Dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<g class="series s{}" stroke="{colour}" fill="{colour}" data-series="{}">"#,
            s.colour % PALETTE.len(),
            esc(&s.name)
        );
        // One polyline per run of consecutive known values.
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, out: &mut String| {
            if run.len() > 1 {
                let _ = write!(
                    out,
                    r#"<polyline fill="none" stroke-width="2"{dash} points="{}"/>"#,
                    run.join(" ")
                );
            }
            run.clear();
        };
        for (i, v) in s.values.iter().enumerate().take(n) {
            match v {
                Some(v) => run.push(format!("{:.1},{:.1}", x_at(i), y_at(*v, max))),
                None => flush(&mut run, &mut out),
            }
        }
        flush(&mut run, &mut out);
        for (i, v) in s.values.iter().enumerate().take(n) {
            let Some(v) = v else { continue };
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3"><title>{}: {}, {}</title></circle>"#,
                x_at(i),
                y_at(*v, max),
                esc(&c.x[i]),
                esc(&s.name),
                esc(&unit.format(*v))
            );
        }
        out.push_str("</g>");
    }
    legend(&mut out, &c.series, top + ph + 2.0 * FONT + 30.0);
    out.push_str("</svg>");
    out
}

fn scale_for(
    c: &XyChart,
    side: Side,
    lmax: f64,
    right: Option<&(&Axis, (f64, f64))>,
) -> (f64, Unit) {
    match (side, right) {
        (Side::Right, Some((axis, (rmax, _)))) => (*rmax, axis.unit),
        _ => (lmax, c.left.unit),
    }
}

/// Where each legend entry goes: (x, row), wrapping before the chart's right edge.
fn legend_layout(series: &[Series]) -> Vec<(f64, usize)> {
    let (x0, mut x, mut row) = (76.0, 76.0, 0);
    series
        .iter()
        .map(|s| {
            // Approximate advance: ~6.2 px per character at this size.
            let w = 30.0 + s.name.chars().count() as f64 * 6.2;
            if x > x0 && x + w > WIDTH - 8.0 {
                x = x0;
                row += 1;
            }
            let at = (x, row);
            x += w;
            at
        })
        .collect()
}

fn legend(out: &mut String, series: &[Series], y0: f64) {
    out.push_str(r##"<g class="legend" fill="#555">"##);
    for (s, (x, row)) in series.iter().zip(legend_layout(series)) {
        let y = y0 + 14.0 * row as f64;
        let colour = PALETTE[s.colour % PALETTE.len()];
        let class = format!("s{}", s.colour % PALETTE.len());
        match s.mark {
            Mark::Bar => {
                let _ = write!(
                    out,
                    r#"<rect class="series {class}" fill="{colour}" x="{x:.1}" y="{}" width="10" height="10"/>"#,
                    y - 9.0
                );
            }
            Mark::Line | Mark::Dashed => {
                let dash = if s.mark == Mark::Dashed {
                    r#" stroke-dasharray="5 3""#
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    r#"<line class="series {class}" stroke="{colour}" stroke-width="2"{dash} x1="{x:.1}" x2="{:.1}" y1="{}" y2="{}"/>"#,
                    x + 14.0,
                    y - 4.0,
                    y - 4.0
                );
            }
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{y}">{}</text>"#,
            x + 18.0,
            esc(&s.name)
        );
    }
    out.push_str("</g>");
}

/// Draws a [`BarChart`] as one `<svg>` element; its height grows with the number of bars.
pub fn bars(c: &BarChart) -> String {
    const ROW: f64 = 22.0;
    let (label_w, top, bottom, right) = (170.0, 30.0, 34.0, 110.0);
    let h = top + bottom + ROW * c.bars.len().max(1) as f64;
    let mut out = String::with_capacity(2048);
    open(&mut out, &c.id, &c.title, &c.desc, WIDTH, h);
    if c.bars.is_empty() {
        empty(&mut out, WIDTH, h);
        return out;
    }
    let pw = WIDTH - label_w - right;
    let max = c.bars.iter().fold(0.0f64, |m, b| m.max(b.1));
    let (smax, step) = nice_scale(max, c.unit);
    let ph = ROW * c.bars.len() as f64;
    out.push_str(r##"<g class="grid" stroke="#ddd" stroke-width="1">"##);
    let mut t = 0.0;
    while t <= smax + step / 2.0 {
        let x = label_w + t / smax * pw;
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}"/>"#,
            top + ph
        );
        t += step;
    }
    out.push_str("</g>");
    out.push_str(r##"<g class="axis" fill="#555">"##);
    let mut t = 0.0;
    while t <= smax + step / 2.0 {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            label_w + t / smax * pw,
            top + ph + FONT + 4.0,
            esc(&c.unit.tick(t))
        );
        t += step;
    }
    let _ = write!(
        out,
        r#"<text class="label" x="{}" y="{}" text-anchor="middle">{}</text></g>"#,
        label_w + pw / 2.0,
        top + ph + 2.0 * FONT + 8.0,
        esc(&c.value_label)
    );
    let _ = write!(
        out,
        r#"<g class="series s0" fill="{}" data-series="{}">"#,
        PALETTE[0],
        esc(&c.value_label)
    );
    let mut labels = String::new();
    for (i, (label, v, note)) in c.bars.iter().enumerate() {
        let y = top + ROW * i as f64;
        let w = (v / smax).clamp(0.0, 1.0) * pw;
        let value = match note {
            Some(n) => format!("{} ({n})", c.unit.format(*v)),
            None => c.unit.format(*v),
        };
        let _ = write!(
            out,
            r#"<rect x="{label_w}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {}</title></rect>"#,
            y + 4.0,
            w.max(if *v > 0.0 { 1.0 } else { 0.0 }),
            ROW - 8.0,
            esc(label),
            esc(&value)
        );
        let _ = write!(
            labels,
            r##"<text class="axis" fill="#555" x="{}" y="{:.1}" text-anchor="end">{}</text><text class="value" fill="#333" x="{:.1}" y="{:.1}">{}</text>"##,
            label_w - 6.0,
            y + ROW / 2.0 + FONT / 3.0,
            esc(&render::clip(label, 26)),
            label_w + w + 4.0,
            y + ROW / 2.0 + FONT / 3.0,
            esc(&value)
        );
    }
    let _ = write!(out, "</g><g>{labels}</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(hay: &str, needle: &str) -> usize {
        hay.matches(needle).count()
    }

    fn sample() -> XyChart {
        XyChart {
            id: "runs".into(),
            title: "Runs <and> success".into(),
            desc: "Runs per day".into(),
            x_label: "Day (UTC)".into(),
            x: vec!["11-01".into(), "11-02".into(), "11-03".into()],
            left: Axis {
                label: "Runs".into(),
                unit: Unit::Count,
            },
            right: Some(Axis {
                label: "Success rate".into(),
                unit: Unit::Fraction,
            }),
            series: vec![
                Series {
                    name: "runs".into(),
                    values: vec![Some(4.0), Some(0.0), Some(7.0)],
                    mark: Mark::Bar,
                    side: Side::Left,
                    colour: 0,
                },
                Series {
                    name: "success \"rate\"".into(),
                    values: vec![Some(0.5), None, Some(1.0)],
                    mark: Mark::Line,
                    side: Side::Right,
                    colour: 2,
                },
            ],
        }
    }

    #[test]
    fn xy_chart_has_title_axes_bars_and_points_and_escapes_text() {
        let svg = xy(&sample());
        assert!(svg.starts_with("<svg class=\"chart\""));
        assert!(standalone(&svg).starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class="));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img" aria-labelledby="runs-t runs-d""#));
        assert!(svg.contains("<title id=\"runs-t\">Runs &lt;and&gt; success</title>"));
        assert!(!svg.contains("<and>"));
        // Three bars (a zero is still a bar of height 0), two points, no line across the gap.
        assert_eq!(count(&svg, "<rect x="), 3);
        assert_eq!(count(&svg, "<circle"), 2);
        assert_eq!(count(&svg, "<polyline"), 0);
        assert!(svg.contains("<title>11-03: runs, 7</title>"));
        assert!(svg.contains("<title>11-01: success &quot;rate&quot;, 50.0%</title>"));
        // Axis labels on both sides, the right axis fixed to percentages.
        assert!(svg.contains(">Runs</text>") && svg.contains(">Success rate</text>"));
        assert!(svg.contains(">100%</text>") && svg.contains(">Day (UTC)</text>"));
        // Tags balance.
        assert_eq!(count(&svg, "<svg"), count(&svg, "</svg>"));
        assert_eq!(count(&svg, "<g"), count(&svg, "</g>"));
        assert_eq!(count(&svg, "<text"), count(&svg, "</text>"));
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let mut c = sample();
        c.series[0].values = vec![Some(4.0), Some(2.0), Some(8.0)];
        let svg = xy(&c);
        // Plot height 260 − 34 − 62 = 164; the scale tops at 8, so 8 fills it and 4 is half.
        assert!(svg.contains(r#"height="164.0""#), "{svg}");
        assert!(svg.contains(r#"height="82.0""#), "{svg}");
    }

    #[test]
    fn consecutive_values_make_one_line() {
        let mut c = sample();
        c.series[1].values = vec![Some(0.5), Some(0.75), Some(1.0)];
        c.series[1].mark = Mark::Dashed;
        let svg = xy(&c);
        assert_eq!(count(&svg, "<polyline"), 1);
        assert!(svg.contains("stroke-dasharray"));
    }

    #[test]
    fn no_values_says_so() {
        let mut c = sample();
        for s in &mut c.series {
            s.values = vec![None; 3];
        }
        let svg = xy(&c);
        assert!(svg.contains("No data in this window"));
        assert!(svg.contains("<title id=\"runs-t\">"));
        assert_eq!(count(&svg, "<rect"), 0);
        let b = bars(&BarChart {
            id: "cost".into(),
            title: "Cost".into(),
            desc: "d".into(),
            value_label: "USD".into(),
            unit: Unit::Usd,
            bars: vec![],
        });
        assert!(b.contains("No data in this window") && b.ends_with("</svg>"));
    }

    #[test]
    fn bar_chart_has_one_bar_per_item_with_its_figure() {
        let c = BarChart {
            id: "cost".into(),
            title: "Cost by agent".into(),
            desc: "Cost of each agent".into(),
            value_label: "Cost (USD)".into(),
            unit: Unit::Usd,
            bars: vec![
                ("backend-architect".into(), 0.1665, Some("83.5%".into())),
                ("a & <b>".into(), 0.0082, None),
            ],
        };
        let svg = bars(&c);
        assert_eq!(count(&svg, "<rect x="), 2);
        assert!(svg.contains("<title>backend-architect: $0.1665 (83.5%)</title>"));
        assert!(svg.contains("a &amp; &lt;b&gt;"));
        assert!(svg.contains(">Cost (USD)</text>"));
        assert_eq!(count(&svg, "<g"), count(&svg, "</g>"));
        // Height: 30 + 34 + 2 × 22.
        assert!(svg.contains(r#"viewBox="0 0 640 108""#), "{svg}");
    }

    #[test]
    fn nice_scales() {
        assert_eq!(nice_scale(7.0, Unit::Count), (8.0, 2.0));
        assert_eq!(nice_scale(3.0, Unit::Count), (3.0, 1.0));
        assert_eq!(nice_scale(0.0, Unit::Count), (1.0, 0.25));
        assert_eq!(nice_scale(0.3, Unit::Fraction), (1.0, 0.25));
        assert_eq!(nice_scale(950.0, Unit::Millis), (1000.0, 500.0));
        assert_eq!(
            nice_scale(1_900_000.0, Unit::Millis),
            (2_400_000.0, 600_000.0)
        );
        let (max, step) = nice_scale(0.1665, Unit::Usd);
        assert!((max - 0.2).abs() < 1e-12 && (step - 0.05).abs() < 1e-12);
    }
}
