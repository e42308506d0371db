//! The request guard, tried as a hostile client would: every RPC of every service (read from the
//! descriptors, so a new RPC is swept the day it lands) with NUL and other control characters,
//! 1 MB strings, huge repeated fields and unknown enum numbers. No answer may be INTERNAL or
//! UNKNOWN, none may carry headers a C-core client refuses (16 KB), and text or enum faults are
//! INVALID_ARGUMENT.

use std::collections::HashMap;

use medley_sdk::pb;
use medley_tests::{
    TestServer,
    raw_grpc::{self, RawAnswer},
};
use prost::{Message as _, encoding};
use prost_types::{
    DescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{assert_invalid_fields, reason};

/// C-core's hard limit on an answer's metadata.
const HEADER_LIMIT: usize = 16 << 10;

/// How the fields of a swept request are filled.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Every string holds this text.
    Text(&'static str),
    /// Every string holds 1 MB.
    HugeStrings,
    /// Every repeated field holds this many values.
    HugeRepeated(usize),
    /// Every enum holds a number it does not declare.
    UnknownEnums,
}

struct Api {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, Vec<i32>>,
}

impl Api {
    fn load() -> (Self, Vec<(String, String, bool, bool)>) {
        let set = FileDescriptorSet::decode(medley_sdk::FILE_DESCRIPTOR_SET).expect("descriptor set");
        let mut api = Api { messages: HashMap::new(), enums: HashMap::new() };
        let mut methods = Vec::new();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                api.add_message(package, message);
            }
            for enumeration in &file.enum_type {
                api.enums.insert(
                    format!("{package}.{}", enumeration.name()),
                    enumeration.value.iter().map(|v| v.number()).collect(),
                );
            }
            for service in &file.service {
                for method in &service.method {
                    methods.push((
                        format!("/{package}.{}/{}", service.name(), method.name()),
                        method.input_type().trim_start_matches('.').to_owned(),
                        method.client_streaming(),
                        method.server_streaming(),
                    ));
                }
            }
        }
        (api, methods)
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = format!("{scope}.{}", message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for enumeration in &message.enum_type {
            self.enums.insert(
                format!("{name}.{}", enumeration.name()),
                enumeration.value.iter().map(|v| v.number()).collect(),
            );
        }
        self.messages.insert(name, message.clone());
    }

    /// Encodes a `message` with every field set as `fill` says, nested messages two levels deep.
    /// Returns the bytes and whether any string or enum was set.
    fn encode(&self, message: &str, fill: Fill, depth: usize) -> (Vec<u8>, bool, bool) {
        let mut out = Vec::new();
        let (mut strings, mut enums) = (false, false);
        let Some(descriptor) = self.messages.get(message) else { return (out, false, false) };
        for field in &descriptor.field {
            let number = u32::try_from(field.number()).expect("field number");
            let repeated = field.label() == Label::Repeated;
            let count = match fill {
                Fill::HugeRepeated(n) if repeated => n,
                _ => 1,
            };
            for _ in 0..count {
                match field.r#type() {
                    Type::String => {
                        strings = true;
                        let text = match fill {
                            Fill::Text(text) => text.to_owned(),
                            Fill::HugeStrings => "é".repeat(1 << 19),
                            _ => "x".to_owned(),
                        };
                        encoding::string::encode(number, &text, &mut out);
                    }
                    Type::Bytes => encoding::bytes::encode(number, &b"x".to_vec(), &mut out),
                    Type::Enum => {
                        enums = true;
                        let declared = self.enums.get(field.type_name().trim_start_matches('.'));
                        let value = match fill {
                            Fill::UnknownEnums => 9_999,
                            _ => declared.and_then(|values| values.iter().copied().find(|v| *v != 0)).unwrap_or(0),
                        };
                        encoding::int32::encode(number, &value, &mut out);
                    }
                    Type::Message if depth < 2 => {
                        let (inner, s, e) = self.encode(field.type_name().trim_start_matches('.'), fill, depth + 1);
                        strings |= s;
                        enums |= e;
                        encoding::bytes::encode(number, &inner, &mut out);
                    }
                    Type::Message | Type::Group => {}
                    Type::Double => encoding::double::encode(number, &1.0, &mut out),
                    Type::Float => encoding::float::encode(number, &1.0, &mut out),
                    Type::Fixed32 | Type::Sfixed32 => encoding::fixed32::encode(number, &1, &mut out),
                    Type::Fixed64 | Type::Sfixed64 => encoding::fixed64::encode(number, &1, &mut out),
                    _ => encoding::int64::encode(number, &1, &mut out),
                }
            }
        }
        (out, strings, enums)
    }
}

fn assert_acceptable(answer: &RawAnswer, what: &str) {
    assert!(
        ![Code::Internal as i32, Code::Unknown as i32, Code::DataLoss as i32, -1].contains(&answer.code),
        "{what}: {answer:?}"
    );
    assert!(answer.header_bytes < HEADER_LIMIT, "{what}: {} header bytes", answer.header_bytes);
}

#[tokio::test]
async fn every_rpc_refuses_bad_text_huge_values_and_unknown_enums_precisely() {
    let server = TestServer::start().await;
    let addr = server.running().grpc_addr;
    let (api, methods) = Api::load();
    assert!(methods.len() >= 39, "the descriptors list every RPC ({})", methods.len());
    let fills = [
        Fill::Text("a\u{0}b"),
        Fill::Text("bell\u{7}"),
        Fill::Text("esc\u{1b}[31m"),
        Fill::HugeStrings,
        Fill::HugeRepeated(100_000),
        Fill::UnknownEnums,
    ];
    let mut swept = 0;
    for (path, input, client_streaming, server_streaming) in &methods {
        for fill in fills {
            let (bytes, has_strings, has_enums) = api.encode(input, fill, 0);
            let answer =
                raw_grpc::call(addr, path, &server.admin_key, raw_grpc::frame(&bytes), *server_streaming).await;
            let what = format!("{path} with {fill:?}");
            assert_acceptable(&answer, &what);
            // ImportBatch answers per item (OK with the item's error); the rest refuse the call.
            let refused_whole = !client_streaming;
            match fill {
                Fill::Text(_) if has_strings && refused_whole => {
                    assert_eq!(answer.code, Code::InvalidArgument as i32, "{what}: {answer:?}");
                    assert!(answer.message.contains("control character"), "{what}: {answer:?}");
                }
                Fill::UnknownEnums if has_enums && refused_whole => {
                    assert_eq!(answer.code, Code::InvalidArgument as i32, "{what}: {answer:?}");
                }
                _ => {}
            }
            swept += 1;
        }
    }
    assert_eq!(swept, methods.len() * fills.len());
}

#[tokio::test]
async fn bytes_that_are_not_a_message_are_invalid_argument_not_internal() {
    let server = TestServer::start().await;
    let addr = server.running().grpc_addr;
    let path = "/medley.v1.CatalogService/ListAnime";
    for bytes in [&[0x0a, 0x05, b'a'][..], &[0xff; 11], &[0x0b], &[0x0a, 0x02, 0xff, 0xfe]] {
        let answer = raw_grpc::call(addr, path, &server.admin_key, raw_grpc::frame(bytes), false).await;
        assert_eq!(answer.code, Code::InvalidArgument as i32, "{bytes:?}: {answer:?}");
    }
    // A body that ends inside a message.
    let mut cut =
        raw_grpc::frame(&pb::ListAnimeRequest { query: "naruto".into(), ..Default::default() }.encode_to_vec())
            .to_vec();
    cut.truncate(cut.len() - 2);
    let answer = raw_grpc::call(addr, path, &server.admin_key, cut.into(), false).await;
    assert_eq!(answer.code, Code::InvalidArgument as i32, "{answer:?}");
}

#[tokio::test]
async fn nul_in_a_query_names_the_field_and_a_clean_query_still_works() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let status = catalog
        .list_anime(pb::ListAnimeRequest { query: "a\u{0}b".into(), ..Default::default() })
        .await
        .expect_err("NUL is refused");
    assert_invalid_fields(&status, &["query"]);
    let status = catalog
        .update_anime(pb::UpdateAnimeRequest {
            id: "x".into(),
            anime: Some(pb::AnimeImport {
                description: Some("ok\n\tline".into()),
                genres: vec!["a\u{0}".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("NUL is refused");
    assert_invalid_fields(&status, &["anime.genres[0]"]);
    let mut admin = server.client().await.admin();
    let status = admin
        .pause_schedule(pb::PauseScheduleRequest { name: "nightly\u{0}".into() })
        .await
        .expect_err("NUL is refused");
    assert_invalid_fields(&status, &["name"]);
    catalog
        .list_anime(pb::ListAnimeRequest { query: "naruto\t".into(), ..Default::default() })
        .await
        .expect("clean text");
}

#[tokio::test]
async fn an_oversized_request_is_resource_exhausted_with_the_limit() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let status = catalog
        .list_anime(pb::ListAnimeRequest { query: "x".repeat(300 << 10), ..Default::default() })
        .await
        .expect_err("a 300 KB query is refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), "REQUEST_TOO_LARGE");
    let info = status.get_error_details().error_info().cloned().expect("error info");
    assert_eq!(info.metadata.get("limit_bytes").map(String::as_str), Some("262144"));
    // An import may be larger than a read.
    let episodes: Vec<pb::EpisodeImport> = (1..=2000)
        .map(|n| pb::EpisodeImport {
            source_episode_id: format!("e{n}"),
            number: n,
            title: Some("x".repeat(100)),
            ..Default::default()
        })
        .collect();
    let status = catalog
        .import_episodes(pb::ImportEpisodesRequest {
            source_name: "shikimori".into(),
            anime_source_id: "1".into(),
            episodes,
        })
        .await
        .expect_err("no such anime");
    assert_ne!(status.code(), Code::ResourceExhausted, "{status:?}");
}
