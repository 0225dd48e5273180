//! The labelled text input, shared with the server's first paint (`views::field`).

pub use views::field::{InputHints, TextField};
