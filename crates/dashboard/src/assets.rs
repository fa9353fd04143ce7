//! What the pages load besides themselves, embedded in the binary: the stylesheet, the small
//! script of the dashboard's own, and htmx, vendored (see `assets/README.md` for its version,
//! origin and checksum, which a test checks).

/// One embedded file: its address under `/assets/`, its type and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// htmx's version, which its file name carries so that a new version is a new address and a
/// browser's cached copy is never stale.
pub const HTMX_VERSION: &str = "2.0.11";

pub const ASSETS: &[Asset] = &[
    Asset {
        name: "tenure.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/tenure.css"),
    },
    Asset {
        name: "tenure.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/tenure.js"),
    },
    Asset {
        name: "htmx-2.0.11.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/htmx-2.0.11.min.js"),
    },
];

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The vendored htmx is byte for byte the file `assets/README.md` names, whose checksum
    /// was taken from the npm registry's package `htmx.org@2.0.11` (`dist/htmx.min.js`).
    #[test]
    fn vendored_htmx_is_the_published_file() {
        let readme = include_str!("../assets/README.md");
        let htmx = find(&format!("htmx-{HTMX_VERSION}.min.js")).unwrap();
        let digest = hex(&Sha256::digest(htmx.bytes));
        assert!(
            readme.contains(&format!("sha256 {digest}")),
            "assets/README.md does not record htmx's checksum {digest}"
        );
    }

    /// Every page loads all of these: together they stay well under the ~300 KB budget.
    #[test]
    fn the_assets_of_a_page_are_small() {
        let total: usize = ASSETS.iter().map(|a| a.bytes.len()).sum();
        assert!(total < 150_000, "{total} bytes of assets");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
