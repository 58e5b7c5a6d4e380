//! Simulated devices reached over real transports: an ESC/POS printer and a graphic
//! customer display on TCP sockets, so the daemon runs its real drivers against them.

pub mod display;
pub mod escpos_decoder;
pub mod printer;
