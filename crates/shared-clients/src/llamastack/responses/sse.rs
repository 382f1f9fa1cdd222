//! Server-sent events, as the servers send them (`data: {json}` lines, a
//! blank line after each event, no `event:` line, no `[DONE]`), read with
//! bounds: a hostile server cannot make us hold more than one event of
//! [`MAX_EVENT_BYTES`] or read more than [`MAX_STREAM_BYTES`].

/// The largest event read (a `response.completed` holds the whole output).
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// The most read of one stream.
pub const MAX_STREAM_BYTES: usize = 16 * 1024 * 1024;

/// Splits a byte stream into the data of its events.
#[derive(Debug)]
pub(crate) struct SseReader {
    /// Bytes of the line being read.
    line: Vec<u8>,
    /// Data lines of the event being read, joined by `\n`.
    data: Vec<u8>,
    has_data: bool,
    total: usize,
    max_event: usize,
    max_stream: usize,
}

impl SseReader {
    pub(crate) fn new() -> Self {
        Self::with_limits(MAX_EVENT_BYTES, MAX_STREAM_BYTES)
    }

    pub(crate) fn with_limits(max_event: usize, max_stream: usize) -> Self {
        Self {
            line: Vec::new(),
            data: Vec::new(),
            has_data: false,
            total: 0,
            max_event,
            max_stream,
        }
    }

    /// Reads `chunk`, returning the data of every event it completes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<String>, String> {
        self.total += chunk.len();
        if self.total > self.max_stream {
            return Err(format!("the stream is over {} bytes", self.max_stream));
        }
        let mut events = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|byte| *byte == b'\n') {
            self.line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            if let Some(event) = self.end_line()? {
                events.push(event);
            }
        }
        self.line.extend_from_slice(rest);
        if self.line.len() + self.data.len() > self.max_event {
            return Err(format!("an event is over {} bytes", self.max_event));
        }
        Ok(events)
    }

    /// The data of an event the stream ended without its blank line.
    pub(crate) fn finish(mut self) -> Result<Option<String>, String> {
        if !self.line.is_empty() {
            self.end_line()?;
        }
        self.dispatch()
    }

    fn end_line(&mut self) -> Result<Option<String>, String> {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            return self.dispatch();
        }
        if let Some(value) = line.strip_prefix(b"data:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
            if self.data.len() > self.max_event {
                return Err(format!("an event is over {} bytes", self.max_event));
            }
        }
        // `event:`, `id:`, `retry:` and `:` comments carry nothing we use.
        Ok(None)
    }

    fn dispatch(&mut self) -> Result<Option<String>, String> {
        if !std::mem::take(&mut self.has_data) {
            return Ok(None);
        }
        let data = String::from_utf8(std::mem::take(&mut self.data))
            .map_err(|_| "an event is not UTF-8".to_owned())?;
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(None);
        }
        Ok(Some(data.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_chunks_and_line_endings() {
        let mut reader = SseReader::new();
        assert_eq!(
            reader.feed(b"data: {\"a\"").expect("fine"),
            Vec::<String>::new()
        );
        assert_eq!(
            reader
                .feed(b":1}\r\n\r\nevent: x\ndata: 2\n\n: comment\ndata: [DONE]\n\n")
                .expect("fine"),
            vec!["{\"a\":1}".to_owned(), "2".to_owned()]
        );
        assert_eq!(
            reader.feed(b"data:3\ndata:4").expect("fine"),
            Vec::<String>::new()
        );
        assert_eq!(reader.finish(), Ok(Some("3\n4".to_owned())));
    }

    #[test]
    fn an_event_over_the_limit_is_refused_before_it_is_held() {
        let mut reader = SseReader::with_limits(16, 1024);
        let error = reader
            .feed(b"data: 0123456789abcdefXYZ")
            .expect_err("over 16");
        assert!(error.contains("16 bytes"), "{error}");
        let mut reader = SseReader::with_limits(16, 1024);
        let error = reader
            .feed(b"data: 0123456789\ndata: 0123456789\n")
            .expect_err("two lines over 16");
        assert!(error.contains("16 bytes"), "{error}");
    }

    #[test]
    fn a_stream_over_the_limit_is_refused() {
        let mut reader = SseReader::with_limits(1024, 40);
        reader.feed(b"data: 1\n\ndata: 2\n\n").expect("small");
        let error = reader.feed(&[b'x'; 30]).expect_err("over 40");
        assert!(error.contains("40 bytes"), "{error}");
    }
}
