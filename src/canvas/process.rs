//! Omost's `Canvas.process()`: rects on the 90×90 grid, far → near ordering, the colour sketch and the
//! bag of conditions, computed exactly as `lib_omost/canvas.py` computes them.

use serde::Serialize;

use super::error::CanvasError;
use super::model::{Canvas, GlobalDescription, GlobalPrefix, Region};
use super::tables::{Area, Location, Offset};

/// Side of Omost's square grid.
pub const GRID: usize = 90;

/// A half-open box on the 90×90 grid: rows `top..bottom`, columns `left..right`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    pub top: u8,
    pub bottom: u8,
    pub left: u8,
    pub right: u8,
}

impl Rect {
    /// The whole grid (the global condition's rect).
    pub const FULL: Rect = Rect {
        top: 0,
        bottom: GRID as u8,
        left: 0,
        right: GRID as u8,
    };

    /// Omost's integer arithmetic: centre + offset ± half the size, each side clamped to 0..=90.
    pub fn of(location: Location, offset: Offset, area: Area) -> Rect {
        let (xb, yb) = location.center();
        let (xo, yo) = offset.delta();
        let (w, h) = area.size();
        let clamp = |v: i32| v.clamp(0, GRID as i32) as u8;
        Rect {
            top: clamp(yb + yo - h / 2),
            bottom: clamp(yb + yo + h / 2),
            left: clamp(xb + xo - w / 2),
            right: clamp(xb + xo + w / 2),
        }
    }

    /// Number of grid cells covered.
    pub fn area(&self) -> usize {
        (self.bottom - self.top) as usize * (self.right - self.left) as usize
    }

    /// Whether grid cell (column `x`, row `y`) is inside.
    pub fn contains(&self, x: usize, y: usize) -> bool {
        (self.top as usize..self.bottom as usize).contains(&y)
            && (self.left as usize..self.right as usize).contains(&x)
    }

    /// `[top, bottom, left, right]`, the order Omost and ComfyUI_omost use.
    pub fn to_array(self) -> [u8; 4] {
        [self.top, self.bottom, self.left, self.right]
    }
}

impl Serialize for Rect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_array().serialize(s)
    }
}

/// Omost's `safe_str`: strip `,`, `.` and spaces from both ends, then end with exactly one `.`.
pub fn safe_str(x: &str) -> String {
    let mut s = x.trim_matches([',', '.', ' ']).to_owned();
    s.push('.');
    s
}

/// One entry of Omost's `bag_of_conditions`, in ComfyUI_omost's JSON form
/// (`{"rect": [top, bottom, left, right], "color": [r, g, b], "prefixes": […], "suffixes": […]}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Condition {
    pub rect: Rect,
    pub color: [u8; 3],
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// For regions: their distance (not part of Omost's condition, kept for display).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_to_viewer: Option<f64>,
}

impl Condition {
    /// The 90×90 mask, row-major: 1.0 inside the rect, 0.0 outside.
    pub fn mask(&self) -> Vec<f32> {
        let mut m = vec![0.0f32; GRID * GRID];
        for y in self.rect.top as usize..self.rect.bottom as usize {
            m[y * GRID + self.rect.left as usize..y * GRID + self.rect.right as usize].fill(1.0);
        }
        m
    }
}

/// Omost's 90×90 RGB colour sketch (`initial_latent`), row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch {
    pub pixels: Vec<[u8; 3]>,
}

impl Sketch {
    /// The colour at column `x`, row `y`.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * GRID + x]
    }

    /// Packed RGB bytes, row-major (as a PNG encoder wants them).
    pub fn rgb_bytes(&self) -> Vec<u8> {
        self.pixels.iter().flatten().copied().collect()
    }
}

impl GlobalDescription {
    /// `[safe_str(description)]`.
    pub fn prefixes(&self) -> Vec<String> {
        vec![safe_str(&self.description)]
    }

    /// Detailed descriptions then tags, each through `safe_str`.
    pub fn suffixes(&self) -> Vec<String> {
        self.detailed_descriptions
            .iter()
            .chain([&self.tags])
            .map(|s| safe_str(s))
            .collect()
    }
}

impl Region {
    /// The region's box on the 90×90 grid.
    pub fn rect(&self) -> Rect {
        Rect::of(self.location, self.offset, self.area)
    }

    /// The global prefix this region carries (if any), then its own description.
    pub fn prefixes(&self, global: Option<&GlobalDescription>) -> Vec<String> {
        let inherited = match &self.global_prefix {
            GlobalPrefix::Current => global.map(|g| safe_str(&g.description)),
            GlobalPrefix::None => None,
            GlobalPrefix::Captured(p) => Some(safe_str(p)),
        };
        inherited
            .into_iter()
            .chain([safe_str(&self.description)])
            .collect()
    }

    /// Detailed descriptions, tags, atmosphere, style and quality, each through `safe_str`.
    pub fn suffixes(&self) -> Vec<String> {
        self.detailed_descriptions
            .iter()
            .chain([
                &self.tags,
                &self.atmosphere,
                &self.style,
                &self.quality_meta,
            ])
            .map(|s| safe_str(s))
            .collect()
    }
}

impl Canvas {
    /// Region indices far → near: a stable sort on descending distance, as Omost's
    /// `sorted(…, key=distance_to_viewer, reverse=True)`.
    pub fn depth_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.regions.len()).collect();
        order.sort_by(|&a, &b| {
            let (da, db) = (
                self.regions[a].distance_to_viewer,
                self.regions[b].distance_to_viewer,
            );
            db.partial_cmp(&da).unwrap_or(std::cmp::Ordering::Equal)
        });
        order
    }

    fn global_or_err(&self) -> Result<&GlobalDescription, CanvasError> {
        self.global.as_ref().ok_or(CanvasError::NoGlobal)
    }

    /// Omost's `bag_of_conditions`: the global condition, then one per region far → near.
    pub fn conditions(&self) -> Result<Vec<Condition>, CanvasError> {
        let global = self.global_or_err()?;
        let mut out = vec![Condition {
            rect: Rect::FULL,
            color: global.color.rgb(),
            prefixes: global.prefixes(),
            suffixes: global.suffixes(),
            distance_to_viewer: None,
        }];
        out.extend(self.depth_order().into_iter().map(|i| {
            let r = &self.regions[i];
            Condition {
                rect: r.rect(),
                color: r.color.rgb(),
                prefixes: r.prefixes(Some(global)),
                suffixes: r.suffixes(),
                distance_to_viewer: Some(r.distance_to_viewer),
            }
        }));
        Ok(out)
    }

    /// Omost's colour sketch, pixel-exact: each region far → near is blended as
    /// `0.7 * color + 0.3 * L` with NumPy's dtypes (`0.7 * uint8` in float64, `0.3 * float32` in float32,
    /// the sum in float64, stored back as float32), then clipped and truncated to `u8`.
    ///
    /// The sketch is constant between rect edges, so the blending runs once per cell of the grid those
    /// edges cut (at most 23×23 cells for 10 regions) instead of once per pixel; every pixel of a cell
    /// has the same history, so the result is the same.
    pub fn sketch(&self) -> Result<Sketch, CanvasError> {
        let global = self.global_or_err()?;
        let order = self.depth_order();
        let rects: Vec<Rect> = order.iter().map(|&i| self.regions[i].rect()).collect();
        let cuts = |edges: &dyn Fn(&Rect) -> [u8; 2]| {
            let mut v: Vec<usize> = rects.iter().flat_map(edges).map(usize::from).collect();
            v.extend([0, GRID]);
            v.sort_unstable();
            v.dedup();
            v
        };
        let xs = cuts(&|r| [r.left, r.right]);
        let ys = cuts(&|r| [r.top, r.bottom]);
        let [r, g, b] = global.color.rgb();
        let mut pixels = vec![[0u8; 3]; GRID * GRID];
        for yw in ys.windows(2) {
            for xw in xs.windows(2) {
                let (x, y) = (xw[0], yw[0]);
                let mut v = [r as f32, g as f32, b as f32];
                for (k, rect) in rects.iter().enumerate() {
                    if rect.contains(x, y) {
                        let color = self.regions[order[k]].color.rgb();
                        for (c, v) in v.iter_mut().enumerate() {
                            *v = (0.7f64 * color[c] as f64 + (0.3f32 * *v) as f64) as f32;
                        }
                    }
                }
                let px = v.map(|c| c.clamp(0.0, 255.0) as u8);
                for row in yw[0]..yw[1] {
                    pixels[row * GRID + xw[0]..row * GRID + xw[1]].fill(px);
                }
            }
        }
        Ok(Sketch { pixels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_str_matches_omost() {
        assert_eq!(safe_str(" a cat , "), "a cat.");
        assert_eq!(safe_str("..."), ".");
        assert_eq!(safe_str("x.\n"), "x.\n.");
        assert_eq!(safe_str(&safe_str("Mr. Smith.")), "Mr. Smith.");
    }

    #[test]
    fn smallest_rect() {
        let r = Rect::of(
            Location::from_name("on the top-left").expect("location"),
            Offset::from_name("slightly to the upper-left").expect("offset"),
            Area::from_name("a small vertical area").expect("area"),
        );
        assert_eq!(r.to_array(), [0, 35, 0, 25]);
        assert_eq!(r.area(), 875);
    }
}
