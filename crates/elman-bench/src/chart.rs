//! The README's bar chart: how many times faster than PyTorch each backend runs each workload.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: its label and its ratio.
pub struct Bar {
    /// "workload · backend (path)".
    pub label: String,
    /// Times faster than PyTorch.
    pub ratio: f64,
}

/// Draws horizontal bars from the line at 1x (as fast as PyTorch) into the PNG file `path`,
/// through `elman`'s own picture writer (its font, its atomic write).
pub fn bars(path: &std::path::Path, title: &str, bars: &[Bar]) -> Result<(), String> {
    let max = bars.iter().map(|b| b.ratio).fold(1.0, f64::max) * 4.0;
    let height = 120 + 40 * bars.len() as u32;
    let low = bars.iter().map(|b| b.ratio).fold(1.0, f64::min) * 0.3;
    let draw = |root: &elman_cli::plot::Area<'_>| -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        let n = bars.len();
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(330)
            .build_cartesian_2d(
                (low..max).log_scale(),
                (0..n.saturating_sub(1)).into_segmented(),
            )?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) if *i < n => bars[n - 1 - i].label.clone(),
                _ => String::new(),
            })
            .x_label_formatter(&|x| format!("{x}x"))
            .x_desc("times as fast as PyTorch, log scale (same machine, same run, same threads)")
            .label_style(("sans-serif", 15))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let y = n - 1 - i;
            let color = if bar.ratio >= 1.0 {
                RGBColor(44, 160, 44)
            } else {
                RGBColor(214, 39, 40)
            };
            // From 1x to the ratio: right of the line faster than PyTorch, left of it slower.
            let mut rect = Rectangle::new(
                [
                    (1.0, SegmentValue::Exact(y)),
                    (bar.ratio, SegmentValue::Exact(y + 1)),
                ],
                color.filled(),
            );
            rect.set_margin(5, 5, 0, 0);
            rect
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let y = n - 1 - i;
            // The figure beyond the bar's end: right of a faster bar, left of a slower one.
            let (text, anchor) = if bar.ratio >= 1.0 {
                (format!(" {:.2}x", bar.ratio), HPos::Left)
            } else {
                (format!("{:.2}x ", bar.ratio), HPos::Right)
            };
            let style =
                TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(anchor, VPos::Center));
            Text::new(text, (bar.ratio, SegmentValue::CenterOf(y)), style)
        }))?;
        chart.draw_series(LineSeries::new(
            [(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))],
            BLACK.stroke_width(2),
        ))?;
        Ok(())
    };
    elman_cli::plot::write_png(path, (1000, height), draw).map_err(|e| format!("{e:#}"))
}

/// Draws the ratios to PyTorch found in the JSON lines file `results` into `png`.
pub fn draw(results: &str, png: &str) -> Result<(), String> {
    let text =
        std::fs::read_to_string(results).map_err(|e| format!("cannot read {results}: {e}"))?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let field = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut found = Vec::new();
    for line in &lines {
        let (workload, backend) = (field(line, "workload"), field(line, "backend"));
        if backend == "pytorch" {
            continue;
        }
        let Some(reference) = lines
            .iter()
            .find(|r| field(r, "backend") == "pytorch" && field(r, "workload") == workload)
        else {
            continue;
        };
        let (ours, theirs) = (
            line["figure"].as_f64().unwrap_or(0.0),
            reference["figure"].as_f64().unwrap_or(0.0),
        );
        let ratio = if field(line, "unit").ends_with("/s") {
            ours / theirs
        } else {
            theirs / ours
        };
        found.push(Bar {
            label: format!("{workload} · {backend} ({})", field(line, "path")),
            ratio,
        });
    }
    if found.is_empty() {
        return Err(format!(
            "{results} has no results with a PyTorch twin (run `cargo xtask bench --compare`)"
        ));
    }
    bars(
        std::path::Path::new(png),
        "elman against PyTorch, 1 thread each",
        &found,
    )
}
