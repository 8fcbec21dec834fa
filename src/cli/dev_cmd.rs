//! `omost dev …`: writers of test and benchmark models (tiny or random weights in real shapes).

use std::path::Path;
use std::time::Instant;

use super::{CliError, CliResult};
use crate::llm::random_model::{self, LlamaShape};
use crate::render::random::{self, Size};

fn create_dir(dir: &Path) -> CliResult {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::runtime(format!(
            "{}: {}",
            dir.display(),
            crate::fsutil::io_reason(&e)
        ))
    })
}

/// `omost dev tiny-sdxl DIR`: the tiny SDXL the tests and parity scripts use.
pub fn tiny_sdxl(dir: &Path, seed: u64) -> CliResult {
    create_dir(dir)?;
    crate::render::tiny::write(dir, seed).map_err(CliError::runtime)?;
    crate::note!(
        "wrote {}/diffusers and {}/tiny-sdxl.safetensors",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// `omost dev random-sdxl DIR`: SDXL base in its real shapes with random fp16 weights.
pub fn random_sdxl(dir: &Path, tiny: bool, seed: u64) -> CliResult {
    create_dir(dir)?;
    let started = Instant::now();
    let size = if tiny { Size::Tiny } else { Size::Full };
    let params = random::write(dir, size, seed).map_err(CliError::runtime)?;
    crate::note!(
        "wrote {} ({params} parameters, fp16) in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `omost dev random-gguf OUT --vocab GGUF`: a Llama model of a real shape with random Q4_K_M weights.
pub fn random_gguf(out: &Path, shape: &str, vocab: &Path, seed: u64) -> CliResult {
    let shape = LlamaShape::from_name(shape).ok_or_else(|| {
        CliError::input(format!("--shape must be llama3-8b or tiny, not `{shape}`"))
    })?;
    let started = Instant::now();
    let written = random_model::write(out, &shape, vocab, seed).map_err(CliError::input)?;
    crate::note!(
        "wrote {} ({} parameters, {} tokens, Q4_K_M, {:.2} GB) in {:.1} s",
        out.display(),
        written.parameters,
        written.n_vocab,
        written.bytes as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `omost dev llama-bench ARGS…`: llama.cpp's own llama-bench, built into this binary from the same
/// llama.cpp (`--features llama-bench`), so a GPU machine needs one binary, not two.
pub fn llama_bench(args: &[String]) -> CliResult {
    #[cfg(feature = "llama-bench")]
    {
        use std::ffi::{c_char, c_int, CString};
        extern "C" {
            /// `tools/llama-bench/llama-bench.cpp`'s `int llama_bench(int, char **)`: its `main`, as a
            /// C++ function (hence the mangled name).
            #[link_name = "_Z11llama_benchiPPc"]
            fn llama_bench(argc: c_int, argv: *mut *mut c_char) -> c_int;
        }
        let owned = std::iter::once("llama-bench")
            .chain(args.iter().map(String::as_str))
            .map(CString::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| CliError::input("an argument holds a NUL byte"))?;
        let mut argv: Vec<*mut c_char> = owned.iter().map(|a| a.as_ptr().cast_mut()).collect();
        argv.push(std::ptr::null_mut());
        // SAFETY: argv holds argc NUL-terminated strings that outlive the call, then a null pointer,
        // as a C `main` expects; llama-bench does not keep them.
        let code = unsafe { llama_bench(owned.len() as c_int, argv.as_mut_ptr()) };
        if code == 0 {
            Ok(())
        } else {
            Err(CliError::runtime(format!("llama-bench exited with {code}")))
        }
    }
    #[cfg(not(feature = "llama-bench"))]
    {
        let _ = args;
        Err(CliError::input(
            "this omost was built without llama-bench (scripts/gpu-bench-pack builds it in)",
        ))
    }
}
