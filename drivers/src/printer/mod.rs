//! ESC/POS receipt printers: the byte encoder, code pages, logo images, status parsing and the driver.

mod capabilities;
mod codepage;
mod driver;
mod escpos;
mod image;
mod layout;
mod status;

pub use capabilities::{Capabilities, known_models, lookup as lookup_model};
pub use codepage::{CodePage, encode_text};
pub use driver::{PrinterError, ReceiptPrinter};
pub use escpos::{Align, Block, Document, DrawerPin, PrinterProfile, TextStyle, encode_document, encode_drawer_kick};
pub use image::{ImageError, Raster};
pub use layout::{breaks_at, wrap};
pub use status::{PrinterStatus, parse_status};
