//! The canvas as a value: what one `set_global_description` and N `add_local_description` calls say,
//! with every name already resolved to Omost's tables. This is what the user edits, what is saved in
//! sessions and PNG metadata (as JSON), and what [`super::emit`] writes back as Omost code.

use serde::{Deserialize, Serialize};

use super::tables::{Area, ColorName, Location, Offset};

/// A whole canvas: the global description and the regions, in the order they were added.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct Canvas {
    /// Set by `set_global_description`; Omost cannot process a canvas without it.
    pub global: Option<GlobalDescription>,
    /// Regions in insertion order (the order that breaks ties between equal distances).
    pub regions: Vec<Region>,
}

/// Omost's `set_global_description` arguments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GlobalDescription {
    pub description: String,
    pub detailed_descriptions: Vec<String>,
    pub tags: String,
    #[serde(rename = "HTML_web_color_name")]
    pub color: ColorName,
}

/// Omost's `add_local_description` arguments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Region {
    pub location: Location,
    pub offset: Offset,
    pub area: Area,
    /// Larger is farther; regions are layered far → near. Always finite and positive.
    pub distance_to_viewer: f64,
    pub description: String,
    pub detailed_descriptions: Vec<String>,
    pub tags: String,
    pub atmosphere: String,
    pub style: String,
    pub quality_meta: String,
    #[serde(rename = "HTML_web_color_name")]
    pub color: ColorName,
    /// Which global description this region's first prefix comes from.
    #[serde(skip_serializing_if = "GlobalPrefix::is_current")]
    pub global_prefix: GlobalPrefix,
}

/// Omost gives a region the global prefix *as it was when the region was added*. Canvases the LLM writes
/// set the global description first, so nearly every region follows the current one; the other two
/// cases exist so that unusual programs still mean exactly what they meant to Omost.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(from = "Option<String>")]
pub enum GlobalPrefix {
    /// The canvas's current global description (JSON: the key is absent).
    #[default]
    Current,
    /// No global prefix: the region was added before any global description (JSON: `null`).
    None,
    /// A global description that was later replaced, already passed through `safe_str`.
    Captured(String),
}

impl GlobalPrefix {
    /// True for the usual case, which JSON leaves out.
    pub fn is_current(&self) -> bool {
        matches!(self, GlobalPrefix::Current)
    }
}

impl From<Option<String>> for GlobalPrefix {
    fn from(v: Option<String>) -> Self {
        match v {
            Some(s) => GlobalPrefix::Captured(s),
            None => GlobalPrefix::None,
        }
    }
}

impl Serialize for GlobalPrefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GlobalPrefix::Captured(p) => s.serialize_str(p),
            GlobalPrefix::Current | GlobalPrefix::None => s.serialize_none(),
        }
    }
}
