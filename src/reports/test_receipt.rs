//! The printer's test receipt (the fleet's `print-test-receipt` command): the store's
//! name, a title that says it is no payment (in the store's language), the terminal,
//! the time, the build, a line of the language's own letters (the printer's code page),
//! a QR code and a cut — what store IT looks at to see that the printer prints.

use super::Reports;
use crate::devices::DeviceError;
use crate::locale::{Label, label};
use posagent_drivers::printer::{Align, Block, Document, TextStyle};

/// Letters of the store's language (and the euro sign), to see the code page print them.
fn letters(locale: &str) -> &'static str {
    match locale.split('-').next().unwrap_or_default() {
        "sv" | "fi" => "ÅÄÖ åäö €",
        "da" | "nb" => "ÆØÅ æøå €",
        "de" => "ÄÖÜ äöü ß €",
        "fr" => "À Ç É È à ç é è ê ù €",
        "es" => "Ñ ñ á é í ó ú ¿ ¡ €",
        "it" => "À È É à è é ì ò ù €",
        "nl" => "Ë Ï é ë ï €",
        "pl" => "Ą Ć Ę Ł Ń Ó Ś Ź Ż ą ć ę ł ń ó ś ź ż €",
        _ => "£ € é",
    }
}

impl Reports {
    /// Prints the test receipt, saying who asked for it (`by`, e.g. the command's id).
    pub async fn print_test_receipt(&self, version: &str, by: &str) -> Result<(), DeviceError> {
        let l = self.store.locale.as_str();
        let mut d = Document::default();
        d.styled(self.store.name.clone(), TextStyle { bold: true, double: true }, Align::Center);
        d.styled(label(Label::TestReceipt, l), TextStyle { bold: true, double: false }, Align::Center);
        d.push(Block::Rule);
        d.columns(label(Label::Terminal, l), self.store.terminal_reference.clone(), false);
        d.columns("", self.store.time_zone.format(chrono::Utc::now()), false);
        d.columns("posagent", version.to_string(), false);
        d.columns("", by.chars().take(40).collect::<String>(), false);
        d.push(Block::Rule);
        d.styled(letters(l), TextStyle::default(), Align::Center);
        d.push(Block::Qr { data: "posagent test receipt".into(), module_dots: 4 });
        d.push(Block::Feed(2));
        d.push(Block::Cut);
        self.printer.print(d).await
    }
}
