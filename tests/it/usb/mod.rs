//! The emulated USB printer (umockdev) shared by `usb_printer` and `package`.

pub mod escpos;
pub mod harness;
