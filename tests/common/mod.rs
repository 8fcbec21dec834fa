//! Helpers shared by the test binaries (and the LLM bench).

use std::path::PathBuf;

/// The test LLM that `scripts/fetch-test-model` puts in the cache (`$OMOST_TEST_LLM` overrides it).
pub fn test_model() -> PathBuf {
    let path = std::env::var_os("OMOST_TEST_LLM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("OMOST_MODEL_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    std::env::var_os("XDG_CACHE_HOME")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| {
                            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                                .join(".cache")
                        })
                        .join("omost-tui/test-models")
                });
            cache.join("SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        path.is_file(),
        "{} is missing: run scripts/fetch-test-model",
        path.display()
    );
    path
}
