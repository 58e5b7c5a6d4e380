//! The terminal's own texts and labels per language, read from the catalog files in
//! src/locale/catalog/ (one TOML file per language, embedded in the binary, sections
//! `[texts]` and `[labels]`, and `[console]`: the cashier console's texts). A language the
//! catalog does not have, or a key a language lacks, falls back to English; the unit tests
//! below keep every file complete.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The languages with a catalog file, English first (the fallback).
const FILES: [(&str, &str); 11] = [
    ("en", include_str!("catalog/en.toml")),
    ("de", include_str!("catalog/de.toml")),
    ("sv", include_str!("catalog/sv.toml")),
    ("fr", include_str!("catalog/fr.toml")),
    ("nl", include_str!("catalog/nl.toml")),
    ("es", include_str!("catalog/es.toml")),
    ("it", include_str!("catalog/it.toml")),
    ("da", include_str!("catalog/da.toml")),
    ("nb", include_str!("catalog/nb.toml")),
    ("fi", include_str!("catalog/fi.toml")),
    ("pl", include_str!("catalog/pl.toml")),
];

/// A section of a catalog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    /// `[texts]`: the customer display's texts ([`super::Text`]).
    Texts,
    /// `[labels]`: receipt and report labels ([`super::Label`]).
    Labels,
}

/// One language's catalog file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguageFile {
    #[serde(default)]
    texts: HashMap<String, String>,
    #[serde(default)]
    labels: HashMap<String, String>,
    #[serde(default)]
    console: HashMap<String, String>,
}

impl LanguageFile {
    fn get(&self, section: Section, key: &str) -> Option<&str> {
        let table = match section {
            Section::Texts => &self.texts,
            Section::Labels => &self.labels,
        };
        table.get(key).map(String::as_str)
    }
}

/// Every language's file, parsed at first use.
static CATALOG: LazyLock<Vec<(&'static str, LanguageFile)>> =
    LazyLock::new(|| FILES.iter().map(|(lang, source)| (*lang, parse(lang, source))).collect());

fn parse(lang: &str, source: &str) -> LanguageFile {
    toml::from_str(source).unwrap_or_else(|e| {
        tracing::error!(lang, error = %e, "this language's texts do not parse; English is shown instead");
        LanguageFile::default()
    })
}

/// The text under `key` in the language of `locale` (`de-AT` → `de`), else in English,
/// else the key itself.
pub(super) fn lookup(section: Section, key: &'static str, locale: &str) -> &'static str {
    let lang = locale.split('-').next().unwrap_or("en");
    let catalog: &'static [(&'static str, LanguageFile)] = &CATALOG;
    let find = |file: &'static LanguageFile| file.get(section, key);
    catalog
        .iter()
        .find(|(l, _)| *l == lang)
        .and_then(|(_, file)| find(file))
        .or_else(|| catalog.first().and_then(|(_, file)| find(file)))
        .unwrap_or(key)
}

/// The console's texts in `lang` (a language, or a locale: `de-AT` → `de`; one the catalog
/// lacks is English), each key the language lacks in English: the language and the texts.
pub fn console_texts(lang: &str) -> (&'static str, std::collections::BTreeMap<&'static str, &'static str>) {
    let lang = lang.split('-').next().unwrap_or("en");
    let catalog: &'static [(&'static str, LanguageFile)] = &CATALOG;
    let english = catalog.first();
    let chosen = catalog.iter().find(|(l, _)| *l == lang).or(english);
    let mut texts: std::collections::BTreeMap<&'static str, &'static str> = std::collections::BTreeMap::new();
    for (_, file) in english.into_iter().chain(chosen) {
        texts.extend(file.console.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    (chosen.map_or("en", |(l, _)| *l), texts)
}

/// The languages of the console: each language with its own name for itself.
pub fn console_languages() -> Vec<(&'static str, &'static str)> {
    let catalog: &'static [(&'static str, LanguageFile)] = &CATALOG;
    catalog.iter().map(|(l, f)| (*l, f.console.get("language_name").map_or(*l, String::as_str))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::{Label, Text};
    use std::collections::BTreeSet;
    use strum::IntoEnumIterator;

    fn keys<T: Into<&'static str>>(all: impl Iterator<Item = T>) -> BTreeSet<&'static str> {
        all.map(Into::into).collect()
    }

    #[test]
    fn every_language_file_has_exactly_every_key_and_no_empty_text() {
        let texts = keys(Text::iter());
        let labels = keys(Label::iter());
        for (lang, source) in FILES {
            let file: LanguageFile =
                toml::from_str(source).unwrap_or_else(|e| panic!("src/locale/catalog/{lang}.toml: {e}"));
            for (section, want, got) in [("texts", &texts, &file.texts), ("labels", &labels, &file.labels)] {
                let have: BTreeSet<&str> = got.keys().map(String::as_str).collect();
                let missing: Vec<_> = want.difference(&have).collect();
                let unknown: Vec<_> = have.difference(want).collect();
                assert!(
                    missing.is_empty() && unknown.is_empty(),
                    "{lang}.toml [{section}]: missing {missing:?}, unknown {unknown:?}"
                );
                let empty: Vec<_> = got.iter().filter(|(_, v)| v.trim().is_empty()).map(|(k, _)| k).collect();
                assert!(empty.is_empty(), "{lang}.toml [{section}]: empty {empty:?}");
            }
        }
    }

    /// The `{name}`s a text fills in.
    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
    }

    #[test]
    fn every_language_has_every_console_text_with_its_placeholders() {
        let english: LanguageFile = toml::from_str(FILES[0].1).unwrap_or_default();
        assert!(english.console.len() > 100, "the console's English texts are missing");
        for (lang, source) in FILES {
            let file: LanguageFile =
                toml::from_str(source).unwrap_or_else(|e| panic!("src/locale/catalog/{lang}.toml: {e}"));
            let want: BTreeSet<&str> = english.console.keys().map(String::as_str).collect();
            let have: BTreeSet<&str> = file.console.keys().map(String::as_str).collect();
            let missing: Vec<_> = want.difference(&have).collect();
            let unknown: Vec<_> = have.difference(&want).collect();
            assert!(
                missing.is_empty() && unknown.is_empty(),
                "{lang}.toml [console]: missing {missing:?}, unknown {unknown:?}"
            );
            for (key, text) in &file.console {
                assert!(!text.trim().is_empty(), "{lang}.toml [console] {key} is empty");
                let en = english.console.get(key).map(String::as_str).unwrap_or_default();
                assert_eq!(placeholders(text), placeholders(en), "{lang}.toml [console] {key}: {text}");
            }
        }
        assert_eq!(console_texts("sv-SE").0, "sv");
        assert_eq!(console_texts("ja").0, "en");
    }

    #[test]
    fn keys_are_snake_case_variant_names() {
        assert_eq!(<&str>::from(Text::PresentCardShort), "present_card_short");
        assert_eq!(<&str>::from(Label::PaidWithKlarna), "paid_with_klarna");
    }

    #[test]
    fn region_and_unknown_languages() {
        assert_eq!(lookup(Section::Texts, "approved", "de-AT"), "Zahlung erfolgreich");
        assert_eq!(lookup(Section::Texts, "approved", "pl"), "Płatność zaakceptowana");
        assert_eq!(lookup(Section::Texts, "approved", "ja-JP"), "Payment approved");
        assert_eq!(lookup(Section::Labels, "total_missing_key", "de"), "total_missing_key");
    }
}
