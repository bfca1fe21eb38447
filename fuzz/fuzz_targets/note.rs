//! Signed notes, checkpoints and note keys from arbitrary bytes: nothing panics, a note that
//! parses encodes back to exactly its input, and a checkpoint that parses re-renders to its
//! text.

#![no_main]

use evx_protocol::note::checkpoint::Checkpoint;
use evx_protocol::note::proof::LogProof;
use evx_protocol::note::{Note, NoteSigner, NoteVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(
            note.encode().as_bytes(),
            data,
            "a parsed note re-encodes to its input"
        );
        if let Ok(c) = Checkpoint::from_text(note.text()) {
            assert_eq!(
                c.to_text(),
                note.text(),
                "a checkpoint re-renders to its text"
            );
        }
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = Checkpoint::from_text(&text) {
        assert_eq!(Checkpoint::from_text(&c.to_text()).ok(), Some(c));
    }
    if let Ok(p) = LogProof::parse(data) {
        assert_eq!(LogProof::parse(p.encode().as_bytes()).ok(), Some(p));
    }
    if let Ok(v) = NoteVerifier::parse(&text) {
        assert_eq!(v.to_vkey(), text, "a verifier key re-renders to its text");
    }
    if let Ok(s) = NoteSigner::parse(&text) {
        assert_eq!(&*s.to_skey(), &*text, "a signer key re-renders to its text");
    }
});
