//! Pictures a person would look at: scatter and line charts drawn by plotters' pure-Rust bitmap
//! backend with an embedded font (no system fonts needed), encoded as PNG in memory and written
//! through `atomic::write`. [`write_png`] serves any picture, the benchmarks' chart too.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::atomic;

/// DejaVu Sans, shipped in `assets/` with its license: the one copy of the font in the program.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the embedded font as `sans-serif`, once.
fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is a fixed, valid file: a failure here could only come from plotters.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A drawing area of the bitmap backend, as [`write_png`] hands it out.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws a `width` × `height` picture with `draw`, then writes it to `path` as PNG, atomically.
pub fn write_png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), Box<dyn Error>>,
) -> Result<()> {
    ensure_font();
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(&root)
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|err| anyhow!("{err}"))
            .with_context(|| format!("cannot draw {}", path.display()))?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels).context("a whole picture")?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    atomic::write(path, png.get_ref())
}

/// The tutorial's colours (matplotlib's first two), then two more.
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
/// Second series colour.
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// Third series colour.
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
/// Fourth series colour.
pub const GREY: RGBColor = RGBColor(127, 127, 127);

/// How a series is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    /// Filled circles of this radius in pixels.
    Points(i32),
    /// A line of this width in pixels.
    Line(u32),
    /// A filled area of this opacity (0 to 1), its points the outline: an interval's upper
    /// bound, then its lower bound backwards.
    Band(f64),
}

/// A colour of the pictures.
pub type Rgb = RGBColor;

/// One series of points.
#[derive(Clone)]
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Points as (x, y).
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Points or a line.
    pub mark: Mark,
}

/// A chart: title, axis names, and whether the y axis is logarithmic.
pub struct Chart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Name of the x axis.
    pub x_label: &'a str,
    /// Name of the y axis.
    pub y_label: &'a str,
    /// Logarithmic y axis (for losses).
    pub log_y: bool,
}

fn bounds(series: &[Series<'_>], log_y: bool) -> Option<(f64, f64, f64, f64)> {
    let mut b = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in series.iter().flat_map(|s| s.points.iter().copied()) {
        if !x.is_finite() || !y.is_finite() || (log_y && y <= 0.0) {
            continue;
        }
        b = (b.0.min(x), b.1.max(x), b.2.min(y), b.3.max(y));
    }
    (b.0 <= b.1).then_some(b)
}

/// Draws `series` into the PNG file `path`, atomically.
pub fn png(path: &Path, chart: &Chart<'_>, series: &[Series<'_>]) -> Result<()> {
    if bounds(series, chart.log_y).is_none() {
        return Err(anyhow!("nothing to plot in {}", path.display()));
    }
    write_png(path, (900, 600), |root| {
        root.fill(&WHITE)?;
        draw(root, chart, series)
    })
}

/// Several charts side by side in one PNG file (two columns), atomically: one per panel.
pub fn png_grid(path: &Path, panels: &[(Chart<'_>, Vec<Series<'_>>)]) -> Result<()> {
    if panels.is_empty() || panels.iter().any(|(c, s)| bounds(s, c.log_y).is_none()) {
        return Err(anyhow!("nothing to plot in {}", path.display()));
    }
    let columns = panels.len().min(2);
    let rows = panels.len().div_ceil(columns);
    let size = (600 * columns as u32, 420 * rows as u32);
    write_png(path, size, |root| {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((rows, columns));
        for ((chart, series), area) in panels.iter().zip(&areas) {
            draw(area, chart, series)?;
        }
        Ok(())
    })
}

/// Draws one chart of `series` into `area` (which holds at least one point).
fn draw(area: &Area<'_>, chart: &Chart<'_>, series: &[Series<'_>]) -> Result<(), Box<dyn Error>> {
    let Some((x_min, x_max, y_min, y_max)) = bounds(series, chart.log_y) else {
        return Ok(());
    };
    let pad_x = ((x_max - x_min) * 0.03).max(1e-6);
    let x = (x_min - pad_x)..(x_max + pad_x);
    if chart.log_y {
        let y = (y_min * 0.7)..(y_max * 1.4);
        let mut ctx = builder(area, chart).build_cartesian_2d(x, y.log_scale())?;
        ctx.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        draw_series(&mut ctx, series)?;
    } else {
        let pad_y = ((y_max - y_min) * 0.1).max(1e-6);
        let y = (y_min - pad_y)..(y_max + pad_y);
        let mut ctx = builder(area, chart).build_cartesian_2d(x, y)?;
        let (x_digits, y_digits) = (decimals(x_max - x_min), decimals(y_max - y_min));
        ctx.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .x_label_formatter(&|v| label(*v, x_digits))
            .y_label_formatter(&|v| label(*v, y_digits))
            .draw()?;
        draw_series(&mut ctx, series)?;
    }
    Ok(())
}

/// Decimals that tell apart ticks spread over `span` (about ten of them).
fn decimals(span: f64) -> usize {
    let step = span / 10.0;
    if step >= 1.0 || step <= 0.0 || !step.is_finite() {
        0
    } else {
        (-step.log10().floor()) as usize
    }
}

/// A tick label with `digits` decimals, never "-0".
fn label(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

fn builder<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    chart: &Chart<'_>,
) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(chart.title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70);
    builder
}

fn draw_series<'a, X, Y>(
    ctx: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    series: &[Series<'_>],
) -> Result<(), Box<dyn Error>>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for s in series {
        let color = s.color;
        match s.mark {
            Mark::Points(size) => {
                ctx.draw_series(
                    s.points
                        .iter()
                        .map(|&p| Circle::new(p, size, color.filled())),
                )?
                .label(s.label)
                .legend(move |(x, y)| Circle::new((x + 10, y), size.min(8), color.filled()));
            }
            Mark::Band(opacity) => {
                let style = color.mix(opacity).filled();
                ctx.draw_series(std::iter::once(Polygon::new(s.points.clone(), style)))?
                    .label(s.label)
                    .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], style));
            }
            Mark::Line(width) => {
                let style = color.stroke_width(width);
                ctx.draw_series(LineSeries::new(s.points.iter().copied(), style))?
                    .label(s.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ticks over a span of 2 are about 0.2 apart: one decimal; over 300, none; and a rounded
    /// negative zero loses its sign.
    #[test]
    fn tick_labels_by_hand() {
        assert_eq!(decimals(2.0), 1);
        assert_eq!(decimals(300.0), 0);
        assert_eq!(decimals(0.05), 3);
        assert_eq!(label(0.399_999_999_98, 1), "0.4");
        assert_eq!(label(-0.000_01, 1), "0.0");
        assert_eq!(label(-0.25, 2), "-0.25");
    }

    #[test]
    fn draws_a_png_and_refuses_an_empty_chart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let chart = Chart {
            title: "loss",
            x_label: "epoch",
            y_label: "loss",
            log_y: true,
        };
        let series = [Series {
            label: "train",
            points: vec![(0.0, 1.0), (1.0, 0.1), (2.0, 0.01)],
            color: BLUE,
            mark: Mark::Line(2),
        }];
        png(&path, &chart, &series).unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"\x89PNG");
        let empty = [Series {
            label: "none",
            points: vec![],
            color: BLUE,
            mark: Mark::Points(3),
        }];
        let err = png(&dir.path().join("empty.png"), &chart, &empty).unwrap_err();
        assert!(err.to_string().starts_with("nothing to plot"), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
