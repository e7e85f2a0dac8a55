//! The OTLP trace messages this exporter sends, encoded as protobuf by hand.
//!
//! Only what `ExportTraceServiceRequest` needs from opentelemetry-proto's `trace/v1`,
//! `resource/v1` and `common/v1` (field numbers quoted from those `.proto` files beside each
//! write). Eight messages and four wire types do not justify a code generator: prost's derive and
//! the generated crate would add build time to every build for ~100 lines of encoding, and
//! `tests/export/run.sh` proves the bytes against a real receiver (Arize Phoenix).

/// An attribute value (`common.v1.AnyValue`, the scalar cases).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
}

/// A key and its value (`common.v1.KeyValue`).
pub type Attr = (String, Value);

/// `trace.v1.Span.SpanKind.SPAN_KIND_INTERNAL`.
pub const KIND_INTERNAL: u64 = 1;

/// One span (`trace.v1.Span`), the fields this exporter fills.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// None: a root span.
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    pub kind: u64,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: Vec<Attr>,
    /// Some(message): status ERROR with that message; None: status UNSET.
    pub error: Option<String>,
}

/// A protobuf writer: tags, varints, length-delimited fields.
#[derive(Default)]
struct Buf(Vec<u8>);

impl Buf {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// A field's key: number and wire type (0 varint, 1 fixed64, 2 length-delimited).
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn uint(&mut self, field: u32, v: u64) {
        self.key(field, 0);
        self.varint(v);
    }

    fn fixed64(&mut self, field: u32, v: u64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// An embedded message, written by `f` into its own buffer.
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Buf)) {
        let mut inner = Buf::default();
        f(&mut inner);
        self.bytes(field, &inner.0);
    }
}

/// `common.v1.KeyValue`: key = 1, value = 2 (`AnyValue`: string_value = 1, bool_value = 2,
/// int_value = 3, double_value = 4).
fn key_value(b: &mut Buf, field: u32, (k, v): &Attr) {
    b.message(field, |kv| {
        kv.string(1, k);
        kv.message(2, |any| match v {
            Value::Str(s) => any.string(1, s),
            Value::Bool(x) => any.uint(2, u64::from(*x)),
            Value::Int(i) => any.uint(3, *i as u64),
            Value::Double(d) => any.fixed64(4, d.to_bits()),
        });
    });
}

/// `trace.v1.Span`: trace_id = 1, span_id = 2, parent_span_id = 4, name = 5, kind = 6,
/// start_time_unix_nano = 7, end_time_unix_nano = 8, attributes = 9, status = 15
/// (`Status`: message = 2, code = 3, STATUS_CODE_ERROR = 2).
fn span(b: &mut Buf, s: &Span) {
    b.message(2, |m| {
        m.bytes(1, &s.trace_id);
        m.bytes(2, &s.span_id);
        if let Some(p) = &s.parent_span_id {
            m.bytes(4, p);
        }
        m.string(5, &s.name);
        m.uint(6, s.kind);
        m.fixed64(7, s.start_unix_nano);
        m.fixed64(8, s.end_unix_nano);
        for a in &s.attributes {
            key_value(m, 9, a);
        }
        if let Some(msg) = &s.error {
            m.message(15, |st| {
                st.string(2, msg);
                st.uint(3, 2);
            });
        }
    });
}

/// `collector.trace.v1.ExportTraceServiceRequest` (resource_spans = 1) holding one
/// `ResourceSpans` (resource = 1, scope_spans = 2) with one `ScopeSpans` (scope = 1, spans = 2;
/// `InstrumentationScope`: name = 1, version = 2).
pub fn export_request(resource: &[Attr], spans: &[Span]) -> Vec<u8> {
    let mut b = Buf::default();
    b.message(1, |rs| {
        rs.message(1, |r| {
            for a in resource {
                key_value(r, 1, a);
            }
        });
        rs.message(2, |ss| {
            ss.message(1, |scope| {
                scope.string(1, "agent-telemetry");
                scope.string(2, env!("CARGO_PKG_VERSION"));
            });
            for s in spans {
                span(ss, s);
            }
        });
    });
    b.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_follow_the_wire_format() {
        // The protobuf documentation's own examples: 150 is 96 01; field 1 varint is 08.
        let mut b = Buf::default();
        b.uint(1, 150);
        assert_eq!(b.0, [0x08, 0x96, 0x01]);
        let mut b = Buf::default();
        b.string(2, "testing");
        assert_eq!(b.0, [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
        let mut b = Buf::default();
        b.uint(3, -1i64 as u64);
        assert_eq!(b.0.len(), 11, "a negative int64 takes ten varint bytes");
    }
}
