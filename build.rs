//! Build script: only two optional builds need anything here.
//!
//! - CUDA with a toolkit from PyPI (scripts/setup-cuda): llama-cpp-sys-2 links the *static* cuBLAS,
//!   which PyPI does not have; that script gives it empty archives of those names and sets
//!   `OMOST_CUDA_SHARED_CUBLAS`, and here the shared cuBLAS is linked in their place. Link arguments
//!   come after every library on the command line, so the linker finds llama.cpp's cuBLAS calls there.
//! - `--features llama-bench`: compiles llama.cpp's `tools/llama-bench/llama-bench.cpp` (from
//!   `OMOST_LLAMA_BENCH_SRC`) against llama-cpp-sys-2's headers (`OMOST_LLAMA_SYS_SRC`), to be linked
//!   with the same archives as the rest of the binary; its model download code needs the crate's
//!   cpp-httplib archive (`OMOST_LLAMA_SYS_OUT`) and OpenSSL. scripts/gpu-bench-pack sets all three.

use std::path::PathBuf;

fn env_path(name: &str) -> PathBuf {
    println!("cargo:rerun-if-env-changed={name}");
    match std::env::var_os(name) {
        Some(v) => PathBuf::from(v),
        None => panic!("--features llama-bench needs {name} (scripts/gpu-bench-pack sets it)"),
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=OMOST_CUDA_SHARED_CUBLAS");
    println!("cargo:rerun-if-env-changed=CUDA_HOME");
    let cuda_build = std::env::var_os("CARGO_FEATURE_CUDA").is_some();
    if cuda_build && std::env::var_os("OMOST_CUDA_SHARED_CUBLAS").is_some() {
        let cuda_home = std::env::var("CUDA_HOME").unwrap_or_else(|_| "/usr/local/cuda".into());
        println!("cargo:rustc-link-arg=-L{cuda_home}/lib64");
        println!("cargo:rustc-link-arg=-lcublas");
        println!("cargo:rustc-link-arg=-lcublasLt");
    }

    if std::env::var_os("CARGO_FEATURE_LLAMA_BENCH").is_some() {
        let bench = env_path("OMOST_LLAMA_BENCH_SRC");
        let sys = env_path("OMOST_LLAMA_SYS_SRC");
        let sys_out = env_path("OMOST_LLAMA_SYS_OUT");
        let source = bench.join("llama-bench.cpp");
        println!("cargo:rerun-if-changed={}", source.display());
        cc::Build::new()
            .cpp(true)
            .std("c++17")
            .opt_level(3)
            .define("NDEBUG", None)
            .warnings(false)
            .includes([
                sys.join("include"),
                sys.join("ggml/include"),
                sys.join("common"),
                sys.join("vendor"),
                bench.clone(),
            ])
            .file(source)
            .compile("omost_llama_bench");
        let httplib = sys_out.join("build/vendor/cpp-httplib");
        println!("cargo:rustc-link-arg=-L{}", httplib.display());
        for lib in ["cpp-httplib", "ssl", "crypto"] {
            println!("cargo:rustc-link-arg=-l{lib}");
        }
    }
}
