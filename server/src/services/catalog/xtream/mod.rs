//! The Xtream Codes side of the catalog (IPTV playlists; see `../shared/reference/xtream.md`).
//!
//! - [`client`] — the one client of panels: auth checks, actions, stream URLs.
//! - [`decode`] — tolerant decoding of panel answers, both panel families, every type quirk.

pub mod client;
pub mod decode;

pub use client::{Credentials, Panel, StreamPath, XtreamClient, XtreamError};
