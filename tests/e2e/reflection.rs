use medley_tests::TestServer;
use tokio_stream::StreamExt as _;

const EXPECTED: [&str; 2] = ["medley.v1.AdminService", "grpc.health.v1.Health"];

#[tokio::test]
async fn v1_lists_every_public_service() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.anonymous_client().await.channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream =
        client.server_reflection_info(tokio_stream::iter([request])).await.expect("reflection").into_inner();
    let response = stream.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected response {response:?}")
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in EXPECTED {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
}

#[tokio::test]
async fn v1alpha_lists_services_and_describes_admin_messages() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.anonymous_client().await.channel());
    let requests = [
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("medley.v1.CreateApiKeyRequest".to_owned())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("google.rpc.BadRequest".to_owned())),
        },
    ];
    let mut stream =
        client.server_reflection_info(tokio_stream::iter(requests)).await.expect("reflection").into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        stream.next().await.expect("list").expect("ok").message_response
    else {
        panic!("expected a service list")
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in EXPECTED {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    for symbol in ["CreateApiKeyRequest", "BadRequest"] {
        let response = stream.next().await.expect("file").expect("ok");
        let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
            panic!("no descriptor for {symbol}: {response:?}")
        };
        assert!(!files.file_descriptor_proto.is_empty(), "{symbol}");
    }
}
