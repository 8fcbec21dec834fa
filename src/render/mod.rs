//! The SDXL renderer (in progress): turns a canvas into an image the way Omost's
//! `lib_omost/pipeline.py` does. So far: the noise schedule.

pub mod schedule;
