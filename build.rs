//! Build script: only the CUDA build needs anything here.
//!
//! llama-cpp-sys-2 links the *static* cuBLAS, which a CUDA toolkit from PyPI (scripts/setup-cuda) does
//! not have; that script gives it empty archives of those names and sets `OMOST_CUDA_SHARED_CUBLAS`, and
//! here the shared cuBLAS is linked in their place. Link arguments come after every library on the
//! command line, so the linker finds llama.cpp's cuBLAS calls there.

fn main() {
    println!("cargo:rerun-if-env-changed=OMOST_CUDA_SHARED_CUBLAS");
    println!("cargo:rerun-if-env-changed=CUDA_HOME");
    let cuda_build = std::env::var_os("CARGO_FEATURE_CUDA").is_some();
    if !cuda_build || std::env::var_os("OMOST_CUDA_SHARED_CUBLAS").is_none() {
        return;
    }
    let cuda_home = std::env::var("CUDA_HOME").unwrap_or_else(|_| "/usr/local/cuda".into());
    println!("cargo:rustc-link-arg=-L{cuda_home}/lib64");
    println!("cargo:rustc-link-arg=-lcublas");
    println!("cargo:rustc-link-arg=-lcublasLt");
}
