//! Cloud context on facts built by hand: the VM's names from Azure's metadata and the
//! instance id from EC2's DMI fill the cloud commands of every finding.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::evaluate;

#[test]
fn azure_context_fills_az_commands_with_this_vms_names() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.cloud.azure = Some(AzureInstance {
        subscription_id: "1111".into(),
        resource_group: "rg-prod".into(),
        vm_name: "web1".into(),
        location: None,
        vm_id: None,
        private_ipv4: vec!["10.0.0.4".into()],
        public_ipv4: vec![],
    });
    let findings = evaluate(&facts);
    assert!(findings[0].remediation.azure[0]
        .starts_with("az vm run-command invoke -g rg-prod -n web1 "));
}

/// On EC2 the verdict speaks AWS: the instance id from DMI fills the AWS commands, and
/// the text shows them instead of Azure's.
#[test]
fn aws_vms_get_aws_commands() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.cloud.provider = Some(CloudProvider::Aws);
    facts.cloud.dmi.board_asset_tag = Some("i-0123456789abcdef0".into());
    let verdict = verdict(facts);
    let finding = &verdict.findings[0];
    assert_eq!(
        finding.remediation.aws[1],
        "aws ec2 reboot-instances --instance-ids i-0123456789abcdef0"
    );
    let text = screen(&verdict);
    assert!(
        text.contains("  aws:  aws ssm send-command --instance-ids i-0123456789abcdef0"),
        "{text}"
    );
    assert!(!text.contains("az vm"), "{text}");
}
