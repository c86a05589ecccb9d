//! The tutorial's picture: actual points and one-step-ahead predictions as a scatter plot,
//! drawn by plotters' pure-Rust bitmap backend with an embedded font (no system fonts needed).

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// DejaVu Sans, shipped in `assets/` with its license.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded font is a valid TrueType file"));
    });
}

/// One series of points.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Points as (time, value).
    pub points: Vec<(f64, f64)>,
    /// Marker colour.
    pub color: RGBColor,
    /// Marker radius in pixels.
    pub size: i32,
}

/// Draws a scatter plot of `series` into the PNG file `path`, atomically.
pub fn scatter_png(path: &Path, title: &str, series: &[Series<'_>]) -> Result<()> {
    ensure_font();
    let points = series.iter().flat_map(|s| s.points.iter().copied());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        return Err(anyhow!("nothing to plot in {}", path.display()));
    }
    let pad_x = ((x_max - x_min) * 0.05).max(1e-6);
    let pad_y = ((y_max - y_min) * 0.1).max(1e-6);

    // plotters picks the image format from the extension, so the temporary file keeps `.png`.
    let tmp = path.with_extension("tmp.png");
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(&tmp, (900, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 26))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (x_min - pad_x)..(x_max + pad_x),
                (y_min - pad_y)..(y_max + pad_y),
            )?;
        chart
            .configure_mesh()
            .x_desc("time")
            // No "-0.0" labels: a rounded negative zero reads as a bug.
            .y_label_formatter(&|v| format!("{:.1}", if v.abs() < 0.05 { 0.0 } else { *v }))
            .y_desc("value")
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()?;
        for s in series {
            let color = s.color;
            let size = s.size;
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&p| Circle::new(p, size, color.filled())),
                )?
                .label(s.label)
                .legend(move |(x, y)| Circle::new((x + 10, y), size.min(8), color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 18))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    if let Err(err) = draw() {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow!("{err}")).with_context(|| format!("cannot draw {}", path.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
