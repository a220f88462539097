//! The registry datasets of the fx family (`genlab data fetch moh-music | timgm6mb`): recorded
//! music and a General-MIDI SoundFont, both from Debian packages.

use genlab_core::data::{Build, DatasetInfo, Provider, Recipe, Source};

/// Five recorded music tracks.
pub const MOH_MUSIC: DatasetInfo = DatasetInfo {
    name: "moh-music",
    description: "5 recorded music tracks, 1,107 s in all, mono 8 kHz WAV",
    source: "Debian package asterisk-moh-opsound-wav",
    licence: "CC BY-SA 3.0",
    size: "14 MB download, 17 MB on disk",
    provider: Provider::Packaged(&MOH_MUSIC_RECIPE),
};

/// The TimGM6mb SoundFont.
pub const TIMGM6MB: DatasetInfo = DatasetInfo {
    name: "timgm6mb",
    description: "TimGM6mb General MIDI SoundFont (128 instruments + drums), SF2",
    source: "Debian package timgm6mb-soundfont",
    licence: "GPL-2",
    size: "5.4 MB download, 6 MB on disk",
    provider: Provider::Packaged(&TIMGM6MB_RECIPE),
};

/// Five recorded music tracks (mono, 8 kHz, s16) from `asterisk-moh-opsound-wav` 2.03-1.1.
const MOH_MUSIC_RECIPE: Recipe = Recipe {
    source: Source::Debian(&["asterisk-moh-opsound-wav"]),
    build: Build::Take("usr/share/asterisk/moh"),
    files: &[
        (
            "macroform-cold_day.wav",
            "716048b9913498c5416ed2df0d28b562b5c8017c07a030e19bb119b96d905b92",
        ),
        (
            "macroform-robot_dity.wav",
            "018064be59d8830d495c948231aefa286369eaff9a289a112af09acf94b57445",
        ),
        (
            "macroform-the_simplicity.wav",
            "ce642e2f083a9d2df94b252476f6a339c93a59882838fce5d4dd6afbdcf2cef9",
        ),
        (
            "manolo_camp-morning_coffee.wav",
            "43540271262ebb37f5a760dea62686cc30dc379d85757a83f79b8bc0dce8bedb",
        ),
        (
            "reno_project-system.wav",
            "6eab497384d54844e064125625ae6e147973de6a4b1e58fad87cf5aa095fbf92",
        ),
    ],
};

/// The TimGM6mb General-MIDI SoundFont from `timgm6mb-soundfont` 1.3-5.
const TIMGM6MB_RECIPE: Recipe = Recipe {
    source: Source::Debian(&["timgm6mb-soundfont"]),
    build: Build::Take("usr/share/sounds/sf2"),
    files: &[(
        "TimGM6mb.sf2",
        "c5378b62028c920cb11e4803327983fee2f2cdff5dc89c708e39da417e51c854",
    )],
};
