//! The preview pane's picture. With a terminal graphics protocol (kitty, sixel, iTerm2 — detected by
//! ratatui-image, or forced with `--image-protocol`) the image is shown at full resolution; otherwise as
//! half-block cells: each cell shows two pixels (`▀` with the upper pixel as foreground and the lower as
//! background), which every colour terminal and tmux display. Fitted to the pane with the image's
//! aspect ratio, converted once per image and pane size.

use std::path::{Path, PathBuf};

use ratatui::layout::Rect;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::Protocol;
use ratatui_image::Resize;

use crate::canvas::{Sketch, GRID};

/// An RGB picture in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Picture {
    /// Reads an 8-bit RGB or RGBA PNG.
    pub fn load_png(path: &Path) -> Result<Picture, String> {
        let fail = |e: String| format!("{}: {e}", path.display());
        let file = std::fs::File::open(path).map_err(|e| fail(crate::fsutil::io_reason(&e)))?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(|e| fail(e.to_string()))?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| fail(e.to_string()))?;
        let channels = info.color_type.samples();
        let (w, h) = (info.width as usize, info.height as usize);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for px in buf[..w * h * channels].chunks_exact(channels) {
            match channels {
                1 | 2 => rgb.extend_from_slice(&[px[0], px[0], px[0]]),
                _ => rgb.extend_from_slice(&px[..3]),
            }
        }
        Ok(Picture {
            width: w,
            height: h,
            rgb,
        })
    }

    /// Omost's 90×90 colour sketch.
    pub fn from_sketch(sketch: &Sketch) -> Picture {
        Picture {
            width: GRID,
            height: GRID,
            rgb: sketch.rgb_bytes(),
        }
    }

    /// Box-filters the picture into `columns × (2·rows)` pixels fitted inside the area (keeping the
    /// aspect ratio of `aspect` = width / height, cells twice as tall as wide) and pairs them into cells.
    pub fn half_blocks(&self, columns: usize, rows: usize, aspect: f64) -> HalfBlocks {
        let (max_w, max_h) = (columns as f64, (rows * 2) as f64);
        let (w, h) = if max_w / max_h > aspect {
            (max_h * aspect, max_h)
        } else {
            (max_w, max_w / aspect)
        };
        let (w, h) = (
            (w.floor() as usize).max(1),
            ((h.floor() as usize) & !1).max(2),
        );
        let mut px = vec![[0u8; 3]; w * h];
        for y in 0..h {
            let (y0, y1) = (
                y * self.height / h,
                ((y + 1) * self.height / h).max(y * self.height / h + 1),
            );
            for x in 0..w {
                let (x0, x1) = (
                    x * self.width / w,
                    ((x + 1) * self.width / w).max(x * self.width / w + 1),
                );
                let mut sum = [0u32; 3];
                let mut n = 0u32;
                for sy in y0..y1.min(self.height) {
                    for sx in x0..x1.min(self.width) {
                        let k = (sy * self.width + sx) * 3;
                        for (acc, &v) in sum.iter_mut().zip(&self.rgb[k..k + 3]) {
                            *acc += v as u32;
                        }
                        n += 1;
                    }
                }
                px[y * w + x] = sum.map(|s| (s / n.max(1)) as u8);
            }
        }
        let cells = (0..h / 2)
            .map(|row| {
                (0..w)
                    .map(|x| (px[2 * row * w + x], px[(2 * row + 1) * w + x]))
                    .collect()
            })
            .collect();
        HalfBlocks { cells }
    }
}

/// Rows of cells, each `(upper pixel, lower pixel)`.
#[derive(Clone, Debug, PartialEq)]
pub struct HalfBlocks {
    pub cells: Vec<Vec<([u8; 3], [u8; 3])>>,
}

/// The last image converted, kept until the pane size or the image changes.
#[derive(Default)]
pub struct PreviewCache {
    key: Option<(PathBuf, usize, usize)>,
    picture: Option<Picture>,
    blocks: Option<HalfBlocks>,
    /// A graphics protocol, when the terminal has one; `None` draws half blocks.
    picker: Option<Picker>,
    protocol: Option<((PathBuf, u16, u16), Protocol)>,
}

impl PreviewCache {
    /// A cache that draws with `picker`'s protocol (half blocks of our own when it is halfblocks).
    pub fn with_picker(picker: Picker) -> Self {
        let graphics = picker.protocol_type() != ProtocolType::Halfblocks;
        PreviewCache {
            picker: graphics.then_some(picker),
            ..PreviewCache::default()
        }
    }

    /// The protocol in use, for the caption and `omost doctor`.
    pub fn protocol_name(&self) -> &'static str {
        match self.picker.as_ref().map(Picker::protocol_type) {
            Some(ProtocolType::Kitty) => "kitty",
            Some(ProtocolType::Sixel) => "sixel",
            Some(ProtocolType::Iterm2) => "iTerm2",
            _ => "half blocks",
        }
    }

    /// The image at `path` as a graphics-protocol image for an area of `columns × rows` cells, or `None`
    /// when half blocks are used.
    pub fn graphics(
        &mut self,
        path: &Path,
        columns: u16,
        rows: u16,
    ) -> Option<Result<&Protocol, String>> {
        let picker = self.picker.as_ref()?;
        let key = (path.to_owned(), columns, rows);
        if self.protocol.as_ref().map(|(k, _)| k) != Some(&key) {
            let built = Picture::load_png(path).and_then(|p| {
                let image = image::RgbImage::from_raw(p.width as u32, p.height as u32, p.rgb)
                    .ok_or_else(|| "bad image size".to_owned())?;
                picker
                    .new_protocol(
                        image::DynamicImage::ImageRgb8(image),
                        Rect::new(0, 0, columns, rows).into(),
                        Resize::Fit(None),
                    )
                    .map_err(|e| format!("{}: {e}", path.display()))
            });
            match built {
                Ok(p) => self.protocol = Some((key, p)),
                Err(e) => return Some(Err(e)),
            }
        }
        self.protocol.as_ref().map(|(_, p)| Ok(p))
    }

    /// Half blocks of the PNG at `path` for a `columns × rows` pane (reading it only when it changed).
    pub fn image(
        &mut self,
        path: &Path,
        columns: usize,
        rows: usize,
    ) -> Result<&HalfBlocks, String> {
        let key = (path.to_owned(), columns, rows);
        if self.key.as_ref().map(|k| &k.0) != Some(&key.0) {
            self.picture = Some(Picture::load_png(path)?);
            self.blocks = None;
        }
        if self.key.as_ref() != Some(&key) || self.blocks.is_none() {
            let p = self.picture.as_ref().ok_or("no picture")?;
            self.blocks = Some(p.half_blocks(columns, rows, p.width as f64 / p.height as f64));
            self.key = Some(key);
        }
        self.blocks.as_ref().ok_or_else(|| "no picture".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_averages() {
        // 4×2 picture: left half red, right half blue.
        let mut rgb = Vec::new();
        for _ in 0..2 {
            rgb.extend_from_slice(&[255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255]);
        }
        let p = Picture {
            width: 4,
            height: 2,
            rgb,
        };
        let hb = p.half_blocks(8, 8, 2.0);
        assert_eq!(hb.cells[0].len(), 8);
        assert_eq!(hb.cells.len(), 2); // 8 wide at aspect 2 → 4 pixels tall → 2 rows
        assert_eq!(hb.cells[0][0].0, [255, 0, 0]);
        assert_eq!(hb.cells[1][7].1, [0, 0, 255]);
    }
}
