//! `[console]`: the cashier console's idle lock, the refund a cashier may make without a
//! supervisor, and the catalogue its quick keys sell from (inline `[[console.articles]]`
//! and/or a CSV file `reference,name,price,tax_rate`).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[console]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A signed-in console locks after this many seconds without a cashier's action
    /// (30 to 3600; 300 by default).
    #[serde(default = "default_lock_after")]
    pub lock_after_secs: u64,
    /// The largest refund (minor units of the store's currency) a cashier makes without a
    /// supervisor's approval; 0 (the default): every refund needs one.
    #[serde(default)]
    pub cashier_refund_limit: i64,
    /// Articles for the quick keys.
    #[serde(default)]
    pub articles: Vec<Article>,
    /// A CSV file of more articles (relative to the config file): a header line
    /// `reference,name,price,tax_rate`, then one article per line.
    #[serde(default)]
    pub catalogue_file: Option<PathBuf>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            lock_after_secs: default_lock_after(),
            cashier_refund_limit: 0,
            articles: Vec::new(),
            catalogue_file: None,
        }
    }
}

fn default_lock_after() -> u64 {
    300
}

/// An article of the catalogue: what a quick key sells, one Klarna order line per key press.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// The article's reference (Klarna's line `reference`): 1 to 64 of A-Z a-z 0-9 . _ / -.
    pub reference: String,
    /// The name on the key, the customer display and the receipt: 1 to 64 characters.
    pub name: String,
    /// Unit price including tax, minor units.
    pub price: i64,
    /// Tax rate in basis points (2500 = 25 %), 0 to 10000.
    pub tax_rate: i64,
}

impl ConsoleConfig {
    /// Checks the values (the CSV's articles are checked as they are read).
    pub(super) fn check(&self) -> super::check::Check {
        if !(30..=3600).contains(&self.lock_after_secs) {
            return Err(("console.lock_after_secs", "must be 30 to 3600 seconds".into()));
        }
        if !(0..=posagent_acquirer_api::MAX_AMOUNT).contains(&self.cashier_refund_limit) {
            return Err(("console.cashier_refund_limit", "must be 0 to 2147483647 minor units".into()));
        }
        check_articles(&self.articles).map_err(|m| ("console.articles", m))
    }

    /// Reads the CSV catalogue (resolved against `base`) into `articles`, after the
    /// inline ones; any bad line stops it with the line's number.
    pub(super) fn read_catalogue(&mut self, base: &Path) -> Result<(), super::ConfigError> {
        let Some(file) = &mut self.catalogue_file else { return Ok(()) };
        if file.is_relative() {
            *file = base.join(&*file);
        }
        let invalid = |m: String| super::invalid(file, "console.catalogue_file", m);
        let mut reader =
            csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(&*file).map_err(|e| invalid(e.to_string()))?;
        let mut all = self.articles.clone();
        for (n, row) in reader.deserialize::<Article>().enumerate() {
            let article = row.map_err(|e| invalid(format!("line {}: {e}", n + 2)))?;
            all.push(article);
        }
        check_articles(&all).map_err(invalid)?;
        self.articles = all;
        Ok(())
    }
}

/// Each article's fields, and one article per reference.
fn check_articles(articles: &[Article]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for a in articles {
        let shown: String = a.reference.chars().take(64).collect();
        if !(1..=64).contains(&a.reference.len())
            || !a.reference.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
        {
            return Err(format!("article `{shown}`: a reference is 1 to 64 of A-Z a-z 0-9 . _ / -"));
        }
        if !seen.insert(a.reference.as_str()) {
            return Err(format!("article `{shown}` is listed twice"));
        }
        if !(1..=64).contains(&a.name.chars().count())
            || a.name.chars().any(char::is_control)
            || a.name.trim() != a.name
        {
            return Err(format!("article `{shown}`: a name is 1 to 64 characters, no control characters"));
        }
        if !(1..=posagent_acquirer_api::MAX_AMOUNT).contains(&a.price) {
            return Err(format!("article `{shown}`: price must be 1 to 2147483647 minor units"));
        }
        if !(0..=10_000).contains(&a.tax_rate) {
            return Err(format!("article `{shown}`: tax_rate is in basis points, 0 to 10000 (2500 = 25 %)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(reference: &str, price: i64, tax_rate: i64) -> Article {
        Article { reference: reference.into(), name: "Kaffe".into(), price, tax_rate }
    }

    #[test]
    fn articles_are_checked_field_by_field() {
        assert!(check_articles(&[article("KAFFE-1", 3500, 1200), article("BULLE", 2500, 1200)]).is_ok());
        for bad in [
            vec![article("", 100, 0)],
            vec![article("a b", 100, 0)],
            vec![article("A", 0, 0)],
            vec![article("A", 100, 10_001)],
            vec![article("A", 100, 0), article("A", 200, 0)],
            vec![Article { name: "x\ny".into(), ..article("A", 100, 0) }],
        ] {
            assert!(check_articles(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_csv_catalogue_is_read_after_the_inline_articles() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let csv = "reference,name,price,tax_rate\nBULLE,\"Kanelbulle, stor\", 2500 ,1200\n";
        std::fs::write(dir.path().join("cat.csv"), csv).unwrap_or_else(|e| panic!("{e}"));
        let mut c = ConsoleConfig {
            articles: vec![article("KAFFE", 3500, 1200)],
            catalogue_file: Some("cat.csv".into()),
            ..ConsoleConfig::default()
        };
        c.read_catalogue(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.articles.len(), 2);
        assert_eq!(c.articles[1].name, "Kanelbulle, stor");
        std::fs::write(dir.path().join("cat.csv"), "reference,name,price,tax_rate\nX,Y,12.5,0\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut c = ConsoleConfig { catalogue_file: Some("cat.csv".into()), ..ConsoleConfig::default() };
        let e = c.read_catalogue(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("line 2"), "{e}");
    }
}
