//! A small blocking HTTP/1.1 client for talking to LLM servers: plain TCP or TLS (rustls), a connect
//! timeout, an idle timeout while reading, and cancellation that closes the connection at once (so the
//! server stops generating). Responses are read as they arrive, for server-sent events.
//!
//! Written here rather than taken from an HTTP crate because a streaming read must be stoppable from
//! the caller's flag within a fraction of a second, which blocking clients do not offer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a blocked read wakes to look at the cancel flag.
const POLL: Duration = Duration::from_millis(50);

/// Where a server is: `http(s)://host[:port][/base/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The path prefix without a trailing `/` (may be empty).
    pub base: String,
}

impl Endpoint {
    /// Parses a server URL.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| format!("bad server URL {url:?}: {why}");
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("it must start with http:// or https://"));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("no host (credentials go in the API key, not the URL)"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 address: `[::1]` or `[::1]:8080`.
            Some(rest) => {
                let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
                match after.strip_prefix(':') {
                    Some(p) => (host, p.parse::<u16>().map_err(|_| bad("bad port"))?),
                    None if after.is_empty() => (host, default_port),
                    None => return Err(bad("junk after the address")),
                }
            }
            None => match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
                None => (authority, default_port),
            },
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Endpoint {
            tls,
            host: host.to_owned(),
            port,
            base: format!("/{path}").trim_end_matches('/').to_owned(),
        })
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}{}{path}", self.port, self.base)
    }
}

/// Connection settings.
#[derive(Clone, Debug)]
pub struct Client {
    pub endpoint: Endpoint,
    pub connect_timeout: Duration,
    /// Longest wait for the next byte of a response.
    pub idle_timeout: Duration,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// A PEM file of extra trusted certificates (a team server's own CA).
    pub ca_file: Option<PathBuf>,
}

/// Why a request failed.
#[derive(Debug)]
pub enum HttpError {
    /// The caller's flag was set.
    Cancelled,
    /// Anything else, as one line.
    Failed(String),
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Reads that wake every [`POLL`] to honour the cancel flag and the idle timeout.
struct Watched<'a> {
    stream: Stream,
    cancel: &'a AtomicBool,
    idle_timeout: Duration,
}

/// The message carried by the error that ends a cancelled read.
const CANCELLED: &str = "cancelled";

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let since = Instant::now();
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                let _ = self.stream.tcp().shutdown(Shutdown::Both);
                return Err(io::Error::other(CANCELLED));
            }
            match self.stream.read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if since.elapsed() >= self.idle_timeout {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "no answer for {} s",
                                self.idle_timeout.as_secs_f64().round()
                            ),
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A TLS peer that closes without close_notify: the body framing says whether
                // anything was lost.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                other => return other,
            }
        }
    }
}

/// A response whose body is read as it arrives.
pub struct Response<'a> {
    pub status: u16,
    pub reason: String,
    body: Body<'a>,
}

#[derive(Clone, Copy)]
enum Framing {
    Length(u64),
    Chunked { left: u64, done: bool },
    UntilClose,
}

struct Body<'a> {
    reader: BufReader<Watched<'a>>,
    framing: Framing,
}

fn cut_off() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection mid-response",
    )
}

impl Body<'_> {
    /// Reads at most `left` bytes of a framed body, counting them off.
    fn read_framed(&mut self, buf: &mut [u8], left: u64) -> io::Result<usize> {
        let max = buf.len().min(left as usize);
        match self.reader.read(&mut buf[..max])? {
            0 => Err(cut_off()),
            n => Ok(n),
        }
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.framing {
            Framing::Length(0) | Framing::Chunked { done: true, .. } => Ok(0),
            Framing::Length(left) => {
                let n = self.read_framed(buf, left)?;
                self.framing = Framing::Length(left - n as u64);
                Ok(n)
            }
            Framing::UntilClose => self.reader.read(buf),
            Framing::Chunked { left: 0, .. } => {
                let mut line = String::new();
                if self.reader.read_line(&mut line)? == 0 {
                    return Err(cut_off());
                }
                let size = line.trim().split(';').next().unwrap_or("");
                let size = u64::from_str_radix(size, 16).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad chunk size from the server")
                })?;
                if size == 0 {
                    // Trailers, then the blank line.
                    loop {
                        line.clear();
                        if self.reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                            break;
                        }
                    }
                    self.framing = Framing::Chunked {
                        left: 0,
                        done: true,
                    };
                    return Ok(0);
                }
                self.framing = Framing::Chunked {
                    left: size,
                    done: false,
                };
                self.read(buf)
            }
            Framing::Chunked { left, .. } => {
                let n = self.read_framed(buf, left)?;
                let left = left - n as u64;
                if left == 0 {
                    // The CRLF after the chunk's data.
                    let mut crlf = String::new();
                    self.reader.read_line(&mut crlf)?;
                }
                self.framing = Framing::Chunked { left, done: false };
                Ok(n)
            }
        }
    }
}

impl Response<'_> {
    /// The next line of the body without its line end; `None` at the end of the body.
    pub fn next_line(&mut self) -> Result<Option<String>, HttpError> {
        let mut bytes = Vec::new();
        loop {
            let mut byte = [0u8];
            match self.body.read(&mut byte) {
                Ok(0) if bytes.is_empty() => return Ok(None),
                Ok(0) => break,
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => bytes.push(byte[0]),
                Err(e) => return Err(io_error(e)),
            }
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The whole body (at most `limit` bytes) as text.
    pub fn text(mut self, limit: usize) -> Result<String, HttpError> {
        let mut out = Vec::new();
        (&mut self.body)
            .take(limit as u64)
            .read_to_end(&mut out)
            .map_err(io_error)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

fn io_error(e: io::Error) -> HttpError {
    if e.to_string() == CANCELLED {
        HttpError::Cancelled
    } else {
        HttpError::Failed(e.to_string())
    }
}

impl Client {
    /// Sends `method path` (under the endpoint's base) with an optional JSON body and returns the
    /// response once its headers are in. `cancel` stops the request at any point.
    pub fn request<'a>(
        &self,
        method: &str,
        path: &str,
        json: Option<&str>,
        cancel: &'a AtomicBool,
    ) -> Result<Response<'a>, HttpError> {
        let ep = &self.endpoint;
        let tcp = self.connect()?;
        // The TLS handshake reads while the request is sent: allow it the connect timeout.
        tcp.set_read_timeout(Some(self.connect_timeout))
            .and_then(|_| tcp.set_write_timeout(Some(self.idle_timeout)))
            .and_then(|_| tcp.set_nodelay(true))
            .map_err(|e| HttpError::Failed(format!("cannot set up the connection: {e}")))?;
        let stream = if ep.tls {
            Stream::Tls(Box::new(rustls::StreamOwned::new(self.tls()?, tcp)))
        } else {
            Stream::Plain(tcp)
        };
        let mut conn = Watched {
            stream,
            cancel,
            idle_timeout: self.idle_timeout,
        };
        let name = if ep.host.contains(':') {
            format!("[{}]", ep.host)
        } else {
            ep.host.clone()
        };
        let host = if ep.port == if ep.tls { 443 } else { 80 } {
            name
        } else {
            format!("{name}:{}", ep.port)
        };
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: omost-tui/{}\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\n",
            ep.base,
            env!("CARGO_PKG_VERSION")
        );
        if let Some(key) = &self.api_key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        if let Some(body) = json {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(json.unwrap_or("").as_bytes());
        conn.stream
            .write_all(&request)
            .and_then(|_| conn.stream.flush())
            .and_then(|_| conn.stream.tcp().set_read_timeout(Some(POLL)))
            .map_err(|e| HttpError::Failed(format!("cannot send the request: {e}")))?;

        let mut reader = BufReader::new(conn);
        let mut status_line = String::new();
        match reader.read_line(&mut status_line) {
            Ok(0) => {
                return Err(HttpError::Failed(
                    "the server closed the connection without answering".into(),
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(io_error(e)),
        }
        let mut parts = status_line.trim_end().splitn(3, ' ');
        let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let status = match (version.starts_with("HTTP/1."), code.parse::<u16>()) {
            (true, Ok(s)) => s,
            _ => {
                return Err(HttpError::Failed(format!(
                    "not an HTTP server (it answered {:?})",
                    status_line.trim_end().chars().take(40).collect::<String>()
                )))
            }
        };
        let reason = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(io_error)? == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let framing = if find("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            Framing::Chunked {
                left: 0,
                done: false,
            }
        } else if let Some(len) = find("Content-Length").and_then(|v| v.parse().ok()) {
            Framing::Length(len)
        } else {
            Framing::UntilClose
        };
        Ok(Response {
            status,
            reason,
            body: Body { reader, framing },
        })
    }

    fn connect(&self) -> Result<TcpStream, HttpError> {
        let ep = &self.endpoint;
        let addrs: Vec<_> = (ep.host.as_str(), ep.port)
            .to_socket_addrs()
            .map_err(|e| HttpError::Failed(format!("cannot resolve {}: {e}", ep.host)))?
            .collect();
        let mut last = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, self.connect_timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        let why = match last {
            Some(e) if e.kind() == io::ErrorKind::TimedOut => format!(
                "no answer within {} s",
                self.connect_timeout.as_secs_f64().round()
            ),
            Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                "connection refused (is the server running on that port?)".into()
            }
            Some(e) => e.to_string(),
            None => "the name resolves to no address".into(),
        };
        Err(HttpError::Failed(format!(
            "cannot connect to {}:{}: {why}",
            ep.host, ep.port
        )))
    }

    fn tls(&self) -> Result<rustls::ClientConnection, HttpError> {
        let fail = |m: String| HttpError::Failed(m);
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| fail(format!("cannot read CA file {}: {e}", path.display())))?;
            let mut added = 0;
            for cert in rustls_pemfile_certs(&pem) {
                roots
                    .add(cert)
                    .map_err(|e| fail(format!("CA file {}: {e}", path.display())))?;
                added += 1;
            }
            if added == 0 {
                return Err(fail(format!(
                    "CA file {} holds no PEM certificate",
                    path.display()
                )));
            }
        }
        if roots.is_empty() {
            return Err(fail(
                "no trusted certificates found: install ca-certificates, set SSL_CERT_FILE, or give a CA file".into(),
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(self.endpoint.host.clone())
            .map_err(|e| fail(format!("bad TLS server name {}: {e}", self.endpoint.host)))?;
        rustls::ClientConnection::new(Arc::new(config), name)
            .map_err(|e| fail(format!("TLS setup: {e}")))
    }
}

/// The certificates in a PEM file.
fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_urls() {
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.base.as_str()),
            (false, "127.0.0.1", 8080, "")
        );
        let e = Endpoint::parse("https://llm.example.com/v1/").unwrap();
        assert_eq!((e.tls, e.port, e.base.as_str()), (true, 443, "/v1"));
        assert_eq!(e.url("/models"), "https://llm.example.com:443/v1/models");
        let e = Endpoint::parse("http://[::1]:11434").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 11434));
        assert_eq!(e.url(""), "http://[::1]:11434");
        let e = Endpoint::parse("https://[fe80::1]/v1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.base.as_str()),
            ("fe80::1", 443, "/v1")
        );
        for bad in [
            "localhost:8080",
            "ftp://x",
            "http://",
            "http://h:port",
            "http://u:p@h",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
