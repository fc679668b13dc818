//! The cloud this VM runs in, and its names there.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudProvider {
    Azure,
    Aws,
    Gcp,
}

/// The cloud this VM runs in, and on Azure its names, for pasteable `az` commands.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CloudFacts {
    pub provider: Option<CloudProvider>,
    /// The DMI field that identified the cloud.
    pub detected_by: Option<String>,
    pub dmi: DmiFacts,
    /// From Azure's instance metadata service, when asked and it answered.
    pub azure: Option<AzureInstance>,
}

/// /sys/class/dmi/id fields that tell clouds apart.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct DmiFacts {
    pub sys_vendor: Option<String>,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub bios_vendor: Option<String>,
    pub chassis_asset_tag: Option<String>,
    /// On EC2 Nitro instances, the instance id ("i-0abc...").
    pub board_asset_tag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AzureInstance {
    pub subscription_id: String,
    pub resource_group: String,
    pub vm_name: String,
    pub location: Option<String>,
    pub vm_id: Option<String>,
    pub private_ipv4: Vec<String>,
    pub public_ipv4: Vec<String>,
}
