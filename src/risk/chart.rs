//! The sweep: expected incidents per day against one swept input, as a
//! table and an SVG line chart (plotters' SVG backend, no font files: the
//! text is SVG `<text>`, so the file is the same on every machine).

use super::cutsets::Cuts;
use super::price;
use super::rates::{Rates, Sweep};
use plotters::prelude::*;

/// Points of a sweep, ends included.
pub const POINTS: usize = 21;

/// One row per point: the swept value, then the total incidents per day
/// of each property (in `Cuts`' order).
pub fn sweep(cuts: &Cuts, rates: &Rates, s: &Sweep) -> Vec<(f64, Vec<f64>)> {
    (0..POINTS)
        .map(|i| {
            let x = s.from + (s.to - s.from) * i as f64 / (POINTS - 1) as f64;
            let priced = price(cuts, &rates.with(&s.key, x));
            (x, priced.iter().map(|p| p.total_per_day).collect())
        })
        .collect()
}

/// The chart of a sweep's rows, one line per property.
pub fn svg(title: &str, s: &Sweep, properties: &[&str], rows: &[(f64, Vec<f64>)]) -> String {
    let top = rows
        .iter()
        .flat_map(|(_, ys)| ys.iter().copied())
        .fold(0.0f64, f64::max);
    // Rates are capped so totals stay finite; a chart of nothing is 0..1.
    let top = if top > 0.0 && top.is_finite() {
        top * 1.05
    } else {
        1.0
    };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (720, 420)).into_drawing_area();
        // Drawing into a string cannot fail; a failure would be a plotters bug.
        root.fill(&WHITE).expect("svg string");
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(44)
            .y_label_area_size(88)
            .build_cartesian_2d(s.from..s.to, 0.0..top)
            .expect("svg string");
        chart
            .configure_mesh()
            .x_desc(s.key.as_str())
            .y_desc("expected incidents per day")
            .y_label_formatter(&|y| super::figure(*y))
            .x_label_formatter(&|x| super::figure(*x))
            .draw()
            .expect("svg string");
        let colours = [RED, BLUE, GREEN];
        for (i, name) in properties.iter().enumerate() {
            let colour = colours[i % colours.len()];
            chart
                .draw_series(LineSeries::new(
                    rows.iter().map(|(x, ys)| (*x, ys[i])),
                    colour.stroke_width(2),
                ))
                .expect("svg string")
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .expect("svg string");
        root.present().expect("svg string");
    }
    out.push('\n');
    out
}
