//! Starting the terminal app with bad input fails before the terminal is touched: one line, exit 2.

use std::process::Command;

fn omost(args: &[&str], config_home: &std::path::Path) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .output()
        .expect("omost runs");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_config_theme_or_no_terminal_are_one_line_errors() {
    let dir = std::env::temp_dir().join(format!("omost-app-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("omost-tui")).unwrap();
    let config = dir.join("omost-tui/config.toml");

    std::fs::write(&config, "theme = \"dark\"\nwidht = 1024\n").unwrap();
    let (code, err) = omost(&[], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("config.toml:2:") && err.contains("widht"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    std::fs::write(&config, "theme = \"solarized\"\n").unwrap();
    let (code, err) = omost(&[], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no theme `solarized`"), "{err}");

    std::fs::write(&config, "width = 1000\n").unwrap();
    let (code, err) = omost(&[], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--width"), "{err}");

    std::fs::write(&config, "[keys]\nrender = \"c\"\n").unwrap();
    let (code, err) = omost(&[], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("config.toml: [keys] c is bound to both render and colour"),
        "{err}"
    );

    std::fs::write(
        &config,
        "llm = \"m.gguf\"\nllm_url = \"http://127.0.0.1:1\"\n",
    )
    .unwrap();
    let (code, err) = omost(&[], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("config.toml: llm and llm_url are both set"),
        "{err}"
    );
    // A flag naming an engine replaces the config file's.
    let (code, err) = omost(
        &["--llm-url", "http://127.0.0.1:1", "--llm-grammar", "gbnf"],
        &dir,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("auto, llama, vllm or none"), "{err}");

    // A good config, but no terminal (the test's stdout is a pipe).
    std::fs::write(&config, "theme = \"light\"\nwidth = 1024\n").unwrap();
    let (code, err) = omost(&[], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs a terminal"), "{err}");

    let (code, err) = omost(
        &["--config", dir.join("absent.toml").to_str().unwrap()],
        &dir,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("absent.toml"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}
