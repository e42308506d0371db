use prost::Message as _;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    field_descriptor_proto::{Label, Type},
};

use super::*;

fn field(name: &str, number: i32, kind: Type, repeated: bool, type_name: &str) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.to_owned()),
        number: Some(number),
        r#type: Some(kind as i32),
        label: Some(if repeated { Label::Repeated } else { Label::Optional } as i32),
        type_name: (!type_name.is_empty()).then(|| type_name.to_owned()),
        ..Default::default()
    }
}

/// `t.Item { string title = 1; repeated string tags = 2; Color color = 3; Item child = 4;
/// bytes blob = 5; repeated Color colors = 6; int32 n = 7; }` and `t.S/Put`.
fn schema() -> Schema {
    let item = DescriptorProto {
        name: Some("Item".to_owned()),
        field: vec![
            field("title", 1, Type::String, false, ""),
            field("tags", 2, Type::String, true, ""),
            field("color", 3, Type::Enum, false, ".t.Color"),
            field("child", 4, Type::Message, false, ".t.Item"),
            field("blob", 5, Type::Bytes, false, ""),
            field("colors", 6, Type::Enum, true, ".t.Color"),
            field("n", 7, Type::Int32, false, ""),
        ],
        ..Default::default()
    };
    let color = EnumDescriptorProto {
        name: Some("Color".to_owned()),
        value: ["COLOR_UNSPECIFIED", "COLOR_RED"]
            .iter()
            .zip(0..)
            .map(|(name, number)| EnumValueDescriptorProto {
                name: Some((*name).to_owned()),
                number: Some(number),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let service = ServiceDescriptorProto {
        name: Some("S".to_owned()),
        method: vec![MethodDescriptorProto {
            name: Some("Put".to_owned()),
            input_type: Some(".t.Item".to_owned()),
            output_type: Some(".t.Item".to_owned()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("t.proto".to_owned()),
        package: Some("t".to_owned()),
        message_type: vec![item],
        enum_type: vec![color],
        service: vec![service],
        ..Default::default()
    };
    Schema::decode(&FileDescriptorSet { file: vec![file] }.encode_to_vec()).unwrap_or_default()
}

fn key(number: u32, wire: u8) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_varint(u64::from(number) << 3 | u64::from(wire), &mut out);
    out
}

fn text(number: u32, value: &[u8]) -> Vec<u8> {
    let mut out = key(number, 2);
    prost::encoding::encode_varint(value.len() as u64, &mut out);
    out.extend_from_slice(value);
    out
}

fn number(number: u32, value: u64) -> Vec<u8> {
    let mut out = key(number, 0);
    prost::encoding::encode_varint(value, &mut out);
    out
}

fn violations(bytes: &[u8]) -> Vec<String> {
    match wire::check(&schema(), "t.Item", bytes, "") {
        Ok(findings) => findings.violations.into_iter().map(|(field, _)| field).collect(),
        Err(wire::Malformed(why)) => vec![format!("malformed: {why}")],
    }
}

#[test]
fn the_schema_knows_methods_from_the_descriptors() {
    let schema = schema();
    let method = schema.method("/t.S/Put").map(|m| (m.input.clone(), m.client_streaming));
    assert_eq!(method, Some(("t.Item".to_owned(), false)));
}

#[test]
fn a_clean_message_passes_whatever_its_fields() {
    let child = [text(1, "ok".as_bytes()), number(3, 1)].concat();
    let message = [
        text(1, "Naruto\n".as_bytes()),
        text(2, b"a"),
        text(2, b"b"),
        number(3, 1),
        text(4, &child),
        text(5, b"\0\x01binary is fine"),
        text(6, &[0, 1]), // packed enum values
        number(7, u64::MAX),
        text(99, b"\0unknown fields are skipped"),
    ]
    .concat();
    assert_eq!(violations(&message), Vec::<String>::new());
}

#[test]
fn every_bad_text_and_enum_is_named_by_its_path() {
    let child = [text(1, b"x\0y"), number(3, 7)].concat();
    // Enum values are the services' to check, with the request's other fields.
    let message = [
        text(1, b"a\0b"),
        text(2, b"fine"),
        text(2, b"\x07bell"),
        text(4, &child),
        text(6, &[1, 9, 0, 8]),
        number(6, 7),
    ]
    .concat();
    assert_eq!(violations(&message), ["title", "tags[1]", "child.title"]);
}

#[test]
fn a_prefix_names_fields_of_an_item() {
    let findings = wire::check(&schema(), "t.Item", &text(1, b"\0"), "items[3]").map(|f| f.violations);
    assert!(matches!(findings.as_deref(), Ok([(field, _)]) if field == "items[3].title"), "{findings:?}");
}

#[test]
fn malformed_bytes_are_refused_not_decoded() {
    let cut = &text(1, b"abcdef")[..4];
    let wrong_wire_type = number(1, 5);
    let group = key(1, 3);
    let invalid_utf8 = text(1, b"\xff\xfe");
    for (case, bytes) in [("cut", cut.to_vec()), ("wire type", wrong_wire_type), ("group", group)] {
        let found = violations(&bytes);
        assert!(found.len() == 1 && found[0].starts_with("malformed"), "{case}: {found:?}");
    }
    assert_eq!(violations(&invalid_utf8), ["title"]);
}

#[test]
fn nesting_is_bounded() {
    let mut message = text(1, b"deep");
    for _ in 0..40 {
        message = text(4, &message);
    }
    assert!(violations(&message).first().is_some_and(|v| v.contains("nested more than")));
}

#[test]
fn answers_name_every_field_up_to_a_cap() {
    let message: Vec<u8> = (0..1000).flat_map(|_| text(2, b"\0")).collect();
    let error = verdict(&schema(), "t.Item", &message, "").err().map(tonic::Status::from);
    let status = error.unwrap_or_else(|| tonic::Status::ok(""));
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    use tonic_types::StatusExt as _;
    let violations = status.get_details_bad_request().map(|bad| bad.field_violations).unwrap_or_default();
    assert_eq!(violations.len(), crate::error::MAX_VIOLATIONS);
    assert_eq!(violations[0].field, "tags[0]");
    assert!(violations.last().is_some_and(|v| v.description.contains("more problems")), "{violations:?}");
    assert!(status.details().len() < 8 << 10, "details of {} bytes", status.details().len());
}

#[test]
fn limits_name_the_method_and_take_the_largest_for_tonic() {
    const LIMITS: RequestLimits = RequestLimits::new(1024, &[("Big", 4096)]);
    assert_eq!(LIMITS.largest(), 4096);
    let layer = RequestGuardLayer::new(schema(), &[("t.S", RequestLimits::new(10, &[("Put", 20)]))]);
    let rule = layer.rules.by_path.get("/t.S/Put").map(|rule| (rule.max_bytes, rule.check_content));
    assert_eq!(rule, Some((20, true)));
    let status = tonic::Status::from(too_large(&layer.rules.by_path["/t.S/Put"], 21));
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(status.message().contains("21 bytes exceeds the 20 byte limit of Put"), "{}", status.message());
}
