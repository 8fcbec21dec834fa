//! The SDXL renderer (in progress): turns a canvas into an image the way Omost's
//! `lib_omost/pipeline.py` does. So far: the noise schedule, the CLIP tokenizer, Omost's greedy
//! sub-prompt bagging into 77-token chunks, the CLIP-L/G text encoders and the samplers.

pub mod attention;
pub mod bags;
pub mod clip;
pub mod image;
pub mod layers;
pub mod metadata;
pub mod noise;
pub mod noise_file;
pub mod pipeline;
pub mod random;
pub mod regions;
pub mod sampler;
pub mod schedule;
pub mod shapes;
pub mod single_file;
pub mod tiny;
pub mod tokenizer;
pub mod unet;
pub mod vae;
pub mod weights;
pub mod worker;
