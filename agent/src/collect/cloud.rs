//! Which cloud this VM runs in (from DMI), and on Azure, the VM's own names from the
//! instance metadata service, so every `az` command in the verdict can be pasted as is.
//!
//! IMDS is asked only when DMI says Azure or the user asks, with a short timeout and no
//! proxy (IMDS must never go through one: minreq is built without proxy support), at an
//! endpoint tests point at a local fake.

use super::{CollectOptions, ProbeNotes};
use crate::facts::{AzureInstance, CloudFacts, CloudProvider, DmiFacts};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

pub const DMI_DIR: &str = "/sys/class/dmi/id";
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// Pinned so the fields we read keep their meaning.
const IMDS_API_VERSION: &str = "2021-02-01";
/// Every Azure VM (Hyper-V) carries this chassis asset tag.
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// When to ask Azure's instance metadata service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImdsPolicy {
    /// When DMI says this is an Azure VM.
    Auto,
    Always,
    Never,
}

pub fn collect(options: &CollectOptions, notes: &mut ProbeNotes) -> CloudFacts {
    let dmi = read_dmi(Path::new(DMI_DIR));
    let (provider, detected_by) = match identify(&dmi) {
        Some((provider, why)) => (Some(provider), Some(why)),
        None => (None, None),
    };
    let ask_imds = match options.imds {
        ImdsPolicy::Always => true,
        ImdsPolicy::Never => false,
        ImdsPolicy::Auto => provider == Some(CloudProvider::Azure),
    };
    let azure = if ask_imds {
        match query_imds(&options.imds_endpoint, options.imds_timeout) {
            Ok(instance) => Some(instance),
            Err(err) => {
                notes.partial(format!(
                    "Azure instance metadata at {} not available: {err}; az commands show placeholders",
                    options.imds_endpoint
                ));
                None
            }
        }
    } else {
        None
    };
    CloudFacts {
        provider: provider.or(azure.as_ref().map(|_| CloudProvider::Azure)),
        detected_by,
        dmi,
        azure,
    }
}

fn read_dmi_field(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// The DMI fields that tell clouds apart; all world-readable.
pub fn read_dmi(dir: &Path) -> DmiFacts {
    DmiFacts {
        sys_vendor: read_dmi_field(dir, "sys_vendor"),
        product_name: read_dmi_field(dir, "product_name"),
        product_version: read_dmi_field(dir, "product_version"),
        bios_vendor: read_dmi_field(dir, "bios_vendor"),
        chassis_asset_tag: read_dmi_field(dir, "chassis_asset_tag"),
        board_asset_tag: read_dmi_field(dir, "board_asset_tag"),
    }
}

/// The cloud DMI names, and the field that says so.
pub fn identify(dmi: &DmiFacts) -> Option<(CloudProvider, String)> {
    let has = |field: &Option<String>, needle: &str| {
        field
            .as_deref()
            .is_some_and(|value| value.to_ascii_lowercase().contains(needle))
    };
    if dmi.chassis_asset_tag.as_deref() == Some(AZURE_ASSET_TAG) {
        return Some((
            CloudProvider::Azure,
            format!("DMI chassis_asset_tag {AZURE_ASSET_TAG}"),
        ));
    }
    if has(&dmi.sys_vendor, "amazon")
        || has(&dmi.bios_vendor, "amazon")
        || has(&dmi.product_version, "amazon")
    {
        return Some((CloudProvider::Aws, "DMI vendor Amazon".into()));
    }
    if has(&dmi.product_name, "google compute engine") || has(&dmi.sys_vendor, "google") {
        return Some((
            CloudProvider::Gcp,
            "DMI product Google Compute Engine".into(),
        ));
    }
    None
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImdsInstance {
    compute: ImdsCompute,
    #[serde(default)]
    network: Option<ImdsNetwork>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImdsCompute {
    name: String,
    resource_group_name: String,
    subscription_id: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    vm_id: Option<String>,
}

#[derive(Deserialize)]
struct ImdsNetwork {
    #[serde(default)]
    interface: Vec<ImdsInterface>,
}

#[derive(Deserialize)]
struct ImdsInterface {
    ipv4: Option<ImdsIpv4>,
}

#[derive(Deserialize)]
struct ImdsIpv4 {
    #[serde(rename = "ipAddress", default)]
    addresses: Vec<ImdsIpAddress>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImdsIpAddress {
    #[serde(default)]
    private_ip_address: String,
    #[serde(default)]
    public_ip_address: String,
}

fn query_imds(endpoint: &str, timeout: Duration) -> Result<AzureInstance, String> {
    let url = format!(
        "{}/metadata/instance?api-version={IMDS_API_VERSION}",
        endpoint.trim_end_matches('/')
    );
    // minreq counts its deadline in whole seconds, over connect, request and answer.
    let seconds = timeout.as_secs_f64().ceil().max(1.0) as u64;
    let response = minreq::get(url)
        .with_header("Metadata", "true")
        .with_timeout(seconds)
        .with_max_redirects(0)
        .with_max_headers_size(64 << 10)
        .with_max_status_line_length(1 << 10)
        .send()
        .map_err(|err| err.to_string())?;
    if response.status_code != 200 {
        return Err(format!(
            "HTTP {} {}",
            response.status_code, response.reason_phrase
        ));
    }
    let body = response.as_str().map_err(|err| err.to_string())?;
    parse_imds(body)
}

/// The fields of IMDS's /metadata/instance document that `az` commands need.
pub fn parse_imds(body: &str) -> Result<AzureInstance, String> {
    let instance: ImdsInstance =
        serde_json::from_str(body).map_err(|err| format!("unexpected IMDS answer: {err}"))?;
    let addresses: Vec<ImdsIpAddress> = instance
        .network
        .map(|network| network.interface)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|interface| interface.ipv4)
        .flat_map(|ipv4| ipv4.addresses)
        .collect();
    let pick = |field: fn(&ImdsIpAddress) -> &str| {
        addresses
            .iter()
            .map(field)
            .filter(|address| !address.is_empty())
            .map(str::to_string)
            .collect()
    };
    Ok(AzureInstance {
        subscription_id: instance.compute.subscription_id,
        resource_group: instance.compute.resource_group_name,
        vm_name: instance.compute.name,
        location: instance.compute.location,
        vm_id: instance.compute.vm_id,
        private_ipv4: pick(|address| &address.private_ip_address),
        public_ipv4: pick(|address| &address.public_ip_address),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dmi(vendor: &str, product: &str, tag: &str) -> DmiFacts {
        DmiFacts {
            sys_vendor: Some(vendor.into()),
            product_name: Some(product.into()),
            product_version: None,
            bios_vendor: None,
            chassis_asset_tag: Some(tag.into()),
            board_asset_tag: None,
        }
    }

    #[test]
    fn clouds_are_told_apart_by_dmi() {
        let azure = dmi("Microsoft Corporation", "Virtual Machine", AZURE_ASSET_TAG);
        assert_eq!(identify(&azure).unwrap().0, CloudProvider::Azure);
        // Hyper-V on premises has the same vendor and product but not Azure's asset tag.
        let hyperv = dmi("Microsoft Corporation", "Virtual Machine", "0000-0000");
        assert_eq!(identify(&hyperv), None);
        assert_eq!(
            identify(&dmi("Amazon EC2", "t3.micro", "Amazon EC2"))
                .unwrap()
                .0,
            CloudProvider::Aws
        );
        assert_eq!(
            identify(&dmi("Google", "Google Compute Engine", ""))
                .unwrap()
                .0,
            CloudProvider::Gcp
        );
        assert_eq!(
            identify(&dmi("QEMU", "Standard PC (i440FX + PIIX, 1996)", "")),
            None
        );
    }

    #[test]
    fn dmi_is_read_from_files_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sys_vendor"), "Microsoft Corporation\n").unwrap();
        std::fs::write(
            dir.path().join("chassis_asset_tag"),
            format!("{AZURE_ASSET_TAG}\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("product_name"), "\n").unwrap();
        let facts = read_dmi(dir.path());
        assert_eq!(facts.sys_vendor.as_deref(), Some("Microsoft Corporation"));
        assert_eq!(facts.product_name, None);
        assert_eq!(identify(&facts).unwrap().0, CloudProvider::Azure);
    }

    #[test]
    fn imds_document_gives_names_and_addresses() {
        let body = r#"{"compute":{"name":"web1","resourceGroupName":"rg-prod","subscriptionId":"0000-1111",
            "location":"westeurope","vmId":"abc"},
            "network":{"interface":[{"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.4","publicIpAddress":"20.1.2.3"}]},
            "ipv6":{"ipAddress":[]},"macAddress":"000D3A"}]}}"#;
        let instance = parse_imds(body).unwrap();
        assert_eq!(instance.vm_name, "web1");
        assert_eq!(instance.resource_group, "rg-prod");
        assert_eq!(instance.private_ipv4, ["10.0.0.4"]);
        assert_eq!(instance.public_ipv4, ["20.1.2.3"]);
        assert!(parse_imds("<html>proxy error</html>")
            .unwrap_err()
            .contains("unexpected IMDS answer"));
    }
}
