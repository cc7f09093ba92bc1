//! SVG line charts with plotters' SVG backend. Text is written as plain SVG `<text>` elements,
//! so no font library is needed to build or run.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// One line on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
}

/// One chart of a figure.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Chart title.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Horizontal reference lines (targets), drawn dashed.
    pub targets: Vec<(String, f64)>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(90, 90, 90),
];

fn bounds(panel: &Panel) -> ((f64, f64), (f64, f64)) {
    let pts = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    for (_, t) in &panel.targets {
        y0 = y0.min(*t);
        y1 = y1.max(*t);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    if (x1 - x0).abs() < 1e-12 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let y0 = if y0 >= 0.0 && y0 - pad < 0.0 {
        0.0
    } else {
        y0 - pad
    };
    let xpad = (x1 - x0) * 0.04;
    ((x0 - xpad, x1 + xpad), (y0, y1 + pad))
}

/// Writes `panels` side by side into an SVG file. `x_names`, when given, labels integer x
/// positions by name (for per-level charts).
pub fn write_svg(
    path: &Path,
    title: &str,
    panels: &[Panel],
    x_names: Option<&[String]>,
) -> Result<()> {
    let width = 430 * panels.len().max(1) as u32;
    let root = SVGBackend::new(path, (width, 360)).into_drawing_area();
    let err = |e: &dyn std::fmt::Debug| anyhow!("plotting {}: {e:?}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(title, ("sans-serif", 18))
        .map_err(|e| err(&e))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        let ((x0, x1), (y0, y1)) = bounds(panel);
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 14))
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(52)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        let name_of = |x: &f64| -> String {
            match x_names {
                Some(names) if (x - x.round()).abs() < 1e-6 && *x >= 0.0 => {
                    names.get(x.round() as usize).cloned().unwrap_or_default()
                }
                Some(_) => String::new(),
                None => {
                    if x.abs() >= 100.0 || (x - x.round()).abs() < 1e-9 {
                        format!("{x:.0}")
                    } else {
                        format!("{x:.2}")
                    }
                }
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(panel.x_label.as_str())
            .y_desc(panel.y_label.as_str())
            .x_label_formatter(&name_of)
            .light_line_style(WHITE.mix(0.0));
        if let Some(names) = x_names {
            mesh.x_labels(names.len());
        }
        mesh.draw().map_err(|e| err(&e))?;
        for (i, s) in panel.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        for (name, y) in &panel.targets {
            let style = RGBColor(120, 120, 120).stroke_width(1);
            let n = 40;
            let dashes = (0..n).filter(|i| i % 2 == 0).map(|i| {
                let a = x0 + (x1 - x0) * f64::from(i) / f64::from(n);
                let b = x0 + (x1 - x0) * f64::from(i + 1) / f64::from(n);
                PathElement::new(vec![(a, *y), (b, *y)], style)
            });
            chart.draw_series(dashes).map_err(|e| err(&e))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    name.clone(),
                    (x0 + (x1 - x0) * 0.02, *y),
                    ("sans-serif", 11).into_font().color(&RGBColor(90, 90, 90)),
                )))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 11))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_text() {
        let dir = std::env::temp_dir().join(format!("mvsim-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("t.svg");
        let panel = Panel {
            title: "entropy".into(),
            x_label: "delay (min)".into(),
            y_label: "bits".into(),
            series: vec![Series {
                name: "mean".into(),
                points: vec![(5.0, 6.0), (15.0, 8.0), (60.0, f64::NAN)],
            }],
            targets: vec![("target 9.5".into(), 9.5)],
        };
        write_svg(&path, "test", &[panel.clone(), panel], None).expect("plot");
        let svg = std::fs::read_to_string(&path).expect("read");
        assert!(svg.contains("<svg") && svg.contains("<text") && svg.contains("target 9.5"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
