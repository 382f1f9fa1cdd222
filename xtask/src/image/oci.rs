//! OCI image archives without a container tool: writing one from an
//! [`ImageSpec`] and a staged root filesystem, and reading one back (for
//! its digest, and for pushing its blobs as they are).
//!
//! Everything that goes into a digest is deterministic: layer entries in
//! path order, owner 0:0, mtime `SOURCE_DATE_EPOCH`, modes from the staged
//! files, gzip without a timestamp, JSON with sorted keys.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Read, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, HistoryBuilder, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, RootFsBuilder, Sha256Digest,
};
use sha2::{Digest as _, Sha256};

use super::spec::ImageSpec;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Writes `spec` as an OCI archive tagged `reference`; returns the
/// manifest digest.
pub fn write_archive(
    spec: &ImageSpec,
    rootfs: &Path,
    reference: &str,
    epoch: i64,
    created: &str,
    out: &Path,
) -> Result<String> {
    let mtime = u64::try_from(epoch).context("SOURCE_DATE_EPOCH before 1970")?;
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut layer_descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for layer in &spec.layers {
        let mut entries = BTreeMap::new();
        for (from, to) in &layer.copies {
            collect_entries(&rootfs.join(from), to.trim_start_matches('/'), &mut entries)?;
        }
        let tar = layer_tar(&entries, mtime)?;
        diff_ids.push(sha256_digest(&tar));
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&tar)?;
        let compressed = gzip.finish()?;
        layer_descriptors.push(descriptor(MediaType::ImageLayerGzip, &compressed)?);
        let copies: Vec<String> = layer.copies.iter().map(|(_, to)| to.clone()).collect();
        history.push(
            HistoryBuilder::default()
                .created(created.to_owned())
                .created_by(format!(
                    "COPY {} (cargo xtask build-image)",
                    copies.join(" ")
                ))
                .build()?,
        );
        blobs.insert(sha256_digest(&compressed), compressed);
    }

    let labels: HashMap<String, String> = spec.config.labels.iter().cloned().collect();
    let mut config = ConfigBuilder::default()
        .user(spec.config.user.clone())
        .env(spec.config.env.clone())
        .exposed_ports(spec.config.exposed_ports.clone())
        .labels(labels)
        .build()?;
    config.set_entrypoint(spec.config.entrypoint.clone());
    config.set_cmd(spec.config.cmd.clone());
    let image_config = ImageConfigurationBuilder::default()
        .created(created.to_owned())
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(config)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers".to_owned())
                .diff_ids(diff_ids)
                .build()?,
        )
        .history(history)
        .build()?;
    let config_json = canonical_json(&image_config)?;
    let config_descriptor = descriptor(MediaType::ImageConfig, &config_json)?;
    blobs.insert(sha256_digest(&config_json), config_json);

    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_descriptor)
        .layers(layer_descriptors)
        .build()?;
    let manifest_json = canonical_json(&manifest)?;
    let manifest_digest = sha256_digest(&manifest_json);
    let mut manifest_descriptor = descriptor(MediaType::ImageManifest, &manifest_json)?;
    manifest_descriptor.set_annotations(Some(HashMap::from([(
        REF_NAME.to_owned(),
        reference.to_owned(),
    )])));
    blobs.insert(manifest_digest.clone(), manifest_json);

    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest_descriptor])
        .build()?;
    write_layout_tar(out, &canonical_json(&index)?, &blobs, mtime)?;
    Ok(manifest_digest)
}

/// A staged file or directory headed for a layer.
enum Entry {
    Dir,
    File {
        source: std::path::PathBuf,
        mode: u32,
    },
}

/// Adds `source` at `target` (relative), with every parent directory.
fn collect_entries(
    source: &Path,
    target: &str,
    entries: &mut BTreeMap<String, Entry>,
) -> Result<()> {
    let mut parent = String::new();
    for part in target
        .split('/')
        .collect::<Vec<_>>()
        .split_last()
        .map_or(&[][..], |(_, rest)| rest)
    {
        parent = if parent.is_empty() {
            (*part).to_owned()
        } else {
            format!("{parent}/{part}")
        };
        entries.insert(parent.clone(), Entry::Dir);
    }
    let meta = fs::metadata(source).with_context(|| format!("reading {}", source.display()))?;
    if meta.is_dir() {
        entries.insert(target.to_owned(), Entry::Dir);
        let mut children: Vec<_> = fs::read_dir(source)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        children.sort();
        for child in children {
            let name = child.to_str().context("non-UTF-8 file name in the image")?;
            collect_entries(&source.join(name), &format!("{target}/{name}"), entries)?;
        }
    } else if meta.is_file() {
        entries.insert(
            target.to_owned(),
            Entry::File {
                source: source.to_path_buf(),
                mode: meta.permissions().mode() & 0o7777,
            },
        );
    } else {
        bail!("{} is neither a file nor a directory", source.display());
    }
    Ok(())
}

fn layer_tar(entries: &BTreeMap<String, Entry>, mtime: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, entry) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        match entry {
            Entry::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
            }
            Entry::File { source, mode } => {
                let data =
                    fs::read(source).with_context(|| format!("reading {}", source.display()))?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, path, data.as_slice())?;
            }
        }
    }
    Ok(builder.into_inner()?)
}

/// The image layout (`oci-layout`, `index.json`, `blobs/sha256/*`) as a tar.
fn write_layout_tar(
    out: &Path,
    index: &[u8],
    blobs: &BTreeMap<String, Vec<u8>>,
    mtime: u64,
) -> Result<()> {
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir)?;
    }
    let partial = out.with_extension("tar.partial");
    let file =
        fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    let mut add = |path: &str, data: &[u8], dir: bool| -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        header.set_mode(if dir { 0o755 } else { 0o644 });
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, path, data)?;
        Ok(())
    };
    add("blobs/", &[], true)?;
    add("blobs/sha256/", &[], true)?;
    for (digest, data) in blobs {
        let hex = digest.trim_start_matches("sha256:");
        add(&format!("blobs/sha256/{hex}"), data, false)?;
    }
    add("index.json", index, false)?;
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#, false)?;
    builder.into_inner()?.flush()?;
    fs::rename(&partial, out)?;
    Ok(())
}

fn descriptor(media_type: MediaType, data: &[u8]) -> Result<Descriptor> {
    let hex = hex::encode(Sha256::digest(data));
    let digest: Sha256Digest = hex.parse()?;
    Ok(DescriptorBuilder::default()
        .media_type(media_type)
        .size(data.len() as u64)
        .digest(digest)
        .build()?)
}

pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// JSON with object keys sorted at every level (oci-spec keeps labels and
/// annotations in hash maps, whose order changes from run to run).
fn canonical_json(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    fn sort(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<String, serde_json::Value> = map
                    .into_iter()
                    .map(|(key, value)| (key, sort(value)))
                    .collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    Ok(serde_json::to_vec(&sort(serde_json::to_value(value)?))?)
}

/// An OCI archive read back into memory (images here are a few MB).
pub struct OciArchive {
    files: HashMap<String, Vec<u8>>,
    /// Digest of the image's manifest, from `index.json`.
    pub manifest_digest: String,
    pub manifest_media_type: String,
}

impl OciArchive {
    pub fn open(path: &Path) -> Result<Self> {
        let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut archive = tar::Archive::new(file);
        let mut files = HashMap::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            if entry.header().entry_type().is_file() {
                let name = entry
                    .path()?
                    .to_string_lossy()
                    .trim_start_matches("./")
                    .to_owned();
                let mut data = Vec::new();
                entry.read_to_end(&mut data)?;
                files.insert(name, data);
            }
        }
        let index: serde_json::Value = serde_json::from_slice(
            files
                .get("index.json")
                .context("the archive has no index.json")?,
        )?;
        let manifests = index["manifests"]
            .as_array()
            .context("index.json has no manifests")?;
        let [manifest] = manifests.as_slice() else {
            bail!(
                "{} holds {} images, expected one",
                path.display(),
                manifests.len()
            );
        };
        Ok(Self {
            manifest_digest: manifest["digest"]
                .as_str()
                .context("manifest digest")?
                .to_owned(),
            manifest_media_type: manifest["mediaType"]
                .as_str()
                .unwrap_or("application/vnd.oci.image.manifest.v1+json")
                .to_owned(),
            files,
        })
    }

    /// A blob by digest, checked against its digest.
    pub fn blob(&self, digest: &str) -> Result<&[u8]> {
        let hex = digest
            .strip_prefix("sha256:")
            .context("only sha256 digests")?;
        let data = self
            .files
            .get(&format!("blobs/sha256/{hex}"))
            .with_context(|| format!("blob {digest} missing from the archive"))?;
        if sha256_digest(data) != digest {
            bail!("blob {digest} in the archive does not match its digest");
        }
        Ok(data)
    }

    pub fn manifest(&self) -> Result<&[u8]> {
        self.blob(&self.manifest_digest)
    }

    /// Digests of the config and layer blobs the manifest refers to.
    pub fn manifest_blobs(&self) -> Result<Vec<String>> {
        let manifest: serde_json::Value = serde_json::from_slice(self.manifest()?)?;
        let mut digests = vec![
            manifest["config"]["digest"]
                .as_str()
                .context("manifest has no config")?
                .to_owned(),
        ];
        for layer in manifest["layers"]
            .as_array()
            .context("manifest has no layers")?
        {
            digests.push(layer["digest"].as_str().context("layer digest")?.to_owned());
        }
        Ok(digests)
    }
}
