//! omost-tui: compose images by chatting, in the terminal. An LLM writes an Omost canvas; the app shows
//! it, lets the user revise it and renders it with SDXL.

pub mod canvas;
pub mod chunk_rng;
pub mod cli;
pub mod config;
pub mod fsutil;
pub mod llm;
pub mod logging;
pub mod render;
pub mod session;
pub mod tui;
