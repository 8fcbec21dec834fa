//! Our canvas JSON: the arguments of Omost's calls, by Omost's parameter names.
//!
//! ```json
//! {"global": {"description": "…", "detailed_descriptions": ["…"], "tags": "…", "HTML_web_color_name": "…"},
//!  "regions": [{"location": "…", "offset": "…", "area": "…", "distance_to_viewer": 5.0, "description": "…",
//!               "detailed_descriptions": [], "tags": "…", "atmosphere": "…", "style": "…",
//!               "quality_meta": "…", "HTML_web_color_name": "…"}]}
//! ```
//!
//! A region may carry `"global_prefix"`: `null` when it was added before any global description, or
//! the earlier global description it was added under; without it the region follows the current one.
//! Names go through the same fuzzy matching as code, so hand-written JSON is as forgiving as Omost.

use serde::Deserialize;

use super::build::Parsed;
use super::error::{CanvasError, Warning};
use super::model::{Canvas, GlobalDescription, GlobalPrefix, Region};
use super::names::closest_name;
use super::process::safe_str;
use super::tables::{Area, ColorName, Location, Offset};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCanvas {
    global: Option<RawGlobal>,
    #[serde(default)]
    regions: Vec<RawRegion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    description: String,
    detailed_descriptions: Vec<String>,
    tags: String,
    #[serde(rename = "HTML_web_color_name")]
    color: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    location: String,
    offset: String,
    area: String,
    distance_to_viewer: f64,
    description: String,
    detailed_descriptions: Vec<String>,
    tags: String,
    atmosphere: String,
    style: String,
    quality_meta: String,
    #[serde(rename = "HTML_web_color_name")]
    color: String,
    #[serde(default)]
    global_prefix: GlobalPrefix,
}

/// Reads canvas JSON, resolving names as Omost would.
pub fn from_json(text: &str) -> Result<Parsed, CanvasError> {
    if text.trim_start().starts_with('[') {
        return Err(CanvasError::Json(
            "this is a condition list (`canvas inspect --json` output), not a canvas; a canvas is an object with \"global\" and \"regions\"".into(),
        ));
    }
    let raw: RawCanvas =
        serde_json::from_str(text).map_err(|e| CanvasError::Json(e.to_string()))?;
    let mut warnings = Vec::new();
    let mut resolve = |field: String,
                       input: &str,
                       names: Vec<&'static str>|
     -> Result<&'static str, CanvasError> {
        let r =
            closest_name(input, names).map_err(|m| CanvasError::Json(format!("{field}: {m}")))?;
        if let Some(from) = r.corrected_from {
            warnings.push(Warning {
                pos: None,
                message: format!("{field}: Automatically corrected [{from}] -> [{}].", r.name),
            });
        }
        Ok(r.name)
    };
    let global = match raw.global {
        None => None,
        Some(g) => {
            let color = resolve(
                "global.HTML_web_color_name".into(),
                &g.color,
                ColorName::names().collect(),
            )?;
            Some(GlobalDescription {
                description: g.description,
                detailed_descriptions: g.detailed_descriptions,
                tags: g.tags,
                color: ColorName::from_name(color)
                    .ok_or_else(|| CanvasError::Json("bad colour".into()))?,
            })
        }
    };
    let mut regions = Vec::with_capacity(raw.regions.len());
    for (i, r) in raw.regions.into_iter().enumerate() {
        let field = |name: &str| format!("regions[{i}].{name}");
        if !(r.distance_to_viewer > 0.0 && r.distance_to_viewer.is_finite()) {
            return Err(CanvasError::Json(format!(
                "{}: The distance_to_viewer for [{}] is not positive float number!",
                field("distance_to_viewer"),
                r.description
            )));
        }
        let location = resolve(field("location"), &r.location, Location::names().collect())?;
        let offset = resolve(field("offset"), &r.offset, Offset::names().collect())?;
        let area = resolve(field("area"), &r.area, Area::names().collect())?;
        let color = resolve(
            field("HTML_web_color_name"),
            &r.color,
            ColorName::names().collect(),
        )?;
        let table_err = || CanvasError::Json(format!("regions[{i}]: name not in table"));
        regions.push(Region {
            location: Location::from_name(location).ok_or_else(table_err)?,
            offset: Offset::from_name(offset).ok_or_else(table_err)?,
            area: Area::from_name(area).ok_or_else(table_err)?,
            distance_to_viewer: r.distance_to_viewer,
            description: r.description,
            detailed_descriptions: r.detailed_descriptions,
            tags: r.tags,
            atmosphere: r.atmosphere,
            style: r.style,
            quality_meta: r.quality_meta,
            color: ColorName::from_name(color).ok_or_else(table_err)?,
            global_prefix: r.global_prefix,
        });
    }
    let mut canvas = Canvas { global, regions };
    normalise_prefixes(&mut canvas);
    check_prefixes(&canvas)?;
    Ok(Parsed { canvas, warnings })
}

/// Writes captured prefixes as a program would have captured them (through `safe_str`), and a captured
/// prefix equal to the current global one as following it.
fn normalise_prefixes(canvas: &mut Canvas) {
    let current = canvas.global.as_ref().map(|g| safe_str(&g.description));
    for r in &mut canvas.regions {
        if let GlobalPrefix::Captured(p) = &r.global_prefix {
            let p = safe_str(p);
            r.global_prefix = if Some(&p) == current.as_ref() {
                GlobalPrefix::Current
            } else {
                GlobalPrefix::Captured(p)
            };
        }
    }
}

/// Only states that a canvas program can produce are accepted: regions without a global prefix come
/// before all others, and without a global description there is nothing to inherit.
fn check_prefixes(canvas: &Canvas) -> Result<(), CanvasError> {
    let mut seen_prefix = false;
    for (i, r) in canvas.regions.iter().enumerate() {
        match r.global_prefix {
            GlobalPrefix::None if seen_prefix => {
                return Err(CanvasError::Json(format!(
                    "regions[{i}].global_prefix: null cannot follow a region that has a global prefix"
                )))
            }
            GlobalPrefix::None => {}
            GlobalPrefix::Current | GlobalPrefix::Captured(_) if canvas.global.is_none() => {
                return Err(CanvasError::Json(format!(
                    "regions[{i}] inherits a global prefix, but the canvas has no global description"
                )))
            }
            _ => seen_prefix = true,
        }
    }
    Ok(())
}

/// Pretty canvas JSON (the inverse of [`from_json`]).
pub fn to_json(canvas: &Canvas) -> String {
    // Serialising plain strings, numbers and names cannot fail.
    serde_json::to_string_pretty(canvas).unwrap_or_default()
}
