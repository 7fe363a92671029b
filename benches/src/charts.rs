//! SVG charts of a run, drawn with plotters' SVG backend.
//!
//! In: [`crate::report::Results`]. Out: SVG text:
//!
//! * [`weighted_bars`]: for one case, grouped bars of the weighted mean
//!   instructions per syscall (filter run on every call), one group per mix,
//!   one bar per compiler, plus the optimal tree as a marker line; log scale.
//! * [`per_nr_lines`]: for one case, instructions executed for every
//!   syscall number along x, one line per compiler; log scale.
//! * [`crosvm_bars`]: crosvm's policies against minijail's compiler,
//!   horizontal grouped bars of the weighted mean per policy (top down in
//!   name order), one bar per compiler; linear scale.
//!
//! Fonts are not measured (no font library), so labels are placed by
//! plotters' fixed estimate.

use plotters::prelude::*;

use crate::crosvm::Row;
use crate::report::CaseResult;

/// One color per compiler position.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(23, 190, 207),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
];

/// Why a chart could not be drawn.
#[derive(Debug)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// Grouped bars: weighted mean per compiler per mix.
pub fn weighted_bars(case: &CaseResult, mixes: &[String]) -> Result<String, ChartError> {
    let compilers: Vec<&str> = case.programs.iter().map(|p| p.compiler.as_str()).collect();
    let max = case
        .weighted
        .iter()
        .map(|w| w.every_call)
        .fold(1.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let groups = mixes.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{}: mean instructions per syscall by mix (filter run on every call)",
                    case.name
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..groups, (1.0..max * 12.0).log_scale())
            .map_err(err)?;
        let names = mixes.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(mixes.len() * 2 + 1)
            .x_label_formatter(&|x| group_label(&names, *x))
            .y_desc("instructions (log scale)")
            .draw()
            .map_err(err)?;
        let width = 0.8 / compilers.len().max(1) as f64;
        for (c, name) in compilers.iter().enumerate() {
            let color = PALETTE[c % PALETTE.len()];
            let bars = mixes.iter().enumerate().filter_map(|(m, mix)| {
                let v = case.weighted_mean(mix, name)?;
                let x0 = m as f64 + 0.1 + c as f64 * width;
                Some(Rectangle::new(
                    [(x0, 1.0), (x0 + width * 0.9, v.max(1.0))],
                    color.filled(),
                ))
            });
            draw_bars(&mut chart, name, color, bars)?;
        }
        let optimal = mixes.iter().enumerate().filter_map(|(m, mix)| {
            let b = case.bounds.iter().find(|b| &b.mix == mix)?;
            Some(PathElement::new(
                vec![
                    (m as f64 + 0.05, b.bounds.optimal_tree),
                    (m as f64 + 0.95, b.bounds.optimal_tree),
                ],
                BLACK.stroke_width(2),
            ))
        });
        chart
            .draw_series(optimal)
            .map_err(err)?
            .label("optimal alphabetic tree")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 10, y)], BLACK.stroke_width(2)));
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Lines: instructions executed per syscall number, per compiler.
pub fn per_nr_lines(case: &CaseResult) -> Result<String, ChartError> {
    let n = case
        .programs
        .iter()
        .map(|p| p.per_nr.len())
        .max()
        .unwrap_or(0);
    let max = case
        .programs
        .iter()
        .flat_map(|p| p.per_nr.iter().copied())
        .max()
        .unwrap_or(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: instructions executed per syscall number", case.name),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0u32..n as u32, (1u32..max * 8).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("syscall number")
            .y_desc("instructions (log scale)")
            .draw()
            .map_err(err)?;
        for (c, p) in case.programs.iter().enumerate() {
            let color = PALETTE[c % PALETTE.len()];
            let points = p
                .per_nr
                .iter()
                .enumerate()
                .map(|(nr, &v)| (nr as u32, v.max(1)));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(1)))
                .map_err(err)?
                .label(p.compiler.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 10, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Grouped bars: per crosvm policy, the weighted mean of every compiler
/// (`docs/benchmarks.md`, "crosvm's minijail policies").
pub fn crosvm_bars(rows: &[Row]) -> Result<String, ChartError> {
    let compilers: Vec<&str> = rows
        .first()
        .map(|r| r.programs.iter().map(|f| f.compiler.as_str()).collect())
        .unwrap_or_default();
    let max = rows
        .iter()
        .flat_map(|r| r.programs.iter().map(|f| f.mean))
        .fold(1.0, f64::max);
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.policy.trim_end_matches(".policy").to_string())
        .collect();
    let mut svg = String::new();
    {
        let n = rows.len();
        let height = 80 + 18 * n as u32 * compilers.len().max(1) as u32 / 2;
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "crosvm x86_64 policies: mean instructions per call (own @frequency mix, else uniform)",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(230)
            .build_cartesian_2d(0.0..max * 1.3, 0.0..n as f64)
            .map_err(err)?;
        // Policies top down in name order: group g sits at n - 1 - g.
        let top_down: Vec<String> = names.iter().rev().cloned().collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| group_label(&top_down, *y))
            .x_desc("instructions per call")
            .draw()
            .map_err(err)?;
        let width = 0.8 / compilers.len().max(1) as f64;
        for (c, name) in compilers.iter().enumerate() {
            let color = PALETTE[c % PALETTE.len()];
            let bars = rows.iter().enumerate().filter_map(|(g, r)| {
                let v = r.of(name)?.mean;
                let y0 = (n - 1 - g) as f64 + 0.9 - (c + 1) as f64 * width;
                Some(Rectangle::new(
                    [(0.0, y0), (v, y0 + width * 0.9)],
                    color.filled(),
                ))
            });
            draw_bars(&mut chart, name, color, bars)?;
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The name of the group whose middle is at `x` (labels sit at half steps;
/// group `i` spans `i..i + 1`).
fn group_label(names: &[String], x: f64) -> String {
    let i = x.floor() as usize;
    if (x - x.floor() - 0.5).abs() < 1e-6 {
        names.get(i).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Draws one compiler's bars, named in the legend by a square of its color.
fn draw_bars<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    name: &str,
    color: RGBColor,
    bars: impl Iterator<Item = Rectangle<(X::ValueType, Y::ValueType)>>,
) -> Result<(), ChartError>
where
    X::ValueType: Clone,
    Y::ValueType: Clone,
{
    chart
        .draw_series(bars)
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    Ok(())
}

fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), ChartError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::Bounds;
    use crate::report::{BoundResult, ProgramResult, WeightedResult};

    fn case() -> CaseResult {
        let program = |name: &str, per_nr: Vec<u32>| ProgramResult {
            compiler: name.into(),
            length: 10,
            allowed_mean: 5.0,
            denied_mean: 6.0,
            worst_allowed: 7,
            worst: 8,
            cached: 1,
            always_allowed: 1,
            disagreements: vec![],
            notes: vec![],
            per_nr,
        };
        let w = |compiler: &str, v| WeightedResult {
            mix: "nginx".into(),
            compiler: compiler.into(),
            length: 10,
            every_call: v,
            cache_aware: 0.0,
        };
        CaseResult {
            name: "toy".into(),
            source: "test".into(),
            programs: vec![
                program("sysfence tree", vec![5, 6, 7]),
                program("seccompiler", vec![6, 8, 10]),
            ],
            weighted: vec![w("sysfence tree", 6.0), w("seccompiler", 9.0)],
            bounds: vec![BoundResult {
                mix: "nginx".into(),
                bounds: Bounds {
                    intervals: 3,
                    entropy_bound: 5.0,
                    optimal_tree: 5.5,
                },
            }],
            probes: vec![],
            compile_us: vec![],
            kernel: None,
            errors: vec![],
        }
    }

    #[test]
    fn the_crosvm_chart_has_a_bar_per_compiler_and_policy() {
        let figures = |compiler: &str, mean| crate::crosvm::Figures {
            compiler: compiler.into(),
            mean,
            split: [3.0, mean - 5.0, 1.0, 1.0],
            worst: 19,
            length: 120,
            cached: 60,
            cache_aware: mean - 8.0,
            compile: std::time::Duration::from_millis(30),
        };
        let row = |policy: &str| Row {
            policy: policy.into(),
            mix: "@frequency".into(),
            programs: vec![
                figures("sysfence weighted", 8.6),
                figures("minijail bst", 8.9),
            ],
        };
        let svg = crosvm_bars(&[row("net_device.policy"), row("rng_device.policy")]).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("net_device") && svg.contains("rng_device")
        );
        assert!(svg.contains("sysfence weighted") && svg.contains("minijail bst"));
        let empty = crosvm_bars(&[]).unwrap();
        assert!(
            svg.matches("<rect").count() >= empty.matches("<rect").count() + 4,
            "four bars"
        );
    }

    #[test]
    fn charts_name_every_series() {
        let bars = weighted_bars(&case(), &["nginx".into()]).unwrap();
        let lines = per_nr_lines(&case()).unwrap();
        for svg in [&bars, &lines] {
            assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
            assert!(svg.contains("sysfence tree") && svg.contains("seccompiler"));
        }
        assert!(bars.contains("optimal alphabetic tree") && bars.contains("nginx"));
        assert!(
            bars.matches("<rect").count() >= lines.matches("<rect").count() + 2,
            "one bar per series"
        );
    }
}
