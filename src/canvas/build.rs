//! Applies parsed statements to a canvas the way Omost's `Canvas` methods do: Python's argument binding
//! (with its `TypeError` texts), then Omost's checks in Omost's order with Omost's messages, then
//! fuzzy name resolution. Never executes anything.

use super::error::{CanvasError, Pos, Warning};
use super::model::{Canvas, GlobalDescription, GlobalPrefix, Region};
use super::names::closest_name;
use super::parser::{Arg, Stmt, Value};
use super::process::safe_str;
use super::tables::{Area, ColorName, Location, Offset};

/// A canvas and what was corrected on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub canvas: Canvas,
    pub warnings: Vec<Warning>,
}

const GLOBAL_PARAMS: [&str; 4] = [
    "description",
    "detailed_descriptions",
    "tags",
    "HTML_web_color_name",
];
const LOCAL_PARAMS: [&str; 11] = [
    "location",
    "offset",
    "area",
    "distance_to_viewer",
    "description",
    "detailed_descriptions",
    "tags",
    "atmosphere",
    "style",
    "quality_meta",
    "HTML_web_color_name",
];

/// Runs a canvas program; the canvas is the one `canvas` names at the end.
pub fn run(stmts: Vec<Stmt>) -> Result<Parsed, CanvasError> {
    let mut state: Option<Builder> = None;
    let mut warnings = Vec::new();
    for stmt in stmts {
        match stmt {
            Stmt::NewCanvas { .. } => state = Some(Builder::default()),
            Stmt::Call { pos, method, args } => {
                let builder = state
                    .as_mut()
                    .ok_or_else(|| invalid(pos, "name 'canvas' is not defined"))?;
                match method.as_str() {
                    "set_global_description" => {
                        let args = bind(pos, &method, &GLOBAL_PARAMS, args)?;
                        builder.set_global(args, &mut warnings)?;
                    }
                    "add_local_description" => {
                        let args = bind(pos, &method, &LOCAL_PARAMS, args)?;
                        builder.add_local(args, &mut warnings)?;
                    }
                    other => {
                        return Err(invalid(
                            pos,
                            format!("'Canvas' object has no attribute '{other}'"),
                        ))
                    }
                }
            }
        }
    }
    let builder = state.ok_or(CanvasError::NoCanvasProduced)?;
    Ok(Parsed {
        canvas: builder.finish(),
        warnings,
    })
}

fn invalid(pos: Pos, message: impl Into<String>) -> CanvasError {
    CanvasError::Invalid {
        pos,
        message: message.into(),
    }
}

/// Binds call arguments to parameters as Python would, with Python's `TypeError` texts.
fn bind(pos: Pos, method: &str, params: &[&str], args: Vec<Arg>) -> Result<Vec<Arg>, CanvasError> {
    let qualname = format!("Canvas.{method}()");
    let mut slots: Vec<Option<Arg>> = vec![None; params.len()];
    let positional = args.iter().filter(|a| a.keyword.is_none()).count();
    if positional > params.len() {
        return Err(invalid(
            pos,
            format!(
                "{qualname} takes {} positional arguments but {} were given",
                params.len() + 1,
                positional + 1
            ),
        ));
    }
    for (i, arg) in args.into_iter().enumerate() {
        let slot = match &arg.keyword {
            None => i,
            Some(k) => params.iter().position(|p| p == k).ok_or_else(|| {
                invalid(
                    arg.pos,
                    format!("{qualname} got an unexpected keyword argument '{k}'"),
                )
            })?,
        };
        if slots[slot].is_some() {
            return Err(invalid(
                arg.pos,
                format!(
                    "{qualname} got multiple values for argument '{}'",
                    params[slot]
                ),
            ));
        }
        slots[slot] = Some(arg);
    }
    let missing: Vec<String> = params
        .iter()
        .zip(&slots)
        .filter(|(_, s)| s.is_none())
        .map(|(p, _)| format!("'{p}'"))
        .collect();
    if !missing.is_empty() {
        let list = match missing.len() {
            1 => missing[0].clone(),
            2 => format!("{} and {}", missing[0], missing[1]),
            n => format!("{}, and {}", missing[..n - 1].join(", "), missing[n - 1]),
        };
        let plural = if missing.len() == 1 {
            "argument"
        } else {
            "arguments"
        };
        return Err(invalid(
            pos,
            format!(
                "{qualname} missing {} required positional {plural}: {list}",
                missing.len()
            ),
        ));
    }
    Ok(slots.into_iter().flatten().collect())
}

fn as_str(arg: &Arg) -> Option<&str> {
    match &arg.value {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// `isinstance(x, list) and all(isinstance(i, str) for i in x)`.
fn as_str_list(arg: &Arg) -> Option<Vec<String>> {
    match &arg.value {
        Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Omost's `closest_name(value, table)`, recording a correction as a warning.
fn resolve<T>(
    arg: &Arg,
    names: impl IntoIterator<Item = &'static str>,
    lookup: fn(&str) -> Option<T>,
    warnings: &mut Vec<Warning>,
) -> Result<T, CanvasError> {
    let text = match &arg.value {
        Value::Str(s) => s,
        other => {
            return Err(invalid(
                arg.pos,
                format!("'{}' object has no attribute 'lower'", other.type_name()),
            ))
        }
    };
    let resolved = closest_name(text, names).map_err(|m| invalid(arg.pos, m))?;
    if let Some(from) = resolved.corrected_from {
        warnings.push(Warning {
            pos: Some(arg.pos),
            message: format!("Automatically corrected [{from}] -> [{}].", resolved.name),
        });
    }
    lookup(resolved.name)
        .ok_or_else(|| invalid(arg.pos, "internal error: resolved name not in table"))
}

#[derive(Default)]
struct Builder {
    global: Option<GlobalDescription>,
    regions: Vec<(Region, Option<String>)>,
}

impl Builder {
    fn set_global(&mut self, a: Vec<Arg>, warnings: &mut Vec<Warning>) -> Result<(), CanvasError> {
        let description =
            as_str(&a[0]).ok_or_else(|| invalid(a[0].pos, "Global description is not valid!"))?;
        let detailed = as_str_list(&a[1])
            .ok_or_else(|| invalid(a[1].pos, "Global detailed_descriptions is not valid!"))?;
        let tags = as_str(&a[2]).ok_or_else(|| invalid(a[2].pos, "Global tags is not valid!"))?;
        let color = resolve(&a[3], ColorName::names(), ColorName::from_name, warnings)?;
        self.global = Some(GlobalDescription {
            description: description.to_owned(),
            detailed_descriptions: detailed,
            tags: tags.to_owned(),
            color,
        });
        Ok(())
    }

    fn add_local(&mut self, a: Vec<Arg>, warnings: &mut Vec<Warning>) -> Result<(), CanvasError> {
        let description =
            as_str(&a[4]).ok_or_else(|| invalid(a[4].pos, "Local description is wrong!"))?;
        let not_valid = |i: usize, what: &str| {
            invalid(
                a[i].pos,
                format!("The {what} for [{description}] is not valid!"),
            )
        };
        let distance = match a[3].value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            Value::Bool(b) => b as i64 as f64,
            _ => f64::NAN,
        };
        if distance.is_nan() || distance <= 0.0 {
            return Err(invalid(
                a[3].pos,
                format!("The distance_to_viewer for [{description}] is not positive float number!"),
            ));
        }
        if distance.is_infinite() {
            return Err(invalid(
                a[3].pos,
                format!("The distance_to_viewer for [{description}] is not finite!"),
            ));
        }
        let detailed = as_str_list(&a[5]).ok_or_else(|| not_valid(5, "detailed_descriptions"))?;
        let tags = as_str(&a[6]).ok_or_else(|| not_valid(6, "tags"))?;
        let atmosphere = as_str(&a[7]).ok_or_else(|| not_valid(7, "atmosphere"))?;
        let style = as_str(&a[8]).ok_or_else(|| not_valid(8, "style"))?;
        let quality_meta = as_str(&a[9]).ok_or_else(|| not_valid(9, "quality_meta"))?;
        let location = resolve(&a[0], Location::names(), Location::from_name, warnings)?;
        let offset = resolve(&a[1], Offset::names(), Offset::from_name, warnings)?;
        let area = resolve(&a[2], Area::names(), Area::from_name, warnings)?;
        let color = resolve(&a[10], ColorName::names(), ColorName::from_name, warnings)?;
        let captured = self.global.as_ref().map(|g| safe_str(&g.description));
        let region = Region {
            location,
            offset,
            area,
            distance_to_viewer: distance,
            description: description.to_owned(),
            detailed_descriptions: detailed,
            tags: tags.to_owned(),
            atmosphere: atmosphere.to_owned(),
            style: style.to_owned(),
            quality_meta: quality_meta.to_owned(),
            color,
            global_prefix: GlobalPrefix::Current,
        };
        self.regions.push((region, captured));
        Ok(())
    }

    /// The canvas, with each region's captured global prefix expressed relative to the final global.
    fn finish(self) -> Canvas {
        let current = self.global.as_ref().map(|g| safe_str(&g.description));
        let regions = self
            .regions
            .into_iter()
            .map(|(mut region, captured)| {
                region.global_prefix = match captured {
                    None => GlobalPrefix::None,
                    Some(p) if Some(&p) == current.as_ref() => GlobalPrefix::Current,
                    Some(p) => GlobalPrefix::Captured(p),
                };
                region
            })
            .collect();
        Canvas {
            global: self.global,
            regions,
        }
    }
}
