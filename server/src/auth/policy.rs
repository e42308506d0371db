//! What each RPC requires. Services outside `medley.v1` (health, reflection) are public; every
//! Medley method must appear here, and a method this table does not know needs `admin`, so a new
//! RPC is closed until someone decides otherwise.

use super::Scope;

/// What a call needs before it reaches its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone may call it.
    Public,
    /// A key granting this scope is required.
    Scope(Scope),
}

/// Returns what the gRPC method at `path` (`/package.Service/Method`) requires.
pub fn required_access(path: &str) -> Access {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    if !service.starts_with("medley.") {
        return Access::Public;
    }
    match service {
        "medley.v1.AdminService" => Access::Scope(Scope::Admin),
        "medley.v1.MappingService" => match method {
            "GetMapping" | "BatchGetMappings" | "ResolveRedirect" | "SearchAnime" | "ListPlatforms" | "GetStatus"
            | "ExportMappings" => Access::Scope(Scope::Read),
            // RunPipeline, WatchPipelineRun, overrides, and anything added later.
            _ => Access::Scope(Scope::Admin),
        },
        "medley.v1.CatalogService" => match method {
            "ImportAnime" | "ImportEpisodes" | "ImportVideo" | "ImportBatch" => Access::Scope(Scope::Import),
            "GetAnime" | "ListAnime" | "ListEpisodes" | "ListVideos" => Access::Scope(Scope::Read),
            // UpdateAnime, the importer's RPCs, and anything added later.
            _ => Access::Scope(Scope::Admin),
        },
        // Fail closed for anything not listed.
        _ => Access::Scope(Scope::Admin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operational_services_are_public() {
        assert_eq!(required_access("/grpc.health.v1.Health/Check"), Access::Public);
        assert_eq!(required_access("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), Access::Public);
    }

    #[test]
    fn mapping_lookups_need_read_and_its_operations_admin() {
        assert_eq!(required_access("/medley.v1.MappingService/GetMapping"), Access::Scope(Scope::Read));
        assert_eq!(required_access("/medley.v1.MappingService/ExportMappings"), Access::Scope(Scope::Read));
        assert_eq!(required_access("/medley.v1.MappingService/RunPipeline"), Access::Scope(Scope::Admin));
        assert_eq!(required_access("/medley.v1.MappingService/PutOverride"), Access::Scope(Scope::Admin));
        assert_eq!(required_access("/medley.v1.MappingService/Unknown"), Access::Scope(Scope::Admin));
    }

    #[test]
    fn catalog_imports_need_import_reads_read_and_the_rest_admin() {
        assert_eq!(required_access("/medley.v1.CatalogService/ImportBatch"), Access::Scope(Scope::Import));
        assert_eq!(required_access("/medley.v1.CatalogService/ListVideos"), Access::Scope(Scope::Read));
        assert_eq!(required_access("/medley.v1.CatalogService/UpdateAnime"), Access::Scope(Scope::Admin));
        assert_eq!(required_access("/medley.v1.CatalogService/StartImport"), Access::Scope(Scope::Admin));
    }

    #[test]
    fn admin_and_unknown_medley_methods_need_admin() {
        assert_eq!(required_access("/medley.v1.AdminService/ListApiKeys"), Access::Scope(Scope::Admin));
        assert_eq!(required_access("/medley.v9.Secret/Do"), Access::Scope(Scope::Admin));
    }
}
