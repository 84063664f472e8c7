//! An S3 bucket as a source: where CloudTrail delivers, usually encrypted under a customer KMS key
//! (S3 decrypts SSE-KMS objects for a caller allowed `kms:Decrypt`).
//!
//! Listing walks the key layout with delimiters (organization, accounts, services, regions) and
//! lists each region folder only from the first wanted day on (`start-after`), stopping after the
//! last one, so a filtered or incremental run never lists the whole bucket. Reads overlap up to
//! `concurrency` requests; each is retried with backoff when throttled, refused with a 5xx, timed out
//! or cut short, and a body whose length does not match is never handed to decode.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use chrono::NaiveDate;
use futures::{StreamExt, stream};

use super::{
    DigestRef, Fetched, Filter, Kind, Listing, ObjectRef, Preflight, Source, classify, is_account,
};

/// How to reach the bucket (`ingest s3://…` and `mirror` flags).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// An S3-compatible endpoint (also used for KMS); path-style addressing is used with it.
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The longest one object's read may take, retries included (`--object-timeout`).
    pub object_timeout: Option<Duration>,
}

pub struct S3Source {
    bucket: String,
    object_timeout: Option<Duration>,
    /// Empty, or a key prefix ending in `/`.
    prefix: String,
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    concurrency: usize,
    /// The bucket's KMS key once the preflight has seen it, to name it in later errors.
    kms_key: OnceLock<String>,
}

/// Reads of one object: the SDK retries each request itself; this loop also covers bodies cut short.
const ATTEMPTS: u32 = 5;

/// Split `s3://bucket[/prefix]`.
pub fn parse_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| anyhow!("{url:?} is not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.len() < 3 || bucket.len() > 63 || bucket.contains(|c: char| c.is_whitespace()) {
        bail!("{url:?}: {bucket:?} is not a bucket name (3 to 63 characters)");
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

/// What went wrong with a request, in the terms an operator acts on.
struct Failure {
    retry: bool,
    code: Option<String>,
    status: Option<u16>,
    text: String,
}

impl Failure {
    fn of<E>(e: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = e.code().map(str::to_string);
        let status = e.raw_response().map(|r| r.status().as_u16());
        let transient = matches!(
            e,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        );
        let throttled = matches!(
            code.as_deref(),
            Some("SlowDown" | "Throttling" | "ThrottlingException" | "RequestTimeout")
        );
        let text = match (&code, e.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.clone(),
            _ => chain(e),
        };
        Failure {
            retry: transient || throttled || status.is_some_and(|s| s >= 500),
            code,
            status,
            text,
        }
    }

    fn retryable(text: String) -> Failure {
        Failure {
            retry: true,
            code: None,
            status: None,
            text,
        }
    }

    fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn denied(&self) -> bool {
        self.is("AccessDenied") || self.status == Some(403)
    }
}

/// An error and its causes, by their messages (the SDK's own rendering adds Debug dumps).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}

fn micros(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<i64> {
    let t = t?;
    t.secs()
        .checked_mul(1_000_000)?
        .checked_add(i64::from(t.subsec_nanos() / 1000))
}

fn day_key(d: NaiveDate) -> String {
    d.format("%Y/%m/%d").to_string()
}

impl S3Source {
    pub fn connect(url: &str, opts: &S3Options) -> Result<S3Source> {
        let (bucket, prefix) = parse_url(url)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the S3 client runtime")?;
        let conf = rt.block_on(async {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(4)
                        .with_initial_backoff(Duration::from_millis(200)),
                )
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(10))
                        .read_timeout(Duration::from_secs(60))
                        .build(),
                );
            if let Some(p) = &opts.profile {
                loader = loader.profile_name(p);
            }
            if let Some(r) = &opts.region {
                loader = loader.region(Region::new(r.clone()));
            }
            if let Some(e) = &opts.endpoint_url {
                loader = loader.endpoint_url(e);
            }
            loader.load().await
        });
        // Without a configured region, us-east-1 answers for every bucket's listing redirects.
        let region = conf
            .region()
            .cloned()
            .unwrap_or_else(|| Region::new("us-east-1"));
        let s3 = aws_sdk_s3::config::Builder::from(&conf)
            .region(region.clone())
            .force_path_style(opts.endpoint_url.is_some())
            .build();
        let kms = aws_sdk_kms::config::Builder::from(&conf)
            .region(region)
            .build();
        Ok(S3Source {
            bucket,
            prefix,
            rt,
            s3: aws_sdk_s3::Client::from_conf(s3),
            kms: aws_sdk_kms::Client::from_conf(kms),
            concurrency: opts.concurrency.max(1),
            object_timeout: opts.object_timeout,
            kms_key: OnceLock::new(),
        })
    }

    fn root(&self) -> String {
        format!("{}AWSLogs/", self.prefix)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn key_arn(&self) -> String {
        self.kms_key
            .get()
            .cloned()
            .unwrap_or_else(|| "the bucket's KMS key".to_string())
    }

    /// The sentence an operator needs when a listing fails.
    fn list_error(&self, prefix: &str, f: &Failure) -> anyhow::Error {
        let what = if f.is("NoSuchBucket") || f.status == Some(404) {
            format!(
                "the bucket {} does not exist (check the name, and --region / --endpoint-url)",
                self.bucket
            )
        } else if f.denied() {
            format!(
                "s3:ListBucket is denied on arn:aws:s3:::{} (prefix {prefix}); grant this principal \
                 s3:ListBucket on the bucket, or point at a prefix it may list",
                self.bucket
            )
        } else if f.is("PermanentRedirect") || f.status == Some(301) {
            format!(
                "the bucket {} is in another region; pass --region",
                self.bucket
            )
        } else if f.text.contains("no credentials") || f.text.contains("credential provider") {
            "no AWS credentials found: set them in the environment, pass --profile, run `aws sso \
             login`, or run where an instance or container role is available"
                .to_string()
        } else {
            format!(
                "cannot list s3://{}/{prefix}; check credentials (environment, --profile, `aws sso \
                 login`) and the endpoint",
                self.bucket
            )
        };
        anyhow!("{what} [{}]", f.text)
    }

    /// The sentence an operator needs when reading an object fails for good.
    fn read_error(&self, key: &str, f: &Failure) -> anyhow::Error {
        let kms = f.code.as_deref().is_some_and(|c| c.starts_with("KMS."))
            || (f.denied() && f.text.to_ascii_lowercase().contains("kms"));
        let what = if kms {
            format!(
                "S3 could not decrypt {} with the KMS key {}: the key must be enabled and this \
                 principal needs kms:Decrypt on it (ask the key's owner to check its key policy and \
                 state)",
                self.url(key),
                self.key_arn()
            )
        } else if f.denied() {
            format!(
                "s3:GetObject is denied on arn:aws:s3:::{}/{key}; grant this principal s3:GetObject \
                 on the bucket's AWSLogs/ prefix",
                self.bucket
            )
        } else if f.is("NoSuchKey") {
            format!(
                "{} was listed but is gone (deleted or moved while the run was reading)",
                self.url(key)
            )
        } else {
            format!("cannot read {}", self.url(key))
        };
        anyhow!("{what} [{}]", f.text)
    }

    /// `f` over `items`, at most `concurrency` at once, results in order; the first error wins.
    async fn each<I, T, F, Fut>(&self, items: I, f: F) -> Result<Vec<T>>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        stream::iter(items)
            .map(f)
            .buffered(self.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// One page-walk under `prefix`: the sub-folders and the objects directly in it.
    async fn list_level(&self, prefix: &str) -> Result<(Vec<String>, Vec<ObjectRef>)> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        let (mut folders, mut objects) = (Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.list_error(prefix, &Failure::of(&e)))?;
            folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            objects.extend(page.contents().iter().filter_map(object_ref));
        }
        Ok((folders, objects))
    }

    /// Every object under `prefix` after `start_after`, up to the first whose key date passes `last`.
    async fn list_days(
        &self,
        prefix: &str,
        start_after: Option<String>,
        last: Option<NaiveDate>,
    ) -> Result<Vec<ObjectRef>> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(start_after)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.list_error(prefix, &Failure::of(&e)))?;
            for o in page.contents().iter().filter_map(object_ref) {
                // Day folders are zero-padded, so keys come in date order: stop at the first late one.
                if let (Some(last), Some(d)) = (last, classify(&o.key).date)
                    && d > last
                {
                    return Ok(out);
                }
                out.push(o);
            }
        }
        Ok(out)
    }

    async fn list_async(&self, f: &Filter) -> Result<Listing> {
        let mut listing = Listing::default();
        let root = self.root();
        listing.listed_prefixes.push(root.clone());
        let (tops, loose) = self.list_level(&root).await?;
        let mut stray = loose;
        let mut accounts = Vec::new();
        let mut orgs = Vec::new();
        for t in tops {
            let name = last_segment(&t);
            if name.starts_with("o-") {
                orgs.push(t);
            } else if is_account(name) {
                accounts.push(t);
            } else {
                // A foreign folder is counted once, by its prefix, and never listed.
                listing.skipped.entry("foreign").or_default().push(t);
            }
        }
        for org in orgs {
            listing.listed_prefixes.push(org.clone());
            let (inner, loose) = self.list_level(&org).await?;
            stray.extend(loose);
            for a in inner {
                if is_account(last_segment(&a)) {
                    accounts.push(a);
                } else {
                    listing.skipped.entry("foreign").or_default().push(a);
                }
            }
        }
        accounts.retain(|a| f.account(last_segment(a)));

        // Services of each account, then regions of each service.
        let services = self
            .each(accounts, |a| async move {
                let (s, loose) = self.list_level(&a).await?;
                Ok((a, s, loose))
            })
            .await?;
        let mut service_folders = Vec::new();
        for (a, svcs, loose) in services {
            listing.listed_prefixes.push(a);
            stray.extend(loose);
            for s in svcs {
                match last_segment(&s) {
                    "CloudTrail" | "CloudTrail-Digest" | "CloudTrail-Insight" => {
                        service_folders.push(s)
                    }
                    "Config" => {
                        // Only the writability check file lives directly here; snapshots are
                        // counted by their folder without being listed.
                        let (sub, loose) = self.list_level(&s).await?;
                        stray.extend(loose);
                        listing.skipped.entry("config").or_default().extend(sub);
                    }
                    _ => listing.skipped.entry("foreign").or_default().push(s),
                }
            }
        }
        let regions = self
            .each(service_folders, |s| async move {
                let (r, _) = self.list_level(&s).await?;
                Ok((s, r))
            })
            .await?;
        let mut day_listings = Vec::new();
        for (s, rs) in regions {
            listing.listed_prefixes.push(s.clone());
            let account = account_of(&s);
            for r in rs {
                let region = last_segment(&r).to_string();
                if !f.region(&region) {
                    continue;
                }
                let resume = f.resume.get(&(account.clone(), region));
                let first = match (f.from, resume) {
                    (Some(a), Some(b)) => Some(a.max(*b)),
                    (a, b) => a.or(b.copied()),
                };
                // Keys of day D sort after "R/YYYY/MM/DD" and every earlier day before it.
                let start_after = first.map(|d| format!("{r}{}", day_key(d)));
                listing.listed_prefixes.push(match &start_after {
                    Some(s) => format!("{r} after {s}"),
                    None => r.clone(),
                });
                day_listings.push((r, start_after));
            }
        }
        let last = f.to.and_then(|t| t.succ_opt());
        let found = self
            .each(day_listings, |(r, after)| async move {
                self.list_days(&r, after, last).await
            })
            .await?;
        for o in found.into_iter().flatten().chain(stray) {
            let info = classify(&o.key);
            match info.kind {
                Kind::Log if f.key(&info) => listing.logs.push(o),
                Kind::Digest if f.key(&info) => listing.digests.push(DigestRef {
                    object: o,
                    signature: None,
                    signature_algorithm: None,
                }),
                Kind::Log | Kind::Digest => {}
                Kind::DigestSidecar => listing.skipped.entry("foreign").or_default().push(o.key),
                Kind::Skip(why) => listing.skipped.entry(why).or_default().push(o.key),
            }
        }
        listing.logs.sort_by(|a, b| a.key.cmp(&b.key));
        listing
            .digests
            .sort_by(|a, b| a.object.key.cmp(&b.object.key));
        Ok(listing)
    }

    async fn try_fetch(&self, o: &ObjectRef) -> Result<Fetched, Failure> {
        let resp = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&o.key)
            .send()
            .await
            .map_err(|e| Failure::of(&e))?;
        let expected = resp.content_length();
        let etag = resp.e_tag().map(|t| t.trim_matches('"').to_string());
        let metadata = resp.metadata().cloned().unwrap_or_default();
        let bytes = resp
            .body
            .collect()
            .await
            .map_err(|e| Failure::retryable(format!("the body was cut short: {e}")))?
            .into_bytes();
        let got = bytes.len() as u64;
        if let Some(n) = expected.and_then(|n| u64::try_from(n).ok())
            && got != n
        {
            return Err(Failure::retryable(format!(
                "got {got} of {n} bytes (Content-Length)"
            )));
        }
        // A listed object has a known size and tag: anything else is a short or replaced body.
        if o.etag.is_some() && got != o.size {
            return Err(Failure::retryable(format!(
                "got {got} bytes, the listing said {}",
                o.size
            )));
        }
        if let (Some(listed), Some(now)) = (&o.etag, &etag)
            && listed != now
        {
            return Err(Failure::retryable(format!(
                "the object changed since it was listed (etag {listed} → {now})"
            )));
        }
        Ok(Fetched {
            bytes: bytes.to_vec(),
            metadata,
        })
    }

    /// Read one object within the object budget: a stalled body or endless retries end there.
    async fn fetch(&self, o: &ObjectRef) -> Result<Fetched> {
        let span = tracing::debug_span!("fetch", key = %o.key, size = o.size);
        let Some(budget) = self.object_timeout else {
            return tracing::Instrument::instrument(self.fetch_retrying(o), span).await;
        };
        let read = tracing::Instrument::instrument(self.fetch_retrying(o), span);
        match tokio::time::timeout(budget, read).await {
            Ok(r) => r,
            Err(_) => Err(super::TimedOut {
                key: o.key.clone(),
                budget,
            }
            .into()),
        }
    }

    async fn fetch_retrying(&self, o: &ObjectRef) -> Result<Fetched> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self.try_fetch(o).await {
                Ok(f) => return Ok(f),
                Err(f) if f.retry && attempt < ATTEMPTS => {
                    tracing::warn!(key = %o.key, attempt, error = %f.text, "read failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
                Err(f) if f.retry => {
                    return Err(anyhow!(
                        "cannot read {} after {ATTEMPTS} attempts [{}]",
                        self.url(&o.key),
                        f.text
                    ));
                }
                Err(f) => return Err(self.read_error(&o.key, &f)),
            }
        }
    }

    /// The first log object within the filter, found by walking only the prefixes it allows.
    async fn find_probe(&self, tops: Vec<String>, f: &Filter) -> Result<Option<ObjectRef>> {
        for t in tops {
            let name = last_segment(&t);
            let accounts = if name.starts_with("o-") {
                self.list_level(&t).await?.0
            } else {
                vec![t]
            };
            for a in accounts {
                let id = last_segment(&a);
                if !is_account(id) || !f.account(id) {
                    continue;
                }
                let (regions, _) = self.list_level(&format!("{a}CloudTrail/")).await?;
                for r in regions.iter().filter(|r| f.region(last_segment(r))) {
                    let page = self
                        .s3
                        .list_objects_v2()
                        .bucket(&self.bucket)
                        .prefix(r)
                        .set_start_after(f.from.map(|d| format!("{r}{}", day_key(d))))
                        .max_keys(1)
                        .send()
                        .await
                        .map_err(|e| self.list_error(r, &Failure::of(&e)))?;
                    if let Some(o) = page.contents().iter().find_map(object_ref) {
                        return Ok(Some(o));
                    }
                }
            }
        }
        Ok(None)
    }

    async fn preflight_async(&self, f: &Filter) -> Result<Preflight> {
        let root = self.root();
        // Listing the top of the layout proves s3:ListBucket (and that the bucket exists).
        let (tops, _) = self.list_level(&root).await?;
        let mut pre = Preflight::default();
        match self
            .s3
            .get_bucket_encryption()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => {
                pre.kms_key = out
                    .server_side_encryption_configuration()
                    .into_iter()
                    .flat_map(|c| c.rules())
                    .filter_map(|r| r.apply_server_side_encryption_by_default())
                    .find_map(|d| d.kms_master_key_id().map(str::to_string));
            }
            Err(e) => {
                let fl = Failure::of(&e);
                if !fl.is("ServerSideEncryptionConfigurationNotFoundError") {
                    pre.warnings.push(format!(
                        "cannot read the default encryption of {} ({}); the KMS key is checked by \
                         reading an object instead (s3:GetEncryptionConfiguration is optional)",
                        self.bucket, fl.text
                    ));
                }
            }
        }
        // One real read proves s3:GetObject and, for SSE-KMS objects, kms:Decrypt.
        let probe = self.find_probe(tops, f).await?;
        if let Some(o) = &probe {
            let head = self
                .s3
                .head_object()
                .bucket(&self.bucket)
                .key(&o.key)
                .send()
                .await;
            if let Ok(h) = head
                && pre.kms_key.is_none()
            {
                pre.kms_key = h.ssekms_key_id().map(str::to_string);
            }
        }
        if let Some(k) = pre.kms_key.clone() {
            let _ = self.kms_key.set(k.clone());
            match self.kms.describe_key().key_id(&k).send().await {
                Ok(out) => {
                    let state = out
                        .key_metadata()
                        .and_then(|m| m.key_state())
                        .map(|s| s.as_str().to_string());
                    if let Some(arn) = out.key_metadata().and_then(|m| m.arn()) {
                        pre.kms_key = Some(arn.to_string());
                    }
                    if let Some(s) = state.filter(|s| s != "Enabled") {
                        bail!(
                            "the KMS key {} of bucket {} is {s}: S3 cannot decrypt the trail's \
                             objects (kms:Decrypt fails on a key that is not enabled). Ask the \
                             key's owner to enable it (aws kms enable-key) or cancel its deletion; \
                             nothing was written",
                            pre.kms_key.as_deref().unwrap_or(&k),
                            self.bucket
                        );
                    }
                }
                Err(e) => pre.warnings.push(format!(
                    "cannot describe the KMS key {k} ({}); its state is checked by reading an \
                     object instead (kms:DescribeKey is optional)",
                    Failure::of(&e).text
                )),
            }
        }
        match &probe {
            Some(o) => {
                self.fetch(o).await.with_context(|| {
                    format!(
                        "preflight read of {} failed; nothing was written",
                        self.url(&o.key)
                    )
                })?;
            }
            None => pre.warnings.push(format!(
                "s3://{}/{root} holds no CloudTrail log within the filters: are the prefix and \
                 filters right?",
                self.bucket
            )),
        }
        Ok(pre)
    }
}

fn object_ref(o: &aws_sdk_s3::types::Object) -> Option<ObjectRef> {
    Some(ObjectRef {
        key: o.key()?.to_string(),
        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        last_modified: micros(o.last_modified()),
        etag: o.e_tag().map(|t| t.trim_matches('"').to_string()),
    })
}

fn last_segment(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The account of a `…/AWSLogs/[o-…/]ACCOUNT/SERVICE/` folder.
fn account_of(service_folder: &str) -> String {
    let parts: Vec<&str> = service_folder.trim_end_matches('/').split('/').collect();
    parts
        .len()
        .checked_sub(2)
        .and_then(|i| parts.get(i))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

impl Source for S3Source {
    fn bucket(&self) -> Option<String> {
        Some(self.bucket.clone())
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn preflight(&self, filter: &Filter) -> Result<Preflight> {
        self.rt.block_on(self.preflight_async(filter))
    }

    fn list(&self, filter: &Filter) -> Result<Listing> {
        self.rt.block_on(self.list_async(filter))
    }

    fn get(&self, object: &ObjectRef) -> Result<Fetched> {
        self.rt.block_on(self.fetch(object))
    }

    fn remote(&self) -> bool {
        true
    }

    fn get_many(&self, objects: &[ObjectRef]) -> Vec<Result<Fetched>> {
        self.rt.block_on(
            stream::iter(objects)
                .map(|o| self.fetch(o))
                .buffered(self.concurrency)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("s3://trail-bucket").ok(),
            Some(("trail-bucket".to_string(), String::new()))
        );
        assert_eq!(
            parse_url("s3://trail-bucket/org/logs/").ok(),
            Some(("trail-bucket".to_string(), "org/logs/".to_string()))
        );
        assert!(parse_url("s3://ab").is_err());
        assert!(parse_url("/tmp/x").is_err());
    }

    #[test]
    fn layout_helpers() {
        assert_eq!(last_segment("p/AWSLogs/o-abc/"), "o-abc");
        assert_eq!(
            account_of("p/AWSLogs/o-abc/111122223333/CloudTrail/"),
            "111122223333"
        );
        assert_eq!(
            day_key(NaiveDate::from_ymd_opt(2025, 3, 6).unwrap_or_default()),
            "2025/03/06"
        );
    }
}
