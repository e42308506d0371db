//! The IDS.moe-compatible REST routes on the HTTP port.

use medley_tests::http::request;
use serde_json::Value;

use super::loaded_server;

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("JSON body")
}

#[tokio::test]
async fn records_answer_on_every_path_form_with_a_fixed_field_order() {
    let server = loaded_server().await;
    let addr = server.http_addr();
    let get =
        |path: &'static str| async move { request(addr, "GET", path, &[("origin", "https://example.org")], b"").await };

    let mal = get("/myanimelist/1").await;
    assert_eq!(mal.status, 200);
    assert_eq!(mal.header("access-control-allow-origin"), Some("*"));
    let record = json(&mal.body);
    assert_eq!(record["title"], "Cowboy Bebop");
    assert_eq!(record["anilist"], 1);
    assert_eq!(record["animeplanet"], "cowboy-bebop");
    assert_eq!(record["thetvdb"], 76885);
    assert_eq!(record["thetvdb_season"], 1);
    assert_eq!(record["themoviedb_type"], "tv");
    assert_eq!(record["trakt_type"], "shows");
    assert_eq!(record["hikka"], Value::Null, "every field is present, null when missing");
    assert!(record.get("data_hash").is_none() && record.get("id").is_none(), "no internal fields");
    let text = mal.text();
    let order: Vec<usize> = ["\"title\"", "\"anidb\"", "\"anilist\"", "\"myanimelist\"", "\"trakt_season\""]
        .iter()
        .map(|f| text.find(f).expect("field"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "fixed field order: {text}");

    for path in [
        "/mal/1.json",
        "/ma/1",
        "/anidb/23",
        "/trakt/shows/30857/seasons/1",
        "/trakt/show/30857/season/1",
        "/themoviedb/tv/30991/season/1",
        "/thetvdb/series/76885/seasons/1",
        "/tvdb/76885",
        "/shikimori/1",
    ] {
        let response = request(addr, "GET", path, &[], b"").await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        assert_eq!(json(&response.body)["myanimelist"], 1, "{path}");
    }

    let absent = get("/anilist/999999999").await;
    assert_eq!(absent.status, 404);
    assert_eq!(json(&absent.body)["message"], "Platform anilist with ID 999999999 not found");
    assert_eq!(json(&get("/nope/1").await.body)["code"], 404);
    assert_eq!(get("/anilist/abc").await.status, 400);
    assert_eq!(get("/trakt/shows/30857/seasons/0").await.status, 400);
    assert_eq!(get("/themoviedb/tv/30991/season/x").await.status, 400);
    assert_eq!(request(addr, "POST", "/mal/1", &[], b"").await.status, 405);
}

#[tokio::test]
async fn redirect_status_and_heartbeat() {
    let server = loaded_server().await;
    let addr = server.http_addr();
    let to_anilist = request(addr, "GET", "/redirect?from=mal&id=1&to=anilist", &[], b"").await;
    assert_eq!(to_anilist.status, 302);
    assert_eq!(to_anilist.header("location"), Some("https://anilist.co/anime/1"));
    let raw = request(addr, "GET", "/rd?platform=anidb&mediaid=23&target=kitsu&raw=true", &[], b"").await;
    assert_eq!((raw.status, raw.text().as_str()), (200, "https://kitsu.app/anime/1"));
    let not_raw = request(addr, "GET", "/rd?f=mal&i=1&t=ann&r=false", &[], b"").await;
    assert_eq!(not_raw.status, 302, "raw=false redirects");
    assert_eq!(not_raw.header("location"), Some("https://www.animenewsnetwork.com/encyclopedia/anime.php?id=13"));
    let trakt_source =
        request(addr, "GET", "/redirect?from=trakt&id=shows/30857/seasons/1&to=mal&raw=1", &[], b"").await;
    assert_eq!(trakt_source.text(), "https://myanimelist.net/anime/1");
    assert_eq!(request(addr, "GET", "/redirect?id=1", &[], b"").await.status, 400);
    assert_eq!(request(addr, "GET", "/redirect?from=mal", &[], b"").await.status, 400);
    let missing = request(addr, "GET", "/redirect?from=mal&id=1&to=letterboxd", &[], b"").await;
    assert_eq!(missing.status, 404);
    assert!(json(&missing.body)["message"].as_str().is_some_and(|m| m.contains("does not exist on letterboxd")));

    let status = request(addr, "GET", "/status", &[], b"").await;
    assert_eq!(status.status, 200);
    let status = json(&status.body);
    assert!(status["counts"]["total"].as_i64().is_some_and(|n| n > 400));
    assert!(status["counts"]["myanimelist"].as_i64().is_some_and(|n| n > 300));
    assert_eq!(status["sources"].as_array().map(Vec::len), Some(5));
    assert!(status["updated"]["iso"].as_str().is_some_and(|t| t.ends_with('Z')));

    let heartbeat = request(addr, "GET", "/heartbeat", &[], b"").await;
    assert_eq!(heartbeat.status, 200);
    assert_eq!(json(&heartbeat.body)["status"], "OK");
}

#[tokio::test]
async fn heartbeat_fails_before_any_data() {
    let server = super::server_with(super::real_sources()).await;
    let heartbeat = request(server.http_addr(), "GET", "/ping", &[], b"").await;
    assert_eq!(heartbeat.status, 500);
    assert_eq!(json(&heartbeat.body)["code"], 500);
}
