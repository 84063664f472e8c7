//! S3/KMS test harness: moto's server on a free loopback port, a fault-injecting HTTP proxy between
//! the SDK and moto, and SDK clients to set buckets up. Nothing leaves 127.0.0.1.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use futures::StreamExt;

use super::util;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// moto's S3/KMS server as a child process; killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    /// Start moto. A missing moto fails the test: run scripts/test.sh, which installs it.
    pub fn start() -> Moto {
        let exe = std::env::var_os("TRAILGLASS_MOTO")
            .map(PathBuf::from)
            .unwrap_or_else(|| util::repo().join(".venv/bin/moto_server"));
        assert!(
            exe.is_file(),
            "moto_server not found at {} — run `bash scripts/test.sh` (it installs moto[server] \
             into .venv) or set TRAILGLASS_MOTO",
            exe.display()
        );
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let mut moto = Moto { child, port };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if http_get_ok(port, "/moto-api/") {
                    return moto;
                }
                if moto.child.try_wait().ok().flatten().is_some() {
                    break; // lost the port race: try another
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start on 127.0.0.1");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get_ok(port: u16, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200")
}

/// What the proxy does to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 503 SlowDown without forwarding.
    SlowDown,
    /// An S3-style XML error with this status, code and message, without forwarding.
    Error(u16, &'static str, String),
    /// Forward, then send half the body and reset the connection.
    ResetMidBody,
    /// Forward, then send half the body (Content-Length unchanged) and close.
    TruncatedBody,
    /// Forward, then send half the body with a Content-Length that matches it.
    ShortBody,
    /// Forward the body in small pieces with pauses.
    SlowBody,
    /// A KMS-style JSON error (`__type`) with this status, code and message, without forwarding.
    KmsError(u16, &'static str, String),
    /// Forward, then send the head and half the body and go silent for this long.
    Stall(Duration),
}

pub struct Rule {
    pub method: &'static str,
    /// Substring of the path (e.g. part of an object key).
    pub path: String,
    /// Substring the query must contain ("" for any).
    pub query: &'static str,
    /// Substring the query must not contain (e.g. "list-type" to spare listings).
    pub not_query: &'static str,
    pub fault: Fault,
    /// How many matching requests get the fault (then it is spent).
    pub times: usize,
    /// Substring the `X-Amz-Target` header must contain ("" for any): picks one KMS action.
    pub amz_target: &'static str,
}

impl Rule {
    /// A fault on reads (not listings) of objects whose path contains `path`.
    pub fn object(path: impl Into<String>, fault: Fault, times: usize) -> Rule {
        Rule {
            method: "GET",
            path: path.into(),
            query: "",
            not_query: "list-type",
            fault,
            times,
            amz_target: "",
        }
    }

    /// A fault on GET requests to `path` whose query contains `query` (e.g. "list-type").
    pub fn query(path: impl Into<String>, query: &'static str, fault: Fault, times: usize) -> Rule {
        Rule {
            method: "GET",
            path: path.into(),
            query,
            not_query: "",
            fault,
            times,
            amz_target: "",
        }
    }

    /// A fault on one KMS action (`Sign`, `GenerateDataKey`, …).
    pub fn kms(action: &'static str, fault: Fault, times: usize) -> Rule {
        Rule {
            method: "POST",
            path: "/".into(),
            query: "",
            not_query: "",
            fault,
            times,
            amz_target: action,
        }
    }
}

#[derive(Default)]
struct ProxyState {
    rules: Vec<Rule>,
    log: Vec<String>,
    faults_served: usize,
    /// Access key ids seen in `Authorization` headers, in first-seen order.
    key_ids: Vec<String>,
}

/// Prefix of the access key ids that carry their own expiry: `ASIAEXP<unix seconds>N<n>`.
/// A request signed with one after that second is answered `ExpiredToken`, as STS-issued keys are.
pub const EXPIRING_KEY_PREFIX: &str = "ASIAEXP";

/// `ExpiredToken` if `auth` is signed with an expiring key id whose second has passed.
fn expired_key(auth: &str) -> Option<Fault> {
    let id = auth.split("Credential=").nth(1)?.split('/').next()?;
    let secs: u64 = id
        .strip_prefix(EXPIRING_KEY_PREFIX)?
        .split('N')
        .next()?
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (now > secs).then(|| {
        Fault::Error(
            400,
            "ExpiredToken",
            "The provided token has expired.".into(),
        )
    })
}

fn key_id(auth: &str) -> Option<String> {
    Some(
        auth.split("Credential=")
            .nth(1)?
            .split('/')
            .next()?
            .to_string(),
    )
}

/// A loopback HTTP/1.1 proxy in front of moto that injects faults. Each connection carries one
/// request (`Connection: close`), which keeps the relay simple.
pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<ProxyState>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = relay(conn, upstream, &st);
                });
            }
        });
        Proxy { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn add(&self, rule: Rule) {
        self.state.lock().expect("proxy state").rules.push(rule);
    }

    pub fn clear(&self) {
        let mut s = self.state.lock().expect("proxy state");
        s.rules.clear();
        s.log.clear();
        s.key_ids.clear();
        s.faults_served = 0;
    }

    /// Requests seen, as "METHOD path?query".
    pub fn log(&self) -> Vec<String> {
        self.state.lock().expect("proxy state").log.clone()
    }

    /// Distinct access key ids that signed requests, in first-seen order.
    pub fn key_ids(&self) -> Vec<String> {
        self.state.lock().expect("proxy state").key_ids.clone()
    }

    pub fn faults_served(&self) -> usize {
        self.state.lock().expect("proxy state").faults_served
    }
}

struct Head {
    first: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.first);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    fn set(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }
}

/// Read a message head; returns it and whatever body bytes came with it.
fn read_head(s: &mut TcpStream) -> std::io::Result<(Head, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = text.split("\r\n");
            let first = lines.next().unwrap_or_default().to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            return Ok((Head { first, headers }, buf[end + 4..].to_vec()));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn relay(mut client: TcpStream, upstream: u16, st: &Mutex<ProxyState>) -> std::io::Result<()> {
    let (mut head, mut body) = read_head(&mut client)?;
    let len: usize = head
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len {
        let mut chunk = vec![0u8; len - body.len()];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut parts = head.first.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let amz_target = head.get("x-amz-target").unwrap_or_default().to_string();
    let fault = {
        let mut s = st.lock().expect("proxy state");
        s.log.push(format!("{method} {target}"));
        let hit = s.rules.iter_mut().find(|r| {
            r.times > 0
                && r.method == method
                && path.contains(&r.path)
                && query.contains(r.query)
                && (r.not_query.is_empty() || !query.contains(r.not_query))
                && (r.amz_target.is_empty() || amz_target.ends_with(&format!(".{}", r.amz_target)))
        });
        let fault = hit.map(|r| {
            r.times -= 1;
            r.fault.clone()
        });
        let auth = head.get("authorization").unwrap_or_default().to_string();
        if let Some(id) = key_id(&auth)
            && !s.key_ids.contains(&id)
        {
            s.key_ids.push(id);
        }
        let fault = fault.or_else(|| expired_key(&auth));
        if fault.is_some() {
            s.faults_served += 1;
        }
        fault
    };
    let error = |client: &mut TcpStream, status: u16, code: &str, msg: &str| {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>proxy</RequestId></Error>"
        );
        let resp = format!(
            "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        client.write_all(resp.as_bytes())
    };
    match &fault {
        Some(Fault::SlowDown) => {
            return error(
                &mut client,
                503,
                "SlowDown",
                "Please reduce your request rate.",
            );
        }
        Some(Fault::Error(status, code, msg)) => return error(&mut client, *status, code, msg),
        Some(Fault::KmsError(status, code, msg)) => {
            let json = format!("{{\"__type\":\"{code}\",\"message\":\"{msg}\"}}");
            let resp = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
            return client.write_all(resp.as_bytes());
        }
        _ => {}
    }

    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    head.set("Connection", "close".into());
    up.write_all(&head.encode())?;
    up.write_all(&body)?;
    let (mut rhead, mut rbody) = read_head(&mut up)?;
    up.read_to_end(&mut rbody)?;
    rhead.set("Connection", "close".into());
    let chunked = rhead
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"));
    let half = rbody.len() / 2;
    match fault {
        Some(Fault::ResetMidBody) if !chunked && half > 0 => {
            client.write_all(&rhead.encode())?;
            client.write_all(&rbody[..half])?;
            client.flush()?;
            reset(&client);
            drop(client);
        }
        Some(Fault::TruncatedBody) if !chunked && half > 0 => {
            client.write_all(&rhead.encode())?;
            client.write_all(&rbody[..half])?;
            client.flush()?;
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(Fault::ShortBody) if !chunked && half > 0 => {
            rhead.set("Content-Length", half.to_string());
            client.write_all(&rhead.encode())?;
            client.write_all(&rbody[..half])?;
        }
        Some(Fault::Stall(pause)) if !chunked && half > 0 => {
            client.write_all(&rhead.encode())?;
            client.write_all(&rbody[..half])?;
            client.flush()?;
            std::thread::sleep(pause);
        }
        Some(Fault::SlowBody) if !chunked => {
            client.write_all(&rhead.encode())?;
            let piece = rbody.len().div_ceil(8).max(1);
            for p in rbody.chunks(piece) {
                client.write_all(p)?;
                client.flush()?;
                std::thread::sleep(Duration::from_millis(150));
            }
        }
        _ => {
            client.write_all(&rhead.encode())?;
            client.write_all(&rbody)?;
        }
    }
    Ok(())
}

/// Close with a TCP reset (SO_LINGER 0), as a dropped connection in the middle of a body looks.
fn reset(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket this function borrows, with a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// moto, a proxy in front of it, SDK clients (straight to moto) and a KMS-encrypted trail bucket.
pub struct S3Env {
    pub moto: Moto,
    pub proxy: Proxy,
    pub rt: tokio::runtime::Runtime,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub key_arn: String,
    /// Send the binary straight to moto instead of through the proxy.
    pub direct: std::cell::Cell<bool>,
}

impl S3Env {
    pub fn start() -> S3Env {
        let moto = Moto::start();
        let proxy = Proxy::start(moto.port);
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let (s3, kms) = rt.block_on(async {
            let conf = aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(moto.url())
                .region(Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "testing", "testing", None, None, "tests",
                ))
                .load()
                .await;
            let s3 = aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build();
            (
                aws_sdk_s3::Client::from_conf(s3),
                aws_sdk_kms::Client::new(&conf),
            )
        });
        let key_arn = rt.block_on(async {
            let k = kms.create_key().send().await.expect("CreateKey");
            k.key_metadata()
                .and_then(|m| m.arn())
                .expect("key ARN")
                .to_string()
        });
        S3Env {
            moto,
            proxy,
            rt,
            s3,
            kms,
            key_arn,
            direct: std::cell::Cell::new(false),
        }
    }

    /// A bucket with default SSE-KMS under the env's key.
    pub fn bucket(&self, name: &str) {
        self.rt.block_on(async {
            self.s3
                .create_bucket()
                .bucket(name)
                .send()
                .await
                .expect("CreateBucket");
            let by_default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(&self.key_arn)
                .build()
                .expect("encryption default");
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .bucket_key_enabled(true)
                .build();
            let conf = ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .expect("encryption configuration");
            self.s3
                .put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(conf)
                .send()
                .await
                .expect("PutBucketEncryption");
        });
    }

    /// Upload every file under `dir` with its relative path as the key. Digest files get a
    /// signature in their metadata, as CloudTrail writes them.
    pub fn upload_dir(&self, bucket: &str, dir: &Path) -> usize {
        let files = util::walk(dir);
        let n = files.len();
        self.rt.block_on(async {
            futures::stream::iter(files)
                .map(|p| {
                    let key = p
                        .strip_prefix(dir)
                        .expect("inside")
                        .to_string_lossy()
                        .into_owned();
                    self.put(bucket, key, std::fs::read(&p).expect("read file"))
                })
                .buffer_unordered(16)
                .collect::<Vec<_>>()
                .await;
        });
        n
    }

    pub fn put_blocking(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.rt.block_on(self.put(bucket, key.to_string(), body));
    }

    async fn put(&self, bucket: &str, key: String, body: Vec<u8>) {
        let mut req = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(body));
        if key.contains("/CloudTrail-Digest/") {
            req = req
                .metadata("signature", fake_signature(&key))
                .metadata("signature-algorithm", "SHA256withRSA");
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }

    pub fn disable_key(&self) {
        self.rt.block_on(async {
            self.kms
                .disable_key()
                .key_id(self.key_arn.rsplit('/').next().unwrap_or_default())
                .send()
                .await
                .expect("DisableKey");
        });
    }

    /// Environment for the trailglass binary: talk to S3/KMS through the proxy, with test keys and
    /// no profile files or instance metadata.
    pub fn env(&self, cmd: &mut Command, secret: &str) {
        let endpoint = if self.direct.get() {
            self.moto.url()
        } else {
            self.proxy.url()
        };
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "AKIATESTTRAILGLASS01")
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
    }
}

/// The hex signature a digest carries in these tests (any stable value per key).
pub fn fake_signature(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}
