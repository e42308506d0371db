//! What the guard knows about the API, read from the protobuf descriptors: each method's input
//! message and whether it is streamed, and each message's fields with the kind of value they
//! hold. Reading the descriptors (instead of a hand list) means a new RPC or field is checked the
//! day it is added.

use std::collections::HashMap;

use prost::Message as _;
use prost_types::{
    DescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};

/// What a field holds, as far as checking it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Text: UTF-8 without control characters.
    String,
    /// Opaque bytes.
    Bytes,
    /// A nested message, by full name.
    Message(String),
    /// An enum (its values are the services' to check).
    Enum,
    /// A number sent as a varint (integers, bools).
    Varint,
    /// A number sent as 4 bytes.
    Fixed32,
    /// A number sent as 8 bytes.
    Fixed64,
}

/// One field of a message.
#[derive(Clone, Debug)]
pub(super) struct Field {
    pub name: String,
    pub kind: Kind,
    pub repeated: bool,
}

/// One method of a service.
#[derive(Clone, Debug)]
pub struct Method {
    /// Full name of the input message.
    pub input: String,
    /// Whether the client streams messages.
    pub client_streaming: bool,
}

/// The messages and methods of a set of proto files.
#[derive(Debug, Default)]
pub struct Schema {
    messages: HashMap<String, HashMap<u32, Field>>,
    methods: HashMap<String, Method>,
}

impl Schema {
    /// Reads an encoded `FileDescriptorSet` (with its imports, as prost-build writes it).
    pub fn decode(descriptor_set: &[u8]) -> Result<Self, prost::DecodeError> {
        let set = FileDescriptorSet::decode(descriptor_set)?;
        let mut schema = Self::default();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                schema.add_message(package, message);
            }
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}/{}", qualified(package, service.name()), method.name());
                    let input = method.input_type().trim_start_matches('.').to_owned();
                    schema.methods.insert(path, Method { input, client_streaming: method.client_streaming() });
                }
            }
        }
        Ok(schema)
    }

    /// The method served at an HTTP path (`/package.Service/Method`).
    pub fn method(&self, path: &str) -> Option<&Method> {
        self.methods.get(path)
    }

    /// Every method, by HTTP path.
    pub fn methods(&self) -> impl Iterator<Item = (&str, &Method)> {
        self.methods.iter().map(|(path, method)| (path.as_str(), method))
    }

    pub(super) fn fields(&self, message: &str) -> Option<&HashMap<u32, Field>> {
        self.messages.get(message)
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = qualified(scope, message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        let fields = message
            .field
            .iter()
            .map(|field| {
                let type_name = field.type_name().trim_start_matches('.').to_owned();
                let kind = match field.r#type() {
                    Type::String => Kind::String,
                    Type::Bytes => Kind::Bytes,
                    Type::Message | Type::Group => Kind::Message(type_name),
                    Type::Enum => Kind::Enum,
                    Type::Fixed32 | Type::Sfixed32 | Type::Float => Kind::Fixed32,
                    Type::Fixed64 | Type::Sfixed64 | Type::Double => Kind::Fixed64,
                    Type::Int32
                    | Type::Int64
                    | Type::Uint32
                    | Type::Uint64
                    | Type::Sint32
                    | Type::Sint64
                    | Type::Bool => Kind::Varint,
                };
                let number = u32::try_from(field.number()).unwrap_or(0);
                (number, Field { name: field.name().to_owned(), kind, repeated: field.label() == Label::Repeated })
            })
            .collect();
        self.messages.insert(name, fields);
    }
}

fn qualified(scope: &str, name: &str) -> String {
    if scope.is_empty() { name.to_owned() } else { format!("{scope}.{name}") }
}
