//! The Xtream Codes side of the catalog (IPTV playlists; see `../shared/reference/xtream.md`).
//!
//! - [`decode`] — tolerant decoding of panel answers, both panel families, every type quirk.

pub mod decode;
