//! Reading an exported OCI layout archive: manifests, configs, layers, and
//! each platform's merged root filesystem.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// An OCI layout archive read into memory.
pub struct Oci {
    blobs: BTreeMap<String, Vec<u8>>,
    pub index: Value,
}

/// One platform's image.
pub struct PlatformImage {
    /// `linux/arm/v7`.
    pub platform: String,
    pub config: Value,
    pub manifest_digest: String,
    pub config_digest: String,
    /// The compressed layers' digests, in order.
    pub layer_digests: Vec<String>,
    /// Each layer's files, in order.
    pub layers: Vec<BTreeMap<String, Entry>>,
    /// Bytes of the compressed layers.
    pub compressed_size: u64,
}

/// One file in a layer.
#[derive(Clone, Debug)]
pub struct Entry {
    pub mode: u32,
    /// Seconds since 1970.
    pub mtime: u64,
    pub link: Option<String>,
    pub dir: bool,
    pub data: Vec<u8>,
}

impl Entry {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).to_string()
    }
}

impl Oci {
    pub fn open(path: &Path) -> Oci {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut archive = tar::Archive::new(file);
        let mut blobs = BTreeMap::new();
        let mut index = Value::Null;
        for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
            let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
            let name = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .unwrap_or_else(|e| panic!("{e}"));
            if name == "index.json" {
                index = serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{e}"));
            } else if let Some(hex) = name.strip_prefix("blobs/sha256/") {
                blobs.insert(format!("sha256:{hex}"), data);
            }
        }
        assert!(blobs.len() > 5, "no blobs in {}", path.display());
        Oci { blobs, index }
    }

    pub fn blob(&self, digest: &str) -> &[u8] {
        self.blobs
            .get(digest)
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("blob {digest} missing"))
    }

    /// The digest of what the archive's index.json points to: the image
    /// index of a multi-platform image, as a registry would publish it.
    pub fn index_digest(&self) -> String {
        let manifests = self.index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(manifests.len(), 1, "one image in the archive");
        manifests[0]["digest"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(self.blob(digest)).unwrap_or_else(|e| panic!("{digest}: {e}"))
    }

    /// The platform images, sorted by platform (attestations left out).
    pub fn images(&self) -> Vec<PlatformImage> {
        let mut out = Vec::new();
        let mut queue: Vec<Value> = self.index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        while let Some(desc) = queue.pop() {
            let digest = desc["digest"].as_str().unwrap_or_default().to_string();
            let doc = self.json(&digest);
            if doc["manifests"].is_array() {
                queue.extend(doc["manifests"].as_array().cloned().unwrap_or_default());
                continue;
            }
            let p = &desc["platform"];
            let os = p["os"].as_str().unwrap_or_default();
            if os == "unknown" {
                continue;
            }
            let mut platform = format!("{os}/{}", p["architecture"].as_str().unwrap_or_default());
            if let Some(v) = p["variant"].as_str() {
                platform = format!("{platform}/{v}");
            }
            let layer_descs = doc["layers"].as_array().cloned().unwrap_or_default();
            let layers = layer_descs
                .iter()
                .map(|l| layer_entries(self.blob(l["digest"].as_str().unwrap_or_default())))
                .collect();
            let compressed_size = layer_descs
                .iter()
                .map(|l| l["size"].as_u64().unwrap_or(0))
                .sum();
            let config_digest = doc["config"]["digest"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let config = self.json(&config_digest);
            let layer_digests = layer_descs
                .iter()
                .map(|l| l["digest"].as_str().unwrap_or_default().to_string())
                .collect();
            out.push(PlatformImage {
                platform,
                config,
                manifest_digest: digest,
                config_digest,
                layer_digests,
                layers,
                compressed_size,
            });
        }
        out.sort_by(|a, b| a.platform.cmp(&b.platform));
        out
    }
}

impl PlatformImage {
    /// The files as the container sees them (later layers win).
    pub fn merged(&self) -> BTreeMap<String, Entry> {
        let mut fs = BTreeMap::new();
        for l in &self.layers {
            fs.extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        fs
    }

    /// The busybox applets the image links: the names of its symlinks to
    /// `/bin/busybox`.
    pub fn applet_links(&self) -> BTreeSet<String> {
        self.merged()
            .iter()
            .filter(|(_, e)| e.link.as_deref() == Some("/bin/busybox"))
            .filter_map(|(path, _)| path.rsplit('/').next().map(str::to_string))
            .collect()
    }

    pub fn file(&self, path: &str) -> Entry {
        self.merged()
            .remove(path)
            .unwrap_or_else(|| panic!("{}: no {path} in the image", self.platform))
    }

    /// Writes the merged filesystem under `dir` (emptied first), so its
    /// programs can be run.
    pub fn extract(&self, dir: &Path) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for (path, entry) in self.merged() {
            let dest = dir.join(&path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            if entry.dir {
                std::fs::create_dir_all(&dest).unwrap_or_else(|e| panic!("{e}"));
            } else if let Some(target) = &entry.link {
                std::os::unix::fs::symlink(target, &dest)
                    .unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
            } else {
                std::fs::write(&dest, &entry.data).unwrap_or_else(|e| panic!("{e}"));
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    &dest,
                    std::fs::Permissions::from_mode(entry.mode & 0o777),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    /// The uncompressed layers' digests, from the config.
    pub fn diff_ids(&self) -> Vec<String> {
        self.config["rootfs"]["diff_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Sum of the regular files' sizes: the extracted root filesystem.
    pub fn rootfs_size(&self) -> u64 {
        self.merged()
            .values()
            .filter(|e| !e.dir && e.link.is_none())
            .map(|e| e.data.len() as u64)
            .sum()
    }
}

fn layer_entries(blob: &[u8]) -> BTreeMap<String, Entry> {
    let gz = flate2::read::GzDecoder::new(blob);
    let mut archive = tar::Archive::new(gz);
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let path = entry
            .path()
            .map(|p| p.display().to_string().trim_start_matches("./").to_string())
            .unwrap_or_default();
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.display().to_string());
        let mode = entry.header().mode().unwrap_or(0);
        let mtime = entry.header().mtime().unwrap_or(0);
        let dir = entry.header().entry_type().is_dir();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .unwrap_or_else(|e| panic!("{e}"));
        let path = path.trim_end_matches('/').to_string();
        if path.is_empty() {
            continue;
        }
        out.insert(
            path,
            Entry {
                mode,
                mtime,
                link,
                dir,
                data,
            },
        );
    }
    out
}
