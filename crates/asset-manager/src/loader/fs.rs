//! The asset directory as the loader reads it: every entry is resolved to
//! where it really is (links followed) and refused unless that is inside the
//! directory; only regular files are opened, and never past the size limits.
//!
//! ConfigMap volumes are made of links (`agents -> ..data/agents`), so links
//! that stay inside are followed like any entry. A FIFO would block `open`,
//! a device would stream forever, a link outside would upload what the
//! directory does not hold: all are refused with the path named.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::AssetError;
use crate::limits::Limits;

/// The directory being loaded, and what has been listed and read so far.
pub(crate) struct AssetDir {
    /// The directory's real path (no links in it).
    root: PathBuf,
    limits: Limits,
    listed: u64,
    read: u64,
}

/// An entry found inside the directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The path as named in the asset directory, relative to it.
    pub(crate) relative: PathBuf,
    /// The last component of `relative`.
    pub(crate) name: String,
    /// Where the entry really is: inside the directory, without links.
    real: PathBuf,
    pub(crate) kind: Kind,
    /// Device and inode: the same directory reached twice has the same id.
    pub(crate) id: (u64, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Directory,
    /// A FIFO, socket or device: never opened.
    Special(&'static str),
}

impl AssetDir {
    pub(crate) fn open(dir: &Path, limits: Limits) -> Result<(Self, Entry), AssetError> {
        let unreadable = |reason: String| AssetError::Unreadable {
            path: dir.to_path_buf(),
            reason,
        };
        let root = std::fs::canonicalize(dir).map_err(|error| unreadable(error.to_string()))?;
        let metadata = std::fs::metadata(&root).map_err(|error| unreadable(error.to_string()))?;
        if !metadata.is_dir() {
            return Err(unreadable("not a directory".into()));
        }
        let entry = Entry {
            relative: PathBuf::new(),
            name: String::new(),
            real: root.clone(),
            kind: Kind::Directory,
            id: (metadata.dev(), metadata.ino()),
        };
        let dir = AssetDir {
            root,
            limits,
            listed: 0,
            read: 0,
        };
        Ok((dir, entry))
    }

    /// The entry `name` of the directory `parent`, or `None` if there is none.
    pub(crate) fn child(&self, parent: &Entry, name: &str) -> Result<Option<Entry>, AssetError> {
        match std::fs::symlink_metadata(parent.real.join(name)) {
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            _ => self.resolve(parent, OsStr::new(name)).map(Some),
        }
    }

    /// The names in `dir`, sorted; hidden ones (ConfigMap mounts add
    /// `..data` and dot-directories) are left out but counted.
    pub(crate) fn list(&mut self, dir: &Entry) -> Result<Vec<OsString>, AssetError> {
        let unreadable = |error: std::io::Error| AssetError::Unreadable {
            path: dir.relative.clone(),
            reason: error.to_string(),
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir.real).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            self.listed += 1;
            if self.listed > self.limits.max_files {
                return Err(refused(
                    &dir.relative,
                    format!(
                        "the asset directory has more than {} entries (ASSET_MAX_FILES)",
                        self.limits.max_files
                    ),
                ));
            }
            let name = entry.file_name();
            if !name.as_encoded_bytes().starts_with(b".") {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The entry `name` of `parent`, its links followed: refused when they
    /// lead outside the directory, loop or lead nowhere.
    pub(crate) fn resolve(&self, parent: &Entry, name: &OsStr) -> Result<Entry, AssetError> {
        let relative = parent.relative.join(name);
        let Some(utf8) = name.to_str() else {
            return Err(refused(&relative, "the name is not UTF-8".into()));
        };
        let named = parent.real.join(name);
        let unreadable = |error: std::io::Error| AssetError::Unreadable {
            path: relative.clone(),
            reason: error.to_string(),
        };
        let link = std::fs::symlink_metadata(&named).map_err(unreadable)?;
        let real = if link.file_type().is_symlink() {
            let target = std::fs::canonicalize(&named).map_err(|error| {
                let reason = match error.kind() {
                    ErrorKind::NotFound => "a symbolic link to nothing".to_owned(),
                    _ if error.raw_os_error() == Some(libc::ELOOP) => {
                        "a symbolic link loop".to_owned()
                    }
                    _ => format!("a symbolic link that cannot be followed: {error}"),
                };
                refused(&relative, reason)
            })?;
            if !target.starts_with(&self.root) {
                return Err(refused(
                    &relative,
                    format!(
                        "a symbolic link to {}, outside the asset directory",
                        target.display()
                    ),
                ));
            }
            target
        } else {
            named
        };
        let metadata = std::fs::symlink_metadata(&real).map_err(unreadable)?;
        Ok(Entry {
            relative,
            name: utf8.to_owned(),
            kind: kind_of(&metadata),
            id: (metadata.dev(), metadata.ino()),
            real,
        })
    }

    /// Where `entry` really is, relative to the directory (for messages).
    pub(crate) fn shown(&self, entry: &Entry) -> PathBuf {
        entry
            .real
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| entry.real.clone())
    }

    /// Reads `file` as UTF-8 text, within the per-file and total limits:
    /// the size is checked before reading, and the read is bounded in case
    /// the file grows meanwhile.
    pub(crate) fn read_text(&mut self, file: &Entry) -> Result<String, AssetError> {
        expect_file(file)?;
        let unreadable = |error: std::io::Error| AssetError::Unreadable {
            path: file.relative.clone(),
            reason: error.to_string(),
        };
        // O_NONBLOCK: should a FIFO have replaced the file since it was
        // resolved, opening it returns instead of waiting for a writer.
        let opened: File = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&file.real)
            .map_err(unreadable)?;
        let metadata = opened.metadata().map_err(unreadable)?;
        if let Kind::Special(_) | Kind::Directory = kind_of(&metadata) {
            return Err(refused(&file.relative, "no longer a regular file".into()));
        }
        let allowed = self.allowance(file, metadata.len())?;
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        opened
            .take(allowed + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        let size = bytes.len() as u64;
        self.allowance(file, size)?;
        self.read += size;
        String::from_utf8(bytes).map_err(|error| AssetError::InvalidFile {
            file: file.relative.clone(),
            message: format!("not UTF-8 text (byte {})", error.utf8_error().valid_up_to()),
        })
    }

    /// How many bytes `file` may have; an error naming the limit if `size` is more.
    fn allowance(&self, file: &Entry, size: u64) -> Result<u64, AssetError> {
        let left = self.limits.max_total_bytes.saturating_sub(self.read);
        if size > self.limits.max_file_bytes {
            return Err(refused(
                &file.relative,
                format!(
                    "{size} bytes, more than ASSET_MAX_FILE_BYTES ({})",
                    self.limits.max_file_bytes
                ),
            ));
        }
        if size > left {
            return Err(refused(
                &file.relative,
                format!(
                    "{size} bytes, which would bring the files read to more than \
                     ASSET_MAX_TOTAL_BYTES ({})",
                    self.limits.max_total_bytes
                ),
            ));
        }
        Ok(self.limits.max_file_bytes.min(left))
    }
}

/// Refuses anything but a regular file.
pub(crate) fn expect_file(entry: &Entry) -> Result<(), AssetError> {
    match entry.kind {
        Kind::File => Ok(()),
        Kind::Directory => Err(refused(
            &entry.relative,
            "a directory, where a file is expected".into(),
        )),
        Kind::Special(what) => Err(refused(
            &entry.relative,
            format!("{what}, not a regular file"),
        )),
    }
}

/// Refuses anything but a directory.
pub(crate) fn expect_directory(entry: &Entry) -> Result<(), AssetError> {
    match entry.kind {
        Kind::Directory => Ok(()),
        Kind::File => Err(refused(
            &entry.relative,
            "a file, where a directory is expected".into(),
        )),
        Kind::Special(what) => Err(refused(
            &entry.relative,
            format!("{what}, where a directory is expected"),
        )),
    }
}

pub(crate) fn refused(path: &Path, reason: String) -> AssetError {
    AssetError::Refused {
        path: path.to_path_buf(),
        reason,
    }
}

fn kind_of(metadata: &Metadata) -> Kind {
    let kind = metadata.file_type();
    if kind.is_file() {
        Kind::File
    } else if kind.is_dir() {
        Kind::Directory
    } else if kind.is_fifo() {
        Kind::Special("a FIFO")
    } else if kind.is_socket() {
        Kind::Special("a socket")
    } else if kind.is_char_device() {
        Kind::Special("a character device")
    } else if kind.is_block_device() {
        Kind::Special("a block device")
    } else {
        Kind::Special("not a file or directory")
    }
}
