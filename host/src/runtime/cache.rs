//! On-disk cache of compiled connectors.
//!
//! Compiling a component with Cranelift costs ~100 ms in a release host and
//! ~1.6 s in a debug one; loading the precompiled artifact costs well under a
//! millisecond. Artifacts are keyed by the component's sha256 and the engine's
//! compatibility hash (wasmtime version + settings), so an upgrade or a
//! config change simply misses, and a corrupt or stale file is recompiled.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// How a component was obtained (for logs and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Compiled,
    /// Compiled, but the artifact could not be written (cache dir unusable).
    CompiledUncached,
}

impl CompileCache {
    /// `dir: None` disables caching.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        CompileCache { dir, engine_key }
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    /// The compiled component for `bytes` (whose sha256 is `sha256`).
    pub fn load(&self, engine: &Engine, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, CacheOutcome)> {
        if let Some(path) = self.path_for(sha256)
            && path.is_file()
        {
            // SAFETY: the file was written by `Component::serialize` of an
            // engine with the same compatibility hash (part of the name), in
            // Ferry's own cache directory; a failed load falls back to
            // compiling.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled connector");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        let outcome = match self.path_for(sha256) {
            Some(path) => {
                match component.serialize().map_err(|e| e.to_string()).and_then(|a| write_atomic(&path, &a)) {
                    Ok(()) => CacheOutcome::Compiled,
                    Err(e) => {
                        tracing::debug!(path = %path.display(), error = %e, "compiled connector not cached");
                        CacheOutcome::CompiledUncached
                    }
                }
            }
            None => CacheOutcome::CompiledUncached,
        };
        Ok((component, outcome))
    }
}

/// Write via a temporary file and rename, so concurrent Ferry processes
/// never read a half-written artifact.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().ok_or("cache path has no parent")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| e.to_string())?;
    tmp.persist(path).map_err(|e| e.to_string())?;
    Ok(())
}
