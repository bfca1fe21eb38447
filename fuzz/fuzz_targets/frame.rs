//! The wire codec: `Frame::decode`, `Frame::decode_prefix` and `Message::decode` on arbitrary
//! bytes. Nothing may panic, and whatever decodes must re-encode to exactly the bytes it came
//! from (the whole input, or the prefix that `decode_prefix` consumed).

#![no_main]

use evx_protocol::frame::{Frame, FrameError, HEADER_LEN, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = Frame::decode(data);
    if let Ok(frame) = &whole {
        assert_eq!(
            frame.encode(),
            data,
            "Frame::decode -> encode changed the bytes"
        );
        assert!(frame.body().len() <= frame.kind().max_body());
    }

    match Frame::decode_prefix(data) {
        Ok(Some((frame, used))) => {
            assert!(used >= HEADER_LEN && used <= data.len());
            assert_eq!(
                frame.encode(),
                &data[..used],
                "Frame::decode_prefix -> encode changed the consumed prefix"
            );
            // decode accepts exactly the inputs that are one whole frame.
            if used == data.len() {
                assert_eq!(whole.as_ref().ok(), Some(&frame));
            } else {
                assert_eq!(whole, Err(FrameError::TrailingBytes(data.len() - used)));
                // The rest of a stream buffer is decoded on its own.
                let _ = Frame::decode_prefix(&data[used..]);
            }
        }
        Ok(None) => {
            assert!(
                matches!(whole, Err(FrameError::Truncated { .. })),
                "decode_prefix asks for more but decode says {whole:?}"
            );
        }
        Err(e) => assert_eq!(whole, Err(e)),
    }

    match Message::decode(data) {
        Ok(message) => {
            assert!(whole.is_ok());
            assert_eq!(
                message.encode(),
                data,
                "Message::decode -> encode changed the bytes"
            );
            assert_eq!(
                Message::from_frame(&message.to_frame()).as_ref(),
                Ok(&message)
            );
        }
        Err(_) => {
            if let Ok(frame) = &whole {
                assert!(Message::from_frame(frame).is_err());
            }
        }
    }
});
