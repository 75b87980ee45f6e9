//! Parse the part of a `/v2/...` path after `/v2/` into an endpoint. Repository names have
//! any number of `/`-separated components, so the endpoint is found from the right.

use crate::reference::valid_repository;

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Ping,
    Catalog,
    Tags { name: String },
    Manifest { name: String, reference: String },
    Blob { name: String, digest: String },
    UploadStart { name: String },
    Upload { name: String, id: String },
}

/// `None` when the path is no distribution endpoint or the name is invalid.
pub fn parse(rest: &str) -> Option<Route> {
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        return Some(Route::Ping);
    }
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    let named = |name: &str| valid_repository(name).then(|| name.to_string());
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags { name: named(name)? });
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Some(Route::UploadStart { name: named(name)? });
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/")
        && !id.is_empty()
        && !id.contains('/')
    {
        return Some(Route::Upload {
            name: named(name)?,
            id: id.to_string(),
        });
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/")
        && !digest.is_empty()
        && !digest.contains('/')
    {
        return Some(Route::Blob {
            name: named(name)?,
            digest: digest.to_string(),
        });
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/")
        && !reference.is_empty()
        && !reference.contains('/')
    {
        return Some(Route::Manifest {
            name: named(name)?,
            reference: reference.to_string(),
        });
    }
    None
}

#[cfg(test)]
#[path = "../tests/server_route.rs"]
mod tests;
