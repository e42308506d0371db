//! What each RPC requires. Services outside `medley.` (health, reflection) are public. Every
//! Medley service declares its rules with its entry point ([`ServiceAccess`]); a method its
//! rules do not name needs the service's `otherwise` access, and a service nobody declared needs
//! `admin`, so a new RPC is closed until someone decides otherwise.

use std::collections::HashMap;

use super::Scope;

/// What a call needs before it reaches its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone may call it.
    Public,
    /// A key granting this scope is required.
    Scope(Scope),
    /// A key granting this scope, or no key at all: calls without one are anonymous and
    /// rate-limited per client address (a key that is sent must still be valid).
    ScopeOrAnonymous(Scope),
}

/// The auth rules of one gRPC service.
#[derive(Clone, Copy, Debug)]
pub struct ServiceAccess {
    /// `package.Service` (filled in from the tonic service by `GrpcService::new`).
    pub service: &'static str,
    /// Methods and what they need.
    pub methods: &'static [(&'static str, Access)],
    /// What every other method needs.
    pub otherwise: Access,
}

impl ServiceAccess {
    /// Rules naming `methods`, with `otherwise` for the rest.
    pub const fn new(methods: &'static [(&'static str, Access)], otherwise: Access) -> Self {
        Self { service: "", methods, otherwise }
    }

    /// Every method needs `access`.
    pub const fn all(access: Access) -> Self {
        Self::new(&[], access)
    }

    fn method(&self, method: &str) -> Access {
        self.methods.iter().find(|(name, _)| *name == method).map_or(self.otherwise, |(_, access)| *access)
    }
}

/// The rules of every service of a process.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    services: HashMap<&'static str, ServiceAccess>,
}

impl Policy {
    /// The policy of these services.
    pub fn new(rules: impl IntoIterator<Item = ServiceAccess>) -> Self {
        Self { services: rules.into_iter().map(|rule| (rule.service, rule)).collect() }
    }

    /// Returns what the gRPC method at `path` (`/package.Service/Method`) requires.
    pub fn required_access(&self, path: &str) -> Access {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let service = parts.next().unwrap_or_default();
        let method = parts.next().unwrap_or_default();
        if !service.starts_with("medley.") {
            return Access::Public;
        }
        // Fail closed for anything not declared.
        self.services.get(service).map_or(Access::Scope(Scope::Admin), |rules| rules.method(method))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Access = Access::Scope(Scope::Read);
    const ADMIN: Access = Access::Scope(Scope::Admin);

    fn policy() -> Policy {
        Policy::new([ServiceAccess {
            service: "medley.v1.Lookups",
            ..ServiceAccess::new(&[("Get", READ), ("Ping", Access::Public)], ADMIN)
        }])
    }

    #[test]
    fn operational_services_are_public() {
        assert_eq!(policy().required_access("/grpc.health.v1.Health/Check"), Access::Public);
        assert_eq!(
            policy().required_access("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Access::Public
        );
    }

    #[test]
    fn named_methods_get_their_rule_and_the_rest_the_default() {
        assert_eq!(policy().required_access("/medley.v1.Lookups/Get"), READ);
        assert_eq!(policy().required_access("/medley.v1.Lookups/Ping"), Access::Public);
        assert_eq!(policy().required_access("/medley.v1.Lookups/Delete"), ADMIN);
    }

    #[test]
    fn undeclared_medley_services_need_admin() {
        assert_eq!(policy().required_access("/medley.v9.Secret/Do"), ADMIN);
        assert_eq!(policy().required_access("/medley.v1.Lookups"), ADMIN);
        assert_eq!(Policy::default().required_access("/medley.v1.Lookups/Get"), ADMIN);
    }
}
