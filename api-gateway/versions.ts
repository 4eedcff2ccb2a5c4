// Version documents for discovery (what keystoneauth and openstacksdk read before any call), per
// service, with links built from the client's view of this node.
export const COMPUTE_MIN_VERSION = "2.1";
/** Highest Nova microversion served; services must honour every microversion up to it. */
export const COMPUTE_MAX_VERSION = "2.79";
export const VOLUME_MIN_VERSION = "3.0";
export const VOLUME_MAX_VERSION = "3.60";
export const IDENTITY_VERSION = "v3.14";

const json = (type: string) => [{ base: "application/json", type }];

export function identityVersion(base: string): Record<string, unknown> {
  return {
    id: IDENTITY_VERSION,
    status: "stable",
    updated: "2020-04-07T00:00:00Z",
    links: [{ rel: "self", href: `${base}/identity/v3/` }],
    "media-types": json("application/vnd.openstack.identity-v3+json"),
  };
}

export function computeVersions(base: string): Record<string, unknown>[] {
  return [
    { id: "v2.0", status: "SUPPORTED", version: "", min_version: "", updated: "2011-01-21T11:33:21Z", links: [{ rel: "self", href: `${base}/compute/v2/` }] },
    computeVersion(base),
  ];
}

export function computeVersion(base: string): Record<string, unknown> {
  return {
    id: "v2.1",
    status: "CURRENT",
    version: COMPUTE_MAX_VERSION,
    min_version: COMPUTE_MIN_VERSION,
    updated: "2013-07-23T11:33:21Z",
    links: [
      { rel: "self", href: `${base}/compute/v2.1/` },
      { rel: "describedby", type: "text/html", href: "http://docs.openstack.org/" },
    ],
    "media-types": json("application/vnd.openstack.compute+json;version=2.1"),
  };
}

export function imageVersions(base: string): Record<string, unknown>[] {
  return ["2.9", "2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"].map((v, i) => ({
    id: `v${v}`,
    status: i === 0 ? "CURRENT" : "SUPPORTED",
    links: [{ rel: "self", href: `${base}/image/v2/` }],
  }));
}

export function volumeVersion(base: string): Record<string, unknown> {
  return {
    id: "v3.0",
    status: "CURRENT",
    version: VOLUME_MAX_VERSION,
    min_version: VOLUME_MIN_VERSION,
    updated: "2016-02-08T12:20:21Z",
    links: [
      { rel: "describedby", type: "text/html", href: "https://docs.openstack.org/" },
      { rel: "self", href: `${base}/volume/v3/` },
    ],
    "media-types": json("application/vnd.openstack.volume+json;version=3"),
  };
}

export function networkVersions(base: string): Record<string, unknown>[] {
  return [{ id: "v2.0", status: "CURRENT", links: [{ rel: "self", href: `${base}/networking/v2.0/` }] }];
}

/** GET / : every service's versions, so a client pointed at the bare host can find its way. */
export function rootDocument(base: string): Record<string, unknown> {
  return {
    versions: { values: [identityVersion(base)] },
    services: {
      identity: `${base}/identity/`,
      compute: `${base}/compute/`,
      image: `${base}/image/`,
      volume: `${base}/volume/`,
      network: `${base}/networking/`,
    },
  };
}
