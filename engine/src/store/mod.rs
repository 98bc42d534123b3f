//! The content-addressed store: every node output keyed by what it depends on.
//!
//! `index.redb` maps a 32-byte key (blake3 of the node's kind, version,
//! canonical config and input keys) to the output's JSON record and the
//! references of its blobs; blobs live as hash-named files under `blobs/`.
//! A blob is written to a temporary file, synced and renamed before the redb
//! transaction that references it commits, and redb commits are durable, so a
//! crash at any point leaves either a whole entry or none (at worst an
//! unreferenced blob file, which is harmless). Each entry notes the operator
//! kind and version that made it, so [`upkeep`] can say what the store holds
//! and keep only what given specs reach.

mod files;
pub mod upkeep;

pub use files::{
    AtomicFile, HeldRenames, hold_renames, is_file_with_writes, place, read_with_writes,
    remove_file_with_writes, remove_stale_temp_files, temp_path, write_atomic, write_file_atomic,
    write_store_file,
};

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::data::{Blob, Output};

/// A content key.
pub type Key = [u8; 32];

const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");
const FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("file-hashes");

/// A store failure: the store cannot be used, which stops the run.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open store {path}: {cause}")]
    Open {
        /// Store folder.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// A file of the store could not be read or written.
    #[error("store file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database failed during a transaction.
    #[error("store database: {0}")]
    Db(String),
    /// An entry could not be decoded (the store was written by an incompatible version).
    #[error("store entry is corrupt: {0}")]
    Corrupt(String),
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// A blob as an entry references it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// File extension.
    pub ext: String,
    /// blake3 of the contents, hex.
    pub hash: String,
    /// Length in bytes.
    pub len: u64,
}

/// An output as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// The record.
    pub record: serde_json::Value,
    /// Its blobs.
    pub blobs: Vec<BlobRef>,
    /// What made it: `<kind>@<version>`, with ` pictures` for a node's pictures
    /// (absent in entries of stores written before it was noted). Not content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// An output to store: its key, what made it (see [`Stored::origin`]) and the output.
pub type Put<'a> = (Key, String, &'a Output);

impl Stored {
    /// A digest of the content (record and blobs): equal digests, equal outputs,
    /// whatever their keys.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(self.record.to_string().as_bytes());
        for blob in &self.blobs {
            h.update(blob.ext.as_bytes());
            h.update(blob.hash.as_bytes());
        }
        *h.finalize().as_bytes()
    }
}

enum Db {
    ReadWrite(Database),
    ReadOnly(ReadOnlyDatabase),
}

/// An open store.
pub struct Store {
    db: Db,
    root: PathBuf,
}

/// The index's page cache. redb's default (1 GiB) would keep every page a
/// long run touches resident, so memory would grow with the number of clips;
/// the interior pages of the index fit in far less.
const CACHE_BYTES: usize = 64 << 20;

impl Store {
    /// Opens (creating if needed) the store in `dir` for reading and writing.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let open_err = |cause: String| StoreError::Open {
            path: dir.to_path_buf(),
            cause,
        };
        fs::create_dir_all(dir.join("blobs")).map_err(|e| open_err(e.to_string()))?;
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(dir.join("index.redb"))
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => open_err(
                    "another maflow process is using it; wait for it or use another `store`".into(),
                ),
                e => open_err(e.to_string()),
            })?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(ENTRIES).map_err(db_err)?;
        txn.open_table(FILES).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Self {
            db: Db::ReadWrite(db),
            root: dir.to_path_buf(),
        })
    }

    /// Opens an existing store for lookups only; `None` when there is none yet.
    pub fn open_read_only(dir: &Path) -> Result<Option<Self>, StoreError> {
        let index = dir.join("index.redb");
        if !index.exists() {
            return Ok(None);
        }
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .open_read_only(&index)
            .map_err(|e| StoreError::Open {
                path: dir.to_path_buf(),
                cause: e.to_string(),
            })?;
        Ok(Some(Self {
            db: Db::ReadOnly(db),
            root: dir.to_path_buf(),
        }))
    }

    fn read_txn(&self) -> Result<redb::ReadTransaction, StoreError> {
        match &self.db {
            Db::ReadWrite(db) => db.begin_read().map_err(db_err),
            Db::ReadOnly(db) => db.begin_read().map_err(db_err),
        }
    }

    fn writable(&self) -> Result<&Database, StoreError> {
        match &self.db {
            Db::ReadWrite(db) => Ok(db),
            Db::ReadOnly(_) => Err(StoreError::Db("store opened read-only".into())),
        }
    }

    /// Looks an output up; an entry whose blob files are gone counts as absent.
    pub fn get(&self, key: &Key) -> Result<Option<Stored>, StoreError> {
        let txn = self.read_txn()?;
        let table = txn.open_table(ENTRIES).map_err(db_err)?;
        let Some(value) = table.get(key.as_slice()).map_err(db_err)? else {
            return Ok(None);
        };
        let stored: Stored = serde_json::from_slice(value.value())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let blobs_present = stored
            .blobs
            .iter()
            .all(|b| fs::metadata(self.blob_path(b)).is_ok_and(|m| m.len() == b.len));
        Ok(blobs_present.then_some(stored))
    }

    /// Whether a complete entry exists.
    pub fn contains(&self, key: &Key) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    /// Stores outputs in one durable transaction, blobs first; returns what was stored.
    pub fn put_many(&self, items: &[Put<'_>]) -> Result<Vec<Stored>, StoreError> {
        let db = self.writable()?;
        let mut stored = Vec::with_capacity(items.len());
        for (_, origin, output) in items {
            let blobs = output
                .blobs
                .iter()
                .map(|b| self.write_blob(b))
                .collect::<Result<Vec<_>, _>>()?;
            stored.push(Stored {
                record: output.record.clone(),
                blobs,
                origin: Some(origin.clone()),
            });
        }
        let txn = db.begin_write().map_err(db_err)?;
        {
            let mut table = txn.open_table(ENTRIES).map_err(db_err)?;
            for ((key, _, _), entry) in items.iter().zip(&stored) {
                let bytes = serde_json::to_vec(entry).expect("stored entries serialise");
                table
                    .insert(key.as_slice(), bytes.as_slice())
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(stored)
    }

    fn write_blob(&self, blob: &Blob) -> Result<BlobRef, StoreError> {
        let hash = blake3::hash(&blob.bytes).to_hex().to_string();
        let r = BlobRef {
            ext: blob.ext.clone(),
            hash,
            len: blob.bytes.len() as u64,
        };
        let path = self.blob_path(&r);
        if fs::metadata(&path).is_ok_and(|m| m.len() == r.len) {
            return Ok(r);
        }
        write_store_file(&path, &blob.bytes)?;
        Ok(r)
    }

    /// Where a blob's file is.
    pub fn blob_path(&self, blob: &BlobRef) -> PathBuf {
        self.root
            .join("blobs")
            .join(&blob.hash[..2])
            .join(format!("{}.{}", blob.hash, blob.ext))
    }

    /// Reads a blob.
    pub fn read_blob(&self, blob: &BlobRef) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(blob);
        fs::read(&path).map_err(|source| StoreError::Io { path, source })
    }

    /// blake3 of a file's contents, remembered by (path, size, mtime) so reruns do not reread it.
    pub fn file_hash(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        let meta = fs::metadata(path)?;
        let mtime = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let canonical = fs::canonicalize(path)?;
        let memo_key = format!("{}\0{}\0{}", canonical.display(), meta.len(), mtime);
        if let Ok(txn) = self.read_txn()
            && let Ok(table) = txn.open_table(FILES)
            && let Ok(Some(v)) = table.get(memo_key.as_str())
            && let Ok(hash) = <[u8; 32]>::try_from(v.value())
        {
            return Ok(hash);
        }
        let hash = hash_file(path)?;
        if let Ok(db) = self.writable() {
            let remember = || -> Result<(), StoreError> {
                let txn = db.begin_write().map_err(db_err)?;
                txn.open_table(FILES)
                    .map_err(db_err)?
                    .insert(memo_key.as_str(), hash.as_slice())
                    .map_err(db_err)?;
                txn.commit().map_err(db_err)
            };
            if let Err(e) = remember() {
                tracing::warn!(error = %e, "could not remember a file hash");
            }
        }
        Ok(hash)
    }

    /// Calls `each` with every entry's key and stored bytes, in key order, in one read snapshot.
    pub fn for_each_entry(
        &self,
        mut each: impl FnMut(Key, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use redb::ReadableTable;
        let txn = self.read_txn()?;
        let table = txn.open_table(ENTRIES).map_err(db_err)?;
        for row in table.iter().map_err(db_err)? {
            let (key, value) = row.map_err(db_err)?;
            let key = Key::try_from(key.value())
                .map_err(|_| StoreError::Corrupt("a key is not 32 bytes".into()))?;
            each(key, value.value())?;
        }
        Ok(())
    }

    /// Removes entries in one durable transaction (their blob files stay; see [`upkeep`]).
    pub fn remove_many(&self, keys: &[Key]) -> Result<(), StoreError> {
        let txn = self.writable()?.begin_write().map_err(db_err)?;
        {
            let mut table = txn.open_table(ENTRIES).map_err(db_err)?;
            for key in keys {
                table.remove(key.as_slice()).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of entries.
    pub fn len(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        let txn = self.read_txn()?;
        txn.open_table(ENTRIES)
            .map_err(db_err)?
            .len()
            .map_err(db_err)
    }

    /// Whether the store has no entries.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

/// blake3 of a file's contents.
pub fn hash_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(fs::File::open(path)?)?;
    Ok(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_a_lost_blob_makes_the_entry_absent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let out = Output {
            record: serde_json::json!({"n": 1}),
            blobs: vec![Blob {
                ext: "png".into(),
                bytes: vec![1, 2, 3],
            }],
            pictures: None,
        };
        let key = [7u8; 32];
        let stored = store.put_many(&[(key, "test@1".into(), &out)]).unwrap();
        assert_eq!(store.get(&key).unwrap().as_ref(), Some(&stored[0]));
        assert_eq!(store.read_blob(&stored[0].blobs[0]).unwrap(), vec![1, 2, 3]);
        fs::remove_file(store.blob_path(&stored[0].blobs[0])).unwrap();
        assert_eq!(store.get(&key).unwrap(), None);
    }

    #[test]
    fn file_hash_is_content_hash_and_tracks_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        let f = dir.path().join("clip.mp4");
        fs::write(&f, b"abc").unwrap();
        assert_eq!(
            store.file_hash(&f).unwrap(),
            *blake3::hash(b"abc").as_bytes()
        );
        assert_eq!(
            store.file_hash(&f).unwrap(),
            *blake3::hash(b"abc").as_bytes()
        );
        fs::write(&f, b"abcd").unwrap();
        assert_eq!(
            store.file_hash(&f).unwrap(),
            *blake3::hash(b"abcd").as_bytes()
        );
    }
}
