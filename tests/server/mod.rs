//! llama.cpp's `llama-server` with the test model, for the remote-LLM tests (a real server, started on
//! 127.0.0.1 and stopped when dropped).

use std::path::PathBuf;

use crate::common::test_model;

/// llama.cpp's `llama-server`, as `scripts/fetch-llama-server` builds it (`$OMOST_LLAMA_SERVER`
/// overrides it).
pub fn llama_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("OMOST_LLAMA_SERVER") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("OMOST_SERVER_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/llama-server"));
    std::fs::read_dir(&cache)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("build/bin/llama-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no llama-server under {}: run scripts/fetch-llama-server",
                cache.display()
            )
        })
}

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `llama-server` with the test model on 127.0.0.1, stopped when dropped.
pub struct LlamaServer {
    child: std::process::Child,
    pub port: u16,
    pub log: PathBuf,
}

impl LlamaServer {
    /// Starts the server with `extra` arguments and waits until it answers `/health` (or panics with
    /// its log after 60 s).
    pub fn start(name: &str, extra: &[&str]) -> LlamaServer {
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "omost-llama-server-{name}-{}.log",
            std::process::id()
        ));
        let file = std::fs::File::create(&log).expect("server log");
        let child = std::process::Command::new(llama_server_binary())
            .args(["-m", test_model().to_str().expect("path")])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-c", "4096", "-np", "1", "-t", "2"])
            .args(extra)
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("llama-server starts");
        let server = LlamaServer { child, port, log };
        server.wait_ready(extra.contains(&"--ssl-cert-file"));
        server
    }

    fn wait_ready(&self, tls: bool) {
        use std::io::{Read, Write};
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(60) {
            // Over TLS, listening is enough: the client waits while the model loads (HTTP 503).
            if tls {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                if log.contains("listening on https") {
                    return;
                }
            } else if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ =
                    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!(
            "llama-server did not start: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server now (as a crash or a restart would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}
