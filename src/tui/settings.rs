//! The render settings panel: one row per setting, ←/→ to step a value, Enter to type one.

use crate::render::pipeline::{Hires, RenderSettings};
use crate::render::sampler::Sampler;

/// The settings the panel edits (the renderer's plus the app's own).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub render: RenderSettings,
    pub negative: String,
    /// A new seed for every render.
    pub random_seed: bool,
}

/// One row of the panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    Width,
    Height,
    Steps,
    Cfg,
    Seed,
    RandomSeed,
    Sampler,
    Negative,
    HiresScale,
    HiresSteps,
    HiresDenoise,
}

impl Row {
    /// Every row, top to bottom.
    pub const ALL: [Row; 11] = [
        Row::Width,
        Row::Height,
        Row::Steps,
        Row::Cfg,
        Row::Seed,
        Row::RandomSeed,
        Row::Sampler,
        Row::Negative,
        Row::HiresScale,
        Row::HiresSteps,
        Row::HiresDenoise,
    ];

    /// The row's label.
    pub fn label(self) -> &'static str {
        match self {
            Row::Width => "width",
            Row::Height => "height",
            Row::Steps => "steps",
            Row::Cfg => "CFG scale",
            Row::Seed => "seed",
            Row::RandomSeed => "new seed each render",
            Row::Sampler => "sampler",
            Row::Negative => "negative prompt",
            Row::HiresScale => "hi-res scale (1 = off)",
            Row::HiresSteps => "hi-res steps",
            Row::HiresDenoise => "hi-res denoise",
        }
    }
}

fn hires(s: &RenderSettings) -> Hires {
    s.hires.unwrap_or_default()
}

fn set_hires(s: &mut RenderSettings, h: Hires) {
    s.hires = Some(h);
}

impl Settings {
    /// The row's value as shown and as the text editor starts from.
    pub fn value(&self, row: Row) -> String {
        let s = &self.render;
        let h = hires(s);
        match row {
            Row::Width => s.width.to_string(),
            Row::Height => s.height.to_string(),
            Row::Steps => s.steps.to_string(),
            Row::Cfg => format!("{}", s.cfg),
            Row::Seed => s.seed.to_string(),
            Row::RandomSeed => if self.random_seed { "yes" } else { "no" }.into(),
            Row::Sampler => s.sampler.name().into(),
            Row::Negative => self.negative.clone(),
            Row::HiresScale => format!("{}", h.scale),
            Row::HiresSteps => h.steps.to_string(),
            Row::HiresDenoise => format!("{}", h.denoise),
        }
    }

    /// Steps a value by `dir` (−1 or +1), staying in range.
    pub fn step(&mut self, row: Row, dir: i32) {
        let s = &mut self.render;
        let mut h = hires(s);
        let d = dir as f64;
        match row {
            Row::Width => s.width = (s.width as i64 + 64 * dir as i64).clamp(256, 4096) as usize,
            Row::Height => s.height = (s.height as i64 + 64 * dir as i64).clamp(256, 4096) as usize,
            Row::Steps => s.steps = (s.steps as i64 + dir as i64).clamp(1, 200) as usize,
            Row::Cfg => s.cfg = ((s.cfg + 0.5 * d) * 2.0).round().clamp(2.0, 64.0) / 2.0,
            Row::Seed => s.seed = s.seed.wrapping_add_signed(dir as i64),
            Row::RandomSeed => self.random_seed = !self.random_seed,
            Row::Sampler => {
                let i = Sampler::ALL
                    .iter()
                    .position(|&x| x == s.sampler)
                    .unwrap_or(0) as i32;
                s.sampler = Sampler::ALL[(i + dir).rem_euclid(Sampler::ALL.len() as i32) as usize];
            }
            Row::Negative => {}
            Row::HiresScale => {
                h.scale = ((h.scale + 0.25 * d) * 4.0).round().clamp(4.0, 12.0) / 4.0;
                set_hires(s, h);
            }
            Row::HiresSteps => {
                h.steps = (h.steps as i64 + dir as i64).clamp(1, 100) as usize;
                set_hires(s, h);
            }
            Row::HiresDenoise => {
                h.denoise = ((h.denoise + 0.05 * d) * 20.0).round().clamp(2.0, 20.0) / 20.0;
                set_hires(s, h);
            }
        }
    }

    /// Sets a value from typed text; why not, when it is out of range or not a number.
    pub fn set(&mut self, row: Row, text: &str) -> Result<(), String> {
        let t = text.trim();
        let int = |lo: usize, hi: usize| -> Result<usize, String> {
            t.parse::<usize>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| format!("{}: a whole number from {lo} to {hi}", row.label()))
        };
        let num = |lo: f64, hi: f64| -> Result<f64, String> {
            t.parse::<f64>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| format!("{}: a number from {lo} to {hi}", row.label()))
        };
        let s = &mut self.render;
        let mut h = hires(s);
        match row {
            Row::Width | Row::Height => {
                let v = int(64, 4096)?;
                if v % 64 != 0 {
                    return Err(format!("{}: a multiple of 64", row.label()));
                }
                if row == Row::Width {
                    s.width = v;
                } else {
                    s.height = v;
                }
            }
            Row::Steps => s.steps = int(1, 1000)?,
            Row::Cfg => s.cfg = num(1.0, 32.0)?,
            Row::Seed => s.seed = t.parse().map_err(|_| "seed: a whole number".to_owned())?,
            Row::RandomSeed => self.random_seed = matches!(t, "yes" | "y" | "true" | "on" | "1"),
            Row::Sampler => {
                s.sampler =
                    Sampler::from_name(t).ok_or("sampler: dpmpp-2m, euler or dpmpp-2m-sde")?
            }
            Row::Negative => self.negative = t.to_owned(),
            Row::HiresScale => {
                h.scale = num(1.0, 4.0)?;
                set_hires(s, h);
            }
            Row::HiresSteps => {
                h.steps = int(1, 100)?;
                set_hires(s, h);
            }
            Row::HiresDenoise => {
                h.denoise = num(0.05, 1.0)?;
                set_hires(s, h);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            render: RenderSettings::default(),
            negative: "bad".into(),
            random_seed: false,
        }
    }

    #[test]
    fn steps_stay_in_range_and_text_is_checked() {
        let mut s = settings();
        s.step(Row::Width, 1);
        assert_eq!(s.render.width, 960);
        for _ in 0..100 {
            s.step(Row::Cfg, -1);
        }
        assert_eq!(s.render.cfg, 1.0);
        s.step(Row::Sampler, -1);
        assert_eq!(s.render.sampler, Sampler::DpmPp2mSde);
        s.step(Row::HiresScale, 1);
        assert_eq!(s.render.hires.unwrap().scale, 1.25);
        assert!(s
            .set(Row::Height, "1000")
            .unwrap_err()
            .contains("multiple of 64"));
        assert!(s.set(Row::Steps, "0").is_err());
        s.set(Row::Seed, "42").unwrap();
        assert_eq!(s.value(Row::Seed), "42");
        s.set(Row::Negative, " blurry ").unwrap();
        assert_eq!(s.negative, "blurry");
        s.step(Row::RandomSeed, 1);
        assert!(s.random_seed);
    }
}
