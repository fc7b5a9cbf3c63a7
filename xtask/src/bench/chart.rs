//! The scaling chart (`BENCHMARKS-scaling.svg`): time, requests and peak RSS against the number
//! of files, one line per tool and depth. Drawn with `plotters`' SVG backend alone (no font or
//! system library: text is written as SVG `<text>` and laid out by the viewer).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// One line of the chart: a label and (files, value) points.
pub(crate) struct Series {
    pub(crate) label: String,
    /// Index into the palette; lines of one tool share a colour.
    pub(crate) colour: usize,
    /// Dashed (drawn with hollow points) rather than solid.
    pub(crate) dashed: bool,
    pub(crate) points: Vec<(f64, f64)>,
}

/// One panel: a quantity and its lines.
pub(crate) struct Panel {
    pub(crate) title: String,
    pub(crate) unit: String,
    pub(crate) series: Vec<Series>,
}

const PALETTE: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Writes the panels side by side into an SVG file, both axes logarithmic.
pub(crate) fn draw(file: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let width = 430 * panels.len() as u32;
    let root = SVGBackend::new(file, (width, 470)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {}: {e:?}", file.display());
    root.fill(&WHITE).map_err(err)?;
    let (top, body) = root.split_vertically(40);
    top.draw_text(
        title,
        &("sans-serif", 18).into_font().color(&BLACK),
        (12, 12),
    )
    .map_err(err)?;
    for (panel, area) in panels.iter().zip(body.split_evenly((1, panels.len()))) {
        draw_panel(&area, panel).map_err(|e| anyhow!("drawing {}: {e:?}", file.display()))?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1));
    let (x0, x1) = bounds(xs);
    let (y0, y1) = bounds(ys);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(62)
        .build_cartesian_2d(
            (x0 / 1.5..x1 * 1.5).log_scale(),
            (y0 / 1.5..y1 * 1.5).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("files")
        .y_desc(panel.unit.as_str())
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in &panel.series {
        let colour = PALETTE[s.colour % PALETTE.len()];
        let style = ShapeStyle::from(&colour).stroke_width(2);
        let points = s.points.clone();
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(1))
                });
            chart.draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 3, colour.stroke_width(1))),
            )?;
        } else {
            chart
                .draw_series(LineSeries::new(points.clone(), style))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                });
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

/// The smallest and largest positive value (1..10 when there is none).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if hi > 0.0 { (lo, hi) } else { (1.0, 10.0) }
}

/// `50k`, `1.5`, `0.02`: axis labels.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short() {
        assert_eq!(short(50_000.0), "50k");
        assert_eq!(short(1_500.0), "1.5k");
        assert_eq!(short(100.0), "100");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(0.02), "0.02");
        assert_eq!(short(3_000_000.0), "3M");
    }

    #[test]
    fn draws_an_svg_with_every_series() {
        let dir = std::env::temp_dir().join(format!("xtask-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("chart.svg");
        let series = |label: &str, colour, dashed, k: f64| Series {
            label: label.into(),
            colour,
            dashed,
            points: vec![(100.0, k), (1000.0, 10.0 * k), (10000.0, 100.0 * k)],
        };
        let panels = [
            Panel {
                title: "time".into(),
                unit: "s".into(),
                series: vec![
                    series("crate", 0, false, 0.1),
                    series("python", 1, true, 1.0),
                ],
            },
            Panel {
                title: "peak RSS".into(),
                unit: "MB".into(),
                series: vec![series("crate", 0, false, 20.0)],
            },
        ];
        draw(&file, "Scaling", &panels).unwrap();
        let svg = std::fs::read_to_string(&file).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        for text in ["Scaling", "time", "peak RSS", "crate", "python", "files"] {
            assert!(svg.contains(text), "no {text} in the chart");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
