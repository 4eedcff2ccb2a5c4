// tempest.conf for a peerstack cloud. Every feature flag set to False is a gap peerstack has today,
// named with its reason in GAPS (and listed in docs/api-compatibility.md, checked by a test): a flag
// says what the cloud supports, it is not a way to hide a failing test.
import { COMPUTE_MAX_VERSION, COMPUTE_MIN_VERSION, VOLUME_MAX_VERSION, VOLUME_MIN_VERSION } from "../../api-gateway/versions.ts";
import type { Admin, TempestResources } from "./resources.ts";

/** `section.option` set to False, and why. */
export const GAPS: Record<string, string> = {
  "auth.create_isolated_networks": "no routers yet: Tempest's per-project network+router cannot be made; servers use one shared network",
  "identity-feature-enabled.trust": "no OS-TRUST (trusts) API",
  "identity-feature-enabled.api_v2_admin": "Keystone v2 is not served (v3 only)",
  "compute-feature-enabled.pause": "no pause/unpause server action",
  "compute-feature-enabled.shelve": "no shelve/unshelve server action",
  "compute-feature-enabled.suspend": "no suspend/resume server action",
  "compute-feature-enabled.cold_migration": "no migrate (cold migration) action",
  "compute-feature-enabled.live_migration": "no os-migrateLive action",
  "compute-feature-enabled.metadata_service": "no metadata service for guests",
  "compute-feature-enabled.rescue": "no rescue/unrescue server action",
  "compute-feature-enabled.enable_instance_password": "no instance password: nothing sets one in the guest, so POST /servers answers no adminPass",
  "compute-feature-enabled.interface_attach": "no os-interface attach/detach",
  "compute-feature-enabled.snapshot": "no createImage (image from server)",
  "compute-feature-enabled.attach_encrypted_volume": "no encrypted volume types",
  "compute-feature-enabled.config_drive": "no config drive",
  "compute-feature-enabled.disk_config": "OS-DCF:diskConfig is always MANUAL; no AUTO resize of the guest disk",
  "compute-feature-enabled.ide_bus": "guests get virtio disks only",
  "network-feature-enabled.ipv6": "IPv4 subnets only",
  "network-feature-enabled.floating_ips": "no floating IPs yet (issue: routers, external networks, SNAT and floating IPs)",
  "network-feature-enabled.port_admin_state_change": "a port's admin_state_up is stored but not applied to the guest link",
  "volume-feature-enabled.backup": "no Cinder backups",
  "volume-feature-enabled.clone": "no volume from volume (source_volid)",
  "service_available.swift": "no object storage",
  "service_available.horizon": "no dashboard",
  "compute-feature-enabled.resize": "no resize / confirmResize action",
  "compute-feature-enabled.change_password": "no changePassword action",
  "compute-feature-enabled.vnc_console": "no VNC console (console log only)",
  "compute-feature-enabled.serial_console": "no serial console websocket",
  "compute-feature-enabled.personality": "no file injection (personality, removed at 2.57)",
  "compute-feature-enabled.swap_volume": "no volume swap (PUT os-volume_attachments)",
  "compute-feature-enabled.volume_multiattach": "a volume attaches to one server at a time",
  "image-feature-enabled.api_v1": "Glance v1 is not served (v2 only)",
  "image-feature-enabled.import_image": "no interoperable image import (PUT /file only)",
  "volume-feature-enabled.api_v2": "Cinder v2 is not served (v3 only)",
  "volume-feature-enabled.manage_volume": "no manageable volumes",
  "volume-feature-enabled.manage_snapshot": "no manageable snapshots",
  "volume-feature-enabled.extend_attached_volume": "a volume extends while detached only",
  "volume-feature-enabled.multi_backend": "one volume backend per host",
  "network.project_networks_reachable": "project networks are VXLAN overlays the Tempest host cannot reach",
  "service_available.placement": "no Placement API (placement is peer-to-peer)",
  "validation.run_validation": "Tempest cannot SSH into guests: no floating IPs and the shared network is not reachable from the host",
};

type Section = Record<string, string | number | boolean>;

function render(sections: Record<string, Section>): string {
  const out: string[] = [];
  for (const [name, opts] of Object.entries(sections)) {
    out.push(`[${name}]`);
    for (const [k, v] of Object.entries(opts)) out.push(`${k} = ${v === true ? "True" : v === false ? "False" : String(v)}`);
    out.push("");
  }
  return out.join("\n");
}

/** Sets every GAPS option to False in the sections (adding the section when missing). */
function withGaps(sections: Record<string, Section>): Record<string, Section> {
  for (const key of Object.keys(GAPS)) {
    const [section, option] = key.split(".") as [string, string];
    (sections[section] ??= {})[option] = false;
  }
  return sections;
}

export function tempestConf(a: Admin, r: TempestResources, logFile: string): string {
  return render(withGaps({
    DEFAULT: { log_file: logFile, debug: true },
    auth: {
      use_dynamic_credentials: true,
      admin_username: a.username,
      admin_password: a.password,
      admin_project_name: a.project,
      admin_domain_name: "Default",
      default_credentials_domain_name: "Default",
      tempest_roles: "member",
    },
    identity: { uri_v3: `${a.base}/identity/v3`, auth_version: "v3", region: a.region, v3_endpoint_type: "public", catalog_type: "identity" },
    "identity-feature-enabled": { api_v3: true, application_credentials: true, project_tags: true },
    service_available: { nova: true, glance: true, neutron: true, cinder: true },
    compute: {
      image_ref: r.imageRef,
      image_ref_alt: r.imageRefAlt,
      flavor_ref: r.flavorRef,
      flavor_ref_alt: r.flavorRefAlt,
      fixed_network_name: r.network,
      min_microversion: COMPUTE_MIN_VERSION,
      max_microversion: COMPUTE_MAX_VERSION,
      // TCG guests on a shared 2-core machine boot slowly
      build_timeout: 600,
      region: a.region,
    },
    "compute-feature-enabled": { console_output: true },
    image: { region: a.region, build_timeout: 300 },
    "image-feature-enabled": { api_v2: true },
    network: { region: a.region, project_network_cidr: "10.100.0.0/16", project_network_mask_bits: 28, build_timeout: 300 },
    "network-feature-enabled": { api_extensions: r.networkExtensions.join(","), port_security: r.networkExtensions.includes("port-security") },
    volume: { region: a.region, catalog_type: "volumev3", min_microversion: VOLUME_MIN_VERSION, max_microversion: VOLUME_MAX_VERSION, build_timeout: 300 },
    "volume-feature-enabled": { snapshot: true, api_v3: true },
    validation: { connect_method: "fixed", image_ssh_user: "root" },
  }));
}
