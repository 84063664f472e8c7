//! Object stores for the lake's folders that are not Delta tables (the derived answers,
//! `query::derived`), with the lake's own storage options (S3 endpoint, SSE-KMS).

use std::sync::Arc;

use anyhow::{Context, Result};
use object_store::ObjectStore;

impl super::LakeLocation {
    /// A store rooted at `dir/` below the lake.
    pub fn derived_store(&self, dir: &str) -> Result<Arc<dyn ObjectStore>> {
        let url = self
            .root
            .join(&format!("{dir}/"))
            .with_context(|| format!("the lake folder {dir}"))?;
        Ok(self.builder(&url)?.build_storage()?.object_store(None))
    }
}
