//! Keyboard edits of a canvas, as pure functions from one canvas to the next: move a region across the
//! 3×3 grid, cycle its offset and area, bring it nearer or push it farther, recolour it, add, duplicate
//! and delete regions. Each returns the new canvas and a short description for the status line, or
//! why nothing changed.

use crate::canvas::{
    Area, Canvas, ColorName, GlobalDescription, GlobalPrefix, Location, Offset, Region,
};

/// A direction on the 3×3 grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

/// One keyboard edit.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Move region `i` to the neighbouring cell of the 3×3 grid.
    Move(usize, Direction),
    /// Next (+1) or previous (−1) offset.
    CycleOffset(usize, i32),
    /// Next (+1) or previous (−1) area.
    CycleArea(usize, i32),
    /// Nearer (negative) or farther (positive) by this much distance.
    Distance(usize, f64),
    /// Region `Some(i)` or the global description (`None`) gets this colour.
    Color(Option<usize>, ColorName),
    /// A new region in the centre, nearest of all.
    NewRegion,
    /// A copy of region `i`, just nearer than it.
    Duplicate(usize),
    Delete(usize),
    /// Replace a text field of region `Some(i)` or of the global description.
    Text(Option<usize>, Field, String),
}

/// The text fields a user can edit in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Description,
    /// The detailed descriptions, one per line.
    Details,
    Tags,
    Atmosphere,
    Style,
    Quality,
}

impl Field {
    /// Every field, in the order the editor shows them (the global description has only the first three).
    pub const ALL: [Field; 6] = [
        Field::Description,
        Field::Details,
        Field::Tags,
        Field::Atmosphere,
        Field::Style,
        Field::Quality,
    ];

    /// The label shown next to the field.
    pub fn label(self) -> &'static str {
        match self {
            Field::Description => "description",
            Field::Details => "details",
            Field::Tags => "tags",
            Field::Atmosphere => "atmosphere",
            Field::Style => "style",
            Field::Quality => "quality",
        }
    }
}

/// A region's or the global description's field value, as the editor shows it.
pub fn field_text(canvas: &Canvas, target: Option<usize>, field: Field) -> String {
    match target {
        Some(i) => match canvas.regions.get(i) {
            Some(r) => match field {
                Field::Description => r.description.clone(),
                Field::Details => r.detailed_descriptions.join("\n"),
                Field::Tags => r.tags.clone(),
                Field::Atmosphere => r.atmosphere.clone(),
                Field::Style => r.style.clone(),
                Field::Quality => r.quality_meta.clone(),
            },
            None => String::new(),
        },
        None => match &canvas.global {
            Some(g) => match field {
                Field::Description => g.description.clone(),
                Field::Details => g.detailed_descriptions.join("\n"),
                Field::Tags => g.tags.clone(),
                _ => String::new(),
            },
            None => String::new(),
        },
    }
}

/// The global description a canvas gets when the user edits one it does not have yet.
fn default_global() -> GlobalDescription {
    GlobalDescription {
        description: String::new(),
        detailed_descriptions: Vec::new(),
        tags: String::new(),
        color: ColorName::from_name("gray")
            .unwrap_or_else(|| ColorName::all().next().expect("colours")),
    }
}

/// A short name for region `i` in messages: its description, cut to a few words.
pub fn region_name(canvas: &Canvas, i: usize) -> String {
    let d = canvas
        .regions
        .get(i)
        .map(|r| r.description.trim())
        .unwrap_or("");
    let words: Vec<&str> = d.split_whitespace().take(4).collect();
    if words.is_empty() {
        format!("region {}", i + 1)
    } else {
        words.join(" ").trim_end_matches(['.', ',']).to_owned()
    }
}

fn cycle<T: Copy + PartialEq>(all: &[T], current: T, step: i32) -> T {
    let n = all.len() as i32;
    let i = all.iter().position(|&x| x == current).unwrap_or(0) as i32;
    all[(i + step).rem_euclid(n) as usize]
}

/// Applies `edit` to `canvas`: the new canvas and what was done, or why nothing could be.
pub fn apply(canvas: &Canvas, edit: &Edit) -> Result<(Canvas, String), String> {
    let mut out = canvas.clone();
    let region = |out: &mut Canvas, i: usize| -> Result<(), String> {
        if i < out.regions.len() {
            Ok(())
        } else {
            Err(format!("there is no region {}", i + 1))
        }
    };
    let message = match edit {
        Edit::Move(i, dir) => {
            region(&mut out, *i)?;
            let r = &mut out.regions[*i];
            let (c, row) = r.location.cell();
            let (dc, dr) = match dir {
                Direction::Left => (-1, 0),
                Direction::Right => (1, 0),
                Direction::Up => (0, -1),
                Direction::Down => (0, 1),
            };
            let to =
                Location::at_cell(c + dc, row + dr).ok_or("already at the edge of the grid")?;
            r.location = to;
            format!("moved {} {}", region_name(canvas, *i), to.name())
        }
        Edit::CycleOffset(i, step) => {
            region(&mut out, *i)?;
            let all: Vec<Offset> = Offset::all().collect();
            let r = &mut out.regions[*i];
            r.offset = cycle(&all, r.offset, *step);
            format!("{}: {}", region_name(canvas, *i), r.offset.name())
        }
        Edit::CycleArea(i, step) => {
            region(&mut out, *i)?;
            let all: Vec<Area> = Area::all().collect();
            let r = &mut out.regions[*i];
            r.area = cycle(&all, r.area, *step);
            format!("{}: {}", region_name(canvas, *i), r.area.name())
        }
        Edit::Distance(i, delta) => {
            region(&mut out, *i)?;
            let r = &mut out.regions[*i];
            let d = ((r.distance_to_viewer + delta) * 10.0).round() / 10.0;
            if d <= 0.0 || d.is_nan() {
                return Err("distance to the viewer must stay above 0".into());
            }
            r.distance_to_viewer = d;
            format!("{}: distance {d}", region_name(canvas, *i))
        }
        Edit::Color(target, color) => {
            match target {
                Some(i) => {
                    region(&mut out, *i)?;
                    out.regions[*i].color = *color;
                }
                None => out.global.get_or_insert_with(default_global).color = *color,
            }
            format!("colour {}", color.name())
        }
        Edit::NewRegion => {
            let nearest = out
                .regions
                .iter()
                .map(|r| r.distance_to_viewer)
                .fold(f64::INFINITY, f64::min);
            let distance = if nearest.is_finite() {
                (nearest - 0.5).max(0.1)
            } else {
                5.0
            };
            let used: Vec<ColorName> = out.regions.iter().map(|r| r.color).collect();
            let color = [
                "orange",
                "skyblue",
                "seagreen",
                "orchid",
                "gold",
                "tomato",
                "slateblue",
            ]
            .iter()
            .filter_map(|n| ColorName::from_name(n))
            .find(|c| !used.contains(c))
            .unwrap_or_else(|| ColorName::all().next().expect("colours"));
            out.regions.push(Region {
                location: Location::from_name("in the center")
                    .unwrap_or_else(|| Location::all().next().expect("locations")),
                offset: Offset::from_name("no offset")
                    .unwrap_or_else(|| Offset::all().next().expect("offsets")),
                area: Area::from_name("a medium-sized square area")
                    .unwrap_or_else(|| Area::all().next().expect("areas")),
                distance_to_viewer: distance,
                description: "New region.".into(),
                detailed_descriptions: Vec::new(),
                tags: String::new(),
                atmosphere: String::new(),
                style: String::new(),
                quality_meta: String::new(),
                color,
                global_prefix: GlobalPrefix::Current,
            });
            "added a region in the center".into()
        }
        Edit::Duplicate(i) => {
            region(&mut out, *i)?;
            let mut copy = out.regions[*i].clone();
            copy.distance_to_viewer = ((copy.distance_to_viewer - 0.1) * 10.0).round() / 10.0;
            if copy.distance_to_viewer <= 0.0 {
                copy.distance_to_viewer = out.regions[*i].distance_to_viewer / 2.0;
            }
            out.regions.insert(*i + 1, copy);
            format!("duplicated {}", region_name(canvas, *i))
        }
        Edit::Delete(i) => {
            region(&mut out, *i)?;
            out.regions.remove(*i);
            format!("deleted {}", region_name(canvas, *i))
        }
        Edit::Text(target, field, text) => {
            let lines = || {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            match target {
                Some(i) => {
                    region(&mut out, *i)?;
                    let r = &mut out.regions[*i];
                    match field {
                        Field::Description => r.description = text.trim().to_owned(),
                        Field::Details => r.detailed_descriptions = lines(),
                        Field::Tags => r.tags = text.trim().to_owned(),
                        Field::Atmosphere => r.atmosphere = text.trim().to_owned(),
                        Field::Style => r.style = text.trim().to_owned(),
                        Field::Quality => r.quality_meta = text.trim().to_owned(),
                    }
                }
                None => {
                    let g = out.global.get_or_insert_with(default_global);
                    match field {
                        Field::Description => g.description = text.trim().to_owned(),
                        Field::Details => g.detailed_descriptions = lines(),
                        Field::Tags => g.tags = text.trim().to_owned(),
                        _ => return Err("the global description has no such field".into()),
                    }
                }
            }
            format!("edited {}", field.label())
        }
    };
    Ok((out, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dragon() -> Canvas {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/dragon.md"))
                .unwrap();
        crate::canvas::parse(&text).unwrap().canvas
    }

    #[test]
    fn moves_stay_on_the_grid() {
        let c = dragon();
        let i = c
            .regions
            .iter()
            .position(|r| r.location.name() == "on the left")
            .unwrap();
        let (moved, msg) = apply(&c, &Edit::Move(i, Direction::Up)).unwrap();
        assert_eq!(moved.regions[i].location.name(), "on the top-left");
        assert!(msg.contains("on the top-left"), "{msg}");
        assert!(apply(&moved, &Edit::Move(i, Direction::Left)).is_err());
        // The canvas stays one Omost accepts, and its code round-trips.
        let code = crate::canvas::to_code(&moved);
        assert_eq!(crate::canvas::parse(&code).unwrap().canvas, moved);
    }

    #[test]
    fn offset_area_distance_colour_cycle_and_bound() {
        let c = dragon();
        let (a, _) = apply(&c, &Edit::CycleArea(0, 1)).unwrap();
        let (b, _) = apply(&a, &Edit::CycleArea(0, -1)).unwrap();
        assert_eq!(b, c);
        let (o, _) = apply(&c, &Edit::CycleOffset(0, -1)).unwrap();
        assert_ne!(o.regions[0].offset, c.regions[0].offset);
        let (n, _) = apply(&c, &Edit::Distance(0, -0.5)).unwrap();
        assert!(n.regions[0].distance_to_viewer < c.regions[0].distance_to_viewer);
        assert!(apply(&c, &Edit::Distance(0, -1000.0)).is_err());
        let teal = ColorName::from_name("teal").unwrap();
        let (g, _) = apply(&c, &Edit::Color(None, teal)).unwrap();
        assert_eq!(g.global.unwrap().color, teal);
    }

    #[test]
    fn add_duplicate_delete_and_text() {
        let c = dragon();
        let (added, _) = apply(&c, &Edit::NewRegion).unwrap();
        assert_eq!(added.regions.len(), c.regions.len() + 1);
        let newest = added.regions.last().unwrap();
        assert!(c
            .regions
            .iter()
            .all(|r| r.distance_to_viewer > newest.distance_to_viewer));
        let (dup, _) = apply(&c, &Edit::Duplicate(1)).unwrap();
        assert_eq!(dup.regions.len(), c.regions.len() + 1);
        assert_eq!(dup.regions[2].description, c.regions[1].description);
        let (del, msg) = apply(&c, &Edit::Delete(0)).unwrap();
        assert_eq!(del.regions.len(), c.regions.len() - 1);
        assert!(msg.starts_with("deleted"));
        assert!(apply(&c, &Edit::Delete(99)).is_err());
        let (t, _) = apply(
            &c,
            &Edit::Text(Some(0), Field::Details, "one\n\n two \n".into()),
        )
        .unwrap();
        assert_eq!(t.regions[0].detailed_descriptions, vec!["one", "two"]);
        assert_eq!(field_text(&t, Some(0), Field::Details), "one\ntwo");
        let empty = Canvas::default();
        let (g, _) = apply(
            &empty,
            &Edit::Text(None, Field::Description, "A sky.".into()),
        )
        .unwrap();
        assert_eq!(g.global.unwrap().description, "A sky.");
    }
}
