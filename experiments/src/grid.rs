//! Parameter grids: named axes of values, their cartesian product, and replications.

use std::fmt;
use synack_tcp::host::Profile;

/// One value of an axis.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A name (a profile, a model).
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Str(v) => f.write_str(v),
        }
    }
}

/// The kind of values an axis takes, for parsing `--set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Whole numbers.
    Int,
    /// Real numbers.
    Float,
    /// Names.
    Str,
}

/// A named axis of the grid, with its values under each preset.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Axis {
    /// The axis name; also its CSV column, so it carries its unit (`loss_rate`, `msl_s`).
    pub name: &'static str,
    /// What it means.
    pub about: &'static str,
    /// The kind of its values.
    pub kind: Kind,
    /// Values of the quick preset.
    pub quick: Vec<Value>,
    /// Values of the full preset.
    pub full: Vec<Value>,
    /// For numbers: the smallest and largest value `--set` accepts.
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// The axis, with `--set` values limited to `min..=max`.
    pub fn within(mut self, min: f64, max: f64) -> Self {
        self.range = Some((min, max));
        self
    }

    /// Parses one `--set` value: of the axis's kind, within its range, and for names one
    /// of the values the presets use.
    fn parse(&self, text: &str) -> Result<Value, GridError> {
        let value = parse(self.kind, self.name, text)?;
        let bad = |expected: String| GridError::OutOfRange {
            name: self.name.into(),
            value: text.trim().into(),
            expected,
        };
        match &value {
            Value::Int(_) | Value::Float(_) => {
                let x = match value {
                    Value::Int(v) => v as f64,
                    Value::Float(v) => v,
                    Value::Str(_) => unreachable!(),
                };
                if let Some((min, max)) = self.range
                    && !(min..=max).contains(&x)
                {
                    return Err(bad(match max {
                        f64::INFINITY => format!("at least {min}"),
                        _ => format!("within [{min}, {max}]"),
                    }));
                }
            }
            Value::Str(name) => {
                let known = || self.full.iter().chain(&self.quick);
                if !known().any(|v| matches!(v, Value::Str(k) if k == name)) {
                    let names: std::collections::BTreeSet<String> =
                        known().map(|v| v.to_string()).collect();
                    let names: Vec<String> = names.into_iter().collect();
                    return Err(bad(format!("one of {}", names.join(", "))));
                }
            }
        }
        Ok(value)
    }

    /// An axis of whole numbers.
    pub fn ints(name: &'static str, about: &'static str, quick: &[i64], full: &[i64]) -> Self {
        let v = |xs: &[i64]| xs.iter().map(|&x| Value::Int(x)).collect();
        Axis {
            name,
            about,
            kind: Kind::Int,
            quick: v(quick),
            full: v(full),
            range: None,
        }
    }

    /// An axis of real numbers.
    pub fn floats(name: &'static str, about: &'static str, quick: &[f64], full: &[f64]) -> Self {
        let v = |xs: &[f64]| xs.iter().map(|&x| Value::Float(x)).collect();
        Axis {
            name,
            about,
            kind: Kind::Float,
            quick: v(quick),
            full: v(full),
            range: None,
        }
    }

    /// An axis of OS profiles, by name.
    pub fn profiles(
        name: &'static str,
        about: &'static str,
        quick: &[Profile],
        full: &[Profile],
    ) -> Self {
        let names = |xs: &[Profile]| xs.iter().map(|p| p.name()).collect::<Vec<_>>();
        Axis::strs(name, about, &names(quick), &names(full))
    }

    /// An axis of names.
    pub fn strs(name: &'static str, about: &'static str, quick: &[&str], full: &[&str]) -> Self {
        let v = |xs: &[&str]| xs.iter().map(|&x| Value::Str(x.to_string())).collect();
        Axis {
            name,
            about,
            kind: Kind::Str,
            quick: v(quick),
            full: v(full),
            range: None,
        }
    }
}

/// A bad `--set` or an empty grid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// `--set` without `NAME=VALUES`.
    #[error("--set {0}: expected NAME=V1,V2,... (e.g. --set loss_rate=0,0.1)")]
    Form(String),
    /// `--set` names no axis.
    #[error("--set {name}: no such axis; the axes are {axes}")]
    UnknownAxis {
        /// The name given.
        name: String,
        /// The axes there are.
        axes: String,
    },
    /// A value does not parse as the axis's kind.
    #[error("--set {name}={value}: expected {expected}")]
    BadValue {
        /// The axis.
        name: String,
        /// The value given.
        value: String,
        /// What the axis accepts.
        expected: &'static str,
    },
    /// A value outside what the axis accepts.
    #[error("--set {name}={value}: must be {expected}")]
    OutOfRange {
        /// The axis.
        name: String,
        /// The value given.
        value: String,
        /// What the axis accepts.
        expected: String,
    },
    /// The grid has no point.
    #[error("the grid is empty: axis {0} has no values")]
    Empty(String),
}

/// The axes with the values a run uses, after the preset and any `--set`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Grid {
    /// Axis names and values, in column order.
    pub axes: Vec<(&'static str, Vec<Value>)>,
    /// Runs of each combination, each with its own seed.
    pub replications: u32,
}

/// One point of a sweep: a combination of axis values and a replication.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Position in the sweep (combinations in axis order, replications innermost).
    pub index: usize,
    /// The axis values.
    pub params: Vec<(&'static str, Value)>,
    /// Which replication.
    pub replication: u32,
    /// The point's seed: from the base seed and the parameters, not the position.
    pub seed: u64,
}

impl Point {
    fn value(&self, name: &str) -> &Value {
        &self
            .params
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no axis {name}"))
            .1
    }

    /// An axis value as a real number.
    pub fn f64(&self, name: &str) -> f64 {
        match self.value(name) {
            Value::Int(v) => *v as f64,
            Value::Float(v) => *v,
            Value::Str(v) => panic!("axis {name} is a name ({v}), not a number"),
        }
    }

    /// An axis value as a whole number.
    pub fn i64(&self, name: &str) -> i64 {
        match self.value(name) {
            Value::Int(v) => *v,
            other => panic!("axis {name} is not a whole number ({other})"),
        }
    }

    /// An axis value as a name.
    pub fn str(&self, name: &str) -> &str {
        match self.value(name) {
            Value::Str(v) => v,
            other => panic!("axis {name} is not a name ({other})"),
        }
    }

    /// The value of a profile axis ([`Axis::profiles`], whose values are only profiles).
    pub fn profile(&self, name: &str) -> Profile {
        let value = self.str(name);
        value
            .parse()
            .unwrap_or_else(|e| panic!("axis {name} is not a profile axis: {e}"))
    }

    /// A label naming the point's parameters, from which its seed derives.
    pub fn label(params: &[(&'static str, Value)], replication: u32) -> String {
        let mut label: String = params.iter().map(|(n, v)| format!("{n}={v};")).collect();
        label.push_str(&format!("rep={replication}"));
        label
    }
}

fn parse(kind: Kind, name: &str, text: &str) -> Result<Value, GridError> {
    let bad = |expected| GridError::BadValue {
        name: name.into(),
        value: text.into(),
        expected,
    };
    match kind {
        Kind::Int => text
            .trim()
            .parse()
            .map(Value::Int)
            .map_err(|_| bad("whole numbers")),
        Kind::Float => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Value::Float(v)),
            _ => Err(bad("finite numbers")),
        },
        Kind::Str if !text.trim().is_empty() => Ok(Value::Str(text.trim().to_string())),
        Kind::Str => Err(bad("non-empty names")),
    }
}

impl Grid {
    /// The grid of `axes` under the preset, with `--set NAME=V1,V2` overrides applied.
    pub fn new(
        axes: &[Axis],
        full: bool,
        replications: u32,
        overrides: &[String],
    ) -> Result<Self, GridError> {
        let mut grid = Grid {
            axes: axes
                .iter()
                .map(|a| {
                    (
                        a.name,
                        if full {
                            a.full.clone()
                        } else {
                            a.quick.clone()
                        },
                    )
                })
                .collect(),
            replications,
        };
        for o in overrides {
            let (name, values) = o
                .split_once('=')
                .ok_or_else(|| GridError::Form(o.clone()))?;
            let axis =
                axes.iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| GridError::UnknownAxis {
                        name: name.into(),
                        axes: axes.iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
                    })?;
            let parsed = if values.trim().is_empty() {
                Vec::new()
            } else {
                values
                    .split(',')
                    .map(|v| axis.parse(v))
                    .collect::<Result<_, _>>()?
            };
            grid.axes
                .iter_mut()
                .find(|(n, _)| *n == name)
                .expect("found")
                .1 = parsed;
        }
        if let Some((name, _)) = grid.axes.iter().find(|(_, v)| v.is_empty()) {
            return Err(GridError::Empty((*name).to_string()));
        }
        Ok(grid)
    }

    /// Every point, in order, with seeds derived from `base_seed`.
    pub fn points(&self, base_seed: u64) -> Vec<Point> {
        let mut combos: Vec<Vec<(&'static str, Value)>> = vec![Vec::new()];
        for (name, values) in &self.axes {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((*name, v.clone()));
                        c
                    })
                })
                .collect();
        }
        let mut points = Vec::new();
        for params in combos {
            for replication in 0..self.replications {
                let seed = crate::point_seed(base_seed, &Point::label(&params, replication));
                points.push(Point {
                    index: points.len(),
                    params: params.clone(),
                    replication,
                    seed,
                });
            }
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Vec<Axis> {
        vec![
            Axis::floats("loss_rate", "loss", &[0.0, 0.1], &[0.0, 0.1, 0.2]),
            Axis::strs("profile", "os", &["linux"], &["linux", "macos"]),
        ]
    }

    #[test]
    fn points_are_the_cartesian_product_times_replications() {
        let grid = Grid::new(&axes(), false, 2, &[]).unwrap();
        let points = grid.points(1);
        assert_eq!(points.len(), 4);
        assert_eq!(
            (
                points[3].f64("loss_rate"),
                points[3].str("profile"),
                points[3].replication
            ),
            (0.1, "linux", 1)
        );
    }

    #[test]
    fn a_point_seed_does_not_depend_on_its_position() {
        let small = Grid::new(&axes(), false, 1, &[]).unwrap().points(7);
        let big = Grid::new(&axes(), false, 1, &["loss_rate=0.05,0.1".into()])
            .unwrap()
            .points(7);
        let seed_of =
            |ps: &[Point], loss: f64| ps.iter().find(|p| p.f64("loss_rate") == loss).unwrap().seed;
        assert_eq!(seed_of(&small, 0.1), seed_of(&big, 0.1));
        assert_eq!(big[1].index, 1);
    }

    #[test]
    fn set_overrides_are_checked() {
        let err = |o: &str| {
            Grid::new(&axes(), false, 1, &[o.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("loss_rate"),
            "--set loss_rate: expected NAME=V1,V2,... (e.g. --set loss_rate=0,0.1)"
        );
        assert_eq!(
            err("mtu=1500"),
            "--set mtu: no such axis; the axes are loss_rate, profile"
        );
        assert_eq!(
            err("loss_rate=0.1,abc"),
            "--set loss_rate=abc: expected finite numbers"
        );
        assert_eq!(
            err("loss_rate=NaN"),
            "--set loss_rate=NaN: expected finite numbers"
        );
        assert_eq!(
            err("loss_rate="),
            "the grid is empty: axis loss_rate has no values"
        );
    }
}
