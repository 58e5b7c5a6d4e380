//! ESC/POS receipt printers: the byte encoder, code pages, status parsing and the driver.

mod codepage;
mod driver;
mod escpos;
mod status;

pub use codepage::{CodePage, encode_text};
pub use driver::{PrinterError, ReceiptPrinter};
pub use escpos::{Align, Block, Document, PrinterProfile, TextStyle, encode_document};
pub use status::{PrinterStatus, parse_status};
